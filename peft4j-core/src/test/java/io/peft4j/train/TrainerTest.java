package io.peft4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import io.peft4j.NativeTest;
import io.peft4j.Peft4jException;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.nn.PassContext;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.data.TextExample;
import io.peft4j.train.task.SequenceClassificationTask;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Trainer on the real all-MiniLM-L6-v2 with a LoRA adapter and a small two-topic text set. */
class TrainerTest extends NativeTest {

    static Tokenizer tokenizer;
    static List<TextExample> train;
    static List<TextExample> eval;

    @TempDir
    Path dir;

    @BeforeAll
    static void data() {
        tokenizer = Tokenizer.load(ModelFiles.resolve("minilm").requireTokenizer(), 32);
        String[] food = {
            "We cooked pasta with tomato sauce",
            "The bakery sells fresh bread every morning",
            "She ordered soup and a salad",
            "Grilled fish with lemon is my favourite dinner",
            "He baked a chocolate cake",
            "The restaurant serves spicy noodles",
            "Breakfast was eggs, toast and coffee",
            "They picked apples for a pie",
            "The chef seasoned the steak",
            "We had pizza with mushrooms",
            "Rice and beans make a cheap meal",
            "The cheese was aged for a year"
        };
        String[] money = {
            "The stock market fell sharply today",
            "Interest rates rose by half a point",
            "The bank approved the loan",
            "Investors sold their bonds",
            "The company reported record profits",
            "Inflation reduced household savings",
            "The central bank printed more money",
            "Shares of the firm doubled",
            "He paid off his mortgage early",
            "The budget deficit widened",
            "Currency markets were volatile",
            "The fund lost money on oil futures"
        };
        train = new ArrayList<>();
        eval = new ArrayList<>();
        for (int i = 0; i < food.length; i++) {
            (i % 4 == 3 ? eval : train).add(new TextExample(food[i], 0));
            (i % 4 == 3 ? eval : train).add(new TextExample(money[i], 1));
        }
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    /** A fresh MiniLM classifier with a LoRA adapter; libtorch seeded so adapter initialisation repeats. */
    static PeftModel model(NDManager m, long seed) {
        Engine.getInstance().setRandomSeed((int) seed);
        BackboneClassifier classifier =
                BackboneClassifier.load(ModelFiles.resolve("minilm"), m, BackboneClassifier.Head.SEQUENCE, 2);
        return PeftModel.wrap(
                classifier,
                LoraConfig.builder()
                        .r(4)
                        .loraAlpha(8)
                        .loraDropout(0.1)
                        .targetModules("query", "value")
                        .taskType(TaskType.SEQ_CLS)
                        .build());
    }

    static TrainingArgs.Builder args() {
        return TrainingArgs.builder()
                .epochs(3)
                .batchSize(4)
                .learningRate(2e-3)
                .warmupRatio(0.1)
                .seed(7);
    }

    private byte[] trainAndSave(TrainingArgs a, Path out, TrainingListener listener) throws IOException {
        try (NDManager m = manager.newSubManager()) {
            PeftModel peft = model(m, 7);
            BackboneClassifier classifier = (BackboneClassifier) peft.model();
            new Trainer<>(peft, new SequenceClassificationTask(classifier, tokenizer), a, listener).train(train, eval);
            peft.save(out);
            return Files.readAllBytes(out.resolve("adapter_model.safetensors"));
        }
    }

    @Test
    void learnsTheTaskAndOnlyTheAdapterChanges() {
        try (NDManager m = manager.newSubManager()) {
            PeftModel peft = model(m, 1);
            BackboneClassifier classifier = (BackboneClassifier) peft.model();
            Map<String, float[]> frozenBefore = new HashMap<>();
            peft.namedParameters().forEach((k, p) -> {
                if (!p.isTrainable() && k.contains("layer.0.")) {
                    frozenBefore.put(k, p.array().toFloatArray());
                }
            });
            SequenceClassificationTask task = new SequenceClassificationTask(classifier, tokenizer);
            double before = task.evaluate(eval, 16).loss();
            List<Double> stepLosses = new ArrayList<>();
            Trainer.Result result = new Trainer<>(peft, task, args().epochs(4).build(), new TrainingListener() {
                        @Override
                        public void onStep(StepInfo info) {
                            stepLosses.add(info.loss());
                            assertThat(info.tokensPerSecond()).isPositive();
                        }
                    })
                    .train(train, eval);
            assertThat(result.history()).hasSize(4);
            assertThat(result.best().accuracy()).isGreaterThanOrEqualTo(5 / 6.0);
            assertThat(result.best().loss()).isLessThan(before);
            assertThat(stepLosses).hasSize(4 * 5);
            frozenBefore.forEach((k, v) -> assertThat(
                            Arrays.equals(peft.namedParameters().get(k).array().toFloatArray(), v))
                    .as(k)
                    .isTrue());
        }
    }

    @Test
    void sameSeedGivesTheSameAdapterBytes() throws IOException {
        byte[] a = trainAndSave(args().build(), dir.resolve("a"), null);
        byte[] b = trainAndSave(args().build(), dir.resolve("b"), null);
        assertThat(a).isEqualTo(b);
    }

    /**
     * Garbage collection running all the time must not change a single loss: every tensor autograd keeps
     * for backward lives in libtorch memory (see Scalars), never in a Java buffer the collector may free.
     */
    @Test
    void trainingIsExactlyRepeatableUnderGarbageCollectionPressure() {
        Thread collector = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                System.gc();
                try {
                    Thread.sleep(3);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        collector.setDaemon(true);
        collector.start();
        try {
            List<Double> first = stepLosses();
            List<Double> second = stepLosses();
            assertThat(first).hasSize(9).doesNotContainNull();
            assertThat(second).isEqualTo(first);
        } finally {
            collector.interrupt();
        }
    }

    private List<Double> stepLosses() {
        List<Double> losses = new ArrayList<>();
        try (NDManager m = manager.newSubManager()) {
            PeftModel peft = model(m, 7);
            new Trainer<>(
                            peft,
                            new SequenceClassificationTask((BackboneClassifier) peft.model(), tokenizer),
                            args().gradientAccumulationSteps(2).build(),
                            new TrainingListener() {
                                @Override
                                public void onStep(StepInfo info) {
                                    losses.add(info.loss());
                                }
                            })
                    .train(train, eval);
        }
        return losses;
    }

    /** Killed after optimizer step 7 of 15 (mid-epoch 2) and resumed: the same adapter as without the kill. */
    @Test
    void resumedRunEndsWithTheSameAdapterAsAnUninterruptedOne() throws IOException {
        TrainingArgs a = args().gradientAccumulationSteps(2)
                .checkpointDir(dir.resolve("run"))
                .checkpointEvery(2)
                .build();
        byte[] uninterrupted = trainAndSave(args().gradientAccumulationSteps(2).build(), dir.resolve("plain"), null);
        AtomicInteger steps = new AtomicInteger();
        assertThatThrownBy(() -> trainAndSave(a, dir.resolve("killed"), new TrainingListener() {
                    @Override
                    public void onStep(StepInfo info) {
                        if (steps.incrementAndGet() == 7) {
                            throw new IllegalStateException("simulated kill");
                        }
                    }
                }))
                .hasMessage("simulated kill");
        assertThat(dir.resolve("run/checkpoint/trainer_state.json")).exists();
        byte[] resumed = trainAndSave(a, dir.resolve("resumed"), null);
        assertThat(resumed).isEqualTo(uninterrupted);
    }

    /** Runs {@code a} on the 18 training texts (5 batches of 4 an epoch), returning the result and each step's epoch. */
    private Trainer.Result budgeted(TrainingArgs a, List<Integer> stepEpochs) {
        try (NDManager m = manager.newSubManager()) {
            PeftModel peft = model(m, 7);
            return new Trainer<>(
                            peft,
                            new SequenceClassificationTask((BackboneClassifier) peft.model(), tokenizer),
                            a,
                            new TrainingListener() {
                                @Override
                                public void onStep(StepInfo info) {
                                    stepEpochs.add(info.epoch());
                                    assertThat(info.totalSteps())
                                            .isEqualTo(a.maxSteps() > 0 ? a.maxSteps() : 5L * a.epochs());
                                }
                            })
                    .train(train, eval);
        }
    }

    /** A budget of 7 optimizer steps: one whole epoch and 2 steps of the next, which is evaluated too, whatever the epochs say. */
    @Test
    void aStepBudgetDecidesHowLongTrainingRuns() {
        List<Integer> epochs = new ArrayList<>();
        Trainer.Result r = budgeted(args().epochs(1).maxSteps(7).build(), epochs);
        assertThat(r.steps()).isEqualTo(7);
        assertThat(epochs).containsExactly(0, 0, 0, 0, 0, 1, 1);
        assertThat(r.history()).hasSize(2).allSatisfy(h -> assertThat(h.eval()).isNotNull());
        assertThat(r.trainSeconds()).isPositive();
    }

    /** A training-time cap stops after the step that reaches it; a resumed run with its time spent trains no more. */
    @Test
    void aTimeCapStopsTrainingAndStaysSpentOnResume() {
        TrainingArgs a = args().maxTrainSeconds(1e-9)
                .checkpointDir(dir.resolve("capped"))
                .build();
        List<Integer> first = new ArrayList<>();
        Trainer.Result r = budgeted(a, first);
        assertThat(r.steps()).isEqualTo(1);
        assertThat(first).hasSize(1);
        assertThat(r.history()).hasSize(1);
        List<Integer> again = new ArrayList<>();
        Trainer.Result resumed = budgeted(a, again);
        assertThat(again).isEmpty();
        assertThat(resumed.steps()).isEqualTo(1);
        assertThat(resumed.history()).hasSize(1);
        assertThatThrownBy(() -> args().maxSteps(-1).build()).hasMessageContaining("max steps");
    }

    @Test
    void nanLossStopsWithAClearMessage() {
        try (NDManager m = manager.newSubManager()) {
            PeftModel peft = model(m, 1);
            SequenceClassificationTask real =
                    new SequenceClassificationTask((BackboneClassifier) peft.model(), tokenizer);
            AtomicInteger calls = new AtomicInteger();
            TrainingTask<TextExample> poisoned = new TrainingTask<>() {
                @Override
                public PassContext.Adapters adapters() {
                    return real.adapters();
                }

                @Override
                public Loss loss(List<TextExample> batch, PassContext step) {
                    Loss l = real.loss(batch, step);
                    return calls.incrementAndGet() == 3 ? new Loss(l.value().mul(Float.NaN), l.tokens()) : l;
                }

                @Override
                public Evaluation evaluate(List<TextExample> examples, int batchSize) {
                    return real.evaluate(examples, batchSize);
                }
            };
            assertThatThrownBy(() -> new Trainer<>(peft, poisoned, args().build(), null).train(train, eval))
                    .isInstanceOf(TrainingDivergedException.class)
                    .hasMessageContaining("loss is NaN at epoch 1, batch 3");
        }
    }

    @Test
    void emptyDataIsRejected() {
        try (NDManager m = manager.newSubManager()) {
            PeftModel peft = model(m, 1);
            SequenceClassificationTask task =
                    new SequenceClassificationTask((BackboneClassifier) peft.model(), tokenizer);
            assertThatThrownBy(() -> new Trainer<>(peft, task, args().build(), null).train(List.of(), eval))
                    .hasMessageContaining("training set is empty");
        }
    }

    /** Many optimizer steps leave the number of live arrays in the model's manager unchanged. */
    @Test
    void trainingStepsDoNotLeakNativeArrays() {
        try (NDManager m = manager.newSubManager()) {
            PeftModel peft = model(m, 1);
            SequenceClassificationTask task =
                    new SequenceClassificationTask((BackboneClassifier) peft.model(), tokenizer);
            new Trainer<>(peft, task, args().epochs(1).build(), null).train(train, null);
            int after1 = m.getManagedArrays().size();
            new Trainer<>(peft, task, args().epochs(4).build(), null).train(train, null);
            int after4 = m.getManagedArrays().size();
            assertThat(after4).isEqualTo(after1);
        }
    }

    /**
     * Regression: a blow-up in the last optimizer step left an adapter of NaN/∞ that was saved with exit 0. Now the step
     * that makes a parameter non-finite stops the run, and no adapter holding NaN or ∞ is ever written.
     */
    @Test
    void nonFiniteParametersStopTheRunAndAreNeverSaved(@TempDir Path out) {
        try (NDManager m = manager.newSubManager()) {
            PeftModel peft = model(m, 7);
            BackboneClassifier classifier = (BackboneClassifier) peft.model();
            TrainingArgs blowUp =
                    args().epochs(1).learningRate(1e39).warmupRatio(0).build(); // lr·update overflows fp32
            assertThatThrownBy(() -> new Trainer<>(
                                    peft, new SequenceClassificationTask(classifier, tokenizer), blowUp, null)
                            .train(train, null))
                    .isInstanceOf(TrainingDivergedException.class)
                    .hasMessageContaining("is not finite after optimizer step 1");
            assertThatThrownBy(() -> peft.save(out.resolve("adapter")))
                    .isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("not saving adapter 'default'")
                    .hasMessageContaining("NaN or infinite");
            assertThat(out.resolve("adapter")).doesNotExist();
        }
    }

    /** Regression: an epoch whose validation loss was NaN could be marked the best one (its accuracy still compared). */
    @Test
    void aNonFiniteValidationLossIsNeverTheBest() {
        try (NDManager m = manager.newSubManager()) {
            PeftModel peft = model(m, 1);
            SequenceClassificationTask real =
                    new SequenceClassificationTask((BackboneClassifier) peft.model(), tokenizer);
            TrainingTask<TextExample> nanEval = new TrainingTask<>() {
                @Override
                public PassContext.Adapters adapters() {
                    return real.adapters();
                }

                @Override
                public Loss loss(List<TextExample> batch, PassContext step) {
                    return real.loss(batch, step);
                }

                @Override
                public Evaluation evaluate(List<TextExample> examples, int batchSize) {
                    return new Evaluation(Double.NaN, 1.0, 1.0, examples.size());
                }
            };
            Trainer.Result result =
                    new Trainer<>(peft, nanEval, args().epochs(2).build(), null).train(train, eval);
            assertThat(result.history()).noneMatch(TrainingListener.EpochInfo::best);
            assertThat(result.bestEpoch()).isEqualTo(-1);
        }
    }
}
