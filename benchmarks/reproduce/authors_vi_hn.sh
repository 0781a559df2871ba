#!/usr/bin/env bash
# VI+HN on Grid-World beside the authors' code (issue 34 item 4): docs/results/GridWorld_authors_vi_hn/README.md.
#
#   benchmarks/reproduce/authors_vi_hn.sh [AUTHORS_CHECKOUT]
#
# AUTHORS_CHECKOUT: a checkout of https://github.com/jacooba/hyper at commit 3a7639beb7c4daae731deb30891346a89249ad76,
# run unedited (it writes only __pycache__ into its own tree). Without it, only this project's side runs (said so).
# Run with this project's virtual environment active, from anywhere (the commands run from the repository root).
# The authors' side gets its own virtual environment, AUTHORS_VENV (default: $HOME/authors-venv), made with python3.11
# if it does not exist yet. One run at a time, one torch thread each; at ~150-650 frames/s a 500k run takes 15-60 min.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=docs/results/GridWorld_authors_vi_hn
SEEDS=(73 20 3)

# this project's side: vi_hn.py at Grid-World's preset, lr 3e-4 (envs.LEARNING_RATES), 500k frames; no lr annealing
# on Grid-World, so these are the first 500k frames of the committed 2M runs docs/results/GridWorld/*vi_hn__lr3e-4*
python benchmarks/sweep.py --methods vi_hn --env-ids GridWorld --lrs 3e-4 --seeds "${SEEDS[@]}" \
    --total-timesteps 500000 --workers 1 --threads 1 --out sweeps/authors_vi_hn/ours --export sweeps/authors_vi_hn/ours_csv

if [ $# -lt 1 ]; then
    echo "no AUTHORS_CHECKOUT given: ran this project's side only (usage: $0 AUTHORS_CHECKOUT)" >&2
    exit 0
fi
AUTHORS=$(cd "$1" && pwd)
AUTHORS_VENV=${AUTHORS_VENV:-$HOME/authors-venv}
if [ ! -x "$AUTHORS_VENV/bin/python" ]; then
    python3.11 -m venv "$AUTHORS_VENV"
    # what their Grid-World imports need; gym 0.25.2 and numpy 1.23.5 still run their gym-0.17 code, no MuJoCo
    "$AUTHORS_VENV/bin/pip" install torch==2.13.0 gym==0.25.2 numpy==1.23.5 matplotlib==3.8.4 tensorboard==2.21.0
fi
AUTHORS_PY="$AUTHORS_VENV/bin/python"
RUNS=$PWD/sweeps/authors_vi_hn/authors
COMMIT=3a7639beb7c4daae731deb30891346a89249ad76

# their VI+HN on Grid-World: experiment_sets/all_envs.py, set "grid" (shared_arguments) with experiment_sets/models.py
# VI_HN, in the order run_experiments.py writes them; lr_policy from the paper's grid (= ours), lr_vae 1e-3 (theirs);
# num_frames 500160: 521 updates of 16 x 60 frames, so the run passes 500k
AUTHORS_FLAGS=(--env-type gridworld_varibad --disable_decoder False --encoder_gru_hidden_size 256
    --env_name GridNavi-v0 --eval_interval 5 --exp_label VI+HN --hypernet_head_bias True --hypernet_input latent
    --init_adjust_bias True --init_adjust_weights False --init_hyper_for_policy True --lr_policy 0.0003 --lr_vae 0.001
    --norm_latent_for_policy True --num_frames 500160 --policy_latent_embedding_dim 25 --policy_layers 256 128
    --policy_layers_hyper 1 1 1 --policy_state_embedding_dim 256 --policy_task_embedding_dim 25
    --rlloss_through_encoder False --tbptt_stepsize None --use_hypernet True)
for seed in "${SEEDS[@]}"; do
    rm -rf "$RUNS/s$seed" && mkdir -p "$RUNS/s$seed"
    # they have no thread flag: OMP_NUM_THREADS=1 keeps torch on one thread
    (cd "$AUTHORS" && OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$AUTHORS_PY" main.py "${AUTHORS_FLAGS[@]}" --seed "$seed" \
        --results_log_dir "$RUNS/s$seed" > "$RUNS/s$seed/log.txt" 2>&1)
    note="{\"code\": \"jacooba/hyper@$COMMIT\", \"command\": \"main.py ${AUTHORS_FLAGS[*]} --seed $seed\"}"
    python benchmarks/compare_curves.py export "$RUNS/s$seed"/logs_GridNavi-v0/VI+HN_"$seed"__* \
        --return-tag "Meta-Episode Return" --episode-tag "return_avg_per_frame/episode_{k}" \
        --csv "$OUT/GridWorld__vi_hn-authors__lr3e-4__s$seed.csv" --note "$note"
done

# the window table of the README, and the curves of both sides (the authors' exported as the variant vi_hn-authors,
# drawn dashed) with aggregate.py's table
python benchmarks/compare_curves.py table --a sweeps/authors_vi_hn/ours_csv --b "$OUT" --labels ours authors \
    --max-frames 500000
python benchmarks/aggregate.py sweeps/authors_vi_hn/ours_csv "$OUT" --max-frames 500000 --out "$OUT"
