package io.peft4j.train.data;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.List;

/**
 * MixGen (Hao et al., WACV 2023), image-text augmentation as its reference code does it: the first M pairs of a batch
 * become new pairs, image i = λ·image i + (1 − λ)·image i+M and text i = text i + " " + text i+M; the rest are unchanged.
 * The trainer shuffles batches, so which pairs mix is random. Off when M is 0.
 */
public record MixGen(int pairs, double lambda) {

    public static final MixGen NONE = new MixGen(0, 0.5);

    public MixGen {
        if (pairs < 0) {
            throw new IllegalArgumentException("MixGen's pairs per batch must be ≥ 0, got " + pairs);
        }
        if (!(lambda >= 0 && lambda <= 1)) {
            throw new IllegalArgumentException("MixGen's λ must be in [0, 1], got " + lambda);
        }
    }

    public boolean enabled() {
        return pairs > 0;
    }

    /** A batch's images and texts after mixing. */
    public record Mixed(NDArray pixels, List<String> texts) {}

    /** pixels [B, C, H, W] and their B texts; M is capped at B/2 (every mixed pair needs a partner). */
    public Mixed apply(NDArray pixels, List<String> texts) {
        int m = Math.min(pairs, texts.size() / 2);
        if (m == 0) {
            return new Mixed(pixels, texts);
        }
        NDArray mixed = pixels.get(":" + m)
                .mul((float) lambda)
                .add(pixels.get(m + ":" + 2 * m).mul((float) (1 - lambda))); // [M, C, H, W]
        List<String> out = new ArrayList<>(texts);
        for (int i = 0; i < m; i++) {
            out.set(i, texts.get(i) + " " + texts.get(i + m));
        }
        return new Mixed(mixed.concat(pixels.get(m + ":"), 0), out);
    }
}
