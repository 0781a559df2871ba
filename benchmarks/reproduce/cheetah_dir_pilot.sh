#!/usr/bin/env bash
# The Cheetah-Dir learning-rate pilot (docs/learning_rates.md, "Cheetah-Dir"): seed 73, 500k frames, the paper's five
# lrs for every method, evaluated every 5 updates; then seed 20 for the top two rates of every method whose top two
# are within 10 of each other (average evaluation return over the run); then VI+HN's top two continued to 1M frames
# on both seeds (the 500k ranking and the final returns disagree there). The runs write their state every 10 updates:
# launching a command again continues unfinished runs (bit for bit) and skips finished ones. The committed 1M runs
# continued the 500k runs from their last state (a sweep does this for runs it finished at a smaller budget, with the
# numbers of a fresh run); here they run in their own directory, from scratch, so that each sweep keeps one budget.
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWEEP="python benchmarks/sweep.py --env-ids CheetahDir --out sweeps/CheetahDir_pilot"
CHECKPOINTS="-- --eval-interval 5 --checkpoint-interval 10"

$SWEEP --methods rnn_hn rnn vi_hn ti_naive ti ti_pp_hn --seeds 73 --total-timesteps 500000 \
    --export docs/results/CheetahDir_pilot $CHECKPOINTS
$SWEEP --methods rnn --seeds 20 --lrs 1e-3 3e-5 --total-timesteps 500000 --export docs/results/CheetahDir_pilot $CHECKPOINTS
$SWEEP --methods vi_hn --seeds 20 --lrs 3e-4 3e-5 --total-timesteps 500000 --export docs/results/CheetahDir_pilot $CHECKPOINTS
$SWEEP --methods ti_naive --seeds 20 --lrs 1e-4 3e-5 --total-timesteps 500000 --export docs/results/CheetahDir_pilot $CHECKPOINTS
$SWEEP --methods ti --seeds 20 --lrs 3e-4 1e-4 --total-timesteps 500000 --export docs/results/CheetahDir_pilot $CHECKPOINTS
$SWEEP --methods ti_pp_hn --seeds 20 --lrs 3e-5 1e-4 --total-timesteps 500000 --export docs/results/CheetahDir_pilot $CHECKPOINTS
# the pick per method (highest mean over seeds of the average over the run) and every lr's score
python benchmarks/aggregate.py docs/results/CheetahDir_pilot --out docs/results/CheetahDir_pilot

# VI+HN's 1M check: its top two rates on seeds 73 and 20 at 1M frames
python benchmarks/sweep.py --env-ids CheetahDir --out sweeps/CheetahDir_pilot_1M \
    --methods vi_hn --seeds 73 20 --lrs 3e-4 3e-5 --total-timesteps 1000000 \
    --export docs/results/CheetahDir_pilot_1M $CHECKPOINTS
python benchmarks/aggregate.py docs/results/CheetahDir_pilot_1M --out docs/results/CheetahDir_pilot_1M
