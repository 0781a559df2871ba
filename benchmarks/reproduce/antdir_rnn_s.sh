#!/usr/bin/env bash
# Which of RNN+HN's two additions to RNN makes it fall on Ant-Dir at σ = 1 (docs/results.md, the 1M tier's Ant-Dir
# finding): RNN+S, RNN with the current state fed to its policy (rnn.py --pass-state), seeds 73 and 20, 1M frames at
# RNN's rate, against the 1M tier's RNN and RNN+HN; each final policy, task by task.
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=docs/results/AntDir_rnn_s_1M

# exported as AntDir__rnn_s__...: aggregate.py labels them "RNN+S"
python benchmarks/sweep.py --methods rnn --env-ids AntDir --seeds 73 20 --lrs default --total-timesteps 1000000 \
    --out sweeps/AntDir_rnn_s --export $OUT --export-suffix _s \
    -- --pass-state --eval-interval 5 --checkpoint-interval 10 --save-model
python benchmarks/aggregate.py $OUT docs/results/1M/AntDir__rnn__*.csv docs/results/1M/AntDir__rnn_hn__*.csv \
    --env-ids AntDir --out $OUT
for seed in 73 20; do
    python benchmarks/diagnose.py sweeps/AntDir_rnn_s/runs/AntDir__rnn_lr1e-3__${seed}__*/rnn_lr1e-3.pt --method rnn
done
