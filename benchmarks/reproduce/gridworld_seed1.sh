#!/usr/bin/env bash
# The one-seed Grid-World runs at lr 1e-3: RNN and RNN+HN to 4M frames, all six methods to 2M frames.
# docs/results.md, "Grid-World, RNN vs RNN+HN, one seed" and "Grid-World, all six methods at lr 1e-3, one seed".
# The commands are as docs/results.md gives them. Their exported curves are docs/results/GridWorld_4M
# (RNN, RNN+HN) and docs/results/GridWorld_issue4 (VI+HN, TI Naive, TI, TI++HN); benchmarks/run.py writes a
# curve with --csv FILE, benchmarks/sweep.py with --export DIR.
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."

# 4M frames, the paper's full Grid-World budget
python benchmarks/run.py rnn_hn --env-id GridWorld --seed 1 --lr 1e-3 --total-timesteps 4000000
python benchmarks/run.py rnn --env-id GridWorld --seed 1 --lr 1e-3 --total-timesteps 4000000

# 2M frames, every method at lr 1e-3 (RNN's and RNN+HN's 2M figures are the first 2M frames of the 4M runs)
python benchmarks/sweep.py --methods rnn rnn_hn vi_hn ti_naive ti ti_pp_hn --env-ids GridWorld --seeds 1 \
    --lrs 1e-3 --total-timesteps 2000000
python benchmarks/aggregate.py docs/results/GridWorld_issue4 docs/results/GridWorld_4M --max-frames 2000000 \
    --out docs/results/GridWorld_2M_s1

# the uniformly random policy's row of the 2M table (2048 meta-episodes)
python benchmarks/baselines.py --ids GridWorld --meta-episodes 2048
