"""Run one method on one environment and export what it measured: the evaluation curve and frames/s.

    python benchmarks/run.py rnn_hn --env-id GridWorld --seed 1 --lr 1e-3 --total-timesteps 4000000 \
        --csv docs/results/GridWorld_rnn_hn_s1.csv

Everything after the method name is passed to the method script unchanged. The script runs as a subprocess
(exactly the command a user types); afterwards its TensorBoard events are read and summarised.
"""

from __future__ import annotations

import argparse
import csv
import glob
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.events import read_scalars  # noqa: E402

METHODS = ("rnn", "rnn_hn", "vi_hn", "ti_naive", "ti", "ti_pp_hn")


def curve_rows(scalars: dict) -> list[dict]:
    """One row per evaluation: frames, then every eval/ tag (eval/meta_episode_return as eval_meta_episode_return,
    the others by their name: episode_k_return, action_abs_mean, success_rate, ...) and every eval_test/ tag (the
    held-out tasks of Meta-World) with the prefix test_; last, train_meta_episode_return: the mean return of the
    training meta-episodes (stochastic actions, charts/meta_episode_return) that ended since the previous
    evaluation, empty where none did."""
    steps, returns = scalars["eval/meta_episode_return"]
    columns = {"eval_meta_episode_return": returns}
    for tag in sorted(t for t in scalars if t.startswith(("eval/", "eval_test/")) and t != "eval/meta_episode_return"):
        split, name = tag.split("/")
        columns[name if split == "eval" else f"test_{name}"] = scalars[tag][1]
    train_steps, train_returns = scalars.get("charts/meta_episode_return", ([], []))
    train = []
    for before, step in zip([-1, *steps], steps, strict=False):
        window = [r for s, r in zip(train_steps, train_returns, strict=True) if before < s <= step]
        train.append(sum(window) / len(window) if window else "")
    columns["train_meta_episode_return"] = train
    return [{"frames": step, **{k: v[i] for k, v in columns.items()}} for i, step in enumerate(steps)]


def write_curve(path: str, rows: list[dict]) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def summary(scalars: dict, wall_clock: float) -> dict:
    returns = scalars["eval/meta_episode_return"][1]
    frames = scalars["charts/SPS"][0][-1]
    return {
        "frames": frames,
        "wall_clock_s": round(wall_clock, 1),
        "frames_per_s": round(frames / wall_clock, 1),
        "last_eval_return": returns[-1],  # one evaluation; "final" (docs/results.md) averages the last 10%
        "mean_eval_return_over_training": sum(returns) / len(returns),
        "env_time_fraction": scalars["charts/env_time_fraction"][1][-1],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("method", choices=METHODS)
    parser.add_argument("--csv", help="write the evaluation curve here")
    parser.add_argument("--runs-dir", default=ROOT, help="directory in which the method writes runs/")
    args, script_args = parser.parse_known_args(argv)
    exp_name = f"{args.method}_bench_{int(time.time())}"
    command = [sys.executable, os.path.join(ROOT, f"{args.method}.py"), "--exp-name", exp_name, *script_args]
    print("running:", " ".join(command), flush=True)
    start = time.time()
    subprocess.run(command, cwd=args.runs_dir, check=True)
    wall_clock = time.time() - start
    (run_dir,) = glob.glob(os.path.join(args.runs_dir, "runs", f"*__{exp_name}__*"))
    scalars = read_scalars(run_dir)
    rows = curve_rows(scalars)
    if args.csv:
        write_curve(args.csv, rows)
        print(f"curve: {args.csv}")
    for key, value in summary(scalars, wall_clock).items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")


if __name__ == "__main__":
    main()
