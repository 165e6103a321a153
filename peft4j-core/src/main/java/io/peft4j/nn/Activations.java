package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import io.peft4j.Peft4jException;
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
        NDArray inner = Scalars.mul(x.add(Scalars.mul(x.pow(Scalars.constant(x, 3)), 0.044715)), Math.sqrt(2 / Math.PI));
        return Scalars.mul(x, 0.5).mul(Scalars.add(inner.tanh(), 1));
    }

    public static UnaryOperator<NDArray> byName(String name) {
        return switch (name) {
            case "gelu" -> Activations::gelu;
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> Activations::geluTanh;
            case "relu" -> ai.djl.nn.Activation::relu;
            case "silu", "swish" -> x -> x.mul(ai.djl.nn.Activation.sigmoid(x));
            case "tanh" -> NDArray::tanh;
            default -> throw new Peft4jException("unsupported activation '" + name + "': expected gelu, gelu_new, relu, silu or tanh");
        };
    }
}
