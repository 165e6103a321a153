package io.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peft4j.Peft4jException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Regression: a labels.json whose count differed from the adapter's head was silently replaced by "0", "1", ... */
class AdaptedClassifierTest {

    @TempDir
    Path dir;

    @Test
    void labelsMustMatchTheHead() throws Exception {
        assertThat(AdaptedClassifier.readLabels(dir, 2).names()).containsExactly("0", "1");
        Files.writeString(dir.resolve(AdaptedClassifier.LABELS_FILE), "{\"labels\": [\"ham\", \"spam\"]}");
        assertThat(AdaptedClassifier.readLabels(dir, 2).names()).containsExactly("ham", "spam");
        assertThatThrownBy(() -> AdaptedClassifier.readLabels(dir, 3))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("labels.json")
                .hasMessageContaining("2 labels")
                .hasMessageContaining("3 classes");
    }
}
