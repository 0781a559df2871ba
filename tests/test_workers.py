"""Sub-environments stepped in worker processes (`envs.make(..., workers=N)`, envs/workers.py): the same
trajectories as in-process stepping on every family, state that resumes exactly, and clear errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

import envs
from tests.test_env_state import actions

NUM_ENVS, WORKERS = 3, 2  # uneven slices: sub-environments {0, 1} and {2}
# one id per family (MuJoCo twice: Walker's physics parameters and falls), and steps enough for inner- and
# meta-episode ends: Grid-World 15 x 4, MC-LS's 200-step timeout, MuJoCo's 200-step episodes, Meta-World's 500
STEPS = {"GridWorld": 70, "MC-LS": 420, "CheetahDir": 410, "Walker": 410, "ML1-reach": 1010}


def same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def _roundtrip(state) -> io.BytesIO:
    """`state` through torch.save, as a checkpoint holds it."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("env_id", sorted(STEPS))
def test_workers_step_exactly_as_in_process(env_id):
    """Every family: reset and every step (obs, rewards, terminated, truncated, task, successes) are bitwise the
    in-process env's, across inner- and meta-episode ends; a state saved mid-way, loaded into an env of another seed,
    continues identically; in-process and worker states do not mix."""
    n = 2 if env_id in envs.METAWORLD_IDS else NUM_ENVS  # one sub-environment per worker there: its steps are slow
    vecs = [envs.make(env_id, n, seed=7), envs.make(env_id, n, seed=7, workers=WORKERS)]
    rng = np.random.default_rng(0)
    try:
        assert np.array_equal(vecs[0].reset(seed=7)[0], vecs[1].reset(seed=7)[0])
        ends = {"inner": 0, "meta": 0}
        for t in range(STEPS[env_id]):
            if t == STEPS[env_id] // 2:  # the worker env's state, loaded into one of another seed, steps along
                vecs.append(envs.make(env_id, n, seed=99, workers=WORKERS))
                vecs[2].load_state_dict(torch.load(_roundtrip(vecs[1].state_dict()), weights_only=True))
            a = actions(vecs[0], rng)
            x, *others = [vec.step(a) for vec in vecs]
            for y in others:
                assert same(x[:4], y[:4]), (env_id, t)
                assert np.array_equal(x[4]["task"], y[4]["task"]) and same(x[4]["inner_done"], y[4]["inner_done"])
                if "episode_successes" in x[4]:
                    assert np.array_equal(x[4]["episode_successes"], y[4]["episode_successes"])
            ends["inner"] += int(x[4]["inner_done"].sum())
            ends["meta"] += int((x[2] | x[3]).sum())
        assert ends["inner"] > 0 and ends["meta"] > 0, ends  # the comparison covered both kinds of end
        with pytest.raises(ValueError, match="saved with 2 env workers; this env has 1"):
            envs.make(env_id, n, seed=7, workers=1).load_state_dict(vecs[1].state_dict())
        with pytest.raises(ValueError, match="saved in-process"):
            vecs[1].load_state_dict(vecs[0].state_dict())
    finally:
        for vec in vecs:
            vec.close()


def test_workers_bad_counts_and_worker_errors():
    for workers in (-1, NUM_ENVS + 1, 1.5):
        with pytest.raises(ValueError, match=r"env workers must be 0 \(in-process\) or 1 to num_envs \(3\)"):
            envs.make("GridWorld", NUM_ENVS, workers=workers)
    vec = envs.make("GridWorld", NUM_ENVS, seed=0, workers=WORKERS)
    try:
        vec.reset(seed=0)
        with pytest.raises(RuntimeError, match="env worker 0 failed"):  # a bad action fails in its worker, and says so
            vec.step(np.full(NUM_ENVS, 99))
    finally:
        vec.close()
