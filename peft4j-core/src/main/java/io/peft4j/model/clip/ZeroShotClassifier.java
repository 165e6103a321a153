package io.peft4j.model.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.nn.PassContext;
import io.peft4j.tokenizer.BatchEncoding;
import io.peft4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * CLIP zero-shot classification with prompt ensembling, as the CLIP paper's ImageNet notebook does it: each class's
 * weight is the normalised mean of the normalised text embeddings of its prompts ({@code template} with {@code {}}
 * replaced by the class name); an image's probabilities are the softmax of exp(logit_scale) · cos(image, weight).
 */
public final class ZeroShotClassifier {

    private final ClipModel clip;
    private final NDArray weights;
    private final List<String> labels;

    private ZeroShotClassifier(ClipModel clip, NDArray weights, List<String> labels) {
        this.clip = clip;
        this.weights = weights;
        this.labels = List.copyOf(labels);
    }

    /** The 80 prompt templates of OpenAI's ImageNet zero-shot notebook, in its order. */
    public static List<String> imagenetTemplates() {
        try (InputStream in = ZeroShotClassifier.class.getResourceAsStream("imagenet_templates.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8)
                    .lines()
                    .filter(l -> !l.isBlank())
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The class weights of {@code labels} under {@code templates}, kept in {@code manager} (the caller's, long-lived). */
    public static ZeroShotClassifier build(
            ClipModel clip, Tokenizer tokenizer, List<String> labels, List<String> templates, NDManager manager) {
        if (labels.size() < 2) {
            throw new IllegalArgumentException(
                    "zero-shot classification needs at least 2 labels, got " + labels.size());
        }
        if (templates.isEmpty()) {
            throw new IllegalArgumentException("no prompt templates given");
        }
        for (String t : templates) {
            if (!t.contains("{}")) {
                throw new IllegalArgumentException("prompt template '" + t + "' has no {} for the class name");
            }
        }
        NDArray all = null;
        for (String label : labels) {
            try (NDManager scope = manager.newSubManager()) {
                PassContext step = PassContext.inference(scope, clip.adapters());
                try (step) {
                    List<String> prompts = new ArrayList<>();
                    templates.forEach(t -> prompts.add(t.replace("{}", label)));
                    BatchEncoding enc = tokenizer.encode(prompts);
                    NDArray ids =
                            scope.create(flatten(enc.inputIds()), new Shape(prompts.size(), enc.inputIds()[0].length));
                    NDArray mask = scope.create(
                            flatten(enc.attentionMask()), new Shape(prompts.size(), enc.inputIds()[0].length));
                    NDArray perTemplate = ClipModel.normalised(clip.textEmbeddings(step, ids, mask)); // [n, P]
                    NDArray weight = ClipModel.normalised(perTemplate.mean(new int[] {0}, true)); // [1, P]
                    weight.attach(manager);
                    all = all == null ? weight : concat(all, weight, manager);
                }
            }
        }
        return new ZeroShotClassifier(clip, all, labels);
    }

    private static NDArray concat(NDArray a, NDArray b, NDManager manager) {
        NDArray c = a.concat(b, 0);
        c.attach(manager);
        a.close();
        b.close();
        return c;
    }

    private static long[] flatten(long[][] rows) {
        long[] out = new long[rows.length * rows[0].length];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, out, i * rows[0].length, rows[0].length);
        }
        return out;
    }

    public List<String> labels() {
        return labels;
    }

    /** The class weights [C, P], unit length. */
    public NDArray weights() {
        return weights;
    }

    /** pixel_values [B, C, H, W] → class probabilities [B, labels]. */
    public NDArray probabilities(PassContext step, NDArray pixels) {
        if (pixels.getShape().get(0) == 0) {
            throw new Peft4jException("no images given");
        }
        NDArray w = weights.duplicate();
        w.attach(step.scope());
        return clip.logitsPerImage(clip.imageEmbeddings(step, pixels), w, step).softmax(-1);
    }
}
