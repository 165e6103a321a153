#!/usr/bin/env bash
# The converged method comparison whose tables are in docs/results/{brown-genre,spam}: every method's learning rate
# chosen by validation accuracy among 1x, 3x and 10x its default at seed 42 (a first try with 0.3x, 1x, 3x chose 3x for
# every method), then 3 seeds at that rate; each run trains until validation accuracy has not improved for 4 epochs
# (at most 20), keeping its best epoch; batches of 8.
# Few-shot: 8 passages a genre for brown-genre (120), 16 messages a class for spam (32); 64 tokens; the first 200
# validation and 200 test examples. kd-lora is LoRA distilled from the Full run of the same seed (alpha 0.5, tau 2).
# Resumable: rerun after any stop; finished runs are kept. Runs go to $RUNS (default: comparison/ in the repository).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
runs="${RUNS:-$root/comparison}"
methods=full,fixed,bitfit,lora,lora@all-linear,dora,ia3,houlsby,parallel,prefix,prompt,ptuning,ptuning-v2,loha,kd-lora
common=(--methods "$methods" --teacher full --lr-grid 1,3,10 --seeds 3 --epochs 20 --early-stopping 4 --max-length 64 --max-eval 200
        --batch-size 8)
for task in brown-genre spam; do
  shots=8
  [ "$task" = spam ] && shots=16
  status=0
  "$root/peft4j" compare --task "$task" --shots "$shots" "${common[@]}" --output "$runs/$task" || status=$?
  mkdir -p "$root/docs/results/$task"
  cp "$runs/$task"/comparison.{md,csv,svg} "$root/docs/results/$task/"
  # every run's metrics (small), so the tables can be checked against the runs
  (cd "$runs/$task" && find . -name metrics.json -path '*/seed-*' | sort | tar -cf - -T -) | (cd "$root/docs/results/$task" && tar -xf -)
  [ "$status" = 0 ] || exit "$status"
done
