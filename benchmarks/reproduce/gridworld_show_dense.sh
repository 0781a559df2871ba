#!/usr/bin/env bash
# Grid-World Show and Grid-World Dense at 1M frames: RNN, RNN+HN and TI at the lrs picked on Grid-World, seeds
# 73, 20, 3 (sweep.py's default). docs/results.md, "Grid-World Show and Dense".
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."

python benchmarks/sweep.py --methods rnn rnn_hn --env-ids GridWorldShow --lrs 1e-3 --total-timesteps 1000000 \
    --out sweeps/GridWorldShow --export docs/results/GridWorldShow_1M
python benchmarks/sweep.py --methods ti --env-ids GridWorldShow --lrs 3e-4 --total-timesteps 1000000 \
    --out sweeps/GridWorldShow --export docs/results/GridWorldShow_1M
python benchmarks/aggregate.py docs/results/GridWorldShow_1M --out docs/results/GridWorldShow_1M

python benchmarks/sweep.py --methods rnn rnn_hn --env-ids GridWorldDense --lrs 1e-3 --total-timesteps 1000000 \
    --out sweeps/GridWorldDense --export docs/results/GridWorldDense_1M
python benchmarks/sweep.py --methods ti --env-ids GridWorldDense --lrs 3e-4 --total-timesteps 1000000 \
    --out sweeps/GridWorldDense --export docs/results/GridWorldDense_1M
python benchmarks/aggregate.py docs/results/GridWorldDense_1M --out docs/results/GridWorldDense_1M
