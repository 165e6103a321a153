package io.peft4j.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peft4j.Peft4jException;
import io.peft4j.io.FormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextFilesTest {

    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    @Test
    void readsJsonlAndCsvWithNamedOrNumericLabels() throws IOException {
        Path jsonl = write(
                "d.jsonl",
                "{\"text\": \"good movie\", \"label\": \"pos\"}\n\n{\"text\": \"bad, \\\"awful\\\"\", \"label\": \"neg\"}\n");
        Path csv = write("d.csv", "label,text\n1,\"hello, world\"\n0,\"two\nlines\"\n");
        List<TextFiles.Row> rows = TextFiles.read(jsonl);
        assertThat(rows)
                .containsExactly(
                        new TextFiles.Row("good movie", "pos", jsonl + ":1"),
                        new TextFiles.Row("bad, \"awful\"", "neg", jsonl + ":3"));
        LabelSet labels = LabelSet.of(rows.stream().map(TextFiles.Row::label).toList());
        assertThat(labels.names()).containsExactly("neg", "pos");
        assertThat(TextFiles.examples(rows, labels))
                .containsExactly(new TextExample("good movie", 1), new TextExample("bad, \"awful\"", 0));
        assertThat(TextFiles.read(csv))
                .extracting(TextFiles.Row::text, TextFiles.Row::label)
                .containsExactly(Tuple.tuple("hello, world", "1"), Tuple.tuple("two\nlines", "0"));
    }

    @Test
    void readsTaggedJsonlAndRejectsMismatchedLengths() throws IOException {
        Path ok = write("t.jsonl", "{\"tokens\": [\"The\", \"cat\"], \"tags\": [\"DET\", \"NOUN\"]}\n");
        List<TextFiles.TaggedRow> rows = TextFiles.readTagged(ok);
        assertThat(rows).containsExactly(new TextFiles.TaggedRow(List.of("The", "cat"), List.of("DET", "NOUN")));
        LabelSet labels = LabelSet.of(List.of("DET", "NOUN"));
        assertThat(TextFiles.sentences(rows, labels).get(0).tags()).containsExactly(0, 1);
        Path bad = write(
                "u.jsonl",
                "{\"tokens\": [\"a\"], \"tags\": [\"DET\"]}\n{\"tokens\": [\"a\", \"b\"], \"tags\": [\"DET\"]}\n");
        assertThatThrownBy(() -> TextFiles.readTagged(bad))
                .isInstanceOf(FormatException.class)
                .hasMessageContainingAll("u.jsonl", "line 2", "2 tokens but 1 tags");
        Path missing = write("v.jsonl", "{\"text\": \"a\"}\n");
        assertThatThrownBy(() -> TextFiles.readTagged(missing))
                .hasMessageContainingAll("v.jsonl", "line 1", "'tokens'");
    }

    @Test
    void badRowsAreReportedWithFileAndLine() throws IOException {
        Path emptyText =
                write("a.jsonl", "{\"text\": \"ok\", \"label\": \"x\"}\n{\"text\": \"  \", \"label\": \"y\"}\n");
        assertThatThrownBy(() -> TextFiles.read(emptyText))
                .isInstanceOf(FormatException.class)
                .hasMessageContainingAll("a.jsonl", "line 2", "empty 'text'");
        Path noLabel = write("b.jsonl", "{\"text\": \"ok\"}\n");
        assertThatThrownBy(() -> TextFiles.read(noLabel)).hasMessageContainingAll("b.jsonl", "line 1", "'label'");
        Path broken = write("c.jsonl", "{\"text\": \"ok\", \"label\": \"x\"}\n{\"text\": \n");
        assertThatThrownBy(() -> TextFiles.read(broken)).hasMessageContainingAll("c.jsonl", "line 2", "malformed JSON");
        Path empty = write("d.jsonl", "\n\n");
        assertThatThrownBy(() -> TextFiles.read(empty)).hasMessageContainingAll("d.jsonl", "no examples");
        Path csvMissing = write("e.csv", "text,label\nfine,a\n,b\n");
        assertThatThrownBy(() -> TextFiles.read(csvMissing)).hasMessageContainingAll("e.csv", "line 3", "'text'");
        assertThatThrownBy(() -> new LabelSet(List.of("a", "b")).index("c"))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("unknown label 'c'");
        assertThatThrownBy(() -> LabelSet.of(List.of("only"))).hasMessageContaining("at least 2 labels");
    }
}
