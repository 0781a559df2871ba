#!/usr/bin/env bash
# MC-LS at 1M frames: RNN+HN and VI+HN at lr 1e-3, seed 73. docs/results.md, "MC-LS".
# Arguments after -- go to every run: here an evaluation every 2 updates instead of the preset's 10.
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."

python benchmarks/sweep.py --methods rnn_hn vi_hn --env-ids MC-LS --seeds 73 --lrs 1e-3 \
    --total-timesteps 1000000 --out sweeps/MC-LS --export docs/results/MC-LS_1M -- --eval-interval 2
python benchmarks/aggregate.py docs/results/MC-LS_1M --out docs/results/MC-LS_1M
