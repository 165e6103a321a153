package io.peft4j.peft.lora;

import java.util.Arrays;

/**
 * The singular value decomposition of a matrix given as a product of thin factors, ΔW = B·A with
 * B (m × R) and A (R × n), R small — the form every LoRA delta and sum of LoRA deltas has. QR of both
 * factors (modified Gram–Schmidt) reduces it to the SVD of an R × R matrix, done with one-sided Jacobi
 * rotations; all in double precision. DJL exposes no SVD from libtorch, and this is exact for the case.
 */
final class LowRankSvd {

    /** ΔW ≈ u · diag(s) · vt with singular values in decreasing order. */
    record Result(double[][] u, double[] s, double[][] vt) {}

    private LowRankSvd() {}

    static Result of(double[][] b, double[][] a) {
        int m = b.length;
        int r = a.length;
        int n = a[0].length;
        double[][] qb = new double[m][r];
        double[][] rb = qr(b, qb); // B = Qb·Rb
        double[][] at = transpose(a); // n × R
        double[][] qa = new double[n][r];
        double[][] ra = qr(at, qa); // Aᵀ = Qa·Ra
        double[][] core = multiply(rb, transpose(ra)); // R × R: ΔW = Qb·core·Qaᵀ
        double[][] v = identity(r);
        double[] s = jacobi(core, v); // core → U·diag(s) in place, V accumulated
        Integer[] order = new Integer[r];
        for (int i = 0; i < r; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> Double.compare(s[y], s[x]));
        double[][] u = new double[m][r];
        double[][] vt = new double[r][n];
        double[] sorted = new double[r];
        double[][] qbU = multiply(qb, core); // m × R, columns = U·s (unnormalised)
        double[][] qaV = multiply(qa, v); // n × R
        for (int k = 0; k < r; k++) {
            int j = order[k];
            sorted[k] = s[j];
            for (int i = 0; i < m; i++) {
                u[i][k] = s[j] > 0 ? qbU[i][j] / s[j] : 0;
            }
            for (int i = 0; i < n; i++) {
                vt[k][i] = qaV[i][j];
            }
        }
        return new Result(u, sorted, vt);
    }

    /** Modified Gram–Schmidt: fills q (rows × cols, orthonormal columns or zero) and returns R (cols × cols). */
    private static double[][] qr(double[][] x, double[][] q) {
        int rows = x.length;
        int cols = x[0].length;
        for (int i = 0; i < rows; i++) {
            System.arraycopy(x[i], 0, q[i], 0, cols);
        }
        double[][] r = new double[cols][cols];
        for (int j = 0; j < cols; j++) {
            for (int k = 0; k < j; k++) {
                double dot = 0;
                for (int i = 0; i < rows; i++) {
                    dot += q[i][k] * q[i][j];
                }
                r[k][j] = dot;
                for (int i = 0; i < rows; i++) {
                    q[i][j] -= dot * q[i][k];
                }
            }
            double norm = 0;
            for (int i = 0; i < rows; i++) {
                norm += q[i][j] * q[i][j];
            }
            norm = Math.sqrt(norm);
            r[j][j] = norm;
            for (int i = 0; i < rows; i++) {
                q[i][j] = norm > 1e-300 ? q[i][j] / norm : 0;
            }
        }
        return r;
    }

    /** One-sided Jacobi on the columns of w (square): returns column norms; w becomes U·diag(s), v accumulates V. */
    private static double[] jacobi(double[][] w, double[][] v) {
        int n = w.length;
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            for (int p = 0; p < n - 1; p++) {
                for (int q = p + 1; q < n; q++) {
                    double alpha = 0;
                    double beta = 0;
                    double gamma = 0;
                    for (int i = 0; i < n; i++) {
                        alpha += w[i][p] * w[i][p];
                        beta += w[i][q] * w[i][q];
                        gamma += w[i][p] * w[i][q];
                    }
                    if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta) || gamma == 0) {
                        continue;
                    }
                    off = Math.max(off, Math.abs(gamma) / Math.sqrt(alpha * beta));
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.signum(zeta == 0 ? 1 : zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
                    double c = 1 / Math.sqrt(1 + t * t);
                    double sn = c * t;
                    for (int i = 0; i < n; i++) {
                        double wp = w[i][p];
                        double wq = w[i][q];
                        w[i][p] = c * wp - sn * wq;
                        w[i][q] = sn * wp + c * wq;
                        double vp = v[i][p];
                        double vq = v[i][q];
                        v[i][p] = c * vp - sn * vq;
                        v[i][q] = sn * vp + c * vq;
                    }
                }
            }
            if (off < 1e-15) {
                break;
            }
        }
        double[] s = new double[n];
        for (int j = 0; j < n; j++) {
            double norm = 0;
            for (int i = 0; i < n; i++) {
                norm += w[i][j] * w[i][j];
            }
            s[j] = Math.sqrt(norm);
        }
        return s;
    }

    static double[][] multiply(double[][] x, double[][] y) {
        int rows = x.length;
        int inner = y.length;
        int cols = y[0].length;
        double[][] out = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int k = 0; k < inner; k++) {
                double xik = x[i][k];
                if (xik == 0) {
                    continue;
                }
                for (int j = 0; j < cols; j++) {
                    out[i][j] += xik * y[k][j];
                }
            }
        }
        return out;
    }

    static double[][] transpose(double[][] x) {
        double[][] t = new double[x[0].length][x.length];
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[0].length; j++) {
                t[j][i] = x[i][j];
            }
        }
        return t;
    }

    private static double[][] identity(int n) {
        double[][] id = new double[n][n];
        for (int i = 0; i < n; i++) {
            id[i][i] = 1;
        }
        return id;
    }
}
