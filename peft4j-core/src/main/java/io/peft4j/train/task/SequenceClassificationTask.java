package io.peft4j.train.task;

import ai.djl.ndarray.NDManager;
import io.peft4j.model.Classifier;
import io.peft4j.model.ModelInputs;
import io.peft4j.tokenizer.BatchEncoding;
import io.peft4j.tokenizer.PromptTemplate;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.data.TextExample;
import java.util.List;

/** Text classification: each text tokenised (with a P-tuning template when the adapter has one), one label per text. */
public final class SequenceClassificationTask extends SingleLabelTask<TextExample> {

    private final Tokenizer tokenizer;
    private final PromptTemplate template;

    public SequenceClassificationTask(Classifier model, Tokenizer tokenizer) {
        this(model, tokenizer, null);
    }

    /** With a P-tuning {@code template} (null: none) that places the adapter's pseudo tokens around each text. */
    public SequenceClassificationTask(Classifier model, Tokenizer tokenizer, PromptTemplate template) {
        super(model);
        this.tokenizer = tokenizer;
        this.template = template;
    }

    @Override
    protected Inputs inputs(List<TextExample> batch, NDManager manager, boolean training) {
        List<String> texts = batch.stream().map(TextExample::text).toList();
        BatchEncoding enc = template == null ? tokenizer.encode(texts) : tokenizer.encodeTemplate(template, texts);
        long tokens = 0;
        for (int i = 0; i < enc.batchSize(); i++) {
            tokens += enc.tokens(i);
        }
        return new Inputs(ModelInputs.tokens(enc, manager), tokens);
    }

    @Override
    protected int label(TextExample example) {
        return example.label();
    }
}
