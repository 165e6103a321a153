package io.peft4j.model;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.io.HfConfig;
import io.peft4j.model.bert.BertModel;
import io.peft4j.quant.ModelQuantizer;

/** Loads a pretrained backbone of whichever family its {@code config.json} names. */
public final class AutoModel {

    private AutoModel() {}

    public static PretrainedModel load(ModelFiles files, NDManager manager) {
        return load(files, manager, null);
    }

    /**
     * As above, with the linear layers quantised ({@code quantize} null: full precision): a decoder's layer by layer
     * from the checkpoint (its full-precision weights never resident), an encoder's after loading (encoders are small).
     */
    public static PretrainedModel load(ModelFiles files, NDManager manager, ModelQuantizer.Settings quantize) {
        String type = HfConfig.read(files.config()).modelType();
        return switch (type) {
            case "bert" -> {
                BertModel bert = BertModel.load(files, manager);
                if (quantize != null) {
                    ModelQuantizer.quantize(bert, quantize);
                }
                yield bert;
            }
            case "gpt2" -> io.peft4j.model.gpt2.Gpt2LMHeadModel.load(files, manager, quantize);
            case "llama", "qwen2", "mistral" -> io.peft4j.model.llama.LlamaForCausalLM.load(files, manager, quantize);
            default -> throw new Peft4jException(files.config() + ": model_type '" + type + "' is not supported; supported: bert, gpt2, llama, qwen2, mistral");
        };
    }
}
