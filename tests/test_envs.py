"""The envs/ contract (envs/__init__.py, envs/core.py) and the grid-worlds (reference §4.1), checked against the
formulas."""

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import benchmarks.aggregate
import envs
from envs.gridworld import GOALS, MOVES

GRIDS = ("GridWorld", "GridWorldShow", "GridWorldDense")
NOOP, UP, RIGHT, DOWN, LEFT = range(5)


def run(vec, policy, steps):
    """Step `vec` with `policy(obs, info) -> actions`; return per-step arrays of everything it returned."""
    obs, info = vec.reset()
    out = {"obs": [obs], "rew": [], "term": [], "trunc": [], "info": [info]}
    for _ in range(steps):
        obs, rew, term, trunc, info = vec.step(policy(obs, info))
        for k, v in zip(("obs", "rew", "term", "trunc", "info"), (obs, rew, term, trunc, info), strict=True):
            out[k].append(v)
    return out


def test_bad_input_names_the_valid_choices():
    with pytest.raises(ValueError, match="valid ids: GridWorld, GridWorldShow"):
        envs.make("Gridworld", 4)
    with pytest.raises(ValueError, match="valid ids"):
        envs.preset("HalfCheetah")
    for n in (0, -3, 2.5):
        with pytest.raises(ValueError, match="num_envs must be a positive integer"):
            envs.make("GridWorld", n)
    with pytest.raises(ValueError, match="render_mode"):
        envs.make("GridWorld", 2, render_mode="human")


def test_import_is_cheap():
    code = "import sys, envs; print(sorted(m for m in ('torch', 'mujoco', 'metaworld') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_presets_cover_every_id_with_the_same_fields():
    keys = set(envs.preset("GridWorld"))
    for env_id in envs.ENV_IDS:
        p = envs.preset(env_id)
        assert set(p) == keys, env_id
        # environment-wise minibatches (difference 4) need the envs to split evenly
        assert p["num_envs"] % p["num_minibatches"] == 0, env_id
    # a few numbers straight from reference §1.8 / reference §3.4
    assert envs.preset("GridWorld")["num_steps"] == 60 and envs.preset("GridWorld")["ent_coef"] == 0.1
    assert envs.preset("AntDir")["latent_embed_dim"] == 10 and envs.preset("AntDir")["num_minibatches"] == 1
    assert envs.preset("Walker")["latent_dim"] == 10 and envs.preset("Walker")["clip_coef"] == 0.05
    assert envs.preset("MC-LS")["anneal_lr"] and not envs.preset("CheetahDir")["anneal_lr"]
    assert (
        envs.preset("GridWorldShow")["ti_warmup_updates"] == 100
        and envs.preset("CheetahVel")["ti_warmup_updates"] == 563
    )
    envs.preset("GridWorld")["num_steps"] = 1  # a copy: the table itself must not change
    assert envs.preset("GridWorld")["num_steps"] == 60


def test_grid_goals_are_the_21_cells_and_uniform():
    expected = {(x, y) for x in range(5) for y in range(5)} - {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert {tuple(g) for g in GOALS} == expected and len(GOALS) == 21
    vec = envs.make("GridWorld", 2100, seed=0)
    _, info = vec.reset()
    goals, counts = np.unique(info["task"], axis=0, return_counts=True)
    assert {tuple(g) for g in goals.astype(int)} == expected
    # 100 expected per goal: a binomial std of ~10, so 60..140 holds unless the sampler is biased
    assert counts.min() > 60 and counts.max() < 140


@pytest.mark.parametrize("env_id", GRIDS)
def test_grid_meta_episode_structure(env_id):
    vec = envs.make(env_id, 3, seed=1)
    assert (vec.episodes_per_task, vec.max_episode_steps, vec.meta_episode_horizon, vec.task_dim) == (4, 15, 60, 2)
    assert vec.single_observation_space.shape == (3,)
    rng = np.random.default_rng(0)
    out = run(vec, lambda o, i: rng.integers(0, 5, 3), 3 * 60)
    flags = np.array(out["obs"])[1:, :, 2]
    inner_done = np.array([i["inner_done"] for i in out["info"][1:]])
    ends = np.array(out["term"]) | np.array(out["trunc"])
    steps = np.arange(1, 181)
    # inner episodes end every 15 steps; the meta-episode every 60, by the time limit (truncation)
    assert (inner_done.all(1) == (steps % 15 == 0)).all()
    assert (ends.all(1) == (steps % 60 == 0)).all() and not np.array(out["term"]).any()
    # the flag is 1 exactly on inner-episode ends inside a meta-episode; the meta-episode end returns the
    # next meta-episode's first observation, flag 0
    assert (flags.all(1) == ((steps % 15 == 0) & (steps % 60 != 0))).all()
    assert (flags.sum(1) % 3 == 0).all()
    # the task is constant within a meta-episode and is the new one from the autoreset step on
    tasks = np.array([i["task"] for i in out["info"]])
    for k in range(3):
        assert (tasks[60 * k : 60 * k + 60] == tasks[60 * k]).all()
    assert (tasks[60] != tasks[0]).any(1).any()
    last = [i for i in out["info"] if "_meta_episode" in i]
    assert len(last) == 3 and all(i["_meta_episode"].all() for i in last)
    assert all((i["meta_episode_length"] == 60).all() for i in last)
    # the returns reported are the sums of the rewards step returned: per inner episode, 15 steps each, and in all
    rewards = np.array(out["rew"]).reshape(3, 4, 15, 3)  # (meta-episode, inner episode, step, sub-env)
    assert np.unique(rewards).size > 1  # a random walk reaches some goals: not every reward is the same
    for k, i in enumerate(last):
        np.testing.assert_allclose(i["episode_returns"], rewards[k].sum(1).T, rtol=1e-6)
        np.testing.assert_allclose(i["meta_episode_return"], rewards[k].sum((0, 1)), rtol=1e-6)


def test_grid_hidden_reset_point():
    """At an inner-episode end the agent sees its terminal position with flag 1 but already stands on the start."""
    vec = envs.make("GridWorld", 1, seed=0)
    obs, _ = vec.reset()
    for _ in range(14):
        obs, *_ = vec.step([RIGHT])
    assert obs.tolist() == [[4.0, 0.0, 0.0]]
    obs, *_ = vec.step([UP])  # step 15 ends inner episode 1 at (4, 1)
    assert obs.tolist() == [[4.0, 1.0, 1.0]]
    obs, *_ = vec.step([UP])  # executed from the hidden start (0, 0)
    assert obs.tolist() == [[0.0, 1.0, 0.0]]


@pytest.mark.parametrize("env_id", ["GridWorld", "GridWorldDense"])
def test_grid_rewards_match_the_formulas(env_id):
    vec = envs.make(env_id, 64, seed=3)
    rng = np.random.default_rng(0)
    obs, info = vec.reset()
    for _ in range(59):
        actions = rng.integers(0, 5, 64)
        pos = vec.env.pos.copy()
        obs, rew, *_, info = vec.step(actions)
        new = np.clip(pos + MOVES[actions], 0, 4)
        moved = ~info["inner_done"]  # at an inner-episode end the agent is already back on the start
        np.testing.assert_array_equal(new[moved], vec.env.pos[moved])
        np.testing.assert_array_equal(vec.env.pos[~moved], 0)
        dist = np.abs(new - info["task"]).sum(1)
        off = -dist / 5 if env_id == "GridWorldDense" else np.full(64, -0.1)
        np.testing.assert_allclose(rew, np.where(dist == 0, 1.0, off), rtol=1e-6)


# a goal-knowing agent's inner-episode return for a goal at Manhattan distance d from the start
# (reference §4.1): d − 1 steps off the goal (−0.1 each; Dense: −k/5 at distance k), then 16 − d steps on it; on Show the
# agent first looks (one no-op on the start cell reveals the goal), which delays episode 1 by a step
ORACLE = {
    "GridWorld": (lambda d: 4 * (-0.1 * (d - 1) + (16 - d)), 44.3),
    "GridWorldDense": (lambda d: 4 * (-d * (d - 1) / 10 + (16 - d)), 38.1),
    "GridWorldShow": (lambda d: -0.1 * d + (15 - d) + 3 * (-0.1 * (d - 1) + (16 - d)), 43.2),
}


@pytest.mark.parametrize("env_id", GRIDS)
def test_goal_knowing_oracle_matches_the_formula(env_id):
    """The aggregate plot's reference lines: 44.3 (GridWorld), 38.1 (Dense), 43.2 (Show: look, then go)."""
    vec = envs.make(env_id, 16, seed=5)
    steps = iter(range(60 * 20))

    def oracle(obs, info):  # walk straight to the goal, x first, from the true position
        pos, goal = vec.env.pos, info["task"]
        action = np.where(goal[:, 0] > pos[:, 0], RIGHT, np.where(goal[:, 1] > pos[:, 1], UP, NOOP))
        return np.full(16, NOOP) if env_id == "GridWorldShow" and next(steps) % 60 == 0 else action

    out = run(vec, oracle, 60 * 20)
    finals = [i for i in out["info"] if "_meta_episode" in i]
    tasks = np.array([i["task"] for i in out["info"]])
    d = np.abs(tasks[0:1200:60]).sum(2)  # Manhattan distance from the start, per meta-episode and env
    formula, level = ORACLE[env_id]
    np.testing.assert_allclose(np.array([i["meta_episode_return"] for i in finals]), formula(d), rtol=1e-6)
    assert np.mean(formula(np.abs(GOALS).sum(1))) == pytest.approx(level, abs=0.05)
    assert benchmarks.aggregate.REFERENCE_LINES[env_id][0][0] == level


def test_show_reveals_the_goal_only_on_the_start_cell():
    vec = envs.make("GridWorldShow", 8, seed=2)
    obs, info = vec.reset()
    goal = info["task"]
    assert (obs[:, :2] == 0).all()  # the very first observation is the ordinary start
    obs, *_ = vec.step(np.full(8, NOOP))  # stays on the start: sees the goal
    np.testing.assert_array_equal(obs[:, :2], goal)
    obs, *_ = vec.step(np.full(8, UP))  # (0, 1): its own position
    np.testing.assert_array_equal(obs[:, :2], np.tile([0.0, 1.0], (8, 1)))
    obs, *_ = vec.step(np.full(8, DOWN))  # back on the start
    np.testing.assert_array_equal(obs[:, :2], goal)
    for _ in range(12):
        obs, *_ = vec.step(np.full(8, RIGHT))
    assert (obs[:, 2] == 1).all() and (obs[:, :2] == [4, 0]).all()  # inner end at (4, 0), never revealed
    obs, *_ = vec.step(np.full(8, LEFT))  # the first action of episode 2 is taken on the start
    np.testing.assert_array_equal(obs[:, :2], goal)


def test_seeding_reproducible_and_independent():
    def tasks(n, seed, resets=5):
        vec = envs.make("GridWorld", n, seed=seed)
        out = run(vec, lambda o, i: np.zeros(n, int), 60 * resets)
        return np.array([i["task"] for i in out["info"]])

    a, b = tasks(16, 7), tasks(16, 7)
    np.testing.assert_array_equal(a, b)
    assert (tasks(16, 8) != a).any()
    # sub-environment i draws the same tasks alone or beside others
    np.testing.assert_array_equal(tasks(4, 7), a[:, :4])
    # independent across sub-environments: 16 envs almost never share one goal (reference §1.3 item 3)
    assert all(len(np.unique(t, axis=0)) > 4 for t in a[::60])
    # an explicit reset seed restarts the task sequence
    vec = envs.make("GridWorld", 16, seed=0)
    np.testing.assert_array_equal(vec.reset(seed=7)[1]["task"], a[0])


def test_grid_render_draws_agent_and_goal():
    vec = envs.make("GridWorld", 2, seed=0, render_mode="rgb_array")
    _, info = vec.reset()
    vec.step([RIGHT, UP])
    frames = vec.render()
    assert len(frames) == 2 and frames[0].shape == (80, 80, 3) and frames[0].dtype == np.uint8

    def centre(frame, x, y):
        return tuple(frame[(4 - y) * 16 + 8, x * 16 + 8])

    assert centre(frames[0], 1, 0) == (40, 90, 220) and centre(frames[1], 0, 1) == (40, 90, 220)
    gx, gy = info["task"][0].astype(int)
    assert centre(frames[0], gx, gy) == (60, 180, 75)


def test_snake_searcher_earns_34_9():
    """Snake through the columns until the goal is found, then walk straight to it: 732/21 ≈ 34.86 per
    meta-episode over the 21 goals (the reference level issue 3 quotes for exploring agents)."""
    snake = [(x, y) for x in range(5) for y in (range(5) if x % 2 == 0 else range(4, -1, -1))][1:]
    vec = envs.make("GridWorld", len(GOALS), seed=0)
    vec.reset()
    vec.env.goal[:] = GOALS  # one sub-environment per goal
    found, target, pos = [None] * 21, [0] * 21, np.zeros((21, 2), int)
    total = np.zeros(21)
    for _ in range(60):
        goal_or_next = np.array([f if f is not None else snake[k] for f, k in zip(found, target, strict=True)])
        dx, dy = goal_or_next[:, 0] - pos[:, 0], goal_or_next[:, 1] - pos[:, 1]
        actions = np.select([dx > 0, dx < 0, dy > 0, dy < 0], [RIGHT, LEFT, UP, DOWN], NOOP)
        obs, rew, *_ = vec.step(actions)
        total += rew
        for i in range(21):
            cell = tuple(obs[i, :2].astype(int))
            if rew[i] == 1.0 and found[i] is None:
                found[i] = cell
            if found[i] is None and cell == snake[target[i]]:
                target[i] += 1
        pos = np.where(obs[:, 2:3] == 1, 0, obs[:, :2].astype(int))  # flag 1: already back on the start
    assert total.mean() == pytest.approx(732 / 21, abs=1e-4)


class CountDown(envs.TaskEnv):
    """A scripted inner MDP: inner episode k solves its task on step 3 only (and only when `solve[k]`), and every
    episode runs into its 5-step time limit. Stands for Meta-World, where success is a per-step flag."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)
    task_dim, max_episode_steps, solve = 1, 5, (True, False)

    def __init__(self, num_envs):
        super().__init__(num_envs)
        self.tasks, self.t, self.k = (
            np.zeros((num_envs, 1), np.float32),
            np.zeros(num_envs, int),
            -np.ones(num_envs, int),
        )

    def sample_tasks(self, ids):
        self.k[ids] = -1

    def reset_episodes(self, ids):
        self.t[ids], self.k[ids] = 0, self.k[ids] + 1
        return np.zeros((len(ids), 1))

    def step(self, actions):
        self.t += 1
        self.success = (self.t == 3) & np.array([self.solve[k] for k in self.k])
        never = np.zeros(self.num_envs, bool)
        return np.zeros((self.num_envs, 1)), np.ones(self.num_envs), never, never


@pytest.mark.parametrize("reports", (True, False))
def test_an_inner_episode_succeeds_if_any_step_does_and_success_does_not_end_it(reports):
    task_env = CountDown(2)
    task_env.reports_success = reports
    vec = envs.MetaVecEnv(task_env, episodes_per_task=2)
    vec.reset(seed=0)
    for t in range(1, 2 * 5 + 1):
        _, _, term, trunc, infos = vec.step(np.zeros(2, int))
        assert infos["inner_done"].all() == (t % 5 == 0)  # success on step 3 ended nothing
    assert infos["_meta_episode"].all() and trunc.all() and not term.any() and vec.reports_success == reports
    assert infos["meta_episode_length"].tolist() == [10, 10]
    if reports:  # episode 1 succeeded on its step 3 though its last step did not; episode 2 never did
        assert infos["episode_successes"].tolist() == [[True, False], [True, False]]
    else:
        assert "episode_successes" not in infos


@pytest.mark.parametrize("method", ("rnn", "rnn_hn", "vi_hn", "ti_naive", "ti", "ti_pp_hn"))
def test_every_methods_evaluation_reports_the_last_inner_episodes_success_rate(method):
    """Each script's evaluate(): on CountDown every task's inner episode 1 succeeds and episode 2 does not, so the
    success rate (the last inner episode's, after adapting) is 0, not 1 (the first's) nor 0.5 (both's); every step
    pays 1, so each episode returns 5 and the meta-episode 10."""
    import importlib

    from tests.scripts import make_args

    module = importlib.import_module(method)
    task_env = CountDown(3)
    task_env.reports_success = True
    vec = envs.MetaVecEnv(task_env, episodes_per_task=2)
    args = make_args(module, "GridWorld")  # a discrete-action preset, as CountDown's
    normalisers = [module.RunningMeanStd(vec.single_observation_space.shape)]
    if method not in ("rnn", "rnn_hn"):  # the VAE methods' policy sees the normalised latent too
        normalisers.append(module.RunningMeanStd((2 * args.latent_dim,)))
    results = module.evaluate(module.Agent(vec, args), vec, *normalisers, "cpu")
    assert (results["success_rate"], results["episode_1_success"], results["episode_2_success"]) == (0, 1, 0)
    assert (results["meta_episode_return"], results["episode_1_return"], results["episode_2_return"]) == (10, 5, 5)


def test_every_method_has_a_learning_rate_from_the_papers_grid_on_every_env_id():
    methods = ("rnn", "rnn_hn", "vi_hn", "ti_naive", "ti", "ti_pp_hn")
    assert set(envs.LEARNING_RATES) == set(methods)
    for method in methods:
        for env_id in envs.ENV_IDS:
            assert envs.preset(env_id, method)["lr"] in (3e-3, 1e-3, 3e-4, 1e-4, 3e-5), (method, env_id)
    assert "lr" not in envs.preset("GridWorld") and "lr" not in envs.preset("GridWorld", "my_copy_of_rnn")
