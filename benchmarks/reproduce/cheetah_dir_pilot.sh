#!/usr/bin/env bash
# The Cheetah-Dir learning-rate pilot: seed 73, 500k frames, the paper's five lrs for every method, evaluated every 5
# updates; docs/learning_rates.md, "Cheetah-Dir". The runs write their state every 10 updates: launching the same
# command again continues the unfinished ones (bit for bit) and skips the finished ones.
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."

python benchmarks/sweep.py --methods rnn_hn rnn vi_hn ti_naive ti ti_pp_hn --env-ids CheetahDir --seeds 73 \
    --total-timesteps 500000 --out sweeps/CheetahDir_pilot --export docs/results/CheetahDir_pilot \
    -- --eval-interval 5 --checkpoint-interval 10

# the pick per method (highest average over the run) and the table with every lr (CheetahDir_pilot/CheetahDir.md)
python benchmarks/aggregate.py docs/results/CheetahDir_pilot --out docs/results/CheetahDir_pilot
