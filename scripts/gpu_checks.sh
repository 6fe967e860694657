#!/usr/bin/env bash
# What ganbench runs on a CUDA machine to check its GPU paths and measure its GPU speed.
# Results under results/bench/ name this script and the stage that made them.
#
#   GANBENCH_DATA=/path/with/MNIST bash scripts/gpu_checks.sh OUT_DIR STAGE [STAGE...]
#
# Stages:
#   install  pip install this checkout (no dependencies: the machine has them) and any
#            wheels in $WHEELS (a folder), for machines without internet
#   tests    the test suite's CUDA tests (graph vs eager for every variant, resume, jobs,
#            the backward-order guard, runs on their own streams)
#   smoke    `ganbench run --all --profile smoke` on ring8 and MNIST on the GPU, then the table
#   bench    scripts/bench_step.py on CUDA: one run per variant, core vs reference loop
#   eager    the same with --no-cuda-graph, to show what the graph itself buys
#   profile  scripts/profile_step.py on CUDA for dcgan and wgan-gp, with deterministic kernels
#            and without: kernels per step, how busy the GPU is during a replayed step, and
#            the costliest operators (why WGAN-GP's step takes 9x DCGAN's)
#   suite    scripts/bench_suite.py: 5 variants x 3 seeds on MNIST (SUITE_STEPS steps
#            per run, 500 by default) in each of LAYOUTS (JOBSxSTREAMS, default 8x1,1x15,3x5:
#            8 processes; all 15 runs in one process on 15 CUDA streams; 3 processes of 5),
#            each against one measurement of the reference
#   suite-mps  the same with an NVIDIA MPS daemon running, so the jobs' kernels can overlap
#            (the daemon is started for the stage and stopped after it; MPS_LAYOUTS, default
#            8x1,3x5)
#   tests-all  the whole test suite, on a machine where CUDA is visible
# Every stage writes its log to OUT_DIR/<stage>.log and goes on after a failure; the exit
# status is the number of failed stages.
set -uo pipefail
out="${1:?usage: gpu_checks.sh OUT_DIR STAGE...}"
shift
mkdir -p "$out"
export PYTHONUNBUFFERED=1 GANBENCH_CACHE="${GANBENCH_CACHE:-/tmp/ganbench-cache}"
py="${PYTHON:-python3}"
failed=0

stage() {
  local name="$1"
  shift
  echo "=== $name: $*"
  local t0=$SECONDS
  if "$@" > "$out/$name.log" 2>&1; then
    echo "=== $name: ok ($((SECONDS - t0)) s)"
  else
    echo "=== $name: FAILED ($((SECONDS - t0)) s); last lines:"
    failed=$((failed + 1))
  fi
  tail -n 25 "$out/$name.log"
}

for what in "$@"; do
  case "$what" in
    install)
      stage install bash -c "nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv &&
        $py -m pip install -q --no-index --no-deps --no-build-isolation ${WHEELS:+$WHEELS/*.whl} -e . &&
        $py -c 'import torch, torchvision, ganbench; print(torch.__version__, torchvision.__version__, torch.cuda.get_device_name())'"
      ;;
    tests)
      stage tests "$py" -m pytest -q -p no:cacheprovider tests/test_graph.py tests/test_jobs.py tests/test_cotrain.py -rs
      ;;
    smoke)
      stage smoke bash -c "ganbench run --all --datasets ring8,mnist --profile smoke --device cuda --no-inception --no-progress \
        --out '$out/smoke-runs' --jobs 2 && ganbench table --out '$out/smoke-runs' --per-run"
      ;;
    bench)
      stage bench "$py" scripts/bench_step.py --device cuda --steps 200 --repeats 5 --warmup 30 --json "$out/cuda.json"
      ;;
    eager)
      stage eager "$py" scripts/bench_step.py --device cuda --steps 200 --repeats 5 --warmup 30 --no-cuda-graph \
        --variants dcgan --json "$out/cuda-eager.json"
      ;;
    profile)
      stage profile bash -c "$py scripts/profile_step.py --device cuda --variants dcgan,wgan-gp --json '$out/profile.json' &&
        $py scripts/profile_step.py --device cuda --variants dcgan,wgan-gp --no-deterministic --json '$out/profile-nondet.json'"
      ;;
    suite)
      stage suite "$py" scripts/bench_suite.py --device cuda --layouts "${LAYOUTS:-8x1,1x15,3x5}" \
        --steps "${SUITE_STEPS:-500}" --json "$out/cuda-suite.json"
      ;;
    suite-mps)
      export CUDA_MPS_PIPE_DIRECTORY="${CUDA_MPS_PIPE_DIRECTORY:-/tmp/ganbench-mps-pipe}"
      export CUDA_MPS_LOG_DIRECTORY="${CUDA_MPS_LOG_DIRECTORY:-/tmp/ganbench-mps-log}"
      mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
      stage suite-mps bash -c "nvidia-cuda-mps-control -d && trap 'echo quit | nvidia-cuda-mps-control' EXIT &&
        $py scripts/bench_suite.py --device cuda --layouts '${MPS_LAYOUTS:-8x1,3x5}' \
        --steps '${SUITE_STEPS:-500}' --json '$out/cuda-suite-mps.json'"
      unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
      ;;
    tests-all)
      stage tests-all "$py" -m pytest -q -p no:cacheprovider -x -rs
      ;;
    *)
      echo "unknown stage: $what" >&2
      exit 2
      ;;
  esac
done
exit "$failed"
