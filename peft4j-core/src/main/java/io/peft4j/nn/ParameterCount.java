package io.peft4j.nn;

import java.util.Locale;

/** Trainable and total parameter counts, printed the way Hugging Face PEFT prints them. */
public record ParameterCount(long trainable, long all) {

    public double trainablePercent() {
        return all == 0 ? 0 : 100.0 * trainable / all;
    }

    /** {@code trainable params: 294,912 || all params: 124,734,720 || trainable%: 0.2364} */
    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "trainable params: %,d || all params: %,d || trainable%%: %.4f",
                trainable,
                all,
                trainablePercent());
    }
}
