package io.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.io.AtomicFiles;
import io.peft4j.io.Json;
import io.peft4j.io.SafeTensorsWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A Llama-architecture model with random weights (N(0, 0.02), unit norms, tied embeddings) written in the HF
 * layout — config.json and safetensors shards with their index — for the benchmarks.
 */
record RandomLlama(int vocab, int hidden, int layers, int heads, int kvHeads, int ffn) {

    /** Writes the model into {@code dir} in {@code shards} files; returns its parameter count. */
    long write(Path dir, int shards) {
        ObjectNode c = Json.MAPPER.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama")
                .put("vocab_size", vocab)
                .put("hidden_size", hidden)
                .put("intermediate_size", ffn)
                .put("num_hidden_layers", layers)
                .put("num_attention_heads", heads)
                .put("num_key_value_heads", kvHeads)
                .put("rms_norm_eps", 1e-5)
                .put("rope_theta", 500000.0)
                .put("tie_word_embeddings", true)
                .put("hidden_act", "silu")
                .put("max_position_embeddings", 4096)
                .put("bos_token_id", 1)
                .put("eos_token_id", 2)
                .put("torch_dtype", "float32");
        AtomicFiles.writeString(dir.resolve("config.json"), c.toPrettyString());
        long total = 0;
        ObjectNode map = Json.MAPPER.createObjectNode();
        int kv = hidden / heads * kvHeads;
        for (int shard = 0; shard < shards; shard++) {
            String file = String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", shard + 1, shards);
            try (NDManager scope = NDManager.newBaseManager()) {
                Map<String, NDArray> w = new LinkedHashMap<>();
                if (shard == 0) {
                    w.put("model.embed_tokens.weight", random(scope, vocab, hidden));
                }
                for (int l = shard * layers / shards; l < (shard + 1) * layers / shards; l++) {
                    String p = "model.layers." + l + ".";
                    w.put(p + "input_layernorm.weight", scope.ones(new Shape(hidden)));
                    w.put(p + "self_attn.q_proj.weight", random(scope, hidden, hidden));
                    w.put(p + "self_attn.k_proj.weight", random(scope, kv, hidden));
                    w.put(p + "self_attn.v_proj.weight", random(scope, kv, hidden));
                    w.put(p + "self_attn.o_proj.weight", random(scope, hidden, hidden));
                    w.put(p + "post_attention_layernorm.weight", scope.ones(new Shape(hidden)));
                    w.put(p + "mlp.gate_proj.weight", random(scope, ffn, hidden));
                    w.put(p + "mlp.up_proj.weight", random(scope, ffn, hidden));
                    w.put(p + "mlp.down_proj.weight", random(scope, hidden, ffn));
                }
                if (shard == shards - 1) {
                    w.put("model.norm.weight", scope.ones(new Shape(hidden)));
                }
                SafeTensorsWriter.write(dir.resolve(file), w, Map.of("format", "pt"));
                for (Map.Entry<String, NDArray> e : w.entrySet()) {
                    map.put(e.getKey(), file);
                    total += e.getValue().size();
                }
            }
        }
        ObjectNode index = Json.MAPPER.createObjectNode();
        index.putObject("metadata").put("total_size", total * 4);
        index.set("weight_map", map);
        AtomicFiles.writeString(dir.resolve("model.safetensors.index.json"), index.toPrettyString());
        return total;
    }

    private static NDArray random(NDManager m, int rows, int cols) {
        return m.randomNormal(0, 0.02f, new Shape(rows, cols), DataType.FLOAT32);
    }
}
