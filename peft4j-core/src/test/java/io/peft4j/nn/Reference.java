package io.peft4j.nn;

/** Plain-Java double-precision reference computations the tests compare libtorch results against. */
final class Reference {

    private Reference() {}

    /** erf by its Maclaurin series (|x| ≤ 3) or the continued-fraction tail; error below 1e-12. */
    static double erf(double x) {
        double ax = Math.abs(x);
        double r;
        if (ax <= 3) {
            double term = ax;
            double sum = ax;
            for (int n = 1; n < 200; n++) {
                term *= -ax * ax / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17) {
                    break;
                }
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
            double f = ax;
            for (int k = 60; k >= 1; k--) {
                f = ax + (k / 2.0) / f;
            }
            r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
        }
        return x < 0 ? -r : r;
    }

    static double gelu(double x) {
        return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
    }

    /** x [n, in] · wᵀ (w [out, in]) + b → [n, out] */
    static double[][] linear(double[][] x, double[][] w, double[] b) {
        double[][] y = new double[x.length][w.length];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < w.length; o++) {
                double s = b == null ? 0 : b[o];
                for (int k = 0; k < w[o].length; k++) {
                    s += x[i][k] * w[o][k];
                }
                y[i][o] = s;
            }
        }
        return y;
    }

    static double[] softmax(double[] v) {
        double max = Double.NEGATIVE_INFINITY;
        for (double a : v) {
            max = Math.max(max, a);
        }
        double sum = 0;
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Math.exp(v[i] - max);
            sum += out[i];
        }
        for (int i = 0; i < v.length; i++) {
            out[i] /= sum;
        }
        return out;
    }

    static double[][] matrix(float[] flat, int rows, int cols, int offset) {
        double[][] m = new double[rows][cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                m[r][c] = flat[offset + r * cols + c];
            }
        }
        return m;
    }

    static double[] vector(float[] flat) {
        double[] v = new double[flat.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = flat[i];
        }
        return v;
    }
}
