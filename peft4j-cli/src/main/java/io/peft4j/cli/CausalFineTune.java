package io.peft4j.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.peft4j.Peft4jException;
import io.peft4j.cli.method.MethodCommandLine;
import io.peft4j.cli.method.MethodCommandLines;
import io.peft4j.cli.method.MethodOptions;
import io.peft4j.io.AtomicFiles;
import io.peft4j.io.Json;
import io.peft4j.model.CausalLM;
import io.peft4j.model.ModelFiles;
import io.peft4j.nn.ParameterCount;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.quant.ModelQuantizer;
import io.peft4j.tokenizer.ChatTemplate;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.Evaluation;
import io.peft4j.train.Trainer;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.TrainingListener;
import io.peft4j.train.data.CausalExample;
import io.peft4j.train.data.InstructionData;
import io.peft4j.train.task.CausalLmTask;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Instruction tuning of a decoder: {@code train --task causal-lm}. */
final class CausalFineTune {

    /** Methods that apply to decoders. */
    record Outcome(ParameterCount params, Evaluation eval, Trainer.Result result, double seconds, int examples) {}

    private CausalFineTune() {}

    /**
     * @param data    train file and optionally a validation file (Alpaca .json or chat .jsonl)
     * @param teacher a decoder to distil from token by token (same tokenizer), or null
     */
    static Outcome run(
            String model,
            ModelQuantizer.Settings quantize,
            Method method,
            MethodOptions options,
            TrainingArgs args,
            int maxLength,
            boolean pack,
            List<Path> data,
            Path output,
            TrainingPlugins.Teacher teacher,
            PrintStream progress) {
        if (!method.causalLm()) {
            throw new Peft4jException("method '" + method.id() + "' is not available for causal-lm; use one of "
                    + MethodCommandLines.names(MethodCommandLine.Choice::causalLm).stream()
                            .sorted()
                            .toList());
        }
        if (data.isEmpty() || data.size() > 2) {
            throw new Peft4jException("causal-lm takes --data TRAIN[,VALIDATION]");
        }
        long start = System.nanoTime();
        ModelFiles files = ModelFiles.resolve(model);
        try (NDManager manager = NDManager.newBaseManager();
                Tokenizer tokenizer = Tokenizer.load(files.requireTokenizer(), maxLength)) {
            Engine.getInstance().setRandomSeed((int) args.seed());
            CausalLM lm = Decoder.loadModel(files, manager, quantize);
            ChatTemplate template = ChatTemplate.forModel(files.dir());
            List<CausalExample> train = examples(data.get(0), lm, tokenizer, template, maxLength, pack, progress);
            List<CausalExample> eval = data.size() == 2
                    ? examples(data.get(1), lm, tokenizer, template, maxLength, false, progress)
                    : null;
            PeftModel peft = PeftModel.wrap(lm, method.config(TaskType.CAUSAL_LM, options));
            ParameterCount params = peft.parameterCount();
            progress.println(method.label() + ": " + params);
            ProgressBar bar = new ProgressBar(progress, method.id());
            CausalLmTask task = new CausalLmTask(lm);
            if (teacher != null) {
                CausalLM teacherLm =
                        Decoder.loadModel(ModelFiles.resolve(teacher.model()), manager, teacher.quantize());
                if (teacher.adapter() != null) {
                    PeftModel.load(teacherLm, teacher.adapter());
                }
                teacherLm.setTraining(false);
                task.distillFrom(teacherLm, teacher.distillation());
            }
            TrainingArgs effective = FineTune.identified(
                    args.toBuilder().bestMetric("loss").keepBest(eval != null).build(),
                    files,
                    peft,
                    Map.of(
                            "task",
                            "causal-lm",
                            "max_length",
                            Integer.toString(maxLength),
                            "pack",
                            Boolean.toString(pack),
                            "quantize",
                            String.valueOf(quantize),
                            "teacher",
                            teacher == null
                                    ? "none"
                                    : teacher.identity() + ", alpha "
                                            + teacher.distillation().alpha() + ", temperature "
                                            + teacher.distillation().temperature()));
            Trainer.Result result = new Trainer<>(peft, task, effective, new TrainingListener() {
                        @Override
                        public void onStep(StepInfo info) {
                            bar.onStep(info);
                        }

                        @Override
                        public void onEpoch(EpochInfo info) {
                            bar.onEpoch(info);
                        }
                    })
                    .train(train, eval);
            double seconds = (System.nanoTime() - start) / 1e9;
            peft.save(output.resolve("adapter"));
            writeMetrics(output, model, method, params, result, seconds, train.size());
            return new Outcome(params, result.best(), result, seconds, train.size());
        }
    }

    /** Tokenised examples; those left with no trained token after cutting to {@code maxLength} are dropped (and counted). */
    private static List<CausalExample> examples(
            Path file,
            CausalLM lm,
            Tokenizer tokenizer,
            ChatTemplate template,
            int maxLength,
            boolean pack,
            PrintStream progress) {
        boolean alpaca = !file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".jsonl");
        Long eos = (alpaca || template.isPlain()) && !lm.eosTokenIds().isEmpty()
                ? lm.eosTokenIds().get(0)
                : null;
        List<CausalExample> out = new ArrayList<>();
        int dropped = 0;
        for (List<InstructionData.Segment> segments : InstructionData.read(file, template)) {
            CausalExample e = InstructionData.tokenise(tokenizer, segments, eos, maxLength);
            if (e.trainedTokens() == 0) {
                dropped++;
            } else {
                out.add(e);
            }
        }
        if (dropped > 0) {
            progress.printf(
                    "%s: %d example(s) dropped: no response token left within %d tokens%n", file, dropped, maxLength);
        }
        if (out.isEmpty()) {
            throw new Peft4jException(file + ": no example has a response within " + maxLength + " tokens");
        }
        return pack ? InstructionData.pack(out, maxLength) : out;
    }

    private static void writeMetrics(
            Path output,
            String model,
            Method method,
            ParameterCount params,
            Trainer.Result result,
            double seconds,
            int examples) {
        ObjectNode m = Json.MAPPER.createObjectNode();
        m.put("model", model);
        m.put("task", "causal-lm");
        m.put("method", method.id());
        m.put("trainable_params", params.trainable());
        m.put("all_params", params.all());
        m.put("trainable_percent", params.trainablePercent());
        m.put("train_examples", examples);
        m.put("steps", result.steps());
        m.put("tokens_per_second", result.tokensPerSecond());
        m.put("seconds", seconds);
        m.put("peak_rss_mib", FineTune.peakRssMib());
        var epochs = m.putArray("epochs");
        for (TrainingListener.EpochInfo e : result.history()) {
            ObjectNode h = epochs.addObject();
            h.put("epoch", e.epoch() + 1);
            h.put("train_loss", e.trainLoss());
            if (e.eval() != null) {
                h.put("eval_loss", e.eval().loss());
                h.put("eval_perplexity", Math.exp(e.eval().loss()));
                h.put("eval_token_accuracy", e.eval().accuracy());
            }
        }
        AtomicFiles.writeString(output.resolve("metrics.json"), m.toPrettyString() + "\n");
    }
}
