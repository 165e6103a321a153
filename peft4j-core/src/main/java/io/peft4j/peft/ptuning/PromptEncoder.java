package io.peft4j.peft.ptuning;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.nn.BidirectionalLstm;
import io.peft4j.nn.PassContext;
import io.peft4j.nn.PromptSource;
import io.peft4j.nn.Sequential;
import io.peft4j.peft.VirtualTokenEncoder;

/**
 * P-tuning's prompt encoder, as HF PEFT's {@code PromptEncoder}: {@code embedding} (n, D) → either
 * {@code mlp_head} Linear(D, H) → ReLU → Linear(H, H) → ReLU → Linear(H, D), or {@code lstm_head} (a
 * bidirectional LSTM of hidden H) → {@code mlp_head} Linear(2H, 2H) → ReLU → Linear(2H, D). A loaded
 * (inference-mode) encoder is the table alone, holding the saved output.
 */
public final class PromptEncoder extends VirtualTokenEncoder {

    private final BidirectionalLstm lstm;
    private final Sequential mlp;
    private final boolean placed;

    PromptEncoder(NDManager manager, PromptEncoderConfig c) {
        super(manager, c.shape().numVirtualTokens(), c.shape().tokenDim());
        int d = c.shape().tokenDim();
        int h = c.encoderHiddenSize();
        placed = c.template() != null;
        if (c.common().inferenceMode()) {
            lstm = null;
            mlp = null;
        } else if (c.encoderReparameterizationType() == PromptEncoderConfig.Reparameterization.LSTM) {
            lstm = addChild(
                    "lstm_head", new BidirectionalLstm(manager, d, h, c.encoderNumLayers(), c.encoderDropout()));
            mlp = addChild(
                    "mlp_head",
                    new Sequential(
                            manager,
                            Sequential.torchLinear(manager, 2 * h, 2 * h),
                            "relu",
                            Sequential.torchLinear(manager, 2 * h, d)));
        } else {
            lstm = null;
            mlp = addChild(
                    "mlp_head",
                    new Sequential(
                            manager,
                            Sequential.torchLinear(manager, d, h),
                            "relu",
                            Sequential.torchLinear(manager, h, h),
                            "relu",
                            Sequential.torchLinear(manager, h, d)));
        }
    }

    @Override
    public NDArray encode(PassContext step) {
        NDArray table = rows(step); // [n, D]
        if (mlp == null) {
            return table;
        }
        if (lstm == null) {
            return mlp.forward(step, table); // [n, D]
        }
        NDArray states = lstm.forward(table.expandDims(0)); // [1, n, 2H]
        return mlp.forward(step, states).squeeze(0); // [n, D]
    }

    @Override
    public PromptSource.Prompts prompts(PassContext step, long batch) {
        NDArray tokens = encode(step); // [n, D]
        return placed
                ? new PromptSource.Prompts(null, tokens, null)
                : new PromptSource.Prompts(perRow(tokens, batch), null, null);
    }
}
