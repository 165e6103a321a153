package io.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.NativeTest;
import io.peft4j.Peft4jException;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.io.Weights;
import io.peft4j.model.bert.BertModel;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.nn.Linear;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.lora.AdapterCombination;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.peft.lora.LoraLinear;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** DoRA, mixed-batch inference and adapter combination. */
class LoraVariantsTest extends NativeTest {

    @TempDir
    Path dir;

    static LoraConfig dora(int r, String... targets) {
        return LoraConfig.builder()
                .r(r)
                .loraAlpha(r)
                .targetModules(targets)
                .useDora(true)
                .build();
    }

    @Test
    void doraStartsAsTheIdentityAndComputesMagnitudeTimesDirection() {
        Linear base = new Linear(manager, 5, 4, true, 0.5f);
        base.bias().set(manager.randomNormal(new Shape(4)));
        float[] w = base.weight().array().toFloatArray();
        float[] bias = base.bias().array().toFloatArray();
        LoraLinear layer = new LoraLinear(base);
        layer.addAdapter("d", 2, 1.5, 0, LoraConfig.InitLoraWeights.TRUE, false, true);
        PassContext step = PassContext.training(manager, PassContext.Adapters.of("d"));
        NDArray x = manager.randomNormal(new Shape(3, 5));
        assertThat(layer.forward(step, x).toFloatArray())
                .containsExactly(base.forward(step, x).toFloatArray());

        layer.lora("B", "d").weight().set(manager.randomNormal(new Shape(4, 2)));
        var magnitude = layer.namedParameters().get("lora_magnitude_vector.d.weight");
        magnitude.set(manager.randomUniform(0.5f, 2f, new Shape(4)));
        float[] a = layer.lora("A", "d").weight().array().toFloatArray();
        float[] b = layer.lora("B", "d").weight().array().toFloatArray();
        float[] mag = magnitude.array().toFloatArray();
        float[] xs = x.toFloatArray();
        float[] y = layer.forward(step, x).toFloatArray();
        for (int o = 0; o < 4; o++) {
            double[] row = new double[5]; // W' = W + s·B·A, row o
            double norm = 0;
            for (int i = 0; i < 5; i++) {
                double ba = b[o * 2] * a[i] + b[o * 2 + 1] * a[5 + i];
                row[i] = w[o * 5 + i] + 1.5 * ba;
                norm += row[i] * row[i];
            }
            norm = Math.sqrt(norm);
            for (int n = 0; n < 3; n++) {
                double dot = 0;
                for (int i = 0; i < 5; i++) {
                    dot += row[i] * xs[n * 5 + i];
                }
                assertThat((double) y[n * 4 + o]).isCloseTo(mag[o] / norm * dot + bias[o], within(1e-5));
            }
        }
        float[] unmerged = layer.forward(step, x).toFloatArray();
        layer.merge(List.of("d"));
        assertThat(LoraTest.maxRelativeDifference(layer.forward(step, x).toFloatArray(), unmerged))
                .isLessThan(1e-5);
        layer.unmerge();
        float[] restored = base.weight().array().toFloatArray();
        for (int i = 0; i < w.length; i++) {
            assertThat(restored[i]).isCloseTo(w[i], within(1e-5f));
        }
    }

    @Test
    void doraMagnitudeIsSavedUnderHfKeyAndReloads() throws Exception {
        BertModel model = TinyBert.model(manager);
        PeftModel peft = PeftModel.wrap(model, dora(2, "query"));
        LoraTest.randomizeB(peft);
        peft.namedParameters().forEach((k, p) -> {
            if (k.contains("lora_magnitude_vector")) {
                p.set(manager.randomUniform(0.5f, 2f, p.shape(), DataType.FLOAT32));
            }
        });
        assertThat(peft.parameterCount().trainable()).isEqualTo(2L * (2 * (8 + 8) + 8));
        float[] adapted = TinyBert.hidden(model);
        peft.save(dir);
        try (SafeTensorsReader r = SafeTensorsReader.open(dir.resolve("adapter_model.safetensors"))) {
            assertThat(r.info("base_model.model.encoder.layer.0.attention.self.query.lora_magnitude_vector")
                            .shape())
                    .containsExactly(8);
        }
        BertModel fresh = TinyBert.model(manager);
        fresh.loadStateDict(Weights.of(baseWeights(peft)), true);
        PeftModel.load(fresh, dir);
        assertThat(TinyBert.hidden(fresh)).containsExactly(adapted);
    }

    static Map<String, NDArray> baseWeights(PeftModel peft) {
        Map<String, NDArray> out = new TreeMap<>();
        peft.namedParameters().forEach((name, p) -> {
            if (!name.contains(".lora_")) {
                out.put(name.substring("base_model.model.".length()).replace(".base_layer.", "."), p.array());
            }
        });
        return out;
    }

    @Test
    void mixedBatchAppliesEachRowsOwnAdapter() throws Exception {
        BertModel model = TinyBert.model(manager);
        PeftModel peft = PeftModel.wrap(model, LoraTest.config(2, "query", "value"));
        LoraTest.randomizeB(peft);
        peft.addAdapter("other", LoraTest.config(4, "query", "key"));
        LoraTest.randomizeB(peft);
        float[] withOther = TinyBert.hidden(model);
        peft.setAdapter("default");
        float[] withDefault = TinyBert.hidden(model);
        float[] base;
        try (AutoCloseable off = peft.disableAdapters()) {
            base = TinyBert.hidden(model);
        }
        float[] mixed;
        mixed = TinyBert.hidden(model, peft.mixedBatch(List.of("other", PassContext.Adapters.BASE)));
        int row = 4 * 8; // each row of the fixed batch is [4 tokens, 8 features]
        for (int i = 0; i < row; i++) {
            assertThat(mixed[i]).isCloseTo(withOther[i], within(1e-5f));
            assertThat(mixed[row + i]).isCloseTo(base[row + i], within(1e-5f));
        }
        assertThat(LoraTest.maxRelativeDifference(
                        TinyBert.hidden(model, peft.mixedBatch(List.of("default", "default"))), withDefault))
                .isLessThan(1e-6);
        // both adapters in one batch: in query their ranks (2 and 4) differ, so the gathered factors are zero-padded
        float[] both = TinyBert.hidden(model, peft.mixedBatch(List.of("default", "other")));
        for (int i = 0; i < row; i++) {
            assertThat(both[i]).isCloseTo(withDefault[i], within(1e-5f));
            assertThat(both[row + i]).isCloseTo(withOther[row + i], within(1e-5f));
        }
        peft.merge();
        assertThatThrownBy(() -> peft.mixedBatch(List.of("default", "other")))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("merged");
        assertThatThrownBy(() -> peft.mixedBatch(List.of("nope", "other"))).hasMessageContaining("'nope'");
    }

    /** ΔW of every layer of the combined adapter, against Σ wᵢ·ΔWᵢ computed from the originals. */
    @Test
    void catAndFullRankSvdCombinationsAreExactLinearScalesOneAdapter() {
        BertModel model = TinyBert.model(manager);
        PeftModel peft = PeftModel.wrap(model, LoraTest.config(2, "query", "value"));
        LoraTest.randomizeB(peft);
        peft.addAdapter(
                "b",
                LoraConfig.builder().r(3).loraAlpha(12).targetModules("query").build());
        LoraTest.randomizeB(peft);
        AdapterCombination.addWeightedAdapter(
                peft, List.of("default", "b"), List.of(0.7, -1.3), "cat", AdapterCombination.Type.CAT, null);
        AdapterCombination.addWeightedAdapter(
                peft, List.of("default", "b"), List.of(0.7, -1.3), "svd", AdapterCombination.Type.SVD, 5);
        AdapterCombination.addWeightedAdapter(
                peft, List.of("b"), List.of(0.5), "half", AdapterCombination.Type.CAT, null);
        assertThat(((LoraConfig) peft.configs().get("cat")).r()).isEqualTo(5);
        assertThat(((LoraConfig) peft.configs().get("cat")).targetModules().names())
                .containsExactly("query", "value");
        for (var e : model.namedModules().entrySet()) {
            if (e.getValue() instanceof LoraLinear layer) {
                try (NDManager step = manager.newSubManager()) {
                    NDArray expected = layer.delta("default", step).mul(0.7);
                    if (layer.adapterNames().contains("b")) {
                        expected = expected.add(layer.delta("b", step).mul(-1.3));
                        assertClose(
                                layer.delta("half", step),
                                layer.delta("b", step).mul(0.5),
                                1e-5);
                    }
                    expected.attach(step);
                    assertClose(layer.delta("cat", step), expected, 1e-5);
                    assertClose(layer.delta("svd", step), expected, 1e-4);
                }
            }
        }
        assertThatThrownBy(() -> AdapterCombination.addWeightedAdapter(
                        peft, List.of("default", "b"), List.of(1.0, 1.0), "lin", AdapterCombination.Type.LINEAR, null))
                .hasMessageContaining("equal rank");
    }

    @Test
    void truncatedSvdKeepsTheLargestSingularDirections() {
        BertModel model = TinyBert.model(manager);
        PeftModel peft = PeftModel.wrap(model, LoraTest.config(4, "query"));
        LoraTest.randomizeB(peft);
        AdapterCombination.addWeightedAdapter(
                peft, List.of("default"), List.of(1.0), "full", AdapterCombination.Type.SVD, null);
        AdapterCombination.addWeightedAdapter(
                peft, List.of("default", "default"), List.of(0.5, 0.5), "rank1", AdapterCombination.Type.SVD, 1);
        LoraLinear layer = (LoraLinear) model.module("encoder.layer.0.attention.self.query");
        float[] exact = layer.delta("default", manager).toFloatArray();
        float[] one = layer.delta("rank1", manager).toFloatArray();
        // Eckart–Young: the error of the best rank-1 approximation is below the error of dropping everything.
        double err = 0;
        double total = 0;
        for (int i = 0; i < exact.length; i++) {
            err += Math.pow(exact[i] - one[i], 2);
            total += Math.pow(exact[i], 2);
        }
        assertThat(err).isLessThan(total * 0.99);
        assertClose(layer.delta("full", manager), layer.delta("default", manager), 1e-4);
    }

    private static void assertClose(NDArray actual, NDArray expected, double tolerance) {
        float[] a = actual.toFloatArray();
        float[] b = expected.toFloatArray();
        assertThat(LoraTest.maxRelativeDifference(a, b)).isLessThan(tolerance);
    }
}
