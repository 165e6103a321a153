package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * A named tensor owned by a {@link Module}, living in the model's long-lived manager. A trainable
 * parameter has gradients recorded for it inside a {@code GradientCollector}.
 */
public final class Parameter {

    private NDArray value;
    private boolean trainable;

    Parameter(NDArray value) {
        this.value = value;
        setTrainable(true);
    }

    public NDArray array() {
        return value;
    }

    public Shape shape() {
        return value.getShape();
    }

    public long size() {
        return value.size();
    }

    public boolean isTrainable() {
        return trainable;
    }

    public void setTrainable(boolean trainable) {
        this.trainable = trainable;
        value.setRequiresGradient(trainable);
    }

    /**
     * Replaces the value (same shape expected; checked by the caller that knows the name). The new array
     * is attached to the old one's manager and the old one is closed.
     */
    public void set(NDArray newValue) {
        if (newValue == value) {
            return;
        }
        newValue.attach(value.getManager());
        NDArray old = value;
        value = newValue;
        old.close();
        value.setRequiresGradient(trainable);
    }
}
