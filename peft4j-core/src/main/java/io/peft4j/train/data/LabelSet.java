package io.peft4j.train.data;

import io.peft4j.Peft4jException;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;

/** Class names and their indices: the sorted distinct names, index = position. */
public record LabelSet(List<String> names) {

    public LabelSet {
        names = List.copyOf(names);
        if (names.size() < 2) {
            throw new Peft4jException("a classification dataset needs at least 2 labels, found " + names);
        }
    }

    public static LabelSet of(Collection<String> labels) {
        return new LabelSet(List.copyOf(new TreeSet<>(labels)));
    }

    public int size() {
        return names.size();
    }

    public int index(String name) {
        int i = names.indexOf(name);
        if (i < 0) {
            throw new Peft4jException("unknown label '" + name + "'; known labels: " + names);
        }
        return i;
    }

    public String name(int index) {
        return names.get(index);
    }
}
