"""Meta-World ML1 and ML10 (reference §4.6) on Farama's `metaworld` 3.1.1 (v3 tasks, MuJoCo 3).

`metaworld` is imported only when one of these ids is made; without it `make` raises one line saying how to
install it.

- Task list: the benchmark object (`metaworld.ML1(name)`, `metaworld.ML10()`) draws 50 goal variations per class
  from its seed. It is built once per process with the fixed seed `TASK_LIST_SEED`, so every run, every seed and
  the training and evaluation envs share one task list. "train" uses `benchmark.train_tasks`, "test"
  `benchmark.test_tasks`: for ML10 the 5 held-out classes, for ML1 50 other goals of the same class (metaworld
  draws them with seed + 1). Building ML10's list takes ~12 s on a 2-core CPU (metaworld resets each of its 15
  classes 50 times), ML1's ~2 s.
- Meta-episode: sub-environment i draws from its own generator `rngs[i]` a class uniformly over the split's
  classes (the reference instead cycles through the 10 classes in shuffled order; the marginal is the same) and
  one of that class's 50 goal variations, then `set_task`s it. `set_task` freezes the variation's random vector
  (object and goal positions), so every inner episode of a meta-episode starts from the same layout.
- Each sub-environment owns one metaworld env per class, built on first use (~0.25 s and ~20 MB each; ML10 grows
  to 10 per sub-environment). The metaworld env draws from the sub-environment's generator (`np_random`), so
  runs are reproducible from the seed (metaworld's v3 envs draw nothing once a task is set).
- Inner episode: the package's `max_path_length` (500) is the time limit (truncation), and by default it is the
  only way an inner episode ends: an episode succeeds if any of its steps does (`success` per step,
  `reports_success`), as Meta-World evaluates and as the authors' ML1 runs (their `make_env` steps the raw
  Meta-World env, whose done is always False; reference §4.6). Their ML10 wrapper instead ends the episode on
  success (it returns `info['success']` as done); `success_ends_episode=True` (`envs.make(...,
  success_ends_episode=True)`) does that. With dense rewards of up to 10 a step, ending on success pays the agent
  to hover near the goal and never succeed (docs/differences.md, difference 17). Dense v2 rewards, unchanged;
  actions are passed through unchanged (metaworld clips the xyz part itself).
- Observation: the package's 39-d vector; ML benchmarks are partially observable, so its last 3 entries (goal)
  are zero. `MetaVecEnv` appends the done flag (2 episodes per meta-episode, reference §1.2).
- c_M (reference §3.7): ML10 — a one-hot over the 10 training classes followed by the 3-d goal position
  (`_target_pos`), 13-d; on split "test" the one-hot part is all zeros (a held-out class is none of the training
  classes; reusing their slots would alias them). ML1 — the 3-d goal position. `class_names` and `class_ids`
  name each sub-environment's active class on either split.
- State (`state_dict`): per sub-environment, every metaworld env built so far: its simulator (integration state,
  `body_pos` and `site_pos`, which reset_model writes) and its plain Python attributes; live views of simulator
  arrays among them (`init_left_pad`, ...) are restored as views.
"""

from __future__ import annotations

import functools
import importlib.metadata

import gymnasium as gym
import numpy as np

from envs.core import TaskEnv, from_state, to_state
from envs.mujoco_envs import load_sim_state, sim_state
from envs.rendering import select_gl_backend

EPISODES_PER_TASK = 2  # reference §1.2 / reference §4.6 (ML10 and the ML1 configs)
TASK_LIST_SEED = 0
BENCHMARKS = ("ML1", "ML10")
INSTALL_HINT = "pip install metaworld==3.1.1"
RENDER_SIZE = 480  # metaworld's default image size
# The model fields metaworld's reset_model writes (object, goal and fixture placements). Basketball's goal site
# compounds over resets, so they are saved, not recomputed from the task.
MODEL_FIELDS = ("body_pos", "site_pos")
_PLAIN = (np.ndarray, np.generic, int, float, bool, str, type(None))
# How an env was made (render mode, this machine's asset path for pickling), not its state: a loading env keeps its own.
_SETTINGS = ("render_mode", "fullpath", "_ezpickle_args", "_ezpickle_kwargs")


def _plain(value) -> bool:
    """Data (numbers, arrays, strings, containers of them), not objects (simulator, renderer, spaces, generator)."""
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(v) for v in value.values())
    return isinstance(value, _PLAIN)


def _view_of(array: np.ndarray, env) -> tuple | None:
    """Where `array` lies in the env's MjData/MjModel arrays when it is a live view of one (`init_left_pad` is a
    row of `data.xpos`; basketball's `_target_pos` one of `data.site_xpos`), as (object, field, offset, shape,
    strides); else None."""
    if array.base is None:
        return None
    for owner in ("data", "model"):
        obj = getattr(env, owner)
        for field in dir(obj):
            base = getattr(obj, field, None) if not field.startswith("_") else None
            if isinstance(base, np.ndarray) and base.size and np.shares_memory(array, base):
                offset = array.__array_interface__["data"][0] - base.__array_interface__["data"][0]
                return owner, field, offset, array.shape, array.strides
    return None


def _env_state(env) -> dict:
    """A metaworld env's state: its simulator, and every plain attribute (path length, goal and object positions,
    the frozen rand vec, previous observation, reward constants, ...); live views of the simulator's arrays are
    saved as views."""
    attrs, views = {}, {}
    for name, value in vars(env).items():
        if isinstance(value, np.ndarray) and (view := _view_of(value, env)) is not None:
            views[name] = view
        elif _plain(value) and name not in _SETTINGS:
            attrs[name] = value
    return {"sim": sim_state(env.model, env.data, MODEL_FIELDS), "attrs": to_state(attrs), "views": views}


def _load_env_state(env, state: dict) -> None:
    load_sim_state(env.model, env.data, state["sim"], MODEL_FIELDS)
    attrs = from_state(state["attrs"])
    for name in [k for k, v in vars(env).items() if _plain(v) and k not in (*attrs, *state["views"], *_SETTINGS)]:
        delattr(env, name)  # set only after the state was saved
    vars(env).update(attrs)
    for name, (owner, field, offset, shape, strides) in state["views"].items():
        base = getattr(getattr(env, owner), field)
        setattr(env, name, np.ndarray(shape, base.dtype, buffer=base, offset=offset, strides=strides))
    vars(env).pop("sawyer_observation_space", None)  # a cached_property of `_partially_observable`: recomputed


def _import_metaworld():
    try:
        import metaworld
    except ImportError:
        raise ImportError(f"Meta-World environments need the metaworld package: {INSTALL_HINT}") from None
    version = importlib.metadata.version("metaworld")
    if version.split(".")[0] != "3":  # the v3 task names and the Gymnasium API came with metaworld 3
        raise ImportError(f"Meta-World environments need metaworld 3.x, found {version}: {INSTALL_HINT}")
    return metaworld


@functools.cache
def _benchmark(benchmark: str, task_name: str | None):
    """The benchmark's class and task lists, built once per process (ML10 takes ~12 s)."""
    metaworld = _import_metaworld()
    if benchmark == "ML10":
        return metaworld.ML10(seed=TASK_LIST_SEED)
    names = metaworld.ML1.ENV_NAMES
    if task_name not in names:
        raise ValueError(f"unknown Meta-World task {task_name!r}; valid names: {', '.join(names)}")
    return metaworld.ML1(task_name, seed=TASK_LIST_SEED)


class MetaWorld(TaskEnv):
    """`num_envs` sub-environments, each with its own metaworld env per class of the split (see module doc)."""

    reports_success = True

    state_attrs = TaskEnv.state_attrs + ("class_ids", "goal_ids")

    def __init__(
        self,
        num_envs: int,
        benchmark: str,
        task_name: str | None,
        split: str,
        render_mode: str | None = None,
        success_ends_episode: bool = False,
    ):
        super().__init__(num_envs)
        self.success_ends_episode = success_ends_episode  # True: the authors' ML10 termination (module doc)
        self.success = np.zeros(num_envs, bool)  # this step solved the task
        bench = _benchmark(benchmark, task_name)
        classes = bench.train_classes if split == "train" else bench.test_classes
        tasks = bench.train_tasks if split == "train" else bench.test_tasks
        self.benchmark, self.split, self.render_mode = benchmark, split, render_mode
        self.class_names: tuple[str, ...] = tuple(classes)
        self._classes = [classes[name] for name in self.class_names]
        self._class_tasks = [[t for t in tasks if t.env_name == name] for name in self.class_names]
        # c_M: one-hot over the training classes (ML10 only), then the goal position
        self.one_hot_dim = len(bench.train_classes) if benchmark == "ML10" else 0
        self.task_dim = self.one_hot_dim + 3
        self.tasks = np.zeros((num_envs, self.task_dim), np.float32)
        self.class_ids = np.zeros(num_envs, np.int64)  # index into class_names of each sub-env's active class
        self.goal_ids = np.zeros(num_envs, np.int64)  # index of the goal variation within that class
        if render_mode is not None:
            select_gl_backend()
        self._envs: list[dict[int, gym.Env]] = [{} for _ in range(num_envs)]  # per sub-env: class index -> env
        self.active: list[gym.Env | None] = [None] * num_envs  # the metaworld env each sub-env is running
        self._start_obs: list[np.ndarray | None] = [None] * num_envs  # first obs after sample_tasks' reset
        probe = self._env(0, 0)
        self.max_episode_steps = int(probe.max_path_length)  # 500
        space = probe.observation_space  # goal hidden: the last 3 entries' bounds are 0
        self.observation_space = gym.spaces.Box(space.low.astype(np.float32), space.high.astype(np.float32))
        self.action_space = gym.spaces.Box(-1.0, 1.0, probe.action_space.shape, np.float32)

    def _env(self, i: int, c: int) -> gym.Env:
        env = self._envs[i].get(c)
        if env is None:
            env = self._classes[c](render_mode=self.render_mode, width=RENDER_SIZE, height=RENDER_SIZE)
            self._envs[i][c] = env
        return env

    def sample_tasks(self, ids):
        for i in ids:
            rng = self.rngs[i]
            c = int(rng.integers(len(self._classes)))
            g = int(rng.integers(len(self._class_tasks[c])))
            env = self._env(i, c)
            env.set_task(self._class_tasks[c][g])
            env.np_random = rng  # anything the env draws comes from the sub-environment's own stream
            # reset now: the goal (`_target_pos`) is only computed by reset; reset_episodes reuses this start
            self._start_obs[i] = env.reset()[0]
            self.active[i] = env
            self.class_ids[i], self.goal_ids[i] = c, g
            self.tasks[i] = 0.0
            if self.one_hot_dim and self.split == "train":
                self.tasks[i, c] = 1.0
            self.tasks[i, self.one_hot_dim :] = env.unwrapped._target_pos

    def reset_episodes(self, ids):
        obs = np.empty((len(ids),) + self.observation_space.shape, np.float32)
        for k, i in enumerate(ids):
            start = self._start_obs[i]
            obs[k] = self.active[i].reset()[0] if start is None else start
            self._start_obs[i] = None
        return obs

    def step(self, actions):
        n = self.num_envs
        obs = np.empty((n,) + self.observation_space.shape, np.float32)
        rewards = np.empty(n, np.float64)
        terminated = np.zeros(n, bool)
        truncated = np.zeros(n, bool)
        for i in range(n):
            self._start_obs[i] = None
            obs[i], rewards[i], _, truncated[i], info = self.active[i].step(actions[i])
            self.success[i] = info["success"] > 0
            terminated[i] = self.success[i] and self.success_ends_episode
        return obs, rewards, terminated, truncated

    def render(self, index):
        if self.render_mode != "rgb_array":
            raise ValueError("Meta-World envs render only when made with render_mode='rgb_array'")
        env = self.active[index]
        if env is None:
            raise RuntimeError("reset the environment before rendering it")
        return env.render()

    def state_dict(self):
        return {
            **super().state_dict(),
            "split": self.split,
            "class_names": list(self.class_names),
            "active": [env is not None for env in self.active],
            "start_obs": to_state(self._start_obs),
            "envs": [{c: _env_state(env) for c, env in per_class.items()} for per_class in self._envs],
        }

    def load_state_dict(self, state):
        mine = {"split": self.split, "class_names": list(self.class_names)}
        differ = [f"{k} {state[k]!r} (this env: {v!r})" for k, v in mine.items() if state[k] != v]
        if differ:
            raise ValueError(f"Meta-World state is from another task list: {', '.join(differ)}")
        super().load_state_dict(state)
        for i, saved in enumerate(state["envs"]):
            for c in set(self._envs[i]) - set(saved):  # built after the save: rebuilt fresh if ever needed
                self._envs[i].pop(c).close()
            for c, env_state in saved.items():
                env = self._env(i, c)
                env.np_random = self.rngs[i]  # as sample_tasks does; first, so that its side attributes get restored
                _load_env_state(env, env_state)
            self.active[i] = self._envs[i][int(self.class_ids[i])] if state["active"][i] else None
        self._start_obs = from_state(state["start_obs"])

    def close(self):
        for per_class in self._envs:
            for env in per_class.values():
                env.close()
        self._envs = [{} for _ in range(self.num_envs)]
        self.active = [None] * self.num_envs


def make_task_env(
    num_envs, render_mode=None, split="train", benchmark="ML1", task_name=None, success_ends_episode=False
):
    if benchmark not in BENCHMARKS:
        raise ValueError(f"unknown Meta-World benchmark {benchmark!r}; valid: {', '.join(BENCHMARKS)}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if benchmark == "ML1" and task_name is None:
        raise ValueError("ML1 needs a task_name such as 'reach-v3'")
    _import_metaworld()  # checked on every call: the task lists below are cached per process
    env = MetaWorld(num_envs, benchmark, task_name, split, render_mode, success_ends_episode)
    return env, EPISODES_PER_TASK
