package io.peft4j.train;

import ai.djl.ndarray.NDManager;
import io.peft4j.image.ImageProcessor;
import io.peft4j.model.Classifier;
import io.peft4j.model.ModelInputs;
import java.util.List;

/** Image classification: each image file decoded and processed as the model's image processor does, one label per image. */
public final class ImageClassificationTask extends SingleLabelTask<ImageExample> {

    private final ImageProcessor processor;

    public ImageClassificationTask(Classifier model, ImageProcessor processor) {
        super(model);
        this.processor = processor;
    }

    /** pixel_values [B, 3, H, W]; the throughput unit is the image. */
    @Override
    protected Inputs inputs(List<ImageExample> batch, NDManager manager) {
        return new Inputs(ModelInputs.pixels(processor.pixelValues(batch.stream().map(ImageExample::file).toList(), manager)), batch.size());
    }

    @Override
    protected int label(ImageExample example) {
        return example.label();
    }
}
