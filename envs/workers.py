"""A family's sub-environments stepped in worker processes (`envs.make(..., workers=N)`).

`WorkerTaskEnv` is a `TaskEnv` whose `num_envs` sub-environments are split into N contiguous slices, each a TaskEnv
of the same family in its own process. Sub-environment i keeps its own generator, derived from (seed, i) as in one
process (`TaskEnv.first_index`), and every family steps its sub-environments independently, so the trajectories are
exactly those of in-process stepping. Stepping is synchronous: the slices step in parallel, the learner waits for
all of them, so workers pay where the simulator dominates (Meta-World, MuJoCo) and not on the numpy grids.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import traceback

import numpy as np

from envs.core import TaskEnv

_ATTRS = ("observation_space", "action_space", "task_dim", "max_episode_steps", "shows_start_after_inner_end")


def _worker(conn, module: str, factory: str, kwargs: dict, first_index: int, num_envs: int) -> None:
    """Serve one slice: build its TaskEnv, then answer (method, argument) messages until "close"."""
    try:
        env, episodes_per_task = getattr(importlib.import_module(module), factory)(num_envs=num_envs, **kwargs)
        env.first_index = first_index
        info = {name: getattr(env, name) for name in _ATTRS}
        info |= {"episodes_per_task": episodes_per_task, "reports_success": env.reports_success}
        info["render_fps"] = getattr(env, "render_fps", None)
        conn.send(("ok", info))
    except Exception:  # the parent raises it with the worker's traceback
        conn.send(("error", traceback.format_exc()))
        return
    while True:
        method, argument = conn.recv()
        try:
            if method == "close":
                env.close()
                conn.send(("ok", None))
                return
            if method == "step":
                out = env.step(argument)
                result = (*out, np.array(env.success) if env.reports_success else None)
            elif method in ("sample_tasks", "load_state_dict"):
                getattr(env, method)(argument)
                result = env.tasks.copy()
            elif method == "seed":
                env.seed(argument)
                result = None
            else:  # reset_episodes, render, state_dict
                result = getattr(env, method)(*(() if argument is None else (argument,)))
            conn.send(("ok", result))
        except Exception:
            conn.send(("error", traceback.format_exc()))


class WorkerTaskEnv(TaskEnv):
    """`num_envs` sub-environments of the family `factory` (a registry entry: module, function, keyword arguments)
    in `workers` processes. `state_dict` holds one state per worker: a run resumes with the same number of workers."""

    def __init__(self, module: str, factory: str, kwargs: dict, num_envs: int, workers: int):
        if not isinstance(workers, int) or not 1 <= workers <= num_envs:
            raise ValueError(f"env workers must be 0 (in-process) or 1 to num_envs ({num_envs}), got {workers!r}")
        super().__init__(num_envs)
        self.slices = np.array_split(np.arange(num_envs), workers)
        ctx = mp.get_context("spawn")  # no fork: the learner's threads (torch, TensorBoard) must not be copied
        self.conns, self.processes = [], []
        for ids in self.slices:
            parent, child = ctx.Pipe()
            process = ctx.Process(
                target=_worker, args=(child, module, factory, kwargs, int(ids[0]), len(ids)), daemon=True
            )
            process.start()
            child.close()
            self.conns.append(parent)
            self.processes.append(process)
        self._closed = False
        info = self._gather([None] * workers)[0]
        for name in _ATTRS:
            setattr(self, name, info[name])
        self.episodes_per_task, self.reports_success = info["episodes_per_task"], info["reports_success"]
        if info["render_fps"] is not None:
            self.render_fps = info["render_fps"]
        self.tasks = np.zeros((num_envs, self.task_dim), np.float32)
        self.success = np.zeros(num_envs, bool)

    def _gather(self, messages: list) -> list:
        """Send each worker its message (None: send nothing, only receive) and return their answers in order."""
        for conn, message in zip(self.conns, messages, strict=True):
            if message is not None:
                conn.send(message)
        return self._receive(range(len(self.conns)))

    def _receive(self, workers) -> list:
        """The answers of `workers`, in order; every one is read before a failure is raised, so none is left behind."""
        answers, failures = [], []
        for k in workers:
            try:
                status, value = self.conns[k].recv()
            except EOFError:
                status, value = "error", "it exited unexpectedly"
            if status == "error":
                failures.append(f"env worker {k} failed:\n{value}")
            answers.append(value)
        if failures:
            raise RuntimeError("\n".join(failures))
        return answers

    def _split(self, ids: np.ndarray) -> list[np.ndarray]:
        """`ids` (global, sorted or not) as each worker's local indices."""
        ids = np.asarray(ids)
        return [ids[(ids >= s[0]) & (ids <= s[-1])] - s[0] for s in self.slices]

    def _per_worker(self, method: str, ids: np.ndarray) -> list:
        """Call `method` with its local ids on the workers that hold some of `ids`; answers (None elsewhere)."""
        local = self._split(ids)
        for conn, part in zip(self.conns, local, strict=True):
            if part.size:
                conn.send((method, part))
        busy = [k for k, part in enumerate(local) if part.size]
        answers = dict(zip(busy, self._receive(busy), strict=True))
        return [answers.get(k) for k in range(len(self.conns))]

    def seed(self, seed: int | None) -> None:
        self._gather([("seed", seed)] * len(self.conns))

    def sample_tasks(self, ids: np.ndarray) -> None:
        for s, tasks in zip(self.slices, self._per_worker("sample_tasks", ids), strict=True):
            if tasks is not None:
                self.tasks[s] = tasks

    def reset_episodes(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids)
        parts = [p for p in self._per_worker("reset_episodes", ids) if p is not None]
        # the answers come worker by worker; put each observation back at its id's position in `ids`
        where = np.concatenate([np.flatnonzero((ids >= s[0]) & (ids <= s[-1])) for s in self.slices])
        obs = np.concatenate(parts)
        out = np.empty_like(obs)
        out[where] = obs
        return out

    def step(self, actions: np.ndarray):
        results = self._gather([("step", actions[s]) for s in self.slices])
        obs, rewards, terminated, truncated, success = (list(part) for part in zip(*results, strict=True))
        if self.reports_success:
            self.success = np.concatenate(success)
        return np.concatenate(obs), np.concatenate(rewards), np.concatenate(terminated), np.concatenate(truncated)

    def render(self, index: int) -> np.ndarray:
        k = next(k for k, s in enumerate(self.slices) if s[0] <= index <= s[-1])
        self.conns[k].send(("render", index - int(self.slices[k][0])))
        return self._receive([k])[0]

    def state_dict(self) -> dict:
        return {"workers": self._gather([("state_dict", None)] * len(self.conns))}

    def load_state_dict(self, state: dict) -> None:
        saved = state.get("workers")
        if saved is None or len(saved) != len(self.conns):
            where = "in-process" if saved is None else f"with {len(saved)} env workers"
            raise ValueError(f"env state was saved {where}; this env has {len(self.conns)} env workers: resume alike")
        tasks = self._gather([("load_state_dict", s) for s in saved])
        for s, part in zip(self.slices, tasks, strict=True):
            self.tasks[s] = part

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for conn, process in zip(self.conns, self.processes, strict=True):
            try:
                conn.send(("close", None))
                conn.recv()
            except (BrokenPipeError, EOFError, OSError):
                pass
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
