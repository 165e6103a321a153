package io.peft4j.cli;

import io.peft4j.Peft4jException;
import io.peft4j.io.AtomicFiles;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * A training run's {@code --output} directory, claimed before anything is loaded: it must be a writable directory
 * (created if missing), it is locked for the run's lifetime so that a second run into it fails at once, and a finished
 * adapter in it is replaced only with {@code --overwrite} (which clears the previous run's files first).
 */
final class OutputDirectory implements AutoCloseable {

    static final String LOCK_FILE = ".peft4j.lock";
    /** What a training run writes; {@code --overwrite} removes these, nothing else. */
    private static final List<String> RUN_FILES = List.of("adapter", "checkpoints", "metrics.json", "curve.svg");

    private final FileChannel channel;
    private final FileLock lock;

    private OutputDirectory(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    static OutputDirectory claim(Path dir, boolean overwrite) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new Peft4jException("--output " + dir + " is a file, not a directory");
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new Peft4jException("cannot create --output directory " + dir + ": " + e.getMessage());
        }
        if (!Files.isWritable(dir)) {
            throw new Peft4jException("--output directory " + dir + " is not writable");
        }
        FileChannel channel;
        try {
            channel = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new Peft4jException("cannot write in --output directory " + dir + ": " + e.getMessage());
        }
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException | IOException e) {
            lock = null;
        }
        if (lock == null) {
            close(channel);
            throw new Peft4jException(
                    "another run is writing to " + dir + "; wait for it to finish or use another --output");
        }
        OutputDirectory claimed = new OutputDirectory(channel, lock);
        try {
            if (overwrite) {
                for (String name : RUN_FILES) {
                    AtomicFiles.deleteTree(dir.resolve(name));
                }
            } else if (Files.exists(dir.resolve("adapter")) && !Files.exists(dir.resolve("checkpoints"))) {
                throw new Peft4jException(
                        dir + " already holds a finished adapter; use --overwrite to replace it, or another --output");
            }
        } catch (IOException e) {
            claimed.close();
            throw new Peft4jException("cannot clear --output directory " + dir + ": " + e.getMessage());
        } catch (RuntimeException e) {
            claimed.close();
            throw e;
        }
        return claimed;
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException e) {
            // the channel's close releases it too
        }
        close(channel);
    }

    private static void close(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // nothing held is lost
        }
    }
}
