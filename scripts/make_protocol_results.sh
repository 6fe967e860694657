#!/usr/bin/env bash
# Builds results/protocols: issue 20's committed CPU runs of the published protocols, then
# each folder's table against the paper, its plots and its HTML report.
#
#   GANBENCH_DATA=../shared/data bash scripts/make_protocol_results.sh [pacgan-2d] [pacgan-stacked-mnist]
#
# pacgan-2d: 3 rows x ring8, grid25 x seeds 0-4 at 10,000 steps (2.5% of PacGAN's 400,000);
#   about 1 h 30 min at --jobs 2 on 2 idle cores (measured 2026-12-02, Intel Xeon).
# pacgan-stacked-mnist: 3 rows x seeds 0-2 at 1,000 steps (1% of the 100,000 iterations); it
#   needs MNIST under $GANBENCH_DATA and is about 1.5 CPU-hours per seed on an AMD EPYC and
#   3.5 on an Intel Xeon (measured 2026-12-02/03, docs/protocols.md).
# Seeds are trained one or two at a time so that a sitting cut short leaves whole seeds,
# which can be committed; runs resume and skip what is done, so rerun the script to go on.
# Weights and checkpoints are git-ignored (results/protocols/.gitignore).
set -euo pipefail
jobs="${JOBS:-2}"
what=("$@")
[ ${#what[@]} -gt 0 ] || what=(pacgan-2d pacgan-stacked-mnist)
for p in "${what[@]}"; do
  out="results/protocols/$p"
  case "$p" in
    pacgan-2d) steps=10000; groups=(0-1 2-3 4) ;;
    pacgan-stacked-mnist) steps=1000; groups=(0 1 2) ;;
    *) echo "make_protocol_results.sh: unknown protocol $p (pacgan-2d, pacgan-stacked-mnist)" >&2; exit 2 ;;
  esac
  for seeds in "${groups[@]}"; do
    ganbench run --protocol "$p" --seeds "$seeds" --steps "$steps" --jobs "$jobs" --resume \
      --no-progress --out "$out"
  done
  for fmt in csv latex json; do   # the markdown one is written by the printing call below
    ganbench table --protocol "$p" --out "$out" --format "$fmt" > /dev/null
  done
  ganbench table --protocol "$p" --out "$out"
  ganbench plot --out "$out" --to "$out/plots"
  ganbench report --out "$out" --title "ganbench: $p on a CPU"
  echo "wrote $out (protocol-$p.*, plots/, report.html)"
done
