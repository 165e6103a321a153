package io.peft4j.spark;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import io.peft4j.cli.data.Datasets;
import io.peft4j.io.SafeTensorsReader;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.Trainer;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.data.TextExample;
import io.peft4j.train.task.SequenceClassificationTask;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Two barrier tasks with batch 4 each against one process with batch 8, 10 steps from the same adapter, dropout off:
 * the adapters agree within 1e-5; a run whose second task fails after step 5 is run again by Spark, resumes from task
 * 0's checkpoint and ends with the adapter of the run that did not fail.
 */
class DataParallelTrainingTest extends SparkTest {

    private static DataParallelTraining.Job job(Path model, Path train, Path test, Path output) {
        return new DataParallelTraining.Job(
                model.toString(),
                "lora",
                8,
                16,
                0.0,
                List.of("query", "value"),
                List.of(train.toString(), test.toString()),
                output.toString(),
                2,
                4,
                1,
                10,
                5e-4,
                7,
                32,
                2,
                null);
    }

    static Map<String, float[]> tensors(Path adapter) {
        Map<String, float[]> out = new TreeMap<>();
        try (NDManager m = NDManager.newBaseManager();
                SafeTensorsReader r = SafeTensorsReader.open(adapter.resolve("adapter_model.safetensors"))) {
            r.tensors().keySet().forEach(k -> out.put(k, r.load(k, m, null).toFloatArray()));
        }
        return out;
    }

    /** The same training in one process with the global batch of 8. */
    private static Map<String, float[]> singleProcess(Path model, List<TextExample> train, Path out) {
        try (NDManager m = NDManager.newBaseManager();
                Tokenizer tokenizer =
                        Tokenizer.load(ModelFiles.resolve(model.toString()).requireTokenizer(), 32)) {
            Engine.getInstance().setRandomSeed(7);
            BackboneClassifier classifier = BackboneClassifier.load(
                    ModelFiles.resolve(model.toString()), m, BackboneClassifier.Head.SEQUENCE, 2);
            PeftModel peft = PeftModel.wrap(
                    classifier,
                    LoraConfig.builder()
                            .r(8)
                            .loraAlpha(16)
                            .loraDropout(0)
                            .targetModules("query", "value")
                            .taskType(TaskType.SEQ_CLS)
                            .build());
            new Trainer<>(
                            peft,
                            new SequenceClassificationTask(classifier, tokenizer),
                            TrainingArgs.builder()
                                    .epochs(1)
                                    .maxSteps(10)
                                    .batchSize(8)
                                    .learningRate(5e-4)
                                    .seed(7)
                                    .keepBest(false)
                                    .build(),
                            null)
                    .train(train, null);
            peft.save(out);
        }
        return tensors(out);
    }

    @Test
    void twoTasksEqualOneProcessWithTheirGlobalBatchAndAFailedTaskResumes() throws Exception {
        Path model = SparkFixtures.minilmWithoutDropout(dir);
        Path train = SparkFixtures.jsonl(dir, "train.jsonl", 0, 10);
        Path test = SparkFixtures.jsonl(dir, "test.jsonl", 10, 12);
        DataParallelTraining.Summary summary =
                DataParallelTraining.run(spark, job(model, train, test, dir.resolve("dp")));
        assertThat(summary.steps()).isEqualTo(10);
        assertThat(summary.exchangedBytes())
                .as("LoRA r=8 on query and value + the head: 74,498 floats a step")
                .isEqualTo(10L * 74_498 * Float.BYTES);

        List<TextExample> examples = Datasets.files(List.of(train, test)).train();
        Map<String, float[]> reference = singleProcess(model, examples, dir.resolve("single"));
        Map<String, float[]> parallel = tensors(dir.resolve("dp/adapter"));
        assertThat(parallel.keySet()).isEqualTo(reference.keySet());
        double worst = 0;
        String where = null;
        for (String k : reference.keySet()) {
            for (int i = 0; i < reference.get(k).length; i++) {
                double d = Math.abs(reference.get(k)[i] - parallel.get(k)[i]);
                if (d > worst) {
                    worst = d;
                    where = k + "[" + i + "] = " + reference.get(k)[i];
                }
            }
        }
        System.out.printf("data parallel vs one process after 10 steps: max |difference| %.3g at %s%n", worst, where);
        assertThat(worst).isLessThan(1e-5);
        assertThat(reference.get("base_model.model.classifier.weight")).isNotEqualTo(new float[768]);

        DataParallelTraining.FAIL_ONCE.set(new long[] {1, 5});
        DataParallelTraining.run(spark, job(model, train, test, dir.resolve("failed")));
        assertThat(DataParallelTraining.FAIL_ONCE.get())
                .as("the failure happened")
                .isNull();
        Map<String, float[]> resumed = tensors(dir.resolve("failed/adapter"));
        for (String k : parallel.keySet()) {
            assertThat(resumed.get(k)).as(k).containsExactly(parallel.get(k));
        }
    }
}
