package io.peft4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import io.peft4j.nn.Linear;
import io.peft4j.quant.BlockQuantized;
import io.peft4j.quant.QuantType;
import io.peft4j.quant.QuantizedLinear;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.Function;

/**
 * Dequantising one NF4 + double-quantised weight of a 1B Llama's MLP (8192 x 2048): QuantizedLinear's Java kernel
 * against the same computation in libtorch ops (bytes → int64 ids → embedding gather from a [256, 2] table of
 * code pairs → times the block absmax broadcast), and, for scale, the matmul that uses the weight.
 *
 * <p>Usage: {@code peft4j-bench/run DequantBenchmark [out=8192] [in=2048] [repeats=20] [tokens=256]}
 */
public final class DequantBenchmark {

    private DequantBenchmark() {}

    public static void main(String[] args) {
        System.out.println(Machine.describe());
        int out = args.length > 0 ? Integer.parseInt(args[0]) : 8192;
        int in = args.length > 1 ? Integer.parseInt(args[1]) : 2048;
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        int tokens = args.length > 3 ? Integer.parseInt(args[3]) : 256;
        try (NDManager manager = NDManager.newBaseManager()) {
            Linear dense = new Linear(manager, in, out, false, 0.02f);
            QuantizedLinear q = QuantizedLinear.quantize(dense, QuantType.NF4, 64, true);
            BlockQuantized stored = q.quantized();
            NDArray codes = manager.create(stored.codes()).toType(DataType.UINT8, false);
            NDArray scales = manager.create(stored.blockAbsmax());
            NDArray pairs = manager.create(pairTable(QuantType.NF4.code()));
            NDArray x = manager.randomNormal(new Shape(tokens, in));

            double kernel = time(repeats, scope -> q.dequantizedWeight(scope));
            double torch = time(repeats, scope -> libtorchDequantize(codes, pairs, scales, out, in, scope));
            NDArray w = q.dequantizedWeight(manager);
            double matmul = time(repeats, scope -> {
                NDArray xs = x.duplicate(); // so that the product is made in (and freed with) the scope
                xs.attach(scope);
                return xs.matMul(w.transpose());
            });
            try (NDManager scope = manager.newSubManager()) {
                float[] a = q.dequantizedWeight(scope).toFloatArray();
                float[] b =
                        libtorchDequantize(codes, pairs, scales, out, in, scope).toFloatArray();
                for (int i = 0; i < a.length; i++) {
                    if (Float.compare(a[i], b[i]) != 0) {
                        throw new IllegalStateException(
                                "the two dequantisations differ at " + i + ": " + a[i] + " vs " + b[i]);
                    }
                }
            }
            long n = (long) out * in;
            System.out.printf(
                    Locale.ROOT,
                    "NF4 + double quant, %d x %d (%,d weights), median of %d runs, %d threads%n",
                    out,
                    in,
                    n,
                    repeats,
                    Runtime.getRuntime().availableProcessors());
            System.out.printf(
                    Locale.ROOT,
                    "Java kernel (QuantizedLinear):   %8.2f ms  %6.2f ns/weight%n",
                    kernel,
                    kernel * 1e6 / n);
            System.out.printf(
                    Locale.ROOT,
                    "libtorch ops (gather formulation): %6.2f ms  %6.2f ns/weight  (%.1fx the kernel's time)%n",
                    torch,
                    torch * 1e6 / n,
                    torch / kernel);
            System.out.printf(Locale.ROOT, "matmul [%d, %d] x W^T for scale:  %6.2f ms%n", tokens, in, matmul);
        }
    }

    /** The libtorch formulation: codes → int64 → rows of the pair table → flattened → times each block's absmax. */
    private static NDArray libtorchDequantize(
            NDArray codes, NDArray pairs, NDArray scales, int out, int in, NDManager scope) {
        NDArray ids = codes.toType(DataType.INT64, true);
        ids.attach(scope);
        NDArray values = ids.getNDArrayInternal()
                .embedding(ids, pairs, SparseFormat.DENSE)
                .singletonOrThrow()
                .reshape(-1, 64); // [blocks, 64]
        return values.mul(scales.expandDims(1)).reshape(out, in);
    }

    private static float[][] pairTable(float[] code) {
        float[][] t = new float[256][2];
        for (int b = 0; b < 256; b++) {
            t[b][0] = code[b >>> 4];
            t[b][1] = code[b & 0xF];
        }
        return t;
    }

    /** Median milliseconds of {@code repeats} runs (after two warm-up runs), each in its own scope. */
    private static double time(int repeats, Function<NDManager, NDArray> work) {
        double[] ms = new double[repeats];
        for (int r = -2; r < repeats; r++) {
            try (NDManager scope = NDManager.newBaseManager()) {
                long start = System.nanoTime();
                work.apply(scope).toType(DataType.FLOAT32, false); // forces nothing lazy: libtorch is eager
                if (r >= 0) {
                    ms[r] = (System.nanoTime() - start) / 1e6;
                }
            }
        }
        Arrays.sort(ms);
        return ms[repeats / 2];
    }
}
