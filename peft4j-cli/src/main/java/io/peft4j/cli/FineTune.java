package io.peft4j.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.io.AtomicFiles;
import io.peft4j.io.Json;
import io.peft4j.io.SafeTensorsWriter;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.bert.BertClassifier;
import io.peft4j.nn.Module;
import io.peft4j.nn.ParameterCount;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.Evaluation;
import io.peft4j.train.SequenceClassificationTask;
import io.peft4j.train.Trainer;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.TrainingListener;
import io.peft4j.train.TextExample;
import io.peft4j.train.data.Splits;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** One fine-tuning run of a sequence classifier: the work behind {@code train}, {@code quickstart} and the benchmarks. */
public final class FineTune {

    /** How the backbone is adapted. */
    public enum Method {
        /** LoRA on the chosen linear layers, plus the classifier trained in full (HF PEFT's SEQ_CLS). */
        LORA,
        /** Frozen backbone, only the classifier trains: the linear probe. */
        FIXED,
        /** Every parameter trains. */
        FULL
    }

    public record Settings(String model, Method method, int r, double alpha, double dropout, List<String> targets,
                    TrainingArgs args, int maxLength, Path output) {}

    public record Outcome(Method method, Evaluation test, Trainer.Result result, ParameterCount params, double seconds) {}

    private FineTune() {}

    /** Sequence classification (one label per text). */
    public static Outcome run(Settings s, Splits<TextExample> data, String datasetName, PrintStream progress) {
        return run(s, data, BertClassifier.Head.SEQUENCE, SequenceClassificationTask::new, datasetName, progress);
    }

    /** Token classification (one tag per word). */
    public static Outcome runTokens(Settings s, Splits<io.peft4j.train.TaggedSentence> data, String datasetName, PrintStream progress) {
        return run(s, data, BertClassifier.Head.TOKEN, io.peft4j.train.TokenClassificationTask::new, datasetName, progress);
    }

    private static <E> Outcome run(Settings s, Splits<E> data, BertClassifier.Head head,
                                   java.util.function.BiFunction<BertClassifier, Tokenizer, io.peft4j.train.TrainingTask<E>> newTask,
                                   String datasetName, PrintStream progress) {
        long start = System.nanoTime();
        ModelFiles files = ModelFiles.resolve(s.model());
        try (NDManager manager = NDManager.newBaseManager(); Tokenizer tokenizer = Tokenizer.load(files.requireTokenizer(), s.maxLength())) {
            Engine.getInstance().setRandomSeed((int) s.args().seed());
            BertClassifier classifier = BertClassifier.load(files, manager, head, data.labels().size());
            Module trained;
            PeftModel peft = null;
            if (s.method() == Method.LORA) {
                LoraConfig config = LoraConfig.builder().r(s.r()).loraAlpha(s.alpha()).loraDropout(s.dropout())
                        .targetModules(s.targets().toArray(String[]::new)).taskType(head == BertClassifier.Head.TOKEN ? TaskType.TOKEN_CLS : TaskType.SEQ_CLS).build();
                peft = PeftModel.wrap(classifier, config);
                trained = peft;
            } else {
                classifier.freezeAll();
                classifier.unfreeze(name -> s.method() == Method.FULL || name.startsWith("classifier."));
                trained = classifier;
            }
            ParameterCount params = trained.parameterCount();
            progress.println(s.method() + ": " + params);
            io.peft4j.train.TrainingTask<E> task = newTask.apply(classifier, tokenizer);
            List<Double> stepLoss = new ArrayList<>();
            ProgressBar bar = new ProgressBar(progress, s.method().name().toLowerCase(java.util.Locale.ROOT));
            TrainingListener listener = new TrainingListener() {
                @Override
                public void onStep(StepInfo info) {
                    stepLoss.add(info.loss());
                    bar.onStep(info);
                }

                @Override
                public void onEpoch(EpochInfo info) {
                    bar.onEpoch(info);
                }
            };
            TrainingArgs args = data.validation().isEmpty() ? s.args().toBuilder().keepBest(false).build() : s.args();
            Trainer.Result result = new Trainer<>(trained, task, args, listener)
                    .train(data.train(), data.validation().isEmpty() ? null : data.validation());
            Evaluation test = data.test().isEmpty() ? null : task.evaluate(data.test(), args.evalBatchSize());
            double seconds = (System.nanoTime() - start) / 1e9;
            if (s.output() != null) {
                save(s, peft, classifier, data.labels(), datasetName, params, result, test, seconds, stepLoss);
            }
            return new Outcome(s.method(), test, result, params, seconds);
        }
    }

    private static void save(Settings s, PeftModel peft, BertClassifier classifier, io.peft4j.train.data.LabelSet labels,
                             String dataset, ParameterCount params,
                             Trainer.Result result, Evaluation test, double seconds, List<Double> stepLoss) {
        if (peft != null) {
            peft.save(s.output().resolve("adapter"));
            AdaptedClassifier.writeLabels(s.output().resolve("adapter"), labels);
        } else {
            Map<String, ai.djl.ndarray.NDArray> weights = new java.util.TreeMap<>();
            classifier.namedParameters().forEach((k, p) -> {
                if (s.method() == Method.FULL || k.startsWith("classifier.")) {
                    weights.put(k, p.array());
                }
            });
            String file = s.method() == Method.FULL ? "model.safetensors" : "head.safetensors";
            SafeTensorsWriter.write(s.output().resolve(file), weights, Map.of("format", "pt"));
        }
        ObjectNode m = Json.MAPPER.createObjectNode();
        m.put("model", s.model());
        m.put("dataset", dataset);
        m.put("method", s.method().name().toLowerCase(java.util.Locale.ROOT));
        m.put("trainable_params", params.trainable());
        m.put("all_params", params.all());
        m.put("trainable_percent", params.trainablePercent());
        m.put("steps", result.steps());
        m.put("tokens_per_second", result.tokensPerSecond());
        m.put("seconds", seconds);
        m.put("best_epoch", result.bestEpoch() + 1);
        ArrayNode history = m.putArray("epochs");
        List<Double> accuracy = new ArrayList<>();
        for (TrainingListener.EpochInfo e : result.history()) {
            ObjectNode h = history.addObject();
            h.put("epoch", e.epoch() + 1);
            h.put("train_loss", e.trainLoss());
            if (e.eval() != null) {
                h.put("eval_loss", e.eval().loss());
                h.put("eval_accuracy", e.eval().accuracy());
                h.put("eval_macro_f1", e.eval().macroF1());
                accuracy.add(e.eval().accuracy());
            }
        }
        if (test != null) {
            ObjectNode t = m.putObject("test");
            t.put("loss", test.loss());
            t.put("accuracy", test.accuracy());
            t.put("macro_f1", test.macroF1());
            t.put("examples", test.examples());
        }
        AtomicFiles.writeString(s.output().resolve("metrics.json"), m.toPrettyString() + "\n");
        SvgChart.write(s.output().resolve("curve.svg"), s.method() + " on " + dataset, stepLoss, accuracy);
    }
}
