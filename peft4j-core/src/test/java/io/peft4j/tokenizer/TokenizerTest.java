package io.peft4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.Peft4jException;
import io.peft4j.io.Json;
import io.peft4j.model.ModelFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bundled all-MiniLM-L6-v2 tokenizer (BERT uncased WordPiece vocabulary). */
class TokenizerTest {

    static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(ModelFiles.resolve("minilm").requireTokenizer(), 16);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void encodesWithSpecialTokensAndPadsToTheLongest() {
        // [CLS]=101, hello=7592, world=2088, [SEP]=102, [PAD]=0 in the BERT uncased vocabulary
        BatchEncoding b = tokenizer.encode(List.of("Hello world", "hello"));
        assertThat(b.inputIds()[0]).containsExactly(101, 7592, 2088, 102);
        assertThat(b.inputIds()[1]).containsExactly(101, 7592, 102, 0);
        assertThat(b.attentionMask()[1]).containsExactly(1, 1, 1, 0);
        assertThat(b.tokenTypeIds()[0]).containsOnly(0);
        assertThat(b.tokens(0)).isEqualTo(4);
        assertThat(tokenizer.decode(b.inputIds()[0], true)).isEqualTo("hello world");
    }

    @Test
    void truncatesToMaxLength() {
        BatchEncoding b = tokenizer.encode(List.of(
                "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"));
        assertThat(b.length()).isEqualTo(16);
        assertThat(b.inputIds()[0][0]).isEqualTo(101);
        assertThat(b.inputIds()[0][15]).isEqualTo(102);
    }

    @Test
    void pairsGetTokenTypeOneForTheSecondText() {
        BatchEncoding b = tokenizer.encodePairs(List.of("hello"), List.of("world"));
        assertThat(b.inputIds()[0]).containsExactly(101, 7592, 102, 2088, 102);
        assertThat(b.tokenTypeIds()[0]).containsExactly(0, 0, 0, 1, 1);
    }

    @Test
    void badInputIsReported() {
        assertThatThrownBy(() -> Tokenizer.load(Path.of("/nonexistent/tokenizer.json"), 8))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("/nonexistent/tokenizer.json");
        assertThatThrownBy(() -> tokenizer.encode(List.of())).isInstanceOf(IllegalArgumentException.class);
    }

    /** A BPE file whose unknown token is missing from its vocabulary would abort the JVM in the tokenizers library: refused. */
    @Test
    void refusesAnUnknownTokenOutsideTheVocabulary(@TempDir Path dir) throws Exception {
        ObjectNode json = (ObjectNode) Json.readObject(Path.of("src/test/resources/clip/tokenizer.json"));
        ((ObjectNode) json.path("model").path("vocab")).remove("<|endoftext|>");
        Path file = Files.writeString(dir.resolve("tokenizer.json"), json.toString());
        Assertions.assertThatThrownBy(() -> Tokenizer.load(file, 16))
                .hasMessageContaining("tokenizer.json")
                .hasMessageContaining("the BPE unk_token '<|endoftext|>' is not in its vocabulary");
    }
}
