#!/usr/bin/env bash
# Is the initial exploration noise what stops RNN+HN standing on Ant-Dir, and what makes RNN's Walker return collapse
# (docs/results.md, the 1M tier's Ant-Dir and Walker findings)? The same runs as the 1M tier (tier_1m.sh), with the
# Gaussian's initial std at 0.3 instead of the reference's 1 (--policy-init-std 0.3): RNN+HN and RNN on Ant-Dir, RNN on
# Walker, seeds 73 and 20, and VI+HN on Ant-Dir, seed 73; 1M frames, default rates; plotted against the 1M tier's runs;
# each final policy, task by task.
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=docs/results/init_std0.3_1M
# exported as {env}__{method}-std0.3__...: aggregate.py draws them as dashed variants of their method
RUN="--lrs default --total-timesteps 1000000 --out sweeps/init_std0.3 --export $OUT --export-suffix=-std0.3"
RUN="$RUN -- --policy-init-std 0.3 --eval-interval 5 --checkpoint-interval 10 --save-model"

python benchmarks/sweep.py --methods rnn_hn rnn --env-ids AntDir --seeds 73 20 $RUN
python benchmarks/sweep.py --methods rnn --env-ids Walker --seeds 73 20 $RUN
python benchmarks/sweep.py --methods vi_hn --env-ids AntDir --seeds 73 $RUN
# against σ = 1: the 1M tier's runs, and on Walker RNN's runs of walker_rnn_s.sh (seeds 73, 20, 3, made on the machine
# that made these)
python benchmarks/aggregate.py $OUT docs/results/1M/AntDir__rnn*.csv docs/results/1M/AntDir__vi_hn__*.csv \
    docs/results/Walker_rnn_s_1M/Walker__rnn__*.csv docs/results/1M/Walker__rnn_hn__*.csv --env-ids AntDir Walker --out $OUT
for seed in 73 20; do
    python benchmarks/diagnose.py sweeps/init_std0.3/runs/AntDir__rnn_hn_lr3e-4__${seed}__*/rnn_hn_lr3e-4.pt --method rnn_hn
    python benchmarks/diagnose.py sweeps/init_std0.3/runs/AntDir__rnn_lr1e-3__${seed}__*/rnn_lr1e-3.pt --method rnn
    python benchmarks/diagnose.py sweeps/init_std0.3/runs/Walker__rnn_lr1e-3__${seed}__*/rnn_lr1e-3.pt --method rnn
done
python benchmarks/diagnose.py sweeps/init_std0.3/runs/AntDir__vi_hn_lr3e-4__73__*/vi_hn_lr3e-4.pt --method vi_hn
