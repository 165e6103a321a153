package io.peft4j.train.task;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.peft4j.NativeTest;
import io.peft4j.image.ImageProcessor;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.clip.ClipModel;
import io.peft4j.nn.PassContext;
import io.peft4j.tokenizer.BatchEncoding;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.Evaluation;
import io.peft4j.train.data.ImageTextExample;
import io.peft4j.train.data.MixGen;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/**
 * MixGen against its definition, and CLIP's contrastive loss and recall@1 against the formulas written out over the
 * fixture's embeddings.
 */
class ClipContrastiveTaskTest extends NativeTest {

    private static final Path CLIP = Path.of("src/test/resources/clip");

    @Test
    void mixGenMixesTheFirstPairsWithTheNext() {
        try (NDManager scope = manager.newSubManager()) {
            NDArray pixels = scope.arange(0f, 5f * 2).reshape(5, 1, 1, 2); // image i: [2i, 2i+1]
            List<String> texts = List.of("a", "b", "c", "d", "e");
            MixGen.Mixed mixed = new MixGen(2, 0.25).apply(pixels, texts);
            assertThat(mixed.texts()).containsExactly("a c", "b d", "c", "d", "e");
            float[] v = mixed.pixels().toFloatArray();
            assertThat(v)
                    .containsExactly(
                            0.25f * 0 + 0.75f * 4,
                            0.25f * 1 + 0.75f * 5,
                            0.25f * 2 + 0.75f * 6,
                            0.25f * 3 + 0.75f * 7,
                            4,
                            5,
                            6,
                            7,
                            8,
                            9);
            assertThat(new MixGen(9, 0.5).apply(pixels, texts).texts())
                    .containsExactly("a c", "b d", "c", "d", "e"); // capped at B/2
            assertThatThrownBy(() -> new MixGen(1, 1.5)).hasMessage("MixGen's λ must be in [0, 1], got 1.5");
        }
    }

    @Test
    void lossAndRecallAreTheClipPapersFormulas() {
        try (NDManager scope = manager.newSubManager();
                Tokenizer tokenizer = Tokenizer.load(CLIP.resolve("tokenizer.json"), 16)) {
            ClipModel clip = ClipModel.load(ModelFiles.resolve(CLIP.toString()), scope);
            clip.setTraining(false);
            ImageProcessor processor = ImageProcessor.forModel(CLIP);
            Random random = new Random(3);
            List<ImageTextExample> pairs = new ArrayList<>();
            String[] captions = {"a cat", "a dog", "the car", "a small cat"};
            for (String caption : captions) {
                byte[] rgb = new byte[8 * 8 * 3];
                random.nextBytes(rgb);
                pairs.add(new ImageTextExample(null, new ImageProcessor.RgbImage(8, 8, rgb), caption));
            }
            ClipContrastiveTask task = new ClipContrastiveTask(clip, tokenizer, processor, MixGen.NONE);
            PassContext step = PassContext.inference(scope, clip.adapters());
            double loss = task.loss(pairs, step).value().getFloat();
            NDArray pixels = processor.pixelValues(
                    pairs.stream().map(ImageTextExample::pixels).toList(), scope);
            BatchEncoding enc = tokenizer.encode(List.of(captions));
            float[] img =
                    ClipModel.normalised(clip.imageEmbeddings(step, pixels)).toFloatArray();
            float[] txt = ClipModel.normalised(clip.textEmbeddings(step, enc.inputIds(scope), enc.attentionMask(scope)))
                    .toFloatArray();
            int n = 4;
            int p = 16;
            double scale = Math.exp(2.3); // the fixture's logit_scale
            double[][] logits = new double[n][n];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    for (int k = 0; k < p; k++) {
                        logits[i][j] += scale * img[i * p + k] * txt[j * p + k];
                    }
                }
            }
            double imageToText = 0;
            double textToImage = 0;
            int hits = 0;
            for (int i = 0; i < n; i++) {
                double rows = 0;
                double cols = 0;
                int best = 0;
                for (int j = 0; j < n; j++) {
                    rows += Math.exp(logits[i][j]);
                    cols += Math.exp(logits[j][i]);
                    best = logits[i][j] > logits[i][best] ? j : best;
                }
                imageToText += -Math.log(Math.exp(logits[i][i]) / rows) / n;
                textToImage += -Math.log(Math.exp(logits[i][i]) / cols) / n;
                hits += best == i ? 1 : 0;
            }
            assertThat(loss).isCloseTo((imageToText + textToImage) / 2, Offset.offset(1e-4));
            Evaluation eval = task.evaluate(pairs, 3); // batches of 3 and 1: recall over all 4
            assertThat(eval.accuracy()).isEqualTo(hits / 4.0);
            assertThat(eval.loss()).isCloseTo((imageToText + textToImage) / 2, Offset.offset(1e-4));
        }
    }
}
