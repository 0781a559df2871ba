"""--resume and SIGTERM in all six scripts: a run killed after a checkpoint and resumed is the uninterrupted run."""

import glob
import importlib
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from benchmarks.events import read_run
from tests.scripts import ROOT, run_script

METHODS = ("rnn", "rnn_hn", "vi_hn", "ti_naive", "ti", "ti_pp_hn")
UPDATES = 20  # a run of 20 updates, checkpointed every 4: a kill lands between two checkpoints
RUN = ["--num-envs", "2", "--num-steps", "8", "--num-minibatches", "1", "--total-timesteps", str(16 * UPDATES)]
RUN += ["--num-eval-tasks", "2", "--eval-interval", "3", "--checkpoint-interval", "4", "--save-model"]
# VAE scripts: updates from the 3rd rollout on, a buffer of a few meta-episodes; TI's multi-task phase ends at
# update 10, after the first checkpoints, so a resumed run must still reset the policy then
VAE = ["--precollect-frames", "32", "--vae-batch-size", "3"]
TIMING = ("charts/SPS", "charts/env_time_fraction")  # wall-clock measurements, never equal between two runs


def extra(method):
    """The VAE scripts' arguments; TI's multi-task phase where there is one."""
    if method in ("rnn", "rnn_hn"):
        return []
    return VAE + (["--ti-warmup-updates", "10"] if method in ("ti", "ti_pp_hn") else [])


def start(method, args, cwd):
    os.makedirs(cwd, exist_ok=True)
    command = [sys.executable, os.path.join(ROOT, f"{method}.py"), *args]
    return subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop_after_checkpoint(process, cwd, sig):
    """Send `sig` as soon as the run has written its first state.pt (then it is somewhere after that update)."""
    deadline = time.time() + 300
    while not glob.glob(os.path.join(cwd, "runs", "*", "state.pt")):
        assert process.poll() is None, process.stdout.read()
        assert time.time() < deadline
        time.sleep(0.005)
    process.send_signal(sig)
    out, _ = process.communicate(timeout=300)
    (run_dir,) = glob.glob(os.path.join(cwd, "runs", "*"))
    return process.returncode, out, run_dir


def resume_command(method, run_dir, cwd, *args):
    command = [sys.executable, os.path.join(ROOT, f"{method}.py"), "--resume", run_dir, *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


def resume(method, run_dir, cwd, *args):
    result = resume_command(method, run_dir, cwd, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def logged(run_dir):
    """Every scalar the run's event files hold, after TensorBoard's purge of points a resume re-logged."""
    return {tag: points for tag, points in read_run(run_dir)["scalars"].items() if tag not in TIMING}


def assert_same_model(method, run_dir_a, run_dir_b):
    a = torch.load(os.path.join(run_dir_a, f"{method}.pt"), weights_only=True)["agent"]
    b = torch.load(os.path.join(run_dir_b, f"{method}.pt"), weights_only=True)["agent"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def assert_same_run(method, straight, resumed):
    (straight_dir,) = glob.glob(os.path.join(straight, "runs", "*"))
    assert logged(resumed) == logged(straight_dir)  # every point, once, with the same value
    assert_same_model(method, straight_dir, resumed)


def straight_run(method, args, cwd):
    run_script(method, args, cwd)
    return cwd


@pytest.mark.parametrize("method", METHODS)
def test_sigkill_then_resume_is_the_uninterrupted_run(method, tmp_path):
    args = ["--env-id", "GridWorld", *RUN, *extra(method)]
    straight = straight_run(method, args, tmp_path / "straight")
    returncode, _, run_dir = stop_after_checkpoint(start(method, args, tmp_path / "killed"), tmp_path / "killed", 9)
    assert returncode == -signal.SIGKILL
    assert torch.load(os.path.join(run_dir, "state.pt"), weights_only=True)["iteration"] < UPDATES
    resume(method, run_dir, tmp_path / "killed")
    assert_same_run(method, straight, run_dir)


@pytest.mark.parametrize("method, env_id", [("rnn_hn", "CheetahDir"), ("vi_hn", "AntDir")])
def test_mujoco_run_resumes_bit_for_bit(method, env_id, tmp_path):
    """10 updates of 40 steps: two 200-step episodes (AntDir's may end early by a fall), a checkpoint every 3."""
    args = ["--env-id", env_id, "--num-envs", "2", "--num-steps", "40", "--num-minibatches", "1"]
    args += ["--total-timesteps", "800", "--num-eval-tasks", "2", "--eval-interval", "3", "--checkpoint-interval", "3"]
    args += ["--save-model", *extra(method)]
    straight = straight_run(method, args, tmp_path / "straight")
    returncode, _, run_dir = stop_after_checkpoint(start(method, args, tmp_path / "killed"), tmp_path / "killed", 9)
    assert returncode == -signal.SIGKILL
    resume(method, run_dir, tmp_path / "killed")
    assert_same_run(method, straight, run_dir)


def test_a_registered_env_without_state_dict_resumes_bit_for_bit(tmp_path):
    """examples/point_robot.py's env has no state_dict: the resumed run replays each sub-environment's current inner
    episode, and says so. 13-step rollouts put every checkpoint inside an inner episode (20 steps)."""
    args = ["--env-id", "examples.point_robot:PointRobot", "--num-envs", "2", "--num-steps", "13"]
    args += ["--num-minibatches", "1", "--total-timesteps", str(26 * 10), "--num-eval-tasks", "2"]
    args += ["--eval-interval", "3", "--checkpoint-interval", "3", "--save-model"]
    straight = straight_run("rnn", args, tmp_path / "straight")
    returncode, _, run_dir = stop_after_checkpoint(start("rnn", args, tmp_path / "killed"), tmp_path / "killed", 9)
    assert returncode == -signal.SIGKILL
    out = resume("rnn", run_dir, tmp_path / "killed")
    assert "PointRobot: its env has no state_dict/load_state_dict, so the resume replays" in out
    assert_same_run("rnn", straight, run_dir)


def test_sigterm_saves_the_state_and_exits_for_a_requeue(tmp_path):
    args = ["--env-id", "GridWorld", *RUN, "--checkpoint-interval", "1"]
    straight = straight_run("rnn", args, tmp_path / "straight")
    stopped = tmp_path / "stopped"
    returncode, out, run_dir = stop_after_checkpoint(start("rnn", args, stopped), stopped, signal.SIGTERM)
    assert returncode == 143
    resume_line = f"SIGTERM: state saved; resume with: python rnn.py --resume {os.path.relpath(run_dir, stopped)}"
    assert out.strip().splitlines()[-1] == resume_line
    assert torch.load(os.path.join(run_dir, "state.pt"), weights_only=True)["iteration"] < UPDATES
    resume("rnn", run_dir, stopped)
    assert_same_run("rnn", straight, run_dir)


def test_a_finished_run_extends_with_a_larger_budget(tmp_path):
    """--total-timesteps may change on resume: 12 updates, then 8 more, train exactly as the 20-update run (its
    evaluations differ: the short run's final one drew fresh tasks the long run did not)."""
    args = ["--env-id", "GridWorld", *RUN]
    (straight_dir,) = glob.glob(str(straight_run("rnn_hn", args, tmp_path / "straight") / "runs" / "*"))
    run_script("rnn_hn", args + ["--total-timesteps", str(16 * 12)], tmp_path / "extended")
    (run_dir,) = glob.glob(str(tmp_path / "extended" / "runs" / "*"))
    assert torch.load(os.path.join(run_dir, "state.pt"), weights_only=True)["iteration"] == 12
    resume("rnn_hn", run_dir, tmp_path / "extended", "--total-timesteps", str(16 * UPDATES))
    training = {tag: points for tag, points in logged(run_dir).items() if not tag.startswith("eval/")}
    assert training == {tag: points for tag, points in logged(straight_dir).items() if not tag.startswith("eval/")}
    assert_same_model("rnn_hn", straight_dir, run_dir)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("finished")
    run_script("rnn", ["--env-id", "GridWorld", *RUN, "--total-timesteps", "64"], cwd)
    (run_dir,) = glob.glob(str(cwd / "runs" / "*"))
    return run_dir


@pytest.mark.parametrize(
    "method, args, message",
    [
        ("rnn", ["--env-id", "CheetahDir"], "--env-id CheetahDir differs from the run's GridWorld"),
        ("rnn", ["--num-envs", "4"], "--num-envs 4 differs from the run's 2"),
        ("rnn", ["--seed", "7"], "--seed 7 differs from the run's 1"),
        ("rnn", ["--env-workers", "1"], "--env-workers 1 differs from the run's 0"),  # the envs' state is per worker
        ("rnn_hn", [], "its state.pt is from rnn.py, not rnn_hn.py"),
    ],
)
def test_resume_refuses_what_would_change_the_run(finished_run, method, args, message, tmp_path):
    result = resume_command(method, finished_run, tmp_path, *args)
    assert result.returncode != 0 and result.stderr.strip() == f"error: --resume {finished_run}: {message}"


def test_resume_without_a_state_says_so(tmp_path):
    with pytest.raises(SystemExit, match=r"no state.pt there \(see --checkpoint-interval\)"):
        run_script("rnn", ["--resume", str(tmp_path)], tmp_path)


def test_the_run_neutral_arguments_are_every_scripts_fields_and_the_sweep_drops_them():
    """envs.runstate.RUN_NEUTRAL: one list, fields of every script, its on/off ones SWITCHES (given without a value)."""
    from envs import runstate

    for method in METHODS:
        defaults = importlib.import_module(method).Args()
        switches = {name for name in runstate.RUN_NEUTRAL if isinstance(getattr(defaults, name), bool)}
        assert switches == set(runstate.SWITCHES), method
    command = ["--env-id", "GridWorld", "--threads", "2", "--save-model", "--env-workers=2", "--seed", "3"]
    command += ["--no-track", "--resume", "runs/x", "--lr", "1e-3", "--checkpoint-interval", "5"]
    assert runstate.without_run_neutral(command) == ["--env-id", "GridWorld", "--seed", "3", "--lr", "1e-3"]


def test_a_state_of_another_model_layout_is_one_line():
    """--resume of a state.pt whose tensors do not fit (another version of the script): one line naming the part and
    the tensor; a state that fits loads."""
    from envs import runstate

    agent, other = torch.nn.Linear(3, 2), torch.nn.Linear(2, 3)
    state = {"agent": other.state_dict(), "rng": runstate.rng_state()}
    with pytest.raises(SystemExit, match=r"^error: --resume: its agent does not fit .*size mismatch for weight"):
        runstate.restore(state, {"agent": agent})
    before = agent.weight.detach().clone()
    runstate.restore({"agent": agent.state_dict(), "rng": state["rng"]}, {"agent": agent})
    assert torch.equal(agent.weight, before)
