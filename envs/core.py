"""Meta-episode vector environment shared by every environment family.

A family implements `TaskEnv`: a *batched* set of `num_envs` inner MDPs, each with its own task and its own
`numpy.random.Generator`. `MetaVecEnv` turns it into a `gymnasium.vector.VectorEnv` whose episode is a whole
meta-episode (reference §1.2): one task for `episodes_per_task` inner episodes, a done-flag observation
dimension when there is more than one inner episode, and same-step autoreset with a new task.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space


def make_rngs(seed: int | None, num_envs: int, first_index: int = 0) -> list[np.random.Generator]:
    """One independent generator per sub-environment, derived from (seed, index) only: indices first_index, ...,
    first_index + num_envs - 1.

    `SeedSequence(seed, spawn_key=(i,))` does not depend on `num_envs`, so sub-environment i draws the same tasks
    whether it runs alone, beside 15 others, or in a worker process that holds a slice of them (envs/workers.py).
    """
    return [
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
        for i in range(first_index, first_index + num_envs)
    ]


def _map(value: Any, leaf) -> Any:
    """`leaf` applied to every item of nested dicts, lists and tuples, which keep their types."""
    if isinstance(value, dict):
        return {k: _map(v, leaf) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_map(v, leaf) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return leaf(value)


def to_state(value: Any) -> Any:
    """`value` in types `torch.load(weights_only=True)` accepts: numpy arrays and scalars become tensor copies (a
    scalar a 0-d tensor; a copy, since the state is a snapshot, not a view of the live env), the rest is kept."""
    import torch  # here, not at the top: importing envs stays cheap

    return _map(value, lambda v: torch.from_numpy(np.array(v)) if isinstance(v, np.ndarray | np.generic) else v)


def from_state(value: Any) -> Any:
    """Inverse of `to_state`: tensors become numpy arrays of the same dtype (copies, so that loading a state twice
    never shares memory), 0-d ones numpy scalars."""
    import torch

    def leaf(v):
        if not isinstance(v, torch.Tensor):
            return v
        array = v.numpy().copy()
        return array[()] if array.ndim == 0 else array

    return _map(value, leaf)


def save_arrays(obj: Any, names: tuple[str, ...]) -> dict:
    return {name: to_state(getattr(obj, name)) for name in names}


def load_arrays(obj: Any, names: tuple[str, ...], state: dict) -> None:
    """Copy the saved arrays `names` into `obj`'s arrays in place (so views of them stay valid), checking layout."""
    for name in names:
        saved, array = from_state(state[name]), getattr(obj, name)
        if saved.shape != array.shape or saved.dtype != array.dtype:
            raise ValueError(f"saved {name} is {saved.dtype}{saved.shape}, this env's is {array.dtype}{array.shape}")
        array[...] = saved


class TaskEnv:
    """A batch of `num_envs` inner MDPs with per-sub-environment tasks. Subclasses fill in the abstract parts.

    Subclasses set `observation_space`, `action_space` (single, without the done flag), `task_dim`,
    `max_episode_steps`, and keep `self.tasks` (num_envs, task_dim) float32 current.
    """

    observation_space: gym.spaces.Box
    action_space: gym.spaces.Space
    task_dim: int
    max_episode_steps: int
    # gym-style envs show the terminal observation (flag 1) when an inner episode ends and hide the new start;
    # the reference's maze envs (MC-LS) show the new start observation instead (reference §1.2).
    shows_start_after_inner_end: bool = False
    # Meta-World: `step` also sets `self.success` (num_envs,) bool, true where this step solved the task
    reports_success: bool = False
    # numpy arrays that, with the generators, are the whole state (state_dict); families add theirs
    state_attrs: tuple[str, ...] = ("tasks",)
    # the global index of sub-environment 0: nonzero in a worker process that holds a slice (envs/workers.py)
    first_index: int = 0

    def __init__(self, num_envs: int):
        self.num_envs = num_envs
        self.rngs = make_rngs(None, num_envs)
        self.tasks: np.ndarray

    def seed(self, seed: int | None) -> None:
        self.rngs = make_rngs(seed, self.num_envs, self.first_index)

    def sample_tasks(self, ids: np.ndarray) -> None:
        """Draw a new task for each sub-environment in `ids` from its own generator."""
        raise NotImplementedError

    def reset_episodes(self, ids: np.ndarray) -> np.ndarray:
        """Start a new inner episode in each sub-environment of `ids`; return their observations."""
        raise NotImplementedError

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step every sub-environment: observations, rewards, terminated, truncated (per the env itself)."""
        raise NotImplementedError

    def render(self, index: int) -> np.ndarray:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """The generators' states and `state_attrs`; families with more state (simulators) extend it."""
        return {"rngs": [rng.bit_generator.state for rng in self.rngs], **save_arrays(self, self.state_attrs)}

    def load_state_dict(self, state: dict) -> None:
        for rng, saved in zip(self.rngs, state["rngs"], strict=True):
            rng.bit_generator.state = saved  # in place: whatever holds a generator (Meta-World's np_random) keeps it
        load_arrays(self, self.state_attrs, state)

    def close(self) -> None:
        pass


class MetaVecEnv(VectorEnv):
    """`TaskEnv` → vector env of meta-episodes (the envs/ contract: envs/__init__.py).

    `step` returns `terminated | truncated` true exactly where a meta-episode ended (the BAMDP done);
    `truncated` when its last inner episode hit a time limit. `info` always holds:

    - `task` (num_envs, task_dim): the task of the meta-episode the returned observation belongs to;
    - `inner_done`: an inner episode ended on this step (the last one of a meta-episode included);
    - `inner_time_limit`: that inner episode ended by its time limit, not a true termination;

    and, masked by `_meta_episode`, the finished meta-episodes' `meta_episode_return`, `meta_episode_length`,
    `episode_returns` (num_envs, episodes_per_task) and `final_obs` (their last observation); where the env
    reports success (`reports_success`: Meta-World), also `episode_successes` (num_envs, episodes_per_task).
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": ["rgb_array"]}
    state_attrs = ("_step", "_episode", "_length", "_returns", "_successes")

    def __init__(self, env: TaskEnv, episodes_per_task: int, env_id: str = "", render_mode: str | None = None):
        self.env = env
        self.env_id = env_id
        self.num_envs = env.num_envs
        self.episodes_per_task = episodes_per_task
        self.max_episode_steps = env.max_episode_steps
        self.meta_episode_horizon = episodes_per_task * env.max_episode_steps
        self.task_dim = env.task_dim
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "render_fps": getattr(env, "render_fps", 30)}
        self.with_flag = episodes_per_task > 1
        low, high = env.observation_space.low, env.observation_space.high
        if self.with_flag:  # reference §1.2: the done flag is appended when a task has several episodes
            low, high = np.append(low, 0.0), np.append(high, 1.0)
        self.single_observation_space = gym.spaces.Box(low.astype(np.float32), high.astype(np.float32))
        self.single_action_space = env.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        n = self.num_envs
        self._step = np.zeros(n, np.int64)  # steps into the current inner episode
        self._episode = np.zeros(n, np.int64)  # index of the current inner episode
        self._length = np.zeros(n, np.int64)  # steps into the meta-episode
        self._returns = np.zeros((n, episodes_per_task), np.float64)
        self._successes = np.zeros((n, episodes_per_task), bool)  # inner episodes that solved the task
        self.reports_success = env.reports_success
        self._ids = np.arange(n)

    def _with_flag(self, obs: np.ndarray, flag: np.ndarray) -> np.ndarray:
        obs = obs.astype(np.float32, copy=False)
        if not self.with_flag:
            return obs
        return np.concatenate([obs, flag.astype(np.float32)[:, None]], axis=1)

    def _start(self, ids: np.ndarray) -> np.ndarray:
        """New task and first inner episode for `ids`; counters reset. Returns raw (flagless) observations."""
        self.env.sample_tasks(ids)
        self._step[ids] = 0
        self._episode[ids] = 0
        self._length[ids] = 0
        self._returns[ids] = 0.0
        self._successes[ids] = False
        return self.env.reset_episodes(ids)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.env.seed(seed)
        obs = self._start(self._ids)
        return self._with_flag(obs, np.zeros(self.num_envs, bool)), {"task": self.env.tasks.copy()}

    def step(self, actions):
        actions = np.asarray(actions)
        obs, rewards, term, trunc = self.env.step(actions)
        obs = np.array(obs, dtype=np.float32)
        self._step += 1
        self._length += 1
        self._returns[self._ids, self._episode] += rewards
        rewards = np.asarray(rewards, dtype=np.float32)
        term = np.asarray(term, bool)
        if self.reports_success:  # an inner episode succeeds if any of its steps does (Meta-World's convention)
            self._successes[self._ids, self._episode] |= np.asarray(self.env.success, bool)
        time_limit = (np.asarray(trunc, bool) | (self._step >= self.max_episode_steps)) & ~term
        inner_done = term | time_limit
        meta_done = inner_done & (self._episode == self.episodes_per_task - 1)
        info: dict[str, Any] = {"inner_done": inner_done, "inner_time_limit": time_limit}

        mid = np.flatnonzero(inner_done & ~meta_done)
        if mid.size:  # next inner episode, same task; the agent keeps its memory (no hidden-state reset)
            start = self.env.reset_episodes(mid)
            if self.env.shows_start_after_inner_end:
                obs[mid] = start
            self._step[mid] = 0
            self._episode[mid] += 1
        obs = self._with_flag(obs, inner_done)

        done = np.flatnonzero(meta_done)
        if done.size:  # same-step autoreset: report the finished meta-episode, return the next one's first obs
            mask = meta_done.copy()
            info["_meta_episode"] = mask
            info["meta_episode_return"] = np.where(mask, self._returns.sum(1), 0.0)
            info["meta_episode_length"] = np.where(mask, self._length, 0)
            info["episode_returns"] = np.where(mask[:, None], self._returns, 0.0)
            if self.reports_success:
                info["episode_successes"] = np.where(mask[:, None], self._successes, False)
            info["final_obs"] = np.where(mask[:, None], obs, 0.0)
            obs[done] = self._with_flag(self._start(done), np.zeros(done.size, bool))
        info["task"] = self.env.tasks.copy()
        return obs, rewards, meta_done & term, meta_done & ~term, info

    def state_dict(self) -> dict:
        """Everything the future of this env depends on (counters, the tasks' generators, inner MDP and simulator
        states), as tensors and plain Python values, so that `torch.save` / `torch.load(weights_only=True)` keep it.

        `load_state_dict` on an env made with the same id and num_envs (any seed) makes its `step` and seedless
        `reset` return bitwise what this env's would.
        """
        state = {"env_id": self.env_id, "num_envs": self.num_envs, **save_arrays(self, self.state_attrs)}
        return {**state, "env": self.env.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        keys = ("env_id", "num_envs")
        differ = [f"{k} {state[k]!r} (this env: {getattr(self, k)!r})" for k in keys if state[k] != getattr(self, k)]
        if differ:
            raise ValueError(f"env state is from another env: {', '.join(differ)}")
        load_arrays(self, self.state_attrs, state)
        self.env.load_state_dict(state["env"])

    def render(self):
        return tuple(self.env.render(i) for i in range(self.num_envs))

    def close_extras(self, **kwargs):
        self.env.close()
