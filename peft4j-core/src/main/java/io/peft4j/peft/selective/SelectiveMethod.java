package io.peft4j.peft.selective;

import io.peft4j.peft.CliMethod;
import io.peft4j.peft.DeclaredMethod;
import io.peft4j.peft.MethodOptions;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.TaskType;
import java.util.List;

/** peft4j's {@code SELECTIVE} tuning: full, fixed (linear probe), BitFit, LN-tuning and the last K blocks. */
public final class SelectiveMethod extends DeclaredMethod {

    /** Selective tuning trains the model's own parameters, saved under their own names: no tensor markers. */
    public SelectiveMethod() {
        super(
                "SELECTIVE",
                SelectiveConfig.class,
                SelectiveConfig::fromJson,
                new SelectiveTuner(),
                List.of(),
                List.of(
                        CliMethod.of(
                                "full",
                                "Full fine-tuning",
                                5e-5,
                                true,
                                (task, o) -> SelectiveConfig.of(SelectiveConfig.Selection.FULL, task)),
                        CliMethod.of(
                                "fixed",
                                "Fixed (linear probe)",
                                2e-3,
                                false,
                                (task, o) -> SelectiveConfig.of(SelectiveConfig.Selection.FIXED, task)),
                        CliMethod.of(
                                "bitfit",
                                "BitFit",
                                1e-3,
                                true,
                                (task, o) -> SelectiveConfig.of(SelectiveConfig.Selection.BITFIT, task)),
                        CliMethod.of(
                                "ln",
                                "LN-tuning",
                                1e-3,
                                false,
                                (task, o) -> SelectiveConfig.of(SelectiveConfig.Selection.LN_TUNING, task)),
                        new Partial()));
    }

    /** {@code partial-K}: the last K blocks. */
    private static final class Partial implements CliMethod {
        @Override
        public String name() {
            return "partial-K";
        }

        @Override
        public boolean accepts(String id) {
            return id.matches("partial-\\d+");
        }

        @Override
        public String label(String id) {
            return "Partial-" + id.substring("partial-".length());
        }

        @Override
        public double defaultLr() {
            return 5e-5;
        }

        @Override
        public boolean causalLm() {
            return false;
        }

        @Override
        public PeftConfig config(String id, TaskType task, MethodOptions options) {
            return SelectiveConfig.partial(Integer.parseInt(id.substring("partial-".length())), task);
        }
    }
}
