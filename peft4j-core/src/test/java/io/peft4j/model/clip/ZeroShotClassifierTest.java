package io.peft4j.model.clip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.NativeTest;
import io.peft4j.io.Json;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.model.AutoModel;
import io.peft4j.model.ModelFiles;
import io.peft4j.nn.PassContext;
import io.peft4j.tokenizer.BatchEncoding;
import io.peft4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Zero-shot classification on the CLIP fixture: its CLIP-style tokenizer.json (lowercased, "</w>" word ends, start and
 * end of text), and prompt ensembling written out: a class's weight is the normalised mean of its prompts' normalised
 * text embeddings, probabilities the softmax of exp(logit_scale)·cos.
 */
class ZeroShotClassifierTest extends NativeTest {

    private static final Path DIR = Path.of("src/test/resources/clip");

    @Test
    void tokenizesAsClipsTokenizerDoes() {
        JsonNode vocab =
                Json.readObject(DIR.resolve("tokenizer.json")).path("model").path("vocab");
        try (Tokenizer tokenizer = Tokenizer.load(DIR.resolve("tokenizer.json"), 16)) {
            BatchEncoding enc = tokenizer.encode(List.of("A  Photo of the CAT.", "a dog"));
            long[] expected = {
                98,
                vocab.get("a</w>").asLong(),
                vocab.get("photo</w>").asLong(),
                vocab.get("of</w>").asLong(),
                vocab.get("the</w>").asLong(),
                vocab.get("cat</w>").asLong(),
                vocab.get(".</w>").asLong(),
                99
            };
            assertThat(enc.inputIds()[0]).containsExactly(expected);
            assertThat(enc.inputIds()[1][0]).isEqualTo(98);
            assertThat(enc.inputIds()[1][3]).isEqualTo(99);
            assertThat(enc.attentionMask()[1]).containsExactly(1, 1, 1, 1, 0, 0, 0, 0);
        }
    }

    @Test
    void ensemblesPromptsAndScoresImagesAsThePaperDoes() {
        List<String> labels = List.of("cat", "dog", "car");
        List<String> templates = List.of("a photo of a {}.", "a bad photo of the {}.", "a small {}.");
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(DIR.resolve("reference.safetensors"));
                Tokenizer tokenizer = Tokenizer.load(DIR.resolve("tokenizer.json"), 16)) {
            ClipModel clip = (ClipModel) AutoModel.load(ModelFiles.resolve(DIR.toString()), scope);
            clip.setTraining(false);
            ZeroShotClassifier classifier = ZeroShotClassifier.build(clip, tokenizer, labels, templates, scope);
            PassContext step = PassContext.training(scope, clip.adapters());
            int p = 16;
            double[][] weights = new double[3][p];
            for (int c = 0; c < 3; c++) {
                for (String t : templates) { // one prompt at a time: no padding involved
                    BatchEncoding enc = tokenizer.encode(List.of(t.replace("{}", labels.get(c))));
                    NDArray ids = scope.create(enc.inputIds()[0], new Shape(1, enc.inputIds()[0].length));
                    float[] e = clip.textEmbeddings(step, ids, null).toFloatArray();
                    double norm = Math.sqrt(dot(e, e));
                    for (int k = 0; k < p; k++) {
                        weights[c][k] += e[k] / norm / templates.size();
                    }
                }
                double norm = Math.sqrt(dot(weights[c], weights[c]));
                for (int k = 0; k < p; k++) {
                    weights[c][k] /= norm;
                }
            }
            float[] actual = classifier.weights().toFloatArray();
            for (int c = 0; c < 3; c++) {
                for (int k = 0; k < p; k++) {
                    assertThat((double) actual[c * p + k]).isCloseTo(weights[c][k], within(1e-5));
                }
            }
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            float[] image = clip.imageEmbeddings(step, pixels).toFloatArray();
            float[] probabilities = classifier.probabilities(step, pixels).toFloatArray();
            double scale = Math.exp(2.3); // the fixture's logit_scale
            for (int b = 0; b < 2; b++) {
                double[] logits = new double[3];
                double imageNorm = 0;
                for (int k = 0; k < p; k++) {
                    imageNorm += (double) image[b * p + k] * image[b * p + k];
                }
                double sum = 0;
                for (int c = 0; c < 3; c++) {
                    double cos = 0;
                    for (int k = 0; k < p; k++) {
                        cos += image[b * p + k] * weights[c][k];
                    }
                    logits[c] = Math.exp(scale * cos / Math.sqrt(imageNorm));
                    sum += logits[c];
                }
                for (int c = 0; c < 3; c++) {
                    assertThat((double) probabilities[b * 3 + c]).isCloseTo(logits[c] / sum, within(1e-5));
                }
            }
            assertThatThrownBy(() -> ZeroShotClassifier.build(clip, tokenizer, labels, List.of("a photo"), scope))
                    .hasMessage("prompt template 'a photo' has no {} for the class name");
            assertThatThrownBy(() -> ZeroShotClassifier.build(clip, tokenizer, List.of("cat"), templates, scope))
                    .hasMessage("zero-shot classification needs at least 2 labels, got 1");
        }
        assertThat(ZeroShotClassifier.imagenetTemplates())
                .hasSize(80)
                .startsWith("a bad photo of a {}.")
                .endsWith("a tattoo of the {}.")
                .doesNotHaveDuplicates();
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
