package io.peft4j.model.decoder;

import ai.djl.ndarray.NDManager;
import io.peft4j.model.AutoModel;
import io.peft4j.model.CausalLM;
import io.peft4j.model.ModelFiles;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;

/** The small HF-layout decoder checkpoints written by tools/decoder_fixtures.py. */
public final class Decoders {

    public static final List<String> FAMILIES = List.of("gpt2", "llama", "qwen2", "mistral");

    private Decoders() {}

    public static Path dir(String family) {
        try {
            return Path.of(Decoders.class.getResource("/decoders/" + family).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static CausalLM load(String family, NDManager manager) {
        return (CausalLM) AutoModel.load(ModelFiles.resolve(dir(family).toString()), manager);
    }
}
