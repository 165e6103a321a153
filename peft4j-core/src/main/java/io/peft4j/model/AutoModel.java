package io.peft4j.model;

import ai.djl.ndarray.NDManager;
import io.peft4j.Peft4jException;
import io.peft4j.io.HfConfig;
import io.peft4j.quant.ModelQuantizer;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** Loads a pretrained backbone of whichever registered {@link ModelFamily} reads the {@code model_type} of its {@code config.json}. */
public final class AutoModel {

    private static final List<ModelFamily> FAMILIES = load();

    private AutoModel() {}

    private static List<ModelFamily> load() {
        List<ModelFamily> out = new ArrayList<>();
        ServiceLoader.load(ModelFamily.class, ModelFamily.class.getClassLoader())
                .forEach(out::add);
        return List.copyOf(out);
    }

    /** The family that reads {@code modelType}, or null. */
    public static ModelFamily family(String modelType) {
        return FAMILIES.stream()
                .filter(f -> f.modelTypes().contains(modelType))
                .findFirst()
                .orElse(null);
    }

    public static PretrainedModel load(ModelFiles files, NDManager manager) {
        return load(files, manager, null);
    }

    /**
     * As above, with the linear layers quantised ({@code quantize} null: full precision): a decoder's layer by layer
     * from the checkpoint (its full-precision weights never resident), an encoder's after loading (encoders are small).
     */
    public static PretrainedModel load(ModelFiles files, NDManager manager, ModelQuantizer.Settings quantize) {
        return familyOf(files).load(files, manager, quantize);
    }

    /** The backbone a sequence or image classifier over {@code files} runs on (CLIP: its image tower). */
    public static PretrainedModel loadClassificationBackbone(ModelFiles files, NDManager manager) {
        return familyOf(files).loadClassificationBackbone(files, manager);
    }

    private static ModelFamily familyOf(ModelFiles files) {
        String type = HfConfig.read(files.config()).modelType();
        ModelFamily family = family(type);
        if (family == null) {
            throw new Peft4jException(files.config() + ": model_type '" + type + "' is not supported; supported: "
                    + FAMILIES.stream().flatMap(f -> f.modelTypes().stream()).toList());
        }
        return family;
    }
}
