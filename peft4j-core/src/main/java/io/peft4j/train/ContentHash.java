package io.peft4j.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Array;
import java.lang.reflect.RecordComponent;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * SHA-256 of what values hold, not of their identity: records by their components, arrays and lists element by
 * element, strings, numbers, booleans and enums by value, files by their name and bytes. Two training sets hash equal exactly when they hold the same
 * examples in the same order, which is what a resumed run must find again.
 */
public final class ContentHash {

    private ContentHash() {}

    /** The hex SHA-256 of {@code value}'s content. */
    public static String of(Object value) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            feed(digest, value);
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    private static void feed(MessageDigest d, Object v) {
        if (v == null) {
            d.update((byte) 0);
        } else if (v instanceof Record r) {
            d.update((byte) 1);
            for (RecordComponent c : r.getClass().getRecordComponents()) {
                try {
                    feed(d, c.getAccessor().invoke(r));
                } catch (ReflectiveOperationException e) {
                    throw new IllegalArgumentException(
                            "cannot read " + c.getName() + " of " + r.getClass().getSimpleName(), e);
                }
            }
        } else if (v instanceof Path path) { // a file by its name and bytes (a Path is also Iterable)
            d.update((byte) 6);
            text(d, path.toString());
            if (Files.isRegularFile(path)) {
                try {
                    d.update(Files.readAllBytes(path));
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read " + path, e);
                }
            }
        } else if (v instanceof byte[] a) {
            d.update((byte) 9);
            d.update(ByteBuffer.allocate(4).putInt(a.length).array());
            d.update(a);
        } else if (v instanceof int[] a) { // primitive arrays in bulk (images are large)
            d.update((byte) 7);
            ByteBuffer b = ByteBuffer.allocate(4 + 4 * a.length).putInt(a.length);
            for (int x : a) {
                b.putInt(x);
            }
            d.update(b.array());
        } else if (v instanceof long[] a) {
            d.update((byte) 8);
            ByteBuffer b = ByteBuffer.allocate(4 + 8 * a.length).putInt(a.length);
            for (long x : a) {
                b.putLong(x);
            }
            d.update(b.array());
        } else if (v.getClass().isArray()) {
            int n = Array.getLength(v);
            d.update((byte) 2);
            text(d, Integer.toString(n));
            for (int i = 0; i < n; i++) {
                feed(d, Array.get(v, i));
            }
        } else if (v instanceof Iterable<?> items) {
            d.update((byte) 3);
            for (Object item : items) {
                feed(d, item);
            }
            d.update((byte) 4);
        } else if (v instanceof CharSequence
                || v instanceof Number
                || v instanceof Boolean
                || v instanceof Enum<?>
                || v instanceof Character) {
            d.update((byte) 5);
            text(d, v.getClass().getSimpleName() + ":" + v);
        } else {
            throw new IllegalArgumentException(
                    "cannot hash the content of a " + v.getClass().getName());
        }
    }

    /** A length-prefixed string, so that ("ab", "c") and ("a", "bc") differ. */
    private static void text(MessageDigest d, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        d.update(Integer.toString(bytes.length).getBytes(StandardCharsets.US_ASCII));
        d.update((byte) ':');
        d.update(bytes);
    }
}
