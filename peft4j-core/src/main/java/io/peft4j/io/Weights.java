package io.peft4j.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * Named tensors to load a module from — a safetensors checkpoint, an ONNX file's initializers or an
 * in-memory map — read one tensor at a time so a whole checkpoint is never resident twice.
 */
public interface Weights extends AutoCloseable {

    /** Where the weights come from, for error messages. */
    String source();

    Set<String> keys();

    long[] shape(String key);

    /** Loads one tensor; floating-point tensors are converted to float32. */
    NDArray load(String key, NDManager manager);

    @Override
    default void close() {}

    /** The same weights under new names ({@code rename} must be one-to-one over {@link #keys()}). */
    static Weights renamed(Weights inner, UnaryOperator<String> rename) {
        Map<String, String> newToOld = new LinkedHashMap<>();
        for (String key : inner.keys()) {
            newToOld.put(rename.apply(key), key);
        }
        return new Weights() {
            @Override
            public String source() {
                return inner.source();
            }

            @Override
            public Set<String> keys() {
                return newToOld.keySet();
            }

            @Override
            public long[] shape(String key) {
                return inner.shape(newToOld.getOrDefault(key, key));
            }

            @Override
            public NDArray load(String key, NDManager manager) {
                return inner.load(newToOld.getOrDefault(key, key), manager);
            }
        };
    }

    /** Only the keys {@code keep} accepts. */
    static Weights filtered(Weights inner, Predicate<String> keep) {
        Set<String> kept = new LinkedHashSet<>();
        inner.keys().stream().filter(keep).forEach(kept::add);
        return new Weights() {
            @Override
            public String source() {
                return inner.source();
            }

            @Override
            public Set<String> keys() {
                return kept;
            }

            @Override
            public long[] shape(String key) {
                return inner.shape(key);
            }

            @Override
            public NDArray load(String key, NDManager manager) {
                return inner.load(key, manager);
            }
        };
    }

    /**
     * The same weights with the 2-d tensors {@code which} selects transposed (GPT-2's Conv1D stores (in, out);
     * peft4j's Linear keeps PyTorch's (out, in)).
     */
    static Weights transposed(Weights inner, Predicate<String> which) {
        return new Weights() {
            @Override
            public String source() {
                return inner.source();
            }

            @Override
            public Set<String> keys() {
                return inner.keys();
            }

            @Override
            public long[] shape(String key) {
                long[] s = inner.shape(key);
                return which.test(key) && s.length == 2 ? new long[] {s[1], s[0]} : s;
            }

            @Override
            public NDArray load(String key, NDManager manager) {
                if (!which.test(key) || inner.shape(key).length != 2) {
                    return inner.load(key, manager);
                }
                try (NDManager scratch = manager.newSubManager()) { // the stored layout ends here
                    NDArray t = inner.load(key, scratch).transpose().duplicate();
                    t.attach(manager);
                    return t;
                }
            }
        };
    }

    /** Wraps arrays the caller already holds; {@link #load} returns copies owned by the given manager. */
    static Weights of(Map<String, NDArray> arrays) {
        return new Weights() {
            @Override
            public String source() {
                return "state dict";
            }

            @Override
            public Set<String> keys() {
                return arrays.keySet();
            }

            @Override
            public long[] shape(String key) {
                return arrays.get(key).getShape().getShape();
            }

            @Override
            public NDArray load(String key, NDManager manager) {
                NDArray copy = arrays.get(key).duplicate();
                copy.attach(manager);
                return copy;
            }
        };
    }
}
