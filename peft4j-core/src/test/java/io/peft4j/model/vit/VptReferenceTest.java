package io.peft4j.model.vit;

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
 * VPT shallow and deep on ViT and DeiT against an independent PyTorch implementation of the reference code
 * (tools/vpt_fixtures.py after KMnP/vpt; issue 30): an adapter file with random N(0, 1) prompts, loaded as a user would,
 * gives the reference's last hidden state [B, s+n+N, D] within 1e-4, the prompts' outputs included.
 */
class VptReferenceTest extends NativeTest {

    private static final Path RESOURCES = Path.of("src/test/resources");

    @ParameterizedTest(name = "{0}-{1}")
    @CsvSource({"vit, shallow", "vit, deep", "deit, shallow", "deit, deep"})
    void promptedHiddenStatesMatchTheReferenceImplementation(String family, String kind) {
        Path adapter = RESOURCES.resolve("vpt").resolve(family + "-" + kind);
        try (NDManager scope = manager.newSubManager();
                SafeTensorsReader reference = SafeTensorsReader.open(adapter.resolve("reference.safetensors"))) {
            PretrainedModel vit =
                    AutoModel.load(ModelFiles.resolve(RESOURCES.resolve(family).toString()), scope);
            NDArray pixels = reference.load("pixel_values", scope, DataType.FLOAT32);
            PassContext plain = PassContext.inference(scope, PassContext.Adapters.NONE);
            NDArray without = vit.features(plain, ModelInputs.pixels(pixels)).lastHiddenState();
            PeftModel.load(vit, adapter);
            NDArray expected = reference.load("last_hidden_state", scope, DataType.FLOAT32);
            NDArray actual = vit.features(PassContext.inference(scope, vit.adapters()), ModelInputs.pixels(pixels))
                    .lastHiddenState();
            assertMatchesReference(actual, expected);
            // the prompts' effect is large against the tolerance: the patch tokens' states move by far more than 1e-4
            int special = family.equals("deit") ? 2 : 1; // [CLS] (and the distillation token)
            NDArray patches = expected.get(":, " + (special + 3) + ":, :");
            NDArray unprompted = without.get(":, " + special + ":, :");
            assertThat(patches.sub(unprompted).abs().max().getFloat()).isGreaterThan(0.01f);
        }
    }
}
