package io.peft4j.train.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.peft4j.image.ImageProcessor;
import io.peft4j.model.Classifier;
import io.peft4j.model.ModelInputs;
import io.peft4j.train.data.ImageExample;
import io.peft4j.train.data.ImageMixing;
import java.util.List;
import java.util.Random;

/**
 * Image classification: each image file decoded and processed as the model's image processor does, one label per
 * image; with {@code augment}, training batches are randomly resized crops, flipped half the time
 * ({@link ImageProcessor#processAugmented}), and with {@link ImageMixing} mixed (mixup, CutMix); the draws come from
 * libtorch's generator, which the trainer seeds per micro-batch.
 */
public final class ImageClassificationTask extends SingleLabelTask<ImageExample> {

    private final ImageProcessor processor;
    private final boolean augment;
    private final ImageMixing mixing;

    public ImageClassificationTask(Classifier model, ImageProcessor processor) {
        this(model, processor, false, ImageMixing.NONE);
    }

    public ImageClassificationTask(Classifier model, ImageProcessor processor, boolean augment) {
        this(model, processor, augment, ImageMixing.NONE);
    }

    public ImageClassificationTask(Classifier model, ImageProcessor processor, boolean augment, ImageMixing mixing) {
        super(model);
        this.processor = processor;
        this.augment = augment;
        this.mixing = mixing;
    }

    /** pixel_values [B, 3, H, W]; the throughput unit is the image. */
    @Override
    protected Inputs inputs(List<ImageExample> batch, NDManager manager, boolean training) {
        boolean mix = training && mixing.enabled() && batch.size() > 1;
        Random random = (augment || mix) && training
                ? new Random(manager.randomInteger(0, Long.MAX_VALUE, new Shape(), DataType.INT64)
                        .getLong())
                : null;
        NDArray pixels = processor.pixelValues(
                batch.stream().map(ImageExample::pixels).toList(), augment ? random : null, manager);
        if (!mix) {
            return new Inputs(ModelInputs.pixels(pixels), batch.size());
        }
        ImageMixing.Mixed mixed = mixing.apply(pixels, random);
        return new Inputs(ModelInputs.pixels(mixed.pixels()), batch.size(), new Mix(mixed.lambda()));
    }

    @Override
    protected int label(ImageExample example) {
        return example.label();
    }
}
