package io.peft4j.train;

import io.peft4j.Peft4jException;

/** The loss became NaN or infinite; training stopped (the last checkpoint, if any, is intact). */
public class TrainingDivergedException extends Peft4jException {

    public TrainingDivergedException(String message) {
        super(message);
    }
}
