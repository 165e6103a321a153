package io.peft4j.model.swin;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.nn.Activations;
import io.peft4j.nn.DropPath;
import io.peft4j.nn.Dropout;
import io.peft4j.nn.LayerNorm;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.MultiHeadAttention;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.ResidualAdapter;
import io.peft4j.nn.ResidualSite;
import io.peft4j.nn.TokenGrid;
import java.util.function.UnaryOperator;

/**
 * One Swin Transformer block, named as in Hugging Face ({@code layernorm_before}, {@code attention.self.{query,key,value,
 * relative_position_bias_table}}, {@code attention.output.dense}, {@code layernorm_after}, {@code intermediate.dense},
 * {@code output.dense}): pre-LN self-attention within w×w windows of the token grid (shifted by w/2 in every second
 * block, with the cross-region mask), a learned bias per relative position, then the MLP. In training the attention
 * branch takes stochastic depth (drop path, per sample, at the block's rate), as HF's layer does; the MLP branch does not.
 */
public final class SwinLayer extends Module {

    /** {@code attention.self}: query, key and value within a window, with the relative position bias. */
    static final class WindowAttention extends MultiHeadAttention {
        final int window;
        final Parameter biasTable;

        WindowAttention(NDManager manager, int width, int heads, int window, SwinConfig c) {
            super(
                    manager,
                    Spec.of(
                            Names.BERT,
                            width,
                            heads,
                            c.qkvBias(),
                            c.attentionProbsDropoutProb(),
                            c.initializerRange()));
            this.window = window;
            biasTable = addParameter(
                    "relative_position_bias_table",
                    manager.zeros(new Shape((long) (2 * window - 1) * (2 * window - 1), heads)));
        }

        /** The bias [1, H, N, N] of token pairs in a window (N = w²): table[(hᵢ−hⱼ+w−1)·(2w−1) + (wᵢ−wⱼ+w−1)]. */
        NDArray relativeBias(PassContext step) {
            int n = window * window;
            long[] index = new long[n * n];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    index[i * n + j] = (long) (i / window - j / window + window - 1) * (2 * window - 1)
                            + (i % window - j % window + window - 1);
                }
            }
            // the index is copied into libtorch's memory: autograd keeps it for the backward pass, after this block's
            // scope
            NDArray rows = biasTable
                    .array()
                    .get(new NDIndex("{}", step.scope().create(index).duplicate())); // [N·N, H]
            rows.attach(step.scope());
            return rows.reshape(n, n, -1).transpose(2, 0, 1).expandDims(0); // [1, H, N, N]
        }
    }

    /** A sub-layer's {@code dense} output projection and dropout; residual adapters installed here act before the residual addition. */
    static final class Dense extends ResidualSite {
        private final Dropout dropout;

        Dense(NDManager manager, ResidualAdapter.Kind kind, int in, int width, SwinConfig c) {
            super(manager, kind, width);
            addChild("dense", new Linear(manager, in, width, true, c.initializerRange()));
            dropout = addChild("dropout", new Dropout(manager, c.hiddenDropoutProb()));
        }

        /** hidden [B, T, in], residual [B, T, D] → what is added to the residual [B, T, D]. */
        NDArray forward(PassContext step, NDArray hidden, NDArray residual, TokenGrid grid) {
            return adapt(step, dropout.forward(linear("dense").forward(step, hidden)), residual, grid);
        }
    }

    /** {@code attention}: {@code self} and its {@code output}. */
    static final class Attention extends Module {
        final WindowAttention self;
        final Dense output;

        Attention(NDManager manager, int width, int heads, int window, SwinConfig c) {
            super(manager);
            self = addChild("self", new WindowAttention(manager, width, heads, window, c));
            output = addChild("output", new Dense(manager, ResidualAdapter.Kind.ATTENTION, width, width, c));
        }
    }

    /** {@code intermediate}: {@code dense} and the activation. */
    static final class Intermediate extends Module {
        private final UnaryOperator<NDArray> activation;

        Intermediate(NDManager manager, int width, int mlp, SwinConfig c) {
            super(manager);
            addChild("dense", new Linear(manager, width, mlp, true, c.initializerRange()));
            activation = Activations.byName(c.hiddenAct());
        }

        NDArray forward(PassContext step, NDArray x) {
            return activation.apply(linear("dense").forward(step, x));
        }
    }

    private final int width;
    private final int window;
    private final int shift;
    private final LayerNorm before;
    private final Attention attention;
    private final LayerNorm after;
    private final Intermediate intermediate;
    private final Dense output;
    private final DropPath dropPath;

    /**
     * Block {@code index} of {@code stage}: w×w windows of the configured {@code window_size} (its relative position
     * table (2w−1)² rows, as HF's), odd blocks shifted by w/2 where the grid they get is larger than a window.
     */
    SwinLayer(NDManager manager, SwinConfig c, int stage, int index) {
        super(manager);
        width = c.width(stage);
        window = c.windowSize();
        shift = index % 2 == 0 ? 0 : window / 2;
        before = addChild("layernorm_before", new LayerNorm(manager, width, c.layerNormEps()));
        attention = addChild("attention", new Attention(manager, width, c.numHeads()[stage], window, c));
        after = addChild("layernorm_after", new LayerNorm(manager, width, c.layerNormEps()));
        intermediate = addChild("intermediate", new Intermediate(manager, width, c.mlpWidth(stage), c));
        output = addChild("output", new Dense(manager, ResidualAdapter.Kind.FEED_FORWARD, c.mlpWidth(stage), width, c));
        dropPath = addChild("drop_path", new DropPath(manager, c.dropPath(stage, index))); // HF's, no weights
    }

    /**
     * x [B, H·W, C] on an H×W grid → [B, H·W, C]. Window and shift are decided from the grid this call gets, as HF's
     * {@code set_shift_and_window_size} does at every forward (keeping nothing): a grid whose shorter side is the window
     * is one unshifted window; a larger one takes the block's shift (padded to whole windows, with the cross-region mask).
     */
    NDArray forward(PassContext step, NDArray x, int height, int width) {
        int shorter = Math.min(height, width);
        if (shorter < window) { // HF shrinks the window, which its w×w position bias then does not fit
            throw new Peft4jException("this Swin block has " + window + "×" + window
                    + " windows, but the image gives a "
                    + height + "×" + width + " grid here, smaller than a window (Hugging Face's Swin cannot run it "
                    + "either: its w×w position bias does not fit); use a larger image");
        }
        int w = window;
        int s = shorter == window ? 0 : shift;
        long b = x.getShape().get(0);
        long c = x.getShape().get(2);
        int padRight = (w - width % w) % w;
        int padBottom = (w - height % w) % w;
        int hp = height + padBottom;
        int wp = width + padRight;
        NDArray grid = before.forward(x).reshape(b, height, width, c); // [B, H, W, C]
        if (padRight > 0 || padBottom > 0) {
            grid = grid.pad(new Shape(0, 0, 0, padRight, 0, padBottom), 0); // [B, Hp, Wp, C], zeros after the norm
        }
        if (s > 0) {
            grid = roll(roll(grid, 1, -s), 2, -s);
        }
        NDArray windows = grid.reshape(b, hp / w, w, wp / w, w, c)
                .transpose(0, 1, 3, 2, 4, 5)
                .reshape(-1, (long) w * w, c); // [B·nW, N, C]
        NDArray mask = attention.self.relativeBias(step); // [1, heads, N, N]
        if (s > 0) {
            NDArray shifted = step.scope()
                    .create(
                            shiftMask(hp, wp, w, s),
                            new Shape((long) (hp / w) * (wp / w), 1, (long) w * w, (long) w * w));
            mask = mask.add(shifted).tile(new long[] {b, 1, 1, 1}); // [B·nW, heads, N, N]
        }
        NDArray context = attention.self.forward(step, windows, mask, null); // [B·nW, N, C]
        grid = context.reshape(b, hp / w, wp / w, w, w, c)
                .transpose(0, 1, 3, 2, 4, 5)
                .reshape(b, hp, wp, c); // [B, Hp, Wp, C]
        if (s > 0) {
            grid = roll(roll(grid, 1, s), 2, s);
        }
        if (padRight > 0 || padBottom > 0) {
            grid = grid.get(new NDIndex(":, :" + height + ", :" + width + ", :"));
        }
        NDArray tokens = grid.reshape(b, (long) height * width, c); // [B, H·W, C]
        TokenGrid layout = new TokenGrid(0, height, width);
        NDArray h = x.add(dropPath.forward(attention.output.forward(step, tokens, x, layout))); // [B, H·W, C]
        return h.add(output.forward(step, intermediate.forward(step, after.forward(h)), h, layout));
    }

    /** torch.roll of x along {@code axis} by {@code by} places (positive: towards higher indices). */
    private static NDArray roll(NDArray x, int axis, int by) {
        long n = x.getShape().get(axis);
        long cut = Math.floorMod(-by, n);
        String head = ":, ".repeat(axis);
        return x.get(new NDIndex(head + cut + ":")).concat(x.get(new NDIndex(head + ":" + cut)), axis);
    }

    /**
     * HF's mask for shifted windows [nW, 1, N, N] as floats: −100 between tokens of a window that come from different
     * regions of the rolled grid (regions per axis: [0, L−w), [L−w, L−s), [L−s, L)), else 0.
     */
    static float[] shiftMask(int hp, int wp, int w, int s) {
        int rows = hp / w;
        int cols = wp / w;
        int n = w * w;
        float[] mask = new float[rows * cols * n * n];
        int[] region = new int[n];
        for (int r = 0; r < rows; r++) {
            for (int q = 0; q < cols; q++) {
                for (int i = 0; i < n; i++) {
                    region[i] = 3 * regionOf(r * w + i / w, hp, w, s) + regionOf(q * w + i % w, wp, w, s);
                }
                int base = (r * cols + q) * n * n;
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < n; j++) {
                        mask[base + i * n + j] = region[i] == region[j] ? 0f : -100f;
                    }
                }
            }
        }
        return mask;
    }

    private static int regionOf(int position, int length, int w, int s) {
        return position < length - w ? 0 : position < length - s ? 1 : 2;
    }
}
