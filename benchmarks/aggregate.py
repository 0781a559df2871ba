"""Learning curves and tables from a sweep, as the paper draws them (reference §5.1).

    python benchmarks/aggregate.py sweeps/GridWorld docs/results/GridWorld --out docs/results/

SOURCES are run directories, directories holding them (a sweep's output directory or its runs/), exported curve
CSVs ({env}__{method}__lr{L}__s{S}.csv from benchmarks/sweep.py --export, with their .json beside them), or
directories of those. Runs are grouped by (env, method, lr, seed); unfinished runs are left out (said so).

Per (env, method) the best learning rate is the one with the highest mean over seeds of the average evaluation
meta-episode return over the whole run (--final: of the final return instead). For every environment, OUT gets

- {env}.png: one curve per method at its best lr, the mean over seeds of the curves smoothed by a trailing moving
  average over 10% of their points (edge-padded), interpolated onto a common grid of at most 200 frame values,
  with the 68% bootstrap confidence band of that mean across seeds; reference returns where they are known (on
  MuJoCo standing still, on Meta-World the scripted policy told the goal, both measured here), and a uniformly
  random policy's return (benchmarks/baselines.py, measured here on 512 fresh meta-episodes, 32 on Meta-World);
- {env}.md: per method its best lr, seeds, final and average-over-training return (mean over seeds +- half-width
  of the 68% bootstrap CI), the final return of each inner episode, frames, wall-clock and frames/s, the random
  policy's and the reference rows; then every lr's score.

and OUT/summary.md holds one table over every environment: each method at its best lr, with the random policy's
and the known reference returns. `--lrs default --max-frames 1000000` reads a tier of results at every method's
default rate off longer runs too (benchmarks/reproduce/tier_1m.sh).

"Final return" is the last point of the smoothed curve, i.e. the mean of the last 10% of the evaluations.
"""

from __future__ import annotations

import argparse
import csv
import glob
import itertools
import json
import os
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field, replace

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import envs  # noqa: E402
from benchmarks.baselines import policy_returns  # noqa: E402
from benchmarks.events import read_run, run_finished  # noqa: E402
from benchmarks.run import METHODS, summary  # noqa: E402
from benchmarks.sweep import check_lrs, lr_str  # noqa: E402

LABELS = {"rnn": "RNN", "rnn_hn": "RNN+HN", "vi_hn": "VI+HN", "ti_naive": "TI Naive", "ti": "TI", "ti_pp_hn": "TI++HN"}
LABELS["rnn_s"] = "RNN+S"  # rnn.py --pass-state, exported by sweep.py --export-suffix _s
COLORS = {"rnn": "C0", "rnn_hn": "C3", "vi_hn": "C2", "ti_naive": "C7", "ti": "C1", "ti_pp_hn": "C4", "rnn_s": "C9"}
# known meta-episode returns (reference §4.1, §4.5; the grids' are checked in tests/test_envs.py)
REFERENCE_LINES = {
    "GridWorld": [(44.3, "goal-knowing oracle")],
    "GridWorldShow": [(43.2, "look on the start, then go to the goal")],
    "GridWorldDense": [(38.1, "goal-knowing oracle")],
    "MC-LS": [(27.4, "optimum"), (23.9, "guess, then exploit"), (20.4, "navigate, then guess")],
    # reward −|v − target| − control cost per step, 200 steps, target ~ U[0, 3] (reference §4.2): a policy blind to
    # the target loses at least E|1.5 − target| = 0.75 a step (the median minimises it), so above −150 means adapting
    "CheetahVel": [
        (0.0, "upper bound: at the target speed on every step"),
        (-150.0, "task-blind ceiling: no policy that ignores the target earns more"),
    ],
}
EXPORT_NAME = re.compile(r"^(?P<env>.+?)__(?P<method>.+?)__lr(?P<lr>[^_]+)__s(?P<seed>-?\d+)\.csv$")
RUN_NAME = re.compile(r"^(?P<env>.+?)__(?P<exp>.+)__(?P<seed>-?\d+)__(?P<time>\d+)$")


# other evaluation series (exported column: eval tag) shown in a second table where a run logged them
EXTRA = {
    "success_rate": "eval/success_rate",
    "test_success_rate": "eval_test/success_rate",
    "test_meta_episode_return": "eval_test/meta_episode_return",
}


@dataclass
class Curve:
    env_id: str
    method: str
    lr: str
    seed: int
    frames: np.ndarray
    returns: np.ndarray  # eval meta-episode return at each of `frames`
    wall_clock_s: float | None
    frames_per_s: float | None
    source: str
    started: int = 0  # unix time the run started, to keep the newest of repeated runs
    episodes: np.ndarray | None = None  # (evaluations, inner episodes): eval return of each inner episode
    extra: dict = field(default_factory=dict)  # EXTRA's series the run logged, e.g. Meta-World's success rates


def load_run_dir(run_dir: str) -> Curve | None:
    """A run directory written by a method script; None (with a message) if it did not finish."""
    match = RUN_NAME.match(os.path.basename(os.path.normpath(run_dir)))
    if match is None:
        print(f"skipped {run_dir}: not named {{env_id}}__{{exp_name}}__{{seed}}__{{time}}")
        return None
    info = read_run(run_dir)
    if run_finished(info) is False or "eval/meta_episode_return" not in info["scalars"]:
        print(f"skipped {run_dir}: the run did not finish")
        return None
    method, lr = match["exp"].rsplit("_lr", 1) if "_lr" in match["exp"] else (match["exp"], "")
    if not re.fullmatch(r"[0-9.]+(e-?\d+)?", lr, re.IGNORECASE):  # not a sweep's exp name: the logged lr
        method, lr = match["exp"], info["hparams"].get("lr", "nan")
    stats = summary(info["scalars"], info["wall_clock_s"]) if info["wall_clock_s"] else {}
    frames, returns = info["scalars"]["eval/meta_episode_return"]
    per_episode = [info["scalars"].get(f"eval/episode_{k}_return") for k in range(1, 100)]
    per_episode = [values for _, values in itertools.takewhile(lambda x: x is not None, per_episode)]
    return Curve(
        match["env"],
        method,
        lr_str(lr),
        int(match["seed"]),
        np.array(frames, float),
        np.array(returns, float),
        stats.get("wall_clock_s"),
        stats.get("frames_per_s"),
        run_dir,
        int(match["time"]),
        _episodes(per_episode, len(frames)),
        {k: np.array(info["scalars"][tag][1], float) for k, tag in EXTRA.items() if tag in info["scalars"]},
    )


def load_export(path: str) -> Curve:
    """An exported curve CSV (benchmarks/sweep.py --export) and, if present, its .json summary."""
    match = EXPORT_NAME.match(os.path.basename(path))
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    meta = {}
    if os.path.exists(path[: -len(".csv")] + ".json"):
        with open(path[: -len(".csv")] + ".json") as f:
            meta = json.load(f)
    return Curve(
        match["env"],
        match["method"],
        lr_str(match["lr"]),
        int(match["seed"]),
        np.array([float(r["frames"]) for r in rows]),
        np.array([float(r["eval_meta_episode_return"]) for r in rows]),
        meta.get("wall_clock_s"),
        meta.get("frames_per_s"),
        path,
        episodes=_episodes(
            [[float(r[k]) for r in rows] for k in rows[0] if k.startswith("episode_") and k.endswith("_return")],
            len(rows),
        ),
        extra={k: np.array([float(r[k]) for r in rows]) for k in EXTRA if k in rows[0]},
    )


def _episodes(columns: list, n: int) -> np.ndarray | None:
    """Per-inner-episode eval returns as an (evaluations, episodes) array, None if absent or not aligned."""
    if not columns or any(len(c) != n for c in columns):
        return None
    return np.array(columns, float).T


def load(sources: list[str]) -> list[Curve]:
    """Every finished run in `sources`, one per (env, method, lr, seed): the newest run directory, else an export."""
    run_dirs, exports = set(), set()
    for source in sources:
        if os.path.isfile(source):
            if not EXPORT_NAME.match(os.path.basename(source)):
                raise SystemExit(f"error: {source} is not an exported curve ({{env}}__{{method}}__lr{{L}}__s{{S}}.csv)")
            exports.add(source)
        elif os.path.isdir(source):
            events = glob.glob(os.path.join(glob.escape(source), "**", "events.out.tfevents.*"), recursive=True)
            run_dirs.update(os.path.dirname(e) for e in events)
            csvs = glob.glob(os.path.join(glob.escape(source), "**", "*.csv"), recursive=True)
            exports.update(p for p in csvs if EXPORT_NAME.match(os.path.basename(p)))
        else:
            raise SystemExit(f"error: no such file or directory: {source}")
    curves = [c for c in map(load_run_dir, sorted(run_dirs)) if c is not None]
    curves += [load_export(p) for p in sorted(exports)]
    unique = {}
    for curve in sorted(curves, key=lambda c: c.started, reverse=True):
        unique.setdefault((curve.env_id, curve.method, curve.lr, curve.seed), curve)
    if len(unique) < len(curves):
        print(f"{len(curves) - len(unique)} repeated runs left out (kept the newest run directory of each)")
    return list(unique.values())


def truncated(curve: Curve, max_frames: float) -> Curve | None:
    """The curve's evaluations at or before max_frames (None if it has none)."""
    keep = curve.frames <= max_frames
    if not keep.any():
        return None
    frames = curve.frames[keep]
    wall_clock = frames[-1] / curve.frames_per_s if curve.frames_per_s else None
    episodes = None if curve.episodes is None else curve.episodes[keep]
    extra = {k: v[keep] for k, v in curve.extra.items()}
    return replace(
        curve, frames=frames, returns=curve.returns[keep], wall_clock_s=wall_clock, episodes=episodes, extra=extra
    )


def smooth(values, fraction: float = 0.1) -> np.ndarray:
    """Trailing moving average over `fraction` of the points (at least 1), the start padded with the first value:
    out[i] = mean(values[i - w + 1 .. i]) with values[j < 0] = values[0], w = max(1, int(fraction * len))."""
    values = np.asarray(values, float)
    window = max(1, int(fraction * len(values)))
    padded = np.concatenate([np.full(window - 1, values[0]), values])
    return np.convolve(padded, np.ones(window) / window, mode="valid")


def final_value(returns, fraction: float = 0.1) -> float:
    return float(smooth(returns, fraction)[-1])


def score(curve: Curve, final: bool = False) -> float:
    """What the best lr maximises for one seed: the average eval return over training, or the final return."""
    return final_value(curve.returns) if final else float(np.mean(curve.returns))


def best_lr(by_lr: dict[str, list[Curve]], final: bool = False) -> str:
    """The lr with the highest mean over seeds of `score` (reference §5.1)."""
    lrs = sorted(by_lr, key=float, reverse=True)  # ties go to the larger lr
    return max(lrs, key=lambda lr: np.mean([score(c, final) for c in by_lr[lr]]))


def bootstrap_ci(samples, ci: float = 68, n_boot: int = 1000, seed: int = 0):
    """Percentile bootstrap CI of the mean over axis 0 (seeds), as seaborn's ci=68: resample the seeds with
    replacement n_boot times and take the (50 -+ ci/2)th percentiles of the resampled means."""
    samples = np.asarray(samples, float)
    idx = np.random.default_rng(seed).integers(0, len(samples), (n_boot, len(samples)))
    means = samples[idx].mean(axis=1)
    return tuple(np.percentile(means, [50 - ci / 2, 50 + ci / 2], axis=0))


def aligned(curves: list[Curve], fraction: float = 0.1, max_points: int = 200):
    """(grid, smoothed curves on it as a seeds x points array): the seeds' own frames when they all share them
    (and there are at most max_points), else max_points frames spanning the range every seed covers."""
    smoothed = [smooth(c.returns, fraction) for c in curves]
    same = all(np.array_equal(c.frames, curves[0].frames) for c in curves)
    if same and len(curves[0].frames) <= max_points:
        return curves[0].frames, np.stack(smoothed)
    start, end = max(c.frames[0] for c in curves), min(c.frames[-1] for c in curves)
    grid = np.linspace(start, end, min(max_points, max(len(c.frames) for c in curves)))
    return grid, np.stack([np.interp(grid, c.frames, s) for c, s in zip(curves, smoothed, strict=True)])


def _mean_ci(values, ci) -> str:
    if len(values) == 1:  # no spread to bootstrap from one seed
        return f"{values[0]:.2f}"
    lo, hi = bootstrap_ci(np.asarray(values)[:, None], ci)
    return f"{np.mean(values):.2f} ± {(hi[0] - lo[0]) / 2:.2f}"


def _per_episode(curves: list[Curve]) -> str:
    """Mean over seeds of each inner episode's final eval return (the adaptation), or '?' if not logged."""
    if any(c.episodes is None for c in curves) or len({c.episodes.shape[1] for c in curves}) > 1:
        return "?"
    finals = np.mean([[final_value(column) for column in c.episodes.T] for c in curves], axis=0)
    return " / ".join(f"{r:.2f}" for r in finals)


def _duration(seconds) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _method_order(method: str):
    base = method.partition("-")[0]
    return (METHODS.index(base) if base in METHODS else len(METHODS), method)


def label(method: str) -> str:
    """A method's name in the tables and plots. A variant's curves are exported as {method}-{variant} (sweep.py
    --export-suffix, e.g. rnn_hn-std0.3 for --policy-init-std 0.3) and shown as "RNN+HN std0.3"."""
    base, _, variant = method.partition("-")
    return f"{LABELS.get(base, base)} {variant}" if variant else LABELS.get(method, method)


VARIANT_LINESTYLES = ("--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)))


def style(method: str, methods=()) -> dict:
    """A variant keeps its method's colour, dashed; where a plot (`methods`) has several variants of one method, each
    gets its own dash pattern, in their sorted order."""
    base, _, variant = method.partition("-")
    if not variant:
        return {"color": COLORS.get(base), "linestyle": "-"}
    siblings = sorted(m for m in {*methods, method} if m.partition("-")[0] == base and m != base)
    return {
        "color": COLORS.get(base),
        "linestyle": VARIANT_LINESTYLES[siblings.index(method) % len(VARIANT_LINESTYLES)],
    }


def _env_order(env_id: str):
    return (envs.ENV_IDS.index(env_id) if env_id in envs.ENV_IDS else len(envs.ENV_IDS), env_id)


def table(
    env_id: str,
    groups: dict,
    best: dict,
    final: bool,
    ci: float,
    random: tuple | None = None,
    references=(),
    default_lrs: bool = False,
) -> str:
    """The markdown results table of one environment; groups[method][lr] = [Curve per seed]; random: the
    (mean, standard error, meta-episodes, per inner episode) of a uniformly random policy's return, or None;
    references: (return, name) rows under it; default_lrs: `best` holds each method's default rate, not a choice."""
    criterion = "final" if final else "average over training"
    rule = (
        "Learning rate per method: its default on this env id (envs/presets.py, docs/learning_rates.md). "
        if default_lrs
        else f"Best learning rate per method: highest mean over seeds of the {criterion} eval meta-episode return. "
    )
    lines = [
        f"## {env_id}",
        "",
        rule
        + f"Returns: mean over seeds ± half-width of the {ci:g}% bootstrap CI (none for one seed); final = mean of "
        "the last 10% of the evaluations; wall-clock and frames/s: mean over seeds.",
        "",
        f"| method | {'lr' if default_lrs else 'best lr'} | seeds | final eval return | final per inner episode "
        "| average over training | frames "
        "| wall-clock | frames/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for method in sorted(groups, key=_method_order):
        curves = groups[method][best[method]]
        fps = _mean(c.frames_per_s for c in curves)
        lines.append(
            f"| {label(method)} | {best[method]} | {len(curves)} "
            f"| {_mean_ci([final_value(c.returns) for c in curves], ci)} | {_per_episode(curves)} "
            f"| {_mean_ci([np.mean(c.returns) for c in curves], ci)} "
            f"| {int(max(c.frames[-1] for c in curves)):,} | {_duration(_mean(c.wall_clock_s for c in curves))} "
            f"| {'?' if fps is None else f'{fps:,.0f}'} |"
        )
    if random is not None:
        lines.append(
            f"| uniformly random policy | | | {random[0]:.2f} ± {random[1]:.2f} (s.e., {random[2]} meta-episodes) "
            f"| {' / '.join(f'{r:.2f}' for r in random[3])} | | | | |"
        )
    lines += [f"| {name} | | | {value} | | | | | |" for value, name in references]
    logged = [k for k in EXTRA if any(k in c.extra for lrs in groups.values() for cs in lrs.values() for c in cs)]
    if logged:  # Meta-World: the success rates and the held-out tasks' return, final, at the best lr
        lines += ["", "| method | " + " | ".join(f"final {k.replace('_', ' ')}" for k in logged) + " |"]
        lines.append("|---|" + "---|" * len(logged))
        for method in sorted(groups, key=_method_order):
            curves = groups[method][best[method]]
            cells = [
                _mean_ci([final_value(c.extra[k]) for c in curves], ci) if all(k in c.extra for c in curves) else "?"
                for k in logged
            ]
            lines.append(f"| {label(method)} | " + " | ".join(cells) + " |")
    lines += ["", "All learning rates (mean over seeds; * = selected):", ""]
    lines += ["| method | lr | seeds | average over training | final eval return |", "|---|---|---|---|---|"]
    for method in sorted(groups, key=_method_order):
        for lr in sorted(groups[method], key=float, reverse=True):
            curves = groups[method][lr]
            mark = " *" if lr == best[method] else ""
            lines.append(
                f"| {label(method)} | {lr}{mark} | {len(curves)} "
                f"| {np.mean([np.mean(c.returns) for c in curves]):.2f} "
                f"| {np.mean([final_value(c.returns) for c in curves]):.2f} |"
            )
    return "\n".join(lines) + "\n"


def summary_rows(env_id: str, groups: dict, best: dict, ci: float, random: tuple | None, references: list) -> list[str]:
    """The rows of one environment in summary.md: each method at its best lr; the random policy's and the
    reference returns on the environment's first row."""
    random_cell = f"{random[0]:.2f} ± {random[1]:.2f}" if random else ""
    references = "; ".join(f"{value} ({name})" for value, name in references)
    rows = []
    for method in sorted(groups, key=_method_order):
        curves = groups[method][best[method]]
        success = [
            _mean_ci([final_value(c.extra[k]) for c in curves], ci)
            for k in ("success_rate", "test_success_rate")
            if all(k in c.extra for c in curves)
        ]
        first = not rows
        rows.append(
            f"| {env_id if first else ''} | {label(method)} | {best[method]} | {len(curves)} "
            f"| {int(max(c.frames[-1] for c in curves)):,} | {_mean_ci([final_value(c.returns) for c in curves], ci)} "
            f"| {_mean_ci([np.mean(c.returns) for c in curves], ci)} | {' / '.join(success)} "
            f"| {random_cell if first else ''} | {references if first else ''} |"
        )
    return rows


def plot(env_id: str, groups: dict, best: dict, path: str, ci: float, random: tuple | None, references: list):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for method in sorted(groups, key=_method_order):
        curves = groups[method][best[method]]
        grid, values = aligned(curves)
        lo, hi = bootstrap_ci(values, ci)
        legend = f"{label(method)} (lr {best[method]}, {len(curves)} seed{'s' if len(curves) > 1 else ''})"
        ax.plot(grid, values.mean(axis=0), **style(method, groups), label=legend)
        ax.fill_between(grid, lo, hi, color=style(method)["color"], alpha=0.2, linewidth=0)
    for i, (value, name) in enumerate(references):
        ax.axhline(value, color="k", linestyle=["--", ":", (0, (1, 4))][i % 3], linewidth=1, label=f"{name} ({value})")
    if random is not None:
        ax.axhline(random[0], color="0.5", linestyle="-.", linewidth=1, label=f"random policy ({random[0]:.2f})")
    ax.xaxis.set_major_formatter(matplotlib.ticker.EngFormatter(sep=""))  # 500k, 2M
    ax.set_xlabel("frames")
    ax.set_ylabel("eval meta-episode return")
    ax.set_title(f"{env_id} (mean over seeds, {ci:g}% bootstrap CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def random_baseline(env_id: str, meta_episodes: int) -> tuple | None:
    """(mean, standard error, meta-episodes, mean per inner episode) of a uniformly random policy's return
    (benchmarks/baselines.py)."""
    if not meta_episodes:
        return None
    returns, episodes, _ = policy_returns(env_id, meta_episodes)
    se = float(returns.std(ddof=1) / np.sqrt(meta_episodes))
    return float(returns.mean()), se, meta_episodes, episodes.mean(0).tolist()


def reference_lines(env_id: str, meta_episodes: int) -> list[tuple[float, str]]:
    """(return, name) of the known levels (REFERENCE_LINES) and of fixed policies measured on `meta_episodes`
    meta-episodes (0: not measured): on MuJoCo standing still (no torque: what surviving without moving earns), on
    Meta-World the scripted policy told the goal, with the success rate of its last inner episode in the name."""
    lines = list(REFERENCE_LINES.get(env_id, []))
    if env_id in envs.MUJOCO_IDS and meta_episodes:
        returns, _, _ = policy_returns(env_id, meta_episodes, policy="still")
        lines.append((round(float(returns.mean()), 2), "standing still (no torque)"))
    if env_id in envs.METAWORLD_IDS and meta_episodes:
        returns, _, successes = policy_returns(env_id, meta_episodes, policy="scripted")
        name = f"scripted policy told the goal, success rate {successes[:, -1].mean():.2f}"
        lines.append((round(float(returns.mean()), 2), name))
    return lines


def grouped(curves: list[Curve]) -> dict:
    """{env: {method: {lr: [Curve per seed, by seed]}}}, the environments in envs.ENV_IDS order."""
    by_env = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for c in curves:
        by_env[c.env_id][c.method][c.lr].append(c)
    for groups in by_env.values():
        for by_lr in groups.values():
            for seeds in by_lr.values():
                seeds.sort(key=lambda c: c.seed)
    return dict(sorted(by_env.items(), key=lambda item: _env_order(item[0])))


def select(curves: list[Curve], lrs=None, methods=None, env_ids=None, max_frames=None) -> list[Curve]:
    """The curves main's filters keep: lrs (["default"]: each method's default rate on each env id), methods, env
    ids, and each curve's evaluations up to max_frames."""
    if lrs == ["default"]:
        rates = {(m, e): lr_str(lr) for m, by_env in envs.LEARNING_RATES.items() for e, lr in by_env.items()}
        curves = [c for c in curves if rates.get((c.method, c.env_id)) == c.lr]
    elif lrs:
        curves = [c for c in curves if c.lr in {lr_str(lr) for lr in lrs}]
    curves = [c for c in curves if (not methods or c.method in methods)]
    curves = [c for c in curves if (not env_ids or c.env_id in env_ids)]
    if max_frames is not None:
        curves = [c for c in (truncated(c, max_frames) for c in curves) if c is not None]
    return curves


def aggregate(
    curves: list[Curve],
    out: str,
    final: bool = False,
    ci: float = 68,
    random_episodes: int = 512,
    default_lrs: bool = False,
) -> dict:
    """Write {env}.png and {env}.md to `out` for every environment, and summary.md (one table, every environment);
    return {env: {method: best lr}}. default_lrs: the curves are each method's default rate (the captions say so)."""
    os.makedirs(out, exist_ok=True)
    chosen, rows = {}, []
    for env_id, groups in grouped(curves).items():
        best = {method: best_lr(by_lr, final) for method, by_lr in groups.items()}
        # Meta-World: one metaworld env (~20 MB, ~1 ms a step) per meta-episode, so at most 32 (the table says how many)
        episodes = min(random_episodes, 32) if env_id in envs.METAWORLD_IDS else random_episodes
        random = random_baseline(env_id, episodes) if env_id in envs.ENV_IDS else None
        references = reference_lines(env_id, episodes)
        plot(env_id, groups, best, os.path.join(out, f"{env_id}.png"), ci, random, references)
        text = table(env_id, groups, best, final, ci, random, references, default_lrs)
        with open(os.path.join(out, f"{env_id}.md"), "w") as f:
            f.write(text)
        print(text)
        print(f"wrote {os.path.join(out, env_id + '.png')} and {env_id}.md")
        rows += summary_rows(env_id, groups, best, ci, random, references)
        chosen[env_id] = best
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(
            f"Every environment, each method at its {'default' if default_lrs else 'best'} lr. Returns: mean over seeds "
            f"± half-width of the {ci:g}% "
            "bootstrap CI (none for one seed); final = mean of the last 10% of the evaluations; success rate: the "
            "last inner episode's, on the training / held-out tasks (Meta-World); random policy: mean ± s.e.\n\n"
            "| environment | method | lr | seeds | frames | final eval return | average over training "
            "| final success rate (training / held-out) | random policy | reference |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
        )
    print(f"wrote {os.path.join(out, 'summary.md')}")
    return chosen


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="run directories, sweep directories or CSVs")
    parser.add_argument("--out", required=True, help="directory for the PNGs and markdown tables")
    parser.add_argument("--final", action="store_true", help="pick the lr by final return, not by the average")
    parser.add_argument("--ci", type=float, default=68, help="bootstrap confidence level in %% (default: 68)")
    parser.add_argument("--methods", nargs="+", help="only these methods")
    parser.add_argument("--env-ids", nargs="+", help="only these environments")
    parser.add_argument(
        "--lrs",
        nargs="+",
        help="only these learning rates; 'default' alone: each method's default rate on each env id "
        "(docs/learning_rates.md)",
    )
    parser.add_argument(
        "--max-frames",
        type=float,
        help="use only the evaluations at or before this many frames (a longer run's prefix, e.g. for a pilot at a "
        "smaller budget; wall-clock is then estimated as frames / the whole run's frames/s)",
    )
    parser.add_argument(
        "--random-meta-episodes",
        type=int,
        default=512,
        help="meta-episodes of a uniformly random policy (and, on Meta-World, of the scripted policy; at most 32 "
        "there) for the reference lines and table rows (0: none)",
    )
    args = parser.parse_args(argv)
    if args.random_meta_episodes == 1 or args.random_meta_episodes < 0:
        raise SystemExit(f"error: --random-meta-episodes must be 0 or at least 2, got {args.random_meta_episodes}")
    if args.max_frames is not None and args.max_frames <= 0:
        raise SystemExit(f"error: --max-frames must be positive, got {args.max_frames:g}")
    check_lrs(parser, args.lrs)
    curves = select(load(args.sources), args.lrs, args.methods, args.env_ids, args.max_frames)
    if not curves:
        raise SystemExit("error: no finished runs found in " + " ".join(args.sources))
    return aggregate(curves, args.out, args.final, args.ci, args.random_meta_episodes, args.lrs == ["default"])


if __name__ == "__main__":
    main()
