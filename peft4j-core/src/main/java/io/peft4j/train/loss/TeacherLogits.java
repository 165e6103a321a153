package io.peft4j.train.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.io.DType;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.io.SafeTensorsWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A teacher's logits for each training example, computed once (one teacher pass serves every epoch) and optionally kept
 * in a file, so a resumed run or a second student does not run the teacher again. The file is a safetensors file with one
 * tensor {@code logits} [N, C] and the teacher's identity in its metadata: a file made by another teacher or for other
 * examples is an error, never silently used.
 */
public final class TeacherLogits<E> {

    static final String TENSOR = "logits";
    static final String IDENTITY = "teacher_identity";

    private final Map<E, float[]> byExample = new HashMap<>();
    private final int classes;

    /** {@code logits[i]}: the teacher's logits [C] for {@code examples.get(i)}. */
    public TeacherLogits(List<E> examples, float[][] logits) {
        if (examples.size() != logits.length || logits.length == 0) {
            throw new Peft4jException(
                    "teacher logits for " + logits.length + " examples, but " + examples.size() + " examples");
        }
        classes = logits[0].length;
        for (int i = 0; i < logits.length; i++) {
            if (logits[i].length != classes) {
                throw new Peft4jException("teacher logits of example " + i + " have " + logits[i].length
                        + " classes, the first " + classes);
            }
            for (float v : logits[i]) {
                if (!Float.isFinite(v)) {
                    throw new Peft4jException("the teacher's logits of example " + i + " are not finite");
                }
            }
            byExample.put(examples.get(i), logits[i]);
        }
    }

    /**
     * The logits in {@code file} if it holds them for this {@code identity} and these examples; otherwise {@code compute}d
     * and written there (atomically). {@code identity} names the teacher and the data (model, adapter, their hashes).
     */
    public static <E> TeacherLogits<E> cached(
            Path file, String identity, List<E> examples, Supplier<float[][]> compute) {
        if (Files.isRegularFile(file)) {
            try (SafeTensorsReader r = SafeTensorsReader.open(file)) {
                String saved = r.metadata().get(IDENTITY);
                if (!identity.equals(saved)
                        || !r.contains(TENSOR)
                        || r.info(TENSOR).dtype() != DType.F32
                        || r.info(TENSOR).shape().length != 2
                        || r.info(TENSOR).shape()[0] != examples.size()) {
                    throw new Peft4jException(file + " holds the logits of another teacher or other examples (" + saved
                            + "); delete it to recompute them");
                }
                long[] shape = r.info(TENSOR).shape();
                ByteBuffer bytes = r.bytes(TENSOR).order(ByteOrder.LITTLE_ENDIAN);
                float[][] logits = new float[(int) shape[0]][(int) shape[1]];
                for (float[] row : logits) {
                    bytes.asFloatBuffer().get(row);
                    bytes.position(bytes.position() + row.length * Float.BYTES);
                }
                return new TeacherLogits<>(examples, logits);
            }
        }
        float[][] logits = compute.get();
        TeacherLogits<E> made = new TeacherLogits<>(examples, logits);
        ByteBuffer data =
                ByteBuffer.allocate(logits.length * made.classes * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float[] row : logits) {
            for (float v : row) {
                data.putFloat(v);
            }
        }
        SafeTensorsWriter.writeEntries(
                file,
                List.of(new SafeTensorsWriter.Entry(
                        TENSOR, DType.F32, new long[] {logits.length, made.classes}, data.flip())),
                Map.of(IDENTITY, identity));
        return made;
    }

    public int classes() {
        return classes;
    }

    /** The teacher's logits [B, C] for a batch of the examples, made in {@code manager} (libtorch's memory). */
    public NDArray of(List<E> batch, NDManager manager) {
        float[] flat = new float[batch.size() * classes];
        for (int i = 0; i < batch.size(); i++) {
            float[] row = byExample.get(batch.get(i));
            if (row == null) {
                throw new Peft4jException("no teacher logits for training example " + batch.get(i));
            }
            System.arraycopy(row, 0, flat, i * classes, classes);
        }
        return manager.create(flat, new Shape(batch.size(), classes)).duplicate();
    }
}
