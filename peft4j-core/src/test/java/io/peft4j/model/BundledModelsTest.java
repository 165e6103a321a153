package io.peft4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peft4j.Peft4jException;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bundled model's jar is read from the classpath or the local Maven repository; the library never spawns a build
 * tool to fetch it (regression: it ran {@code mvn dependency:get}), and says what to add when the jar is missing.
 */
class BundledModelsTest {

    @TempDir
    Path dir;

    @Test
    void readsTheJarFromTheLocalRepositoryAndNamesItWhenMissing() throws Exception {
        String coordinates = BundledModels.minilmCoordinates();
        ClassLoader empty = new URLClassLoader(new URL[0], null);
        Path target = dir.resolve("out/tokenizer.json");
        Map<String, Path> entries = Map.of("all-minilm-l6-v2-tokenizer.json", target);
        assertThatThrownBy(() -> BundledModels.extract(coordinates, entries, empty, dir.resolve("empty-repo")))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining(coordinates)
                .hasMessageContaining("add it to your dependencies");
        assertThat(target).doesNotExist();

        // the real jar (a test dependency) laid out as in a Maven repository
        URL resource = getClass().getClassLoader().getResource("all-minilm-l6-v2-tokenizer.json");
        String url = resource.toString();
        Path jar = Path.of(new URI(url.substring("jar:".length(), url.indexOf("!/"))));
        String[] gav = coordinates.split(":");
        Path inRepo = dir.resolve("repo")
                .resolve(gav[0].replace('.', '/'))
                .resolve(gav[1])
                .resolve(gav[2])
                .resolve(gav[1] + "-" + gav[2] + ".jar");
        Files.createDirectories(inRepo.getParent());
        Files.copy(jar, inRepo);
        BundledModels.extract(coordinates, entries, empty, dir.resolve("repo"));
        assertThat(Files.readString(target)).startsWith("{");
    }
}
