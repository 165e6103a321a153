package io.peft4j.peft.aim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.nn.DropPath;
import io.peft4j.nn.Module;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.Scalars;
import io.peft4j.nn.TransformerBlock;
import io.peft4j.peft.AddedModules;
import java.util.List;

/** One block's AIM adapters, one set per adapter name; the block's forward over clips' frames when one is active. */
final class AimAdapters extends AddedModules<AimAdapters.Aim> implements TransformerBlock.Adapter {

    /** One adapter's three bottlenecks on a block, with the clip length and the joint adapter's scale. */
    static final class Aim extends Module {
        final Bottleneck temporal;
        final Bottleneck spatial;
        final Bottleneck joint;
        final int frames;
        final double scale;
        final DropPath dropPath;

        /** {@code dropPath}: this block's stochastic-depth rate. */
        Aim(NDManager manager, int width, AimConfig config, double dropPath) {
            super(manager);
            int hidden = (int) (width * config.mlpRatio());
            temporal = addChild("T_Adapter", new Bottleneck(manager, width, hidden, false));
            spatial = addChild("S_Adapter", new Bottleneck(manager, width, hidden, true));
            joint = addChild("MLP_Adapter", new Bottleneck(manager, width, hidden, false));
            frames = config.numFrames();
            scale = config.scale();
            // no weights; one draw per token position, shared by the clips, as timm's drop_path does on the reference's
            // sequence-first [N, B·T, D] tensors
            this.dropPath = addChild("drop_path", new DropPath(manager, dropPath, 1));
        }
    }

    AimAdapters(NDManager manager) {
        super(manager);
    }

    @Override
    protected String notMergeable() {
        return "AIM adapters are non-linear modules over a clip's frames and cannot be merged into the base weights";
    }

    /**
     * The reference block over the frames of clips x [B·T, N, D] (frame-major within each clip):
     * x += drop_path(T(attention over the T frames of each token position)); x += S(attention over each frame's tokens), S
     * skipping; x += mlp(LN2(x)) + drop_path(scale · J(LN2(x))), drop path acting in training only.
     */
    @Override
    public NDArray forward(PassContext step, TransformerBlock block, NDArray x) {
        List<Aim> active = activeModules(step);
        if (active.isEmpty()) {
            return null;
        }
        if (active.size() > 1) {
            throw new Peft4jException("AIM runs one adapter at a time; " + active.size() + " are active");
        }
        Aim aim = active.get(0);
        Shape s = x.getShape();
        long t = aim.frames;
        if (s.get(0) % t != 0) {
            throw new IllegalArgumentException("AIM adapts clips of " + t + " frames; got " + s.get(0) + " frames");
        }
        long b = s.get(0) / t;
        long n = s.get(1);
        long d = s.get(2);
        NDArray xt =
                x.reshape(b, t, n, d).transpose(0, 2, 1, 3).reshape(b * n, t, d); // [B·N, T, D]: each token across time
        xt = aim.temporal.forward(step, block.attention(step, xt, null)); // [B·N, T, D]
        x = x.add(aim.dropPath.forward(
                xt.reshape(b, n, t, d).transpose(0, 2, 1, 3).reshape(s))); // [B·T, N, D]
        x = x.add(aim.spatial.forward(step, block.attention(step, x, null))); // [B·T, N, D]
        NDArray xn = block.mlpInput(x);
        return x.add(block.mlp(step, xn, x, null))
                .add(aim.dropPath.forward(Scalars.mul(aim.joint.forward(step, xn), aim.scale)));
    }
}
