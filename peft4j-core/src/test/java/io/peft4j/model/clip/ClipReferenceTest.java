package io.peft4j.model.clip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.NativeTest;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.model.AutoModel;
import io.peft4j.model.Features;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * CLIP against {@code tools/clip_fixtures.py}: a random CLIPModel in HF's layout (with the old position_ids buffers) and
 * the outputs of an independent double-precision PyTorch implementation of HF's CLIP code, for right-padded texts and
 * images: both towers' states and pooled vectors, the projections and the image-text logits, within 1e-4.
 */
class ClipReferenceTest extends NativeTest {

    private static final Path DIR = Path.of("src/test/resources/clip");

    @Test
    void towersProjectionsAndLogitsMatchTheReference() {
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(DIR.resolve("reference.safetensors"))) {
            ClipModel clip = (ClipModel) AutoModel.load(ModelFiles.resolve(DIR.toString()), scope);
            clip.setTraining(false);
            PassContext step = PassContext.training(scope, clip.adapters());
            NDArray ids = reference.load("input_ids", scope, DataType.INT64);
            NDArray mask = reference.load("attention_mask", scope, DataType.INT64);
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);

            Features text = clip.features(step, ModelInputs.tokens(ids, mask, null));
            assertMatchesReference(
                    text.lastHiddenState(), reference.load("text_last_hidden_state", scope, DataType.FLOAT32));
            assertMatchesReference(text.pooled(), reference.load("text_pooler_output", scope, DataType.FLOAT32));
            Features image = clip.features(step, ModelInputs.pixels(pixels));
            assertMatchesReference(
                    image.lastHiddenState(), reference.load("vision_last_hidden_state", scope, DataType.FLOAT32));
            assertMatchesReference(image.pooled(), reference.load("vision_pooler_output", scope, DataType.FLOAT32));

            NDArray textEmbeds = clip.textEmbeddings(step, ids, mask);
            NDArray imageEmbeds = clip.imageEmbeddings(step, pixels);
            assertMatchesReference(textEmbeds, reference.load("text_embeds", scope, DataType.FLOAT32));
            assertMatchesReference(imageEmbeds, reference.load("image_embeds", scope, DataType.FLOAT32));
            assertMatchesReference(
                    clip.logitsPerImage(imageEmbeds, textEmbeds, step),
                    reference.load("logits_per_image", scope, DataType.FLOAT32));
        }
    }

    /**
     * The pooled position: HF's legacy rule when every row holds 49407 (the original vocabulary's end-of-text, its
     * highest id): the first highest id; otherwise the first eos_token_id, position 0 where a row has none.
     */
    @Test
    void poolsTheFirstEndOfTextAsHfDoes() {
        long e = ClipTextTransformer.END_OF_TEXT;
        assertThat(ClipTextTransformer.poolPositions(new long[] {49406, 5, e, e, 49406, 7, 8, e}, 2, 4, 2))
                .containsExactly(2, 3);
        assertThat(ClipTextTransformer.poolPositions(new long[] {98, 5, 99, 99, 98, 7, 8, 99}, 2, 4, 99))
                .containsExactly(2, 3);
        assertThat(ClipTextTransformer.poolPositions(new long[] {98, 5, 6, 7, 98, 7, 8, 99}, 2, 4, 99))
                .containsExactly(0, 3);
        // one row without 49407: the whole batch takes the config's id, as HF's batch-wide check does
        assertThat(ClipTextTransformer.poolPositions(new long[] {49406, 5, e, e, 49406, 2, 8, 9}, 2, 4, 2))
                .containsExactly(0, 1);
    }

    /** LoRA's default targets (q_proj, v_proj) adapt both towers; B = 0 leaves the logits unchanged. */
    @Test
    void loraReachesBothTowersThroughRoles() {
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(DIR.resolve("reference.safetensors"))) {
            ClipModel clip = (ClipModel) AutoModel.load(ModelFiles.resolve(DIR.toString()), scope);
            PeftModel peft = PeftModel.wrap(
                    clip,
                    LoraConfig.builder()
                            .r(2)
                            .loraAlpha(4)
                            .taskType(TaskType.FEATURE_EXTRACTION)
                            .build());
            peft.setTraining(false);
            // 2 towers × 2 blocks × (q_proj, v_proj) × r·(32 + 32)
            assertThat(peft.parameterCount().trainable()).isEqualTo(2L * 2 * 2 * 2 * (32 + 32));
            assertThat(peft.namedParameters())
                    .containsKeys(
                            "base_model.model.text_model.encoder.layers.1.self_attn.v_proj.lora_A.default.weight",
                            "base_model.model.vision_model.encoder.layers.0.self_attn.q_proj.lora_B.default.weight");
            PassContext step = PassContext.training(scope, clip.adapters());
            NDArray ids = reference.load("input_ids", scope, DataType.INT64);
            NDArray mask = reference.load("attention_mask", scope, DataType.INT64);
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            assertMatchesReference(
                    clip.logitsPerImage(clip.imageEmbeddings(step, pixels), clip.textEmbeddings(step, ids, mask), step),
                    reference.load("logits_per_image", scope, DataType.FLOAT32));
        }
    }

    @Test
    void refusesWrongImageSizesLongTextsAndBothTowersAtOnce() {
        try (NDManager scope = manager.newSubManager()) {
            ClipModel clip = (ClipModel) AutoModel.load(ModelFiles.resolve(DIR.toString()), scope);
            PassContext step = PassContext.training(scope, clip.adapters());
            assertThatThrownBy(() -> clip.imageEmbeddings(step, scope.zeros(new Shape(1, 3, 16, 16))))
                    .hasMessage("CLIP's image tower takes pixel_values [batch, 3, 8, 8], got (1, 3, 16, 16)");
            assertThatThrownBy(() -> clip.textEmbeddings(step, scope.zeros(new Shape(1, 17), DataType.INT64), null))
                    .hasMessage("CLIP's text tower takes input_ids [batch, at most 16], got (1, 17)");
            assertThatThrownBy(() -> clip.features(
                            step,
                            new ModelInputs(
                                    scope.zeros(new Shape(1, 4), DataType.INT64),
                                    null,
                                    null,
                                    scope.zeros(new Shape(1, 3, 8, 8)))))
                    .hasMessageContaining("a CLIP pass runs one tower");
        }
    }
}
