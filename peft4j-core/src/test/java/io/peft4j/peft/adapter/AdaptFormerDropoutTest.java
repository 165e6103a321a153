package io.peft4j.peft.adapter;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.NativeTest;
import io.peft4j.io.Json;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AdaptFormer's dropout inside the adapter, as its reference (ShoufaChen/AdaptFormer: dropout 0.1 after the ReLU, in
 * training; issue 30): in the config file, read back, and acting in training only.
 */
class AdaptFormerDropoutTest extends NativeTest {

    @TempDir
    Path dir;

    @Test
    void theParallelAdapterDropsAfterItsNonLinearityInTrainingOnly() throws Exception {
        BottleneckConfig parallel = BottleneckConfig.parallel(TaskType.SEQ_CLS);
        assertThat(parallel.adapterDropout()).isEqualTo(0.1);
        assertThat(BottleneckConfig.houlsby(TaskType.SEQ_CLS).adapterDropout()).isZero();
        Path file = Files.writeString(dir.resolve("adapter_config.json"), parallel.toJson());
        assertThat(Json.readObject(file).get("adapter_dropout").asDouble()).isEqualTo(0.1);
        assertThat(((BottleneckConfig) PeftConfig.read(file)).adapterDropout()).isEqualTo(0.1);
        try (NDManager scope = manager.newSubManager()) {
            BackboneClassifier model = BackboneClassifier.load(
                    ModelFiles.resolve("src/test/resources/vit"), scope, BackboneClassifier.Head.SEQUENCE, 5);
            PeftModel peft = PeftModel.wrap(model, parallel);
            peft.namedParameters().forEach((k, p) -> { // a non-zero up-projection, so the adapter acts
                if (k.contains("adapter_up.weight")) {
                    p.set(scope.randomNormal(0, 0.5f, p.shape(), DataType.FLOAT32));
                }
            });
            NDArray pixels = scope.randomNormal(new Shape(2, 3, 8, 8));
            PassContext step = PassContext.training(scope, model.adapters());
            peft.setTraining(false);
            float[] eval1 = model.logits(step, ModelInputs.pixels(pixels)).toFloatArray();
            float[] eval2 = model.logits(step, ModelInputs.pixels(pixels)).toFloatArray();
            assertThat(eval2).isEqualTo(eval1);
            peft.setTraining(false);
            peft.namedModules().forEach((k, m) -> { // the adapters' dropout alone (the ViT's is 0 anyway)
                if (k.endsWith(".dropout") && k.contains(".adapters.")) {
                    m.setTraining(true);
                }
            });
            float[] trained = model.logits(step, ModelInputs.pixels(pixels)).toFloatArray();
            double largest = 0;
            for (int i = 0; i < trained.length; i++) {
                largest = Math.max(largest, Math.abs(trained[i] - eval1[i]));
            }
            assertThat(largest)
                    .as("dropout inside the adapter changes a training pass")
                    .isGreaterThan(1e-3);
        }
    }
}
