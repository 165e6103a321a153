package io.peft4j.nn;

/**
 * How an image's tokens lie in a sequence: {@code leading} tokens that are not patches ([CLS], DeiT's distillation
 * token, visual prompts), then {@code height} × {@code width} patches in row-major order. What adapters with spatial
 * operations (Mona's depthwise convolutions) need to put tokens back on their grid.
 */
public record TokenGrid(int leading, int height, int width) {

    public TokenGrid {
        if (leading < 0 || height <= 0 || width <= 0) {
            throw new IllegalArgumentException(
                    "invalid token grid: " + leading + " leading tokens, " + height + "×" + width + " patches");
        }
    }

    /** The tokens of a sequence laid out this way: leading + height · width. */
    public int tokens() {
        return leading + height * width;
    }
}
