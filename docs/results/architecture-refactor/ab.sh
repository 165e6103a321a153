#!/usr/bin/env bash
# Issue 29: the benchmarks before (BASE, default e38c755) and after (this checkout) the model-code refactor, alternated
# in one run so that both meet the same machine state. Run from the repository root; takes about 45 minutes on 2 cores.
set -euo pipefail
base_rev="${BASE:-e38c755}"
work="${WORK:-/tmp/peft4j-ab}"
mkdir -p "$work"
[ -d "$work/base" ] || git worktree add -q "$work/base" "$base_rev"
# the new DecodeOnly is compiled into the base tree's bench module so both measure the same way
mkdir -p "$work/base/peft4j-bench/src/main/java/io/peft4j/bench"
cp peft4j-bench/src/main/java/io/peft4j/bench/DecodeOnly.java "$work/base/peft4j-bench/src/main/java/io/peft4j/bench/"
(cd "$work/base" && ./mvnw -q -B -DskipTests package -pl peft4j-bench -am)
./mvnw -q -B -DskipTests package -pl peft4j-bench -am
run() { # tree program args...
  local tree=$1; shift; local program=$1; shift
  (cd "$tree" && java -Dai.djl.offline=true \
    -cp "peft4j-bench/target/peft4j-bench-0.1.0-SNAPSHOT.jar:$(cat peft4j-bench/target/classpath.txt)" \
    "io.peft4j.bench.$program" "$@")
}
for round in 1 2 3; do for tree in "$work/base" "$PWD"; do
  echo "=== $([ "$tree" = "$PWD" ] && echo after || echo before) round $round EncoderThroughput"; run "$tree" EncoderThroughput
done; done
for round in 1 2; do for tree in "$work/base" "$PWD"; do
  echo "=== $([ "$tree" = "$PWD" ] && echo after || echo before) round $round VisionBenchmark 8 6"; run "$tree" VisionBenchmark 8 6
done; done
for round in 1 2 3; do for tree in "$work/base" "$PWD"; do
  echo "=== $([ "$tree" = "$PWD" ] && echo after || echo before) round $round DecoderBenchmark 128 32"; run "$tree" DecoderBenchmark 128 32
done; done
for round in 1 2 3 4; do for tree in "$work/base" "$PWD"; do
  echo "=== $([ "$tree" = "$PWD" ] && echo after || echo before) round $round DecodeOnly"; run "$tree" DecodeOnly "$work/llama"
done; done
