#!/usr/bin/env bash
# The whole RLEV chain on the bundled real exams, offline, with the tiny model (about 1 minute on 2 CPU
# cores, measured 50 s at load 0.6): ingest -> predict-values -> train each algorithm briefly (and the correctness-only baseline)
# -> evaluate side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
export RLEV_WORKSPACE="${RLEV_WORKSPACE:-rlev-workspace}" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false

rlev ingest examples/exams --scheme examples/jee_scheme.json --totals examples/jee_totals.csv --test-fraction 0.3
rlev predict-values                                  # cross-validated value model; fills value_pred
TRAIN=(--model tiny --max-steps 4 --batch-size 8 --max-completion-length 32 --learning-rate 1e-5 --save-steps 2)
runs=()
for recipe in "reinforce++ rlev" "rloo rlev" "grpo rlev" "rloo correctness"; do
  read -r algo reward <<<"$recipe"
  run=$(rlev train --algo "$algo" --reward "$reward" "${TRAIN[@]}" --json |
        python -c 'import json,sys; print(json.load(sys.stdin)["run_dir"])')
  runs+=("$run")
done
rlev evaluate "${runs[@]}" --benchmarks indomain,mmlu_pro,supergpqa --data-dir examples/ood \
  --max-new-tokens 32 --out "$RLEV_WORKSPACE/comparison"
