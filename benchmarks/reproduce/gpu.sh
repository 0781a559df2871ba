#!/usr/bin/env bash
# Every method with --cuda on Grid-World and Cheetah-Dir: training frames/s (docs/speed.md, "On a GPU"). Made to
# run in under 10 minutes on a GPU machine, whenever one is available; on a machine without one the scripts say so
# and run on the CPU, and the header line says "CPU (--cuda: no GPU available)".
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
# Grid-World: 20 rollouts of 960 frames (the VAE methods pre-collect 5,000 frames first); Cheetah-Dir: 8 of 6,400
python benchmarks/speed.py --cuda --methods rnn rnn_hn vi_hn ti_naive ti ti_pp_hn --env-ids GridWorld \
    --threads 1 --iterations 20
python benchmarks/speed.py --cuda --methods rnn rnn_hn vi_hn ti_naive ti ti_pp_hn --env-ids CheetahDir \
    --threads 1 --iterations 8
