package io.peft4j.peft;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.peft4j.NativeTest;
import io.peft4j.PassContexts;
import io.peft4j.generate.GenerationConfig;
import io.peft4j.generate.Generator;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.model.CausalLM;
import io.peft4j.model.decoder.Decoders;
import io.peft4j.nn.Parameter;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.peft.prefix.PrefixTuningConfig;
import io.peft4j.peft.prompt.PromptTuningConfig;
import io.peft4j.train.Evaluation;
import io.peft4j.train.Trainer;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.data.CausalExample;
import io.peft4j.train.task.CausalLmTask;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** LoRA, prefix tuning and prompt tuning on the decoder families: counts, identity, training, save/load, generation. */
class CausalPeftTest extends NativeTest {

    /** A tiny task: after the prompt 7 8 9 the answer is 3 1 4 6 5 (only the answer is trained). */
    static List<CausalExample> examples() {
        List<CausalExample> out = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            long[] ids = {20 + i, 7, 8, 9, 3, 1, 4, 6, 5};
            long[] labels = {-100, -100, -100, -100, 3, 1, 4, 6, 5};
            out.add(new CausalExample(ids, labels));
        }
        return out;
    }

    static Evaluation train(CausalLM model, PeftModel peft, double lr, int epochs) {
        CausalLmTask task = new CausalLmTask(model);
        TrainingArgs args = TrainingArgs.builder()
                .epochs(epochs)
                .batchSize(4)
                .learningRate(lr)
                .bestMetric("loss")
                .build();
        return new Trainer<>(peft, task, args, null)
                .train(examples(), examples())
                .best();
    }

    @Test
    void loraOnAllLinearLayersOfGroupedQueryLlama() {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM model = Decoders.load("llama", scope);
            float[] before = logits(model, scope);
            PeftModel peft = PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(4)
                            .loraAlpha(8)
                            .targetModules(TargetModules.regex(TargetModules.ALL_LINEAR))
                            .taskType(TaskType.CAUSAL_LM)
                            .build());
            // per layer: q (64→64), k and v (64→32), o (64→64), gate and up (64→96), down (96→64); r·(in+out) each
            long perLayer = 4L * ((64 + 64) + 2 * (64 + 32) + (64 + 64) + 2 * (64 + 96) + (96 + 64));
            assertThat(peft.parameterCount().trainable()).isEqualTo(2 * perLayer);
            assertThat(peft.namedParameters().keySet())
                    .noneMatch(k -> k.contains("lm_head") || k.contains("embed_tokens.lora"));
            assertThat(logits(model, scope)).containsExactly(before); // B = 0: the identity

            double initial = new CausalLmTask(model).evaluate(examples(), 4).loss();
            Evaluation trained = train(model, peft, 1e-2, 15);
            assertThat(initial).isGreaterThan(3);
            assertThat(trained.loss()).isLessThan(0.3);
            long[] answer = new Generator(model, null)
                    .generate(
                            List.of(new long[] {25, 7, 8, 9}),
                            GenerationConfig.builder()
                                    .maxNewTokens(5)
                                    .eosTokenIds(List.of())
                                    .build(),
                            null)
                    .get(0)
                    .tokens();
            assertThat(answer).containsExactly(3, 1, 4, 6, 5);

            float[] adapted = logits(model, scope);
            peft.merge();
            float[] merged = logits(model, scope);
            for (int i = 0; i < adapted.length; i++) {
                assertThat(merged[i]).isCloseTo(adapted[i], Assertions.within(1e-4f + 1e-5f * Math.abs(adapted[i])));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "qwen2"})
    void loraAdapterSavesAndLoadsWithHfKeys(String family, @TempDir Path dir) {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM model = Decoders.load(family, scope);
            PeftModel peft = PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(2)
                            .loraAlpha(4)
                            .taskType(TaskType.CAUSAL_LM)
                            .build());
            train(model, peft, 1e-2, 1);
            float[] trained = logits(model, scope);
            peft.save(dir);
            Map<String, long[]> keys =
                    SafeTensorsReader.open(dir.resolve(PeftModel.WEIGHTS_NAME)).tensors().entrySet().stream()
                            .collect(Collectors.toMap(
                                    Map.Entry::getKey, e -> e.getValue().shape()));
            String first = family.equals("gpt2")
                    ? "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"
                    : "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
            assertThat(keys).containsKey(first);
            assertThat(PeftConfig.read(dir.resolve(PeftConfig.FILE_NAME)).toJson())
                    .contains(family.equals("gpt2") ? "\"fan_in_fan_out\": true" : "\"fan_in_fan_out\": false");

            CausalLM fresh = Decoders.load(family, scope);
            PeftModel.load(fresh, dir);
            assertThat(logits(fresh, scope)).containsExactly(trained);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "gpt2"})
    void prefixTuningUsesKeyValueHeadsTrainsAndGeneratesFromTheCache(String family) {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM model = Decoders.load(family, scope);
            PeftModel peft = PeftModel.wrap(model, PrefixTuningConfig.of(5, false, TaskType.CAUSAL_LM));
            // 2·L·n·(Dh·Hkv): prefixes are keys and values of the key/value heads
            assertThat(peft.parameterCount().trainable())
                    .isEqualTo(2L * model.numLayers() * 5 * model.headDim() * model.numKeyValueHeads());
            double initial = new CausalLmTask(model).evaluate(examples(), 4).loss();
            Evaluation trained = train(model, peft, 3e-2, 20);
            assertThat(trained.loss()).as("loss falls by a third").isLessThan(initial * 2 / 3);
            assertCachedEqualsRecomputed(model);
        }
    }

    @Test
    void promptTuningTrainsTheVirtualTokensOnly() {
        try (NDManager scope = manager.newSubManager()) {
            CausalLM model = Decoders.load("mistral", scope);
            Map<String, NDArray> base = new HashMap<>();
            model.namedParameters().forEach((k, p) -> base.put(k, p.array().duplicate()));
            PeftModel peft = PeftModel.wrap(model, PromptTuningConfig.random(4, TaskType.CAUSAL_LM));
            assertThat(peft.parameterCount().trainable()).isEqualTo(4L * 64);
            double initial = new CausalLmTask(model).evaluate(examples(), 4).loss();
            Evaluation trained = train(model, peft, 5e-2, 6);
            assertThat(trained.loss()).isLessThan(initial);
            for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
                if (base.containsKey(e.getKey())) {
                    assertThat(e.getValue().array().toFloatArray())
                            .as(e.getKey())
                            .containsExactly(base.get(e.getKey()).toFloatArray());
                }
            }
            assertCachedEqualsRecomputed(model);
        }
    }

    private static void assertCachedEqualsRecomputed(CausalLM model) {
        List<long[]> prompts = List.of(new long[] {25, 7, 8, 9}, new long[] {8, 9});
        GenerationConfig config = GenerationConfig.builder()
                .maxNewTokens(6)
                .eosTokenIds(List.of())
                .build();
        Generator generator = new Generator(model, null);
        List<Generator.Result> cached = generator.generate(prompts, config, null);
        for (int r = 0; r < prompts.size(); r++) {
            long[] recomputed = recomputeGreedy(model, prompts.get(r), 6);
            assertThat(cached.get(r).tokens()).containsExactly(recomputed);
        }
    }

    /** Greedy decoding by running the full sequence each step, no cache and no batching. */
    private static long[] recomputeGreedy(CausalLM model, long[] prompt, int n) {
        long[] seq = prompt.clone();
        for (int i = 0; i < n; i++) {
            try (NDManager step = model.manager().newSubManager()) {
                NDArray logits = model.forward(PassContexts.in(step, model), step.create(new long[][] {seq}), null);
                long next = logits.get(new NDIndex("0, -1, :")).argMax().getLong();
                seq = Arrays.copyOf(seq, seq.length + 1);
                seq[seq.length - 1] = next;
            }
        }
        return Arrays.copyOfRange(seq, prompt.length, seq.length);
    }

    private static float[] logits(CausalLM model, NDManager scope) {
        try (NDManager step = scope.newSubManager()) {
            model.setTraining(false);
            return model.forward(
                            PassContexts.in(step, model),
                            step.create(new long[][] {{5, 80, 17, 200, 33}, {44, 12, 250, 9, 9}}),
                            null)
                    .toFloatArray();
        }
    }
}
