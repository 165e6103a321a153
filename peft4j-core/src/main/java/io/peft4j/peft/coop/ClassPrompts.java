package io.peft4j.peft.coop;

import io.peft4j.Peft4jException;
import io.peft4j.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The token ids of each class's prompt, as CoOp's reference code tokenises them: "X X … X name." (n placeholders the
 * context vectors replace), each row [SOS, X×n, name, ".", EOS] padded to the longest; with each name's token count
 * and each row's end-of-text position (where the text tower is pooled).
 */
public record ClassPrompts(List<String> classNames, int nCtx, long[][] ids, int[] nameLengths, int[] eos) {

    public static ClassPrompts of(Tokenizer tokenizer, List<String> classNames, int nCtx, int maxPositions) {
        String placeholders = String.join(" ", Collections.nCopies(nCtx, "X"));
        List<Long> x = tokenizer.encodeIds("X", false);
        if (x.size() != 1) {
            throw new Peft4jException("the tokenizer splits the placeholder 'X' into " + x.size()
                    + " tokens; CoOp needs a CLIP tokenizer");
        }
        List<List<Long>> rows = new ArrayList<>();
        int[] nameLengths = new int[classNames.size()];
        int[] eos = new int[classNames.size()];
        int longest = 0;
        for (int c = 0; c < classNames.size(); c++) {
            String name = classNames.get(c).replace('_', ' ');
            List<Long> row = tokenizer.encodeIds(placeholders + " " + name + ".", true);
            nameLengths[c] = tokenizer.encodeIds(name, false).size();
            eos[c] = row.size() - 1;
            if (eos[c] != 1 + nCtx + nameLengths[c] + 1
                    || !row.subList(1, 1 + nCtx).stream().allMatch(x.get(0)::equals)) {
                throw new Peft4jException("the prompt for class '" + classNames.get(c)
                        + "' does not tokenise as [SOS] X×" + nCtx + " name . [EOS]");
            }
            if (row.size() > maxPositions) {
                throw new Peft4jException("the prompt for class '" + classNames.get(c) + "' takes " + row.size()
                        + " tokens; CLIP's text tower takes " + maxPositions);
            }
            rows.add(row);
            longest = Math.max(longest, row.size());
        }
        long[][] ids = new long[rows.size()][longest];
        for (int c = 0; c < rows.size(); c++) {
            for (int i = 0; i < rows.get(c).size(); i++) {
                ids[c][i] = rows.get(c).get(i);
            }
        }
        return new ClassPrompts(List.copyOf(classNames), nCtx, ids, nameLengths, eos);
    }

    public int size() {
        return classNames.size();
    }

    public int length() {
        return ids[0].length;
    }
}
