package io.peft4j.peft.mona;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.nn.Activations;
import io.peft4j.nn.Conv2d;
import io.peft4j.nn.Dropout;
import io.peft4j.nn.LayerNorm;
import io.peft4j.nn.Linear;
import io.peft4j.nn.Module;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.Scalars;
import io.peft4j.nn.TokenGrid;

/**
 * One Mona as the reference code (Leiyi-Hu/mona) builds it, over width m with bottleneck n:
 * <pre>
 * t = norm(x)·gamma + x·gammax                       gamma = 1e-6, gammax = 1 per channel at init
 * p = project1(t)                                    [B, T, n]
 * q = (conv1(p) + conv2(p) + conv3(p)) / 3 + p       depthwise 3×3, 5×5, 7×7 over the patch grid
 * q = q + projector(q)                               1×1 convolution
 * Mona(x) = x + project2(dropout(gelu(q)))
 * </pre>
 * Tokens that are not patches ([CLS], distillation, prompts; the reference has none, it is for Swin) skip the
 * convolutions: their q is p. Trainable weights per Mona: (2n + 5)·m + n² + 88·n.
 */
final class Mona extends Module {

    /** {@code adapter_conv}: the reference's MonaOp. */
    static final class MonaOp extends Module {
        MonaOp(NDManager manager, int n) {
            super(manager);
            addChild("conv1", new Conv2d(manager, new Conv2d.Geometry(n, n, 3, 1, 1, n), true));
            addChild("conv2", new Conv2d(manager, new Conv2d.Geometry(n, n, 5, 1, 2, n), true));
            addChild("conv3", new Conv2d(manager, new Conv2d.Geometry(n, n, 7, 1, 3, n), true));
            addChild("projector", new Conv2d(manager, new Conv2d.Geometry(n, n, 1, 1, 0, 1), true));
        }

        /** p [B, n, H, W] → [B, n, H, W] */
        NDArray forward(PassContext step, NDArray p) {
            NDArray mixed = conv("conv1")
                    .forward(step, p)
                    .add(conv("conv2").forward(step, p))
                    .add(conv("conv3").forward(step, p));
            NDArray q = Scalars.div(mixed, 3).add(p); // the mean of the three, plus p
            return q.add(conv("projector").forward(step, q));
        }
    }

    private final LayerNorm norm;
    private final Parameter gamma;
    private final Parameter gammax;
    private final Linear project1;
    private final Linear project2;
    private final MonaOp op;
    private final Dropout dropout;
    private final int bottleneck;

    Mona(NDManager manager, int width, int bottleneck, double dropout) {
        super(manager);
        this.bottleneck = bottleneck;
        project1 = addChild("project1", truncatedNormal(manager, width, bottleneck));
        project2 = addChild("project2", truncatedNormal(manager, bottleneck, width));
        op = addChild("adapter_conv", new MonaOp(manager, bottleneck));
        norm = addChild("norm", new LayerNorm(manager, width, 1e-5f));
        gamma = addParameter("gamma", manager.ones(new Shape(width)).mul(1e-6f));
        gammax = addParameter("gammax", manager.ones(new Shape(width)));
        this.dropout = addChild("dropout", new Dropout(manager, (float) dropout));
    }

    /** timm's trunc_normal_(std=0.02) and a zero bias, as the reference backbone initialises every Linear. */
    private static Linear truncatedNormal(NDManager manager, int in, int out) {
        Linear l = new Linear(manager, in, out, true, 0f);
        l.weight().set(manager.truncatedNormal(0, 0.02f, l.weight().shape(), DataType.FLOAT32));
        return l;
    }

    /** x [B, T, m] laid out as {@code grid} → Mona(x) − x, [B, T, m]. */
    NDArray delta(PassContext step, NDArray x, TokenGrid grid) {
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        if (t != grid.tokens()) {
            throw new IllegalStateException("Mona got " + t + " tokens for a grid of " + grid.tokens());
        }
        NDManager scope = step.scope();
        NDArray g = gamma.array().reshape(1, 1, -1);
        g.attach(scope);
        NDArray gx = gammax.array().reshape(1, 1, -1);
        gx.attach(scope);
        NDArray scaled = norm.forward(x).mul(g).add(x.mul(gx)); // [B, T, m]
        NDArray p = project1.forward(step, scaled); // [B, T, n]
        int lead = grid.leading();
        NDArray patches = lead == 0 ? p : p.get(new NDIndex(":, " + lead + ":, :")); // [B, H·W, n]
        NDArray map = patches.transpose(0, 2, 1).reshape(b, bottleneck, grid.height(), grid.width()); // [B, n, H, W]
        NDArray q = op.forward(step, map)
                .reshape(b, bottleneck, (long) grid.height() * grid.width())
                .transpose(0, 2, 1); // [B, H·W, n]
        if (lead > 0) {
            q = p.get(new NDIndex(":, :" + lead + ", :")).concat(q, 1); // [B, T, n]
        }
        return project2.forward(step, dropout.forward(Activations.gelu(q))); // [B, T, m]
    }

    static void requireGrid(TokenGrid grid) {
        if (grid == null) {
            throw new Peft4jException(
                    "Mona needs an image backbone (ViT, DeiT, Swin): its convolutions run over the patch grid");
        }
    }
}
