#!/usr/bin/env bash
# Do the 1M tier's runs that had not learned their task do so with more frames (docs/results.md, "The 1M tier continued")?
# Each continues a finished run from its last state.pt (sweep.py extends a run to a larger --total-timesteps; run
# tier_1m.sh and init_std.sh first, which export the 1M curves these runs' logs then lose):
# - RNN+HN on ML1-pick-place seeds 20 and 3, and on ML10 seed 20, to 2M frames (tier_1m.sh's runs);
# - RNN+HN on Ant-Dir with σ = 0.3 at the start, seeds 73 and 20, to 2M frames (init_std.sh's runs): do the policies,
#   which at 1M walk mostly along the compromise between the two tasks' directions, turn toward their task's?
# - RNN+HN on ML1-push seed 20, to 1.5M frames (tier_1m.sh's run; exported apart, since aggregate.py averages a
#   method's seeds over one budget).
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=docs/results/longer

python benchmarks/sweep.py --methods rnn_hn --env-ids ML1-pick-place --seeds 20 3 --lrs default \
    --total-timesteps 2000000 --out sweeps/1M --export $OUT \
    -- --eval-interval 20 --checkpoint-interval 10 --save-model
python benchmarks/sweep.py --methods rnn_hn --env-ids ML10 --seeds 20 --lrs default \
    --total-timesteps 2000000 --out sweeps/1M --export $OUT \
    -- --eval-interval 20 --checkpoint-interval 10 --save-model
python benchmarks/sweep.py --methods rnn_hn --env-ids AntDir --seeds 73 20 --lrs default --total-timesteps 2000000 \
    --out sweeps/init_std0.3 --export $OUT --export-suffix=-std0.3 \
    -- --policy-init-std 0.3 --eval-interval 5 --checkpoint-interval 10 --save-model
python benchmarks/sweep.py --methods rnn_hn --env-ids ML1-push --seeds 20 --lrs default --total-timesteps 1500000 \
    --out sweeps/1M --export ${OUT}_1.5M -- --eval-interval 20 --checkpoint-interval 10 --save-model
python benchmarks/aggregate.py $OUT --out $OUT
python benchmarks/aggregate.py ${OUT}_1.5M --out ${OUT}_1.5M
for run in ML1-pick-place__rnn_hn_lr3e-4__20 ML1-pick-place__rnn_hn_lr3e-4__3 ML1-push__rnn_hn_lr3e-4__20; do
    python benchmarks/diagnose.py sweeps/1M/runs/${run}__*/rnn_hn_lr3e-4.pt --method rnn_hn
done
python benchmarks/diagnose.py sweeps/1M/runs/ML10__rnn_hn_lr3e-4__20__*/rnn_hn_lr3e-4.pt --method rnn_hn --tasks 50
python benchmarks/diagnose.py sweeps/1M/runs/ML10__rnn_hn_lr3e-4__20__*/rnn_hn_lr3e-4.pt --method rnn_hn --tasks 25 \
    --split test
for seed in 73 20; do
    python benchmarks/diagnose.py sweeps/init_std0.3/runs/AntDir__rnn_hn_lr3e-4__${seed}__*/rnn_hn_lr3e-4.pt \
        --method rnn_hn
done
