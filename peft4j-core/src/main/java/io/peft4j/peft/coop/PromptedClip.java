package io.peft4j.peft.coop;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.peft4j.Peft4jException;
import io.peft4j.model.BlockStack;
import io.peft4j.model.Classifier;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.clip.ClipModel;
import io.peft4j.nn.PassContext;
import io.peft4j.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * CLIP classifying images by its active CoOp or CoCoOp adapter's learned prompts: logits = exp(logit_scale) ·
 * cos(image, text of each class's prompt). The class names are the adapter's own, or any others (CoOp's unified
 * context carries over to classes it was not trained on: base-to-new evaluation).
 */
public final class PromptedClip implements Classifier {

    private final ClipModel clip;
    private final ClassPrompts prompts;

    private PromptedClip(ClipModel clip, ClassPrompts prompts) {
        this.clip = clip;
        this.prompts = prompts;
    }

    /** Classifies among the active adapter's class names. */
    public static PromptedClip of(ClipModel clip) {
        PromptContext c = config(clip).context();
        return of(clip, c.classNames());
    }

    /** Classifies among {@code classNames} with the active adapter's context (a unified one, when they are not its own). */
    public static PromptedClip of(ClipModel clip, List<String> classNames) {
        PromptContext c = config(clip).context();
        if (learner(clip).classSpecific() && !classNames.equals(c.classNames())) {
            throw new Peft4jException(
                    "class-specific contexts (csc) classify only the classes they were trained on, " + c.classNames());
        }
        try (Tokenizer tokenizer = clip.tokenizer()) {
            return new PromptedClip(
                    clip,
                    ClassPrompts.of(
                            tokenizer,
                            classNames,
                            c.nCtx(),
                            clip.config().text().maxPositionEmbeddings()));
        }
    }

    private static ContextConfig config(ClipModel clip) {
        return learner(clip).config();
    }

    private static PromptLearner learner(ClipModel clip) {
        if (!(clip.promptLearners() instanceof PromptLearners learners)) {
            throw new Peft4jException("a prompted CLIP needs a CoOp or CoCoOp adapter; the model has none");
        }
        return learners.active(clip.adapters().active());
    }

    public List<String> classNames() {
        return prompts.classNames();
    }

    @Override
    public int numLabels() {
        return prompts.size();
    }

    @Override
    public NDManager manager() {
        return clip.manager();
    }

    @Override
    public PassContext.Adapters adapters() {
        return clip.adapters();
    }

    /** pixel_values [B, 3, H, W] → [B, classes] */
    @Override
    public NDArray logits(PassContext step, ModelInputs inputs) {
        PromptLearner learner = learner(clip);
        NDArray image = ClipModel.normalised(clip.imageEmbeddings(step, inputs.pixelValues())); // [B, P]
        NDArray ctx = learner.contexts(step, image); // [G, n, D], G = 1, classes or B
        NDArray text = ClipModel.normalised(textFeatures(
                step, ctx, learner.classSpecific(), learner.config().context().classTokenPosition())); // [G', C, P]
        NDArray scale = clip.logitScale(step);
        if (text.getShape().get(0) == 1) {
            return image.matMul(text.squeeze(0).transpose()).mul(scale); // [B, C]
        }
        return image.expandDims(1)
                .mul(text)
                .sum(new int[] {-1})
                .mul(scale); // CoCoOp: image b against its own prompts [B, C]
    }

    /**
     * Each class's prompt embeddings with the context placed (SOS, context and name in the configured order, then ".",
     * EOS and padding), through the text tower: [G', C, P], G' = B for CoCoOp, else 1.
     */
    private NDArray textFeatures(
            PassContext step, NDArray ctx, boolean classSpecific, PromptContext.Position position) {
        NDManager scope = step.scope();
        long[] flat = new long[prompts.size() * prompts.length()];
        for (int c = 0; c < prompts.size(); c++) {
            System.arraycopy(prompts.ids()[c], 0, flat, c * prompts.length(), prompts.length());
        }
        NDArray words = clip.tokenEmbeddings(
                step, scope.create(flat, new Shape(prompts.size(), prompts.length()))); // [C, T, D]
        Shape cs = ctx.getShape();
        long groups = classSpecific ? 1 : cs.get(0);
        int n = prompts.nCtx();
        int half = n / 2;
        List<NDArray> perClass = new ArrayList<>();
        for (int c = 0; c < prompts.size(); c++) {
            int len = prompts.nameLengths()[c];
            NDArray row =
                    words.get(c).expandDims(0).broadcast(new Shape(groups, prompts.length(), cs.get(2))); // [G, T, D]
            NDArray context = classSpecific ? ctx.get(new NDIndex("{}:{}", c, c + 1)) : ctx; // [G, n, D]
            NDArray sos = row.get(":, :1, :");
            NDArray name = row.get(new NDIndex(":, {}:{}, :", 1 + n, 1 + n + len));
            NDArray rest = row.get(new NDIndex(":, {}:, :", 1 + n + len)); // ". EOS pad"
            NDArray prompt = switch (position) {
                case END -> sos.concat(context, 1).concat(name, 1).concat(rest, 1);
                case FRONT -> sos.concat(name, 1).concat(context, 1).concat(rest, 1);
                case MIDDLE ->
                    sos.concat(context.get(":, :" + half + ", :"), 1)
                            .concat(name, 1)
                            .concat(context.get(":, " + half + ":, :"), 1)
                            .concat(rest, 1);
            };
            perClass.add(prompt.expandDims(1)); // [G, 1, T, D]
        }
        NDArray all = NDArrays.concat(new NDList(perClass), 1); // [G, C, T, D]
        int[] eos = new int[(int) (groups * prompts.size())];
        for (int i = 0; i < eos.length; i++) {
            eos[i] = prompts.eos()[i % prompts.size()];
        }
        NDArray features = clip.textEmbeddingsOf(
                step, all.reshape(groups * prompts.size(), prompts.length(), cs.get(2)), eos); // [G·C, P]
        return features.reshape(groups, prompts.size(), -1);
    }

    /** The whole pass in one stage (the image tower is frozen: nothing to checkpoint there). */
    @Override
    public BlockStack.Pass<NDArray> logitsPass(PassContext step, ModelInputs inputs) {
        throw new Peft4jException("CoOp and CoCoOp train without gradient checkpointing or quantisation");
    }
}
