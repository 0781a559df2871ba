"""Meta-World ML1 / ML10 meta-episode envs (envs/metaworld_envs.py, reference §3.7, §4.6).

Building ML10's task list costs ~12 s (metaworld resets each of its 15 classes 50 times); it is built once per
process and shared by the ML10 tests.
"""

import sys

import numpy as np
import pytest

pytest.importorskip("metaworld", reason="Meta-World envs need the optional package: pip install metaworld==3.1.1")

from metaworld.env_dict import ML10_V3  # noqa: E402

import envs  # noqa: E402
from envs.metaworld_envs import make_task_env  # noqa: E402

ML10_TRAIN = {
    "reach-v3",
    "push-v3",
    "pick-place-v3",
    "door-open-v3",
    "drawer-close-v3",
    "button-press-topdown-v3",
    "peg-insert-side-v3",
    "window-open-v3",
    "sweep-v3",
    "basketball-v3",
}
ML10_TEST = {"drawer-open-v3", "door-close-v3", "shelf-place-v3", "sweep-into-v3", "lever-pull-v3"}


def reach_action(vec):
    """Scripted reach controller: move the gripper centre straight to each sub-env's goal."""
    actions = np.zeros((vec.num_envs, 4), np.float32)
    for i, env in enumerate(vec.env.active):
        actions[i, :3] = np.clip((env._target_pos - env.tcp_center) * 50.0, -1.0, 1.0)
    return actions


def goals(vec):
    return np.array([env._target_pos for env in vec.env.active], np.float32)


def test_spaces_and_ml1_task_is_the_goal():
    vec = envs.make("ML1-reach", 3, seed=0)
    obs, info = vec.reset()
    assert vec.single_observation_space.shape == (40,)  # 39 + done flag (2 episodes per meta-episode)
    assert obs.shape == (3, 40) and obs.dtype == np.float32
    assert vec.single_action_space.shape == (4,)
    np.testing.assert_array_equal(vec.single_action_space.low, -1.0)
    np.testing.assert_array_equal(vec.single_action_space.high, 1.0)
    assert vec.episodes_per_task == 2 and vec.max_episode_steps == 500 and vec.meta_episode_horizon == 1000
    assert vec.task_dim == 3 and info["task"].shape == (3, 3) and info["task"].dtype == np.float32
    np.testing.assert_allclose(info["task"], goals(vec), atol=1e-6)
    np.testing.assert_array_equal(obs[:, 36:39], 0.0)  # ML benchmarks hide the goal
    np.testing.assert_array_equal(obs[:, 39], 0.0)
    assert len({tuple(g) for g in info["task"]}) == 3  # tasks differ across sub-envs
    vec.close()


def test_goal_changes_per_meta_episode_and_stays_within_it():
    vec = envs.make("ML1-reach", 2, seed=1)
    vec.env.success_ends_episode = True  # short meta-episodes: 2 successful inner episodes of ~35 steps
    _, info = vec.reset()
    tasks = [info["task"].copy()]
    for _ in range(3):  # 3 meta-episodes
        first = info["task"].copy()
        ended = np.zeros(2, bool)
        for _ in range(vec.meta_episode_horizon):  # by then each has ended, at the latest by the time limit
            _, _, term, trunc, info = vec.step(reach_action(vec))
            done = term | trunc
            # until its meta-episode ends a sub-env keeps its task, also across the inner-episode boundary
            keep = ~done & ~ended
            np.testing.assert_array_equal(info["task"][keep], first[keep])
            np.testing.assert_allclose(info["task"], goals(vec), atol=1e-6)
            ended |= done
            if ended.all():
                break
        assert ended.all()
        tasks.append(info["task"].copy())
    tasks = np.concatenate(tasks)
    assert len({tuple(g) for g in tasks}) == len(tasks)  # every meta-episode of every sub-env drew a new goal
    vec.close()


def test_success_is_per_step_and_episodes_run_to_the_time_limit():
    """Success is a flag of each step: an inner episode counts as a success if any of its steps was one, and success
    does not end it (it runs its 500 steps). The scripted reach (a controller converging on the goal in free space)
    succeeds in both episodes, so both cases are exercised."""
    vec = envs.make("ML1-reach", 1, seed=2)
    vec.reset()
    flags = []
    for t in range(1, 1001):
        obs, reward, term, trunc, info = vec.step(reach_action(vec))
        flags.append(vec.env.success[0])
        if flags[-1]:
            assert reward[0] == 10.0  # reach pays 10 within the success radius
        assert info["inner_done"][0] == (t % 500 == 0) and info["inner_time_limit"][0] == (t % 500 == 0)
    assert trunc[0] and not term[0] and info["meta_episode_length"][0] == 1000
    per_episode = np.reshape(flags, (2, 500))
    assert info["episode_successes"].tolist() == [per_episode.any(1).tolist()] == [[True, True]]
    assert not per_episode[:, 0].any()  # each episode's first step, near the start, is none: nothing carried over


def test_success_ends_the_inner_episode_in_the_references_convention():
    vec = envs.make("ML1-reach", 1, seed=2)
    vec.env.success_ends_episode = True
    vec.reset()
    ends = []
    for t in range(1, vec.meta_episode_horizon + 1):
        obs, reward, term, trunc, info = vec.step(reach_action(vec))
        assert info["inner_done"][0] == vec.env.success[0]  # ended by its first successful step, by nothing else
        if info["inner_done"][0]:
            ends.append(t)
            assert not info["inner_time_limit"][0] and reward[0] == 10.0  # a true termination, at the goal
            if len(ends) == 1:
                assert obs[0, 39] == 1.0 and not (term[0] or trunc[0])  # flag set, meta-episode goes on
            else:
                assert term[0] and not trunc[0]  # the second success ends the meta-episode
                assert info["meta_episode_length"][0] == t and info["episode_successes"].tolist() == [[True, True]]
                break
    assert len(ends) == 2


def test_time_limit_at_max_path_length():
    vec = envs.make("ML1-reach", 1, seed=3)
    vec.reset()
    zero = np.zeros((1, 4), np.float32)
    for t in range(1, 501):
        obs, _, term, trunc, info = vec.step(zero)
        if t < 500:
            assert not info["inner_done"][0]
    assert info["inner_done"][0] and info["inner_time_limit"][0]
    assert obs[0, 39] == 1.0 and not (term[0] or trunc[0])
    _, _, _, _, info = vec.step(zero)  # the next inner episode runs: the metaworld env was reset
    assert not info["inner_done"][0]
    vec.close()


def test_seeded_reproducibility():
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (30, 2, 4)).astype(np.float32)

    def run(seed, n=2):
        vec = envs.make("ML1-reach", n, seed=seed)
        obs, info = vec.reset()
        out = [obs, info["task"]]
        for a in actions[:, :n]:
            obs, reward, *_ = vec.step(a)
            out += [obs, reward]
        vec.close()
        return out

    a, b, c = run(5), run(5), run(6)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[1], c[1])
    # sub-env 0's task depends on (seed, index) only, not on num_envs
    np.testing.assert_array_equal(run(5, n=1)[1][0], a[1][0])


def test_reward_and_obs_are_metaworld_own():
    vec = envs.make("ML1-pick-place", 1, seed=4)
    obs, _ = vec.reset()
    te = vec.env
    c, g = te.class_ids[0], te.goal_ids[0]
    raw = te._classes[c]()  # a fresh metaworld env with the same task
    raw.set_task(te._class_tasks[c][g])
    raw_obs, _ = raw.reset()
    np.testing.assert_allclose(obs[0, :39], raw_obs.astype(np.float32))
    rng = np.random.default_rng(1)
    for _ in range(40):
        a = rng.uniform(-1, 1, (1, 4)).astype(np.float32)
        obs, reward, *_ = vec.step(a)
        raw_obs, raw_reward, _, _, _ = raw.step(a[0])
        np.testing.assert_allclose(obs[0, :39], raw_obs.astype(np.float32))
        assert reward[0] == np.float32(raw_reward)
    raw.close()
    vec.close()


def test_ml10_task_layout_and_disjoint_splits():
    vec = envs.make("ML10", 3, seed=0)
    _, info = vec.reset()
    te = vec.env
    assert vec.task_dim == 13 and info["task"].shape == (3, 13)
    assert set(te.class_names) == ML10_TRAIN and len(te.class_names) == 10
    seen = set()
    for _ in range(4):  # a few meta-episodes' draws, straight through the TaskEnv
        task = te.tasks
        np.testing.assert_array_equal(task[:, :10].sum(1), 1.0)
        np.testing.assert_array_equal(task[:, :10].argmax(1), te.class_ids)
        for i, env in enumerate(te.active):
            name = te.class_names[te.class_ids[i]]
            assert type(env) is ML10_V3["train"][name]  # the one-hot names the class whose env is running
            assert all(t.env_name == name for t in te._class_tasks[te.class_ids[i]])
            np.testing.assert_allclose(task[i, 10:], env._target_pos, atol=1e-6)
            seen.add(name)
        te.sample_tasks(np.arange(3))
        te.reset_episodes(np.arange(3))
    assert len(seen) > 1
    obs, *_ = vec.step(np.zeros((3, 4), np.float32))
    assert obs.shape == (3, 40)
    vec.close()

    test = envs.make("ML10", 2, seed=0, split="test")
    _, info = test.reset()
    assert set(test.env.class_names) == ML10_TEST and not ML10_TEST & ML10_TRAIN
    assert test.task_dim == 13
    np.testing.assert_array_equal(info["task"][:, :10], 0.0)  # held-out classes have no training slot
    np.testing.assert_allclose(info["task"][:, 10:], goals(test), atol=1e-6)
    assert {test.env.class_names[c] for c in test.env.class_ids} <= ML10_TEST
    test.close()


def test_ml1_test_split_uses_other_goals():
    train, _ = make_task_env(1, benchmark="ML1", task_name="reach-v3", split="train")
    test, _ = make_task_env(1, benchmark="ML1", task_name="reach-v3", split="test")
    a = {t.data for t in train._class_tasks[0]}
    b = {t.data for t in test._class_tasks[0]}
    assert len(a) == len(b) == 50 and not a & b


def test_bad_arguments_name_choices():
    with pytest.raises(ValueError, match="ML1, ML10"):
        make_task_env(1, benchmark="ML45")
    with pytest.raises(ValueError, match="reach-v3"):
        make_task_env(1, benchmark="ML1", task_name="fly-v3")


def test_missing_metaworld_gives_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "metaworld", None)  # `import metaworld` now fails
    with pytest.raises(ImportError) as err:
        envs.make("ML1-reach", 1, seed=0)
    msg = str(err.value)
    assert "pip install metaworld" in msg and "\n" not in msg
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_render_rgb_array():
    try:
        vec = envs.make("ML1-reach", 1, seed=0, render_mode="rgb_array")
    except RuntimeError as err:  # envs.rendering found no OpenGL backend; any other failure fails the test
        if "no working OpenGL backend" in str(err):
            pytest.skip(f"no OpenGL backend on this machine: {err}")
        raise
    vec.reset()
    (img,) = vec.render()
    assert img.shape == (480, 480, 3) and img.dtype == np.uint8 and img.std() > 0
    vec.close()


def test_success_ends_episode_applies_to_the_metaworld_ids_only():
    """envs.make's switch reaches the Meta-World env (default off: full-length episodes, the authors' ML1) and is
    refused, in one line naming the ids it applies to, for every other id."""
    assert envs.METAWORLD_IDS == ("ML1-reach", "ML1-push", "ML1-pick-place", "ML10")
    for env_id in set(envs.ENV_IDS) - set(envs.METAWORLD_IDS):
        with pytest.raises(ValueError, match="Meta-World ids only") as err:
            envs.make(env_id, 1, seed=0, success_ends_episode=True)
        assert "ML10" in str(err.value) and "\n" not in str(err.value)
    for env_id in ("ML1-reach", "ML10"):  # the task lists other tests build too
        for flag in (False, True):
            vec = envs.make(env_id, 1, seed=0, success_ends_episode=flag)
            assert vec.env.success_ends_episode is flag
            vec.close()
    assert envs.make("ML1-reach", 1, seed=0).env.success_ends_episode is False


def force_success_from_step(vec, first_step):
    """Every active metaworld env reports success from its `first_step`-th step of an inner episode on, whatever
    the class and the trajectory (metaworld's own evaluate_state runs, its success is overridden)."""
    for env in vec.env.active:
        evaluate = env.evaluate_state

        def forced(obs, action, env=env, evaluate=evaluate):
            reward, info = evaluate(obs, action)
            return reward, {**info, "success": float(env.curr_path_length >= first_step)}

        env.evaluate_state = forced


@pytest.mark.parametrize("flag", [True, False])
def test_ml10_success_ends_the_episode_only_when_asked(flag):
    """The authors' ML10 termination (success is done): with the switch an inner episode ends at its first
    successful step, a true termination; without it, it runs to the 500-step time limit and counts as a success."""
    vec = envs.make("ML10", 2, seed=4, success_ends_episode=flag)
    vec.reset()
    force_success_from_step(vec, 3)
    zero = np.zeros((2, 4), np.float32)
    ends = []
    for t in range(1, 1001):
        _, _, term, trunc, info = vec.step(zero)
        if info["inner_done"][0]:
            ends.append(t)
            assert info["inner_done"].all() and info["inner_time_limit"].all() == (not flag)
        if (term | trunc).any():
            break
    assert ends == ([3, 6] if flag else [500, 1000])
    assert term.all() == flag and trunc.all() == (not flag)
    assert info["meta_episode_length"].tolist() == [ends[-1]] * 2
    assert info["episode_successes"].tolist() == [[True, True]] * 2
    vec.close()
