package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * A 2-D convolution as PyTorch's {@code nn.Conv2d}: {@code weight} [out, in/groups, kh, kw], optional {@code bias}
 * [out], zero padding, stride and groups. It is computed as im2col and a matrix product (strided slices, a stack and
 * libtorch's GEMM, whose results differ between CPUs only in summation order), not by libtorch's convolution op: that
 * op runs oneDNN's kernels, and in libtorch 2.7.1 (oneDNN 3.7.1) on an AMD Zen 5 they give wrong input gradients for
 * k×k convolutions whose output channels are not a multiple of the vector width (a rank-8 LoRA {@code lora_A}, a
 * small head) and wrong outputs for some input-channel counts (17), errors of order 1, with AVX-512 and with oneDNN
 * held to AVX2 alike ({@code CpuKernelsTest} checks this class against double precision).
 */
public class Conv2d extends Module implements ConvLayer {

    /** Channels, square kernel side, stride, zero padding on every side, and groups. */
    public record Geometry(int in, int out, int kernel, int stride, int padding, int groups) {
        public Geometry {
            if (in % groups != 0 || out % groups != 0) {
                throw new IllegalArgumentException(
                        "channels " + in + " → " + out + " are not multiples of groups " + groups);
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
        this.weight =
                addParameter("weight", manager.randomUniform((float) -bound, (float) bound, geometry.weightShape()));
        this.bias = bias
                ? addParameter("bias", manager.randomUniform((float) -bound, (float) bound, new Shape(geometry.out())))
                : null;
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
    public NDArray forward(PassContext step, NDArray x) {
        return apply(x, weight.array(), bias == null ? null : bias.array(), geometry);
    }

    /** x [B, in, H, W] convolved with {@code weight} [out, in/groups, k, k] (and {@code bias} or null) as {@code g} says. */
    public static NDArray apply(NDArray x, NDArray weight, NDArray bias, Geometry g) {
        Shape s = x.getShape();
        if (s.dimension() != 4 || s.get(1) != g.in()) {
            throw new IllegalArgumentException(
                    "a convolution of " + g.in() + " input channels takes [batch, " + g.in() + ", H, W], got " + s);
        }
        int k = g.kernel(), stride = g.stride(), pad = g.padding(), groups = g.groups();
        long batch = s.get(0), oh = (s.get(2) + 2L * pad - k) / stride + 1, ow = (s.get(3) + 2L * pad - k) / stride + 1;
        if (oh < 1 || ow < 1) {
            throw new IllegalArgumentException("a " + k + "×" + k + " convolution with padding " + pad
                    + " needs an image of at least that size, got " + s);
        }
        NDArray padded = pad == 0 ? x : x.pad(new Shape(pad, pad, pad, pad), 0); // [B, in, H+2p, W+2p]
        NDList taps = new NDList(k * k);
        for (int dy = 0; dy < k; dy++) {
            for (int dx = 0; dx < k; dx++) { // the input under tap (dy, dx)
                taps.add(padded.get(new NDIndex(
                        ":, :, {}:{}:{}, {}:{}:{}",
                        dy,
                        dy + (oh - 1) * stride + 1,
                        stride,
                        dx,
                        dx + (ow - 1) * stride + 1,
                        stride))); // [B, in, OH, OW]
            }
        }
        long perGroup = (long) g.in() / groups * k * k;
        NDArray columns = NDArrays.stack(taps, 2).reshape(batch, groups, perGroup, oh * ow); // [B, G, in/G·k·k, OH·OW]
        NDArray kernels = weight.reshape(groups, g.out() / groups, perGroup); // [G, out/G, in/G·k·k]
        kernels.attach(x.getManager()); // a view made in the weight's manager
        NDArray y = kernels.matMul(columns).reshape(batch, g.out(), oh, ow); // [B, out, OH, OW]
        if (bias == null) {
            return y;
        }
        NDArray shift = bias.reshape(1, g.out(), 1, 1);
        shift.attach(x.getManager());
        return y.add(shift);
    }
}
