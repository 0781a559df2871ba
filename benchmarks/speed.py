"""Training frames/s of method scripts with the paper's settings (16 envs, full model sizes), and the share of
time spent stepping environments. Each configuration is a short real training run.

    python benchmarks/speed.py --methods rnn rnn_hn --env-ids GridWorld CheetahDir --threads 1 2
    python benchmarks/speed.py --methods rnn_hn --env-ids ML1-push --env-workers 0 1 2   # simulators in processes
    python benchmarks/speed.py --cuda --methods rnn rnn_hn vi_hn ti_naive ti ti_pp_hn --threads 1   # on a GPU
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import envs  # noqa: E402
from benchmarks.events import read_scalars  # noqa: E402
from benchmarks.run import METHODS  # noqa: E402


def measure(method: str, env_id: str, threads: int, iterations: int, extra=()) -> tuple[float, float]:
    """(frames/s, env-time fraction) over the second half of a run of `iterations` rollouts: steady state, after
    the VAE methods' pre-collect (rollouts without an update) and the first updates. `extra`: more script arguments
    (--cuda, --env-workers N)."""
    preset = envs.preset(env_id)
    frames = iterations * preset["num_envs"] * preset["num_steps"]
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, os.path.join(ROOT, f"{method}.py"), "--env-id", env_id, *extra]
        command += ["--total-timesteps", str(frames), "--threads", str(threads), "--eval-interval", "1000000"]
        subprocess.run(command, cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        (run_dir,) = glob.glob(os.path.join(tmp, "runs", "*"))
        scalars = read_scalars(run_dir)
    steps, sps = map(np.array, scalars["charts/SPS"])  # cumulative since the start: frames / elapsed
    if len(steps) < 4:
        raise SystemExit(f"error: {method} on {env_id} updated only {len(steps)} times; pass more --iterations")
    elapsed = steps / sps
    env_time = np.array(scalars["charts/env_time_fraction"][1]) * elapsed
    a, b = len(steps) // 2, len(steps) - 1
    return (steps[b] - steps[a]) / (elapsed[b] - elapsed[a]), (env_time[b] - env_time[a]) / (elapsed[b] - elapsed[a])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=["rnn", "rnn_hn"], choices=METHODS)
    parser.add_argument("--env-ids", nargs="+", default=["GridWorld", "CheetahDir"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument(
        "--iterations",
        type=int,
        default=20,
        help="rollouts (iterations) per measurement; frames/s is taken over the second half",
    )
    parser.add_argument("--env-workers", nargs="+", type=int, default=[0], help="--env-workers values to measure")
    parser.add_argument("--cuda", action="store_true", help="run the scripts with --cuda (they say so if no GPU)")
    args = parser.parse_args()
    device = "CPU"
    if args.cuda:
        import torch

        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU (--cuda: no GPU available)"
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, {device}, {args.iterations} rollouts per run, "
        "frames/s over the second half"
    )
    print("| method | env | torch threads | env workers | frames/s | time stepping envs |\n|---|---|---|---|---|---|")
    for method in args.methods:
        for env_id in args.env_ids:
            for threads in args.threads:
                for workers in args.env_workers:
                    extra = ["--env-workers", str(workers)] + (["--cuda"] if args.cuda else [])
                    sps, env_fraction = measure(method, env_id, threads, args.iterations, extra)
                    row = f"| {method} | {env_id} | {threads} | {workers} | {sps:,.0f} | {env_fraction:.0%} |"
                    print(row, flush=True)


if __name__ == "__main__":
    main()
