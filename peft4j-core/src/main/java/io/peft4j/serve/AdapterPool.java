package io.peft4j.serve;

import io.peft4j.Peft4jException;
import io.peft4j.generate.ContinuousBatcher;
import io.peft4j.model.PretrainedModel;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The adapters one base model serves, by name: registered with a path (at start or at run time, as vLLM's
 * {@code load_lora_adapter}) or found as sub-directories of an adapters root, loaded on first use, and at most
 * {@code maxLoaded} kept in memory (least recently used first out, never one that a running request uses).
 * All methods are synchronized: requests, the admin endpoints and the engine thread share a pool.
 */
public final class AdapterPool implements ContinuousBatcher.Router {

    /** Names a client may use: letters, digits, '.', '_', '-', up to 128 characters. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    /** A servable adapter: its name, directory, and whether it is in memory now. */
    public record Entry(String name, Path path, boolean loaded) {}

    private final PeftModel peft;
    private final Path root;
    private final int maxLoaded;
    private final Map<String, Path> registered = new TreeMap<>();
    private final LinkedHashMap<String, Boolean> loaded =
            new LinkedHashMap<>(16, 0.75f, true); // access order: LRU first
    private final Map<String, Integer> pins = new HashMap<>();
    private long hits;
    private long misses;

    /**
     * @param base      the base model (adapters are added to it)
     * @param root      a directory whose sub-directories are adapters named after them, or null
     * @param maxLoaded adapters kept in memory at most
     */
    public AdapterPool(PretrainedModel base, Path root, int maxLoaded) {
        if (maxLoaded < 1) {
            throw new IllegalArgumentException("max loaded adapters must be at least 1, got " + maxLoaded);
        }
        if (root != null && !Files.isDirectory(root)) {
            throw new Peft4jException("adapters directory " + root + " does not exist");
        }
        this.peft = PeftModel.empty(base);
        this.root = root == null ? null : root.toAbsolutePath().normalize();
        this.maxLoaded = maxLoaded;
    }

    /** The adapters directory (absolute), or null. */
    public Path root() {
        return root;
    }

    /** Whether {@code path} lies under the adapters directory (false without one). */
    public boolean underRoot(Path path) {
        return root != null && path.toAbsolutePath().normalize().startsWith(root);
    }

    /**
     * Registers {@code name} → {@code path} and loads it, so that an adapter that does not fit the base is refused here.
     * Like {@link #unregister}, it changes the model: call it between forward passes (a batcher's {@code betweenSteps}).
     */
    public synchronized void register(String name, Path path) {
        requireName(name);
        Path dir = path.toAbsolutePath().normalize();
        if (registered.containsKey(name) || found(name) != null && !found(name).equals(dir)) {
            throw new IllegalArgumentException("an adapter named '" + name + "' is already registered");
        }
        if (!Files.isRegularFile(dir.resolve(PeftConfig.FILE_NAME))) {
            throw new NoSuchElementException(
                    "no adapter found at " + path + " (it needs " + PeftConfig.FILE_NAME + ")");
        }
        registered.put(name, dir);
        try {
            if (!acquire(name)) {
                throw new IllegalStateException(
                        "all " + maxLoaded + " loaded adapters are in use; retry when requests have finished");
            }
            release(name);
        } catch (RuntimeException e) {
            registered.remove(name);
            throw e;
        }
    }

    /** Forgets {@code name} and frees its memory; refused while a request uses it. Between forward passes, as {@link #register}. */
    public synchronized void unregister(String name) {
        if (!registered.containsKey(name) && found(name) == null) {
            throw new NoSuchElementException("the adapter '" + name + "' cannot be found");
        }
        if (pins.getOrDefault(name, 0) > 0) {
            throw new IllegalStateException("the adapter '" + name + "' is serving " + pins.get(name)
                    + " request(s); unload it when they are done");
        }
        unload(name);
        registered.remove(name);
    }

    /** Whether {@code name} can be served (registered or under the root). */
    public synchronized boolean knows(String name) {
        return registered.containsKey(name) || found(name) != null;
    }

    /** Every servable adapter, registered ones and those under the root. */
    public synchronized List<Entry> entries() {
        Map<String, Path> all = new TreeMap<>(registered);
        if (root != null) {
            try (Stream<Path> dirs = Files.list(root)) {
                dirs.filter(d -> Files.isRegularFile(d.resolve(PeftConfig.FILE_NAME))
                                && NAME.matcher(d.getFileName().toString()).matches())
                        .forEach(d -> all.putIfAbsent(d.getFileName().toString(), d));
            } catch (IOException e) {
                throw new Peft4jException("cannot list the adapters directory " + root + ": " + e.getMessage());
            }
        }
        List<Entry> out = new ArrayList<>();
        all.forEach((n, p) -> out.add(new Entry(n, p, loaded.containsKey(n))));
        return out;
    }

    /** Adapters in memory now. */
    public synchronized int loadedCount() {
        return loaded.size();
    }

    /** Uses served by an adapter already in memory, and uses that had to load it. */
    public synchronized long[] hitsAndMisses() {
        return new long[] {hits, misses};
    }

    @Override
    public synchronized boolean acquire(String name) {
        if (name == null) {
            return true;
        }
        if (loaded.containsKey(name)) {
            hits++;
            loaded.get(name); // touch: most recently used
        } else {
            Path dir = registered.containsKey(name) ? registered.get(name) : found(name);
            if (dir == null) {
                throw new NoSuchElementException("The model `" + name + "` does not exist.");
            }
            if (!makeRoom()) {
                return false;
            }
            misses++;
            peft.loadAdapter(dir, name, false);
            loaded.put(name, Boolean.TRUE);
        }
        pins.merge(name, 1, Integer::sum);
        return true;
    }

    @Override
    public synchronized void release(String name) {
        if (name != null) {
            pins.merge(name, -1, Integer::sum);
        }
    }

    @Override
    public synchronized PassContext.Adapters rows(List<String> names) {
        if (names.stream().allMatch(Objects::isNull)) {
            return PassContext.Adapters.NONE;
        }
        return peft.mixedBatch(names.stream()
                .map(n -> n == null ? PassContext.Adapters.BASE : n)
                .toList());
    }

    /** Evicts the least recently used adapters no request uses until one more fits; false when every loaded one is in use. */
    private boolean makeRoom() {
        while (loaded.size() >= maxLoaded) {
            String victim = loaded.keySet().stream()
                    .filter(n -> pins.getOrDefault(n, 0) <= 0)
                    .findFirst()
                    .orElse(null);
            if (victim == null) {
                return false;
            }
            unload(victim);
        }
        return true;
    }

    private void unload(String name) {
        if (loaded.remove(name) != null) {
            peft.deleteAdapter(name);
        }
        pins.remove(name);
    }

    private Path found(String name) {
        if (root == null || !NAME.matcher(name).matches()) {
            return null;
        }
        Path dir = root.resolve(name);
        return Files.isRegularFile(dir.resolve(PeftConfig.FILE_NAME)) ? dir : null;
    }

    private static void requireName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(
                    "an adapter name takes letters, digits, '.', '_' and '-' (up to 128), got '" + name + "'");
        }
    }
}
