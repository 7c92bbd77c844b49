#!/usr/bin/env bash
# Mutation run (issue 17 item 4, docs/testing.md): mutmut over one module at a time, each mutant against the
# tests that reach its function ([tool.mutmut] in pyproject.toml holds the test selection).
#   tools/mutation.sh rlev_cli.rewards rlev_cli.train.recipe      # then: mutmut show NAME, mutmut browse
# Prints per module: mutants, killed, survived (and any other status), and the killed share.
set -euo pipefail
cd "$(dirname "$0")/.."
MUTMUT=${MUTMUT:-mutmut}
export PYTHONPATH="$PWD/mutants" OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export RLEV_FIXTURES="${RLEV_FIXTURES:-$PWD/../shared/fixtures}"
mkdir -p mutants  # on PYTHONPATH before it exists, Python caches it as missing and the stats run finds no tests
for module in "$@"; do
    nice -n 10 "$MUTMUT" run --max-children "${MUTATION_CHILDREN:-1}" "$module.*" > "mutants/$module.log" 2>&1 \
        || { tail -n 30 "mutants/$module.log"; exit 1; }
    "$MUTMUT" results --all true 2>/dev/null | grep -F "$module." | awk -F': ' -v m="$module" '
        { n[$2]++; total++ }
        END { line = m ": " total " mutants"; for (s in n) line = line ", " n[s] " " s;
              printf "%s; %.1f %% killed\n", line, 100 * n["killed"] / total }'
done
