package io.peft4j.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import io.peft4j.PassContexts;
import io.peft4j.model.AutoModel;
import io.peft4j.model.CausalLM;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.bert.BertModel;
import io.peft4j.model.decoder.Decoders;
import io.peft4j.nn.Linear;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TargetModules;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.peft.lora.LoraLinear;
import io.peft4j.train.Trainer;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.data.CausalExample;
import io.peft4j.train.task.CausalLmTask;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** QuantizedLinear and LoRA on top of it (QLoRA) against the same computations over the dequantised weight. */
class QLoraTest extends NativeTest {

    @Test
    void quantisedLayerComputesWithTheDequantisedWeightAndHoldsNoFp32Copy() {
        try (NDManager scope = manager.newSubManager()) {
            Linear dense = new Linear(scope, 96, 40, true, 0.5f);
            dense.bias().set(scope.randomNormal(new Shape(40)));
            QuantizedLinear q = QuantizedLinear.quantize(dense, QuantType.NF4, 64, true);
            float[] expectedWeight = BlockQuantized.quantize(
                            dense.weight().array().toFloatArray(), new long[] {40, 96}, QuantType.NF4, 64, true)
                    .dequantize();
            NDArray x = scope.randomNormal(new Shape(3, 5, 96));
            float[] y = q.forward(PassContexts.in(scope), x).toFloatArray();
            float[] reference = reference(
                    x.toFloatArray(), expectedWeight, dense.bias().array().toFloatArray(), 96, 40);
            for (int i = 0; i < y.length; i++) {
                assertThat(y[i]).isCloseTo(reference[i], within(1e-5f * (1 + Math.abs(reference[i]))));
            }
            assertThat(q.localParameters().values())
                    .noneMatch(p -> p.array().getDataType() == DataType.FLOAT32 && p.size() >= 96 * 40);
            assertThat(q.parameterCount().all())
                    .isEqualTo(96 * 40 + 40); // two 4-bit weights per stored byte, plus the bias
            assertThat(q.storageBytes() * 8.0 / (96 * 40))
                    .isCloseTo(4.127, within(0.06)); // small layer: 60 blocks, one nested group
            assertThatThrownBy(() -> q.localParameters().get("weight").setTrainable(true))
                    .hasMessageContaining("cannot train");
        }
    }

    @Test
    void kernelDequantisesLikeTheReferenceForEveryTypeOddSizesAndManyBlocks() {
        try (NDManager scope = manager.newSubManager()) {
            // 7x13: an odd count (a padding nibble) and a partial last block; 300x256: 1200 blocks of 64, shared among
            // threads
            for (long[] shape : new long[][] {{7, 13}, {300, 256}}) {
                for (QuantType type : QuantType.values()) {
                    for (boolean dq : new boolean[] {false, true}) {
                        Linear dense = new Linear(scope, (int) shape[1], (int) shape[0], false, 0.5f);
                        int block = shape[0] == 7 ? 32 : 64;
                        QuantizedLinear q = QuantizedLinear.quantize(dense, type, block, dq);
                        float[] expected = BlockQuantized.quantize(
                                        dense.weight().array().toFloatArray(), shape, type, block, dq)
                                .dequantize();
                        assertThat(q.dequantizedWeight(scope).toFloatArray())
                                .as(type + " dq=" + dq + " " + shape[0] + "x" + shape[1])
                                .containsExactly(expected);
                    }
                }
            }
        }
    }

    @Test
    void quantisedEncoderComputesWithItsRoundTrippedWeights() {
        try (NDManager scope = manager.newSubManager()) {
            ModelFiles files = ModelFiles.resolve("minilm");
            var quantised = (BertModel) AutoModel.load(files, scope, ModelQuantizer.Settings.nf4DoubleQuant());
            var roundTripped = BertModel.load(files, scope);
            roundTripped.namedParameters().forEach((name, p) -> {
                if (name.startsWith("encoder.")
                        && name.endsWith(".weight")
                        && p.shape().dimension() == 2) {
                    p.set(scope.create(
                            BlockQuantized.quantize(
                                            p.array().toFloatArray(), p.shape().getShape(), QuantType.NF4, 64, true)
                                    .dequantize(),
                            p.shape()));
                } else if (name.startsWith("embeddings.") && p.shape().dimension() == 2) { // the tables, held in fp16
                    p.set(p.array().toType(DataType.FLOAT16, false).toType(DataType.FLOAT32, false));
                }
            });
            assertThat(quantised.namedModules().values().stream()
                            .filter(QuantizedLinear.class::isInstance)
                            .count())
                    .isEqualTo(6 * 6);
            NDArray ids = scope.create(new long[][] {{101, 2023, 2003, 1037, 3231, 102}});
            NDArray mask = ids.onesLike();
            NDArray types = scope.zeros(ids.getShape(), DataType.INT64);
            float[] expected = roundTripped
                    .features(PassContexts.in(scope), ModelInputs.tokens(ids, mask, types))
                    .tokenStates()
                    .toFloatArray();
            float[] actual = quantised
                    .features(PassContexts.in(scope), ModelInputs.tokens(ids, mask, types))
                    .tokenStates()
                    .toFloatArray();
            for (int i = 0; i < expected.length; i++) {
                assertThat(actual[i]).isCloseTo(expected[i], within(1e-4f));
            }
        }
    }

    @Test
    void qloraLayerEqualsLoraOverTheDequantisedWeightAndTrainsOnlyLora() {
        try (NDManager scope = manager.newSubManager()) {
            Linear dense = new Linear(scope, 64, 48, false, 0.5f);
            QuantizedLinear q = QuantizedLinear.quantize(dense, QuantType.NF4, 64, true);
            LoraLinear qlora = new LoraLinear(q);
            LoraLinear lora = new LoraLinear(q.dequantize());
            for (LoraLinear l : List.of(qlora, lora)) {
                l.addAdapter("default", 4, 2.0, 0.0, LoraConfig.InitLoraWeights.TRUE, false, false);
            }
            PassContext adapted = PassContext.training(scope, PassContext.Adapters.of("default"));
            // same A and a non-zero B in both
            var qp = qlora.namedParameters();
            var lp = lora.namedParameters();
            NDArray a = scope.randomNormal(qp.get("lora_A.default.weight").shape());
            NDArray b = scope.randomNormal(qp.get("lora_B.default.weight").shape());
            qp.get("lora_A.default.weight").set(a.duplicate());
            qp.get("lora_B.default.weight").set(b.duplicate());
            lp.get("lora_A.default.weight").set(a.duplicate());
            lp.get("lora_B.default.weight").set(b.duplicate());
            qp.forEach((k, p) -> p.setTrainable(k.contains("lora_")));
            NDArray x = scope.randomNormal(new Shape(2, 7, 64));
            float[] yq;
            try (NDManager step = scope.newSubManager();
                    GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray out = qlora.forward(adapted.in(step), x);
                yq = out.toFloatArray();
                gc.backward(out.sum());
            }
            float[] yl = lora.forward(adapted, x).toFloatArray();
            float[] base = q.forward(adapted, x).toFloatArray();
            assertThat(Math.abs(yl[0] - base[0])).as("the adapter contributes").isGreaterThan(1e-3f);
            for (int i = 0; i < yq.length; i++) {
                assertThat(yq[i]).isCloseTo(yl[i], within(1e-5f * (1 + Math.abs(yl[i]))));
            }
            assertThat(qp.get("lora_A.default.weight")
                            .array()
                            .getGradient()
                            .abs()
                            .sum()
                            .getFloat())
                    .isGreaterThan(0f);
            assertThat(qp.get("base_layer.weight").isTrainable()).isFalse();

            qlora.merge(List.of("default")); // dequantises the base with a warning, then merges
            assertThat(qlora.baseLayer()).isInstanceOf(Linear.class);
            float[] merged = qlora.forward(adapted, x).toFloatArray();
            for (int i = 0; i < merged.length; i++) {
                assertThat(merged[i]).isCloseTo(yl[i], within(1e-4f * (1 + Math.abs(yl[i]))));
            }
        }
    }

    @Test
    void qloraOnAQuantisedDecoderTrainsLoraOnlyAndKeepsTheCodesUnchanged() {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM model = Decoders.load("llama", scope);
            long before = model.parameterCount().all();
            // the reference: the same model with each linear weight replaced by its quantise→dequantise round trip (in
            // Java)
            CausalLM roundTripped = Decoders.load("llama", scope);
            roundTripped.namedParameters().forEach((name, p) -> {
                if (name.endsWith("_proj.weight")) {
                    p.set(scope.create(
                            BlockQuantized.quantize(
                                            p.array().toFloatArray(), p.shape().getShape(), QuantType.NF4, 64, true)
                                    .dequantize(),
                            p.shape()));
                }
            });
            List<String> replaced = ModelQuantizer.quantize(model, ModelQuantizer.Settings.nf4DoubleQuant());
            assertThat(replaced).hasSize(2 * 7).noneMatch(p -> p.contains("lm_head") || p.contains("embed"));
            assertThat(model.parameterCount().all()).isEqualTo(before);
            float[] quantised = logits(model, scope);
            float[] expected = logits(roundTripped, scope);
            for (int i = 0; i < expected.length; i++) {
                assertThat(quantised[i]).isCloseTo(expected[i], within(1e-4f));
            }

            PeftModel peft = PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(4)
                            .loraAlpha(8)
                            .targetModules(TargetModules.regex(TargetModules.ALL_LINEAR))
                            .taskType(TaskType.CAUSAL_LM)
                            .build());
            byte[] codes = peft.namedParameters()
                    .get("base_model.model.model.layers.0.mlp.up_proj.base_layer.weight")
                    .array()
                    .toByteArray();
            List<CausalExample> data = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                data.add(new CausalExample(
                        new long[] {20 + i, 7, 8, 9, 3, 1, 4, 6, 5},
                        new long[] {-100, -100, -100, -100, 3, 1, 4, 6, 5}));
            }
            CausalLmTask task = new CausalLmTask(model);
            double initial = task.evaluate(data, 4).loss();
            new Trainer<>(
                            peft,
                            task,
                            TrainingArgs.builder()
                                    .epochs(10)
                                    .batchSize(4)
                                    .learningRate(1e-2)
                                    .bestMetric("loss")
                                    .keepBest(false)
                                    .build(),
                            null)
                    .train(data, null);
            assertThat(task.evaluate(data, 4).loss()).isLessThan(initial / 2);
            assertThat(peft.namedParameters()
                            .get("base_model.model.model.layers.0.mlp.up_proj.base_layer.weight")
                            .array()
                            .toByteArray())
                    .containsExactly(codes);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "qwen2", "mistral"})
    void quantisingWhileLoadingEqualsQuantisingTheLoadedModel(String family) {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM loaded = Decoders.load(family, scope);
            ModelQuantizer.quantize(loaded, ModelQuantizer.Settings.of(QuantType.FP4, false));
            CausalLM direct = (CausalLM) AutoModel.load(
                    ModelFiles.resolve(Decoders.dir(family).toString()),
                    scope,
                    ModelQuantizer.Settings.of(QuantType.FP4, false));
            long dense = direct.namedModules().entrySet().stream()
                    .filter(e -> e.getValue() instanceof Linear && !e.getKey().endsWith("lm_head"))
                    .count();
            assertThat(dense).as("linear layers left unquantised").isZero();
            assertThat(logits(direct, scope)).containsExactly(logits(loaded, scope));
        }
    }

    private static float[] logits(CausalLM model, NDManager scope) {
        try (NDManager step = scope.newSubManager()) {
            return model.forward(
                            PassContexts.in(step, model), step.create(new long[][] {{5, 80, 17, 200, 33, 9}}), null)
                    .toFloatArray();
        }
    }

    private static float[] reference(float[] x, float[] w, float[] b, int in, int out) {
        int rows = x.length / in;
        float[] y = new float[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int i = 0; i < in; i++) {
                    s += (double) x[r * in + i] * w[o * in + i];
                }
                y[r * out + o] = (float) s;
            }
        }
        return y;
    }
}
