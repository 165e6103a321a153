package io.peft4j.cli;

import picocli.CommandLine.Option;

/** {@code train}'s options that belong to one or a few of its tasks; given for another task, they are refused. */
final class TaskOptions {

    private TaskOptions() {}

    /** image-cls, clip-cls: augmentation and batch mixing. */
    static final class Images {
        @Option(
                names = "--augment",
                description = "image-cls, clip-cls: train on random resized crops, flipped half the time "
                        + "(torchvision's RandomResizedCrop and RandomHorizontalFlip).")
        boolean augment;

        @Option(
                names = "--mixup",
                description = "image-cls, clip-cls: mixup with λ ~ Beta(α, α); α, 0: off (default: ${DEFAULT-VALUE}).")
        double mixup;

        @Option(
                names = "--cutmix",
                description = "image-cls, clip-cls: CutMix with λ ~ Beta(α, α); α, 0: off; with --mixup too, each "
                        + "batch takes one of them (default: ${DEFAULT-VALUE}).")
        double cutmix;
    }

    /** clip-pairs: MixGen. */
    static final class Pairs {
        @Option(
                names = "--mixgen",
                description = "clip-pairs: MixGen, pairs of each batch mixed with the next ones; 0: off "
                        + "(default: ${DEFAULT-VALUE}).")
        int mixgen;

        @Option(
                names = "--mixgen-lambda",
                description = "clip-pairs: MixGen's image weight λ (default: ${DEFAULT-VALUE}).")
        double mixgenLambda = 0.5;
    }

    /** clip-cls: CoOp's base-to-new evaluation. */
    static final class ClipPrompts {
        @Option(
                names = "--base-to-new",
                description = "clip-cls: train on the first half of the classes and report accuracy on base and new "
                        + "classes and their harmonic mean.")
        boolean baseToNew;
    }

    /** causal-lm: packing. */
    static final class CausalLm {
        @Option(names = "--pack", description = "causal-lm: concatenate examples into rows of --max-length tokens.")
        boolean pack;
    }

    /** The classification tasks whose head can come from the checkpoint. */
    static final class Head {
        @Option(
                names = "--new-head",
                description = "seq-cls, token-cls, image-cls, video-cls: start the classification head from random "
                        + "weights even when the model has one with as many classes (a new task, e.g. an "
                        + "MNIST-pretrained ViT on Fashion-MNIST).")
        boolean newHead;
    }
}
