package io.peft4j.train.data;

import java.util.List;

/** Words with one class index each (token classification). */
public record TaggedSentence(List<String> words, int[] tags) {

    public TaggedSentence {
        if (words.size() != tags.length || words.isEmpty()) {
            throw new IllegalArgumentException("need one tag per word and at least one word, got " + words.size()
                    + " words and " + tags.length + " tags");
        }
        words = List.copyOf(words);
    }
}
