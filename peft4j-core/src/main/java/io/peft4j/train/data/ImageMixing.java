package io.peft4j.train.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.peft4j.train.task.SingleLabelTask;
import java.util.Random;

/**
 * Batch mixing for image classification training, off by default: mixup (Zhang et al. 2018: every image λ·itself +
 * (1 − λ)·its partner) and CutMix (Yun et al. 2019: a box of the partner pasted in, λ the area left), λ ~ Beta(α, α);
 * with both on, each batch takes one of them with probability ½ (as timm's Mixup does), and an image's partner is the
 * one at the mirrored position of the batch (timm's batch mode). Targets mix with the same λ ({@link SingleLabelTask.Mix}).
 *
 * @param mixupAlpha  α of mixup's Beta distribution, 0: off
 * @param cutmixAlpha α of CutMix's, 0: off
 */
public record ImageMixing(double mixupAlpha, double cutmixAlpha) {

    public static final ImageMixing NONE = new ImageMixing(0, 0);

    public ImageMixing {
        if (!(mixupAlpha >= 0 && cutmixAlpha >= 0) || Double.isInfinite(mixupAlpha) || Double.isInfinite(cutmixAlpha)) {
            throw new IllegalArgumentException("mixup and CutMix alphas must be finite and ≥ 0 (0: off), got "
                    + mixupAlpha + " and " + cutmixAlpha);
        }
    }

    public boolean enabled() {
        return mixupAlpha > 0 || cutmixAlpha > 0;
    }

    /** The mixed batch of pixel values [B, C, H, W] (B ≥ 2) and its λ, drawn from {@code random}. */
    public record Mixed(NDArray pixels, double lambda) {}

    public Mixed apply(NDArray pixels, Random random) {
        boolean cutmix = cutmixAlpha > 0 && (mixupAlpha == 0 || random.nextBoolean());
        double lambda = beta(cutmix ? cutmixAlpha : mixupAlpha, random);
        NDArray partner = pixels.flip(0);
        if (!cutmix) {
            return new Mixed(pixels.mul((float) lambda).add(partner.mul((float) (1 - lambda))), lambda);
        }
        Shape s = pixels.getShape();
        int h = (int) s.get(2);
        int w = (int) s.get(3);
        double cut = Math.sqrt(1 - lambda); // the box's side ratio
        int cutH = (int) (h * cut);
        int cutW = (int) (w * cut);
        int cy = random.nextInt(h);
        int cx = random.nextInt(w);
        int top = Math.max(0, cy - cutH / 2);
        int bottom = Math.min(h, cy + cutH / 2);
        int left = Math.max(0, cx - cutW / 2);
        int right = Math.min(w, cx + cutW / 2);
        float[] box = new float[h * w];
        for (int y = top; y < bottom; y++) {
            for (int x = left; x < right; x++) {
                box[y * w + x] = 1f;
            }
        }
        NDArray mask = pixels.getManager().create(box, new Shape(1, 1, h, w)); // 1 where the partner shows
        NDArray mixed = pixels.mul(mask.neg().add(1f)).add(partner.mul(mask));
        return new Mixed(
                mixed, 1 - (double) (bottom - top) * (right - left) / ((double) h * w)); // λ: the image's own share
    }

    /** X / (X + Y) with X, Y ~ Gamma(α, 1): a Beta(α, α) draw. */
    static double beta(double alpha, Random random) {
        double x = gamma(alpha, random);
        double y = gamma(alpha, random);
        return x + y == 0 ? 0.5 : x / (x + y);
    }

    /** Gamma(α, 1) by Marsaglia and Tsang's method (α &lt; 1 boosted: Gamma(α + 1)·U^(1/α)). */
    static double gamma(double alpha, Random random) {
        if (alpha < 1) {
            return gamma(alpha + 1, random) * Math.pow(random.nextDouble(), 1 / alpha);
        }
        double d = alpha - 1.0 / 3;
        double c = 1 / Math.sqrt(9 * d);
        while (true) {
            double z = random.nextGaussian();
            double v = Math.pow(1 + c * z, 3);
            if (v > 0 && Math.log(random.nextDouble()) < 0.5 * z * z + d - d * v + d * Math.log(v)) {
                return d * v;
            }
        }
    }
}
