package io.peft4j.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import io.peft4j.model.AutoModel;
import io.peft4j.model.ModelFiles;
import io.peft4j.peft.PeftModel;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.lora.LoraConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /v1/embeddings} on the bundled all-MiniLM-L6-v2, with and without an adapter, through the OpenAI SDK. */
class EmbeddingsServerTest {

    static final List<String> TEXTS = List.of(
            "A man is eating food.", "A man is eating a piece of bread.", "The stock market fell sharply today.");

    static List<float[]> vectors(CreateEmbeddingResponse r) {
        return r.data().stream()
                .map(e -> {
                    List<Float> v = e.embedding();
                    float[] out = new float[v.size()];
                    for (int i = 0; i < out.length; i++) {
                        out[i] = v.get(i);
                    }
                    return out;
                })
                .toList();
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    @Test
    void embeddingsAreUnitVectorsThatKnowMeaningAndAnAdapterChangesThem(@TempDir Path adapters) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(3);
            PeftModel.wrap(
                            AutoModel.load(ModelFiles.resolve("minilm"), manager),
                            LoraConfig.builder()
                                    .r(4)
                                    .targetModules("query", "value")
                                    .initLoraWeights(LoraConfig.InitLoraWeights.FALSE)
                                    .taskType(TaskType.FEATURE_EXTRACTION)
                                    .build())
                    .save(adapters.resolve("tuned"));
        }
        try (OpenAiServer server = OpenAiServer.start(ServerSettings.of("minilm")
                .withPort(0)
                .withAdapters(adapters, Map.of())
                .withLimits(2, 4, 2, Duration.ofSeconds(60)))) {
            OpenAIClient client = OpenAIOkHttpClient.builder()
                    .baseUrl("http://127.0.0.1:" + server.port() + "/v1")
                    .apiKey("none")
                    .maxRetries(0)
                    .build();
            CreateEmbeddingResponse floats = client.embeddings()
                    .create(EmbeddingCreateParams.builder()
                            .model("minilm")
                            .inputOfArrayOfStrings(TEXTS)
                            .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT)
                            .build());
            List<float[]> v = vectors(floats);
            assertThat(v).hasSize(3);
            assertThat(v.get(0)).hasSize(384);
            for (float[] e : v) {
                assertThat(dot(e, e)).isCloseTo(1.0, Offset.offset(1e-5));
            }
            assertThat(dot(v.get(0), v.get(1)))
                    .as("two sentences about eating")
                    .isGreaterThan(dot(v.get(0), v.get(2)) + 0.3);
            assertThat(floats.usage().promptTokens()).isGreaterThan(3L * 5);

            // the SDK's default encoding is base64 (float32, little-endian): the same numbers
            List<float[]> decoded = vectors(client.embeddings()
                    .create(EmbeddingCreateParams.builder()
                            .model("minilm")
                            .inputOfArrayOfStrings(TEXTS)
                            .build()));
            for (int i = 0; i < 3; i++) {
                assertThat(decoded.get(i)).containsExactly(v.get(i));
            }
            float[] tuned = vectors(client.embeddings()
                            .create(EmbeddingCreateParams.builder()
                                    .model("tuned")
                                    .input(TEXTS.get(0))
                                    .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT)
                                    .build()))
                    .get(0);
            assertThat(dot(tuned, v.get(0)))
                    .as("the adapter moves the embedding")
                    .isLessThan(0.9999);
            float[] again = vectors(client.embeddings()
                            .create(EmbeddingCreateParams.builder()
                                    .model("minilm")
                                    .input(TEXTS.get(0))
                                    .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT)
                                    .build()))
                    .get(0);
            assertThat(again).containsExactly(v.get(0), Offset.offset(1e-6f));

            assertThatThrownBy(() -> client.chat()
                            .completions()
                            .create(ChatCompletionCreateParams.builder()
                                    .model("minilm")
                                    .addUserMessage("hi")
                                    .build()))
                    .isInstanceOf(BadRequestException.class)
                    .hasMessageContaining("encoder");
            assertThatThrownBy(() -> client.embeddings()
                            .create(EmbeddingCreateParams.builder()
                                    .model("minilm")
                                    .input("")
                                    .build()))
                    .isInstanceOf(BadRequestException.class);
        }
    }
}
