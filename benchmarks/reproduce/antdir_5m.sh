#!/usr/bin/env bash
# Ant-Dir past the fall: RNN, RNN+HN and VI+HN at their default learning rates and the reference's initial
# sigma = 1 (the scripts' default), on the 1M tier's seeds 73 and 20, first to 1M frames, then extended to 5M
# (sweep.py resumes each finished run from its state.pt: one run, one identity, one curve). diagnose.py reads each
# run's final policy at 1M and at 5M: heading, falls, and the return net of the survival bonus.
# Evaluations every 5 updates as in the 1M tier; a saved state every 10 updates, so that a sweep stopped at any
# point resumes bit for bit when the same command runs again from the same commit (a state.pt loads only into the
# version of the script that wrote it). A 5M-frame run takes about 1-3 hours of one core here (RNN+HN the longest).
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=docs/results/AntDir_5M
SWEEP="python benchmarks/sweep.py --methods rnn rnn_hn vi_hn --env-ids AntDir --seeds 73 20 --lrs default \
    --workers 1 --threads 1 --out sweeps/AntDir_5M --export $OUT"
ARGS="-- --eval-interval 5 --checkpoint-interval 10 --save-model"
mkdir -p $OUT

diagnose() {  # each run's final policy (--save-model) on the 16 tasks of its own evaluations (seed + 100000)
    for method in rnn rnn_hn vi_hn; do
        for seed in 73 20; do
            for model in sweeps/AntDir_5M/runs/AntDir__${method}_lr*__${seed}__*/$method.pt; do
                echo "## $model"
                python benchmarks/diagnose.py "$model" --method $method --tasks 16 --seed $((seed + 100000))
            done
        done
    done
}

$SWEEP --total-timesteps 1000000 $ARGS
diagnose > $OUT/diagnose_1M.md
$SWEEP --total-timesteps 5000000 $ARGS
diagnose > $OUT/diagnose_5M.md
python benchmarks/aggregate.py $OUT --out $OUT
