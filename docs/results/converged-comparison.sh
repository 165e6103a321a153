#!/usr/bin/env bash
# The converged method comparison whose tables are in docs/results/{brown-genre,spam}: every method's learning rate
# chosen by validation accuracy among 1x, 3x and 10x its default at seed 42 (a first try with 0.3x, 1x, 3x chose 3x for
# every method), then 3 seeds at that rate; each run trains until validation accuracy has not improved for 4 epochs
# (at most 20), keeping its best epoch; batches of 8.
# Few-shot: 8 passages a genre for brown-genre (120), 16 messages a class for spam (32); 64 tokens; the first 200
# validation and 200 test examples. kd-lora is LoRA distilled from the Full run of the same seed (alpha 0.5, tau 2); it
# comes right after full, so that it runs while the Full runs' adapters (its teachers, not committed) are on disk.
# Resumable: rerun after any stop; finished runs are kept. Runs go to $RUNS (default: comparison/ in the repository).
# The whole takes longer than one working session of a 2-core machine, so the finished runs' metrics.json files are
# committed under docs/results/<task>/ as they come (`converged-comparison.sh save` copies them there) and each start
# puts the committed ones back into $RUNS, where compare takes them as finished.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
runs="${RUNS:-$root/comparison}"
tasks=(brown-genre spam)
methods=full,kd-lora,fixed,bitfit,lora,lora@all-linear,dora,ia3,houlsby,parallel,prefix,prompt,ptuning,ptuning-v2,loha
common=(--methods "$methods" --teacher full --lr-grid 1,3,10 --seeds 3 --epochs 20 --early-stopping 4 --max-length 64 --max-eval 200
        --batch-size 8)

# copy every finished run's metrics.json from $1 to $2 (same relative paths), keeping those already there
copy_metrics() {
  [ -d "$1" ] || return 0
  mkdir -p "$2"
  (cd "$1" && find . -name metrics.json -path '*/seed-*' | sort | tar -cf - -T -) | (cd "$2" && tar --skip-old-files -xf -)
}

if [ "${1:-}" = save ]; then
  for task in "${tasks[@]}"; do copy_metrics "$runs/$task" "$root/docs/results/$task"; done
  exit 0
fi
for task in "${tasks[@]}"; do
  copy_metrics "$root/docs/results/$task" "$runs/$task"
  shots=8
  [ "$task" = spam ] && shots=16
  status=0
  "$root/peft4j" compare --task "$task" --shots "$shots" "${common[@]}" --output "$runs/$task" || status=$?
  mkdir -p "$root/docs/results/$task"
  cp "$runs/$task"/comparison.{md,csv,svg} "$root/docs/results/$task/"
  copy_metrics "$runs/$task" "$root/docs/results/$task"   # every run's metrics (small), so the tables can be checked against the runs
  [ "$status" = 0 ] || exit "$status"
done
