package io.peft4j.cli.method;

import picocli.CommandLine.Option;

/** {@code --task video-cls}: the frames sampled from each clip, which AIM also takes as its clip length. */
public final class FrameOptions {

    @Option(
            names = "--frames",
            description = "video-cls: frames sampled uniformly from each clip (default: ${DEFAULT-VALUE}).")
    public int frames = 8;
}
