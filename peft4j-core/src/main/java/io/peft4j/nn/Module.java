package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.io.Weights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

/**
 * A node of a model tree with named parameters and named children. Full names join the path with dots
 * and equal the Hugging Face checkpoint names ({@code encoder.layer.0.attention.self.query.weight}), so
 * loading a checkpoint is a name-to-tensor map.
 */
public abstract class Module {

    private final NDManager manager;
    private final Map<String, Parameter> parameters = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training;

    protected Module(NDManager manager) {
        this.manager = manager;
    }

    /** The long-lived manager that owns this module's parameters. */
    public NDManager manager() {
        return manager;
    }

    /** Registers a parameter; the array is attached to this module's manager. */
    protected final Parameter addParameter(String name, NDArray init) {
        checkName(name);
        init.attach(manager);
        Parameter p = new Parameter(init);
        parameters.put(name, p);
        return p;
    }

    /** A frozen parameter (quantised codes and their constants), each element holding {@code weightsPerElement} weights. */
    protected final Parameter addFrozenParameter(String name, NDArray init, int weightsPerElement) {
        checkName(name);
        init.attach(manager);
        Parameter p = new Parameter(init, weightsPerElement, false);
        parameters.put(name, p);
        return p;
    }

    /**
     * Registers a buffer: state a checkpoint stores beside the weights (BatchNorm's running statistics) that is loaded
     * and saved with them but never trains and is not counted as a weight, as PyTorch's buffers.
     */
    protected final Parameter addBuffer(String name, NDArray init) {
        checkName(name);
        init.attach(manager);
        Parameter p = new Parameter(init, 0, false);
        parameters.put(name, p);
        return p;
    }

    protected final <M extends Module> M addChild(String name, M child) {
        checkName(name);
        children.put(name, child);
        return child;
    }

    /** Removes and returns one of this module's own parameters. */
    protected final Parameter removeParameter(String name) {
        return parameters.remove(name);
    }

    /** Removes and returns a child (how tuners delete an adapter's layers). */
    protected final Module removeChild(String name) {
        return children.remove(name);
    }

    private void checkName(String name) {
        if (name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException("invalid local name '" + name + "'");
        }
        if (parameters.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException(
                    "name '" + name + "' is already used in " + getClass().getSimpleName());
        }
    }

    /** The child registered under {@code name}, which must be of {@code type}. */
    protected final <T> T child(String name, Class<T> type) {
        Module m = children.get(name);
        if (!type.isInstance(m)) {
            throw new IllegalStateException(
                    getClass().getSimpleName() + " has no " + type.getSimpleName() + " child '" + name + "'");
        }
        return type.cast(m);
    }

    /** The convolution (plain or wrapped by a tuner) registered under {@code name}. */
    protected final ConvLayer conv(String name) {
        return child(name, ConvLayer.class);
    }

    /** The linear layer (plain or wrapped by a tuner) registered under {@code name}. */
    protected final LinearLayer linear(String name) {
        return child(name, LinearLayer.class);
    }

    /** The module at a dotted path below this one ("" is this module). */
    public Module module(String path) {
        Module m = this;
        if (!path.isEmpty()) {
            for (String part : path.split("\\.")) {
                m = m.children.get(part);
                if (m == null) {
                    throw new Peft4jException(
                            "no module '" + path + "' in " + getClass().getSimpleName());
                }
            }
        }
        return m;
    }

    /** Puts {@code replacement} where the module at {@code path} was (how tuners inject their layers). */
    public void replace(String path, Module replacement) {
        int dot = path.lastIndexOf('.');
        Module parent = module(dot < 0 ? "" : path.substring(0, dot));
        String name = path.substring(dot + 1);
        if (!parent.children.containsKey(name)) {
            throw new Peft4jException("no module '" + path + "' to replace");
        }
        parent.children.put(name, replacement);
    }

    /** Direct children by local name, in registration order. */
    public Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /** This module's own parameters by local name. */
    public Map<String, Parameter> localParameters() {
        return Collections.unmodifiableMap(parameters);
    }

    /** Every module below and including this one, by full dotted path ("" for this one). */
    public Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        visit("", (path, m) -> out.put(path, m));
        return out;
    }

    /** Every parameter below this module, by full dotted name, in registration order. */
    public Map<String, Parameter> namedParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        visit("", (path, m) -> m.parameters.forEach((name, p) -> out.put(join(path, name), p)));
        return out;
    }

    private void visit(String path, BiConsumer<String, Module> visitor) {
        visitor.accept(path, this);
        children.forEach((name, child) -> child.visit(join(path, name), visitor));
    }

    static String join(String path, String name) {
        return path.isEmpty() ? name : path + "." + name;
    }

    /** The parameter arrays by full name (live references, not copies). */
    public Map<String, NDArray> stateDict() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        namedParameters().forEach((name, p) -> out.put(name, p.array()));
        return out;
    }

    /** Keys a checkpoint may hold that this model does not use (buffers such as position ids). */
    protected Set<String> ignoredCheckpointKeys() {
        return Set.of();
    }

    /** What a load found: keys the model needs but the weights lack, and keys the model does not know. */
    public record LoadReport(List<String> missing, List<String> unexpected) {}

    /**
     * Loads every parameter from {@code weights}, one tensor at a time. A key whose shape differs from
     * the parameter's always fails; in strict mode missing and unexpected keys fail too, otherwise they
     * are returned in the report. Nothing is changed when the load fails.
     */
    public LoadReport loadStateDict(Weights weights, boolean strict) {
        Map<String, Parameter> params = namedParameters();
        List<String> missing = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        List<String> wrongShape = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            if (!weights.keys().contains(e.getKey())) {
                missing.add(e.getKey());
                continue;
            }
            long[] found = weights.shape(e.getKey());
            long[] expected = e.getValue().shape().getShape();
            if (!Arrays.equals(found, expected)) {
                wrongShape.add(e.getKey() + ": checkpoint " + new Shape(found) + ", model " + new Shape(expected));
            }
        }
        Set<String> ignored = ignoredCheckpointKeys();
        for (String key : weights.keys()) {
            if (!params.containsKey(key) && !ignored.contains(key)) {
                unexpected.add(key);
            }
        }
        if (!wrongShape.isEmpty() || (strict && (!missing.isEmpty() || !unexpected.isEmpty()))) {
            StringBuilder msg = new StringBuilder(
                    "cannot load " + weights.source() + " into " + getClass().getSimpleName() + ":");
            if (!wrongShape.isEmpty()) {
                msg.append("\n  wrong shape: ").append(String.join("; ", wrongShape));
            }
            if (strict && !missing.isEmpty()) {
                msg.append("\n  missing keys: ").append(String.join(", ", missing));
            }
            if (strict && !unexpected.isEmpty()) {
                msg.append("\n  unexpected keys: ").append(String.join(", ", unexpected));
            }
            throw new Peft4jException(msg.toString());
        }
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            if (weights.keys().contains(e.getKey())) {
                Parameter p = e.getValue();
                p.set(weights.load(e.getKey(), p.array().getManager())
                        .toType(p.array().getDataType(), false));
            }
        }
        return new LoadReport(List.copyOf(missing), List.copyOf(unexpected));
    }

    /** Freezes every parameter whose full name matches. */
    public void freeze(Predicate<String> byName) {
        namedParameters().forEach((name, p) -> {
            if (byName.test(name)) {
                p.setTrainable(false);
            }
        });
    }

    /** Makes every parameter whose full name matches trainable. */
    public void unfreeze(Predicate<String> byName) {
        namedParameters().forEach((name, p) -> {
            if (byName.test(name)) {
                p.setTrainable(true);
            }
        });
    }

    public void freezeAll() {
        freeze(name -> true);
    }

    /** Training mode turns dropout on; it applies to this module and all below it. */
    public void setTraining(boolean training) {
        namedModules().values().forEach(m -> m.training = training);
    }

    public boolean isTraining() {
        return training;
    }

    /** Trainable and total parameter counts. */
    public ParameterCount parameterCount() {
        long trainable = 0;
        long all = 0;
        for (Parameter p : namedParameters().values()) {
            all += p.weightCount();
            if (p.isTrainable()) {
                trainable += p.weightCount();
            }
        }
        return new ParameterCount(trainable, all);
    }
}
