"""benchmarks/: a tiny sweep end to end, lr selection, smoothing, bootstrap CI, prefixes of longer runs, and the
random-policy baseline against its exact value (the SLURM array: tests/test_slurm.py)."""

import contextlib
import csv
import glob
import io
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import envs
from benchmarks import aggregate, baselines, diagnose, hyper_ceiling, sweep
from benchmarks.events import read_run, read_scalars
from benchmarks.run import METHODS
from tests.scripts import ROOT, TINY, run_script, scalars

GRID = ["--methods", "rnn", "rnn_hn", "--env-ids", "GridWorld", "--seeds", "73", "20", "--lrs", "1e-3", "3e-4"]
GRID += ["--total-timesteps", "32", "--workers", "2"]
SCRIPT_ARGS = ["--", "--num-envs", "2", "--num-steps", "8", "--num-minibatches", "1", "--eval-interval", "1"]
SCRIPT_ARGS += ["--num-eval-tasks", "2"]
NAMES = {f"GridWorld__{m}__lr{lr}__s{s}" for m in ("rnn", "rnn_hn") for lr in ("1e-3", "3e-4") for s in (73, 20)}


def call(main, argv):
    """(return value, stdout) of a benchmarks main()."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(argv)
    return rc, out.getvalue()


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    """8 real runs: rnn and rnn_hn x GridWorld x 2 seeds x 2 lrs, 32 frames each, 2 workers."""
    out = str(tmp_path_factory.mktemp("sweep"))
    rc, stdout = call(sweep.main, [*GRID, "--out", out, *SCRIPT_ARGS])
    return out, rc, stdout


def test_tiny_sweep_runs_resumes_and_exports(tiny_sweep, tmp_path):
    out, rc, stdout = tiny_sweep
    assert rc == 0, stdout
    assert "8 runs in" in stdout and "summary: 8 finished, 0 skipped, 0 failed" in stdout
    assert "[8/8] done 8, failed 0, running 0" in stdout
    assert {f[: -len(".done")] for f in os.listdir(os.path.join(out, "logs")) if f.endswith(".done")} == NAMES
    run_dirs = sorted(os.listdir(os.path.join(out, "runs")))
    assert len(run_dirs) == 8 and all(d.startswith("GridWorld__rnn") for d in run_dirs)

    # a second launch runs nothing, even without the .done markers (it reads the event files), and exports
    for name in NAMES:
        os.remove(os.path.join(out, "logs", name + ".done"))
    export = str(tmp_path / "export")
    rc, stdout = call(sweep.main, [*GRID, "--out", out, "--export", export, *SCRIPT_ARGS])
    assert rc == 0 and "8 finished (skipped), 0 to run" in stdout and "retrying" not in stdout
    assert sorted(os.listdir(os.path.join(out, "runs"))) == run_dirs
    assert f"exported 8 of 8 runs to {export}" in stdout
    assert set(os.listdir(export)) == {n + ext for n in NAMES for ext in (".csv", ".json")}
    for name in NAMES:
        with open(os.path.join(export, name + ".csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        assert [int(r["frames"]) for r in rows] == [16, 32]  # --eval-interval 1: after both iterations
        columns = {"frames", "eval_meta_episode_return", "train_meta_episode_return"}
        assert set(rows[0]) == columns | {f"episode_{k}_return" for k in (1, 2, 3, 4)}
        with open(os.path.join(export, name + ".json")) as f:
            meta = json.load(f)
        # each column is the run's own logged numbers: eval/ tags at their steps, and the training return as the mean
        # of the training meta-episodes that ended since the previous evaluation
        logged = read_scalars(os.path.join(out, "runs", meta["run_dir"]))
        assert logged["eval/meta_episode_return"][0] == [16, 32]
        for k in ("meta_episode", "episode_1", "episode_4"):
            column = "eval_meta_episode_return" if k == "meta_episode" else f"{k}_return"
            assert [float(r[column]) for r in rows] == pytest.approx(logged[f"eval/{k}_return"][1], abs=1e-6)
        train_steps, train_returns = logged.get("charts/meta_episode_return", ([], []))  # none ends in 16 steps
        for row, (lo, hi) in zip(rows, [(0, 16), (16, 32)], strict=True):
            window = [r for s, r in zip(train_steps, train_returns, strict=True) if lo < s <= hi]
            assert row["train_meta_episode_return"] == ("" if not window else pytest.approx(np.mean(window), abs=1e-6))
        env, method, lr, seed = name.split("__")
        assert (meta["env_id"], meta["method"], "lr" + meta["lr"], f"s{meta['seed']}") == (env, method, lr, seed)
        assert meta["frames"] == 32 and meta["wall_clock_s"] > 0 and meta["frames_per_s"] > 0
        assert meta["command"].startswith(f"{method}.py --env-id GridWorld --seed {seed[1:]} --lr {lr[2:]}")
        assert meta["last_eval_return"] == pytest.approx(float(rows[-1]["eval_meta_episode_return"]))
        assert meta["code"] == [sweep.code_version()]  # the commit it ran on ("unknown" outside a git checkout)
        assert (meta["code"][0] != "unknown") == os.path.exists(os.path.join(sweep.ROOT, ".git"))
        assert meta["commit"] == meta["code"][0].removesuffix("+dirty")
        assert meta["clean"] == (not meta["code"][0].endswith("+dirty"))
        assert meta["versions"]["python"] == platform.python_version()
        assert meta["versions"]["torch"] == torch.__version__ and meta["versions"]["numpy"] == np.__version__

    # a variant's export: the suffix follows the method in the names and the summary, the curves are the same
    variant = str(tmp_path / "variant")
    rc, _ = call(sweep.main, [*GRID, "--out", out, "--no-run", "--export", variant, "--export-suffix=-x"])
    assert rc == 0
    for name in NAMES:
        env, method, lr, seed = name.split("__")
        renamed = os.path.join(variant, f"{env}__{method}-x__{lr}__{seed}")
        with open(renamed + ".csv") as f, open(os.path.join(export, name + ".csv")) as g:
            assert f.read() == g.read()
        with open(renamed + ".json") as f:
            assert json.load(f)["method"] == method + "-x"
    assert len(os.listdir(variant)) == 2 * len(NAMES)

    # another frame budget is another run: all 8 would run again, and the runner says why
    longer = [a if a != "32" else "48" for a in GRID]
    _, stdout = call(sweep.main, [*longer, "--out", out, "--dry-run", *SCRIPT_ARGS])
    assert "0 finished (skipped), 8 to run" in stdout and stdout.count("finished before with other arguments") == 8
    assert stdout.count("--total-timesteps 48") == 8


def predicted_best_lr(export, method):
    """The paper's rule, computed here from the CSVs: highest mean over seeds of the mean eval return
    (ties to the larger lr, as aggregate.best_lr documents)."""
    scores = {}
    for lr in ("1e-3", "3e-4"):
        means = []
        for seed in (73, 20):
            with open(os.path.join(export, f"GridWorld__{method}__lr{lr}__s{seed}.csv"), newline="") as f:
                means.append(np.mean([float(r["eval_meta_episode_return"]) for r in csv.DictReader(f)]))
        scores[lr] = np.mean(means)
    return max(scores, key=lambda lr: (scores[lr], float(lr)))


def test_aggregate_tiny_sweep(tiny_sweep, tmp_path):
    out = tiny_sweep[0]
    export = str(tmp_path / "export")
    call(sweep.main, [*GRID, "--out", out, "--no-run", "--export", export, *SCRIPT_ARGS])
    expected = {m: predicted_best_lr(export, m) for m in ("rnn", "rnn_hn")}
    for source in (out, export):  # the sweep's event files, or the exported CSVs
        results = str(tmp_path / ("from_runs" if source == out else "from_csv"))
        chosen, stdout = call(aggregate.main, [source, "--out", results])
        assert chosen == {"GridWorld": expected}
        assert sorted(os.listdir(results)) == ["GridWorld.md", "GridWorld.png", "summary.md"]
        with open(os.path.join(results, "GridWorld.png"), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        with open(os.path.join(results, "GridWorld.md")) as f:
            text = f.read()
        rows = [line for line in text.splitlines() if line.startswith("| RNN")]
        assert rows[0].startswith(f"| RNN | {expected['rnn']} | 2 | ") and rows[0].endswith(" |")
        assert rows[1].startswith(f"| RNN+HN | {expected['rnn_hn']} | 2 | ")
        assert rows[0].split(" | ")[6] == "32"  # frames
        # each inner episode's final eval return, mean over the seeds (a few evaluations: 10% of them is the last)
        finals = []
        for seed in (73, 20):
            with open(os.path.join(export, f"GridWorld__rnn__lr{expected['rnn']}__s{seed}.csv")) as f:
                last = list(csv.DictReader(f))[-1]
            finals.append([float(last[f"episode_{k}_return"]) for k in range(1, 5)])
        assert rows[0].split(" | ")[4] == " / ".join(f"{r:.2f}" for r in np.mean(finals, axis=0))
        assert len(rows) == 2 + 4  # the results table, then every (method, lr)


def test_failed_run_is_reported_and_retried(tmp_path):
    fake_python = tmp_path / "python"
    fake_python.write_text("#!/bin/sh\necho boom\nexit 3\n")
    fake_python.chmod(0o755)
    argv = ["--methods", "rnn", "--env-ids", "GridWorld", "--seeds", "1", "--lrs", "1e-3", "--workers", "1"]
    argv += ["--out", str(tmp_path / "out"), "--python", str(fake_python)]
    rc, stdout = call(sweep.main, argv)
    log = os.path.join(str(tmp_path / "out"), "logs", "GridWorld__rnn__lr1e-3__s1.log")
    assert rc == 1
    assert f"failed: GridWorld__rnn__lr1e-3__s1 (exit code 3; log: {log})" in stdout
    assert "summary: 0 finished, 0 skipped, 1 failed" in stdout
    with open(log) as f:
        assert "boom" in f.read()
    rc, stdout = call(sweep.main, argv)
    assert rc == 1 and f"retrying GridWorld__rnn__lr1e-3__s1: an earlier attempt did not finish (log: {log})" in stdout


def write_curve(directory, method, lr, seed, returns):
    name = f"GridWorld__{method}__lr{lr}__s{seed}"
    with open(os.path.join(directory, name + ".csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["frames", "eval_meta_episode_return"])
        writer.writerows((1000 * (i + 1), r) for i, r in enumerate(returns))
    with open(os.path.join(directory, name + ".json"), "w") as f:
        json.dump({"wall_clock_s": 10.0 * seed, "frames_per_s": 100.0 * seed}, f)


def test_best_lr_by_average_or_final(tmp_path):
    """rnn_hn: 1e-3 learns early and then collapses (best average), 3e-4 learns late (best final), 1e-4 never;
    rnn: 1e-4 is best by both. Three seeds each, offset by -1, 0, +1."""
    n = 20
    early = np.r_[np.full(n // 2, 10.0), np.zeros(n // 2)]  # average 5, final 0
    late = np.r_[np.zeros(3 * n // 4), np.full(n // 4, 12.0)]  # average 3, final 12
    flat = np.full(n, 1.0)
    for seed, offset in zip((1, 2, 3), (-1.0, 0.0, 1.0), strict=True):
        for lr, curve in (("1e-3", early), ("3e-4", late), ("1e-4", flat)):
            write_curve(tmp_path, "rnn_hn", lr, seed, curve + offset)
        for lr, curve in (("1e-3", flat), ("1e-4", early + late)):
            write_curve(tmp_path, "rnn", lr, seed, curve + offset)
    chosen, stdout = call(aggregate.main, [str(tmp_path), "--out", str(tmp_path / "avg")])
    assert chosen == {"GridWorld": {"rnn_hn": "1e-3", "rnn": "1e-4"}}
    with open(tmp_path / "avg" / "GridWorld.md") as f:
        text = f.read()
    # mean over seeds 5, the seeds' averages are 4, 5, 6: the 68% bootstrap band of their mean is about +-0.5
    assert "| RNN+HN | 1e-3 | 3 | 0.00 ± " in text and "| 5.00 ± 0." in text
    assert "| 20,000 | 0m20s | 200 |" in text  # frames, mean wall-clock and frames/s over the seeds' sidecars
    random = re.search(r"\| uniformly random policy \| \| \| (-?[0-9.]+) ± ([0-9.]+) \(s.e., 512 meta-episodes\)", text)
    assert abs(float(random[1]) + 4.68) < 4 * float(random[2]) < 0.6  # test_random_policy_baseline_...: -4.68
    rnn, rnn_hn = (tmp_path / "avg" / "summary.md").read_text().splitlines()[-2:]  # one row per method, best lr
    assert rnn.startswith("| GridWorld | RNN | 1e-4 | 3 | 20,000 |") and rnn_hn.startswith("|  | RNN+HN | 1e-3 | 3 |")
    assert f"| {random[1]} ± {random[2]} | 44.3 (goal-knowing oracle) |" in rnn  # on the environment's first row
    assert "\n| goal-knowing oracle | | | 44.3 | | | | | |\n" in text
    no_random = ["--random-meta-episodes", "0"]
    chosen, _ = call(aggregate.main, [str(tmp_path), "--out", str(tmp_path / "d"), "--lrs", "default", *no_random])
    assert chosen == {"GridWorld": {"rnn_hn": "1e-3", "rnn": "1e-3"}}  # envs.LEARNING_RATES, not the best
    assert (tmp_path / "d" / "summary.md").read_text().startswith("Every environment, each method at its default lr.")
    assert "| method | lr | seeds |" in (tmp_path / "d" / "GridWorld.md").read_text()
    chosen, _ = call(aggregate.main, [str(tmp_path), "--out", str(tmp_path / "d"), "--lrs", "0.0003", *no_random])
    assert chosen == {"GridWorld": {"rnn_hn": "3e-4"}}
    chosen, _ = call(aggregate.main, [str(tmp_path), "--out", str(tmp_path / "final"), "--final"])
    assert chosen == {"GridWorld": {"rnn_hn": "3e-4", "rnn": "1e-4"}}
    # the first half only (a pilot read off longer runs): 1e-3's early plateau is now also the best final return
    args = [str(tmp_path), "--out", str(tmp_path / "half"), "--final", "--max-frames", "10000"]
    chosen, _ = call(aggregate.main, args)
    assert chosen == {"GridWorld": {"rnn_hn": "1e-3", "rnn": "1e-4"}}
    with open(tmp_path / "half" / "GridWorld.md") as f:
        text = f.read()
    assert "| RNN+HN | 1e-3 | 3 | 10.00 ± " in text  # final = mean of the last 10% of the kept evaluations
    assert "| 10,000 | 1m01s | 200 |" in text  # wall-clock estimated per seed as 10,000 frames / its frames/s


def test_success_rates_get_their_own_table(tmp_path):
    """Exported Meta-World curves carry success rates and held-out-task returns; the aggregate reports their final
    values (mean of the last 10% of the evaluations, mean over seeds) at the best lr."""
    for seed, success in ((1, 0.25), (2, 0.75)):
        name = f"ML10__rnn_hn__lr1e-4__s{seed}"
        with open(tmp_path / f"{name}.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["frames", "eval_meta_episode_return", "episode_1_return", "episode_1_success",
                             "success_rate", "test_meta_episode_return", "test_success_rate"])  # fmt: skip
            writer.writerows((1000 * (i + 1), 5.0, 5.0, success, success, 2.0, success / 2) for i in range(10))
    call(aggregate.main, [str(tmp_path), "--out", str(tmp_path / "out"), "--random-meta-episodes", "0"])
    text = (tmp_path / "out" / "ML10.md").read_text()
    header = "| method | final success rate | final test success rate | final test meta episode return |"
    assert header in text and "| RNN+HN | 0.50 ± 0.25 | 0.25 ± 0.12 | 2.00 ± 0.00 |" in text
    assert "| RNN+HN | 1e-4 | 2 | 5.00 ± 0.00 | 5.00 |" in text  # the success column is not an inner episode's return
    write_curve(tmp_path, "rnn", "1e-3", 1, np.full(10, 30.0))  # GridWorld: comes first in summary.md
    call(aggregate.main, [str(tmp_path), "--out", str(tmp_path / "out"), "--random-meta-episodes", "0"])
    rows = (tmp_path / "out" / "summary.md").read_text().splitlines()[-2:]
    assert rows == [
        "| GridWorld | RNN | 1e-3 | 1 | 10,000 | 30.00 | 30.00 |  |  | 44.3 (goal-knowing oracle) |",
        "| ML10 | RNN+HN | 1e-4 | 2 | 10,000 | 5.00 ± 0.00 | 5.00 ± 0.00 | 0.50 ± 0.25 / 0.25 ± 0.12 |  |  |",
    ]


def test_wall_clock_of_a_resumed_run_leaves_out_the_stop(tmp_path):
    """Two processes' event files (a run stopped for an hour, then resumed): the wall-clock is the sum of each
    process's span from its writer's creation to its last scalar, 20 s + 30 s, not the 4,030 s from first to last."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.record_writer import RecordWriter

    for created, points in ((1000, [(1010.0, 1), (1020.0, 2)]), (5000, [(5030.0, 3)])):
        with open(tmp_path / f"events.out.tfevents.{created}.host.1.0", "wb") as f:
            writer = RecordWriter(f)
            writer.write(Event(wall_time=created, file_version="brain.Event:2").SerializeToString())
            for wall_time, step in points:
                value = Summary(value=[Summary.Value(tag="charts/SPS", simple_value=1.0)])
                writer.write(Event(wall_time=wall_time, step=step, summary=value).SerializeToString())
    run = read_run(str(tmp_path))
    assert run["scalars"]["charts/SPS"][0] == [1, 2, 3] and run["wall_clock_s"] == pytest.approx(50.0)


def test_exported_curve_has_the_training_return_between_evaluations():
    from benchmarks.run import curve_rows

    scalars = {
        "eval/meta_episode_return": ([100, 200, 300], [5.0, 6.0, 7.0]),
        "charts/meta_episode_return": ([40, 100, 150, 180, 320], [1.0, 2.0, 3.0, 5.0, 9.0]),
    }
    rows = curve_rows(scalars)
    # (.., 100]: 1 and 2; (100, 200]: 3 and 5; (200, 300]: none ended, empty; the one at 320 follows the last
    assert [r["train_meta_episode_return"] for r in rows] == [1.5, 4.0, ""]
    assert [r["eval_meta_episode_return"] for r in rows] == [5.0, 6.0, 7.0]


def test_variants_are_labelled_after_their_method_and_sorted_beside_it():
    assert [aggregate.label(m) for m in ("vi_hn", "rnn_s", "rnn_hn-std0.3")] == ["VI+HN", "RNN+S", "RNN+HN std0.3"]
    methods = ["vi_hn", "rnn_hn-std0.3", "rnn", "rnn_hn"]
    assert sorted(methods, key=aggregate._method_order) == ["rnn", "rnn_hn", "rnn_hn-std0.3", "vi_hn"]
    assert aggregate.style("rnn_hn-std0.3") == {"color": aggregate.COLORS["rnn_hn"], "linestyle": "--"}
    # several variants of one method in a plot: one dash pattern each, the method itself solid
    plotted = ["vi_hn", "vi_hn-transitions", "vi_hn-authors", "vi_hn-matched", "rnn_hn-std0.3"]
    styles = {m: aggregate.style(m, plotted)["linestyle"] for m in plotted}
    assert styles == {
        "vi_hn": "-",
        "vi_hn-authors": "--",
        "vi_hn-matched": ":",
        "vi_hn-transitions": "-.",
        "rnn_hn-std0.3": "--",
    }


def test_smoothing_matches_hand_computed_example():
    values = [3, 6, 0, 9, 12, 3, 6, 0, 9, 12] * 3  # 30 points: a trailing window of 3, padded with values[0]
    smoothed = aggregate.smooth(values)
    assert smoothed.shape == (30,)
    assert smoothed[:5].tolist() == pytest.approx([3, (3 + 3 + 6) / 3, (3 + 6 + 0) / 3, (6 + 0 + 9) / 3, 7])
    assert smoothed[-1] == pytest.approx((0 + 9 + 12) / 3) == aggregate.final_value(values)
    assert aggregate.smooth([1, 5, 2]).tolist() == [1, 5, 2]  # 10% of 3 points: a window of 1


def test_bootstrap_ci_width_and_coverage():
    rng = np.random.default_rng(1)
    seeds = rng.normal(5.0, 2.0, size=(400, 3))  # 400 seeds, 3 points on the curve
    lo, hi = aggregate.bootstrap_ci(seeds, ci=68)
    mean, standard_error = seeds.mean(0), seeds.std(0, ddof=1) / np.sqrt(len(seeds))
    assert np.all(lo < mean) and np.all(mean < hi)
    assert (hi - lo) / 2 == pytest.approx(standard_error, rel=0.15)  # a 68% interval is about +-1 standard error
    lo95, hi95 = aggregate.bootstrap_ci(seeds, ci=95)
    assert (hi95 - lo95) / 2 == pytest.approx(1.96 * standard_error, rel=0.15)
    lo, hi = aggregate.bootstrap_ci(np.array([[0.0], [1.0], [2.0]]))  # 3 seeds: inside their range, around 1
    assert 0 <= lo[0] < 1 < hi[0] <= 2
    assert np.array_equal(aggregate.bootstrap_ci(seeds)[0], aggregate.bootstrap_ci(seeds)[0])  # seeded


def test_seeds_aligned_by_interpolation():
    def curve(seed, frames):
        frames = np.array(frames, float)
        return aggregate.Curve("GridWorld", "rnn", "1e-3", seed, frames, frames / 10, None, None, "")

    same = [curve(1, range(0, 90, 10)), curve(2, range(0, 90, 10))]
    grid, values = aggregate.aligned(same)
    assert grid.tolist() == list(range(0, 90, 10)) and values.shape == (2, 9)
    grid, values = aggregate.aligned([curve(1, range(0, 90, 10)), curve(2, range(5, 95, 10))])  # 9 points: no smoothing
    assert grid[0] == 5 and grid[-1] == 80 and len(grid) == 9  # the frames both seeds cover
    assert values == pytest.approx(np.stack([grid / 10, grid / 10]))


def test_grid_and_lr_names():
    assert [sweep.lr_str(x) for x in ("0.003", 3e-05, "1e-3", 2.5e-4, "1E-4")] == [
        "3e-3",
        "3e-5",
        "1e-3",
        "2.5e-4",
        "1e-4",
    ]
    runs = sweep.grid(["rnn_hn", "vi_hn"], ["GridWorld", "MC-LS"])
    assert len(runs) == 2 * 5 * 3 + 2 * 5 * 4  # the paper's 5 lrs; seeds 73, 20, 3, and 99 on MC-LS
    assert {r.seed for r in runs if r.env_id == "MC-LS"} == {73, 20, 3, 99}
    assert {r.lr for r in runs} == {"3e-3", "1e-3", "3e-4", "1e-4", "3e-5"}
    defaults = sweep.grid(["rnn_hn", "vi_hn"], ["GridWorld", "CheetahDir"], [73], ["default"])
    assert [(r.method, r.env_id, float(r.lr)) for r in defaults] == [
        (m, e, envs.LEARNING_RATES[m][e]) for e in ("GridWorld", "CheetahDir") for m in ("rnn_hn", "vi_hn")
    ]


def test_random_policy_baseline_matches_the_exact_expectation():
    """Grid-World's random-policy return, exactly: propagate the position distribution of a uniformly random walk
    (5 moves, clipped at the walls) through the 15 steps of an episode from the start cell, score each step with
    +1 on the goal and -0.1 elsewhere, times 4 episodes, averaged over the 21 goals."""
    from envs.gridworld import EPISODE_STEPS, EPISODES_PER_TASK, GOALS, MOVES, SIZE

    p = np.zeros((SIZE, SIZE))
    p[0, 0] = 1.0
    per_episode = np.zeros(len(GOALS))
    for _ in range(EPISODE_STEPS):
        nxt = np.zeros_like(p)
        for dx, dy in MOVES:
            for x in range(SIZE):
                for y in range(SIZE):
                    nxt[min(max(x + dx, 0), SIZE - 1), min(max(y + dy, 0), SIZE - 1)] += p[x, y] / len(MOVES)
        p = nxt
        at_goal = p[GOALS[:, 0], GOALS[:, 1]]
        per_episode += at_goal - 0.1 * (1 - at_goal)
    exact = EPISODES_PER_TASK * per_episode.mean()
    returns, episodes, successes = baselines.policy_returns("GridWorld", 4096, seed=1)
    se = returns.std(ddof=1) / np.sqrt(len(returns))
    assert abs(returns.mean() - exact) < 4 * se and se < 0.05
    # and each inner episode's (every one starts on the start cell): a return booked to the wrong episode fails here
    assert episodes.shape == (4096, EPISODES_PER_TASK) and successes is None
    episode_se = episodes.std(0, ddof=1) / np.sqrt(len(episodes))
    assert np.all(np.abs(episodes.mean(0) - exact / EPISODES_PER_TASK) < 4 * episode_se)
    assert np.array_equal(baselines.policy_returns("GridWorld", 4096, seed=1)[0], returns)  # seeded
    rows, stdout = call(baselines.main, ["--ids", "GridWorld", "MC-LS", "--meta-episodes", "64"])
    assert stdout.count("\n| GridWorld | ") == 1 and len(rows["MC-LS"]) == 2


def force_falls(monkeypatch, env_class, falls):
    """Falls chosen by the test: sub-env i's inner episode k of every meta-episode ends by a fall on exactly its step
    falls[i][k] (None: it runs to the time limit), and on no other step. The robot's own falls are switched off:
    when a policy's robot falls comes out of a chaotic simulation, which float rounding changes from CPU to CPU."""
    real_sample, real_reset, real_step = env_class.sample_tasks, env_class.reset_episodes, env_class.step

    def sample_tasks(self, ids):
        if not hasattr(self, "forced"):
            self.forced = np.zeros((self.num_envs, 2), int)  # (step in the inner episode, inner episode)
        self.forced[ids, 1] = -1  # reset_episodes, next, starts episode 0
        real_sample(self, ids)

    def reset_episodes(self, ids):
        self.forced[ids, 0] = 0
        self.forced[ids, 1] += 1
        return real_reset(self, ids)

    def step(self, actions):
        obs, rewards, _, truncated = real_step(self, actions)
        self.forced[:, 0] += 1
        fell = np.array([falls[i][k] == t for i, (t, k) in enumerate(self.forced)])
        return obs, rewards, fell, truncated

    for name, patched in (("sample_tasks", sample_tasks), ("reset_episodes", reset_episodes), ("step", step)):
        monkeypatch.setattr(env_class, name, patched)


def record_steps(monkeypatch, env_class, record=lambda env, out: np.array(out[1], np.float64)):
    """The list that each step of `env_class` appends `record(env, what the step returned)` to: by default the
    rewards, as the task env paid them (before MetaVecEnv's bookkeeping)."""
    real_step, log = env_class.step, []

    def step(self, actions):
        out = real_step(self, actions)
        log.append(record(self, out))
        return out

    monkeypatch.setattr(env_class, "step", step)
    return log


def test_random_policy_baseline_on_envs_whose_episodes_end_early(monkeypatch):
    """Ant-Dir ends an episode when the ant falls (and Walker when it does), so meta-episodes end at different
    steps, and a step can finish meta-episodes that are all second ones: none may be recorded twice or lost. With
    falls set here (sub-env 0 falls every 7 steps: its second meta-episode ends, alone, on step 14), each sub-env's
    return is the sum of the rewards of its first meta-episode's steps, as the env paid them."""
    from envs.mujoco_envs import AntDir

    falls = (7, 50, 120, None)
    force_falls(monkeypatch, AntDir, [(n,) for n in falls])
    rewards = record_steps(monkeypatch, AntDir)
    returns, episodes, _ = baselines.policy_returns("AntDir", 4, seed=0)
    rewards = np.array(rewards)
    assert rewards.shape == (200, 4)  # until the last first meta-episode ended, at the time limit
    expected = [rewards[: n or 200, i].sum() for i, n in enumerate(falls)]
    np.testing.assert_allclose(returns, expected, rtol=1e-9)
    np.testing.assert_allclose(episodes[:, 0], expected, rtol=1e-9)


def test_scripted_policy_told_the_goal_solves_ml1_reach_and_outscores_a_random_one(monkeypatch):
    """The Meta-World reference level: metaworld's scripted policy, given the hidden goal, succeeds in every inner
    episode (a controller converging on a point in free space: nothing that float rounding could tip) and, since an
    episode runs all its steps, collects the dense reward near the goal that a random policy does not. What
    aggregate's reference line and the baselines record is checked against the env's own per-step rewards and
    success flags."""
    pytest.importorskip("metaworld")
    from envs.metaworld_envs import MetaWorld

    log = record_steps(monkeypatch, MetaWorld, lambda env, out: (out[1].copy(), env.success.copy()))

    def recorded():
        """(inner episodes' returns, their successes) of the 4 sub-envs' first meta-episodes: 2 episodes of 500 steps
        each (an episode here runs to its time limit)."""
        rewards, flags = (np.array(x).reshape(2, 500, 4) for x in zip(*log[:1000], strict=True))
        log.clear()
        return rewards.sum(1).T, flags.any(1).T

    # aggregate's reference line: the scripted policy's mean return, the success rate of its last inner episode
    (line,) = aggregate.reference_lines("ML1-reach", 4)
    episodes, successes = recorded()
    assert successes.all()
    assert line == (
        pytest.approx(episodes.sum(1).mean(), abs=0.005),
        "scripted policy told the goal, success rate 1.00",
    )
    random_returns, random_episodes, random_successes = baselines.policy_returns("ML1-reach", 4, seed=0)
    episodes_paid, successes_seen = recorded()
    np.testing.assert_allclose(random_episodes, episodes_paid, rtol=1e-9)
    np.testing.assert_allclose(random_returns, episodes_paid.sum(1), rtol=1e-9)
    assert np.array_equal(random_successes, successes_seen)
    assert episodes.sum(1).min() > 2 * random_returns.max()
    with pytest.raises(ValueError, match="only for ML1-reach"):
        baselines.policy_returns("CheetahDir", 4, policy="scripted")
    # known levels elsewhere
    assert aggregate.reference_lines("GridWorld", 4) == aggregate.REFERENCE_LINES["GridWorld"]
    assert aggregate.reference_lines("MC-LS", 4) == aggregate.REFERENCE_LINES["MC-LS"]


def test_diagnose_replays_the_runs_own_evaluation(tmp_path):
    """diagnose.py on a run's state.pt, or on its --save-model checkpoint, with the run's evaluation seed and task
    count replays its last evaluation: the same return; Cheetah-Vel's episodes all run 200 steps."""
    import torch

    run_script(
        "rnn_hn",
        [*TINY, "--env-id", "CheetahVel", "--seed", "5", "--save-model", "--checkpoint-interval", "1"],
        tmp_path,
    )
    logged = scalars(tmp_path)["eval/meta_episode_return"][-1]
    (run_dir,) = glob.glob(str(tmp_path / "runs" / "*"))
    (state,), stdout = call(diagnose.main, [f"{run_dir}/state.pt", "--seed", "100005", "--tasks", "2"])
    assert state["return"] == pytest.approx(logged, abs=1e-3) and "(after update 2): CheetahVel" in stdout
    assert state["episode_length"] == 200 and state["ended_early"] == 0
    assert 0.9 < state["action_std"] < 1.1  # log-std starts at 0 and two tiny updates barely move it
    (model,) = diagnose.main([f"{run_dir}/rnn_hn.pt", "--method", "rnn_hn", "--seed", "100005", "--tasks", "2"])
    assert model["return"] == pytest.approx(logged, abs=1e-3) and model["update"] is None
    torch.save({"script": "ppo.py", "args": {}}, tmp_path / "other.pt")
    with pytest.raises(SystemExit, match="give --method, one of rnn, rnn_hn, vi_hn, ti_naive, ti, ti_pp_hn"):
        diagnose.main([str(tmp_path / "other.pt")])


def test_diagnose_fits_the_speed_on_cheetah_vel_against_the_target(monkeypatch):
    """Cheetah-Vel's speed fit reads each task's last 100 steps: with the cheetah's x moved by the test at
    2 x target + 1 on those (and at -target before), the fit is slope 2, intercept 1, correlation 1."""
    from envs.mujoco_envs import CheetahVel

    real_step = CheetahVel.step

    def step(self, actions):
        out = real_step(self, actions)
        self.steps_taken = getattr(self, "steps_taken", 0) + 1
        speed = 2 * self.tasks[:, 0] + 1 if self.steps_taken > 100 else -self.tasks[:, 0]
        self.pos_after[:, 0] = self.pos_before[:, 0] + speed * self.dt  # what diagnose.py reads the speed from
        return out

    monkeypatch.setattr(CheetahVel, "step", step)
    r = diagnose.diagnose(diagnose.untrained("rnn", "CheetahVel", 5), tasks=3)
    assert (r["speed_slope"], r["speed_intercept"], r["speed_target_corr"]) == pytest.approx((2, 1, 1))


@pytest.mark.parametrize("method", diagnose.VAE_METHODS)
def test_diagnose_replays_a_vae_methods_final_policy(method, tmp_path):
    """The VAE methods' policy sees the normalised latent: diagnose.py replays their last evaluation too, from their
    state.pt and from their --save-model checkpoint."""
    args = [*TINY, "--env-id", "CheetahDir", "--seed", "5", "--checkpoint-interval", "1", "--save-model"]
    run_script(method, args + ["--precollect-frames", "0"], tmp_path)
    logged = scalars(tmp_path)["eval/meta_episode_return"][-1]
    (run_dir,) = glob.glob(str(tmp_path / "runs" / "*"))
    (state,), stdout = call(diagnose.main, [f"{run_dir}/state.pt", "--seed", "100005", "--tasks", "2"])
    assert state["return"] == pytest.approx(logged, abs=1e-3) and "(after update 2): CheetahDir" in stdout
    (model,) = diagnose.main([f"{run_dir}/{method}.pt", "--method", method, "--seed", "100005", "--tasks", "2"])
    assert model["return"] == pytest.approx(logged, abs=1e-3)


@pytest.mark.parametrize("method", ["rnn_hn", "vi_hn"])
def test_diagnose_untrained_is_the_agent_a_run_starts_from(method, tmp_path):
    """--untrained builds the agent `{method}.py --seed 5` starts from: after one update at lr 1e-12 a run's agent is
    the same to 1e-9 (each Adam step moves a parameter by about lr); a run at the real rate has moved away."""
    import torch

    rates = ["--lr", "1e-12"] + ([] if method == "rnn_hn" else ["--lr-vae", "1e-12", "--precollect-frames", "0"])
    args = [*TINY, "--env-id", "CheetahDir", "--seed", "5", "--total-timesteps", "16", "--checkpoint-interval", "1"]
    run_script(method, args + rates, tmp_path / "frozen")
    run_script(method, args + rates[4:], tmp_path / "default")
    before = torch.random.get_rng_state()
    _, start, _ = diagnose.untrained(method, "CheetahDir", 5)
    assert torch.equal(torch.random.get_rng_state(), before)  # the caller's generator is left as it was
    for run, same in (("frozen", True), ("default", False)):
        (state_pt,) = glob.glob(str(tmp_path / run / "runs" / "*" / "state.pt"))
        agent = torch.load(state_pt, weights_only=True)["agent"]
        assert agent.keys() == start["agent"].keys()
        close = all(torch.allclose(agent[k], start["agent"][k], rtol=0, atol=1e-9) for k in agent)
        assert close == same, run
    (r,), stdout = call(diagnose.main, ["--untrained", "CheetahDir", "--method", method, "--run-seed", "5"])
    assert stdout.startswith(f"untrained {method}.py --env-id CheetahDir --seed 5: CheetahDir, 16 tasks: return")
    assert r["update"] == 0 and r["action_std"] == 1.0  # log-std starts at 0
    with pytest.raises(SystemExit, match="a GridWorld run; diagnose.py reads CheetahDir"):
        diagnose.main(["--untrained", "GridWorld", "--method", method])


def test_diagnose_untrained_takes_the_scripts_own_arguments(capsys):
    """Arguments after `--` go to the method's script, as a run would take them: the agent RNN+S (--pass-state)
    starts from has the state embedding besides RNN's weights, and --policy-init-std sets its training noise."""
    argv = ["--untrained", "AntDir", "--method", "rnn", "--run-seed", "5", "--tasks", "2"]
    (r,), stdout = call(diagnose.main, [*argv, "--", "--pass-state", "--policy-init-std", "0.3"])
    assert r["action_std"] == pytest.approx(0.3)
    assert stdout.startswith("untrained rnn.py --env-id AntDir --seed 5 --pass-state --policy-init-std 0.3: AntDir")
    _, plain, _ = diagnose.untrained("rnn", "AntDir", 5)
    _, with_state, args = diagnose.untrained("rnn", "AntDir", 5, ("--pass-state",))
    assert args.pass_state and set(with_state["agent"]) > set(plain["agent"])
    with pytest.raises(SystemExit):  # a flag the script does not have
        diagnose.main([*argv, "--", "--no-such-flag"])
    capsys.readouterr()
    with pytest.raises(SystemExit):
        diagnose.main(["state.pt", "--", "--pass-state"])
    assert "arguments after -- go to the method's script with --untrained only" in capsys.readouterr().err


def test_diagnose_counts_a_fall_in_every_inner_episode_not_only_the_last(tmp_path, monkeypatch):
    """Walker has 2 inner episodes per task. With falls set by the test (task 1 falls in both episodes, task 2 in its
    first only; the run's evaluation has the same), every fall counts, 3 of 4 episodes, not only the one that ends a
    meta-episode (1), and the episode length is the mean of the four (30, 50, 70, 200)."""
    from envs.mujoco_envs import Walker

    force_falls(monkeypatch, Walker, [(30, 50), (70, None)])
    run_script("rnn", [*TINY, "--env-id", "Walker", "--seed", "5", "--checkpoint-interval", "1"], tmp_path)
    logged = scalars(tmp_path)["eval/meta_episode_return"][-1]
    (run_dir,) = glob.glob(str(tmp_path / "runs" / "*"))
    (state,), _ = call(diagnose.main, [f"{run_dir}/state.pt", "--seed", "100005", "--tasks", "2"])
    assert state["return"] == pytest.approx(logged, abs=1e-3) and state["episodes"] == 4
    assert state["ended_early"] == 3 and state["episode_length"] == (30 + 50 + 70 + 200) / 4
    assert state["return_without_survival_bonus"] == pytest.approx(state["return"] - 2 * state["episode_length"])


def test_diagnose_on_meta_world_counts_every_success_and_the_closest_approach(tmp_path):
    """On Meta-World diagnose.py replays the run's evaluation too: its successful episodes are the evaluation's,
    over both inner episodes, none ends early; an episode without success never came within reach's success
    radius (0.05)."""
    pytest.importorskip("metaworld", reason="Meta-World envs need the optional package: pip install metaworld==3.1.1")
    run_script("rnn", [*TINY, "--env-id", "ML1-reach", "--seed", "5", "--checkpoint-interval", "1"], tmp_path)
    logged = scalars(tmp_path)
    (run_dir,) = glob.glob(str(tmp_path / "runs" / "*"))
    (state,), stdout = call(diagnose.main, [f"{run_dir}/state.pt", "--seed", "100005", "--tasks", "2"])
    assert state["return"] == pytest.approx(logged["eval/meta_episode_return"][-1], rel=1e-5)
    successes = round(2 * (logged["eval/episode_1_success"][-1] + logged["eval/episode_2_success"][-1]))
    assert state["successes"] == successes and state["ended_early"] == 0 and state["episodes"] == 4
    assert 1 <= state["steps_to_success"] <= 500 if successes else np.isnan(state["steps_to_success"])
    assert state["reward_per_step"] == pytest.approx(state["return"] / (2 * state["episode_length"]), rel=1e-6)
    assert np.isnan(state["closest_to_goal"]) if successes == 4 else state["closest_to_goal"] > 0.05
    assert f"{successes} of 4 episodes succeeded" in stdout
    # --split test with the run's eval_test seed replays its evaluation on the held-out goals
    argv = [f"{run_dir}/state.pt", "--seed", "300005", "--tasks", "2", "--split", "test"]
    (held_out,), stdout = call(diagnose.main, argv)
    assert held_out["return"] == pytest.approx(logged["eval_test/meta_episode_return"][-1], rel=1e-5)
    assert held_out["return"] != pytest.approx(state["return"], rel=1e-3)  # other goals, another return
    assert ": ML1-reach, 2 held-out tasks: return" in stdout


def test_diagnose_on_ml10_reports_each_task_class():
    """On ML10 diagnose.py names each task's class: the classes the env drew for its tasks (training classes; the 5
    held-out ones with --split test), whose per-class returns average, weighted by their task counts, to the
    overall return."""
    pytest.importorskip("metaworld", reason="Meta-World envs need the optional package: pip install metaworld==3.1.1")
    loaded = diagnose.untrained("rnn", "ML10", 5)
    for split in ("train", "test"):
        vec = envs.make("ML10", 3, seed=12345, split=split)
        vec.reset()
        drawn = sorted(vec.env.class_names[c] for c in vec.env.class_ids)
        split_classes = set(vec.env.class_names)
        vec.close()
        r = diagnose.diagnose(loaded, tasks=3, seed=12345, split=split)
        per_class = r["per_class"]
        assert sorted(name for name, (n, _, _) in per_class.items() for _ in range(n)) == drawn
        assert sum(n * ret for n, ret, _ in per_class.values()) / 3 == pytest.approx(r["return"])
        assert sum(ok for _, _, ok in per_class.values()) == r["successes"]
        assert split_classes.issuperset(per_class) and len(split_classes) == (10 if split == "train" else 5)


@pytest.mark.filterwarnings("ignore:Constant")  # metaworld's policies warn when an action saturates; the env clips
def test_diagnose_on_meta_world_counts_the_successes_of_a_policy_that_succeeds(monkeypatch):
    """Meta-World's scripted reach policy, told the goal, succeeds in every episode (baselines.py). Put in place of
    the agent's actions, diagnose.py counts 4 of 4 successes, has no closest approach to report (every episode
    succeeded), averages the steps to the first success that the env's own flags give, and replays the return
    baselines.py measures on the same tasks."""
    pytest.importorskip("metaworld", reason="Meta-World envs need the optional package: pip install metaworld==3.1.1")
    import torch

    from envs.metaworld_envs import MetaWorld

    flags = record_steps(monkeypatch, MetaWorld, lambda env, out: env.success.copy())
    made, policies, real_make = [], {}, envs.make
    monkeypatch.setattr(envs, "make", lambda *a, **k: made.append(real_make(*a, **k)) or made[-1])

    def scripted(self, encoder_output, obs, action=None, deterministic=False):
        # the untrained normaliser (mean 0, variance 1) passes the observation through, to within 1e-8
        return (torch.tensor(baselines.scripted_actions(made[-1], obs.numpy(), policies)), None, None, None)

    loaded = diagnose.untrained("rnn", "ML1-reach", 5)
    monkeypatch.setattr(loaded[0].Agent, "get_action_and_value", scripted)
    r = diagnose.diagnose(loaded, tasks=2, seed=12345)
    first = np.argmax(np.reshape(flags, (2, 500, 2)), axis=1) + 1  # each episode's first successful step
    assert r["successes"] == 4 == r["episodes"] and r["steps_to_success"] == first.mean()
    assert np.isnan(r["closest_to_goal"]) and np.isnan(r["closest_to_object"])
    monkeypatch.setattr(envs, "make", real_make)
    returns, _, successes = baselines.policy_returns("ML1-reach", 2, seed=12345, policy="scripted")
    assert successes.all() and r["return"] == pytest.approx(returns.mean(), rel=1e-4)


def test_diagnose_on_push_measures_the_object_and_the_gripper_to_it(monkeypatch):
    """Push succeeds when the object is within 0.05 of the goal, so diagnose.py reports how close the object came, and
    how close the gripper came to the object. An arm held still (zero actions in place of the untrained agent's,
    whose touching the object or not is up to float rounding) leaves the object where it started: the closest
    approaches are the starting distances, object to goal and gripper to object (up to the object settling)."""
    pytest.importorskip("metaworld", reason="Meta-World envs need the optional package: pip install metaworld==3.1.1")
    import torch

    def still(self, encoder_output, obs, action=None, deterministic=False):
        return torch.zeros(len(obs), 4), None, None, None

    monkeypatch.setattr(diagnose.method_module("rnn").Agent, "get_action_and_value", still)
    (r,), stdout = call(diagnose.main, ["--untrained", "ML1-push", "--method", "rnn", "--tasks", "2"])
    vec = envs.make("ML1-push", 2, seed=12345)  # diagnose.py's default evaluation seed: the same tasks
    vec.reset()
    objects = [e.unwrapped._get_pos_objects()[:3] for e in vec.env.active]
    start = [np.linalg.norm(obj - e.unwrapped._target_pos) for obj, e in zip(objects, vec.env.active, strict=True)]
    gripper = [np.linalg.norm(e.unwrapped.tcp_center - obj) for obj, e in zip(objects, vec.env.active, strict=True)]
    vec.close()
    assert r["successes"] == 0 and min(start) > 0.05 and r["action_abs_mean"] == 0
    assert r["closest_to_goal"] == pytest.approx(np.mean(start), abs=5e-3)
    assert r["closest_to_object"] == pytest.approx(np.mean(gripper), abs=5e-3)
    assert f"closest to the goal {r['closest_to_goal']:.3f}, gripper closest to the object" in stdout


# the step each of the 4 tasks falls on (None: never): none; all in the first half (the second half has no task
# up: nan); two in the first half, one on the first step of the second, one never
@pytest.mark.parametrize("falls", [(None,) * 4, (40, 60, 80, 100), (30, 100, 101, None)])
def test_diagnose_on_ant_dir_measures_the_velocity_the_reward_pays(falls, monkeypatch):
    """Ant-Dir pays the torso's velocity along the task's angle g: diagnose.py's velocity along the task is that term
    of the reward (the reward less the survival bonus and the costs), averaged over each task's steps alive, and it
    splits into x (cos g of it) and sideways toward g's side (|sin g| of it); the heading over each half of the
    episode counts the tasks still up then. Falls are set by the test (when the untrained ant falls by itself
    depends on the CPU's float rounding), and every number is checked against the steps the env recorded."""
    from envs.mujoco_envs import AntDir

    force_falls(monkeypatch, AntDir, [(n,) for n in falls])
    real_step, log = AntDir.step, []

    def step(self, actions):
        out = real_step(self, actions)
        costs = 0.5 * np.square(np.asarray(actions, np.float64)).sum(1) + 0.5e-3 * self.contact_sq
        velocity = (self.pos_after - self.pos_before) / self.dt
        log.append((out[1] - 1.0 + costs, velocity, self.tasks[:, 0].copy(), out[2]))
        return out

    monkeypatch.setattr(AntDir, "step", step)
    r = diagnose.diagnose(diagnose.untrained("rnn_hn", "AntDir", 73), tasks=4, seed=100073)
    forward, velocity, goal, fell = (np.array(x) for x in zip(*log, strict=True))
    paid, x, side, halves = [], [], [], ([], [])
    for i in range(4):
        n = np.argmax(fell[:, i]) + 1 if fell[:, i].any() else 200  # the steps alive, the fall's included
        paid.append(forward[:n, i].mean())
        x.append(velocity[:n, i, 0].mean())
        side.append((velocity[:n, i, 1] * np.sign(goal[0, i])).mean())
        for half, steps in zip(halves, (range(min(n, 100)), range(100, n)), strict=True):
            if steps:  # the first 100 steps, then the rest: the heading in each, over the tasks still up then
                half.append(velocity[steps, i] * [1, np.sign(goal[0, i])])
    assert [np.argmax(f) + 1 if f.any() else None for f in fell.T] == list(falls)  # the steps after must not count
    assert np.isnan(r["heading_second_half"]) == all(n is not None and n <= 100 for n in falls)
    assert set(goal[0]) == {-1.0, 1.0}  # both directions, so that 'to the task's side' differs from +y
    assert r["velocity_along_task"] == pytest.approx(np.mean(paid), abs=1e-6)  # the reward is float32
    assert r["velocity_x"] == pytest.approx(np.mean(x), abs=1e-9)
    assert r["velocity_to_task_side"] == pytest.approx(np.mean(side), abs=1e-9)
    assert r["velocity_along_task"] == pytest.approx(np.cos(1) * np.mean(x) + np.sin(1) * np.mean(side), abs=1e-6)
    assert r["heading"] == pytest.approx(np.degrees(np.arctan2(np.mean(side), np.mean(x))))
    for name, half in zip(("heading_first_half", "heading_second_half"), halves, strict=True):
        x_half, side_half = np.mean([v.mean(0) for v in half], 0) if half else (np.nan, np.nan)
        assert r[name] == pytest.approx(np.degrees(np.arctan2(side_half, x_half)), nan_ok=True), name


@pytest.mark.parametrize("method", METHODS)
def test_a_shorter_run_is_the_prefix_of_a_longer_one(method, tmp_path):
    """What a pilot read off a longer run's first frames (aggregate --max-frames) relies on: nothing before frame N
    depends on --total-timesteps (no lr annealing on Grid-World; TI's multi-task phase counts updates)."""
    args = ["--env-id", "GridWorld", "--num-envs", "2", "--num-steps", "60", "--num-minibatches", "1"]
    args += ["--eval-interval", "1", "--num-eval-tasks", "2", "--seed", "5"]
    args += [] if method in ("rnn", "rnn_hn") else ["--precollect-frames", "0"]
    args += ["--ti-warmup-updates", "1"] if method in ("ti", "ti_pp_hn") else []  # the switch inside the prefix
    logs = []
    for frames in (240, 480):
        os.makedirs(tmp_path / str(frames))
        run_script(method, args + ["--total-timesteps", str(frames)], tmp_path / str(frames))
        (run_dir,) = glob.glob(str(tmp_path / str(frames) / "runs" / "*"))
        logs.append(read_scalars(run_dir))
    short, long = logs
    assert max(short["eval/meta_episode_return"][0]) == 240 and max(long["eval/meta_episode_return"][0]) == 480
    for tag in ("eval/meta_episode_return", "losses/value_loss", "losses/policy_loss", "charts/meta_episode_return"):
        steps, values = short[tag]
        assert long[tag][0][: len(steps)] == steps and long[tag][1][: len(values)] == values, tag


RESUMABLE = ["--methods", "rnn", "--env-ids", "GridWorld", "--seeds", "73", "20", "--lrs", "1e-3"]
RESUMABLE += ["--total-timesteps", str(16 * 12), "--workers", "2"]
RESUMABLE_ARGS = [*SCRIPT_ARGS, "--eval-interval", "2", "--checkpoint-interval", "2"]


def exported(directory):
    return {name: open(os.path.join(directory, name)).read() for name in os.listdir(directory) if name.endswith(".csv")}


def wait_for_states(out, count):
    deadline = time.time() + 300
    while len(glob.glob(os.path.join(out, "runs", "*", "state.pt"))) < count:
        assert time.time() < deadline
        time.sleep(0.01)


def test_killed_sweep_relaunched_is_the_uninterrupted_sweep(tmp_path):
    straight, killed = str(tmp_path / "straight"), str(tmp_path / "killed")
    # 40 updates: the first run must not finish before the second has saved a state, even on a loaded machine
    sweep_args = [a if a != str(16 * 12) else str(16 * 40) for a in RESUMABLE]
    rc, _ = call(sweep.main, [*sweep_args, "--out", straight, "--export", straight + "/export", *RESUMABLE_ARGS])
    assert rc == 0
    # the whole sweep (runner and runs) killed at once, as a scheduler or a closed terminal does, mid-run
    command = [sys.executable, os.path.join(ROOT, "benchmarks", "sweep.py"), *sweep_args, "--out", killed]
    process = subprocess.Popen(command + RESUMABLE_ARGS, start_new_session=True, stdout=subprocess.DEVNULL)
    wait_for_states(killed, 2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not glob.glob(os.path.join(killed, "logs", "*.done"))
    rc, stdout = call(sweep.main, [*sweep_args, "--out", killed, "--export", killed + "/export", *RESUMABLE_ARGS])
    assert rc == 0 and stdout.count("resuming GridWorld__rnn__lr1e-3__s") == 2, stdout
    assert exported(killed + "/export") == exported(straight + "/export")
    for seed in (73, 20):  # and every training point, once
        (a,) = glob.glob(os.path.join(straight, "runs", f"*__{seed}__*"))
        (b,) = glob.glob(os.path.join(killed, "runs", f"*__{seed}__*"))
        assert read_run(a)["scalars"]["losses/value_loss"] == read_run(b)["scalars"]["losses/value_loss"]


def _stat(pid):
    """[state, parent pid] of a process from /proc (Linux), [] once it is gone."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return []
    return fields[:2]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_sweep_stopped_alone_stops_its_runs_with_their_state_saved(sig, tmp_path):
    """The sweep's process signalled alone (not its process group): SIGTERM is passed on to the runs, and a SIGKILLed
    sweep's runs get SIGTERM from the kernel (PR_SET_PDEATHSIG); each saves its state and exits, none is left to
    finish as an orphan without a .done marker, and the next launch resumes both."""
    out = str(tmp_path)
    argv = [*RESUMABLE, "--out", out, *RESUMABLE_ARGS]
    long = [a if a != str(16 * 12) else str(16 * 100_000) for a in argv]  # far longer than the test waits
    process = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "benchmarks", "sweep.py"), *long],
        start_new_session=True,
        text=True,
        stdout=subprocess.PIPE,
    )
    wait_for_states(out, 2)
    runs = [pid for pid in os.listdir("/proc") if pid.isdigit() and _stat(pid)[1:2] == [str(process.pid)]]
    assert len(runs) == 2
    process.send_signal(sig)
    stdout = process.communicate(timeout=120)[0]
    assert process.returncode == (130 if sig == signal.SIGTERM else -signal.SIGKILL)
    if sig == signal.SIGTERM:
        assert "interrupted: the runs in progress were stopped" in stdout
    deadline = time.time() + 120
    while any(_stat(pid)[:1] not in ([], ["Z"]) for pid in runs):  # gone, or a zombie: ended
        assert time.time() < deadline, "a run outlived its sweep"
        time.sleep(0.05)
    logs = sorted(glob.glob(os.path.join(out, "logs", "*.log")))
    assert len(logs) == 2 and all("SIGTERM: state saved" in open(log).read() for log in logs)
    assert not glob.glob(os.path.join(out, "logs", "*.done"))
    rc, stdout = call(sweep.main, [*argv, "--dry-run"])
    assert stdout.count("resuming GridWorld__rnn__lr1e-3__s") == 2, stdout


def test_sweep_extended_to_a_larger_budget_is_the_sweep_run_at_it(tmp_path):
    """A finished run continues from its last state.pt (after update 4 of 5: update 5 and the final evaluation are
    redone) to the larger budget, with the numbers of a run made at that budget."""
    straight, extended = str(tmp_path / "straight"), str(tmp_path / "extended")
    one = [*RESUMABLE[:6], *RESUMABLE[7:]]  # seed 73 only
    rc, _ = call(sweep.main, [*one, "--out", straight, "--export", straight + "/export", *RESUMABLE_ARGS])
    assert rc == 0
    short = [a if a != str(16 * 12) else str(16 * 5) for a in one]
    assert call(sweep.main, [*short, "--out", extended, *RESUMABLE_ARGS])[0] == 0
    rc, stdout = call(sweep.main, [*one, "--out", extended, "--export", extended + "/export", *RESUMABLE_ARGS])
    assert rc == 0 and f"extending GridWorld__rnn__lr1e-3__s73 to {16 * 12} frames" in stdout, stdout
    assert exported(extended + "/export") == exported(straight + "/export")
    (a,), (b,) = (glob.glob(os.path.join(out, "runs", "*")) for out in (straight, extended))
    assert read_run(a)["scalars"]["losses/value_loss"] == read_run(b)["scalars"]["losses/value_loss"]


@pytest.mark.parametrize(
    "method, env_id, extra, extends",
    [
        ("rnn", "GridWorld", [], True),
        ("rnn", "MC-LS", [], False),  # its preset anneals the lr over the budget
        ("rnn", "GridWorld", ["--anneal-lr", "True"], False),
        ("ti", "GridWorld", [], False),  # the preset's multi-task phase is capped at 5% of the budget
        ("ti", "GridWorld", ["--ti-warmup-updates", "3"], True),
    ],
)
def test_only_runs_that_match_a_fresh_run_are_extended(method, env_id, extra, extends, tmp_path):
    run, out = sweep.Run(method, env_id, 73, "1e-3"), str(tmp_path)
    old, new = (sweep.command(run, 1, frames, extra) for frames in (1000, 2000))
    run_dir = os.path.join(out, "runs", f"{env_id}__{run.exp_name}__73__1")
    os.makedirs(run_dir)
    os.makedirs(os.path.join(out, "logs"))
    with open(sweep._paths(out, run)[1], "w") as f:
        json.dump({"command": old, "run_dir": os.path.relpath(run_dir, out), "wall_clock_s": 1.0}, f)
    assert sweep.extendable(run, new, out, 2000) is None  # no state.pt
    open(os.path.join(run_dir, "state.pt"), "w").close()
    assert (sweep.extendable(run, new, out, 2000) == run_dir) == extends
    assert sweep.extendable(run, old, out, 1000) is None and sweep.extendable(run, new, out, 500) is None
    assert sweep.extendable(run, new + ["--gamma", "0.9"], out, 2000) is None  # another command
    assert (sweep.extendable(run, new + ["--save-model"], out, 2000) == run_dir) == extends  # the same numbers


@pytest.mark.parametrize("script", sorted(glob.glob(os.path.join(ROOT, "benchmarks", "reproduce", "*.sh"))))
def test_reproduction_scripts_name_real_scripts_and_valid_sweeps(script, tmp_path):
    """Each benchmarks/reproduce/*.sh, run with a `python` that only records its arguments: every command names a
    script of the repository, and every sweep's arguments (methods, env ids, lrs) parse. The script runs from its
    working copy in a clone of the repository (it cds to its own ../..; a script may check out a recorded commit), so
    its shell commands (mv, git worktree, ...) cannot touch the repository's files."""
    if not os.path.exists(os.path.join(ROOT, ".git")):  # a directory, or a file in a git worktree
        pytest.skip("the reproduction scripts run in a clone: this tree is not a git checkout")
    shim = tmp_path / "python"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\0" "$@" >> {tmp_path}/calls\nprintf "\\n" >> {tmp_path}/calls\n')
    shim.chmod(0o755)
    env = dict(os.environ, PATH=f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    subprocess.run(["git", "clone", "-q", "--shared", ROOT, str(tmp_path / "tree")], check=True)
    copy = tmp_path / "tree" / "benchmarks" / "reproduce" / os.path.basename(script)
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(script, copy)
    subprocess.run(["bash", str(copy)], env=env, check=True, capture_output=True)
    calls = [line.rstrip("\0").split("\0") for line in (tmp_path / "calls").read_text().splitlines()]
    assert calls
    for script_path, *argv in calls:
        assert os.path.exists(os.path.join(ROOT, script_path)), script_path
        if script_path == "benchmarks/sweep.py":
            args = sweep.parse_args(argv)
            assert sweep.grid(args.methods, args.env_ids, args.seeds, args.lrs)


def test_hours_to_the_budget_from_the_fastest_run(tmp_path):
    """benchmarks/hours.py: the fastest run of each (env, method), variants left out; hours = budget / frames/s."""
    from benchmarks import hours

    runs = [("rnn", 1000.0), ("rnn", 2000.0), ("rnn-std0.3", 9000.0), ("rnn_hn", 500.0)]
    for k, (method, fps) in enumerate(runs):
        (tmp_path / f"{k}.json").write_text(json.dumps({"env_id": "GridWorld", "method": method, "frames_per_s": fps}))
    best = hours.fastest(str(tmp_path / "*.json"))
    assert {key: fps for key, (fps, _) in best.items()} == {
        ("GridWorld", "rnn"): 2000.0,
        ("GridWorld", "rnn_hn"): 500.0,
    }
    row = next(line for line in hours.table(best).splitlines() if line.startswith("| GridWorld (4M)"))
    # 4M frames at 2,000/s: 0.56 h; at 500/s: 2.2 h; not every method measured, so no protocol total
    assert "2,000/s: 0.6 h | 500/s: 2.2 h |" in row and "not all measured" in row


def test_hyper_ceiling_speedup_bound():
    """Layers at half the ceiling on 1 rollout forward (10 s per 1e10 FLOP) and 2 epochs of minibatches: at 0.04 s a
    frame they are 40% of it at 10 frames/s, and the ceiling would halve them: 1 / (0.6 + 0.2) = 1.25x."""
    preset = {"update_epochs": 2}
    result = {"rollout step": (16, 10.0, 20.0, 2e8), "minibatch": (240, 10.0, 20.0, 1e8)}
    share, bound = hyper_ceiling.speedup_bound(preset, result, training_fps=10.0)
    assert share == pytest.approx(0.4)
    assert bound == pytest.approx(1.25)
