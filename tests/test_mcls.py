"""MC-LS (reference §4.5): transitions, rewards, timeout, tasks, views, seeding."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs
from envs import mcls
from envs.mcls import C00, C01, C03, END, L1, L2, L3, R1, R2, R3, SIGNAL

# The optimal action in each cell, by room type (used only by the scripted agents; END is handled apart).
# fmt: off
POLICY = np.array([
    [2, 2],  # signal: right
    [1, 1],  # (0, 0): forward
    [0, 2],  # (0, 1): left around an iron block, right around a diamond block
    [1, 1], [1, 1], [1, 1], [1, 1],  # side corridors: forward
    [2, 2],  # (-1, 3): right, back to the centre
    [0, 0],  # (1, 3): left, back to the centre
    [1, 1],  # (0, 3): forward, into the next room
    [1, 1],  # end: replaced below
])
# fmt: on


def correct_end(task_env):
    """The action that wins at the end platform: the signal UP means right (2), DOWN left (0)."""
    return np.where(task_env.indicator == 0, 2, 0)


def scripted(task_env, end="correct", rng=None):
    """Perfect navigation reading the env's state; at the end the correct side or (end="random") a coin flip."""
    e = task_env
    room_type = e.room_types[np.arange(e.num_envs), e.room]
    actions = POLICY[e.cell, room_type]
    end_action = rng.choice([0, 2], size=e.num_envs) if end == "random" else correct_end(e)
    return np.where(e.cell == END, end_action, actions)


def run_meta_episodes(vec, policy, count):
    """Step until every sub-env finished `count` meta-episodes; return their infos (num_envs, count) arrays."""
    n = vec.num_envs
    returns = np.full((n, count), np.nan)
    episode_returns = np.full((n, count, 2), np.nan)
    lengths = np.zeros((n, count), np.int64)
    finished = np.zeros(n, np.int64)
    while finished.min() < count:
        _, _, _, _, info = vec.step(policy())
        for i in np.flatnonzero(info.get("_meta_episode", np.zeros(n, bool))):
            if finished[i] < count:
                k = finished[i]
                returns[i, k] = info["meta_episode_return"][i]
                episode_returns[i, k] = info["episode_returns"][i]
                lengths[i, k] = info["meta_episode_length"][i]
            finished[i] += 1
    return returns, episode_returns, lengths


def test_spaces_and_attributes():
    vec = envs.make("MC-LS", 3, seed=0)
    obs, info = vec.reset()
    assert obs.shape == (3, 301) and obs.dtype == np.float32
    assert vec.single_observation_space.shape == (301,)
    assert vec.single_action_space == gym.spaces.Discrete(3)
    assert (vec.task_dim, vec.episodes_per_task, vec.max_episode_steps, vec.meta_episode_horizon) == (1, 2, 201, 402)
    assert info["task"].shape == (3, 1) and set(np.unique(info["task"])) <= {2.0, 3.0}
    assert vec.env.shows_start_after_inner_end


def test_perfect_agent_13_7_per_episode_in_98_steps():
    vec = envs.make("MC-LS", 6, seed=1)
    vec.reset()
    for _ in range(3):  # three meta-episodes, every sub-env in lockstep
        for t in range(1, 197):
            obs, rewards, term, trunc, info = vec.step(scripted(vec.env))
            assert info["inner_done"].all() == (t in (98, 196)) and info["inner_done"].any() == (t in (98, 196))
            assert not info["inner_time_limit"].any()
            assert (term == (t == 196)).all() and not trunc.any()
            if t == 98:  # the end of episode 1: +4, and the next episode's signal shown with flag 1
                np.testing.assert_allclose(rewards, 4.0)
                np.testing.assert_allclose(vec._returns[:, 0], 13.7, atol=1e-9)
                assert (obs[:, 300] == 1).all()
                np.testing.assert_array_equal(obs[:, :300], mcls.OBS[SIGNAL, 0, vec.env.indicator])
        np.testing.assert_allclose(info["meta_episode_return"], 27.4, atol=1e-9)
        np.testing.assert_allclose(info["episode_returns"], 13.7, atol=1e-9)
        np.testing.assert_array_equal(info["meta_episode_length"], 196)


def test_random_end_choice_averages_10_2_per_episode():
    n, count = 256, 4
    vec = envs.make("MC-LS", n, seed=2)
    vec.reset()
    rng = np.random.default_rng(0)
    returns, episode_returns, lengths = run_meta_episodes(vec, lambda: scripted(vec.env, "random", rng), count)
    # Navigation is deterministic (9.7); the end gives +4 or -3 with probability 1/2, so each episode is 13.7 or
    # 6.7 (mean 10.2, std 3.5) and a meta-episode's std is 3.5·√2 ≈ 4.95. Over 1024 meta-episodes the standard
    # error of the mean is 0.155 per meta-episode (0.077 per episode): tolerances are 4 standard errors.
    ep = episode_returns.ravel()
    assert np.all(np.isclose(ep, 13.7) | np.isclose(ep, 6.7))
    assert abs(ep.mean() - 10.2) < 4 * 3.5 / np.sqrt(ep.size)
    assert abs(returns.mean() - 20.4) < 4 * 3.5 * np.sqrt(2) / np.sqrt(returns.size)
    assert (lengths == 196).all()


def test_guess_then_exploit_averages_23_9():
    """Guess the end in episode 1; in episode 2 take the side that won (or the other one if it lost)."""
    n, count = 256, 4
    vec = envs.make("MC-LS", n, seed=4)
    vec.reset()
    rng = np.random.default_rng(1)
    guess, won = np.zeros(n, np.int64), np.zeros(n, bool)

    def policy():
        first = vec._episode == 0
        at_end = vec.env.cell == END
        new_guess = rng.choice([0, 2], size=n)
        guess[first & at_end] = new_guess[first & at_end]
        won[first & at_end] = guess[first & at_end] == correct_end(vec.env)[first & at_end]
        exploit = np.where(won, guess, 2 - guess)  # the episode-1 outcome alone says which side is right
        return np.where(at_end, np.where(first, guess, exploit), scripted(vec.env))

    returns, episode_returns, _ = run_meta_episodes(vec, policy, count)
    np.testing.assert_allclose(episode_returns[:, :, 1], 13.7, atol=1e-9)  # episode 2 always ends right
    assert abs(returns.mean() - 23.9) < 4 * 3.5 / np.sqrt(returns.size)  # 10.2 + 13.7; std 3.5 from episode 1


def test_wrong_decision_blocked_moves_and_wrong_end():
    task_env, _ = mcls.make_task_env(2)
    task_env.seed(3)
    ids = np.arange(2)
    task_env.sample_tasks(ids)
    task_env.indicator[:] = [0, 1]  # sub-env 0 UP, 1 DOWN
    obs0 = task_env.reset_episodes(ids)
    task_env.room_types[:, 0] = 0  # room 0 shows iron: left is correct

    def step(a, reward, cell, term=False):
        obs, r, te, tr = task_env.step(np.array([a, a]))
        np.testing.assert_allclose(r, reward)
        assert (task_env.cell == cell).all() and (te == term).all() and not tr.any()
        return obs

    # blocked moves on the signal platform: 0 reward, no move, the same view, the step still counts
    assert (step(0, 0.0, SIGNAL) == obs0).all() and (step(1, 0.0, SIGNAL) == obs0).all()
    assert (task_env.t == 3).all()
    step(2, 0.1, C00)
    step(0, 0.0, C00), step(2, 0.0, C00)  # walls left and right of (0, 0)
    step(1, 0.1, C01)
    step(1, 0.0, C01)  # the column blocks forward
    obs = step(2, 0.0, R1)  # wrong side around iron: 0.0, yet the agent moves and the episode goes on
    np.testing.assert_array_equal(obs, mcls.OBS[R1, 0, [0, 1]])
    step(0, 0.0, R1), step(2, 0.0, R1)
    step(1, 0.1, R2)
    step(0, 0.0, R2), step(2, 0.0, R2)
    step(1, 0.1, R3)
    step(1, 0.0, R3), step(2, 0.0, R3)  # wall ahead and on the right
    step(0, 0.1, C03)
    step(0, 0.0, C03), step(2, 0.0, C03)
    step(1, 0.1, C00)
    assert (task_env.room == 1).all()
    task_env.room_types[:, 1] = 1  # room 1 shows diamond: right is correct; go left (wrong) round the column
    step(1, 0.1, C01), step(0, 0.0, L1), step(1, 0.1, L2), step(1, 0.1, L3)
    step(0, 0.0, L3), step(1, 0.0, L3)  # wall ahead and on the left
    step(2, 0.1, C03), step(1, 0.1, C00)
    task_env.room[:] = 15  # skip to the last room's (0, 3): forward leaves the maze onto the end platform
    task_env.cell[:] = C03
    obs = step(1, 0.1, END)
    np.testing.assert_array_equal(obs, mcls.OBS[END, 0, [0, 0]])
    step(1, 0.0, END)  # forward is blocked on the end platform
    obs, r, te, tr = task_env.step(np.array([0, 2]))  # UP goes left, DOWN goes right: both wrong
    np.testing.assert_allclose(r, -3.0)
    assert te.all() and not tr.any()


def test_wrong_end_through_vec_env_ends_the_episode():
    vec = envs.make("MC-LS", 4, seed=4)
    vec.reset()
    for _ in range(97):
        vec.step(scripted(vec.env))
    assert (vec.env.cell == END).all()
    wrong = np.where(vec.env.indicator == 0, 0, 2)
    obs, rewards, term, trunc, info = vec.step(wrong)
    np.testing.assert_allclose(rewards, -3.0)
    assert info["inner_done"].all() and not info["inner_time_limit"].any() and not (term | trunc).any()
    np.testing.assert_allclose(vec._returns[:, 0], 6.7, atol=1e-9)
    assert (obs[:, 300] == 1).all() and (vec.env.cell == SIGNAL).all()


def test_timeout_forward_only_200_calls_zero_return():
    vec = envs.make("MC-LS", 5, seed=5)
    obs, _ = vec.reset()
    forward = np.ones(5, np.int64)
    for t in range(1, 401):
        obs, rewards, term, trunc, info = vec.step(forward)
        assert (rewards == 0).all()
        assert (info["inner_done"] == (t in (200, 400))).all()
        assert (info["inner_time_limit"] == (t in (200, 400))).all()
        assert not term.any() and (trunc == (t == 400)).all()
    np.testing.assert_array_equal(info["meta_episode_length"], 400)
    np.testing.assert_array_equal(info["meta_episode_return"], 0.0)


def test_timeout_call_neither_moves_nor_rewards():
    task_env, _ = mcls.make_task_env(1)
    task_env.sample_tasks(np.arange(1))
    task_env.reset_episodes(np.arange(1))
    task_env.t[:] = 199
    _, r, te, tr = task_env.step(np.array([2]))  # call 199 still moves
    assert r[0] == pytest.approx(0.1) and task_env.cell[0] == C00 and not (te | tr).any()
    _, r, te, tr = task_env.step(np.array([1]))  # call 200 is the timeout
    assert r[0] == 0.0 and task_env.cell[0] == C00 and tr.all() and not te.any()


def test_indicator_constant_within_and_resampled_across_meta_episodes():
    vec = envs.make("MC-LS", 64, seed=6)
    _, info = vec.reset()
    tasks = [info["task"][:, 0].copy()]
    for _ in range(4):  # four meta-episodes of 196 steps
        for t in range(1, 197):
            _, _, _, _, info = vec.step(scripted(vec.env))
            if t < 196:  # constant through both inner episodes
                np.testing.assert_array_equal(info["task"][:, 0], tasks[-1])
            np.testing.assert_array_equal(info["task"][:, 0], np.where(vec.env.indicator == 0, 2.0, 3.0))
        tasks.append(info["task"][:, 0].copy())  # the next meta-episode's task, drawn at the autoreset
    tasks = np.stack(tasks)
    assert ((tasks[1:] != tasks[:-1]).mean(0) > 0).mean() > 0.8  # tasks do change across meta-episodes
    # Fraction UP over many fresh draws: binomial standard error 0.5/√4096 ≈ 0.008, tolerance 4 SE.
    big = envs.make("MC-LS", 4096, seed=7)
    _, info = big.reset()
    assert abs((info["task"] == 2.0).mean() - 0.5) < 4 * 0.5 / 64


def test_room_types_redrawn_each_episode():
    vec = envs.make("MC-LS", 32, seed=8)
    vec.reset()
    first = vec.env.room_types.copy()
    for _ in range(98):
        vec.step(scripted(vec.env))
    second = vec.env.room_types.copy()
    assert (first != second).any(1).all()  # every sub-env's rooms differ between its two episodes
    both = np.concatenate([first, second])
    assert abs(both.mean() - 0.5) < 4 * 0.5 / np.sqrt(both.size)


def test_views_distinct_and_indicator_only_on_signal():
    images = mcls.IMAGES.reshape(len(mcls.IMAGES), -1)
    assert len(np.unique(images, axis=0)) == len(images) == 13
    obs = mcls.OBS
    assert obs.min() >= -1.0 and obs.max() <= 1.0 and obs.dtype == np.float32
    assert not np.array_equal(obs[SIGNAL, 0, 0], obs[SIGNAL, 0, 1])  # green vs red
    assert not np.array_equal(obs[C01, 0, 0], obs[C01, 1, 0])  # iron vs diamond
    for cell in range(mcls.NUM_CELLS):
        if cell != SIGNAL:  # the indicator is visible only on the signal platform
            np.testing.assert_array_equal(obs[cell, :, 0], obs[cell, :, 1])
        if cell != C01:  # the room type only in front of the column
            np.testing.assert_array_equal(obs[cell, 0], obs[cell, 1])
    signals = obs[SIGNAL, 0]
    others = obs[1:].reshape(-1, 300)
    assert not (signals[:, None] == others[None]).all(-1).any()
    # side corridors must be told apart (at (±1, 3) the way back is on opposite sides)
    assert not np.array_equal(obs[L3, 0, 0], obs[R3, 0, 0])


def test_observations_in_range_and_signal_only_at_episode_starts():
    vec = envs.make("MC-LS", 8, seed=9)
    obs, _ = vec.reset()
    rng = np.random.default_rng(1)
    for _ in range(500):
        e = vec.env
        at_signal = e.cell == SIGNAL
        signal_view = mcls.OBS[SIGNAL, 0, e.indicator]
        assert ((obs[:, :300] == signal_view).all(1) == at_signal).all()
        assert obs.shape == (8, 301) and obs.min() >= -1 and obs.max() <= 1
        acts = np.where(rng.random(8) < 0.8, scripted(e, "random", rng), rng.integers(0, 3, 8))
        obs, _, _, _, info = vec.step(acts)
        assert (obs[:, 300] == info["inner_done"] & ~(info.get("_meta_episode", np.zeros(8, bool)))).all()


def test_seeded_reproducibility_and_independence():
    def rollout(n, seed, steps=300):
        vec = envs.make("MC-LS", n, seed=seed)
        obs, info = vec.reset()
        rng = np.random.default_rng(0)
        out = [obs, info["task"]]
        for _ in range(steps):
            acts = np.where(rng.random(n) < 0.9, scripted(vec.env, "random", rng), rng.integers(0, 3, n))
            obs, r, te, tr, info = vec.step(acts)
            out += [obs, r, te, tr, info["task"], vec.env.room_types.copy()]
        return out

    a, b, c = rollout(6, 10), rollout(6, 10), rollout(6, 11)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))
    # sub-env i draws the same tasks and rooms whether it runs alone or beside others
    e1, e8 = envs.make("MC-LS", 1, seed=12), envs.make("MC-LS", 8, seed=12)
    _, i1 = e1.reset()
    _, i8 = e8.reset()
    assert i1["task"][0] == i8["task"][0]
    np.testing.assert_array_equal(e1.env.room_types[0], e8.env.room_types[0])
    assert len(np.unique(e8.env.room_types, axis=0)) == 8  # and the sub-envs differ from each other


def test_render():
    vec = envs.make("MC-LS", 2, seed=13, render_mode="rgb_array")
    vec.reset()
    for _ in range(4):
        vec.step(scripted(vec.env))
    frames = vec.render()
    assert len(frames) == 2
    for f in frames:
        assert f.shape == (80, 160, 3) and f.dtype == np.uint8
    view = mcls.IMAGES[mcls.VIEW[vec.env.cell[0], vec.env.room_types[0, vec.env.room[0]], vec.env.indicator[0]]]
    np.testing.assert_array_equal(frames[0][:80:8, :80:8], view)


class ScalarMineMaze:
    """The reference's per-env logic in (phase, x, y) coordinates, written from reference §4.5 independently
    of the batched tables, for a cross-check."""

    VALID = {(-1, 1), (-1, 2), (-1, 3), (0, 0), (0, 1), (0, 3), (1, 1), (1, 2), (1, 3)}

    def __init__(self, up, room_types):
        self.up, self.room_types = up, room_types
        self.phase, self.x, self.y, self.room, self.step_num = 0, 0, 0, 0, 1

    def step(self, a):
        if self.step_num >= 200:
            return 0.0, False, True
        dx, dy = {0: (-1, 0), 1: (0, 1), 2: (1, 0)}[a]
        xy = (self.x, self.y)
        if self.phase == 0:
            dx, dy = max(dx, 0), 0
        elif self.phase == 1:
            if xy in ((0, 0), (0, 3), (1, 1), (-1, 1), (1, 2), (-1, 2)):
                dx = 0
            elif xy == (0, 1):
                dy = 0
            elif xy == (-1, 3):
                dx, dy = max(dx, 0), 0
            elif xy == (1, 3):
                dx, dy = min(dx, 0), 0
        else:
            dy = 0
        moved = dx != 0 or dy != 0
        reward = 0.1 if moved and self.phase != 2 and not (self.phase == 1 and xy == (0, 1)) else 0.0
        self.x, self.y = self.x + dx, self.y + dy
        done = False
        if self.phase == 0 and self.x >= 1:
            self.phase, self.x, self.y = 1, 0, 0
        elif self.phase == 1 and self.y >= 4:
            self.x, self.y, self.room = 0, 0, self.room + 1
            if self.room >= 16:
                self.phase = 2
        elif self.phase == 2 and self.x != 0:
            done = True
            reward += 4.0 if (self.x == 1) == self.up else -3.0
        if self.phase == 1 and moved and xy == (0, 1):
            reward += 0.1 if (self.x == 1) == (self.room_types[self.room] == 1) else 0.0
        if not done:
            assert self.phase != 1 or (self.x, self.y) in self.VALID
        self.step_num += 1
        return reward, done, False

    def cell(self):
        if self.phase == 0:
            return SIGNAL
        if self.phase == 2:
            return END
        return {v: k for k, v in mcls.CELL_XY.items()}[(self.x, self.y)]


def test_matches_scalar_reference_logic():
    n = 16
    task_env, _ = mcls.make_task_env(n)
    task_env.seed(14)
    ids = np.arange(n)
    rng = np.random.default_rng(2)
    ends = timeouts = 0
    for episode in range(6):
        task_env.sample_tasks(ids)
        task_env.reset_episodes(ids)
        refs = [ScalarMineMaze(task_env.indicator[i] == 0, task_env.room_types[i].copy()) for i in ids]
        live = np.ones(n, bool)
        noise = [0.05, 0.5, 1.0][episode % 3]  # mostly-scripted agents reach the end; random ones time out
        while live.any():
            acts = np.where(rng.random(n) < noise, rng.integers(0, 3, n), scripted(task_env, "random", rng))
            _, r, te, tr = task_env.step(acts)
            for i in np.flatnonzero(live):
                rr, rte, rtr = refs[i].step(int(acts[i]))
                assert r[i] == pytest.approx(rr, abs=1e-12) and te[i] == rte and tr[i] == rtr
                if not (rte or rtr):
                    assert task_env.cell[i] == refs[i].cell()
                    assert refs[i].phase != 1 or task_env.room[i] == refs[i].room
                live[i] = not (rte or rtr)
                ends += rte
                timeouts += rtr
    assert ends > 16 and timeouts > 16  # both endings and the timeout were exercised
