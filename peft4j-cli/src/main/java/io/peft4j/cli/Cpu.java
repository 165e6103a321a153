package io.peft4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/** The CPU a run or benchmark ran on, as Linux's /proc/cpuinfo tells it: kept in each run's metrics, printed by the benchmarks. */
public final class Cpu {

    private static final List<String> VECTOR_FLAGS =
            List.of("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile");

    private Cpu() {}

    /**
     * "AMD EPYC (family 26 model 2, 2 cores available), vector extensions: avx avx2 fma avx512f ...", or what /proc does not tell.
     * The family and model tell CPU generations apart where a VM's model name does not (AMD family 25: Zen 3/4, 26: Zen 5).
     */
    public static String describe() {
        String name = "unknown CPU";
        String family = null;
        String model = null;
        TreeSet<String> vector = new TreeSet<>((a, b) -> VECTOR_FLAGS.indexOf(a) - VECTOR_FLAGS.indexOf(b));
        int cores = Runtime.getRuntime().availableProcessors();
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
        } catch (IOException e) {
            return "CPU not readable from /proc/cpuinfo (" + e.getMessage() + "), " + cores + " cores available";
        }
        for (String line : lines) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String key = line.substring(0, colon).strip();
            String value = line.substring(colon + 1).strip();
            if (key.equals("model name") && name.equals("unknown CPU")) {
                name = value;
            } else if (key.equals("cpu family") && family == null) {
                family = value;
            } else if (key.equals("model") && model == null) {
                model = value;
            } else if (key.equals("flags")) {
                for (String flag : value.split("\\s+")) {
                    if (VECTOR_FLAGS.contains(flag.toLowerCase(Locale.ROOT))) {
                        vector.add(flag.toLowerCase(Locale.ROOT));
                    }
                }
            }
        }
        return name + " (" + (family != null ? "family " + family + " model " + model + ", " : "") + cores
                + " cores available), vector extensions: "
                + (vector.isEmpty() ? "none listed" : String.join(" ", vector));
    }
}
