package io.peft4j.bench;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import io.peft4j.cli.Cpu;

/** The machine a benchmark ran on, printed first by every benchmark: CPU model, cores, vector extensions, libtorch's thread pools. */
final class Machine {

    private Machine() {}

    /** "CPU: AMD EPYC (family 25 model 1, 2 cores available), vector extensions: avx avx2 fma; libtorch threads: intra-op 2, inter-op 2". */
    static String describe() {
        String cpu = Cpu.describe();
        Engine.getEngine("PyTorch"); // loads libtorch, whose thread pools are read below
        return "CPU: " + cpu + "; libtorch threads: intra-op " + JniUtils.getNumThreads() + ", inter-op "
                + JniUtils.getNumInteropThreads();
    }
}
