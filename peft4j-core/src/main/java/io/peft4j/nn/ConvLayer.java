package io.peft4j.nn;

import ai.djl.ndarray.NDArray;

/**
 * Anything that stands where a {@link Conv2d} stood: the plain convolution, or a PEFT wrapper around it (LoRA, LoHa,
 * LoKr on convolutions). Parents look their convolutions up by name at forward time, as they do linear layers.
 */
public interface ConvLayer {

    /** The convolution's geometry: what a method needs to build a matching delta. */
    Conv2d.Geometry geometry();

    /** [B, in, H, W] → [B, out, H', W'] */
    NDArray forward(PassContext step, NDArray x);
}
