#!/usr/bin/env bash
# Training frames/s and environment steps/s: docs/speed.md. Run on an otherwise idle machine, one command at a
# time; the figures vary from day to day, so compare only what was measured in one sitting.
# Run with the virtual environment active (. .venv/bin/activate); the commands run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."

# this project's side of the comparison with the authors' code (docs/speed.md, "Against the authors' code")
python benchmarks/speed.py --methods rnn rnn_hn --env-ids GridWorld --threads 1 2
# every method, 1 torch thread (docs/speed.md, "Every method on a 2-core CPU")
python benchmarks/speed.py --methods rnn rnn_hn vi_hn ti_naive ti ti_pp_hn --env-ids GridWorld CheetahDir \
    --threads 1 --iterations 16
# that table's 2-thread column (speed.py's default methods, rnn and rnn_hn, on GridWorld and CheetahDir)
python benchmarks/speed.py --threads 1 2 --iterations 10
# RNN over 120 rollouts
python benchmarks/speed.py --methods rnn --env-ids GridWorld --threads 1 --iterations 120
# environment steps/s, 16 environments, random actions
python benchmarks/env_throughput.py
# simulators in worker processes (docs/speed.md, "Environments in worker processes")
python benchmarks/speed.py --methods rnn --env-ids ML1-push ML10 AntDir Walker --threads 1 --iterations 8 \
    --env-workers 0 1 2
# the generated layers against a plain matrix product (docs/speed.md, "The hypernetwork's layers ...")
python benchmarks/hyper_ceiling.py --env-ids GridWorld CheetahDir
# hours to the paper's budgets, from the committed runs' frames/s (docs/speed.md, "Hours to the paper's budgets")
python benchmarks/hours.py
