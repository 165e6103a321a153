package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * A 2-D convolution as PyTorch's {@code nn.Conv2d}: {@code weight} [out, in/groups, kh, kw], optional {@code bias}
 * [out], zero padding, stride and groups. libtorch computes it (oneDNN on CPU); its kernels differ between CPUs only
 * in summation order, far below the 1e-4 the reference tests allow.
 */
public class Conv2d extends Module implements ConvLayer {

    /** Channels, square kernel side, stride, zero padding on every side, and groups. */
    public record Geometry(int in, int out, int kernel, int stride, int padding, int groups) {
        public Geometry {
            if (in % groups != 0 || out % groups != 0) {
                throw new IllegalArgumentException("channels " + in + " → " + out + " are not multiples of groups " + groups);
            }
        }

        /** The shape of the weight: [out, in/groups, k, k]. */
        public Shape weightShape() {
            return new Shape(out, in / groups, kernel, kernel);
        }
    }

    private final Geometry geometry;
    private final Parameter weight;
    private final Parameter bias;

    /** Weight and bias drawn as PyTorch's default (Kaiming-uniform with a = √5, bias U(±1/√fan_in)). */
    public Conv2d(NDManager manager, Geometry geometry, boolean bias) {
        super(manager);
        this.geometry = geometry;
        long fanIn = (long) geometry.in() / geometry.groups() * geometry.kernel() * geometry.kernel();
        double bound = 1 / Math.sqrt(fanIn);
        this.weight = addParameter("weight", manager.randomUniform((float) -bound, (float) bound, geometry.weightShape()));
        this.bias = bias ? addParameter("bias", manager.randomUniform((float) -bound, (float) bound, new Shape(geometry.out()))) : null;
    }

    @Override
    public Geometry geometry() {
        return geometry;
    }

    public Parameter weight() {
        return weight;
    }

    /** The bias, or null when the convolution has none. */
    public Parameter bias() {
        return bias;
    }

    @Override
    public NDArray forward(Step step, NDArray x) {
        return apply(x, weight.array(), bias == null ? null : bias.array(), geometry);
    }

    /** x [B, in, H, W] convolved with {@code weight} [out, in/groups, k, k] (and {@code bias} or null) as {@code g} says. */
    public static NDArray apply(NDArray x, NDArray weight, NDArray bias, Geometry g) {
        Shape s = x.getShape();
        if (s.dimension() != 4 || s.get(1) != g.in()) {
            throw new IllegalArgumentException("a convolution of " + g.in() + " input channels takes [batch, " + g.in() + ", H, W], got " + s);
        }
        return ai.djl.nn.convolutional.Conv2d.conv2d(x, weight, bias, new Shape(g.stride(), g.stride()),
                new Shape(g.padding(), g.padding()), new Shape(1, 1), g.groups()).singletonOrThrow();
    }
}
