package io.peft4j.train;

import ai.djl.ndarray.NDManager;
import io.peft4j.image.ImageProcessor;
import io.peft4j.model.Classifier;
import io.peft4j.model.ModelInputs;
import java.util.List;

/**
 * Image classification: each image file decoded and processed as the model's image processor does, one label per
 * image; with {@code augment}, training batches are randomly resized crops, flipped half the time
 * ({@link ImageProcessor#processAugmented}), drawn from libtorch's generator, which the trainer seeds per micro-batch.
 */
public final class ImageClassificationTask extends SingleLabelTask<ImageExample> {

    private final ImageProcessor processor;
    private final boolean augment;

    public ImageClassificationTask(Classifier model, ImageProcessor processor) {
        this(model, processor, false);
    }

    public ImageClassificationTask(Classifier model, ImageProcessor processor, boolean augment) {
        super(model);
        this.processor = processor;
        this.augment = augment;
    }

    /** pixel_values [B, 3, H, W]; the throughput unit is the image. */
    @Override
    protected Inputs inputs(List<ImageExample> batch, NDManager manager, boolean training) {
        java.util.Random random = augment && training
                ? new java.util.Random(manager.randomInteger(0, Long.MAX_VALUE, new ai.djl.ndarray.types.Shape(), ai.djl.ndarray.types.DataType.INT64).getLong())
                : null;
        return new Inputs(ModelInputs.pixels(processor.pixelValues(batch.stream().map(ImageExample::pixels).toList(), random, manager)), batch.size());
    }

    @Override
    protected int label(ImageExample example) {
        return example.label();
    }
}
