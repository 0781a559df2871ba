"""Two sets of evaluation curves side by side, window by window; and curves exported from another code's TensorBoard.

    # the window table: per seed the mean evaluation return in each 100k-frame window, then per side the mean over
    # seeds with its 68% bootstrap interval (benchmarks/aggregate.py's), and whether the two intervals separate
    python benchmarks/compare_curves.py table --a docs/results/GridWorld/GridWorld__vi_hn__lr3e-4__s*.csv \\
        --b docs/results/GridWorld_authors_vi_hn --labels ours authors --max-frames 500000

    # one run directory of any code that logs to TensorBoard -> an exported curve CSV (benchmarks/sweep.py's columns)
    python benchmarks/compare_curves.py export RUN_DIR --return-tag "Meta-Episode Return" \\
        --episode-tag "return_avg_per_frame/episode_{k}" --csv OUT/GridWorld__vi_hn__lr3e-4__s73.csv

Each side of `table` is exported curve CSVs ({env}__{method}__lr{L}__s{S}.csv) or folders of them. The windows are
(k·W, (k+1)·W] frames, the whole windows up to --max-frames (default: the last frame every curve reaches); a curve
with no evaluation inside a window is an error, not a gap. "Separate" means the two 68% intervals do not overlap:
the difference is outside seed noise by the project's criterion (docs/results.md). A second table gives each seed's
window means and how many of the second side's seeds lie within the first side's range (min to max), the reading
left where one side has a single seed.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.aggregate import EXPORT_NAME, Curve, bootstrap_ci, load_export  # noqa: E402
from benchmarks.events import read_run  # noqa: E402
from benchmarks.run import write_curve  # noqa: E402


def load_side(paths: list[str]) -> list[Curve]:
    """The exported curves named by paths (CSV files, or folders whose exported CSVs are all taken), by seed."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(glob.glob(os.path.join(glob.escape(path), "*.csv")))
            files += [f for f in found if EXPORT_NAME.match(os.path.basename(f))]
        elif os.path.isfile(path) and EXPORT_NAME.match(os.path.basename(path)):
            files.append(path)
        else:
            raise SystemExit(
                f"error: {path} is neither a folder nor an exported curve ({{env}}__{{method}}__lr{{L}}__s{{S}}.csv)"
            )
    if not files:
        raise SystemExit(f"error: no exported curve CSV in {' '.join(paths)}")
    curves = sorted((load_export(f) for f in files), key=lambda c: c.seed)
    seeds = [c.seed for c in curves]
    if len(set(seeds)) < len(seeds):
        raise SystemExit(f"error: a seed appears twice in {' '.join(paths)}: {seeds}")
    return curves


def window_means(curves: list[Curve], window: float, max_frames: float) -> np.ndarray:
    """(seeds, windows): each curve's mean evaluation return over the frames in (k·window, (k+1)·window], for the
    whole windows up to max_frames."""
    edges = np.arange(math.floor(max_frames / window + 1e-9) + 1) * window
    means = np.empty((len(curves), len(edges) - 1))
    for i, curve in enumerate(curves):
        for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
            inside = (curve.frames > lo) & (curve.frames <= hi)
            if not inside.any():
                raise SystemExit(f"error: {curve.source} has no evaluation in ({lo:.0f}, {hi:.0f}] frames")
            means[i, k] = curve.returns[inside].mean()
    return means


def _interval(values: np.ndarray, ci: float) -> tuple[float, float] | None:
    """The bootstrap interval of the mean over seeds; None for one seed (no spread to resample)."""
    if len(values) < 2:
        return None
    lo, hi = bootstrap_ci(values[:, None], ci)
    return float(lo[0]), float(hi[0])


def _cell(values: np.ndarray, interval) -> str:
    return f"{values.mean():.2f}" + (f" [{interval[0]:.2f}, {interval[1]:.2f}]" if interval else "")


def table(a: list[Curve], b: list[Curve], labels: tuple[str, str], window: float, max_frames: float | None, ci: float):
    """The markdown window table (mean over seeds [ci% interval], difference, separate?) and a per-seed table with
    how many of b's seeds lie within the range of a's."""
    if max_frames is None:
        max_frames = min(c.frames[-1] for c in a + b)
    if max_frames < window:
        raise SystemExit(f"error: the curves do not cover one whole window of {window:.0f} frames")
    mean_a, mean_b = window_means(a, window, max_frames), window_means(b, window, max_frames)
    head = f"| frames | {labels[0]} (seeds {', '.join(str(c.seed) for c in a)}) "
    head += f"| {labels[1]} (seeds {', '.join(str(c.seed) for c in b)}) | {labels[1]} − {labels[0]} | separate? |"
    lines = [head, "|---|---|---|---|---|"]
    for k in range(mean_a.shape[1]):
        span = f"({k * window / 1e3:.0f}k, {(k + 1) * window / 1e3:.0f}k]"
        ia, ib = _interval(mean_a[:, k], ci), _interval(mean_b[:, k], ci)
        separate = "?" if ia is None or ib is None else ("yes" if ia[1] < ib[0] or ib[1] < ia[0] else "no")
        diff = mean_b[:, k].mean() - mean_a[:, k].mean()
        lines.append(f"| {span} | {_cell(mean_a[:, k], ia)} | {_cell(mean_b[:, k], ib)} | {diff:+.2f} | {separate} |")
    lines += ["", "| frames | " + " | ".join(f"{labels[0]} s{c.seed}" for c in a)]
    lines[-1] += " | " + " | ".join(f"{labels[1]} s{c.seed}" for c in b) + f" | {labels[1]} in {labels[0]}'s range |"
    lines.append("|---" * (2 + len(a) + len(b)) + "|")
    for k in range(mean_a.shape[1]):
        span = f"({k * window / 1e3:.0f}k, {(k + 1) * window / 1e3:.0f}k]"
        cells = [f"{v:.2f}" for v in np.concatenate([mean_a[:, k], mean_b[:, k]])]
        # how many of b's seeds lie within [min, max] of a's seeds: the one-seed reading of "within seed noise"
        inside = ((mean_b[:, k] >= mean_a[:, k].min()) & (mean_b[:, k] <= mean_a[:, k].max())).sum()
        lines.append(f"| {span} | " + " | ".join(cells) + f" | {inside}/{len(b)} |")
    return "\n".join(lines) + "\n"


def export(run_dir: str, return_tag: str, episode_tag: str | None, csv_path: str, note: dict) -> None:
    """Write run_dir's evaluation points (TensorBoard scalars) as an exported curve CSV, with a .json beside it."""
    run = read_run(run_dir)
    scalars = run["scalars"]
    if return_tag not in scalars:
        raise SystemExit(f"error: no tag {return_tag!r} in {run_dir}; its tags: {', '.join(sorted(scalars))}")
    frames, returns = scalars[return_tag]
    rows = [{"frames": f, "eval_meta_episode_return": r} for f, r in zip(frames, returns, strict=True)]
    k = 1
    while episode_tag and episode_tag.format(k=k) in scalars:
        steps, values = scalars[episode_tag.format(k=k)]
        if steps != frames:
            raise SystemExit(f"error: {episode_tag.format(k=k)} is not logged at the frames of {return_tag}")
        for row, value in zip(rows, values, strict=True):
            row[f"episode_{k}_return"] = value
        k += 1
    if not EXPORT_NAME.match(os.path.basename(csv_path)):
        raise SystemExit(
            f"error: name the CSV {{env}}__{{method}}__lr{{L}}__s{{S}}.csv, not {os.path.basename(csv_path)}"
        )
    write_curve(csv_path, rows)
    wall_clock = run["wall_clock_s"]
    meta = {"frames": frames[-1], "evaluations": len(frames), "return_tag": return_tag, "episode_tag": episode_tag}
    meta |= {"wall_clock_s": round(wall_clock, 1) if wall_clock else None}
    meta |= {"frames_per_s": round(frames[-1] / wall_clock, 1) if wall_clock else None}
    with open(csv_path[: -len(".csv")] + ".json", "w") as f:
        json.dump(meta | note, f, indent=1)
        f.write("\n")
    print(f"wrote {csv_path}: {len(rows)} evaluations up to {frames[-1]} frames, {k - 1} per-episode columns")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("table", help="the window-by-window comparison of two sets of curves (markdown)")
    p.add_argument("--a", nargs="+", required=True, metavar="PATH", help="first side: exported CSVs or folders")
    p.add_argument("--b", nargs="+", required=True, metavar="PATH", help="second side: exported CSVs or folders")
    p.add_argument("--labels", nargs=2, default=("A", "B"), metavar=("A", "B"), help="the sides' names in the table")
    p.add_argument("--window", type=float, default=100_000, help="frames per window (default: 100000)")
    p.add_argument("--max-frames", type=float, help="compare up to here (default: the curves' common whole windows)")
    p.add_argument("--ci", type=float, default=68, help="bootstrap confidence level in %% (default: 68)")
    p.add_argument("--out", help="also write the table to this markdown file")
    p = sub.add_parser("export", help="one TensorBoard run directory's evaluation curve as an exported CSV")
    p.add_argument("run_dir")
    p.add_argument("--return-tag", required=True, help="the scalar tag of the evaluation meta-episode return")
    p.add_argument("--episode-tag", help="the per-inner-episode returns' tag, with {k} for the episode (from 1)")
    p.add_argument("--csv", required=True, help="output: {env}__{method}__lr{L}__s{S}.csv")
    p.add_argument("--note", default="{}", help="JSON object added to the .json beside the CSV (code, command, ...)")
    args = parser.parse_args(argv)
    if args.command == "export":
        try:
            note = json.loads(args.note)
        except json.JSONDecodeError as e:
            raise SystemExit(f"error: --note is not a JSON object: {e}") from None
        export(args.run_dir, args.return_tag, args.episode_tag, args.csv, note)
        return
    text = table(load_side(args.a), load_side(args.b), tuple(args.labels), args.window, args.max_frames, args.ci)
    print(text, end="")
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
