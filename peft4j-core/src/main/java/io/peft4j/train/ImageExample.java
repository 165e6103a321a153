package io.peft4j.train;

import java.nio.file.Path;

/** An image file and its class index. */
public record ImageExample(Path file, int label) {}
