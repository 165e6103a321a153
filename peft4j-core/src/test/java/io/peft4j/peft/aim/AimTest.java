package io.peft4j.peft.aim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.VideoClassifier;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.train.Gradients;
import io.peft4j.train.StagedBackward;
import io.peft4j.train.loss.Losses;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * AIM on the ViT fixture (D = 32, 2 blocks, 5 classes) and CLIP's image tower: clip logits against an independent
 * PyTorch implementation of the reference code's block (tools/aim_fixtures.py), the closed-form count, the identity
 * at init (the frame-averaged image model), order sensitivity, what trains, save and load.
 */
class AimTest extends NativeTest {

    private static final Path FIXTURE = Path.of("src/test/resources/aim/vit");

    private static BackboneClassifier model(String family, NDManager scope) {
        return BackboneClassifier.load(
                ModelFiles.resolve("src/test/resources/" + family), scope, BackboneClassifier.Head.SEQUENCE, 5);
    }

    private static float[] logits(BackboneClassifier model, NDArray clips, NDManager scope) {
        return new VideoClassifier(model)
                .logits(PassContext.inference(scope, model.adapters()), ModelInputs.pixels(clips))
                .toFloatArray();
    }

    @Test
    void clipLogitsMatchTheReferenceImplementation() {
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(FIXTURE.resolve("reference.safetensors"))) {
            BackboneClassifier model = model("vit", scope);
            PeftModel.load(model, FIXTURE);
            NDArray clips = reference.load("pixel_values", scope, DataType.FLOAT32); // [2, 3, 3, 8, 8]
            NDArray actual = new VideoClassifier(model)
                    .logits(PassContext.inference(scope, model.adapters()), ModelInputs.pixels(clips));
            assertMatchesReference(actual, reference.load("logits", scope, DataType.FLOAT32));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vit", "clip"})
    void startsAsTheFrameAveragedImageModelAndCountsAsByHand(String family) {
        try (NDManager scope = manager.newSubManager()) {
            BackboneClassifier model = model(family, scope);
            NDArray clips = scope.randomNormal(new Shape(2, 4, 3, 8, 8));
            float[] frameAveraged = logits(model, clips, scope);
            PeftModel peft = PeftModel.wrap(model, AimConfig.of(4, TaskType.SEQ_CLS));
            assertThat(logits(model, clips, scope)).containsExactly(frameAveraged, Offset.offset(1e-5f));
            int d = 32;
            int h = d / 4;
            long perBlock = 3L * (d * h + h + h * d + d); // T-, S- and MLP-adapter
            assertThat(peft.parameterCount().trainable())
                    .isEqualTo(2 * perBlock + 4L * d + 2L * d + (d * 5L + 5)); // + temporal, final LN, head
        }
    }

    @Test
    void framesOrderMattersToAimAndNotToTheImageModel() {
        try (NDManager scope = manager.newSubManager()) {
            BackboneClassifier model = model("vit", scope);
            NDArray clips = scope.randomNormal(new Shape(2, 3, 3, 8, 8));
            NDArray reversed = clips.flip(1);
            assertThat(logits(model, reversed, scope))
                    .containsExactly(logits(model, clips, scope), Offset.offset(1e-5f));
            PeftModel.load(model, FIXTURE);
            float[] forward = logits(model, clips, scope);
            float[] backward = logits(model, reversed, scope);
            double distance = 0;
            for (int i = 0; i < forward.length; i++) {
                distance += Math.abs(forward[i] - backward[i]);
            }
            assertThat(distance).isGreaterThan(1e-2);
            assertThatThrownBy(() -> logits(model, scope.randomNormal(new Shape(1, 4, 3, 8, 8)), scope))
                    .hasMessageContaining("clips of 3 frames");
        }
    }

    @Test
    void trainsOnlyItsOwnParametersAndSavesAndLoads(@TempDir Path tmp) {
        try (NDManager scope = manager.newSubManager()) {
            BackboneClassifier model = model("vit", scope);
            PeftModel peft = PeftModel.wrap(model, AimConfig.of(3, TaskType.SEQ_CLS));
            peft.setTraining(true);
            NDArray clips = scope.randomNormal(new Shape(2, 3, 3, 8, 8));
            try (NDManager s = scope.newSubManager()) {
                Map<Parameter, NDArray> grads = new HashMap<>();
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray logits = new VideoClassifier(model)
                            .logits(PassContext.training(s, model.adapters()), ModelInputs.pixels(clips));
                    gc.backward(Losses.crossEntropy(logits, s.create(new long[] {1, 3})));
                    model.namedParameters().forEach((k, v) -> {
                        boolean aim = k.contains(".block_adapters.default.")
                                || k.equals("vit.temporal_embedding.default")
                                || k.startsWith("vit.layernorm.")
                                || k.startsWith("classifier.modules_to_save.default.");
                        assertThat(v.isTrainable()).as(k).isEqualTo(aim);
                        if (v.isTrainable()) {
                            NDArray grad = v.array().getGradient().duplicate();
                            grad.attach(s);
                            grads.put(v, grad);
                        }
                    });
                }
                grads.forEach((v, grad) ->
                        v.set(v.array().sub(grad.mul(0.5f)))); // D_fc2 leaves zero: now every path has weight
            }
            peft.setTraining(false);
            float[] trained = logits(model, clips, scope);
            peft.save(tmp);
            BackboneClassifier fresh = model("vit", scope);
            PeftModel.load(fresh, tmp);
            assertThat(logits(fresh, clips, scope)).containsExactly(trained, Offset.offset(1e-6f));
            assertThatThrownBy(peft::mergeAndUnload)
                    .hasMessage(
                            "AIM adapters are non-linear modules over a clip's frames and cannot be merged into the base weights");
        }
    }

    @Test
    void refusesModelsWithoutTransformerBlocks() {
        try (NDManager scope = manager.newSubManager()) {
            BackboneClassifier resnet = BackboneClassifier.load(
                    ModelFiles.resolve("src/test/resources/resnet"), scope, BackboneClassifier.Head.SEQUENCE, 3);
            assertThatThrownBy(() -> PeftModel.wrap(resnet, AimConfig.of(8, TaskType.SEQ_CLS)))
                    .hasMessage("AIM adapts vision transformers (ViT, DeiT, CLIP's image tower); 'resnet' is not one");
        }
    }

    /**
     * A trained input stage makes the blocks' input (issue 29): taken block by block (gradient checkpointing, QLoRA's
     * staging), the pass goes on into the temporal embedding, and the staged and checkpointed gradients of every
     * trainable parameter, the temporal embedding's included, equal the plain backward pass's. (The video classifier
     * refuses staged training; the backbone classifier over a clip's frames takes it.)
     */
    @ParameterizedTest
    @ValueSource(strings = {"vit", "clip"})
    void stagedAndCheckpointedGradientsEqualThePlainOnesTemporalEmbeddingIncluded(String family) {
        try (NDManager scope = manager.newSubManager()) {
            BackboneClassifier model = model(family, scope);
            PeftModel peft = PeftModel.wrap(model, AimConfig.of(2, TaskType.SEQ_CLS));
            peft.namedParameters().forEach((k, p) -> { // away from the identity, so that every part has a gradient
                if (p.isTrainable() && (k.contains("temporal_embedding") || k.contains("D_fc2"))) {
                    p.set(scope.randomNormal(0, 0.1f, p.shape(), DataType.FLOAT32));
                }
            });
            NDArray frames = scope.randomNormal(new Shape(4, 3, 8, 8)); // 2 clips of 2 frames
            NDArray labels = scope.create(new long[] {1, 1, 3, 3});
            Map<String, float[]> plain = Gradients.of(
                    peft,
                    (step, gc) ->
                            gc.backward(Losses.crossEntropy(model.logits(step, ModelInputs.pixels(frames)), labels)));
            assertThat(plain.keySet()).anyMatch(k -> k.contains("temporal_embedding"));
            for (boolean checkpointing : new boolean[] {false, true}) {
                Map<String, float[]> staged = Gradients.of(
                        peft,
                        (step, gc) -> StagedBackward.crossEntropy(
                                step,
                                model.logitsPass(step, ModelInputs.pixels(frames)),
                                labels,
                                gc,
                                1.0,
                                checkpointing));
                assertThat(staged.keySet()).isEqualTo(plain.keySet());
                for (String k : plain.keySet()) {
                    float[] a = plain.get(k);
                    float[] b = staged.get(k);
                    double largest = 0;
                    for (int i = 0; i < a.length; i++) {
                        assertThat(b[i]).as(k).isCloseTo(a[i], Offset.offset(1e-5f));
                        largest = Math.max(largest, Math.abs(a[i]));
                    }
                    if (k.contains("temporal_embedding")) {
                        assertThat(largest).as(k + " gets a gradient").isGreaterThan(1e-4);
                    }
                }
            }
        }
    }

    /**
     * The reference's init_weights (issue 30): every adapter's D_fc1 from N(0, 0.02²) (timm's trunc_normal, whose ±2
     * bounds are 100σ away) with zero bias, D_fc2 zero.
     */
    @Test
    void adaptersStartAsTheReferenceInitialisesThem() {
        try (NDManager scope = manager.newSubManager()) {
            BackboneClassifier model = model("vit", scope);
            PeftModel peft = PeftModel.wrap(model, AimConfig.of(2, TaskType.SEQ_CLS));
            double sum = 0;
            double squares = 0;
            long n = 0;
            for (Map.Entry<String, Parameter> e : peft.namedParameters().entrySet()) {
                String k = e.getKey();
                float[] v = e.getValue().array().toFloatArray();
                if (k.contains("D_fc1.weight")) {
                    for (float x : v) {
                        sum += x;
                        squares += (double) x * x;
                        n++;
                    }
                } else if (k.contains("D_fc1.bias") || k.contains("D_fc2.")) {
                    assertThat(v).as(k).containsOnly(0f);
                }
            }
            assertThat(n).isEqualTo(2L * 3 * 32 * 8); // 2 blocks × 3 adapters × D·h
            double std = Math.sqrt(squares / n - (sum / n) * (sum / n));
            assertThat(std).isCloseTo(0.02, Offset.offset(0.002)); // 1,536 draws: the sample std's sd is 0.00036
            assertThat(Math.abs(sum / n)).isLessThan(0.003);
        }
    }

    /**
     * Stochastic depth on the T-adapter's and the joint adapter's branches, as the reference's block (issue 30): its
     * rate spread linearly over the blocks from 0 to drop_path_rate (0.2, the reference configs'), acting in training
     * only, one draw per token position (timm's drop_path on the reference's sequence-first tensors); written to the
     * config file.
     */
    @Test
    void dropPathSpreadsOverTheBlocksAndActsInTrainingOnly() throws Exception {
        AimConfig config = AimConfig.of(2, TaskType.SEQ_CLS);
        assertThat(config.dropPathRate()).isEqualTo(0.2);
        assertThat(config.toJson()).contains("\"drop_path_rate\": 0.2");
        try (NDManager scope = manager.newSubManager()) {
            BackboneClassifier model = model("vit", scope);
            PeftModel peft = PeftModel.wrap(model, config);
            List<Double> rates = new ArrayList<>();
            model.namedModules().values().forEach(m -> {
                if (m instanceof AimAdapters.Aim aim) {
                    rates.add(aim.dropPath.p());
                }
            });
            assertThat(rates).containsExactly(0.0, 0.2); // torch.linspace(0, 0.2, 2)
            peft.namedParameters().forEach((k, p) -> { // away from the identity, so that the branches act
                if (p.isTrainable() && k.contains("D_fc2")) {
                    p.set(scope.randomNormal(0, 0.3f, p.shape(), DataType.FLOAT32));
                }
            });
            NDArray clips = scope.randomNormal(new Shape(16, 2, 3, 8, 8)); // 16 clips of 2 frames
            peft.setTraining(false);
            float[] evaluated = logits(model, clips, scope);
            assertThat(logits(model, clips, scope)).containsExactly(evaluated);
            model.namedModules().forEach((k, m) -> { // the adapters' drop path alone
                if (k.endsWith(".drop_path")) {
                    m.setTraining(true);
                }
            });
            Engine.getInstance().setRandomSeed(11);
            float[] trained = logits(model, clips, scope);
            double largest = 0;
            for (int i = 0; i < trained.length; i++) {
                largest = Math.max(largest, Math.abs(trained[i] - evaluated[i]));
            }
            // one draw per token position (5 of them: [CLS] and 2×2 patches) and branch in block 1 at rate 0.2: nothing
            // dropped has probability 0.8^10 ≈ 0.11, so the seed is fixed
            assertThat(largest).as("drop path changes a training pass").isGreaterThan(1e-3);
        }
    }
}
