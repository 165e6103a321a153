package io.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.NativeTest;
import io.peft4j.PassContexts;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.io.Weights;
import io.peft4j.model.bert.BertModel;
import io.peft4j.model.bert.TinyBert;
import io.peft4j.peft.lora.LoraEmbedding;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoraEmbeddingTest extends NativeTest {

    @TempDir
    Path dir;

    @Test
    void embeddingLoraStartsAsIdentityAddsScaledRowsMergesAndSavesUnderHfKeys() throws Exception {
        BertModel model = TinyBert.model(manager);
        float[] base = TinyBert.hidden(model);
        PeftModel peft = PeftModel.wrap(model, LoraTest.config(3, "word_embeddings"));
        assertThat(peft.parameterCount().trainable()).isEqualTo(3L * (50 + 8));
        assertThat(TinyBert.hidden(model)).containsExactly(base);

        LoraEmbedding layer = (LoraEmbedding) model.module("embeddings.word_embeddings");
        peft.namedParameters()
                .get("base_model.model.embeddings.word_embeddings.lora_embedding_A.default")
                .set(manager.randomNormal(0, 1, new Shape(3, 50), DataType.FLOAT32));
        float[] a = peft.namedParameters()
                .get("base_model.model.embeddings.word_embeddings.lora_embedding_A.default")
                .array()
                .toFloatArray();
        float[] b = peft.namedParameters()
                .get("base_model.model.embeddings.word_embeddings.lora_embedding_B.default")
                .array()
                .toFloatArray();
        float[] table = layer.baseLayer().weight().array().toFloatArray();
        long[] ids = {7, 0, 49};
        float[] out = layer.forward(PassContexts.in(manager, model), manager.create(ids))
                .toFloatArray();
        double s = 2.0; // alpha 6 / r 3
        for (int t = 0; t < ids.length; t++) {
            for (int d = 0; d < 8; d++) {
                double delta = 0;
                for (int k = 0; k < 3; k++) {
                    delta += b[d * 3 + k] * a[k * 50 + (int) ids[t]];
                }
                assertThat((double) out[t * 8 + d]).isCloseTo(table[(int) ids[t] * 8 + d] + s * delta, within(1e-5));
            }
        }
        float[] adapted = TinyBert.hidden(model);
        peft.merge();
        assertThat(LoraTest.maxRelativeDifference(TinyBert.hidden(model), adapted))
                .isLessThan(1e-5);
        peft.unmerge();

        peft.save(dir);
        try (SafeTensorsReader r = SafeTensorsReader.open(dir.resolve("adapter_model.safetensors"))) {
            assertThat(r.info("base_model.model.embeddings.word_embeddings.lora_embedding_A")
                            .shape())
                    .containsExactly(3, 50);
            assertThat(r.info("base_model.model.embeddings.word_embeddings.lora_embedding_B")
                            .shape())
                    .containsExactly(8, 3);
        }
        BertModel fresh = TinyBert.model(manager);
        fresh.loadStateDict(Weights.of(LoraVariantsTest.baseWeights(peft)), true);
        PeftModel.load(fresh, dir);
        // the base weights went through merge and unmerge: equal up to float rounding
        assertThat(LoraTest.maxRelativeDifference(TinyBert.hidden(fresh), adapted))
                .isLessThan(1e-6);
        assertThat(fresh.module("embeddings.word_embeddings")).isInstanceOf(LoraEmbedding.class);
    }
}
