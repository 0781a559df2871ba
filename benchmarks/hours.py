"""Hours to the paper's budgets, from the training speeds the committed runs measured (docs/speed.md).

    python benchmarks/hours.py

For each env id and method: the fastest whole-run frames/s among the committed runs' summaries
(docs/results/**/*.json, at the paper's settings: variants such as RNN+S or a smaller initial std left out), and
the hours one run of the paper's budget (the preset's total_timesteps) takes at that speed on one core. Then the
paper's protocol per env id (6 methods x 5 learning rates x 3 seeds, 4 on MC-LS; reference §5.2) in core-hours, and
its wall-clock on a 32-core node running 32 one-thread runs at a time (benchmarks/sweep.py --workers 32 --threads 1)
if each core is as fast as the one that measured. Runs measured while other processes shared the machine, so these
are lower bounds on speed and upper bounds on hours.
"""

from __future__ import annotations

import glob
import json
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import envs  # noqa: E402
from benchmarks.run import METHODS  # noqa: E402
from benchmarks.sweep import EXTRA_SEEDS, LRS, SEEDS  # noqa: E402

NODE_CORES = 32


def fastest(pattern: str = os.path.join(ROOT, "docs", "results", "**", "*.json")) -> dict:
    """{(env_id, method): (frames/s, summary file)}: the fastest run of each, methods without variants only."""
    best = {}
    for path in glob.glob(pattern, recursive=True):
        with open(path) as f:
            summary = json.load(f)
        key = (summary.get("env_id"), summary.get("method"))
        if key[1] in METHODS and summary.get("frames_per_s") and summary["frames_per_s"] > best.get(key, (0,))[0]:
            best[key] = (summary["frames_per_s"], os.path.relpath(path, ROOT))
    return best


def table(best: dict) -> str:
    lines = [
        "| env id (paper's budget) | " + " | ".join(METHODS) + f" | protocol, core-hours | on {NODE_CORES} cores |",
        "|---|" + "---|" * (len(METHODS) + 2),
    ]
    for env_id in envs.ENV_IDS:
        budget = envs.preset(env_id)["total_timesteps"]
        runs = len(LRS) * (len(SEEDS) + len(EXTRA_SEEDS.get(env_id, ())))
        cells, core_hours = [], 0.0
        for method in METHODS:
            if (env_id, method) in best:
                hours = budget / best[env_id, method][0] / 3600
                cells.append(f"{best[env_id, method][0]:,.0f}/s: {hours:,.1f} h")
                core_hours += runs * hours
            else:
                cells.append("")
        complete = all(c for c in cells)
        # 32 runs at a time: the protocol's runs of one method are equally long, so the node works through
        # ceil(runs / 32) rounds of each method's runs, or better when methods share rounds; core-hours / 32 bounds it
        node = f"≥ {core_hours / NODE_CORES:,.0f} h" if complete else ""
        lines.append(
            f"| {env_id} ({budget / 1e6:g}M) | "
            + " | ".join(cells)
            + f" | {f'{core_hours:,.0f}' if complete else 'not all measured'} | {node} |"
        )
    return "\n".join(lines)


def main():
    best = fastest()
    print(table(best))
    total = [
        math.fsum(
            len(LRS) * (len(SEEDS) + len(EXTRA_SEEDS.get(e, ()))) * envs.preset(e)["total_timesteps"] / best[e, m][0]
            for m in METHODS
        )
        / 3600
        for e in envs.ENV_IDS
        if all((e, m) in best for m in METHODS)
    ]
    print(f"\nenv ids with every method measured: {len(total)}; their protocols: {math.fsum(total):,.0f} core-hours")


if __name__ == "__main__":
    main()
