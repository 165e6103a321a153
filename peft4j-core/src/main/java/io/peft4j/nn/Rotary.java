package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.peft4j.Peft4jException;

/**
 * Rotary position embeddings as Llama-family models apply them: inverse frequencies θ^(−2i/d), optionally
 * rescaled ({@code rope_scaling} types {@code linear} and {@code llama3}), and the "rotate half" layout in
 * which dimension i pairs with i + d/2.
 */
public final class Rotary {

    /** {@code rope_scaling} of config.json; null fields are absent. */
    public record Scaling(
            String type, double factor, Double lowFreqFactor, Double highFreqFactor, Integer originalMaxPositions) {}

    /** cos and sin for one batch of positions, each [B, 1, T, Dh], broadcast over heads. */
    public record Angles(NDArray cos, NDArray sin) {

        /** x [B, H, T, Dh] → x·cos + rotate_half(x)·sin */
        public NDArray apply(NDArray x) {
            long half = x.getShape().get(3) / 2;
            NDArray first = x.get(new NDIndex(":, :, :, :" + half));
            NDArray second = x.get(new NDIndex(":, :, :, " + half + ":"));
            NDArray rotated = second.neg().concat(first, 3); // [B, H, T, Dh]
            return x.mul(cos).add(rotated.mul(sin));
        }
    }

    private final float[] inverseFrequencies;

    public Rotary(int headDim, double theta, Scaling scaling) {
        if (headDim % 2 != 0) {
            throw new Peft4jException("rotary embeddings need an even head dimension, got " + headDim);
        }
        float[] inv = new float[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = (float) (1.0 / Math.pow(theta, (float) (2 * i) / headDim)); // float32 exponent as HF computes it
        }
        this.inverseFrequencies = scaling == null ? inv : rescale(inv, scaling);
    }

    /** HF's {@code _compute_linear_scaling_rope_parameters} and {@code _compute_llama3_parameters}. */
    private static float[] rescale(float[] inv, Scaling s) {
        float[] out = new float[inv.length];
        switch (s.type()) {
            case "default" -> System.arraycopy(inv, 0, out, 0, inv.length);
            case "linear" -> {
                for (int i = 0; i < inv.length; i++) {
                    out[i] = (float) (inv[i] / s.factor());
                }
            }
            case "llama3" -> {
                if (s.lowFreqFactor() == null || s.highFreqFactor() == null || s.originalMaxPositions() == null) {
                    throw new Peft4jException(
                            "rope_scaling llama3 needs low_freq_factor, high_freq_factor and original_max_position_embeddings");
                }
                double oldContext = s.originalMaxPositions();
                double lowWavelen = oldContext / s.lowFreqFactor();
                double highWavelen = oldContext / s.highFreqFactor();
                for (int i = 0; i < inv.length; i++) {
                    double wavelen = 2 * Math.PI / inv[i];
                    if (wavelen < highWavelen) {
                        out[i] = inv[i]; // high frequencies kept
                    } else if (wavelen > lowWavelen) {
                        out[i] = (float) (inv[i] / s.factor()); // low frequencies scaled
                    } else { // smooth interpolation between
                        double smooth =
                                (oldContext / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                        out[i] = (float) ((1 - smooth) * inv[i] / s.factor() + smooth * inv[i]);
                    }
                }
            }
            default ->
                throw new Peft4jException(
                        "rope_scaling type '" + s.type() + "' is not supported; supported: default, linear, llama3");
        }
        return out;
    }

    public float[] inverseFrequencies() {
        return inverseFrequencies.clone();
    }

    /** positions [B, T] int64 → cos/sin [B, 1, T, Dh] in float32. */
    public Angles angles(NDArray positions) {
        NDManager m = positions.getManager();
        NDArray inv = m.create(inverseFrequencies); // [Dh/2]
        NDArray freqs = positions.toType(DataType.FLOAT32, false).expandDims(2).mul(inv); // [B, T, Dh/2]
        NDArray emb = freqs.concat(freqs, 2).expandDims(1); // [B, 1, T, Dh]
        return new Angles(emb.cos(), emb.sin());
    }
}
