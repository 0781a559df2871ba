"""What a user does with a script besides running it: copy it under another name, step its environments in worker
processes, ask for the authors' ML10 termination; and the one-line errors for options that cannot apply."""

import os
import re
import shutil
import subprocess
import sys

import pytest

import envs
from benchmarks.events import read_scalars
from benchmarks.run import METHODS
from tests.scripts import ROOT, TINY, run_script, scalars

# what differs between two identical runs: wall-clock measurements
TIMING = ("charts/SPS", "charts/env_time_fraction")


@pytest.mark.parametrize("method", METHODS)
def test_a_copied_script_keeps_its_defaults(method, tmp_path):
    """`cp {method}.py my_method.py` into an empty folder beside a copy of envs/: it trains without --lr, at the
    rate picked for its method (METHOD in the file, not the file's name)."""
    shutil.copy(os.path.join(ROOT, f"{method}.py"), tmp_path / "my_method.py")
    shutil.copytree(os.path.join(ROOT, "envs"), tmp_path / "envs", ignore=shutil.ignore_patterns("__pycache__"))
    extra = {"vi_hn": ["--precollect-frames", "0"], "ti_naive": ["--precollect-frames", "0"]}.get(method, [])
    if method in ("ti", "ti_pp_hn"):
        extra = ["--precollect-frames", "0", "--ti-warmup-updates", "1"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing but the copies is importable
    done = subprocess.run(
        [sys.executable, "my_method.py", "--env-id", "GridWorld", *TINY, *extra],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("GridWorld__my_method__1__")  # the run is named after the copy
    _, rates = read_scalars(str(run_dir))["charts/learning_rate"]
    assert rates == pytest.approx([envs.LEARNING_RATES[method]["GridWorld"]] * 2)


def test_env_workers_train_exactly_as_in_process(tmp_path):
    """--env-workers 2: every logged number but the timings is the in-process run's."""
    runs = {}
    for workers in (0, 2):
        cwd = str(tmp_path / f"w{workers}")
        run_script("rnn", ["--env-id", "GridWorld", *TINY, "--seed", "3", "--env-workers", workers], cwd)
        runs[workers] = {tag: values for tag, values in scalars(cwd).items() if tag not in TIMING}
    assert runs[2] == runs[0] and "eval/meta_episode_return" in runs[0]


@pytest.mark.parametrize(
    "options, message",
    [
        (["--env-id", "GridWorld", "--success-ends-episode"], "error: success_ends_episode applies to the Meta-World"),
        (["--env-id", "GridWorld", "--env-workers", "3"], r"error: env workers must be 0 \(in-process\) or 1 to"),
        (["--env-id", "GridWorld", "--env-workers", "-1"], r"error: env workers must be 0 \(in-process\) or 1 to"),
        (["--eval-checkpoint", "nope.pt"], "error: --eval-checkpoint nope.pt: no such file"),
    ],
)
def test_env_options_that_cannot_apply_stop_in_one_line(options, message, tmp_path):
    with pytest.raises(SystemExit, match=message) as stop:
        run_script("rnn_hn", [*options, *TINY], str(tmp_path))
    assert "\n" not in str(stop.value.code)


def test_a_run_prints_each_hyperparameter_with_where_it_comes_from(tmp_path):
    """One block at start-up, a line per source: the command line, the env's preset, the picked learning rate."""
    out = run_script("rnn", ["--env-id", "GridWorld", *TINY, "--seed", "4"], str(tmp_path))
    block = out.split("\niter ")[0].split("hyperparameters by where each comes from\n")[1]
    lines = block.replace("\n    ", " ").splitlines()  # a source's values continue on lines indented by 4
    groups = dict(re.match(r"  (.*?): (.*)", line).groups() for line in lines)
    assert groups["the lr picked for rnn on GridWorld"] == f"lr {envs.LEARNING_RATES['rnn']['GridWorld']}"
    assert {"seed 4", "num_envs 2", "num_steps 8", "eval_interval 2"} <= set(groups["command line"].split(", "))
    assert {"gamma 0.95", "clip_coef 0.05", "policy_hidden_sizes 256 128"} <= set(
        groups["the GridWorld preset"].split(", ")
    )


def test_help_says_which_defaults_the_preset_fills(capsys, monkeypatch):
    import importlib

    import tyro

    from envs import runstate

    monkeypatch.setenv("COLUMNS", "400")
    with pytest.raises(SystemExit):
        tyro.cli(runstate.preset_help(importlib.import_module("ti").Args), args=["--help"])
    text = re.sub(r"[\s│]+", " ", capsys.readouterr().out)
    assert "--gamma {None}|FLOAT the discount factor (default: --env-id's preset, envs/presets.py)" in text
    assert "(default: the one picked for this method on --env-id)" in text.split("--lr ")[1].split("--total")[0]
    assert "--wandb-entity {None}|STR the W&B entity (team) (default: None)" in text  # not a preset field
