package io.peft4j.model.clip;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.peft4j.NativeTest;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.adapter.BottleneckConfig;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.peft.vpt.VptConfig;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LoRA, AdaptFormer and VPT on CLIP's towers (fixture: two blocks of width 32 per tower, 4×4 patches of 8×8 images):
 * an image classifier keeps the image tower alone, counts are the closed forms, AdaptFormer starts as the identity and
 * adapts whichever tower its sites are in, VPT's prompts sit after the class token of the normalised input.
 */
class ClipAdaptersTest extends NativeTest {

    private static final ModelFiles FILES = ModelFiles.resolve("src/test/resources/clip");

    @Test
    void anImageClassifierHoldsTheImageTowerAloneWithLoraOnItsAttention() {
        try (NDManager scope = manager.newSubManager()) {
            BackboneClassifier classifier = BackboneClassifier.load(FILES, scope, BackboneClassifier.Head.SEQUENCE, 3);
            assertThat(classifier.namedParameters().keySet())
                    .noneMatch(k -> k.contains("text_model") || k.contains("text_projection"));
            ClipModel full = ClipModel.load(FILES, scope);
            NDArray pixels = scope.randomNormal(new Shape(2, 3, 8, 8));
            PassContext step = PassContext.inference(scope, PassContext.Adapters.NONE);
            NDArray expected = full.features(step, ModelInputs.pixels(pixels)).pooled();
            NDArray tower = ClipModel.loadImageTower(FILES, scope)
                    .features(step, ModelInputs.pixels(pixels))
                    .pooled();
            assertMatchesReference(tower, expected);
            PeftModel peft = PeftModel.wrap(
                    classifier,
                    LoraConfig.builder()
                            .r(4)
                            .loraAlpha(8)
                            .taskType(TaskType.SEQ_CLS)
                            .build());
            long head = 32 * 3 + 3;
            assertThat(peft.parameterCount().trainable())
                    .isEqualTo(2 * 2 * 4 * (32 + 32) + head); // q_proj, v_proj of 2 blocks
        }
    }

    @Test
    void adaptFormerStartsAsTheIdentityAndCountsAsByHand() {
        try (NDManager scope = manager.newSubManager()) {
            BackboneClassifier classifier = BackboneClassifier.load(FILES, scope, BackboneClassifier.Head.SEQUENCE, 3);
            NDArray pixels = scope.randomNormal(new Shape(2, 3, 8, 8));
            float[] before = classifier
                    .logits(PassContext.inference(scope, classifier.adapters()), ModelInputs.pixels(pixels))
                    .toFloatArray();
            PeftModel peft = PeftModel.wrap(classifier, BottleneckConfig.parallel(TaskType.SEQ_CLS));
            assertThat(peft.parameterCount().trainable())
                    .isEqualTo(2 * (32 * 64 + 64 + 64 * 32 + 32) + 32 * 3 + 3); // m = 64 beside each MLP
            float[] after = classifier
                    .logits(PassContext.inference(scope, classifier.adapters()), ModelInputs.pixels(pixels))
                    .toFloatArray();
            assertThat(after).containsExactly(before, Offset.offset(1e-6f));
        }
    }

    /** On the whole CLIP model the adapters go into both towers; each tower's adapters change that tower's embeddings only. */
    @Test
    void adaptFormerAdaptsEachTowerThroughItsOwnSites() {
        try (NDManager scope = manager.newSubManager()) {
            ClipModel clip = ClipModel.load(FILES, scope);
            NDArray pixels = scope.randomNormal(new Shape(2, 3, 8, 8));
            NDArray ids = scope.create(new long[] {98, 40, 41, 99}).reshape(1, 4);
            PassContext base = PassContext.inference(scope, PassContext.Adapters.NONE);
            float[] image = clip.imageEmbeddings(base, pixels).toFloatArray();
            float[] text = clip.textEmbeddings(base, ids, null).toFloatArray();
            PeftModel.wrap(clip, BottleneckConfig.parallel(null));
            for (Map.Entry<String, Parameter> e : clip.namedParameters().entrySet()) {
                if (e.getKey().startsWith("text_model.") && e.getKey().endsWith("adapter_up.weight")) {
                    e.getValue().set(scope.randomNormal(e.getValue().shape()));
                }
            }
            PassContext adapted = PassContext.inference(scope, clip.adapters());
            assertThat(clip.imageEmbeddings(adapted, pixels).toFloatArray())
                    .containsExactly(image, Offset.offset(1e-6f));
            float[] changed = clip.textEmbeddings(adapted, ids, null).toFloatArray();
            double distance = 0;
            for (int i = 0; i < text.length; i++) {
                distance += Math.abs(changed[i] - text[i]);
            }
            assertThat(distance).isGreaterThan(1e-2);
        }
    }

    /** VPT on the image tower: the pooled state is the blocks run by hand over [CLS, prompts, patches] (deep: prompts replaced per block). */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void vptPromptsFollowTheClassTokenOfTheNormalisedInput(boolean deep) {
        try (NDManager scope = manager.newSubManager()) {
            ClipModel clip = ClipModel.loadImageTower(FILES, scope);
            PeftModel.wrap(clip, VptConfig.of(3, deep, null));
            NDArray pixels = scope.randomNormal(new Shape(2, 3, 8, 8));
            PassContext step = PassContext.inference(scope, clip.adapters());
            NDArray pooled = clip.features(step, ModelInputs.pixels(pixels)).pooled();
            NDArray table = clip.namedParameters()
                    .get("prompt_encoder.default.embedding.weight")
                    .array(); // [L·3, 32] or [3, 32]
            PassContext plain = PassContext.inference(scope, PassContext.Adapters.NONE);
            NDArray x = clip.vision().embed(plain, pixels); // [2, 5, 32]
            for (int i = 0; i < 2; i++) {
                if (i == 0 || deep) {
                    NDArray prompts = table.get(new NDIndex("{}:{}", 3 * i, 3 * i + 3))
                            .expandDims(0)
                            .broadcast(new Shape(2, 3, 32));
                    NDArray rest = x.get(new NDIndex(":, {}:, :", i == 0 ? 1 : 4));
                    x = x.get(":, :1, :").concat(prompts, 1).concat(rest, 1); // [2, 8, 32]
                }
                x = clip.vision().encoder.layers.get(i).forward(plain, x, null, null);
            }
            assertMatchesReference(pooled, clip.vision().pool(x));
        }
    }
}
