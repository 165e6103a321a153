package io.peft4j.peft.aim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.model.BlockInput;
import io.peft4j.model.InputStage;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.ParameterDict;
import io.peft4j.nn.PassContext;

/**
 * AIM's {@code temporal_embedding}, one [1, T, D] per adapter (zeros at first), added to the frames' tokens before the
 * blocks: an input stage of the backbone, named {@value #NAME}.
 */
final class TemporalEmbedding extends ParameterDict implements InputStage {

    static final String NAME = "temporal_embedding";

    TemporalEmbedding(NDManager manager) {
        super(manager);
    }

    /**
     * Frames' tokens [B·T, N, D] with the step's active adapter's embedding [1, T, D] added (frame t's row to each of its
     * tokens); text tokens (no grid) and steps without an adapter here are unchanged.
     */
    /** On the frames' embeddings, before CLIP's {@code pre_layrnorm}, where AIM's reference adds it. */
    @Override
    public Point point() {
        return Point.EMBEDDINGS;
    }

    @Override
    public BlockInput apply(PassContext step, BlockInput in) {
        return in.grid() == null ? in : in.withTokens(added(step, in.x()));
    }

    private NDArray added(PassContext step, NDArray tokens) {
        for (String adapter : step.adapters().active()) {
            if (contains(adapter)) {
                Parameter p = get(adapter);
                long t = p.shape().get(1);
                Shape s = tokens.getShape();
                if (s.get(0) % t != 0) {
                    throw new IllegalArgumentException("the adapter's temporal embedding is for clips of " + t
                            + " frames; got " + s.get(0) + " frames");
                }
                NDArray row = p.array().reshape(1, t, 1, s.get(2)); // [1, T, 1, D]
                row.attach(step.scope());
                return tokens.reshape(s.get(0) / t, t, s.get(1), s.get(2))
                        .add(row)
                        .reshape(s); // [B·T, N, D]
            }
        }
        return tokens;
    }
}
