package io.peft4j.cli.method;

import static org.assertj.core.api.Assertions.assertThat;

import io.peft4j.cli.Method;
import io.peft4j.peft.coop.CoCoOpConfig;
import io.peft4j.peft.coop.CoOpConfig;
import io.peft4j.peft.coop.PromptContext;
import org.junit.jupiter.api.Test;

/** The command line's method configs take their reference code's defaults for what is not given (issue 30). */
class MethodCommandLinesTest {

    private static PromptContext context(String method, Integer nCtx, String ctxInit) {
        MethodOptions options = MethodOptions.defaults();
        options.get(ContextOptions.class).nCtx = nCtx;
        options.get(ContextOptions.class).ctxInit = ctxInit;
        Object config = Method.parse(method).config(null, options);
        return config instanceof CoOpConfig coop ? coop.context() : ((CoCoOpConfig) config).context();
    }

    @Test
    void coopStartsFromSixteenRandomVectorsAndCocoopFromFourOfAPhotoOfA() {
        assertThat(context("coop", null, null))
                .extracting(PromptContext::nCtx, PromptContext::ctxInit)
                .containsExactly(16, null);
        assertThat(context("cocoop", null, null))
                .extracting(PromptContext::nCtx, PromptContext::ctxInit)
                .containsExactly(4, "a photo of a");
        // what the user gives wins: a count alone starts from random, "random" asks for it, a phrase is used
        assertThat(context("cocoop", 2, null))
                .extracting(PromptContext::nCtx, PromptContext::ctxInit)
                .containsExactly(2, null);
        assertThat(context("cocoop", null, "random"))
                .extracting(PromptContext::nCtx, PromptContext::ctxInit)
                .containsExactly(4, null);
        assertThat(context("coop", null, "a photo of a").ctxInit()).isEqualTo("a photo of a");
    }
}
