package io.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.peft4j.cli.method.MethodCommandLines;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An option that does not apply to the chosen task or method is refused in one line before anything loads, never
 * ignored (issue 29): a task's options (images, pairs, video, causal-lm, heads, subsets, token lengths), a method's own
 * (low rank, dropout, virtual tokens, template, CLIP context), and the teacher's settings without a teacher.
 */
class OptionsThatDoNotApplyTest {

    @TempDir
    Path dir;

    private CliTest.Run train(String task, String method, String... more) {
        List<String> args = new ArrayList<>(List.of(
                "train",
                "--dataset",
                "spam",
                "--task",
                task,
                "--method",
                method,
                "--output",
                dir.resolve("never").toString()));
        args.addAll(List.of(more));
        return CliTest.run(args.toArray(String[]::new));
    }

    private void refused(CliTest.Run run, String message) {
        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).isEqualTo("error: " + message + "\n");
        assertThat(dir.resolve("never"))
                .as("nothing is created for a refused run")
                .doesNotExist();
    }

    @Test
    void aTasksOptionsAreRefusedForOtherTasks() {
        refused(
                train("causal-lm", "lora", "--max-train", "5"),
                "--max-train applies to --task seq-cls, token-cls, image-cls, clip-cls, clip-pairs, video-cls, not causal-lm");
        refused(
                train("causal-lm", "lora", "--max-eval", "5"),
                "--max-eval applies to --task seq-cls, token-cls, image-cls, clip-cls, clip-pairs, video-cls, not causal-lm");
        refused(
                train("causal-lm", "ptuning", "--template", "[P4] {text}"),
                "--template applies to --task seq-cls, not causal-lm");
        refused(
                train("seq-cls", "lora", "--mixup", "0.2"),
                "--mixup applies to --task image-cls, clip-cls, not seq-cls");
        refused(
                train("video-cls", "lora", "--cutmix", "1"),
                "--cutmix applies to --task image-cls, clip-cls, not video-cls");
        refused(train("seq-cls", "lora", "--augment"), "--augment applies to --task image-cls, clip-cls, not seq-cls");
        refused(train("image-cls", "lora", "--frames", "4"), "--frames applies to --task video-cls, not image-cls");
        refused(train("seq-cls", "lora", "--pack"), "--pack applies to --task causal-lm, not seq-cls");
        refused(train("image-cls", "lora", "--mixgen", "2"), "--mixgen applies to --task clip-pairs, not image-cls");
        refused(
                train("causal-lm", "lora", "--new-head"),
                "--new-head applies to --task seq-cls, token-cls, image-cls, video-cls, not causal-lm");
        refused(
                train("image-cls", "lora", "--max-length", "64"),
                "--max-length applies to --task seq-cls, token-cls, causal-lm, not image-cls");
        refused(
                train("clip-pairs", "lora", "--quantize", "nf4"),
                "--quantize applies to --task seq-cls, token-cls, image-cls, video-cls, causal-lm, not clip-pairs");
        refused(train("seq-cls", "lora", "--base-to-new"), "--base-to-new applies to --task clip-cls, not seq-cls");
        refused(
                train("token-cls", "lora", "--shots", "4"),
                "--shots applies to --task seq-cls, image-cls, not token-cls");
    }

    @Test
    void aMethodsOwnOptionsAreRefusedForOtherMethods() {
        refused(train("seq-cls", "ia3", "--r", "4"), "--r applies to --method lora, dora, loha, lokr, not ia3");
        refused(
                train("seq-cls", "full", "--targets", "query"),
                "--targets applies to --method lora, dora, loha, lokr, not full");
        refused(
                train("seq-cls", "loha", "--lora-dropout", "0.2"),
                "--lora-dropout applies to --method lora, dora, not loha");
        refused(
                train("seq-cls", "lora", "--virtual-tokens", "8"),
                "--virtual-tokens applies to --method prefix, ptuning-v2, prompt, ptuning, vpt-shallow, vpt-deep, not lora");
        refused(
                train("seq-cls", "prompt", "--template", "[P4] {text}"),
                "--template applies to --method ptuning, not prompt");
        refused(train("seq-cls", "lora", "--n-ctx", "4"), "--n-ctx applies to --method coop, cocoop, not lora");
        refused(train("seq-cls", "coop"), "coop learns a CLIP model's class prompts: use --task clip-cls");
        refused(train("clip-cls", "lora"), "clip-cls trains coop or cocoop, not 'lora'");
    }

    @Test
    void theTeachersSettingsNeedATeacher() {
        refused(train("seq-cls", "lora", "--kd-alpha", "0.3"), "--kd-alpha needs --teacher");
        refused(train("seq-cls", "lora", "--kd-temperature", "4"), "--kd-temperature needs --teacher");
        refused(train("seq-cls", "lora", "--teacher-quantize", "nf4"), "--teacher-quantize needs --teacher");
        refused(
                train("token-cls", "lora", "--teacher", "minilm"),
                "--teacher applies to --task seq-cls, image-cls, causal-lm, not token-cls");
    }

    @Test
    void compareRefusesAMethodsOptionsWhenNoComparedMethodTakesThem() {
        Path out = dir.resolve("never");
        refused(
                CliTest.run(
                        "compare", "--task", "spam", "--methods", "full,ia3", "--r", "4", "--output", out.toString()),
                "--r applies to lora, dora, loha, lokr, and none of them is among --methods");
        refused(
                CliTest.run(
                        "compare",
                        "--task",
                        "spam",
                        "--methods",
                        "lora",
                        "--virtual-tokens",
                        "4",
                        "--output",
                        out.toString()),
                "--virtual-tokens applies to prefix, ptuning-v2, prompt, ptuning, vpt-shallow, vpt-deep, and none of them is "
                        + "among --methods");
        refused(
                CliTest.run("compare", "--task", "spam", "--methods", "coop", "--output", out.toString()),
                "coop learns a CLIP model's class prompts: use --task clip-cls");
    }

    @Test
    void helpListsEveryRegisteredMethod() {
        CliTest.Run help = CliTest.run("help", "train");
        String text = help.out().replaceAll("\\s+", " ");
        assertThat(MethodCommandLines.names()).contains("lora", "coop", "cocoop", "aim", "partial-K");
        for (String name : MethodCommandLines.names()) {
            assertThat(text).contains(name);
        }
        assertThat(CliTest.run("help", "compare").out().replaceAll("\\s+", " "))
                .contains(String.join(", ", MethodCommandLines.names()));
    }
}
