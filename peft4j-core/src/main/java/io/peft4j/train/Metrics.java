package io.peft4j.train;

/** Classification metrics from predicted and true labels. */
public final class Metrics {

    private Metrics() {}

    public static double accuracy(int[] predicted, int[] truth) {
        check(predicted, truth);
        int correct = 0;
        for (int i = 0; i < truth.length; i++) {
            if (predicted[i] == truth[i]) {
                correct++;
            }
        }
        return (double) correct / truth.length;
    }

    /**
     * The unweighted mean over classes of F1 = 2·TP / (2·TP + FP + FN), over the classes that occur in
     * either the truth or the predictions (scikit-learn's {@code f1_score(average="macro")}).
     */
    public static double macroF1(int[] predicted, int[] truth, int numClasses) {
        check(predicted, truth);
        long[] tp = new long[numClasses];
        long[] fp = new long[numClasses];
        long[] fn = new long[numClasses];
        for (int i = 0; i < truth.length; i++) {
            if (predicted[i] == truth[i]) {
                tp[truth[i]]++;
            } else {
                fp[predicted[i]]++;
                fn[truth[i]]++;
            }
        }
        double sum = 0;
        int classes = 0;
        for (int c = 0; c < numClasses; c++) {
            if (tp[c] + fp[c] + fn[c] == 0) {
                continue;
            }
            sum += 2.0 * tp[c] / (2.0 * tp[c] + fp[c] + fn[c]);
            classes++;
        }
        return classes == 0 ? 0 : sum / classes;
    }

    private static void check(int[] predicted, int[] truth) {
        if (predicted.length != truth.length || truth.length == 0) {
            throw new IllegalArgumentException(
                    "need equally many predictions and labels, got " + predicted.length + " and " + truth.length);
        }
    }
}
