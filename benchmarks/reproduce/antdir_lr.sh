#!/usr/bin/env bash
# Why RNN+HN falls on Ant-Dir (docs/results.md, the 1M tier's Ant-Dir finding): RNN+HN at RNN's rate, 1e-3, seed 73,
# 1M frames (the 3e-4 runs are the 1M tier's, tier_1m.sh); the table against them; the agents the runs start from
# (diagnose.py --untrained, on the tasks of each run's first evaluation) and the 1e-3 run's final policy.
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."

python benchmarks/sweep.py --methods rnn_hn --env-ids AntDir --seeds 73 --lrs 1e-3 --total-timesteps 1000000 \
    --out sweeps/AntDir_lr --export docs/results/AntDir_lr_1M -- --eval-interval 5 --checkpoint-interval 10 --save-model
python benchmarks/aggregate.py docs/results/1M/AntDir__rnn_hn__lr3e-4__s73.csv \
    docs/results/1M/AntDir__rnn_hn__lr3e-4__s20.csv docs/results/AntDir_lr_1M/AntDir__rnn_hn__lr1e-3__s73.csv \
    --env-ids AntDir --out docs/results/AntDir_lr_1M
for seed in 73 20; do
    for method in rnn rnn_hn vi_hn; do
        python benchmarks/diagnose.py --untrained AntDir --method "$method" --run-seed "$seed" --seed $((seed + 100000))
    done
done
python benchmarks/diagnose.py sweeps/AntDir_lr/runs/AntDir__rnn_hn_lr1e-3__73__*/rnn_hn_lr1e-3.pt --method rnn_hn
