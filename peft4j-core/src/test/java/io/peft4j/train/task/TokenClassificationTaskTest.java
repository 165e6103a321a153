package io.peft4j.train.task;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import io.peft4j.NativeTest;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.model.ModelFiles;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import io.peft4j.tokenizer.Tokenizer;
import io.peft4j.train.Trainer;
import io.peft4j.train.TrainingArgs;
import io.peft4j.train.data.TaggedSentence;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class TokenClassificationTaskTest extends NativeTest {

    @Test
    void firstSubTokenOfEachWordCarriesItsTag() {
        List<TaggedSentence> batch = List.of(new TaggedSentence(List.of("unbelievable", "cat"), new int[] {2, 1}));
        long[][] wordIds = {{-1, 0, 0, 0, 1, -1, -1}};
        assertThat(TokenClassificationTask.tokenLabels(batch, wordIds)[0])
                .containsExactly(-100, 2, -100, -100, 1, -100, -100);
        try (Tokenizer t = Tokenizer.load(ModelFiles.resolve("minilm").requireTokenizer(), 16)) {
            Tokenizer.WordBatch wb = t.encodeWords(List.of(List.of("unbelievably", "good"), List.of("hi")));
            assertThat(wb.wordIds()[0][0]).isEqualTo(-1); // [CLS]
            assertThat(wb.wordIds()[0]).contains(0L, 1L);
            long[] second = wb.wordIds()[1]; // [CLS] hi [SEP] then padding
            assertThat(second).hasSize(wb.encoding().length());
            assertThat(Arrays.copyOfRange(second, 0, 3)).containsExactly(-1, 0, -1);
            assertThat(Arrays.copyOfRange(second, 3, second.length)).containsOnly(-1L);
        }
    }

    /** LoRA + token head learns DET/NOUN/VERB on simple sentences. */
    @Test
    void loraLearnsASimpleTagging() {
        String[] det = {"the", "a", "every", "this"};
        String[] noun = {"cat", "dog", "teacher", "river", "car", "child"};
        String[] verb = {"runs", "sleeps", "sings", "waits", "shines"};
        List<TaggedSentence> all = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            all.add(new TaggedSentence(List.of(det[i % 4], noun[i % 6], verb[i % 5]), new int[] {0, 1, 2}));
        }
        try (NDManager m = manager.newSubManager();
                Tokenizer tokenizer =
                        Tokenizer.load(ModelFiles.resolve("minilm").requireTokenizer(), 16)) {
            Engine.getInstance().setRandomSeed(3);
            BackboneClassifier model =
                    BackboneClassifier.load(ModelFiles.resolve("minilm"), m, BackboneClassifier.Head.TOKEN, 3);
            PeftModel peft = PeftModel.wrap(
                    model,
                    LoraConfig.builder()
                            .r(4)
                            .loraAlpha(8)
                            .targetModules("query", "value")
                            .taskType(TaskType.TOKEN_CLS)
                            .build());
            TokenClassificationTask task = new TokenClassificationTask(model, tokenizer);
            Trainer.Result r = new Trainer<>(
                            peft,
                            task,
                            TrainingArgs.builder()
                                    .epochs(3)
                                    .batchSize(8)
                                    .learningRate(3e-3)
                                    .build(),
                            null)
                    .train(all.subList(0, 48), all.subList(48, 60));
            assertThat(r.best().examples()).isEqualTo(12 * 3);
            assertThat(r.best().accuracy()).isGreaterThan(0.95);
        }
    }
}
