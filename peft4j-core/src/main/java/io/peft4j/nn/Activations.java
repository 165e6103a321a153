package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import ai.djl.pytorch.jni.JniUtils;
import io.peft4j.Peft4jException;
import java.util.function.BinaryOperator;
import java.util.function.UnaryOperator;

/** Element-wise activations by their Hugging Face {@code hidden_act} names. */
public final class Activations {

    private Activations() {}

    /** GELU in its exact erf form: x · ½ · (1 + erf(x / √2)) (libtorch's default). */
    public static NDArray gelu(NDArray x) {
        return x.getNDArrayInternal().gelu();
    }

    /** GELU's tanh approximation (GPT-2's {@code gelu_new}): ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
    public static NDArray geluTanh(NDArray x) {
        NDArray inner =
                Scalars.mul(x.add(Scalars.mul(x.pow(Scalars.constant(x, 3)), 0.044715)), Math.sqrt(2 / Math.PI));
        return Scalars.mul(x, 0.5).mul(Scalars.add(inner.tanh(), 1));
    }

    /**
     * The gated product {@code act(gate) · up} of SwiGLU-style MLPs, by the activation's name; with silu it is
     * {@link #swiGlu}, which trains in half the memory.
     */
    public static BinaryOperator<NDArray> gatedByName(String name) {
        if (name.equals("silu") || name.equals("swish")) {
            return Activations::swiGlu;
        }
        UnaryOperator<NDArray> activation = byName(name);
        return (gate, up) -> activation.apply(gate).mul(up);
    }

    /**
     * silu(gate) · up = gate · σ(gate) · up, gate and up [..., F]. Built from these ops, autograd would keep four
     * [..., F] arrays for the backward pass (gate, σ, silu, up). Under autograd this forms the product from its
     * value v and its two partial derivatives, all three computed outside the graph:
     * <pre>  out = v + (gate − gate₀) · ∂v/∂gate + (up − up₀) · ∂v/∂up</pre>
     * where gate₀ and up₀ are the same arrays cut from the graph. The differences are exactly zero, so out equals
     * v bit for bit, and their gradients are the product's own; autograd keeps just the two derivatives. The
     * temporaries are freed as they are used up, so the pass itself needs few [..., F] arrays at once.
     */
    static NDArray swiGlu(NDArray gate, NDArray up) {
        if (!JniUtils.isGradMode()) {
            return gate.mul(Activation.sigmoid(gate)).mul(up);
        }
        return LocalScope.run(
                gate.getManager(),
                scope -> {
                    NDArray dGate;
                    NDArray dUp;
                    JniUtils.setGradMode(false);
                    try {
                        NDArray sigmoid = Activation.sigmoid(gate);
                        dUp = gate.mul(sigmoid); // silu(gate)
                        dGate = sigmoid.neg()
                                .addi(1)
                                .muli(gate)
                                .addi(1)
                                .muli(sigmoid)
                                .muli(up); // (1 + gate · (1 − σ)) · σ · up
                        sigmoid.close();
                    } finally {
                        JniUtils.setGradMode(true);
                    }
                    // in place where autograd allows it (a product by a constant keeps only the constant), to hold few
                    // arrays
                    // at once
                    NDArray sum = gate.sub(gate.stopGradient()).muli(dGate); // 0, with the gate's gradient
                    NDArray upTerm = up.sub(up.stopGradient()).muli(dUp); // 0, with up's gradient
                    sum.addi(upTerm);
                    upTerm.close();
                    JniUtils.setGradMode(false);
                    NDArray value;
                    try {
                        value = dUp.mul(up); // silu(gate) · up
                    } finally {
                        JniUtils.setGradMode(true);
                    }
                    sum.addi(value);
                    value.close();
                    return sum;
                },
                gate,
                up);
    }

    public static UnaryOperator<NDArray> byName(String name) {
        return switch (name) {
            case "gelu" -> Activations::gelu;
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> Activations::geluTanh;
            case "relu" -> Activation::relu;
            case "quick_gelu" -> x -> x.mul(Activation.sigmoid(Scalars.mul(x, 1.702))); // CLIP's x·σ(1.702x)
            case "silu", "swish" -> x -> x.mul(Activation.sigmoid(x));
            case "tanh" -> NDArray::tanh;
            default ->
                throw new Peft4jException("unsupported activation '" + name
                        + "': expected gelu, gelu_new, quick_gelu, relu, silu or tanh");
        };
    }
}
