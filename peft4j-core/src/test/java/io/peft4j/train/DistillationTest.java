package io.peft4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.peft4j.NativeTest;
import io.peft4j.model.BackboneClassifier;
import io.peft4j.peft.PeftModel;
import io.peft4j.train.data.TextExample;
import io.peft4j.train.loss.Distillation;
import io.peft4j.train.loss.Losses;
import io.peft4j.train.loss.TeacherLogits;
import io.peft4j.train.task.SequenceClassificationTask;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Knowledge distillation: the blended loss and its gradient against their closed forms in doubles, the teacher's logits
 * cached on disk, and a student trained on a teacher's logits agreeing with the teacher on texts neither saw in training
 * better than a student trained on the labels alone.
 */
class DistillationTest extends NativeTest {

    static final float[][] STUDENT = {{2.0f, -1.0f, 0.5f}, {0.1f, 0.2f, 3.0f}, {-2.0f, 1.5f, 1.0f}};
    static final float[][] TEACHER = {{1.0f, 0.0f, 2.5f}, {-0.5f, 2.0f, 0.7f}, {0.3f, 0.3f, -1.4f}};
    static final long[] LABELS = {0, 2, 1};

    static double[] softmax(float[] z, double tau) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : z) {
            max = Math.max(max, v / tau);
        }
        double sum = 0;
        double[] p = new double[z.length];
        for (int c = 0; c < z.length; c++) {
            p[c] = Math.exp(z[c] / tau - max);
            sum += p[c];
        }
        for (int c = 0; c < z.length; c++) {
            p[c] /= sum;
        }
        return p;
    }

    /** α·CE + (1 − α)·τ²·mean KL(p_t ‖ p_s), in doubles. */
    static double reference(double alpha, double tau) {
        double ce = 0;
        double kl = 0;
        for (int i = 0; i < STUDENT.length; i++) {
            ce -= Math.log(softmax(STUDENT[i], 1)[(int) LABELS[i]]);
            double[] ps = softmax(STUDENT[i], tau);
            double[] pt = softmax(TEACHER[i], tau);
            for (int c = 0; c < ps.length; c++) {
                kl += pt[c] * Math.log(pt[c] / ps[c]);
            }
        }
        int n = STUDENT.length;
        return alpha * ce / n + (1 - alpha) * tau * tau * kl / n;
    }

    @Test
    void theLossAndItsGradientAreTheClosedForms() {
        try (NDManager m = manager.newSubManager()) {
            for (double alpha : new double[] {0, 0.3, 1}) {
                for (double tau : new double[] {1, 2, 4}) {
                    NDArray student = m.create(STUDENT);
                    student.setRequiresGradient(true);
                    Distillation kd = new Distillation(alpha, tau);
                    NDArray loss;
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        loss = kd.blend(Losses.crossEntropy(student, m.create(LABELS)), student, m.create(TEACHER));
                        gc.backward(loss);
                    }
                    assertThat((double) loss.getFloat())
                            .as("α %s, τ %s", alpha, tau)
                            .isCloseTo(reference(alpha, tau), within(1e-5));
                    // ∂/∂s_ic = [α·(p_s,c − 1{c = y}) + (1 − α)·τ·(p_s,c(τ) − p_t,c(τ))] / N
                    float[] grad = student.getGradient().toFloatArray();
                    for (int i = 0; i < STUDENT.length; i++) {
                        double[] p = softmax(STUDENT[i], 1);
                        double[] ps = softmax(STUDENT[i], tau);
                        double[] pt = softmax(TEACHER[i], tau);
                        for (int c = 0; c < 3; c++) {
                            double expected =
                                    (alpha * (p[c] - (c == LABELS[i] ? 1 : 0)) + (1 - alpha) * tau * (ps[c] - pt[c]))
                                            / STUDENT.length;
                            assertThat((double) grad[i * 3 + c])
                                    .as("α %s, τ %s, d/ds[%d][%d]", alpha, tau, i, c)
                                    .isCloseTo(expected, within(1e-6));
                        }
                    }
                }
            }
        }
    }

    @Test
    void aMaskCountsOnlyItsRows() {
        try (NDManager m = manager.newSubManager()) {
            Distillation kd = new Distillation(0, 2);
            double all =
                    kd.divergence(m.create(STUDENT), m.create(TEACHER), null).getFloat();
            double firstTwo = kd.divergence(
                            m.create(new float[][] {STUDENT[0], STUDENT[1]}),
                            m.create(new float[][] {TEACHER[0], TEACHER[1]}),
                            null)
                    .getFloat();
            double masked = kd.divergence(m.create(STUDENT), m.create(TEACHER), m.create(new long[] {1, 1, 0}))
                    .getFloat();
            assertThat(masked).isCloseTo(firstTwo, within(1e-6));
            assertThat(all).isNotCloseTo(firstTwo, within(1e-3));
            assertThat(kd.divergence(m.create(TEACHER), m.create(TEACHER), null).getFloat())
                    .as("KL(p ‖ p)")
                    .isCloseTo(0f, within(1e-7f));
        }
        assertThatThrownBy(() -> new Distillation(1.5, 2)).hasMessageContaining("alpha");
        assertThatThrownBy(() -> new Distillation(0.5, 0)).hasMessageContaining("temperature");
    }

    @Test
    void teacherLogitsAreComputedOnceAndKeptForTheirTeacherOnly(@TempDir Path dir) {
        List<TextExample> examples = List.of(new TextExample("a", 0), new TextExample("b", 1), new TextExample("c", 2));
        Path file = dir.resolve("teacher-logits.safetensors");
        AtomicInteger computed = new AtomicInteger();
        TeacherLogits<TextExample> first = TeacherLogits.cached(file, "teacher A", examples, () -> {
            computed.incrementAndGet();
            return TEACHER;
        });
        TeacherLogits<TextExample> again = TeacherLogits.cached(file, "teacher A", examples, () -> {
            computed.incrementAndGet();
            return STUDENT;
        });
        assertThat(computed).hasValue(1);
        try (NDManager m = manager.newSubManager()) {
            assertThat(again.of(List.of(examples.get(2), examples.get(0)), m).toFloatArray())
                    .containsExactly(
                            TEACHER[2][0], TEACHER[2][1], TEACHER[2][2], TEACHER[0][0], TEACHER[0][1], TEACHER[0][2]);
            assertThat(first.of(examples, m).toFloatArray())
                    .containsExactly(again.of(examples, m).toFloatArray());
            assertThatThrownBy(() -> first.of(List.of(new TextExample("unseen", 0)), m))
                    .hasMessageContaining("no teacher logits");
        }
        assertThatThrownBy(() -> TeacherLogits.cached(file, "teacher B", examples, () -> TEACHER))
                .hasMessageContaining("another teacher");
        assertThatThrownBy(() -> TeacherLogits.cached(file, "teacher A", examples.subList(0, 2), () -> TEACHER))
                .hasMessageContaining("other examples");
        assertThatThrownBy(() -> new TeacherLogits<>(examples, new float[][] {{1, Float.NaN, 0}, {0, 0, 0}, {0, 0, 0}}))
                .hasMessageContaining("not finite");
        assertThat(dir.toFile().list()).containsExactly("teacher-logits.safetensors");
    }

    /** Texts neither student trains on, where only agreement with the teacher is scored (they need no labels). */
    static final String[] HELD_OUT = {
        "The soup was too salty for the children",
        "Bond yields climbed after the announcement",
        "A farmer sold tomatoes at the market",
        "The pension fund bought more shares",
        "Our neighbours grilled sausages",
        "The exchange rate of the dollar slipped",
        "Fresh strawberries taste best in June",
        "The insurer raised its premiums",
        "He spread butter on warm toast",
        "Tax revenue fell short of forecasts",
        "The waiter brought a bowl of olives",
        "Venture capital poured into the startup",
        "We shared a plate of dumplings",
        "The auditors found missing funds",
        "Honey and yoghurt make a good dessert",
        "The broker recommended buying gold"
    };

    @Test
    void aDistilledStudentAgreesWithItsTeacherBetterThanOneTrainedOnLabels(@TempDir Path dir) {
        TrainerTest.data();
        List<TextExample> clean = new ArrayList<>(TrainerTest.train);
        clean.addAll(TrainerTest.eval);
        // the students' labels: 40% of them flipped; the teacher learnt the topics from the clean ones
        List<TextExample> noisy = new ArrayList<>();
        for (int i = 0; i < clean.size(); i++) {
            TextExample e = clean.get(i);
            noisy.add(i % 5 < 2 ? new TextExample(e.text(), 1 - e.label()) : e);
        }
        List<TextExample> heldOut =
                Arrays.stream(HELD_OUT).map(t -> new TextExample(t, 0)).toList();
        try (NDManager m = manager.newSubManager()) {
            SequenceClassificationTask teacher = train(m, clean, null, 3);
            int[] teacherSays = argmax(teacher.logits(heldOut, 8));
            TeacherLogits<TextExample> logits = TeacherLogits.cached(
                    dir.resolve("logits.safetensors"),
                    "the clean-label teacher",
                    noisy,
                    () -> teacher.logits(noisy, 8));
            double labelsOnly = agreement(train(m, noisy, null, 7), heldOut, teacherSays);
            double distilled = agreement(train(m, noisy, logits, 7), heldOut, teacherSays);
            assertThat(distilled)
                    .as(
                            "agreement with the teacher on held-out texts: distilled %s, labels only %s",
                            distilled, labelsOnly)
                    .isGreaterThanOrEqualTo(0.8)
                    .isGreaterThan(labelsOnly + 0.1);
        } finally {
            TrainerTest.close();
        }
    }

    /** MiniLM with LoRA trained on {@code data}, from {@code teacher}'s logits too when given. */
    private static SequenceClassificationTask train(
            NDManager m, List<TextExample> data, TeacherLogits<TextExample> teacher, long seed) {
        PeftModel peft = TrainerTest.model(m, seed);
        SequenceClassificationTask task =
                new SequenceClassificationTask((BackboneClassifier) peft.model(), TrainerTest.tokenizer);
        if (teacher != null) {
            task.distillFrom(teacher, new Distillation(0.1, 2));
        }
        new Trainer<>(
                        peft,
                        task,
                        TrainingArgs.builder()
                                .epochs(8)
                                .batchSize(4)
                                .learningRate(2e-3)
                                .warmupRatio(0.1)
                                .seed(seed)
                                .build(),
                        null)
                .train(data, null);
        return task;
    }

    private static double agreement(SequenceClassificationTask student, List<TextExample> texts, int[] teacherSays) {
        int[] says = argmax(student.logits(texts, 8));
        int same = 0;
        for (int i = 0; i < says.length; i++) {
            same += says[i] == teacherSays[i] ? 1 : 0;
        }
        return same / (double) says.length;
    }

    private static int[] argmax(float[][] logits) {
        int[] out = new int[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = logits[i][0] >= logits[i][1] ? 0 : 1;
        }
        return out;
    }
}
