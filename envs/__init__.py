"""Meta-RL environments: one `gymnasium.vector.VectorEnv` per id whose episode is a whole meta-episode.

    import envs
    vec = envs.make("GridWorld", num_envs=16, seed=1)
    hp = envs.preset("GridWorld")
    vec = envs.make("examples.point_robot:PointRobot", num_envs=16, seed=1)  # imports the module, which registers

`envs.register` adds your own task distribution (envs/own.py, docs/own_env.md); `envs.runstate` is the scripts'
checkpoint and argument plumbing. Importing this package is cheap: MuJoCo and Meta-World are imported only when one of
their ids is made.
"""

from __future__ import annotations

import importlib

from envs import own
from envs.core import MetaVecEnv, TaskEnv, make_rngs
from envs.own import DEFAULT_PRESET, REGISTERED, register, resolve
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
    "preset_sources",
    "register",
]


def preset(env_id: str, method: str | None = None) -> dict:
    """The paper's hyperparameters for `env_id` (a fresh dict; keys are the method files' Args fields), with the
    learning rate `lr` picked for `method` (a method's name, METHOD in its file) when one was picked. A registered id
    (`module:EnvId` imports `module` first) gives its own preset over DEFAULT_PRESET's values (envs/own.py)."""
    return {field: value for field, (value, _) in preset_sources(env_id, method).items()}


def preset_sources(env_id: str, method: str | None = None) -> dict[str, tuple]:
    """preset(env_id, method) as {field: (value, where it comes from)}, for a run to say what it runs with."""
    name = resolve(env_id, ENV_IDS)
    if name not in REGISTERED:
        values = {k: (v, f"the {name} preset") for k, v in PRESETS[name].items()}
        if method in LEARNING_RATES:
            values["lr"] = (LEARNING_RATES[method][name], f"the lr picked for {method} on {name}")
        return values
    own = REGISTERED[name].preset  # the user's fields over the default preset's
    values = {k: (v, f"the {DEFAULT_PRESET} preset (default)") for k, v in PRESETS[DEFAULT_PRESET].items()}
    values |= {k: (v, f"{name}'s registered preset") for k, v in own.items() if k != "lr"}
    lr = own.get("lr")
    lr = lr if isinstance(lr, dict) else {} if lr is None else {method: lr}  # one rate for all, or one per method
    if method in lr:
        values["lr"] = (lr[method], f"{name}'s registered preset")
    elif method in LEARNING_RATES:
        values["lr"] = (LEARNING_RATES[method][DEFAULT_PRESET], f"the lr picked for {method} on {DEFAULT_PRESET}")
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
    name = resolve(env_id, ENV_IDS)
    if not isinstance(num_envs, int) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
    if render_mode not in (None, "rgb_array"):
        raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if name in _REGISTRY:
        module, factory, kwargs = _REGISTRY[name]
    else:  # a registered id: a worker process imports the module that registered it, which registers it again
        module, factory, kwargs = "envs.own", "make_task_env", {"env_id": name, "module": REGISTERED[name].module}
        if workers and kwargs["module"] == "__main__":
            raise ValueError(f"env workers need {name} registered by an importable module, not by __main__")
        if workers:  # its env's errors in one line here, not as a worker's traceback
            own.make_task_env(1, name, kwargs["module"], render_mode)[0].close()
    if success_ends_episode:
        if name not in METAWORLD_IDS:
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
    return MetaVecEnv(task_env, episodes_per_task, env_id=name, render_mode=render_mode)
