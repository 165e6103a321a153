package io.peft4j.train.data;

/** One text with its class index. */
public record TextExample(String text, int label) {}
