package io.peft4j.nn;

import ai.djl.ndarray.NDArray;

/**
 * Adapters that sit on a residual sub-layer (attention or feed-forward) of a transformer block, between the
 * sub-layer's output and the residual addition: bottleneck adapters after the sub-layer (Houlsby, Pfeiffer)
 * or beside it (parallel adapters, AdaptFormer). A block exposes its sub-layers as {@link Site}s.
 */
public interface ResidualAdapter {

    /**
     * @param sublayerOut the sub-layer's output before the residual addition [B, T, D]
     * @param sublayerIn  the sub-layer's input, which is also the residual [B, T, D]
     * @param grid        where the tokens lie on the image for a vision backbone, null for text
     * @return what is added to the residual instead of {@code sublayerOut} [B, T, D]
     */
    NDArray forward(PassContext step, NDArray sublayerOut, NDArray sublayerIn, TokenGrid grid);

    /** Which sub-layer of a block a site belongs to. */
    enum Kind {
        ATTENTION,
        FEED_FORWARD
    }

    /** A place in a block where residual adapters can be installed, under the child name {@code adapters}. */
    interface Site {
        String CHILD_NAME = "adapters";

        Kind kind();

        /** The width D of the residual stream here. */
        int width();

        /** The installed adapters, or null. */
        ResidualAdapter adapters();

        /** Installs {@code adapters} as this site's {@code adapters} child; returns the one installed before, if any. */
        <M extends Module & ResidualAdapter> M install(M adapters);
    }
}
