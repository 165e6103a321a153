package io.peft4j.cli.method;

import io.peft4j.Peft4jException;
import io.peft4j.peft.CommonFields;
import io.peft4j.peft.PeftConfig;
import io.peft4j.peft.TaskType;
import io.peft4j.peft.coop.CoCoOpConfig;
import io.peft4j.peft.coop.CoOpConfig;
import java.util.List;
import java.util.regex.Pattern;

/** CoOp and CoCoOp, CLIP's learned class prompts ({@code --task clip-cls}): the context options. */
public final class CoOp implements MethodCommandLine {

    @Override
    public List<Choice> choices() {
        return List.of(clip("coop", "CoOp"), clip("cocoop", "CoCoOp"));
    }

    private static Choice clip(String name, String label) {
        return new Choice(name, Pattern.compile(name), id -> label, 2e-3, false, true);
    }

    @Override
    public List<Class<?>> optionGroups() {
        return List.of(ContextOptions.class);
    }

    @Override
    public PeftConfig config(String id, TaskType task, MethodOptions options) {
        ContextOptions o = options.get(ContextOptions.class);
        if (id.equals("coop")) { // CoOp's reference configs: 16 context vectors from random (rn50_ep50 etc.)
            return new CoOpConfig(CommonFields.DEFAULT, o.context(16, null));
        }
        if (o.csc) {
            throw new Peft4jException("--csc is CoOp's: CoCoOp learns one context for all classes");
        }
        // CoCoOp's reference config (vit_b16_c4_ep10_batch1_ctxv1): 4 context vectors from "a photo of a"
        return new CoCoOpConfig(CommonFields.DEFAULT, o.context(4, "a photo of a"));
    }
}
