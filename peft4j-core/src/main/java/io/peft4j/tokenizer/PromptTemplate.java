package io.peft4j.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where P-tuning's pseudo tokens go around the input, as in Liu et al.'s {@code [P0..Pi] x [Pi+1..Pm] ?}:
 * {@code [P]} is one pseudo token, {@code [P4]} four, {@code {text}} the input, and any other text an
 * anchor kept as real tokens. Example: {@code "[P3] {text} [P3] ?"}. Pseudo token k is encoded as id
 * -(k+1); the model swaps in the prompt encoder's row k.
 */
public record PromptTemplate(List<Segment> segments) {

    /** One part of a template: pseudo tokens, the input text, or an anchor text. */
    public sealed interface Segment permits Pseudo, Input, Anchor {}

    public record Pseudo(int count) implements Segment {}

    public record Input() implements Segment {}

    public record Anchor(String text) implements Segment {}

    private static final Pattern PART = Pattern.compile("\\[P(\\d*)]|\\{text}");

    public PromptTemplate {
        segments = List.copyOf(segments);
    }

    public static PromptTemplate parse(String template) {
        List<Segment> out = new ArrayList<>();
        Matcher m = PART.matcher(template);
        int last = 0;
        int inputs = 0;
        while (m.find()) {
            addAnchor(out, template.substring(last, m.start()));
            if (m.group().equals("{text}")) {
                out.add(new Input());
                inputs++;
            } else {
                int count = m.group(1).isEmpty() ? 1 : Integer.parseInt(m.group(1));
                if (count <= 0) {
                    throw new IllegalArgumentException("template '" + template + "': [P0] places no pseudo token");
                }
                out.add(new Pseudo(count));
            }
            last = m.end();
        }
        addAnchor(out, template.substring(last));
        if (inputs != 1) {
            throw new IllegalArgumentException("template '" + template + "' must contain {text} exactly once");
        }
        return new PromptTemplate(out);
    }

    private static void addAnchor(List<Segment> out, String text) {
        if (!text.isBlank()) {
            out.add(new Anchor(text.strip()));
        }
    }

    /** The number of pseudo tokens the template places. */
    public int pseudoTokens() {
        return segments.stream()
                .mapToInt(s -> s instanceof Pseudo p ? p.count() : 0)
                .sum();
    }
}
