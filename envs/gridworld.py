"""Grid-World, Grid-World Show and Grid-World Dense (reference §4.1), batched in numpy."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from envs.core import TaskEnv

SIZE = 5
EPISODE_STEPS = 15
EPISODES_PER_TASK = 4
# 21 goals: every cell except the start (0, 0) and its in-grid neighbours (reference §4.1).
GOALS = np.array([(x, y) for x in range(SIZE) for y in range(SIZE) if x > 1 or y > 1], dtype=np.int64)
# Actions: 0 no-op, 1 up (y+1), 2 right (x+1), 3 down (y-1), 4 left (x-1).
MOVES = np.array([(0, 0), (0, 1), (1, 0), (0, -1), (-1, 0)], dtype=np.int64)


class GridWorld(TaskEnv):
    """5×5 grid, start (0, 0), 5 actions; +1 on the goal, else −0.1 (sparse) or −Manhattan/5 (dense).

    `show=True` (Grid-World Show): whenever the agent stands on the start cell after a step, the observation is
    the goal's coordinates instead of its position.
    """

    task_dim = 2
    max_episode_steps = EPISODE_STEPS
    state_attrs = TaskEnv.state_attrs + ("pos", "goal")

    def __init__(self, num_envs: int, dense: bool = False, show: bool = False):
        super().__init__(num_envs)
        self.dense, self.show = dense, show
        self.observation_space = gym.spaces.Box(0.0, SIZE - 1, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(len(MOVES))
        self.pos = np.zeros((num_envs, 2), np.int64)
        self.goal = np.zeros((num_envs, 2), np.int64)
        self.tasks = np.zeros((num_envs, 2), np.float32)

    def sample_tasks(self, ids):
        for i in ids:
            self.goal[i] = GOALS[self.rngs[i].integers(len(GOALS))]
        self.tasks[ids] = self.goal[ids]

    def reset_episodes(self, ids):
        self.pos[ids] = 0
        return self.pos[ids].astype(np.float32)

    def step(self, actions):
        self.pos = np.clip(self.pos + MOVES[np.asarray(actions, np.int64)], 0, SIZE - 1)
        at_goal = (self.pos == self.goal).all(1)
        if self.dense:
            off_goal = -np.abs(self.pos - self.goal).sum(1) / SIZE
        else:
            off_goal = np.full(self.num_envs, -0.1)
        rewards = np.where(at_goal, 1.0, off_goal)
        obs = self.pos.astype(np.float32)
        if self.show:
            at_start = (self.pos == 0).all(1)
            obs[at_start] = self.goal[at_start]
        no = np.zeros(self.num_envs, bool)
        return obs, rewards, no, no

    def render(self, index):
        """A 5×5 board, 16 px a cell: agent blue, goal green, start grey; y grows upwards as in the task."""
        cell = 16
        img = np.full((SIZE * cell, SIZE * cell, 3), 235, np.uint8)
        img[::cell, :] = img[:, ::cell] = 180

        def paint(xy, colour, margin):
            x, y = int(xy[0]), int(xy[1])
            row = SIZE - 1 - y
            img[row * cell + margin : (row + 1) * cell - margin, x * cell + margin : (x + 1) * cell - margin] = colour

        paint((0, 0), (150, 150, 150), 1)
        paint(self.goal[index], (60, 180, 75), 1)
        paint(self.pos[index], (40, 90, 220), 4)
        return img


def make_task_env(num_envs: int, render_mode=None, split="train", dense=False, show=False):
    return GridWorld(num_envs, dense=dense, show=show), EPISODES_PER_TASK
