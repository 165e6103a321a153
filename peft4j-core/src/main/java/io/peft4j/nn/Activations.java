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

    public static UnaryOperator<NDArray> byName(String name) {
        return switch (name) {
            case "gelu" -> Activations::gelu;
            case "relu" -> ai.djl.nn.Activation::relu;
            case "silu", "swish" -> x -> x.mul(ai.djl.nn.Activation.sigmoid(x));
            case "tanh" -> NDArray::tanh;
            default -> throw new Peft4jException("unsupported activation '" + name + "': expected gelu, relu, silu or tanh");
        };
    }
}
