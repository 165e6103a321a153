package io.peft4j.model;

import io.peft4j.Peft4jException;
import io.peft4j.io.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Models that arrive through Maven Central and are known by a short alias. {@code minilm} is
 * sentence-transformers/all-MiniLM-L6-v2 as packaged by LangChain4j: the jar is found on the classpath (the CLI
 * depends on it) or in the local Maven repository; its ONNX file and tokenizer
 * are extracted once into the peft4j cache (system property {@code peft4j.home} or {@code $PEFT4J_HOME}, default {@code ~/.cache/peft4j}).
 */
public final class BundledModels {

    private static final String MINILM = "minilm";
    private static final String ONNX_ENTRY = "all-minilm-l6-v2.onnx";
    private static final String TOKENIZER_ENTRY = "all-minilm-l6-v2-tokenizer.json";

    /** sentence-transformers/all-MiniLM-L6-v2's config.json (the ONNX export does not carry it). */
    private static final String MINILM_CONFIG = """
            {
              "architectures": ["BertModel"],
              "attention_probs_dropout_prob": 0.1,
              "hidden_act": "gelu",
              "hidden_dropout_prob": 0.1,
              "hidden_size": 384,
              "initializer_range": 0.02,
              "intermediate_size": 1536,
              "layer_norm_eps": 1e-12,
              "max_position_embeddings": 512,
              "model_type": "bert",
              "num_attention_heads": 12,
              "num_hidden_layers": 6,
              "pad_token_id": 0,
              "position_embedding_type": "absolute",
              "type_vocab_size": 2,
              "vocab_size": 30522,
              "_name_or_path": "sentence-transformers/all-MiniLM-L6-v2"
            }
            """;

    private BundledModels() {}

    public static boolean isAlias(String name) {
        return MINILM.equals(name);
    }

    public static List<String> aliases() {
        return List.of(MINILM);
    }

    /** Maven coordinates (group:artifact:version) of the jar behind the minilm alias. */
    public static String minilmCoordinates() {
        Properties p = new Properties();
        try (InputStream in = BundledModels.class.getResourceAsStream("bundled-models.properties")) {
            p.load(in);
        } catch (IOException | NullPointerException e) {
            throw new IllegalStateException("peft4j-core is missing bundled-models.properties", e);
        }
        return p.getProperty("minilm.coordinates");
    }

    public static Path cacheRoot() {
        String home = System.getProperty("peft4j.home", System.getenv("PEFT4J_HOME"));
        return home != null && !home.isBlank()
                ? Path.of(home)
                : Path.of(System.getProperty("user.home"), ".cache", "peft4j");
    }

    static ModelFiles resolve(String alias) {
        String coordinates = minilmCoordinates();
        String version = coordinates.substring(coordinates.lastIndexOf(':') + 1);
        Path dir = cacheRoot().resolve("models").resolve(MINILM + "-" + version);
        Path onnx = dir.resolve("model.onnx");
        Path tokenizer = dir.resolve("tokenizer.json");
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(onnx) || !Files.isRegularFile(tokenizer)) {
            extract(coordinates, Map.of(ONNX_ENTRY, onnx, TOKENIZER_ENTRY, tokenizer));
        }
        if (!Files.isRegularFile(config)) {
            AtomicFiles.writeString(config, MINILM_CONFIG);
        }
        return new ModelFiles(dir, config, onnx, tokenizer);
    }

    private static void extract(String coordinates, Map<String, Path> entries) {
        extract(coordinates, entries, BundledModels.class.getClassLoader(), localRepository());
    }

    /**
     * The entries from the classpath (the jar is a dependency) or from the jar in the local Maven repository
     * {@code repository}; the library never runs a build tool or downloads anything itself.
     */
    static void extract(String coordinates, Map<String, Path> entries, ClassLoader loader, Path repository) {
        if (entries.keySet().stream().allMatch(e -> loader.getResource(e) != null)) {
            entries.forEach((entry, target) -> AtomicFiles.write(target, tmp -> {
                try (InputStream in = loader.getResourceAsStream(entry)) {
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                }
            }));
            return;
        }
        Path jar = repositoryJar(repository, coordinates);
        if (!Files.isRegularFile(jar)) {
            throw new Peft4jException(
                    "the 'minilm' model needs the jar " + coordinates + ": add it to your dependencies or fetch it"
                            + " into the local Maven repository (mvn dependency:get -Dartifact=" + coordinates
                            + "); not found at " + jar);
        }
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            entries.forEach((entry, target) -> {
                ZipEntry e = zip.getEntry(entry);
                if (e == null) {
                    throw new Peft4jException(jar + ": no entry '" + entry + "'");
                }
                AtomicFiles.write(target, tmp -> {
                    try (InputStream in = zip.getInputStream(e)) {
                        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                    }
                });
            });
        } catch (IOException e) {
            throw new Peft4jException("cannot read " + jar + ": " + e, e);
        }
    }

    private static Path localRepository() {
        String repo = System.getProperty("maven.repo.local");
        return repo != null ? Path.of(repo) : Path.of(System.getProperty("user.home"), ".m2", "repository");
    }

    private static Path repositoryJar(Path root, String coordinates) {
        String[] gav = coordinates.split(":");
        return root.resolve(gav[0].replace('.', '/'))
                .resolve(gav[1])
                .resolve(gav[2])
                .resolve(gav[1] + "-" + gav[2] + ".jar");
    }
}
