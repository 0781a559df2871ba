#!/usr/bin/env bash
# The Grid-World learning-rate pilot: seed 1, 300k frames, lrs 3e-3, 3e-4, 1e-4 (and 3e-5 for TI++HN).
# docs/results.md, "300k frames: the Grid-World learning-rate pilot". The lr 1e-3 point is the first 300k frames
# of the seed-1 runs of gridworld_seed1.sh, read from docs/results/GridWorld_issue4 and docs/results/GridWorld_4M.
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."

python benchmarks/sweep.py --methods rnn rnn_hn vi_hn ti_naive ti ti_pp_hn --env-ids GridWorld --seeds 1 \
    --lrs 3e-3 3e-4 1e-4 --total-timesteps 300000 --export docs/results/GridWorld_pilot
# TI++HN's best of the four lrs was the smallest, so 3e-5 too
python benchmarks/sweep.py --methods ti_pp_hn --env-ids GridWorld --seeds 1 --lrs 3e-5 --total-timesteps 300000 \
    --export docs/results/GridWorld_pilot

# the pick per method (highest average over the run) and the table with every lr (GridWorld_pilot/GridWorld.md)
python benchmarks/aggregate.py docs/results/GridWorld_pilot docs/results/GridWorld_issue4 docs/results/GridWorld_4M \
    --max-frames 300000 --out docs/results/GridWorld_pilot
