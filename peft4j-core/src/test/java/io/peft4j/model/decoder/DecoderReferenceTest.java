package io.peft4j.model.decoder;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.NativeTest;
import io.peft4j.PassContexts;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.model.CausalLM;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Logits of each decoder family against an independent PyTorch implementation of the HF modelling code
 * (tools/decoder_fixtures.py), on a batch with right padding: within 1e-4 on every real token.
 */
class DecoderReferenceTest extends NativeTest {

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama", "qwen2", "mistral"})
    void logitsMatchTheReference(String family) {
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference =
                        SafeTensorsReader.open(Decoders.dir(family).resolve("reference.safetensors"))) {
            CausalLM model = Decoders.load(family, scope);
            NDArray ids = reference.load("input_ids", scope, DataType.INT64);
            NDArray mask = reference.load("attention_mask", scope, DataType.INT64);
            float[] expected = reference.load("logits", scope, DataType.FLOAT32).toFloatArray();
            float[] actual = model.forward(PassContexts.in(scope), ids, mask).toFloatArray();
            long[] keep = mask.toLongArray();
            int vocab = model.vocabSize();
            double worst = 0;
            for (int position = 0; position < keep.length; position++) {
                if (keep[position] == 1) {
                    for (int v = 0; v < vocab; v++) {
                        worst = Math.max(
                                worst, Math.abs(actual[position * vocab + v] - expected[position * vocab + v]));
                    }
                }
            }
            System.out.printf("%s: max |logit - reference| over real tokens = %.3e%n", family, worst);
            assertThat(worst).isLessThan(1e-4);
            assertThat(actual.length).isEqualTo(expected.length);
        }
    }

    /** Regression: GPT-2's Conv1D weights stayed alive in their untransposed form beside the
     * transposed copy, and each deferred weight's placeholder left its one-element zero behind. */
    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void aLoadedModelHoldsOneArrayPerParameter(String family) {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM model = Decoders.load(family, scope);
            assertThat(scope.getManagedArrays()).hasSize(model.namedParameters().size());
        }
    }
}
