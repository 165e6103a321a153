package io.peft4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.peft.prefix.PrefixTuningConfig;
import io.peft4j.peft.prompt.PromptTuningConfig;
import io.peft4j.quant.ModelQuantizer;
import io.peft4j.tokenizer.BatchEncoding;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.data.TextExample;
import io.peft4j.train.task.SequenceClassificationTask;
import java.util.List;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The training mechanics are the train package's, over any backbone's block pass: on the real all-MiniLM-L6-v2
 * classifier, gradient checkpointing and the staged pass (also on an NF4-quantised encoder, QLoRA) give the gradients of
 * one plain backward pass.
 */
class BertStagedTrainingTest extends NativeTest {

    private static final List<TextExample> BATCH = List.of(
            new TextExample("The stock market fell sharply today", 1),
            new TextExample("We cooked pasta with tomato sauce", 0),
            new TextExample("Interest rates rose", 1));

    @ParameterizedTest
    @ValueSource(strings = {"lora", "qlora", "prompt"})
    void stagedAndCheckpointedGradientsEqualPlainOnes(String method) {
        try (NDManager scope = manager.newSubManager();
                Tokenizer tokenizer =
                        Tokenizer.load(ModelFiles.resolve("minilm").requireTokenizer(), 16)) {
            Engine.getInstance().setRandomSeed(3);
            BackboneClassifier classifier =
                    BackboneClassifier.load(ModelFiles.resolve("minilm"), scope, BackboneClassifier.Head.SEQUENCE, 2);
            if (method.equals("qlora")) {
                ModelQuantizer.quantize(classifier, ModelQuantizer.Settings.nf4DoubleQuant());
            }
            PeftConfig config = method.equals("prompt")
                    ? PromptTuningConfig.random(4, TaskType.SEQ_CLS)
                    : LoraConfig.builder()
                            .r(4)
                            .loraAlpha(8)
                            .targetModules("query", "value")
                            .taskType(TaskType.SEQ_CLS)
                            .build();
            PeftModel peft = PeftModel.wrap(classifier, config);
            peft.namedParameters().forEach((k, p) -> {
                if (k.contains("lora_B")) {
                    p.set(scope.randomNormal(0, 0.1f, p.shape(), p.array().getDataType()));
                }
            });
            peft.setTraining(false); // no dropout: both passes compute the same function
            SequenceClassificationTask task = new SequenceClassificationTask(classifier, tokenizer);
            Map<String, float[]> plain = Gradients.of(
                    peft, (step, gc) -> gc.backward(task.loss(BATCH, step).value()));
            Map<String, float[]> staged = Gradients.of(peft, (step, gc) -> staged(classifier, tokenizer, step, gc));
            compare(plain, staged, "staged");
            compare(
                    plain,
                    Gradients.of(peft, (step, gc) -> task.lossAndBackward(BATCH, step, gc, 1.0, true)),
                    "checkpointed");
            if (method.equals("qlora")) {
                compare(
                        plain,
                        Gradients.of(peft, (step, gc) -> task.lossAndBackward(BATCH, step, gc, 1.0, false)),
                        "QLoRA staging");
            }
        }
    }

    /** Prefix tuning's layer prefixes join every block into one graph: one plain pass, and checkpointing is refused. */
    @Test
    void prefixTuningRunsAsOnePassAndRefusesCheckpointing() {
        try (NDManager scope = manager.newSubManager();
                Tokenizer tokenizer =
                        Tokenizer.load(ModelFiles.resolve("minilm").requireTokenizer(), 16)) {
            BackboneClassifier classifier =
                    BackboneClassifier.load(ModelFiles.resolve("minilm"), scope, BackboneClassifier.Head.SEQUENCE, 2);
            PeftModel peft = PeftModel.wrap(classifier, PrefixTuningConfig.ptuningV2(3, TaskType.SEQ_CLS));
            peft.setTraining(false);
            SequenceClassificationTask task = new SequenceClassificationTask(classifier, tokenizer);
            Map<String, float[]> plain = Gradients.of(
                    peft, (step, gc) -> gc.backward(task.loss(BATCH, step).value()));
            Map<String, float[]> staged = Gradients.of(peft, (step, gc) -> staged(classifier, tokenizer, step, gc));
            compare(plain, staged, "prefix");
            assertThatThrownBy(() -> Gradients.of(peft, (step, gc) -> task.lossAndBackward(BATCH, step, gc, 1.0, true)))
                    .hasMessageContaining("gradient checkpointing does not support prefix tuning");
        }
    }

    /** The batch's loss and backward pass taken by {@link StagedBackward} without checkpointing. */
    private static void staged(
            BackboneClassifier classifier, Tokenizer tokenizer, PassContext step, GradientCollector gc) {
        BatchEncoding enc =
                tokenizer.encode(BATCH.stream().map(TextExample::text).toList());
        NDManager m = step.scope();
        StagedBackward.crossEntropy(
                step,
                classifier.logitsPass(step, ModelInputs.tokens(enc, m)),
                m.create(new long[] {1, 0, 1}),
                gc,
                1.0,
                false);
    }

    private static void compare(Map<String, float[]> plain, Map<String, float[]> other, String what) {
        assertThat(other.keySet()).isEqualTo(plain.keySet()).isNotEmpty();
        double largest = 0;
        for (String k : plain.keySet()) {
            float[] a = plain.get(k);
            float[] b = other.get(k);
            for (int i = 0; i < a.length; i++) {
                assertThat((double) b[i])
                        .as(k + " (" + what + ")")
                        .isCloseTo(a[i], Offset.offset(1e-5 + 1e-4 * Math.abs(a[i])));
                largest = Math.max(largest, Math.abs(a[i]));
            }
        }
        assertThat(largest).isGreaterThan(1e-4);
    }
}
