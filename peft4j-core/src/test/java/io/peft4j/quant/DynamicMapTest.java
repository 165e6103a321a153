package io.peft4j.quant;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.NativeTest;
import io.peft4j.io.SafeTensorsReader;
import java.nio.file.Path;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;

class DynamicMapTest extends NativeTest {

    static Path reference() throws Exception {
        return Path.of(
                DynamicMapTest.class.getResource("/quant/reference.safetensors").toURI());
    }

    /**
     * Within 3e-7 relative (a few float32 ulps): torch.linspace's CPU kernel rounds differently depending on the SIMD width and
     * FMA use of the machine, so bitsandbytes' own map differs in the last bits between machines.
     */
    @Test
    void equalsBitsandbytesSignedDynamicMapWithinFloatRounding() throws Exception {
        try (SafeTensorsReader r = SafeTensorsReader.open(reference());
                NDManager scope = manager.newSubManager()) {
            float[] expected = r.load("dynamic_map", scope, DataType.FLOAT32).toFloatArray();
            float[] actual = DynamicMap.signed();
            assertThat(actual).hasSize(256);
            for (int i = 0; i < 256; i++) {
                assertThat((double) actual[i])
                        .as("entry %d", i)
                        .isCloseTo(expected[i], Assertions.within(3e-7 * Math.abs(expected[i])));
            }
        }
    }
}
