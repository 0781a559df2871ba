"""What a user does with a script besides running it: copy it under another name, step its environments in worker
processes, ask for the authors' ML10 termination; and the one-line errors for options that cannot apply."""

import os
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
    ],
)
def test_env_options_that_cannot_apply_stop_in_one_line(options, message, tmp_path):
    with pytest.raises(SystemExit, match=message) as stop:
        run_script("rnn_hn", [*options, *TINY], str(tmp_path))
    assert "\n" not in str(stop.value.code)
