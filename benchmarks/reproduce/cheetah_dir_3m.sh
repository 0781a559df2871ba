#!/usr/bin/env bash
# Cheetah-Dir, the paper's Fig. 6 question at 3M frames (1/25 of its 75M): RNN, RNN+HN and VI+HN at the rates the
# pilot picked (docs/learning_rates.md, "Cheetah-Dir"), seeds 73, 20, 3; TI Naive, TI and TI++HN at theirs, seed 73.
# Evaluated every 5 updates; the runs write their state every 10 updates, so launching a command again continues
# unfinished runs bit for bit. The committed runs of seeds 73 and 20 at the picked rates continued the pilot's runs
# (copied into this sweep's directory) from their state after update 70 or 150, which gives a fresh run's numbers
# (no lr annealing on Cheetah-Dir); run from scratch here.
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWEEP="python benchmarks/sweep.py --env-ids CheetahDir --total-timesteps 3000000 --out sweeps/CheetahDir_3M"
ARGS="--export docs/results/CheetahDir_3M -- --eval-interval 5 --checkpoint-interval 10"

$SWEEP --methods rnn_hn rnn vi_hn --seeds 73 20 3 --lrs default $ARGS
$SWEEP --methods ti_naive ti ti_pp_hn --seeds 73 20 3 --lrs default $ARGS
python benchmarks/aggregate.py docs/results/CheetahDir_3M --out docs/results/CheetahDir_3M
