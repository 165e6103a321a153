package io.peft4j.train.task;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import io.peft4j.NativeTest;
import io.peft4j.image.ImageProcessor;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.peft.vpt.VptConfig;
import io.peft4j.train.ContentHash;
import io.peft4j.train.Evaluation;
import io.peft4j.train.Trainer;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.data.ImageExample;
import io.peft4j.train.data.ImageMixing;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.assertj.core.api.Assertions;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Image classification end to end in the library: PNG files, the model's image processor, LoRA on the ViT fixture. */
class ImageClassificationTaskTest extends NativeTest {

    private static final Path VIT = Path.of("src/test/resources/vit");

    @TempDir
    Path dir;

    /** Noisy 12×12 images, reddish for class 0 and bluish for class 1 (resized to the model's 8×8 by its processor). */
    private List<ImageExample> images(int count, long seed) throws Exception {
        Random random = new Random(seed);
        List<ImageExample> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int label = i % 2;
            BufferedImage image = new BufferedImage(12, 12, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 12; y++) {
                for (int x = 0; x < 12; x++) {
                    int strong = 150 + random.nextInt(100);
                    int weak = random.nextInt(110);
                    int green = random.nextInt(256);
                    image.setRGB(
                            x, y, label == 0 ? strong << 16 | green << 8 | weak : weak << 16 | green << 8 | strong);
                }
            }
            Path file = dir.resolve("img-" + seed + "-" + i + ".png");
            ImageIO.write(image, "png", file.toFile());
            out.add(new ImageExample(file, label));
        }
        return out;
    }

    /** Augmentation follows its random source: the same draws give the same crops and flips, other draws others. */
    @Test
    void augmentedBatchesFollowTheirRandomSource() throws Exception {
        List<ImageExample> some = images(4, 7);
        List<ImageProcessor.RgbImage> files =
                some.stream().map(ImageExample::pixels).toList();
        ImageProcessor processor = ImageProcessor.forModel(VIT);
        try (NDManager scope = manager.newSubManager()) {
            float[] plain = processor.pixelValues(files, scope).toFloatArray();
            float[] a = processor.pixelValues(files, new Random(1), scope).toFloatArray();
            float[] again = processor.pixelValues(files, new Random(1), scope).toFloatArray();
            float[] b = processor.pixelValues(files, new Random(2), scope).toFloatArray();
            assertThat(a).hasSize(4 * 3 * 8 * 8).containsExactly(again);
            assertThat(a).isNotEqualTo(b).isNotEqualTo(plain);
            for (float v : a) {
                assertThat(v).isBetween(-1f, 1f); // (x / 255 − 0.5) / 0.5
            }
        }
    }

    @Test
    void loraOnAViTLearnsToTellImagesApart() throws Exception {
        List<ImageExample> train = images(24, 1);
        List<ImageExample> eval = images(12, 2);
        try (NDManager scope = manager.newSubManager()) {
            Engine.getInstance().setRandomSeed(3);
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve(VIT.toString()), scope, BackboneClassifier.Head.SEQUENCE, 2);
            PeftModel peft = PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(4)
                            .loraAlpha(8)
                            .taskType(TaskType.SEQ_CLS)
                            .build());
            ImageClassificationTask task =
                    new ImageClassificationTask(model, ImageProcessor.forModel(VIT), true); // augmented training
            double before = task.evaluate(eval, 8).loss();
            TrainingArgs args = TrainingArgs.builder()
                    .epochs(8)
                    .batchSize(8)
                    .learningRate(1e-2)
                    .seed(5)
                    .keepBest(false)
                    .gradientCheckpointing(true)
                    .build(); // block by block, as QLoRA and checkpointing train
            Trainer.Result result = new Trainer<>(peft, task, args, null).train(train, eval);
            Evaluation after = task.evaluate(eval, 8);
            assertThat(after.loss()).isLessThan(before);
            assertThat(after.accuracy()).isGreaterThanOrEqualTo(0.9);
            assertThat(result.tokensPerSecond()).as("images per second").isPositive();
            assertThat(task.predict(eval, 8)).hasSize(eval.size());
        }
    }

    /** Visual prompts train too: shallow VPT block by block (its prompts enter with the input), deep VPT in one pass. */
    @ParameterizedTest(name = "deep {0}")
    @ValueSource(booleans = {false, true})
    void visualPromptTuningLowersTheLoss(boolean deep) throws Exception {
        List<ImageExample> train = images(16, 3);
        try (NDManager scope = manager.newSubManager()) {
            Engine.getInstance().setRandomSeed(3);
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve(VIT.toString()), scope, BackboneClassifier.Head.SEQUENCE, 2);
            model.freezeAll();
            PeftModel peft = PeftModel.wrap(model, VptConfig.of(4, deep, null)); // prompts only: no head trains
            ImageClassificationTask task = new ImageClassificationTask(model, ImageProcessor.forModel(VIT));
            double before = task.evaluate(train, 8).loss();
            TrainingArgs args = TrainingArgs.builder()
                    .epochs(4)
                    .batchSize(8)
                    .learningRate(5e-2)
                    .seed(5)
                    .keepBest(false)
                    .gradientCheckpointing(!deep)
                    .build();
            new Trainer<>(peft, task, args, null).train(train, null);
            assertThat(task.evaluate(train, 8).loss()).isLessThan(before);
        }
    }

    @Test
    void aFilesContentIsPartOfTheDataHash() throws Exception {
        List<ImageExample> a = images(2, 9);
        String before = ContentHash.of(a);
        BufferedImage black = new BufferedImage(12, 12, BufferedImage.TYPE_INT_RGB);
        ImageIO.write(black, "png", a.get(0).file().toFile());
        assertThat(ContentHash.of(a)).as("same names, other pixels").isNotEqualTo(before);
    }

    /**
     * Mixup and CutMix: the mixed pixels are λ·x + (1 − λ)·x reversed (mixup), or x with a box of x reversed pasted in,
     * λ the area outside it (CutMix); the loss is λ·CE(y) + (1 − λ)·CE(reversed y), written out here; evaluation is
     * unmixed; off by default.
     */
    @Test
    void mixupAndCutMixMixPixelsAndTargetsAlike() throws Exception {
        List<ImageExample> batch = images(4, 9);
        try (NDManager scope = manager.newSubManager()) {
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve(VIT.toString()), scope, BackboneClassifier.Head.SEQUENCE, 2);
            model.setTraining(false);
            ImageProcessor processor = ImageProcessor.forModel(VIT);
            float[] x = processor
                    .pixelValues(batch.stream().map(ImageExample::pixels).toList(), scope)
                    .toFloatArray();
            int per = 3 * 8 * 8;
            for (ImageMixing mixing : List.of(new ImageMixing(0.4, 0), new ImageMixing(0, 1.0))) {
                ImageClassificationTask task = new ImageClassificationTask(model, processor, false, mixing);
                Engine.getInstance().setRandomSeed(5);
                SingleLabelTask.Inputs in = task.inputs(batch, scope, true);
                double lambda = in.mix().lambda();
                assertThat(lambda).isBetween(0.0, 1.0);
                float[] mixed = in.inputs().pixelValues().toFloatArray();
                int own = 0;
                for (int b = 0; b < 4; b++) {
                    for (int k = 0; k < per; k++) {
                        float mine = x[b * per + k];
                        float partner = x[(3 - b) * per + k];
                        if (mixing.mixupAlpha() > 0) {
                            assertThat((double) mixed[b * per + k])
                                    .isCloseTo(lambda * mine + (1 - lambda) * partner, Offset.offset(1e-5));
                        } else {
                            assertThat(mixed[b * per + k]).isIn(mine, partner); // each pixel from one of the two
                            own += b == 0 && mixed[k] == mine && mine != partner ? 1 : 0;
                        }
                    }
                }
                if (mixing.cutmixAlpha() > 0) { // λ: the share of own pixels (each in 3 channels)
                    long differing = 0;
                    for (int k = 0; k < per; k++) {
                        differing += x[k] != x[3 * per + k] ? 1 : 0;
                    }
                    assertThat(differing).isEqualTo(per); // noise: every pixel differs from its partner
                    assertThat((double) own / per).isCloseTo(lambda, Offset.offset(1e-9));
                }
                // the loss, written out: λ·CE(logits, y) + (1 − λ)·CE(logits, reversed y)
                float[] logits = model.logits(PassContext.training(scope, model.adapters()), in.inputs())
                        .toFloatArray();
                double expected = 0;
                for (int b = 0; b < 4; b++) {
                    double z = Math.log(Math.exp(logits[2 * b]) + Math.exp(logits[2 * b + 1]));
                    expected += lambda * (z - logits[2 * b + batch.get(b).label()])
                            + (1 - lambda)
                                    * (z - logits[2 * b + batch.get(3 - b).label()]);
                }
                Engine.getInstance().setRandomSeed(5);
                double loss = task.loss(batch, PassContext.training(scope, model.adapters()))
                        .value()
                        .getFloat();
                assertThat(loss).isCloseTo(expected / 4, Offset.offset(1e-5));
                assertThat(task.inputs(batch, scope, false).mix()).isNull();
            }
            assertThat(new ImageClassificationTask(model, processor)
                            .inputs(batch, scope, true)
                            .mix())
                    .isNull();
        }
        Assertions.assertThatThrownBy(() -> new ImageMixing(-1, 0)).hasMessageContaining("must be finite and ≥ 0");
    }
}
