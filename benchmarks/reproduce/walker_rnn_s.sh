#!/usr/bin/env bash
# Why RNN's Walker return collapses (docs/results.md, the 1M tier's Walker finding): RNN+S, RNN with the current state
# fed to its policy (rnn.py --pass-state, the authors' RNN_S ablation), against RNN on the same seeds, 73, 20 and 3,
# 1M frames at RNN's Walker rate (1e-3), on the same commit; RNN+HN's 1M-tier runs (tier_1m.sh) beside them; each
# final policy, task by task.
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=docs/results/Walker_rnn_s_1M
RUN="--lrs default --total-timesteps 1000000 --export $OUT -- --eval-interval 5 --checkpoint-interval 10 --save-model"

# exported as Walker__rnn_s__...: aggregate.py labels them "RNN+S"
python benchmarks/sweep.py --methods rnn --env-ids Walker --seeds 73 20 3 --out sweeps/Walker_rnn_s --export-suffix _s \
    $RUN --pass-state
python benchmarks/sweep.py --methods rnn --env-ids Walker --seeds 73 20 3 --out sweeps/Walker_rnn $RUN
python benchmarks/aggregate.py $OUT docs/results/1M/Walker__rnn_hn__lr3e-4__s73.csv \
    docs/results/1M/Walker__rnn_hn__lr3e-4__s20.csv --env-ids Walker --out $OUT
for seed in 73 20 3; do
    python benchmarks/diagnose.py sweeps/Walker_rnn/runs/Walker__rnn_lr1e-3__${seed}__*/rnn_lr1e-3.pt --method rnn
    python benchmarks/diagnose.py sweeps/Walker_rnn_s/runs/Walker__rnn_lr1e-3__${seed}__*/rnn_lr1e-3.pt --method rnn
done
