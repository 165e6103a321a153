package io.peft4j.train;

/** One text with its class index. */
public record TextExample(String text, int label) {}
