"""MuJoCo meta-RL tasks (reference §4.2-§4.4): rewards, tasks, meta-episode structure, seeding, dt, rendering."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import benchmarks.aggregate
import envs
from benchmarks import baselines

mujoco = pytest.importorskip("mujoco")

SPACES = {"CheetahDir": (20, 6, 1), "CheetahVel": (20, 6, 1), "AntDir": (27, 8, 1), "Walker": (18, 6, 65)}


def set_state(task_env, i, qpos=None, qvel=None):
    """Put sub-env i into a constructed state (as the reference's set_state: write, then mj_forward)."""
    data = task_env.datas[i]
    if qpos is not None:
        data.qpos[:] = qpos
    if qvel is not None:
        data.qvel[:] = qvel
    mujoco.mj_forward(task_env.models[i], data)


def hold_upright(task_env):
    """Keep every walker at its initial pose so that no inner episode ends by a fall."""
    for i in range(task_env.num_envs):
        set_state(task_env, i, task_env.init_qpos, np.zeros(task_env.nv))


def test_import_envs_does_not_import_mujoco():
    code = "import sys, envs; assert 'mujoco' not in sys.modules and 'gymnasium.envs.mujoco' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


@pytest.mark.parametrize("env_id", list(SPACES))
def test_spaces_and_attributes(env_id):
    obs_dim, act_dim, task_dim = SPACES[env_id]
    vec = envs.make(env_id, 3, seed=0)
    obs, info = vec.reset()
    assert obs.shape == (3, obs_dim) and obs.dtype == np.float32
    assert vec.single_action_space.shape == (act_dim,)
    assert np.all(vec.single_action_space.low == -1) and np.all(vec.single_action_space.high == 1)
    assert vec.task_dim == task_dim and info["task"].shape == (3, task_dim) and info["task"].dtype == np.float32
    assert vec.max_episode_steps == 200
    assert vec.episodes_per_task == (2 if env_id == "Walker" else 1)
    vec.close()


def test_dt_and_integrator():
    walker = envs.make("Walker", 2, seed=0)
    walker.reset()
    for model in walker.env.models:
        assert model.opt.timestep == 0.004
        assert model.opt.integrator == mujoco.mjtIntegrator.mjINT_RK4
    assert walker.env.frame_skip == 4 and walker.env.dt == pytest.approx(0.016)
    cheetah = envs.make("CheetahDir", 2, seed=0)
    cheetah.reset()
    assert cheetah.env.frame_skip == 5 and cheetah.env.dt == pytest.approx(0.05)
    assert cheetah.env.models[0].opt.timestep == 0.01
    ant = envs.make("AntDir", 2, seed=0)
    ant.reset()
    assert ant.env.dt == pytest.approx(0.05) and ant.env.models[0].opt.integrator == mujoco.mjtIntegrator.mjINT_RK4
    # the simulated time really advances by dt per env step
    for vec, dt in ((walker, 0.016), (cheetah, 0.05), (ant, 0.05)):
        vec.step(np.zeros(vec.action_space.shape))
        assert vec.env.datas[0].time == pytest.approx(dt)


# ---------------------------------------------------------------- rewards for constructed states and actions


@pytest.mark.parametrize("env_id", ["CheetahDir", "CheetahVel"])
def test_cheetah_reward_and_obs(env_id):
    vec = envs.make(env_id, 2, seed=0)
    vec.reset()
    te = vec.env
    te.tasks[:, 0] = [1.0, -1.0] if env_id == "CheetahDir" else [0.5, 2.5]
    rng = np.random.default_rng(0)
    for i in range(2):
        set_state(
            te, i, te.init_qpos + rng.uniform(-0.2, 0.2, te.nq), rng.normal(0, 1, te.nv) + np.r_[2.0, np.zeros(8)]
        )
    x_before = np.array([d.qpos[0] for d in te.datas])
    actions = np.array([[2.0, -1.5, 0.3, 0.0, 1.2, -0.7], [0.1, 0.2, -3.0, 0.5, 0.0, 1.0]])  # partly out of range
    obs, rewards, term, trunc, info = vec.step(actions)
    x_after = np.array([d.qpos[0] for d in te.datas])
    velocity = (x_after - x_before) / 0.05
    ctrl = 0.05 * np.square(actions).sum(1)  # unclipped (reference §1.7)
    forward = [1.0, -1.0] * velocity if env_id == "CheetahDir" else -np.abs(velocity - [0.5, 2.5])
    np.testing.assert_allclose(rewards, forward - ctrl, rtol=1e-5, atol=1e-5)
    assert np.all(velocity != 0)
    for i, data in enumerate(te.datas):
        expected = np.concatenate([data.qpos[1:], data.qvel, data.xpos[te.models[i].body("torso").id]])
        np.testing.assert_allclose(obs[i], expected, rtol=1e-6, atol=1e-6)
    assert not term.any() and not trunc.any()


def test_cheetah_control_is_clamped_but_cost_is_not():
    vec = envs.make("CheetahDir", 2, seed=0)
    vec.reset()
    te = vec.env
    te.tasks[:, 0] = 1.0
    for i in range(2):
        set_state(te, i, te.init_qpos, np.zeros(te.nv))
    obs, rewards, *_ = vec.step(np.array([np.full(6, 2.0), np.full(6, 1.0)]))
    np.testing.assert_array_equal(obs[0], obs[1])  # MuJoCo clamps 2.0 to ctrlrange 1.0: same motion
    assert rewards[1] - rewards[0] == pytest.approx(0.05 * 6 * (4.0 - 1.0), rel=1e-5)


def test_ant_reward_and_obs():
    vec = envs.make("AntDir", 2, seed=0)
    vec.reset()
    te = vec.env
    te.tasks[:, 0] = [1.0, -1.0]
    for _ in range(30):  # let the ant land so that there are contact forces
        vec.step(np.zeros((2, 8)))
    for i in range(2):
        qvel = te.datas[i].qvel.copy()
        qvel[:2] = [1.5, -0.8]
        set_state(te, i, qvel=qvel)
    xy_before = np.array([d.xpos[te.torso, :2] for d in te.datas])
    actions = np.array([np.linspace(-2, 2, 8), np.linspace(0.5, -0.3, 8)])
    obs, rewards, term, trunc, info = vec.step(actions)
    xy_after = np.array([d.xpos[te.torso, :2] for d in te.datas])
    goal = np.array([1.0, -1.0])
    forward = (((xy_after - xy_before) / 0.05) * np.stack([np.cos(goal), np.sin(goal)], 1)).sum(1)
    contact = np.array([np.square(np.clip(d.cfrc_ext, -1, 1)).sum() for d in te.datas])
    assert contact.max() > 0  # the contact term is exercised
    expected = forward - 0.5 * np.square(actions).sum(1) - 0.5e-3 * contact + 1.0
    np.testing.assert_allclose(rewards, expected, rtol=1e-5, atol=1e-5)
    for i, data in enumerate(te.datas):
        np.testing.assert_allclose(obs[i], np.concatenate([data.qpos[2:], data.qvel]), rtol=1e-6, atol=1e-6)
    assert not term.any() and not trunc.any()


def test_walker_reward_and_obs():
    vec = envs.make("Walker", 2, seed=0)
    vec.reset()
    te = vec.env
    for i in range(2):
        qvel = np.zeros(te.nv)
        qvel[0], qvel[3], qvel[5] = 1.0, 60.0, -45.0  # joint speeds far beyond the ±10 observation clip
        set_state(te, i, te.init_qpos, qvel)
    x_before = np.array([d.qpos[0] for d in te.datas])
    actions = np.array([np.full(6, 1.5), np.linspace(-1, 1, 6)])
    obs, rewards, term, trunc, info = vec.step(actions)
    x_after = np.array([d.qpos[0] for d in te.datas])
    expected = (x_after - x_before) / 0.016 + 1.0 - 1e-3 * np.square(actions).sum(1)
    np.testing.assert_allclose(rewards, expected, rtol=1e-5, atol=1e-5)
    for i, data in enumerate(te.datas):
        np.testing.assert_allclose(obs[i, :8], data.qpos[1:], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(obs[i, 8:17], np.clip(data.qvel, -10, 10), rtol=1e-6, atol=1e-6)
        assert np.abs(data.qvel).max() > 10 and np.abs(obs[i, 8:17]).max() == 10.0
    assert np.all(obs[:, 17] == 0)  # done flag
    assert not term.any()


# ---------------------------------------------------------------- task distributions


@pytest.mark.parametrize("env_id", ["CheetahDir", "AntDir"])
def test_direction_tasks_are_balanced_signs(env_id):
    te = envs.make(env_id, 16, seed=3).env
    draws = []
    for _ in range(100):
        te.sample_tasks(np.arange(16))
        draws.append(te.tasks[:, 0].copy())
    draws = np.concatenate(draws)
    assert set(np.unique(draws)) == {-1.0, 1.0}
    assert abs(draws.mean()) < 0.1  # 1600 fair draws: standard error 0.025


def test_cheetah_vel_tasks_uniform_0_3_and_the_task_blind_ceiling():
    """Also aggregate's task-blind ceiling, −150: a policy blind to the target runs at speeds independent of it, so
    each step costs at least min_v E|v − target|, the mean absolute deviation from the median, 0.75 over U[0, 3]."""
    te = envs.make("CheetahVel", 16, seed=3).env
    draws = []
    for _ in range(100):
        te.sample_tasks(np.arange(16))
        draws.append(te.tasks[:, 0].copy())
    draws = np.concatenate(draws)
    assert draws.min() >= 0.0 and draws.max() <= 3.0
    assert draws.min() < 0.1 and draws.max() > 2.9
    assert draws.mean() == pytest.approx(1.5, abs=0.1)  # standard error 0.022
    assert len(np.unique(draws)) == draws.size
    speeds = np.linspace(0, 3, 301)
    loss = np.abs(speeds[:, None] - draws[None]).mean(1)  # standard error ~0.011 over 1600 draws
    assert speeds[loss.argmin()] == pytest.approx(1.5, abs=0.15) and loss.min() == pytest.approx(0.75, abs=0.05)
    lines = {name: level for level, name in benchmarks.aggregate.REFERENCE_LINES["CheetahVel"]}
    assert lines == {
        "upper bound: at the target speed on every step": 0.0,
        "task-blind ceiling: no policy that ignores the target earns more": -200 * 0.75,
    }


def test_standing_still_earns_minus_200_times_the_target_on_cheetah_vel_and_the_survival_bonus_on_ant_dir():
    """Aggregate's "standing still" reference (baselines.py --policy still): no torque leaves the cheetah still
    and the ant upright, so on Cheetah-Vel each of the 200 steps pays −target (no control cost), on Ant-Dir +1 (the
    survival bonus) and no fall ends an episode early; a policy at the target speed on Cheetah-Vel earns 0."""
    vec = envs.make("CheetahVel", 16, seed=0)
    _, info = vec.reset()
    target, total = info["task"][:, 0].copy(), np.zeros(16)
    for _ in range(200):
        _, reward, _, _, info = vec.step(np.zeros((16, 6), np.float32))
        total += reward
    np.testing.assert_allclose(info["meta_episode_return"], total, atol=1e-4)  # the meta-episode ended here
    np.testing.assert_allclose(total, -200 * target, atol=3)  # the reset's velocity noise moves it a little
    returns, _, _ = baselines.policy_returns("CheetahVel", 16, policy="still")  # seed 0, as aggregate
    np.testing.assert_allclose(returns, total, atol=1e-6)
    ant, _, _ = baselines.policy_returns("AntDir", 16, seed=1, policy="still")
    assert np.all(np.abs(ant - 200) < 12)  # a fall would end the episode, and its bonus, long before 200 steps
    with pytest.raises(ValueError, match="only for CheetahDir, CheetahVel, AntDir, Walker"):
        baselines.policy_returns("GridWorld", 4, policy="still")
    # aggregate's line, on the same 16 tasks (seed 0): the mean of the returns summed here, -200 x the mean target
    *known, line = benchmarks.aggregate.reference_lines("CheetahVel", 16)
    assert known == benchmarks.aggregate.REFERENCE_LINES["CheetahVel"]
    assert line == (pytest.approx(total.mean(), abs=0.006), "standing still (no torque)")  # rounded to 0.01
    assert line[0] == pytest.approx(-200 * target.mean(), abs=3)


def test_walker_tasks_scale_live_model_from_defaults():
    vec = envs.make("Walker", 4, seed=0)
    te = vec.env
    model = te.models[0]
    assert (model.nbody, model.nv, model.ngeom) == (8, 9, 8)
    default = te.default_vector
    assert default.size == 65 and np.count_nonzero(default == 0) == 7  # world mass+inertia (4), root damping (3)
    lo = np.r_[np.full(32, 1.5**-3), np.full(9, 1.3**-3), np.full(24, 1.5**-3)]
    hi = np.r_[np.full(32, 1.5**3), np.full(9, 1.3**3), np.full(24, 1.5**3)]
    ratios = []
    for _ in range(50):  # repeated resampling must not compound
        te.sample_tasks(np.arange(4))
        for i in range(4):
            task = te.tasks[i]
            assert task.shape == (65,) and task.dtype == np.float32
            nz = default != 0
            ratio = task[nz] / default[nz]
            assert np.all(ratio >= lo[nz] * (1 - 1e-6)) and np.all(ratio <= hi[nz] * (1 + 1e-6))
            assert np.all(task[~nz] == 0) and task[0] == 0 and np.all(task[8:11] == 0)
            m = te.models[i]
            np.testing.assert_allclose(m.body_mass, task[:8], rtol=1e-6)
            np.testing.assert_allclose(m.body_inertia, task[8:32].reshape(8, 3), rtol=1e-6)
            np.testing.assert_allclose(m.dof_damping, task[32:41], rtol=1e-6)
            np.testing.assert_allclose(m.geom_friction, task[41:65].reshape(8, 3), rtol=1e-6)
            ratios.append(np.log(ratio) / np.log(np.r_[np.full(32, 1.5), np.full(9, 1.3), np.full(24, 1.5)][nz]))
    u = np.concatenate(ratios)  # the exponents u ~ U(-3, 3)
    assert u.min() < -2.8 and u.max() > 2.8 and abs(u.mean()) < 0.1


# ---------------------------------------------------------------- meta-episode structure


@pytest.mark.parametrize("env_id", ["CheetahDir", "CheetahVel", "AntDir"])
def test_single_episode_meta_episode_lasts_200(env_id):
    vec = envs.make(env_id, 2, seed=1)
    vec.reset(seed=1)
    rng = np.random.default_rng(0)
    act_dim = vec.single_action_space.shape[0]
    for t in range(1, 201):
        # zero actions keep the ant upright; the cheetah never terminates, so it gets random ones
        actions = np.zeros((2, act_dim)) if env_id == "AntDir" else rng.uniform(-1, 1, (2, act_dim))
        obs, rewards, term, trunc, info = vec.step(actions)
        assert not term.any()
        if t < 200:
            assert not trunc.any() and not info["inner_done"].any()
    assert trunc.all() and info["inner_time_limit"].all()
    assert np.all(info["meta_episode_length"] == 200)


def test_walker_two_episodes_flag_and_constant_physics():
    vec = envs.make("Walker", 2, seed=2)
    obs, info = vec.reset()
    te = vec.env
    task0 = info["task"].copy()
    masses = [m.body_mass.copy() for m in te.models]
    frictions = [m.geom_friction.copy() for m in te.models]
    for t in range(1, 401):
        hold_upright(te)
        if t == 200:
            for i in range(2):  # move the walker far away: the inner reset must bring it back
                qpos = te.init_qpos.copy()
                qpos[0] = 5.0
                set_state(te, i, qpos)
        obs, rewards, term, trunc, info = vec.step(np.zeros((2, 6)))
        assert not term.any()
        if t < 400:
            assert np.all(obs[:, -1] == (1.0 if t == 200 else 0.0))
            assert np.all(info["inner_done"] == (t == 200)) and not trunc.any()
            np.testing.assert_array_equal(info["task"], task0)
            for i, m in enumerate(te.models):
                np.testing.assert_array_equal(m.body_mass, masses[i])
                np.testing.assert_array_equal(m.geom_friction, frictions[i])
        if t == 200:
            assert info["inner_time_limit"].all()
            assert np.all(np.abs(np.array([d.qpos[0] for d in te.datas])) <= 0.005)  # state reset, same task
    assert trunc.all() and info["inner_time_limit"].all()
    assert np.all(info["meta_episode_length"] == 400) and info["episode_returns"].shape == (2, 2)
    assert np.all(info["final_obs"][:, -1] == 1.0) and np.all(obs[:, -1] == 0.0)
    assert not np.array_equal(info["task"], task0)  # new meta-episode, new physics
    for i, m in enumerate(te.models):
        assert not np.array_equal(m.body_mass, masses[i])
        np.testing.assert_allclose(m.body_mass, info["task"][i, :8], rtol=1e-6)


def test_ant_fall_ends_meta_episode_early():
    vec = envs.make("AntDir", 2, seed=0)
    vec.reset()
    te = vec.env
    for _ in range(3):
        vec.step(np.zeros((2, 8)))
    qpos = te.datas[0].qpos.copy()
    qpos[2] = 2.0  # torso above the healthy range [0.2, 1.0]
    set_state(te, 0, qpos)
    obs, rewards, term, trunc, info = vec.step(np.zeros((2, 8)))
    np.testing.assert_array_equal(term, [True, False])
    assert not trunc.any()
    np.testing.assert_array_equal(info["inner_done"], [True, False])
    np.testing.assert_array_equal(info["inner_time_limit"], [False, False])
    assert info["meta_episode_length"][0] == 4
    assert info["final_obs"][0, 0] > 1.0  # the terminal observation shows the torso z
    assert 0.6 < obs[0, 0] < 0.9  # the returned observation starts the next meta-episode (z 0.75 ± 0.1)


@pytest.mark.parametrize("env_id", ["AntDir", "Walker"])
def test_diverged_state_terminates(env_id, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MuJoCo appends its instability warning to ./MUJOCO_LOG.TXT
    vec = envs.make(env_id, 2, seed=0)
    vec.reset()
    te = vec.env
    qvel = te.datas[0].qvel.copy()
    qvel[0] = np.nan  # MuJoCo resets a non-finite state itself; the env must still end the episode
    te.datas[0].qvel[:] = qvel
    obs, rewards, term, trunc, info = vec.step(np.zeros(vec.action_space.shape))
    np.testing.assert_array_equal(info["inner_done"], [True, False])
    assert not info["inner_time_limit"].any()
    assert np.isfinite(obs).all() and np.isfinite(rewards).all()
    obs, rewards, term, trunc, info = vec.step(np.zeros(vec.action_space.shape))
    assert not info["inner_done"][0]  # the next inner episode starts clean


def test_walker_falls_end_inner_episodes():
    vec = envs.make("Walker", 2, seed=0)
    vec.reset()
    te = vec.env
    for _ in range(5):
        hold_upright(te)
        vec.step(np.zeros((2, 6)))
    qpos = te.init_qpos.copy()
    qpos[2] = 1.3  # torso angle beyond ±1
    set_state(te, 0, qpos, np.zeros(te.nv))
    set_state(te, 1, te.init_qpos, np.zeros(te.nv))
    obs, rewards, term, trunc, info = vec.step(np.zeros((2, 6)))
    np.testing.assert_array_equal(info["inner_done"], [True, False])
    assert not info["inner_time_limit"].any() and not term.any() and not trunc.any()  # episode 1 of 2
    np.testing.assert_array_equal(obs[:, -1], [1.0, 0.0])
    qpos = te.init_qpos.copy()
    qpos[1] = 0.5  # height below 0.8, in the second inner episode
    set_state(te, 0, qpos, np.zeros(te.nv))
    set_state(te, 1, te.init_qpos, np.zeros(te.nv))
    obs, rewards, term, trunc, info = vec.step(np.zeros((2, 6)))
    np.testing.assert_array_equal(term, [True, False])
    assert not trunc.any() and not info["inner_time_limit"].any()
    assert info["meta_episode_length"][0] == 7 and np.all(info["episode_returns"][0] != 0)


# ---------------------------------------------------------------- seeding and independence


@pytest.mark.parametrize("env_id", list(SPACES))
def test_seeded_reproducibility(env_id):
    def run(seed):
        vec = envs.make(env_id, 3, seed=seed)
        obs, info = vec.reset()
        rng = np.random.default_rng(123)
        out = [obs, info["task"]]
        for _ in range(25):
            obs, rewards, *_ = vec.step(rng.uniform(-1, 1, vec.action_space.shape))
            out += [obs, rewards]
        vec.close()
        return out

    a, b, c = run(7), run(7), run(8)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])  # reset noise differs
    assert not all(np.array_equal(x, y) for x, y in zip(a[2::2], c[2::2], strict=True))


def test_tasks_independent_across_sub_envs():
    vel = envs.make("CheetahVel", 8, seed=4)
    _, info = vel.reset()
    assert len(np.unique(info["task"][:, 0])) == 8
    walker = envs.make("Walker", 4, seed=4)
    _, info = walker.reset()
    assert len(np.unique(info["task"][:, 1])) == 4  # the torso masses differ
    # sub-env i depends on (seed, i) only, not on how many sub-envs run beside it
    alone = envs.make("Walker", 1, seed=4)
    obs_alone, info_alone = alone.reset()
    obs_many, info_many = envs.make("Walker", 4, seed=4).reset()
    np.testing.assert_array_equal(info_alone["task"][0], info_many["task"][0])
    np.testing.assert_array_equal(obs_alone[0], obs_many[0])


# ---------------------------------------------------------------- rendering


def test_render_rgb_frame():
    try:
        vec = envs.make("CheetahDir", 2, seed=0, render_mode="rgb_array")
    except RuntimeError as err:
        if "no working OpenGL backend" in str(err):
            pytest.skip(f"no OpenGL backend on this machine: {err}")
        raise
    try:
        vec.reset()
        vec.step(np.ones((2, 6)))
        frame = vec.env.render(0)
        assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
        assert frame.shape[0] > 16 and frame.shape[1] > 16
        assert frame.std() > 10  # not a blank image
        frames = vec.render()
        assert len(frames) == 2 and frames[1].shape == frame.shape
    finally:
        vec.close()
