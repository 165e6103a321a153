package io.peft4j.nn;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import org.junit.jupiter.api.Test;

/**
 * The cache's buffers (generation) hold exactly what concatenating every step's keys and values would, across growth;
 * keys with gradients (prefix tuning in training) switch a layer to concatenation, keeping what it held.
 */
class KvCacheTest extends NativeTest {

    @Test
    void buffersHoldWhatConcatenationWould() {
        try (NDManager scope = manager.newSubManager();
                KvCache cache = new KvCache(scope, 2)) {
            NDArray expectedKeys = null;
            NDArray expectedValues = null;
            for (int step = 0; step < 40; step++) { // 1 prompt of 30, then 39 single steps: past 64, one growth
                int t = step == 0 ? 30 : 1;
                try (NDManager s = scope.newSubManager()) {
                    NDArray k = s.randomNormal(new Shape(2, 3, t, 4));
                    NDArray v = s.randomNormal(new Shape(2, 3, t, 4));
                    KeyValuePrefix held = cache.append(1, k, v);
                    expectedKeys = expectedKeys == null ? k.duplicate() : expectedKeys.concat(k, 2);
                    expectedValues = expectedValues == null ? v.duplicate() : expectedValues.concat(v, 2);
                    expectedKeys.attach(scope);
                    expectedValues.attach(scope);
                    assertThat(held.keys().getShape()).isEqualTo(expectedKeys.getShape());
                    assertThat(held.keys().toFloatArray()).containsExactly(expectedKeys.toFloatArray());
                    assertThat(held.values().toFloatArray()).containsExactly(expectedValues.toFloatArray());
                }
            }
            assertThat(expectedKeys.getShape().get(2)).isEqualTo(69);
        }
    }

    @Test
    void keysWithGradientsAreConcatenatedAfterWhatIsHeld() {
        try (NDManager scope = manager.newSubManager();
                KvCache cache = new KvCache(scope, 1)) {
            NDArray first = scope.randomNormal(new Shape(1, 1, 3, 2));
            cache.append(0, first, first);
            NDArray trained = scope.randomNormal(new Shape(1, 1, 2, 2));
            trained.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                KeyValuePrefix held = cache.append(
                        0,
                        Scalars.mul(trained, 2),
                        Scalars.mul(trained, 2)); // a libtorch-made constant: autograd keeps it
                assertThat(held.keys().getShape()).isEqualTo(new Shape(1, 1, 5, 2));
                float[] k = held.keys().toFloatArray();
                float[] f = first.toFloatArray();
                for (int i = 0; i < f.length; i++) {
                    assertThat(k[i]).isEqualTo(f[i]);
                }
                gc.backward(held.keys().sum());
            }
            assertThat(trained.getGradient().toFloatArray())
                    .containsOnly(2f); // autograd went through the concatenation
        }
    }
}
