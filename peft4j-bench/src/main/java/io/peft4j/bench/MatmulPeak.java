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

    public static void main(String[] args) {
        System.out.println(Machine.describe());
        System.out.printf(Locale.ROOT, "libtorch threads: %s, cores: %d%n",
                System.getProperty("ai.djl.pytorch.num_interop_threads", "default"), Runtime.getRuntime().availableProcessors());
        double best = measure(true);
        System.out.printf(Locale.ROOT, "sgemm peak: %.1f GFLOP/s%n", best);
    }
}
