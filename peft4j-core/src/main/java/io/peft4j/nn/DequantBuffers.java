package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The fp32 buffers that quantised layers dequantise into during a staged training pass (one stage per block), reused
 * stage after stage, so a quantised model's training holds the dequantised weights of one stage, not of the whole model.
 *
 * <p>It works as bitsandbytes' 4-bit matmul does, without a custom autograd function (DJL has none): autograd
 * keeps a reference to the buffer a layer multiplied with, later stages overwrite the buffer's contents (written
 * from Java, which autograd does not see), and {@link #replay} writes a stage's weights back just before that stage's
 * part of the backward pass runs. The backward pass must therefore be taken stage by stage in reverse order, each stage
 * replayed first ({@code io.peft4j.train.StagedBackward} does this). A pass reaches its buffers through its
 * {@link PassContext#buffers()}.
 */
public final class DequantBuffers implements AutoCloseable {

    /** The buffers a stage filled, in order, each with what writes it. */
    public static final class Stage {
        private final List<Consumer<NDArray>> writers = new ArrayList<>();
        private final List<NDArray> buffers = new ArrayList<>();
    }

    private final NDManager manager;
    private final Map<Shape, List<NDArray>> byShape = new HashMap<>();
    private final Map<Shape, Integer> usedInStage = new HashMap<>();
    private Stage stage = new Stage();

    /** Buffers whose arrays live under {@code parent}; close them when the pass is over. */
    public DequantBuffers(NDManager parent) {
        this.manager = parent.newSubManager();
    }

    /** Starts a stage: its layers take the buffers from the first again; returns the stage's record. */
    public Stage beginStage() {
        usedInStage.clear();
        stage = new Stage();
        return stage;
    }

    /** A buffer of {@code shape} filled by {@code writer} (a layer's dequantisation), recorded in the current stage. */
    public NDArray take(Shape shape, Consumer<NDArray> writer) {
        int index = usedInStage.merge(shape, 1, Integer::sum) - 1;
        List<NDArray> free = byShape.computeIfAbsent(shape, s -> new ArrayList<>());
        if (index == free.size()) {
            free.add(manager.create(shape, DataType.FLOAT32)); // uninitialised: written next
        }
        NDArray buffer = free.get(index);
        writer.accept(buffer);
        stage.writers.add(writer);
        stage.buffers.add(buffer);
        return buffer;
    }

    /** Writes {@code s}'s weights back into the buffers it used (later stages have overwritten them). */
    public void replay(Stage s) {
        for (int i = 0; i < s.writers.size(); i++) {
            s.writers.get(i).accept(s.buffers.get(i));
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
