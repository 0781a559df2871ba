"""Meta-RL environments: one `gymnasium.vector.VectorEnv` per id whose episode is a whole meta-episode.

    import envs
    vec = envs.make("GridWorld", num_envs=16, seed=1)
    hp = envs.preset("GridWorld")

Importing this package is cheap: MuJoCo and Meta-World are imported only when one of their ids is made.
"""

from __future__ import annotations

import importlib

from envs.core import MetaVecEnv, TaskEnv, make_rngs
from envs.presets import LEARNING_RATES, PRESETS

# id -> (module, factory function, its keyword arguments). Each factory returns (TaskEnv, episodes_per_task).
_REGISTRY: dict[str, tuple[str, str, dict]] = {
    "GridWorld": ("envs.gridworld", "make_task_env", {}),
    "GridWorldShow": ("envs.gridworld", "make_task_env", {"show": True}),
    "GridWorldDense": ("envs.gridworld", "make_task_env", {"dense": True}),
    "CheetahDir": ("envs.mujoco_envs", "make_task_env", {"name": "CheetahDir"}),
    "CheetahVel": ("envs.mujoco_envs", "make_task_env", {"name": "CheetahVel"}),
    "AntDir": ("envs.mujoco_envs", "make_task_env", {"name": "AntDir"}),
    "Walker": ("envs.mujoco_envs", "make_task_env", {"name": "Walker"}),
    "MC-LS": ("envs.mcls", "make_task_env", {}),
    "ML1-reach": ("envs.metaworld_envs", "make_task_env", {"benchmark": "ML1", "task_name": "reach-v3"}),
    "ML1-push": ("envs.metaworld_envs", "make_task_env", {"benchmark": "ML1", "task_name": "push-v3"}),
    "ML1-pick-place": ("envs.metaworld_envs", "make_task_env", {"benchmark": "ML1", "task_name": "pick-place-v3"}),
    "ML10": ("envs.metaworld_envs", "make_task_env", {"benchmark": "ML10"}),
}
ENV_IDS: tuple[str, ...] = tuple(_REGISTRY)
METAWORLD_IDS: tuple[str, ...] = tuple(k for k, v in _REGISTRY.items() if v[0] == "envs.metaworld_envs")
MUJOCO_IDS: tuple[str, ...] = tuple(k for k, v in _REGISTRY.items() if v[0] == "envs.mujoco_envs")

__all__ = [
    "ENV_IDS",
    "LEARNING_RATES",
    "METAWORLD_IDS",
    "MUJOCO_IDS",
    "MetaVecEnv",
    "TaskEnv",
    "make",
    "make_rngs",
    "preset",
]


def _check_id(env_id: str) -> None:
    if env_id not in _REGISTRY:
        raise ValueError(f"unknown env id {env_id!r}; valid ids: {', '.join(ENV_IDS)}")


def preset(env_id: str, method: str | None = None) -> dict:
    """The paper's hyperparameters for `env_id` (a fresh dict; keys are the method files' Args fields), with the
    learning rate `lr` picked for `method` (a method file's name without .py) when one was picked."""
    _check_id(env_id)
    values = dict(PRESETS[env_id])
    if method in LEARNING_RATES:
        values["lr"] = LEARNING_RATES[method][env_id]
    return values


def make(
    env_id: str,
    num_envs: int,
    seed: int | None = None,
    render_mode: str | None = None,
    split: str = "train",
    success_ends_episode: bool = False,
    workers: int = 0,
) -> MetaVecEnv:
    """A vector env of `num_envs` meta-episode environments whose generators derive from `seed`.

    `split` is "train" or "test": ML10's test split is its 5 held-out classes and ML1's is Meta-World's 50
    held-out goals; every other id samples its test tasks from the training distribution, as the reference
    evaluates (reference §5.1).

    `success_ends_episode` (Meta-World ids only): an inner episode ends at its first successful step, as the
    authors' ML10 wrapper does (reference §4.6, difference 17); by default it runs to the time limit, as the
    authors' ML1 does.

    `workers` > 0 steps the sub-environments in that many processes (envs/workers.py): the same trajectories as
    in-process stepping (0, the default), faster where the simulator dominates and cores are free.
    """
    _check_id(env_id)
    if not isinstance(num_envs, int) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
    if render_mode not in (None, "rgb_array"):
        raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    module, factory, kwargs = _REGISTRY[env_id]
    if success_ends_episode:
        if env_id not in METAWORLD_IDS:
            raise ValueError(
                f"success_ends_episode applies to the Meta-World ids only ({', '.join(METAWORLD_IDS)}), not {env_id!r}"
            )
        kwargs = {**kwargs, "success_ends_episode": True}
    kwargs = {"render_mode": render_mode, "split": split, **kwargs}
    if workers:  # the same sub-environments, stepped in worker processes (envs/workers.py)
        from envs.workers import WorkerTaskEnv

        task_env = WorkerTaskEnv(module, factory, kwargs, num_envs, workers)
        episodes_per_task = task_env.episodes_per_task
    else:
        task_env, episodes_per_task = getattr(importlib.import_module(module), factory)(num_envs=num_envs, **kwargs)
    task_env.seed(seed)
    return MetaVecEnv(task_env, episodes_per_task, env_id=env_id, render_mode=render_mode)
