package io.peft4j.nn;

import ai.djl.ndarray.NDArray;

/**
 * Anything that stands where a {@link Linear} stood: the plain layer, or a PEFT wrapper around it
 * (LoRA, a quantised layer). Parents look their linear children up by name at forward time, so a tuner
 * can replace one without the parent knowing.
 */
public interface LinearLayer {

    int inFeatures();

    int outFeatures();

    /** [..., in] → [..., out] */
    NDArray forward(PassContext step, NDArray x);
}
