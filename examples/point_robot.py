"""A 2-D point robot that must find a goal it cannot see, on a half-circle of radius 1 (VariBAD's and PEARL's point
robot navigation): the walk-through of docs/own_env.md, registered as `PointRobot`.

    python rnn_hn.py --env-id examples.point_robot:PointRobot

The robot starts near the origin and moves by 0.1 * action per step (actions clipped to [-1, 1]); each step it is
rewarded minus its distance to the goal. The goal, at an angle drawn uniformly from [0, pi], is the task: the robot
only learns it from the rewards, in the first of its two episodes, and can go straight there in the second.
"""

import gymnasium as gym
import numpy as np

import envs


class PointRobot(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    max_episode_steps = 20  # the package ends each inner episode here (a time limit)

    def __init__(self, render_mode=None):
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)  # the position
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.render_mode = render_mode
        self.goal = np.zeros(2)
        self.pos = np.zeros(2)

    def sample_task(self, rng: np.random.Generator) -> np.ndarray:
        """A goal on the upper half of the unit circle, drawn from `rng` (the package gives each sub-environment its
        own generator, derived from the run's seed)."""
        angle = rng.uniform(0.0, np.pi)
        return np.array([np.cos(angle), np.sin(angle)])

    def set_task(self, task: np.ndarray) -> None:
        self.goal = np.asarray(task, np.float64)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-0.05, 0.05, 2)  # randomness from self.np_random: seeded by the package
        return self.pos.astype(np.float32), {}

    def step(self, action):
        self.pos = self.pos + 0.1 * np.clip(action, -1.0, 1.0)
        reward = -float(np.linalg.norm(self.pos - self.goal))
        return self.pos.astype(np.float32), reward, False, False, {}

    def render(self):
        """96x96 pixels showing x in [-1.5, 1.5], y in [-1, 2]: the goal's half-circle grey, the goal green, the
        robot blue."""
        size, scale = 96, 32
        img = np.full((size, size, 3), 255, np.uint8)
        rows, cols = np.mgrid[:size, :size]
        x, y = cols / scale - 1.5, 2.0 - rows / scale

        def disk(centre, radius, colour):
            img[(x - centre[0]) ** 2 + (y - centre[1]) ** 2 <= radius**2] = colour

        img[(np.abs(np.hypot(x, y) - 1.0) < 0.02) & (y >= 0)] = (170, 170, 170)
        disk(self.goal, 0.08, (60, 180, 75))
        disk(self.pos, 0.06, (40, 90, 220))
        return img


# The preset holds the Args fields that differ from the default (Cheetah-Dir's preset, envs/own.py): a small network
# and short rollouts suit a small task. Two episodes of 20 steps make a 40-step meta-episode.
envs.register(
    "PointRobot",
    PointRobot,
    episodes_per_task=2,
    preset=dict(
        lr=1e-3,
        num_steps=40,
        total_timesteps=200_000,
        gamma=0.95,
        eval_interval=10,
        gru_hidden_size=64,
        policy_state_embed_dim=32,
        policy_hidden_sizes=(64, 64),
        latent_embed_dim=16,
        action_embed_dim=8,
        reward_embed_dim=8,
        state_embed_dim=16,
    ),
)
