package io.peft4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/** The machine a benchmark ran on, printed first by every benchmark: CPU model, cores, vector extensions, libtorch's thread pools. */
final class Machine {

    private static final List<String> VECTOR_FLAGS = List.of("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
            "avx512_bf16", "amx_tile");

    private Machine() {}

    /** "CPU: AMD EPYC ... (2 cores available), vector extensions: avx avx2 fma; libtorch threads: intra-op 2, inter-op 2", or what Linux's /proc does not tell. */
    static String describe() {
        String model = "unknown CPU";
        TreeSet<String> vector = new TreeSet<>((a, b) -> VECTOR_FLAGS.indexOf(a) - VECTOR_FLAGS.indexOf(b));
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name") && model.equals("unknown CPU")) {
                    model = line.substring(line.indexOf(':') + 1).strip();
                } else if (line.startsWith("flags")) {
                    for (String flag : line.substring(line.indexOf(':') + 1).strip().split("\\s+")) {
                        if (VECTOR_FLAGS.contains(flag.toLowerCase(Locale.ROOT))) {
                            vector.add(flag.toLowerCase(Locale.ROOT));
                        }
                    }
                }
            }
        } catch (IOException e) {
            return "CPU: not readable from /proc/cpuinfo (" + e.getMessage() + "), " + Runtime.getRuntime().availableProcessors() + " cores available";
        }
        ai.djl.engine.Engine.getEngine("PyTorch");                       // loads libtorch, whose thread pools are read below
        return "CPU: " + model + " (" + Runtime.getRuntime().availableProcessors() + " cores available), vector extensions: "
                + (vector.isEmpty() ? "none listed" : String.join(" ", vector)) + "; libtorch threads: intra-op "
                + ai.djl.pytorch.jni.JniUtils.getNumThreads() + ", inter-op " + ai.djl.pytorch.jni.JniUtils.getNumInteropThreads();
    }
}
