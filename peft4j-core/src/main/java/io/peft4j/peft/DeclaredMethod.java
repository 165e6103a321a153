package io.peft4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiFunction;

/** A {@link PeftMethod} declared by its parts; a method folder's descriptor passes them to this constructor. */
public abstract class DeclaredMethod implements PeftMethod {

    private final String peftType;
    private final Class<? extends PeftConfig> configType;
    private final BiFunction<JsonNode, Path, ? extends PeftConfig> reader;
    private final Tuner<? extends PeftConfig> tuner;
    private final List<String> markers;

    /**
     * @param peftType   {@code peft_type} in {@code adapter_config.json}
     * @param configType the config record
     * @param reader     reads the config from the parsed file
     * @param tuner      the method's tuner
     * @param markers    the child names of its tensors ({@link #tensorMarkers()})
     */
    protected <C extends PeftConfig> DeclaredMethod(
            String peftType,
            Class<C> configType,
            BiFunction<JsonNode, Path, C> reader,
            Tuner<C> tuner,
            List<String> markers) {
        this.peftType = peftType;
        this.configType = configType;
        this.reader = reader;
        this.tuner = tuner;
        this.markers = List.copyOf(markers);
    }

    @Override
    public final String peftType() {
        return peftType;
    }

    @Override
    public final Class<? extends PeftConfig> configType() {
        return configType;
    }

    @Override
    public final PeftConfig readConfig(JsonNode root, Path file) {
        return reader.apply(root, file);
    }

    @Override
    public final Tuner<? extends PeftConfig> tuner() {
        return tuner;
    }

    @Override
    public final List<String> tensorMarkers() {
        return markers;
    }
}
