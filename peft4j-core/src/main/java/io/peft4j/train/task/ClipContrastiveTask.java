package io.peft4j.train.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.peft4j.Peft4jException;
import io.peft4j.image.ImageProcessor;
import io.peft4j.model.clip.ClipModel;
import io.peft4j.nn.PassContext;
import io.peft4j.tokenizer.BatchEncoding;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.Evaluation;
import io.peft4j.train.TrainingTask;
import io.peft4j.train.data.ImageTextExample;
import io.peft4j.train.data.MixGen;
import io.peft4j.train.loss.Losses;
import java.util.List;

/**
 * CLIP's contrastive training on image-text pairs: logits = exp(logit_scale) · cos(image i, text j) over the batch, loss
 * the mean of the image→text and text→image cross-entropies against the diagonal (the CLIP paper's); training batches
 * optionally mixed by {@link MixGen}. Evaluation: the loss, and image→text recall@1 over the whole evaluation set (as
 * accuracy; no macro-F1).
 */
public final class ClipContrastiveTask implements TrainingTask<ImageTextExample> {

    private final ClipModel clip;
    private final Tokenizer tokenizer;
    private final ImageProcessor processor;
    private final MixGen mixGen;

    public ClipContrastiveTask(ClipModel clip, Tokenizer tokenizer, ImageProcessor processor, MixGen mixGen) {
        this.clip = clip;
        this.tokenizer = tokenizer;
        this.processor = processor;
        this.mixGen = mixGen;
    }

    @Override
    public PassContext.Adapters adapters() {
        return clip.adapters();
    }

    /** Image and text embeddings [B, P] of a batch (mixed by MixGen in training). */
    private NDArray[] embeddings(List<ImageTextExample> batch, PassContext step, boolean training) {
        NDManager scope = step.scope();
        NDArray pixels = processor.pixelValues(
                batch.stream().map(ImageTextExample::pixels).toList(), scope); // [B, 3, H, W]
        List<String> texts = batch.stream().map(ImageTextExample::text).toList();
        if (training && mixGen.enabled()) {
            MixGen.Mixed mixed = mixGen.apply(pixels, texts);
            pixels = mixed.pixels();
            texts = mixed.texts();
        }
        BatchEncoding enc = tokenizer.encode(texts);
        return new NDArray[] {
            clip.imageEmbeddings(step, pixels), clip.textEmbeddings(step, enc.inputIds(scope), enc.attentionMask(scope))
        };
    }

    private static NDArray symmetricLoss(NDArray logits) {
        NDArray diagonal = logits.getManager().arange(0, (int) logits.getShape().get(0), 1, DataType.INT64);
        return Losses.crossEntropy(logits, diagonal)
                .add(Losses.crossEntropy(logits.transpose(), diagonal))
                .div(2);
    }

    @Override
    public Loss loss(List<ImageTextExample> batch, PassContext step) {
        if (batch.size() < 2) {
            throw new Peft4jException("contrastive training needs at least 2 pairs per batch");
        }
        NDArray[] e = embeddings(batch, step, true);
        return new Loss(symmetricLoss(clip.logitsPerImage(e[0], e[1], step)), batch.size());
    }

    @Override
    public Evaluation evaluate(List<ImageTextExample> examples, int batchSize) {
        try (NDManager scope = clip.manager().newSubManager();
                PassContext step = PassContext.inference(scope, clip.adapters())) {
            NDArray images = null;
            NDArray texts = null;
            for (int i = 0; i < examples.size(); i += batchSize) {
                try (PassContext chunk = PassContext.inference(scope.newSubManager(), clip.adapters())) {
                    NDArray[] e =
                            embeddings(examples.subList(i, Math.min(examples.size(), i + batchSize)), chunk, false);
                    e[0].attach(scope);
                    e[1].attach(scope);
                    images = images == null ? e[0] : images.concat(e[0], 0);
                    texts = texts == null ? e[1] : texts.concat(e[1], 0);
                    chunk.scope().close();
                }
            }
            NDArray logits = clip.logitsPerImage(images, texts, step); // [N, N]
            long[] best = logits.argMax(1).toLongArray();
            int hits = 0;
            for (int i = 0; i < best.length; i++) {
                hits += best[i] == i ? 1 : 0;
            }
            return new Evaluation(
                    symmetricLoss(logits).getFloat(), (double) hits / examples.size(), Double.NaN, examples.size());
        }
    }
}
