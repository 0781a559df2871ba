"""Environment steps per second for every id, random actions, one process (no model in the loop).

python benchmarks/env_throughput.py [--num-envs 16] [--seconds 3] [--ids GridWorld CheetahDir ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import envs  # noqa: E402
from benchmarks.baselines import random_actions  # noqa: E402


def steps_per_second(env_id: str, num_envs: int, seconds: float) -> float:
    vec = envs.make(env_id, num_envs, seed=0)
    vec.reset()
    rng = np.random.default_rng(0)
    batches = [random_actions(vec.single_action_space, num_envs, rng) for _ in range(64)]
    for a in batches[:8]:  # warm-up
        vec.step(a)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        vec.step(batches[steps % 64])
        steps += 1
    elapsed = time.perf_counter() - start
    vec.close()
    return steps * num_envs / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--ids", nargs="*", default=list(envs.ENV_IDS))
    args = parser.parse_args()
    print(f"| env id | steps/s ({args.num_envs} envs, one process) |\n|---|---|")
    for env_id in args.ids:
        print(f"| {env_id} | {steps_per_second(env_id, args.num_envs, args.seconds):,.0f} |", flush=True)


if __name__ == "__main__":
    main()
