package io.peft4j.peft.coop;

import io.peft4j.peft.ConfigFields;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The prompts CoOp and CoCoOp learn, as their reference code configures them: {@code n_ctx} context vectors before
 * (or around) each class name, initialised from the phrase {@code ctx_init} when given (its token count is then
 * {@code n_ctx}) or N(0, 0.02²); class-specific contexts ({@code csc}, CoOp only); where the class name goes
 * ({@code class_token_position}); and the {@code class_names} the adapter classifies, in label order.
 */
public record PromptContext(
        int nCtx, String ctxInit, boolean csc, Position classTokenPosition, List<String> classNames) {

    /** Where the class name sits among the context vectors. */
    public enum Position {
        /** [SOS] ctx name . [EOS] */
        END,
        /** [SOS] ctx[:n/2] name ctx[n/2:] . [EOS] */
        MIDDLE,
        /** [SOS] name ctx . [EOS] */
        FRONT;

        public String value() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Position parse(String s) {
            for (Position p : values()) {
                if (p.value().equals(s)) {
                    return p;
                }
            }
            throw new IllegalArgumentException("class_token_position must be end, middle or front, got '" + s + "'");
        }
    }

    public PromptContext {
        if (nCtx < 1) {
            throw new IllegalArgumentException("n_ctx must be at least 1, got " + nCtx);
        }
        if (ctxInit != null && ctxInit.isBlank()) {
            ctxInit = null;
        }
        classTokenPosition = classTokenPosition == null ? Position.END : classTokenPosition;
        if (classNames == null || classNames.size() < 2) {
            throw new IllegalArgumentException(
                    "class_names must name at least 2 classes, got " + (classNames == null ? "none" : classNames));
        }
        for (String name : classNames) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("class_names holds an empty name");
            }
        }
        if (classNames.stream().distinct().count() != classNames.size()) {
            throw new IllegalArgumentException("class_names holds a name twice: " + classNames);
        }
        classNames = List.copyOf(classNames);
    }

    /** The reference code's defaults: 16 random context vectors (4 from "a photo of a" with {@code ctxInit}), unified, name at the end. */
    public static PromptContext of(List<String> classNames, String ctxInit) {
        return new PromptContext(16, ctxInit, false, Position.END, classNames);
    }

    public PromptContext withNCtx(int n) {
        return new PromptContext(n, ctxInit, csc, classTokenPosition, classNames);
    }

    void writeTo(Map<String, Object> m) {
        m.put("class_names", classNames);
        m.put("class_token_position", classTokenPosition.value());
        m.put("csc", csc);
        m.put("ctx_init", ctxInit);
        m.put("n_ctx", nCtx);
    }

    static PromptContext read(ConfigFields f) {
        return new PromptContext(
                f.getInt("n_ctx", 16),
                f.getString("ctx_init", null),
                f.getBoolean("csc", false),
                Position.parse(f.getString("class_token_position", "end")),
                f.getStrings("class_names"));
    }
}
