package io.peft4j.quant;

import java.util.stream.IntStream;

/**
 * Values in [-1, 1] that scaled numbers are rounded to, indexed by the stored code. Encoding is bitsandbytes'
 * bucketize over the midpoints of the sorted values: the nearest value, one exactly between two going to the
 * smaller.
 */
final class CodeBook {

    private final float[] values;
    private final int[] ascending; // code indices by increasing value
    private final float[] midpoints; // between consecutive values in that order

    CodeBook(float[] values) {
        this.values = values.clone();
        // by value, -0 equal to 0 (as torch.argsort sees them), ties by index
        this.ascending = IntStream.range(0, values.length)
                .boxed()
                .sorted((a, b) -> Float.compare(values[a] + 0f, values[b] + 0f) != 0
                        ? Float.compare(values[a] + 0f, values[b] + 0f)
                        : Integer.compare(a, b))
                .mapToInt(Integer::intValue)
                .toArray();
        this.midpoints = new float[values.length - 1];
        for (int i = 0; i < midpoints.length; i++) {
            midpoints[i] = (values[ascending[i]] + values[ascending[i + 1]]) / 2f;
        }
    }

    float[] values() {
        return values.clone();
    }

    float value(int code) {
        return values[code];
    }

    int encode(float scaled) {
        int lo = 0;
        int hi = midpoints.length; // first midpoint ≥ scaled, or the count when none is
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (midpoints[mid] < scaled) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return ascending[lo];
    }
}
