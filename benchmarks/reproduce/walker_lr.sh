#!/usr/bin/env bash
# Why RNN's Walker return collapses (docs/results.md, the 1M tier's Walker finding): RNN at lr 3e-4, a third of the
# rate carried over from Cheetah-Dir (1e-3, the 1M tier's runs, tier_1m.sh), seeds 73 and 20, 1M frames; the table
# against the 1e-3 runs and RNN+HN; each 3e-4 run's final policy, task by task.
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."

python benchmarks/sweep.py --methods rnn --env-ids Walker --seeds 73 20 --lrs 3e-4 --total-timesteps 1000000 \
    --out sweeps/Walker_lr --export docs/results/Walker_lr_1M -- --eval-interval 5 --checkpoint-interval 10 --save-model
python benchmarks/aggregate.py docs/results/1M/Walker__rnn__lr1e-3__s73.csv docs/results/1M/Walker__rnn__lr1e-3__s20.csv \
    docs/results/1M/Walker__rnn_hn__lr3e-4__s73.csv docs/results/1M/Walker__rnn_hn__lr3e-4__s20.csv \
    docs/results/Walker_lr_1M/Walker__rnn__lr3e-4__s73.csv docs/results/Walker_lr_1M/Walker__rnn__lr3e-4__s20.csv \
    --env-ids Walker --out docs/results/Walker_lr_1M
for seed in 73 20; do
    python benchmarks/diagnose.py sweeps/Walker_lr/runs/Walker__rnn_lr3e-4__${seed}__*/rnn_lr3e-4.pt --method rnn
done
