#!/usr/bin/env bash
# Grid-World, the paper's protocol at its full budget (4M frames): each method at its default (picked) learning rate,
# seeds 73, 20, 3 (sweep.py's default). docs/results.md, "Grid-World, the paper's protocol at its full budget".
# One run at a time, one torch thread; re-running finishes an interrupted sweep (finished runs are skipped,
# unfinished ones resume from their state.pt). The hypernetwork methods take 1.5-3 hours a run here.
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."

python benchmarks/sweep.py --methods rnn ti_naive ti --env-ids GridWorld --lrs default --total-timesteps 4000000 \
    --workers 1 --threads 1 --out sweeps/GridWorld_4M --export docs/results/GridWorld_4M_protocol
python benchmarks/sweep.py --methods rnn_hn vi_hn ti_pp_hn --env-ids GridWorld --lrs default \
    --total-timesteps 4000000 --workers 1 --threads 1 --out sweeps/GridWorld_4M \
    --export docs/results/GridWorld_4M_protocol
python benchmarks/aggregate.py docs/results/GridWorld_4M_protocol --out docs/results/GridWorld_4M_protocol
python benchmarks/front_table.py
