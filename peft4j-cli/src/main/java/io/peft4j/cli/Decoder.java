package io.peft4j.cli;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.generate.GenerationConfig;
import io.peft4j.generate.Generator;
import io.peft4j.model.AutoModel;
import io.peft4j.model.CausalLM;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.PretrainedModel;
import io.peft4j.peft.PeftModel;
import io.peft4j.quant.ModelQuantizer;
import io.peft4j.quant.QuantType;
import io.peft4j.tokenizer.ChatTemplate;
import io.peft4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** A decoder model directory loaded for generation: model (with an optional adapter), tokenizer and chat template. */
record Decoder(ModelFiles files, CausalLM model, PeftModel peft, Tokenizer tokenizer, ChatTemplate template)
        implements AutoCloseable {

    /** Prompts longer than this many tokens are cut by the tokenizer. */
    static final int MAX_PROMPT_TOKENS = 32768;

    static CausalLM loadModel(ModelFiles files, NDManager manager, ModelQuantizer.Settings quantize) {
        PretrainedModel model = AutoModel.load(files, manager, quantize);
        if (!(model instanceof CausalLM lm)) {
            throw new Peft4jException(files.dir() + " holds a '" + model.family()
                    + "' model; this command needs a decoder (gpt2, llama, qwen2, mistral)");
        }
        return lm;
    }

    static Decoder load(String model, Path adapter, QuantizeOptions quantize, NDManager manager) {
        ModelFiles files = ModelFiles.resolve(model);
        CausalLM lm = loadModel(files, manager, quantize.settings());
        PeftModel peft = adapter == null ? null : PeftModel.load(lm, adapter);
        return new Decoder(
                files,
                lm,
                peft,
                Tokenizer.load(files.requireTokenizer(), MAX_PROMPT_TOKENS),
                ChatTemplate.forModel(files.dir()));
    }

    Generator generator() {
        return new Generator(model, tokenizer);
    }

    /** The prompt ids of a conversation rendered with the model's chat template, ready for the assistant's turn. */
    long[] chatPrompt(List<ChatTemplate.Message> messages) {
        return template.promptIds(tokenizer, messages);
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    /** {@code --model}, {@code --adapter} and the quantisation options of the commands that generate. */
    static final class ModelOptions {
        @Option(names = "--model", required = true, description = "HF model directory (gpt2, llama, qwen2, mistral).")
        String model;

        @Option(names = "--adapter", description = "Adapter directory (HF PEFT or peft4j) to apply.")
        Path adapter;

        @CommandLine.Mixin
        QuantizeOptions quantize = new QuantizeOptions();

        Decoder load(NDManager manager) {
            return Decoder.load(model, adapter, quantize, manager);
        }
    }

    /** {@code --quantize} and {@code --double-quant}: load the model's linear layers block-wise quantised (QLoRA's base). */
    static final class QuantizeOptions {
        @Option(
                names = "--quantize",
                description = "Quantise the linear layers while loading: nf4, fp4 or int8 (default: none, fp32).")
        String type;

        @Option(
                names = "--double-quant",
                description =
                        "With --quantize: also quantise the block constants to 8 bits (about 0.37 bits per weight saved).")
        boolean doubleQuant;

        @Option(
                names = "--quant-block-size",
                defaultValue = "64",
                description =
                        "With --quantize: weights per absmax block, a power of two from 32 to 4096 (default: ${DEFAULT-VALUE}).")
        int blockSize;

        @Option(
                names = "--keep-unquantized",
                split = ",",
                defaultValue = "lm_head,classifier,score",
                description =
                        "With --quantize: linear layers (last path component) left in fp32; 'none' quantises every linear layer (default: ${DEFAULT-VALUE}).")
        List<String> keep;

        @Option(
                names = "--unquantized-dtype",
                defaultValue = "fp16",
                description =
                        "With --quantize: the type the embedding tables and an unquantised LM head are held in, fp16 or fp32; they are computed with in fp32 either way (default: ${DEFAULT-VALUE}).")
        String unquantizedDtype;

        /** The settings, or null for full precision. */
        ModelQuantizer.Settings settings() {
            if (type == null) {
                if (doubleQuant) {
                    throw new IllegalArgumentException("--double-quant needs --quantize");
                }
                return null;
            }
            QuantType t = QuantType.parse(type);
            if (t == QuantType.INT4) {
                throw new IllegalArgumentException("--quantize takes nf4, fp4 or int8");
            }
            if (blockSize < 32 || blockSize > 4096 || Integer.bitCount(blockSize) != 1) {
                throw new IllegalArgumentException(
                        "--quant-block-size must be a power of two from 32 to 4096, got " + blockSize);
            }
            if (!unquantizedDtype.equals("fp16") && !unquantizedDtype.equals("fp32")) {
                throw new IllegalArgumentException(
                        "--unquantized-dtype takes fp16 or fp32, got '" + unquantizedDtype + "'");
            }
            Set<String> skip = keep.equals(List.of("none")) ? Set.of() : Set.copyOf(keep);
            return new ModelQuantizer.Settings(t, blockSize, doubleQuant, skip, unquantizedDtype.equals("fp16"));
        }
    }

    /** The sampling options shared by {@code generate} and {@code chat}. */
    static final class SamplingOptions {
        @Option(
                names = "--max-new-tokens",
                defaultValue = "256",
                description = "Tokens to generate at most (default: ${DEFAULT-VALUE}).")
        int maxNewTokens;

        @Option(
                names = "--temperature",
                defaultValue = "0",
                description = "Sampling temperature; 0 is greedy decoding (default: ${DEFAULT-VALUE}).")
        double temperature;

        @Option(
                names = "--top-k",
                defaultValue = "0",
                description = "Sample from the k most likely tokens (0: all; default: ${DEFAULT-VALUE}).")
        int topK;

        @Option(
                names = "--top-p",
                defaultValue = "1",
                description = "Nucleus sampling threshold (default: ${DEFAULT-VALUE}).")
        double topP;

        @Option(
                names = "--repetition-penalty",
                defaultValue = "1",
                description = "Penalty on repeated tokens (default: ${DEFAULT-VALUE}).")
        double repetitionPenalty;

        @Option(names = "--stop", description = "Stop when this text is generated (repeatable).")
        List<String> stop;

        @Option(names = "--seed", defaultValue = "42", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
        long seed;

        @Option(
                names = "--max-input-tokens",
                defaultValue = "0",
                description =
                        "Refuse a prompt of more tokens than this (0: as many as the model's context leaves room for).")
        int maxInputTokens;

        /** Why a prompt of {@code tokens} tokens is refused, or null. */
        String inputRefusal(int tokens, CausalLM model) {
            int limit =
                    maxInputTokens > 0 ? Math.min(maxInputTokens, model.maxPositions() - 1) : model.maxPositions() - 1;
            return tokens <= limit
                    ? null
                    : String.format(
                            Locale.ROOT,
                            "the prompt is %,d tokens, over the limit of %,d (--max-input-tokens, and the model's context of %,d)",
                            tokens,
                            limit,
                            model.maxPositions());
        }

        GenerationConfig config() {
            if (!(temperature >= 0) || Double.isInfinite(temperature)) {
                throw new IllegalArgumentException("--temperature must be 0 (greedy) or positive, got " + temperature);
            }
            return GenerationConfig.builder()
                    .maxNewTokens(maxNewTokens)
                    .doSample(temperature > 0)
                    .temperature(temperature > 0 ? temperature : 1)
                    .topK(topK)
                    .topP(topP)
                    .repetitionPenalty(repetitionPenalty)
                    .stopStrings(stop)
                    .seed(seed)
                    .build();
        }
    }
}
