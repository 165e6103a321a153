package io.peft4j.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The fp32 buffers that quantised layers dequantise into during a staged training pass (one stage per decoder
 * block), reused stage after stage, so a quantised model's training holds the dequantised weights of one stage,
 * not of the whole model.
 *
 * <p>It works as bitsandbytes' 4-bit matmul does, without a custom autograd function (DJL has none): autograd
 * keeps a reference to the buffer a layer multiplied with, later stages overwrite the buffer's contents (written
 * by {@link Dequantizer} from Java, which autograd does not see), and {@link #replay} writes a stage's weights
 * back just before that stage's part of the backward pass runs. The backward pass must therefore be taken stage
 * by stage in reverse order, each stage replayed first ({@code CausalLM}'s staged backward does this).
 *
 * <p>While open, the buffers are the current thread's: {@link QuantizedLinear#forward} takes them from
 * {@link #active()}; without an open one it dequantises into a fresh array.
 */
public final class DequantBuffers implements AutoCloseable {

    private static final ThreadLocal<DequantBuffers> ACTIVE = new ThreadLocal<>();

    /** The layers a stage dequantised, in order, each with the buffer it used. */
    public static final class Stage {
        private final List<QuantizedLinear> layers = new ArrayList<>();
        private final List<NDArray> buffers = new ArrayList<>();
    }

    private final NDManager manager;
    private final Map<Shape, List<NDArray>> byShape = new HashMap<>();
    private final Map<Shape, Integer> usedInStage = new HashMap<>();
    private Stage stage = new Stage();

    private DequantBuffers(NDManager parent) {
        this.manager = parent.newSubManager();
    }

    /** Opens buffers for this thread (its arrays under {@code parent}); close them when the pass is over. */
    public static DequantBuffers open(NDManager parent) {
        if (ACTIVE.get() != null) {
            throw new IllegalStateException("dequantisation buffers are already open on this thread");
        }
        DequantBuffers buffers = new DequantBuffers(parent);
        ACTIVE.set(buffers);
        return buffers;
    }

    /** This thread's open buffers, or null. */
    static DequantBuffers active() {
        return ACTIVE.get();
    }

    /** Starts a stage: its layers take the buffers from the first again; returns the stage's record. */
    public Stage beginStage() {
        usedInStage.clear();
        stage = new Stage();
        return stage;
    }

    /** A buffer holding {@code layer}'s dequantised weight [out, in], recorded in the current stage. */
    NDArray take(QuantizedLinear layer) {
        Shape shape = new Shape(layer.outFeatures(), layer.inFeatures());
        int index = usedInStage.merge(shape, 1, Integer::sum) - 1;
        List<NDArray> free = byShape.computeIfAbsent(shape, s -> new ArrayList<>());
        if (index == free.size()) {
            free.add(manager.create(shape, DataType.FLOAT32)); // uninitialised: written next
        }
        NDArray buffer = free.get(index);
        layer.dequantizeInto(buffer);
        stage.layers.add(layer);
        stage.buffers.add(buffer);
        return buffer;
    }

    /** Writes {@code s}'s weights back into the buffers it used (later stages have overwritten them). */
    public void replay(Stage s) {
        for (int i = 0; i < s.layers.size(); i++) {
            s.layers.get(i).dequantizeInto(s.buffers.get(i));
        }
    }

    @Override
    public void close() {
        ACTIVE.remove();
        manager.close();
    }
}
