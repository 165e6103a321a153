package io.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Locale;

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
                for (int i = 0; i < 2; i++) {
                    try (NDManager step = manager.newSubManager()) {
                        a.matMul(b).attach(step);
                    }
                }
                int reps = 0;
                long start = System.nanoTime();
                long elapsed;
                do {
                    try (NDManager step = manager.newSubManager()) {
                        NDArray c = a.matMul(b);
                        c.attach(step);
                        c.getFloat(0, 0); // waits for the result on any device
                    }
                    reps++;
                    elapsed = System.nanoTime() - start;
                } while (elapsed < 1_000_000_000L || reps < 2);
                double gflops = 2.0 * n * n * n * reps / elapsed;
                best = Math.max(best, gflops);
                if (print) {
                    System.out.printf(Locale.ROOT, "sgemm %5d x %-5d %8.1f GFLOP/s (%d reps)%n", n, n, gflops, reps);
                }
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
            org.bytedeco.openblas.global.openblas_full.openblas_set_num_threads(Runtime.getRuntime().availableProcessors());
            if (print) {
                System.out.println("OpenBLAS " + org.bytedeco.openblas.global.openblas_full.openblas_get_config().getString().strip()
                        + ", core " + org.bytedeco.openblas.global.openblas_full.openblas_get_corename().getString());
            }
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            System.out.println("OpenBLAS not available: " + e.getMessage());
            return 0;
        }
        double best = 0;
        java.util.Random random = new java.util.Random(1);
        for (int n : new int[] {256, 512, 1024, 2048, 4096}) {
            try (org.bytedeco.javacpp.FloatPointer a = new org.bytedeco.javacpp.FloatPointer((long) n * n);
                 org.bytedeco.javacpp.FloatPointer b = new org.bytedeco.javacpp.FloatPointer((long) n * n);
                 org.bytedeco.javacpp.FloatPointer c = new org.bytedeco.javacpp.FloatPointer((long) n * n)) {
                float[] values = new float[n * n];
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) random.nextGaussian();
                }
                a.put(values);
                b.put(values);
                Runnable sgemm = () -> org.bytedeco.openblas.global.openblas_full.cblas_sgemm(org.bytedeco.openblas.global.openblas_full.CblasRowMajor,
                        org.bytedeco.openblas.global.openblas_full.CblasNoTrans, org.bytedeco.openblas.global.openblas_full.CblasNoTrans, n, n, n, 1f, a, n, b, n, 0f, c, n);
                sgemm.run();
                sgemm.run();
                int reps = 0;
                long start = System.nanoTime();
                long elapsed;
                do {
                    sgemm.run();
                    reps++;
                    elapsed = System.nanoTime() - start;
                } while (elapsed < 1_000_000_000L || reps < 2);
                double gflops = 2.0 * n * n * n * reps / elapsed;
                best = Math.max(best, gflops);
                if (print) {
                    System.out.printf(Locale.ROOT, "OpenBLAS sgemm %5d x %-5d %8.1f GFLOP/s (%d reps)%n", n, n, gflops, reps);
                }
            }
        }
        return best;
    }

    public static void main(String[] args) {
        System.out.println(Machine.describe());
        System.out.printf(Locale.ROOT, "libtorch threads: %s, cores: %d%n",
                System.getProperty("ai.djl.pytorch.num_interop_threads", "default"), Runtime.getRuntime().availableProcessors());
        double libtorch = measure(true);
        double openBlas = measureOpenBlas(true);
        System.out.printf(Locale.ROOT, "sgemm peak: libtorch %.1f GFLOP/s, OpenBLAS %.1f GFLOP/s; the machine's: %.1f GFLOP/s (OpenBLAS/libtorch %.2f)%n",
                libtorch, openBlas, Math.max(libtorch, openBlas), openBlas / libtorch);
    }
}
