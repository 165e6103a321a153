package io.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Locale;
import java.util.Random;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_full;

/**
 * The sgemm probe: the largest float32 matmul throughput libtorch reaches on this machine, the peak
 * that MFU figures are divided by. Square matrices of growing size; each timed for at least a second.
 */
public final class MatmulPeak {

    private MatmulPeak() {}

    /** Measures and prints each size; returns the best GFLOP/s. */
    public static double measure(boolean print) {
        double best = 0;
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int n : new int[] {256, 512, 1024, 2048, 4096}) {
                NDArray a = manager.randomNormal(new Shape(n, n));
                NDArray b = manager.randomNormal(new Shape(n, n));
                best = Math.max(
                        best,
                        gflops(
                                "sgemm",
                                n,
                                () -> {
                                    try (NDManager step = manager.newSubManager()) {
                                        NDArray c = a.matMul(b);
                                        c.attach(step);
                                        c.getFloat(0, 0); // waits for the result on any device
                                    }
                                },
                                print));
                a.close();
                b.close();
            }
        }
        return best;
    }

    /**
     * OpenBLAS's sgemm (bytedeco's build from Maven Central, its own kernels for the CPU it finds) on the same sizes;
     * returns the best GFLOP/s, or 0 where it cannot be loaded.
     */
    public static double measureOpenBlas(boolean print) {
        try {
            openblas_full.openblas_set_num_threads(Runtime.getRuntime().availableProcessors());
            if (print) {
                System.out.println("OpenBLAS "
                        + openblas_full.openblas_get_config().getString().strip() + ", core "
                        + openblas_full.openblas_get_corename().getString());
            }
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            System.out.println("OpenBLAS not available: " + e.getMessage());
            return 0;
        }
        double best = 0;
        Random random = new Random(1);
        for (int n : new int[] {256, 512, 1024, 2048, 4096}) {
            try (FloatPointer a = new FloatPointer((long) n * n);
                    FloatPointer b = new FloatPointer((long) n * n);
                    FloatPointer c = new FloatPointer((long) n * n)) {
                float[] values = new float[n * n];
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) random.nextGaussian();
                }
                a.put(values);
                b.put(values);
                best = Math.max(
                        best,
                        gflops(
                                "OpenBLAS sgemm",
                                n,
                                () -> openblas_full.cblas_sgemm(
                                        openblas_full.CblasRowMajor,
                                        openblas_full.CblasNoTrans,
                                        openblas_full.CblasNoTrans,
                                        n,
                                        n,
                                        n,
                                        1f,
                                        a,
                                        n,
                                        b,
                                        n,
                                        0f,
                                        c,
                                        n),
                                print));
            }
        }
        return best;
    }

    /** An n×n×n product's GFLOP/s, run twice to warm up, then timed for at least a second. */
    private static double gflops(String what, int n, Runnable product, boolean print) {
        product.run();
        product.run();
        int reps = 0;
        long start = System.nanoTime();
        long elapsed;
        do {
            product.run();
            reps++;
            elapsed = System.nanoTime() - start;
        } while (elapsed < 1_000_000_000L || reps < 2);
        double gflops = 2.0 * n * n * n * reps / elapsed;
        if (print) {
            System.out.printf(Locale.ROOT, "%s %5d x %-5d %8.1f GFLOP/s (%d reps)%n", what, n, n, gflops, reps);
        }
        return gflops;
    }

    /** The machine's sgemm peak: the better of libtorch's and OpenBLAS's (what an MFU is measured against). */
    public static double machinePeak() {
        return Math.max(measure(false), measureOpenBlas(false));
    }

    public static void main(String[] args) {
        System.out.println(Machine.describe());
        double libtorch = measure(true);
        double openBlas = measureOpenBlas(true);
        System.out.printf(
                Locale.ROOT,
                "sgemm peak: libtorch %.1f GFLOP/s, OpenBLAS %.1f GFLOP/s; the machine's: %.1f GFLOP/s (OpenBLAS/libtorch %.2f)%n",
                libtorch,
                openBlas,
                Math.max(libtorch, openBlas),
                openBlas / libtorch);
    }
}
