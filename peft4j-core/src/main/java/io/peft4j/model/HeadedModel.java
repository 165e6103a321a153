package io.peft4j.model;

import io.peft4j.nn.Dropout;
import io.peft4j.nn.EmbeddingLayer;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.PromptSource;
import java.util.List;
import java.util.function.Function;

/**
 * A backbone with task heads after a {@code dropout}, as Hugging Face's {@code *For...} models: the backbone under its
 * family's name ({@code bert}, as HF's {@code base_model_prefix}), the heads beside it. Virtual tokens of prompt learning
 * are installed on this root and enter the backbone's pass.
 */
public abstract class HeadedModel extends PretrainedModel {

    protected final PretrainedModel backbone;
    protected final Dropout dropout;

    protected HeadedModel(PretrainedModel backbone) {
        super(backbone.manager());
        this.backbone = addChild(backbone.family(), backbone);
        this.dropout = addChild("dropout", new Dropout(backbone.manager(), backbone.classifierDropout()));
        setNameOrPath(backbone.nameOrPath());
    }

    public PretrainedModel backbone() {
        return backbone;
    }

    /** The backbone's pass with this model's virtual tokens, finished by {@code head} over its features. */
    protected <O> BlockStack.Pass<O> headPass(PassContext step, ModelInputs inputs, Function<Features, O> head) {
        return BlockStack.map(backbone.pass(step, inputs, promptSource()), head);
    }

    @Override
    public BlockStack.Pass<Features> pass(PassContext step, ModelInputs inputs, PromptSource source) {
        return backbone.pass(step, inputs, source);
    }

    @Override
    public EmbeddingLayer inputEmbeddings() {
        return backbone.inputEmbeddings();
    }

    @Override
    public String family() {
        return backbone.family();
    }

    @Override
    public ModuleRoles roles() {
        return backbone.roles();
    }

    @Override
    public int numLayers() {
        return backbone.numLayers();
    }

    @Override
    public int hiddenSize() {
        return backbone.hiddenSize();
    }

    @Override
    public int numHeads() {
        return backbone.numHeads();
    }

    @Override
    public float initializerRange() {
        return backbone.initializerRange();
    }

    @Override
    public int patchSize() {
        return backbone.patchSize();
    }

    @Override
    public List<String> classifierPaths() {
        return backbone.classifierPaths();
    }
}
