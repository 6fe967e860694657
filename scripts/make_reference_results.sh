#!/usr/bin/env bash
# Rebuilds results/reference: the quick profile on ring8, grid25 and MNIST, every variant,
# seeds 0, 1 and 2, on the CPU, then its comparison table, figures and HTML report.
#
#   GANBENCH_DATA=../shared/data bash scripts/make_reference_results.sh [OUT] [JOBS]
#
# Runs are bit-identical for the same config and seed on a CPU, so a rerun reproduces the
# committed metrics.jsonl files exactly (timings differ). Weights and checkpoints are not
# committed (see results/reference/.gitignore); this script recreates them.
set -euo pipefail
out="${1:-results/reference}"
jobs="${2:-2}"
mkdir -p "$out"
ganbench run --all --datasets ring8,grid25,mnist --seeds 0,1,2 --profile quick --device cpu \
  --jobs "$jobs" --no-progress --out "$out/runs"
ganbench table --out "$out/runs" --format markdown > "$out/table.md"
ganbench table --out "$out/runs" --format csv > /dev/null   # writes runs.csv and comparison.csv
ganbench plot --out "$out/runs" --to "$out/plots"
ganbench report --out "$out/runs" --to "$out/report.html" --title "ganbench reference results (quick profile, CPU)"
echo "wrote $out"
