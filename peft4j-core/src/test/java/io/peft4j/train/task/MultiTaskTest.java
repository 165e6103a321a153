package io.peft4j.train.task;

import static org.assertj.core.api.Assertions.assertThat;

import io.peft4j.NativeTest;
import io.peft4j.model.ModelFiles;
import io.peft4j.model.MultiTaskClassifier;
import io.peft4j.model.bert.BertModel;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.prefix.PrefixTuningConfig;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.Evaluation;
import io.peft4j.train.Trainer;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.TrainingListener;
import io.peft4j.train.data.TextExample;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** P-tuning v2's multi-task setting: one shared set of deep prompts, one head per task, trained together. */
class MultiTaskTest extends NativeTest {

    @TempDir
    Path dir;

    static final String[][] TOPIC = {
        {
            "We cooked pasta with tomato sauce",
            "The bakery sells fresh bread",
            "She ordered soup and a salad",
            "He baked a chocolate cake",
            "The restaurant serves spicy noodles",
            "Breakfast was eggs and toast"
        },
        {
            "The stock market fell sharply",
            "Interest rates rose again",
            "The bank approved the loan",
            "Investors sold their bonds",
            "The company reported record profits",
            "Shares of the firm doubled"
        }
    };
    static final String[][] MOOD = {
        {
            "I love this wonderful day",
            "What a fantastic result",
            "She was delighted and happy",
            "This is great news",
            "We had a lovely time",
            "Everything went perfectly"
        },
        {
            "I hate this awful weather",
            "What a terrible mistake",
            "He was angry and upset",
            "This is dreadful news",
            "We had a miserable time",
            "Everything went wrong"
        }
    };

    private static List<MultiTaskClassificationTask.Example> examples() {
        List<MultiTaskClassificationTask.Example> out = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            for (int label = 0; label < 2; label++) {
                out.add(new MultiTaskClassificationTask.Example("topic", new TextExample(TOPIC[label][i], label)));
                out.add(new MultiTaskClassificationTask.Example("mood", new TextExample(MOOD[label][i], label)));
            }
        }
        return out;
    }

    @Test
    void sharedDeepPromptsAndOneHeadPerTaskTrainTogetherAndSave() {
        ModelFiles files = ModelFiles.resolve("minilm");
        try (Tokenizer tokenizer = Tokenizer.load(files.requireTokenizer(), 32)) {
            MultiTaskClassifier model =
                    new MultiTaskClassifier(BertModel.load(files, manager), Map.of("topic", 2, "mood", 2));
            PeftConfig config = PrefixTuningConfig.ptuningV2(8, null).withModulesToSave(model.tasks());
            PeftModel peft = PeftModel.wrap(model, config);
            long prompts = 8L * 6 * 2 * 384;
            long heads = 2 * (384L * 2 + 2);
            assertThat(peft.parameterCount().trainable()).isEqualTo(prompts + heads);

            MultiTaskClassificationTask task = new MultiTaskClassificationTask(model, tokenizer);
            List<MultiTaskClassificationTask.Example> data = examples();
            double before = task.evaluate(data, 16).loss();
            TrainingArgs args = TrainingArgs.builder()
                    .epochs(15)
                    .batchSize(8)
                    .learningRate(1e-2)
                    .warmupRatio(0)
                    .seed(7)
                    .keepBest(false)
                    .build();
            new Trainer<>(peft, task, args, new TrainingListener() {}).train(data, null);
            Map<String, Evaluation> each = task.evaluateEach(data, 16);
            assertThat(task.evaluate(data, 16).loss()).isLessThan(before);
            assertThat(each.get("topic").accuracy()).isGreaterThanOrEqualTo(0.75);
            assertThat(each.get("mood").accuracy()).isGreaterThanOrEqualTo(0.75);

            peft.save(dir);
            MultiTaskClassifier fresh =
                    new MultiTaskClassifier(BertModel.load(files, manager), Map.of("topic", 2, "mood", 2));
            PeftModel.load(fresh, dir);
            Map<String, Evaluation> reloaded = new MultiTaskClassificationTask(fresh, tokenizer).evaluateEach(data, 16);
            for (String t : List.of("topic", "mood")) {
                assertThat(reloaded.get(t).accuracy()).isEqualTo(each.get(t).accuracy());
                assertThat(reloaded.get(t).loss()).isCloseTo(each.get(t).loss(), Offset.offset(1e-4));
            }
        }
    }
}
