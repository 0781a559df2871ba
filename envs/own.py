"""Your own task distribution as a meta-RL environment (docs/own_env.md).

    # my_envs.py
    import envs
    envs.register("PointRobot", PointRobot, episodes_per_task=2, preset={"total_timesteps": 200_000})

    python rnn_hn.py --env-id my_envs:PointRobot      # gymnasium's convention: import my_envs first

`make_env()` returns a plain `gymnasium.Env`, one inner MDP, that also has `sample_task(rng) -> numpy array` (a task
c_M, a float vector, drawn from the numpy Generator it is given) and `set_task(task)`, and a `max_episode_steps`
attribute (or a spec that has one). `GymTaskEnv` steps `num_envs` of them in a loop as one `TaskEnv`; `MetaVecEnv`
adds the meta-episodes, the done flag and the autoreset, as for the built-in families. A `TaskEnv` subclass (a
batched family, `Cls(num_envs)`) may be registered instead of `make_env`.

Seeding: sub-environment i's generator (envs.make_rngs: from the run's seed and i) draws its tasks and is the env's
`np_random`, so an env that draws all its randomness from `self.np_random`, as gymnasium asks, is reproducible.

Resume: `state_dict()`/`load_state_dict(state)` on the env make it exact. Without them a resumed run replays each
sub-environment's current inner episode (its task, its generator as the episode began, the actions since): the same
state for an env whose randomness is all `self.np_random`'s; the resume prints that it replayed, and says so if a
replay ended elsewhere than the saved run.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from envs.core import TaskEnv, from_state, to_state

# Args fields a registered id's preset leaves out take the MuJoCo preset's values (Cheetah-Dir's, envs/presets.py) and
# each method's learning rate picked on Cheetah-Dir (envs.LEARNING_RATES): continuous control, 200-step episodes.
DEFAULT_PRESET = "CheetahDir"


@dataclass(frozen=True)
class Registration:
    make_env: Any  # () -> gymnasium.Env, or a TaskEnv subclass
    episodes_per_task: int
    preset: dict
    module: str  # the module that called register(): a worker process imports it to register the id again


REGISTERED: dict[str, Registration] = {}


def register(env_id: str, make_env, episodes_per_task: int, preset: dict | None = None) -> None:
    """Make `env_id` available to envs.make, envs.preset and every script's --env-id (as `module:env_id`, or as
    `env_id` once the module is imported). `preset` holds Args fields (its `lr`: one learning rate for every method,
    or a dict method -> learning rate); fields it leaves out take DEFAULT_PRESET's."""
    from envs import ENV_IDS, PRESETS

    if not isinstance(env_id, str) or not env_id or ":" in env_id:
        raise ValueError(f"env id must be a non-empty string without ':', got {env_id!r}")
    if env_id in ENV_IDS:
        raise ValueError(f"{env_id!r} is a built-in env id; register yours under another name")
    if not callable(make_env):
        raise ValueError(f"{env_id}: make_env must be callable (a function or class returning a gymnasium.Env)")
    if not isinstance(episodes_per_task, int) or episodes_per_task < 1:
        raise ValueError(f"{env_id}: episodes_per_task must be a positive integer, got {episodes_per_task!r}")
    preset = dict(preset or {})
    unknown = sorted(set(preset) - set(PRESETS[DEFAULT_PRESET]) - {"lr"})
    if unknown:
        valid = ", ".join(sorted([*PRESETS[DEFAULT_PRESET], "lr"]))
        raise ValueError(f"{env_id}: preset fields {', '.join(unknown)} are not preset fields; valid: {valid}")
    module = sys._getframe(1).f_globals.get("__name__", "__main__")
    REGISTERED[env_id] = Registration(make_env, episodes_per_task, preset, module)


def resolve(env_id: str, known: tuple[str, ...]) -> str:
    """The registered name of `env_id`: a built-in id (in `known`), a registered one, or `module:name`, for which
    `module` is imported first (it registers `name`). Raises ValueError in one line otherwise."""
    if not isinstance(env_id, str):
        raise ValueError(f"env id must be a string, got {env_id!r}")
    if ":" in env_id:
        module, name = env_id.split(":", 1)
        try:
            importlib.import_module(module)
        except Exception as e:  # one line, whatever the module raised while importing
            raise ValueError(f"env id {env_id!r}: cannot import {module!r}: {type(e).__name__}: {e}") from None
        if name not in REGISTERED and name not in known:
            ours = [k for k, r in REGISTERED.items() if r.module == module]
            raise ValueError(
                f"env id {env_id!r}: {module} registered no env {name!r} (it registered: {', '.join(ours) or 'none'})"
            )
        return name
    if env_id in known or env_id in REGISTERED:
        return env_id
    raise ValueError(
        f"unknown env id {env_id!r}; valid ids: {', '.join(known + tuple(REGISTERED))}, or module:EnvId for an env "
        "that your module registers (docs/own_env.md)"
    )


def _wrapper_attr(env: gym.Env, name: str):
    try:
        return env.get_wrapper_attr(name)
    except AttributeError:
        return None


def _make(make_env, env_id: str, render_mode: str | None) -> gym.Env:
    if render_mode is None:
        env = make_env()
    else:
        params = inspect.signature(make_env).parameters
        if "render_mode" not in params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            raise ValueError(f"{env_id} cannot render: its make_env takes no render_mode (docs/own_env.md)")
        env = make_env(render_mode=render_mode)
    if not isinstance(env, gym.Env):
        raise ValueError(f"{env_id}: make_env() returned {type(env).__name__}, not a gymnasium.Env")
    return env


class GymTaskEnv(TaskEnv):
    """`num_envs` copies of a registered env, stepped one after the other: the `TaskEnv` of a user's own env."""

    state_attrs = TaskEnv.state_attrs + ("_actions", "_steps", "_last_obs")
    _told: set[str] = set()  # env ids whose replayed resume this process has announced

    def __init__(self, num_envs: int, env_id: str, make_env, render_mode: str | None = None):
        super().__init__(num_envs)
        self.env_id = env_id
        self.envs = [_make(make_env, env_id, render_mode) for _ in range(num_envs)]
        env = self.envs[0]
        missing = [name for name in ("sample_task", "set_task") if not callable(_wrapper_attr(env, name))]
        if missing:
            raise ValueError(
                f"{env_id}: its env has no {' or '.join(missing)}: a registered env needs sample_task(rng) -> "
                "numpy array and set_task(task) (docs/own_env.md)"
            )
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise ValueError(f"{env_id}: the observation space must be a 1-d Box, got {space}")
        if not isinstance(env.action_space, gym.spaces.Box | gym.spaces.Discrete):
            raise ValueError(f"{env_id}: the action space must be a Box or Discrete, got {env.action_space}")
        steps = _wrapper_attr(env, "max_episode_steps") or (env.spec.max_episode_steps if env.spec else None)
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"{env_id}: its env needs a max_episode_steps attribute (a positive int), got {steps!r}")
        task = np.asarray(_wrapper_attr(env, "sample_task")(np.random.default_rng(0)))
        if task.ndim != 1 or not np.issubdtype(task.dtype, np.number):
            raise ValueError(f"{env_id}: sample_task(rng) must return a 1-d numeric array, got {task!r}")
        self.observation_space, self.action_space = space, env.action_space
        self.task_dim, self.max_episode_steps = task.size, steps
        self.render_fps = env.metadata.get("render_fps", 30)
        self._sample = [_wrapper_attr(e, "sample_task") for e in self.envs]
        self._set = [_wrapper_attr(e, "set_task") for e in self.envs]
        self.exact_state = all(callable(getattr(e.unwrapped, "state_dict", None)) for e in self.envs) and all(
            callable(getattr(e.unwrapped, "load_state_dict", None)) for e in self.envs
        )
        self.tasks = np.zeros((num_envs, self.task_dim), np.float32)
        # for the replayed resume: each inner episode's actions so far, and its generator's state as it began
        discrete = isinstance(env.action_space, gym.spaces.Discrete)  # the scripts step int64 or float32 actions
        self._actions = np.zeros((num_envs, steps, *env.action_space.shape), np.int64 if discrete else np.float32)
        self._steps = np.zeros(num_envs, np.int64)
        self._last_obs = np.zeros((num_envs, *space.shape), np.float32)
        self._episode_rngs = [rng.bit_generator.state for rng in self.rngs]
        self._share_generators()

    def _share_generators(self) -> None:
        for env, rng in zip(self.envs, self.rngs, strict=True):
            env.np_random = rng  # the env's own randomness (reset noise) comes from its sub-environment's generator

    def seed(self, seed: int | None) -> None:
        super().seed(seed)
        self._share_generators()

    def sample_tasks(self, ids):
        for i in ids:
            self.tasks[i] = np.asarray(self._sample[i](self.rngs[i]), np.float32)
            self._set[i](self.tasks[i].copy())  # float32, as info["task"] reports it (and a replay sets it again)

    def reset_episodes(self, ids):
        for i in ids:
            self._episode_rngs[i] = self.rngs[i].bit_generator.state
            self._steps[i] = 0
            self._last_obs[i] = self.envs[i].reset()[0]
        return self._last_obs[ids].copy()

    def step(self, actions):
        rewards, terminated, truncated = np.zeros(self.num_envs), np.zeros(self.num_envs, bool), []
        for i, env in enumerate(self.envs):
            self._actions[i, min(self._steps[i], self.max_episode_steps - 1)] = actions[i]
            obs, rewards[i], terminated[i], trunc, _ = env.step(actions[i])
            self._last_obs[i] = obs
            truncated.append(trunc)
        self._steps += 1
        return self._last_obs.copy(), rewards, terminated, np.array(truncated, bool)

    def render(self, index):
        return self.envs[index].render()

    def state_dict(self) -> dict:
        state = {**super().state_dict(), "episode_rngs": list(self._episode_rngs)}
        state["envs"] = [to_state(e.unwrapped.state_dict()) for e in self.envs] if self.exact_state else None
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)  # the generators in place: each env's np_random is its generator
        self._episode_rngs = list(state["episode_rngs"])
        if state["envs"] is not None and self.exact_state:
            for i, (env, saved) in enumerate(zip(self.envs, state["envs"], strict=True)):
                self._set[i](self.tasks[i].copy())
                env.unwrapped.load_state_dict(from_state(saved))
            return
        if self.env_id not in GymTaskEnv._told:
            GymTaskEnv._told.add(self.env_id)
            print(
                f"{self.env_id}: its env has no state_dict/load_state_dict, so the resume replays each sub-environment's "
                "current inner episode (its task, its generator as the episode began, the actions since)",
                flush=True,
            )
        differ = 0
        for i, env in enumerate(self.envs):
            rng, now = self.rngs[i], self.rngs[i].bit_generator.state
            rng.bit_generator.state = self._episode_rngs[i]
            self._set[i](self.tasks[i].copy())
            obs = env.reset()[0]
            for action in self._actions[i, : self._steps[i]]:
                obs = env.step(action)[0]
            differ += rng.bit_generator.state != now or not np.array_equal(np.float32(obs), self._last_obs[i])
            rng.bit_generator.state = now
        if differ:
            print(
                f"{self.env_id}: replaying ended elsewhere than the saved run in {differ} of {self.num_envs} "
                "sub-environments (randomness outside self.np_random?); the run goes on from the replayed states",
                flush=True,
            )

    def close(self) -> None:
        for env in self.envs:
            env.close()


def make_task_env(num_envs: int, env_id: str, module: str, render_mode: str | None = None, split: str = "train"):
    """(TaskEnv, episodes_per_task) of a registered id; `module` registers it when imported (in a worker process).
    `split` is unused: test tasks come from the training distribution."""
    if env_id not in REGISTERED:
        importlib.import_module(module)
    registration = REGISTERED[env_id]
    make_env = registration.make_env
    if isinstance(make_env, type) and issubclass(make_env, TaskEnv):  # a batched family
        takes_render_mode = "render_mode" in inspect.signature(make_env).parameters
        kwargs = {"render_mode": render_mode} if takes_render_mode else {}
        return make_env(num_envs, **kwargs), registration.episodes_per_task
    return GymTaskEnv(num_envs, env_id, make_env, render_mode), registration.episodes_per_task
