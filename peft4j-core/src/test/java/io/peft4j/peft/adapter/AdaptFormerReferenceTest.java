package io.peft4j.peft.adapter;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.NativeTest;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.model.AutoModel;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.PretrainedModel;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftModel;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * AdaptFormer (the parallel bottleneck adapter) on ViT and Swin against an independent PyTorch implementation of the
 * reference code (tools/adaptformer_fixtures.py after ShoufaChen/AdaptFormer; issue 30): an adapter file with random
 * non-zero weights, loaded as a user would, gives the reference's last hidden state within 1e-4 (Swin at its 16×16 and
 * at 24×20, each stage at its own width).
 */
class AdaptFormerReferenceTest extends NativeTest {

    private static final Path RESOURCES = Path.of("src/test/resources");

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"vit, reference.safetensors", "swin, reference.safetensors", "swin, reference_24x20.safetensors"})
    void adaptedHiddenStatesMatchTheReferenceImplementation(String family, String file) {
        Path adapter = RESOURCES.resolve("adaptformer").resolve(family);
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(adapter.resolve(file))) {
            PretrainedModel model =
                    AutoModel.load(ModelFiles.resolve(RESOURCES.resolve(family).toString()), scope);
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            NDArray plain = model.features(
                            PassContext.inference(scope, PassContext.Adapters.NONE), ModelInputs.pixels(pixels))
                    .lastHiddenState();
            PeftModel.load(model, adapter);
            NDArray expected = reference.load("last_hidden_state", scope, DataType.FLOAT32);
            NDArray actual = model.features(PassContext.inference(scope, model.adapters()), ModelInputs.pixels(pixels))
                    .lastHiddenState();
            assertMatchesReference(actual, expected);
            assertThat(expected.sub(plain).abs().max().getFloat())
                    .as("the adapters' effect is large against the tolerance")
                    .isGreaterThan(0.01f);
        }
    }
}
