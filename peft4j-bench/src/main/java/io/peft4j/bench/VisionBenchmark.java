package io.peft4j.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelInputs;
import io.peft4j.model.vit.ViTConfig;
import io.peft4j.model.vit.ViTModel;
import io.peft4j.nn.Parameter;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.CommonFields;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.peft.mona.MonaConfig;
import java.util.Locale;

/**
 * Training speed of vision PEFT on ViT-Small/16 (D 384, 12 layers, 6 heads, MLP 1536, 224×224 images, random weights):
 * images/s of a training step (forward, cross-entropy, backward; no optimizer update) for LoRA (query and value, r 8)
 * and Mona (n 64), each against the floor every method that adapts the first block pays, a frozen forward and backward
 * (only the head trains, the gradient still runs back through every block), measured in the same run.
 *
 * <p>Usage: {@code peft4j-bench/run VisionBenchmark [batch=8] [steps=6]}
 */
public final class VisionBenchmark {

    private VisionBenchmark() {}

    public static void main(String[] args) {
        System.out.println(Machine.describe());
        int batch = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int steps = args.length > 1 ? Integer.parseInt(args[1]) : 6;
        ViTConfig config = new ViTConfig("vit", 384, 12, 6, 1536, "gelu", 0f, 0f, 1e-12f, 0.02f, 224, 16, 3, true);
        System.out.printf(
                Locale.ROOT,
                "ViT-Small/16 (random weights), batch %d of 3x224x224 images, %d timed steps after 2 warm-up steps, %d threads%n",
                batch,
                steps,
                Runtime.getRuntime().availableProcessors());
        double frozen = imagesPerSecond(config, null, batch, steps, "frozen forward+backward");
        double lora = imagesPerSecond(
                config,
                LoraConfig.builder()
                        .r(8)
                        .loraAlpha(16)
                        .taskType(TaskType.SEQ_CLS)
                        .build(),
                batch,
                steps,
                "LoRA q,v r=8");
        double mona = imagesPerSecond(
                config, new MonaConfig(CommonFields.of(TaskType.SEQ_CLS), 64, 0.1), batch, steps, "Mona n=64");
        System.out.printf(Locale.ROOT, "LoRA / frozen: %.3f; Mona / frozen: %.3f%n", lora / frozen, mona / frozen);
    }

    /** Images/s of training steps with {@code method} (null: everything frozen but the head, gradients to the pixels). */
    private static double imagesPerSecond(ViTConfig config, PeftConfig method, int batch, int steps, String label) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(1);
            BackboneClassifier model =
                    new BackboneClassifier(new ViTModel(manager, config), BackboneClassifier.Head.SEQUENCE, 10);
            if (method != null) {
                PeftModel.wrap(model, method);
            } else {
                model.namedParameters().forEach((name, p) -> p.setTrainable(name.startsWith("classifier.")));
            }
            model.setTraining(true);
            long trainable = model.namedParameters().values().stream()
                    .filter(Parameter::isTrainable)
                    .mapToLong(Parameter::size)
                    .sum();
            long start = 0;
            for (int i = 0; i < steps + 2; i++) {
                if (i == 2) {
                    start = System.nanoTime();
                }
                try (NDManager scope = manager.newSubManager();
                        GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray pixels = scope.randomNormal(new Shape(batch, 3, 224, 224));
                    pixels.setRequiresGradient(method == null);
                    NDArray labels = scope.randomInteger(0, 10, new Shape(batch), DataType.INT64);
                    NDArray logits =
                            model.logits(PassContext.training(scope, model.adapters()), ModelInputs.pixels(pixels));
                    NDArray loss = logits.logSoftmax(-1)
                            .mul(labels.oneHot(10))
                            .sum()
                            .neg()
                            .div(batch);
                    gc.backward(loss);
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double rate = (double) batch * steps / seconds;
            System.out.printf(
                    Locale.ROOT, "%-24s %,10d trainable parameters  %6.2f images/s%n", label, trainable, rate);
            return rate;
        }
    }
}
