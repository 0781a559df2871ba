"""Training frames/s of method scripts with the paper's settings (16 envs, full model sizes), and the share of
time spent stepping environments. Each configuration is a short real training run.

    python benchmarks/speed.py --methods rnn rnn_hn --env-ids GridWorld CheetahDir --threads 1 2
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import envs  # noqa: E402
from benchmarks.events import read_scalars  # noqa: E402
from benchmarks.run import METHODS  # noqa: E402


def measure(method: str, env_id: str, threads: int, iterations: int) -> tuple[float, float]:
    """(frames/s of the last iteration's cumulative SPS, env-time fraction) of a run of `iterations` updates."""
    preset = envs.preset(env_id)
    frames = iterations * preset["num_envs"] * preset["num_steps"]
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, os.path.join(ROOT, f"{method}.py"), "--env-id", env_id]
        command += ["--total-timesteps", str(frames), "--threads", str(threads), "--eval-interval", "1000000"]
        subprocess.run(command, cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        (run_dir,) = glob.glob(os.path.join(tmp, "runs", "*"))
        scalars = read_scalars(run_dir)
    return scalars["charts/SPS"][1][-1], scalars["charts/env_time_fraction"][1][-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=["rnn", "rnn_hn"], choices=METHODS)
    parser.add_argument("--env-ids", nargs="+", default=["GridWorld", "CheetahDir"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--iterations", type=int, default=20, help="PPO updates per measurement")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, {args.iterations} updates per run")
    print("| method | env | torch threads | frames/s | time stepping envs |\n|---|---|---|---|---|")
    for method in args.methods:
        for env_id in args.env_ids:
            for threads in args.threads:
                sps, env_fraction = measure(method, env_id, threads, args.iterations)
                print(f"| {method} | {env_id} | {threads} | {sps:,.0f} | {env_fraction:.0%} |", flush=True)


if __name__ == "__main__":
    main()
