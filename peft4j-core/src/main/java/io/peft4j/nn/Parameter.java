package io.peft4j.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;

/**
 * A named tensor owned by a {@link Module}, living in the model's long-lived manager. A trainable
 * parameter has gradients recorded for it inside a {@code GradientCollector}.
 */
public final class Parameter {

    private NDArray value;
    private boolean trainable;
    private final int weightsPerElement;

    Parameter(NDArray value) {
        this(value, 1, true);
    }

    /** A parameter whose elements each hold {@code weightsPerElement} weights (4-bit codes: two per byte), frozen or not. */
    Parameter(NDArray value, int weightsPerElement, boolean trainable) {
        this.value = value;
        this.weightsPerElement = weightsPerElement;
        setTrainable(trainable);
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

    /** The model weights this parameter stands for: its size, times two for packed 4-bit codes. */
    public long weightCount() {
        return value.size() * weightsPerElement;
    }

    public boolean isTrainable() {
        return trainable;
    }

    /** Whether this is a buffer (running statistics): stored with the weights, never trained, not counted. */
    public boolean isBuffer() {
        return weightsPerElement == 0;
    }

    /** Sets whether this parameter trains; a buffer never does, and asking it to is ignored. */
    public void setTrainable(boolean trainable) {
        if (isBuffer()) {
            return;
        }
        if (trainable && !value.getDataType().isFloating()) {
            throw new Peft4jException("a " + value.getDataType() + " parameter (quantised weights) cannot train");
        }
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
