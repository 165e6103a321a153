package io.peft4j.train;

/** Metrics of one evaluation pass. */
public record Evaluation(double loss, double accuracy, double macroF1, int examples) {

    /** The value keep-best and early stopping compare: higher is better. */
    public double score(String metric) {
        return switch (metric) {
            case "accuracy" -> accuracy;
            case "macro_f1" -> macroF1;
            case "loss" -> -loss;
            default ->
                throw new IllegalArgumentException("unknown metric '" + metric + "': accuracy, macro_f1 or loss");
        };
    }
}
