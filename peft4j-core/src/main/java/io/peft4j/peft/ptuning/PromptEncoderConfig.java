package io.peft4j.peft.ptuning;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.io.FormatException;
import io.peft4j.io.PythonJson;
import io.peft4j.peft.CommonFields;
import io.peft4j.peft.ConfigFields;
import io.peft4j.peft.PromptLearningConfig;
import io.peft4j.peft.TaskType;
import io.peft4j.tokenizer.PromptTemplate;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * P-tuning v1 (Liu et al. 2021) with HF PEFT's fields ({@code P_TUNING}): n pseudo-token embeddings produced
 * by a prompt encoder — an MLP (Linear-ReLU-Linear-ReLU-Linear) or a bidirectional LSTM followed by a
 * two-layer ReLU MLP — of hidden size {@code encoder_hidden_size} (default D). As in HF, the pseudo tokens
 * go before the input unless {@code template} (a peft4j field, written only when set) places them: see
 * {@link PromptTemplate}. The encoder is for training only; the saved {@code prompt_embeddings} are its output.
 */
public record PromptEncoderConfig(
        CommonFields common,
        Shape shape,
        Reparameterization encoderReparameterizationType,
        Integer encoderHiddenSize,
        int encoderNumLayers,
        double encoderDropout,
        String template)
        implements PromptLearningConfig {

    public enum Reparameterization {
        MLP,
        LSTM
    }

    public PromptEncoderConfig {
        common = common == null ? CommonFields.DEFAULT : common;
        encoderReparameterizationType =
                encoderReparameterizationType == null ? Reparameterization.MLP : encoderReparameterizationType;
        if (encoderNumLayers <= 0) {
            throw new IllegalArgumentException("encoder_num_layers must be positive, got " + encoderNumLayers);
        }
        if (template != null && PromptTemplate.parse(template).pseudoTokens() != shape.numVirtualTokens()) {
            throw new IllegalArgumentException("template '" + template + "' places "
                    + PromptTemplate.parse(template).pseudoTokens() + " pseudo tokens but num_virtual_tokens is "
                    + shape.numVirtualTokens());
        }
    }

    public static PromptEncoderConfig of(int numVirtualTokens, Reparameterization type, TaskType taskType) {
        return new PromptEncoderConfig(CommonFields.of(taskType), Shape.of(numVirtualTokens), type, null, 2, 0.0, null);
    }

    /** Pseudo tokens placed by {@code template} instead of before the input. */
    public PromptEncoderConfig withTemplate(String t) {
        return new PromptEncoderConfig(
                common, shape, encoderReparameterizationType, encoderHiddenSize, encoderNumLayers, encoderDropout, t);
    }

    public PromptEncoderConfig withShape(Shape s, Integer hidden) {
        return new PromptEncoderConfig(
                common, s, encoderReparameterizationType, hidden, encoderNumLayers, encoderDropout, template);
    }

    @Override
    public PromptEncoderConfig withCommon(CommonFields c) {
        return new PromptEncoderConfig(
                c, shape, encoderReparameterizationType, encoderHiddenSize, encoderNumLayers, encoderDropout, template);
    }

    @Override
    public String peftType() {
        return "P_TUNING";
    }

    @Override
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        common.writeTo(m, peftType(), PEFT_FORMAT_VERSION);
        shape.writeTo(m);
        m.put("encoder_dropout", encoderDropout);
        m.put("encoder_hidden_size", encoderHiddenSize);
        m.put("encoder_num_layers", encoderNumLayers);
        m.put("encoder_reparameterization_type", encoderReparameterizationType);
        if (template != null) {
            m.put("template", template);
        }
        return PythonJson.write(m);
    }

    public static PromptEncoderConfig fromJson(JsonNode root, Path file) {
        ConfigFields f = new ConfigFields(root, file);
        try {
            JsonNode hidden = f.node("encoder_hidden_size");
            PromptEncoderConfig c = new PromptEncoderConfig(
                    CommonFields.read(f),
                    Shape.read(f),
                    f.getEnum("encoder_reparameterization_type", Reparameterization.class, Reparameterization.MLP),
                    hidden == null ? null : f.getInt("encoder_hidden_size", 0),
                    f.getInt("encoder_num_layers", 2),
                    f.getDouble("encoder_dropout", 0.0),
                    f.getString("template", null));
            f.warnUnknown();
            return c;
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage(), e);
        }
    }
}
