package io.peft4j.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Map;
import java.util.Set;

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
    static Weights renamed(Weights inner, java.util.function.UnaryOperator<String> rename) {
        Map<String, String> newToOld = new java.util.LinkedHashMap<>();
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
