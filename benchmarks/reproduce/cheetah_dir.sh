#!/usr/bin/env bash
# Cheetah-Dir at 1M frames: RNN, RNN+HN and VI+HN at lr 1e-3, seeds 73 and 20. docs/results.md, "Cheetah-Dir".
# Arguments after -- go to every run: here an evaluation every 5 updates instead of the preset's 25.
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."

python benchmarks/sweep.py --methods rnn rnn_hn vi_hn --env-ids CheetahDir --seeds 73 20 --lrs 1e-3 \
    --total-timesteps 1000000 --out sweeps/CheetahDir --export docs/results/CheetahDir_1M -- --eval-interval 5
python benchmarks/aggregate.py docs/results/CheetahDir_1M --out docs/results/CheetahDir_1M
