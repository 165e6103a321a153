package io.peft4j.spark;

import io.peft4j.train.Replicas;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import org.apache.spark.BarrierTaskContext;

/**
 * The tasks of a barrier stage as training replicas: gradients are exchanged with {@link BarrierTaskContext#allGather},
 * every task receiving every task's array (base64 of little-endian floats, as allGather carries strings) and adding
 * them in partition order, so all tasks hold the same sum to the bit.
 */
final class BarrierReplicas implements Replicas {

    private final BarrierTaskContext context;

    BarrierReplicas(BarrierTaskContext context) {
        this.context = context;
    }

    @Override
    public int rank() {
        return context.partitionId();
    }

    @Override
    public int count() {
        return context.getTaskInfos().length;
    }

    @Override
    public float[] sum(float[] local) {
        String[] all = context.allGather(encode(local));                 // indexed by partition id
        float[] out = new float[local.length];
        for (String message : all) {
            float[] part = decode(message);
            if (part.length != out.length) {
                throw new IllegalStateException("replicas exchanged arrays of " + part.length + " and " + out.length + " floats");
            }
            for (int i = 0; i < out.length; i++) {
                out[i] += part[i];
            }
        }
        return out;
    }

    static String encode(float[] values) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        return Base64.getEncoder().encodeToString(bytes.array());
    }

    static float[] decode(String message) {
        ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(message)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[bytes.remaining() / Float.BYTES];
        bytes.asFloatBuffer().get(out);
        return out;
    }
}
