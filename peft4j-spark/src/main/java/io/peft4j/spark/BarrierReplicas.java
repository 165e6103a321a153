package io.peft4j.spark;

import io.peft4j.train.Replicas;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import org.apache.spark.BarrierTaskContext;

/**
 * The tasks of a barrier stage as training replicas: gradients are exchanged with {@link BarrierTaskContext#allGather},
 * every task receiving every task's array (base64 of little-endian floats, as allGather carries strings) and adding
 * them in partition order, so all tasks hold the same sum to the bit. Each exchange is one barrier synchronisation, which
 * Spark answers with up to a second's delay (its tasks poll the coordinator's answer once a second): fine for steps of
 * many seconds (a 7B model's), dominant for MiniLM's steps of well under a second.
 */
final class BarrierReplicas implements Replicas {

    private final BarrierTaskContext context;
    private long syncNanos;

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
        long start = System.nanoTime();
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
        syncNanos += System.nanoTime() - start;
        return out;
    }

    /**
     * Time spent in the exchanges: waiting for the slower replicas, the round trip through the driver's barrier coordinator
     * (whose tasks poll for the answer once a second: Spark's BarrierTaskContext sleeps 1 s between checks), decoding and
     * summing.
     */
    double syncSeconds() {
        return syncNanos / 1e9;
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
