"""A researcher's own environment (envs.register, --env-id module:EnvId; docs/own_env.md): the example point robot
learns in a copied script, its checkpoint evaluates, its errors take one line, and the package's vectorisation
(seeding, workers, state, rendering) holds for it as for the built-in families."""

import os
import re
import shutil
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import envs
from benchmarks.events import read_scalars
from examples.point_robot import PointRobot
from tests.scripts import ROOT, TINY, run_script

POINT_ROBOT = "examples.point_robot:PointRobot"


def random_policy_return(seed: int, tasks: int = 64) -> float:
    """Mean meta-episode return of uniformly random actions on `tasks` fresh point-robot tasks."""
    vec = envs.make(POINT_ROBOT, tasks, seed=seed)
    vec.reset()
    rng, returns = np.random.default_rng(seed), None
    while returns is None:
        infos = vec.step(rng.uniform(-1, 1, (tasks, 2)).astype(np.float32))[4]
        returns = infos["meta_episode_return"] if "_meta_episode" in infos else None
    return float(np.mean(returns))


def test_a_copied_script_learns_the_example_env_from_its_own_module(tmp_path):
    """`cp rnn.py my_rnn.py` beside copies of envs/ and examples/: 64k frames (~15-30 s) on the point robot lift the
    evaluation return from a random policy's (about -40) to about -20 to -26 (seeds 1-5); asserted: 8 above it.
    The saved model, evaluated by --eval-checkpoint on fresh tasks, beats a random policy by as much."""
    shutil.copy(os.path.join(ROOT, "rnn.py"), tmp_path / "my_rnn.py")
    for package in ("envs", "examples"):
        shutil.copytree(os.path.join(ROOT, package), tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing but the copies is importable

    def run(*args):
        done = subprocess.run(
            [sys.executable, "my_rnn.py", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done.stdout

    out = run("--env-id", POINT_ROBOT, "--total-timesteps", "64000", "--seed", "1", "--save-model")
    assert "PointRobot's registered preset: lr 0.001, num_steps 40" in out  # the block of where each value comes from
    (run_dir,) = (tmp_path / "runs").iterdir()
    _, returns = read_scalars(str(run_dir))["eval/meta_episode_return"]
    random_return = random_policy_return(seed=7)
    assert -42 < random_return < -39
    assert returns[-1] > random_return + 8, (returns, random_return)

    out = run("--eval-checkpoint", str(run_dir / "my_rnn.pt"), "--num-eval-tasks", "32", "--seed", "2")
    (checkpoint_return,) = map(float, re.findall(r"\(eval\): meta episode return (-?[\d.]+)", out))
    assert checkpoint_return > random_return + 8, (checkpoint_return, random_return)


class NoTask(gym.Env):
    observation_space = gym.spaces.Box(-1, 1, (2,))
    action_space = gym.spaces.Discrete(2)
    max_episode_steps = 5


@pytest.mark.parametrize(
    "env_id, message",
    [
        ("no_such_module:Env", "env id 'no_such_module:Env': cannot import 'no_such_module': ModuleNotFoundError"),
        ("examples.point_robot:Nope", "examples.point_robot registered no env 'Nope' (it registered: PointRobot)"),
        ("Nope", "unknown env id 'Nope'; valid ids: GridWorld, "),
    ],
)
def test_an_env_id_that_does_not_resolve_stops_the_script_in_one_line(env_id, message, tmp_path):
    with pytest.raises(SystemExit) as stop:
        run_script("rnn", ["--env-id", env_id, *TINY], str(tmp_path))
    assert message in str(stop.value.code) and "\n" not in str(stop.value.code)


def test_registering_checks_its_arguments_and_the_env_in_one_line():
    with pytest.raises(ValueError, match="'GridWorld' is a built-in env id"):
        envs.register("GridWorld", PointRobot, 2)
    with pytest.raises(ValueError, match="preset fields num_env are not preset fields; valid: "):
        envs.register("Typo", PointRobot, 2, preset={"num_env": 4})
    with pytest.raises(ValueError, match="episodes_per_task must be a positive integer"):
        envs.register("Zero", PointRobot, 0)
    envs.register("NoTask", NoTask, 1)
    with pytest.raises(ValueError, match=r"NoTask: its env has no sample_task or set_task: a registered env needs"):
        envs.make("NoTask", 2)
    with pytest.raises(ValueError, match="NoTask cannot render: its make_env takes no render_mode"):
        envs.register("NoTask", lambda: PointRobot(), 1)
        envs.make("NoTask", 1, render_mode="rgb_array")


def test_the_preset_is_the_registered_fields_over_the_default_one():
    """PointRobot's preset gives lr, num_steps and sizes; the rest is Cheetah-Dir's (envs.own.DEFAULT_PRESET); an env
    registered without lr takes each method's rate picked on Cheetah-Dir."""
    values = envs.preset(POINT_ROBOT, "rnn_hn")
    assert values == {**envs.preset("CheetahDir"), **registered_fields(), "lr": 1e-3}
    envs.register("PointRobotNoLr", PointRobot, 2, preset={"num_steps": 40})
    assert envs.preset("PointRobotNoLr", "ti") == {**envs.preset("CheetahDir", "ti"), "num_steps": 40}
    envs.register("PointRobotLrs", PointRobot, 2, preset={"lr": {"rnn": 3e-3}})
    assert envs.preset("PointRobotLrs", "rnn")["lr"] == 3e-3 and envs.preset("PointRobotLrs", "ti")["lr"] == 3e-4


def registered_fields():
    return {k: v for k, v in envs.own.REGISTERED["PointRobot"].preset.items() if k != "lr"}


def steps(vec, actions):
    return [vec.step(a) for a in actions]


def assert_same_steps(a, b):
    for (obs_a, rew_a, term_a, trunc_a, info_a), (obs_b, rew_b, term_b, trunc_b, info_b) in zip(a, b, strict=True):
        assert np.array_equal(obs_a, obs_b) and np.array_equal(rew_a, rew_b)
        assert np.array_equal(term_a, term_b) and np.array_equal(trunc_a, trunc_b)
        assert np.array_equal(info_a["task"], info_b["task"])


ACTIONS = np.random.default_rng(0).uniform(-1, 1, (100, 3, 2)).astype(np.float32)


def test_seeds_give_each_sub_environment_its_own_tasks_and_reset_noise():
    """Sub-environment i draws its tasks and its start position from its own generator (seed, i): the same in a
    batch of 3 as alone with first index i; a different seed gives different ones."""
    vec = envs.make(POINT_ROBOT, 3, seed=4)
    obs, info = vec.reset()
    assert len({tuple(t) for t in info["task"]}) == 3
    assert np.all(np.abs(obs[:, :2]) <= 0.05) and len({tuple(o) for o in obs[:, :2]}) == 3
    for i in range(3):
        single = envs.own.make_task_env(1, "PointRobot", "examples.point_robot")[0]
        single.first_index = i
        single.seed(4)
        single.sample_tasks(np.arange(1))
        assert np.array_equal(single.tasks[0], info["task"][i])
        assert np.array_equal(single.reset_episodes(np.arange(1))[0], obs[i, :2])
    other = envs.make(POINT_ROBOT, 3, seed=5).reset()[1]["task"]
    assert not np.array_equal(other, info["task"])


def test_worker_processes_step_a_registered_env_as_in_process():
    """The worker processes import examples.point_robot, which registers PointRobot there too."""
    a, b = envs.make(POINT_ROBOT, 3, seed=1), envs.make(POINT_ROBOT, 3, seed=1, workers=2)
    try:
        a.reset()
        b.reset()
        assert_same_steps(steps(a, ACTIONS), steps(b, ACTIONS))
    finally:
        b.close()


def test_a_registered_env_resumes_exactly_with_or_without_state_dict(capsys):
    """Without state_dict (PointRobot) the loaded env replays each current inner episode and says so; with one
    (PointRobotState) it loads the env's own state. Either way it continues exactly as the saved env, mid-episode."""

    class PointRobotState(PointRobot):
        def state_dict(self):
            return {"pos": self.pos.copy(), "goal": self.goal.copy()}

        def load_state_dict(self, state):
            self.pos, self.goal = state["pos"].copy(), state["goal"].copy()

    envs.register("PointRobotState", PointRobotState, 2)
    for env_id, replays in ((POINT_ROBOT, True), ("PointRobotState", False)):
        saved = envs.make(env_id, 3, seed=2)
        saved.reset()
        steps(saved, ACTIONS[:27])  # mid-way through a second inner episode
        loaded = envs.make(env_id, 3, seed=99)
        capsys.readouterr()
        loaded.load_state_dict(saved.state_dict())
        said = capsys.readouterr().out
        assert ("replays each sub-environment's current inner episode" in said) == replays
        assert "ended elsewhere" not in said
        assert_same_steps(steps(saved, ACTIONS[27:]), steps(loaded, ACTIONS[27:]))


def test_the_example_renders_its_goal_and_robot():
    vec = envs.make(POINT_ROBOT, 1, seed=0, render_mode="rgb_array")
    vec.reset()
    (frame,) = vec.render()
    assert frame.shape == (96, 96, 3) and frame.dtype == np.uint8
    colours = {tuple(c) for c in frame.reshape(-1, 3)}
    assert {(60, 180, 75), (40, 90, 220), (170, 170, 170)} <= colours  # goal, robot, half-circle


def test_a_batched_task_env_class_registers_too():
    """A TaskEnv subclass (the built-in families' fast path) registered as make_env: Grid-World under another id
    steps exactly as GridWorld."""
    from envs.gridworld import GridWorld

    envs.register("MyGrid", GridWorld, 4, preset={"num_steps": 60})
    actions = np.random.default_rng(1).integers(0, 5, (70, 3))
    mine, theirs = envs.make("MyGrid", 3, seed=1), envs.make("GridWorld", 3, seed=1)
    assert np.array_equal(mine.reset()[0], theirs.reset()[0])
    assert_same_steps(steps(mine, actions), steps(theirs, actions))


def test_a_replay_that_ends_elsewhere_says_so(capsys):
    """An env that draws its reset noise from numpy's global generator, not self.np_random, cannot be replayed: the
    loaded env says in how many sub-environments the replay ended elsewhere than the saved run."""

    class GlobalNoise(PointRobot):
        def reset(self, *, seed=None, options=None):
            self.pos = np.random.uniform(-0.05, 0.05, 2)
            return self.pos.astype(np.float32), {}

    envs.register("GlobalNoise", GlobalNoise, 2)
    saved = envs.make("GlobalNoise", 3, seed=2)
    saved.reset()
    steps(saved, ACTIONS[:27])
    envs.make("GlobalNoise", 3, seed=2).load_state_dict(saved.state_dict())
    assert (
        "GlobalNoise: replaying ended elsewhere than the saved run in 3 of 3 sub-environments"
        in capsys.readouterr().out
    )


def test_workers_refuse_an_env_registered_by_the_main_script():
    exec("envs.register('MainBot', PointRobot, 2)", {"__name__": "__main__", "envs": envs, "PointRobot": PointRobot})
    assert envs.make("MainBot", 2).num_envs == 2  # in-process it works
    with pytest.raises(
        ValueError, match="env workers need MainBot registered by an importable module, not by __main__"
    ):
        envs.make("MainBot", 2, workers=1)
