package io.peft4j.model;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.io.HfConfig;
import io.peft4j.model.bert.BertModel;

/** Loads a pretrained backbone of whichever family its {@code config.json} names. */
public final class AutoModel {

    private AutoModel() {}

    public static PretrainedModel load(ModelFiles files, NDManager manager) {
        return load(files, manager, null);
    }

    /** As above; decoders can be quantised while loading ({@code quantize} null: full precision). */
    public static PretrainedModel load(ModelFiles files, NDManager manager, io.peft4j.quant.ModelQuantizer.Settings quantize) {
        String type = HfConfig.read(files.config()).modelType();
        if (quantize != null && type.equals("bert")) {
            throw new Peft4jException("quantised loading is implemented for decoders (gpt2, llama, qwen2, mistral), not for '" + type + "'");
        }
        return switch (type) {
            case "bert" -> BertModel.load(files, manager);
            case "gpt2" -> io.peft4j.model.gpt2.Gpt2LMHeadModel.load(files, manager, quantize);
            case "llama", "qwen2", "mistral" -> io.peft4j.model.llama.LlamaForCausalLM.load(files, manager, quantize);
            default -> throw new Peft4jException(files.config() + ": model_type '" + type + "' is not supported; supported: bert, gpt2, llama, qwen2, mistral");
        };
    }
}
