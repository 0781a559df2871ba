"""Exact save/restore of every env's state (`MetaVecEnv.state_dict` / `load_state_dict`) for kill-and-resume.

An env A is stepped, saved, round-tripped through `torch.save` / `torch.load(weights_only=True)` and loaded into an
env B made with another seed (never reset, or reset as the training scripts do before loading); from then on both
must return bitwise the same step and (seedless) reset results.
Meta-World cases are few and short: building an env costs ~0.25 s, ML10's task list ~12 s (once per process).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs

SEED_A, SEED_B = 3, 11
MUJOCO_IDS = ("CheetahDir", "CheetahVel", "AntDir", "Walker")
# (steps before the save, steps after it). Grid-World: 15-step inner episodes, 4 a task; MC-LS: its 200-step
# timeout ends the first inner episode before the save, the meta-episode ends after it; Cheetah's 200-step
# episodes (one a task) end after the save; Meta-World (500-step episodes) is kept short for time.
STEPS = {"GridWorld": (70, 70), "GridWorldShow": (70, 70), "GridWorldDense": (70, 70), "MC-LS": (210, 250)}
STEPS |= dict.fromkeys(MUJOCO_IDS, (190, 30)) | dict.fromkeys(envs.METAWORLD_IDS, (10, 10))
# ids whose compared steps certainly contain an inner-episode end (no early termination shifts it)
CROSSES_INNER_END = ("GridWorld", "GridWorldShow", "GridWorldDense", "MC-LS", "CheetahDir", "CheetahVel")
NUM_ENVS = {"ML10": 1}  # one sub-env, but several classes built (see test_restore_is_exact)
# (id, whether B is reset before the load, as the training scripts do: `reset(seed=...)`, then load on --resume).
# Both for the cheap ids; Meta-World alternates, ML10 with B reset so that B holds classes A never built.
CASES = [(i, r) for i in envs.ENV_IDS if i not in envs.METAWORLD_IDS for r in (False, True)]
CASES += [("ML1-reach", False), ("ML1-push", True), ("ML1-pick-place", False), ("ML10", True)]
ALLOWED = (torch.Tensor, int, float, bool, str, type(None))


def actions(vec, rng):
    space = vec.single_action_space
    if isinstance(space, gym.spaces.Discrete):
        return rng.integers(0, space.n, vec.num_envs)
    return rng.uniform(-1.0, 1.0, vec.action_space.shape)


def round_trip(state, path):
    torch.save(state, path)
    return torch.load(path, weights_only=True)


def assert_plain(value):
    """Only tensors, Python scalars and strings, None, and dicts/lists/tuples of those (no numpy objects)."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, int | str), type(k)
            assert_plain(v)
    elif isinstance(value, list | tuple):
        for v in value:
            assert_plain(v)
    else:
        assert isinstance(value, ALLOWED), type(value)


def same_state(x, y) -> bool:
    if isinstance(x, dict):
        return isinstance(y, dict) and x.keys() == y.keys() and all(same_state(x[k], y[k]) for k in x)
    if isinstance(x, list | tuple):
        return type(x) is type(y) and len(x) == len(y) and all(same_state(u, v) for u, v in zip(x, y, strict=True))
    if isinstance(x, torch.Tensor):
        return isinstance(y, torch.Tensor) and x.dtype == y.dtype and torch.equal(x, y)
    return type(x) is type(y) and x == y


def assert_same_output(a, b):
    """Bitwise equality of two step (or reset) results, info arrays included."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, dict):
            assert x.keys() == y.keys()
            for k in x:
                assert np.asarray(x[k]).dtype == np.asarray(y[k]).dtype, k
                assert np.array_equal(x[k], y[k]), k
        else:
            assert x.dtype == y.dtype and np.array_equal(x, y)


def model_fields_differing(m1, m2) -> list[str]:
    return [
        f
        for f in dir(m1)
        if not f.startswith("_")
        and isinstance(getattr(m1, f, None), np.ndarray)
        and not np.array_equal(getattr(m1, f), getattr(m2, f), equal_nan=True)
    ]


def live_models(vec):
    """(key, MjModel) of every simulator the env holds."""
    task_env = vec.env
    if hasattr(task_env, "models"):
        return {i: m for i, m in enumerate(task_env.models)}
    if hasattr(task_env, "_envs"):
        return {(i, c): env.model for i, per_class in enumerate(task_env._envs) for c, env in per_class.items()}
    return {}


def run(vec, rng, steps, out=None):
    crossed = False
    for _ in range(steps):
        result = vec.step(actions(vec, rng))
        crossed |= bool(result[4]["inner_done"].any())
        if out is not None:
            out.append(result)
    return crossed


@pytest.mark.parametrize("env_id, reset_b", CASES)
def test_restore_is_exact(env_id, reset_b, tmp_path):
    if env_id in envs.METAWORLD_IDS:
        pytest.importorskip("metaworld")
    if env_id in MUJOCO_IDS:
        pytest.importorskip("mujoco")
    n, (before, after) = NUM_ENVS.get(env_id, 2), STEPS[env_id]
    resets = 3 if env_id == "ML10" else 1  # ML10: several classes built per sub-env, inactive ones saved too
    a = envs.make(env_id, n, seed=SEED_A)
    for _ in range(resets):
        a.reset()
    rng = np.random.default_rng(0)
    run(a, rng, before)
    saved = a.state_dict()
    state = round_trip(saved, tmp_path / "env.pt")
    assert_plain(state)
    assert same_state(state, saved)

    b = envs.make(env_id, n, seed=SEED_B)
    for _ in range(resets if reset_b else 0):
        b.reset(seed=SEED_B)
    assert not same_state(b.state_dict(), state)  # the load below has something to do
    b.load_state_dict(state)
    assert same_state(b.state_dict(), state)
    models_a, models_b = live_models(a), live_models(b)
    assert models_a.keys() == models_b.keys()
    for key, model in models_a.items():
        assert model_fields_differing(model, models_b[key]) == [], key

    out_a, out_b = [], []
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    crossed = run(a, rng_a, after, out_a)
    run(b, rng_b, after, out_b)
    for x, y in zip(out_a, out_b, strict=True):
        assert_same_output(x, y)
    if env_id in CROSSES_INNER_END:
        assert crossed
    for _ in range(2):  # seedless resets continue the generators (evaluation envs), then a few steps
        assert_same_output(a.reset(), b.reset())
        assert_same_output(a.step(actions(a, rng_a)), b.step(actions(b, rng_b)))
    a.close()
    b.close()


@pytest.mark.parametrize("env_id", ["GridWorld", "MC-LS", "CheetahDir"])
def test_without_restore_runs_differ(env_id, tmp_path):
    """The other seed alone gives other results, so the equality above is the load's doing."""
    if env_id == "CheetahDir":
        pytest.importorskip("mujoco")
    a, b = envs.make(env_id, 4, seed=SEED_A), envs.make(env_id, 4, seed=SEED_B)
    a.reset()
    b.reset()
    rng = np.random.default_rng(0)
    run(a, rng, 20)
    state = round_trip(a.state_dict(), tmp_path / "env.pt")
    acts = [actions(a, rng) for _ in range(40)]
    out_a = [a.step(x) for x in acts]
    out_b = [b.step(x) for x in acts]
    assert any(
        not np.array_equal(x[0], y[0]) or not np.array_equal(x[1], y[1]) for x, y in zip(out_a, out_b, strict=True)
    )
    c = envs.make(env_id, 4, seed=SEED_B)
    c.load_state_dict(state)
    for x, y in zip(out_a, [c.step(x) for x in acts], strict=True):
        assert_same_output(x, y)


@pytest.mark.parametrize("env_id", ["AntDir", "Walker"])
def test_divergence_warning_is_restored(env_id, tmp_path):
    """A state MuJoCo auto-reset after divergence ends the inner episode on the next step (`_went_unstable` reads
    the warning counters), in the loaded env too."""
    mujoco = pytest.importorskip("mujoco")
    a = envs.make(env_id, 2, seed=SEED_A)
    a.reset()
    rng = np.random.default_rng(0)
    run(a, rng, 3)
    a.env.datas[0].warning[mujoco.mjtWarning.mjWARN_BADQACC].number = 1  # as MuJoCo counts an auto-reset
    b = envs.make(env_id, 2, seed=SEED_B)
    b.load_state_dict(round_trip(a.state_dict(), tmp_path / "env.pt"))
    act = actions(a, rng)
    out_a, out_b = a.step(act), b.step(act)
    assert out_a[4]["inner_done"][0] and not out_a[4]["inner_done"][1]
    assert_same_output(out_a, out_b)


def test_state_from_another_env_is_refused():
    state = envs.make("GridWorld", 2, seed=0).state_dict()
    with pytest.raises(ValueError, match=r"env_id 'GridWorld' \(this env: 'GridWorldShow'\)"):
        envs.make("GridWorldShow", 2, seed=0).load_state_dict(state)
    with pytest.raises(ValueError, match=r"num_envs 2 \(this env: 3\)") as err:
        envs.make("GridWorld", 3, seed=0).load_state_dict(state)
    assert "\n" not in str(err.value) and "env_id" not in str(err.value)
    with pytest.raises(ValueError, match=r"env_id 'GridWorld' \(this env: 'MC-LS'\), num_envs 2 \(this env: 1\)"):
        envs.make("MC-LS", 1, seed=0).load_state_dict(state)


def test_metaworld_state_from_another_split_is_refused():
    pytest.importorskip("metaworld")
    state = envs.make("ML1-reach", 1, seed=0).state_dict()
    with pytest.raises(ValueError, match=r"split 'train' \(this env: 'test'\)"):
        envs.make("ML1-reach", 1, seed=0, split="test").load_state_dict(state)


ML10_CLASSES = (
    "reach-v3 push-v3 pick-place-v3 door-open-v3 drawer-close-v3 button-press-topdown-v3 peg-insert-side-v3 "
    "window-open-v3 sweep-v3 basketball-v3 drawer-open-v3 door-close-v3 shelf-place-v3 sweep-into-v3 lever-pull-v3"
).split()


@pytest.mark.parametrize("name", ML10_CLASSES)
def test_every_ml10_class_restores_exactly(name, tmp_path):
    """Each class's own attributes (pick-place and the sweeps read live views of `data.xpos`, basketball's goal is
    one of `data.site_xpos` and its goal site compounds over resets) survive a save and load, and the model ends
    up bitwise equal."""
    pytest.importorskip("metaworld")
    from envs.metaworld_envs import _benchmark, _env_state, _load_env_state

    bench = _benchmark("ML10", None)
    classes = bench.train_classes | bench.test_classes
    tasks = [t for t in bench.train_tasks + bench.test_tasks if t.env_name == name]
    a = classes[name]()
    for task in tasks[:2]:  # a second task: reset on top of a used simulator
        a.set_task(task)
        a.reset()
    rng = np.random.default_rng(0)

    def same_steps(steps):
        for _ in range(steps):
            action = rng.uniform(-1, 1, 4).astype(np.float32)
            (obs_a, r_a, _, t_a, info_a), (obs_b, r_b, _, t_b, info_b) = a.step(action), b.step(action)
            assert np.array_equal(obs_a, obs_b) and r_a == r_b and t_a == t_b and info_a == info_b

    for _ in range(5):
        a.step(rng.uniform(-1, 1, 4).astype(np.float32))
    state = round_trip(_env_state(a), tmp_path / "env.pt")
    b = classes[name]()
    _load_env_state(b, state)
    assert model_fields_differing(a.model, b.model) == []
    same_steps(10)
    for env in (a, b):  # the next meta-episode's task on the restored simulator
        env.set_task(tasks[2])
    assert np.array_equal(a.reset()[0], b.reset()[0])
    same_steps(5)
    assert model_fields_differing(a.model, b.model) == []
