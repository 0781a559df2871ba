"""Cheetah-Dir, Cheetah-Vel, Ant-Dir and Walker random physics (reference §4.2-§4.4) on gymnasium's MuJoCo envs.

One gymnasium env (HalfCheetah-v5, Ant-v5, Walker2d-v5) per sub-environment is used as the simulator only: `step`
sets `data.ctrl` and calls `mujoco.mj_step` directly (no wrappers, no gymnasium reward) and computes the reference's
observation and reward from `data`. Task parameters change through the live `mujoco.MjModel`. Reset noise and tasks
come from `self.rngs[i]`, so a seed reproduces the run and sub-environments are independent.

Physics: mujoco 3.x instead of mujoco-py 1.50 (Cheetah, Ant) / MuJoCo 1.31 (Walker); the XMLs are the reference's
physics (see each class), but solver and contact internals differ between MuJoCo versions (difference 7).
"""

from __future__ import annotations

import atexit
import weakref

import gymnasium as gym
import mujoco
import numpy as np

from envs.core import TaskEnv, from_state, to_state
from envs.rendering import select_gl_backend

EPISODE_STEPS = 200  # every MuJoCo task (reference §1.2 table)
# MuJoCo ≥ 2 resets the state itself when it turns non-finite (or huge) and counts one of these warnings; the
# reference's "state non-finite" termination (reference §4.3; NaN also fails Walker's height test) is detected through
# them.
_BAD_STATE = tuple(
    int(w)
    for w in (mujoco.mjtWarning.mjWARN_BADQPOS, mujoco.mjtWarning.mjWARN_BADQVEL, mujoco.mjtWarning.mjWARN_BADQACC)
)


# mj_getState's integration state (qpos, qvel, act, time, qacc_warmstart, ctrl, applied forces, mocap, ...): all the
# next mj_step's result depends on, bit for bit.
_SIM_STATE = mujoco.mjtState.mjSTATE_INTEGRATION


def sim_state(model: mujoco.MjModel, data: mujoco.MjData, model_fields: tuple[str, ...] = ()) -> dict:
    """One simulator's state for `load_sim_state`, in `to_state` types.

    Besides the integration state: the warning counters (`_went_unstable` reads them), `xpos` (AntDir reads the torso
    position the last step left there before stepping again) and the `model_fields` a task writes into the model.
    """
    physics = np.empty(mujoco.mj_stateSize(model, _SIM_STATE))
    mujoco.mj_getState(model, data, physics, _SIM_STATE)
    warnings = np.array([(w.number, w.lastinfo) for w in data.warning], np.int64)
    fields = {name: getattr(model, name) for name in model_fields}
    return to_state({"physics": physics, "xpos": data.xpos, "warnings": warnings, "model": fields})


def load_sim_state(model: mujoco.MjModel, data: mujoco.MjData, state: dict, model_fields: tuple[str, ...] = ()):
    state = from_state(state)
    for name in model_fields:
        getattr(model, name)[...] = state["model"][name]
    mujoco.mj_setState(model, data, state["physics"], _SIM_STATE)
    mujoco.mj_forward(model, data)  # the other derived quantities (rendering) follow the restored state
    mujoco.mj_setState(model, data, state["physics"], _SIM_STATE)  # mj_forward rewrote qacc_warmstart
    data.xpos[...] = state["xpos"]
    for warning, (number, lastinfo) in zip(data.warning, state["warnings"].tolist(), strict=True):
        warning.number, warning.lastinfo = number, lastinfo


def _went_unstable(data: mujoco.MjData) -> bool:
    """True once MuJoCo auto-reset a diverged state since the last `mj_resetData` (which zeroes the counters)."""
    warning = data.warning
    return warning[_BAD_STATE[0]].number + warning[_BAD_STATE[1]].number + warning[_BAD_STATE[2]].number > 0


class MujocoTaskEnv(TaskEnv):
    """Shared machinery: simulators, reset, the per-sub-env step loop. Subclasses fill in obs/reward/termination."""

    gym_id: str
    gym_kwargs: dict = {}
    obs_dim: int
    task_dim = 1
    max_episode_steps = EPISODE_STEPS
    qpos_noise: float  # reset: qpos = init_qpos + U(-qpos_noise, qpos_noise)
    qvel_noise: float  # reset: qvel = init_qvel + qvel_noise * (N(0, 1) or U(-1, 1), per `qvel_noise_normal`)
    qvel_noise_normal = True
    state_attrs = TaskEnv.state_attrs + ("obs", "pos_before", "pos_after")
    model_fields: tuple[str, ...] = ()  # fields of the live model that a task sets (Walker), saved per sub-env

    def __init__(self, num_envs: int, render_mode: str | None = None):
        super().__init__(num_envs)
        self.render_mode = render_mode
        self._closed = self._close_at_exit = False
        if render_mode is not None:
            select_gl_backend()
        kwargs = dict(self.gym_kwargs, disable_env_checker=True)
        if render_mode is not None:  # gymnasium's renderer (and its GL context) exists only when asked for
            kwargs["render_mode"] = render_mode
        self.envs = [gym.make(self.gym_id, **kwargs).unwrapped for _ in range(num_envs)]
        self.models = [e.model for e in self.envs]
        self.datas = [e.data for e in self.envs]
        for model in self.models:
            self.configure(model)
        self.frame_skip = self.envs[0].frame_skip
        self.dt = self.envs[0].dt  # model.opt.timestep * frame_skip, after `configure`
        self.render_fps = 1.0 / self.dt
        self.init_qpos = self.envs[0].init_qpos.copy()  # = model.qpos0
        self.init_qvel = self.envs[0].init_qvel.copy()
        self.nq, self.nv = self.models[0].nq, self.models[0].nv
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (self.obs_dim,), np.float32)
        self.action_space = self.envs[0].action_space  # Box(-1, 1); actions arrive unclipped (reference §1.7)
        self.tasks = np.zeros((num_envs, self.task_dim), np.float32)
        self.obs = np.zeros((num_envs, self.obs_dim), np.float64)
        self.pos_before = np.zeros((num_envs, 2), np.float64)
        self.pos_after = np.zeros((num_envs, 2), np.float64)

    def configure(self, model: mujoco.MjModel) -> None:
        """Adjust a freshly built model (Walker: timestep)."""

    def reset_episodes(self, ids):
        for i in ids:
            rng, model, data = self.rngs[i], self.models[i], self.datas[i]
            mujoco.mj_resetData(model, data)
            data.qpos[:] = self.init_qpos + rng.uniform(-self.qpos_noise, self.qpos_noise, self.nq)
            if self.qvel_noise_normal:
                data.qvel[:] = self.init_qvel + self.qvel_noise * rng.standard_normal(self.nv)
            else:
                data.qvel[:] = self.init_qvel + rng.uniform(-self.qvel_noise, self.qvel_noise, self.nv)
            mujoco.mj_forward(model, data)
            self.write_obs(i, data)
        return self.obs[ids].astype(np.float32)

    def render(self, index):
        if self.render_mode is None:
            raise RuntimeError("render() needs the env made with render_mode='rgb_array'")
        frame = self.envs[index].render()
        if not self._close_at_exit:
            # mujoco.egl terminates its display at exit, registered when the first GL context was made; atexit
            # runs last-in first-out, so this hook frees an unclosed env's contexts before that, without errors.
            self._close_at_exit = True
            this = weakref.ref(self)
            atexit.register(lambda: (env := this()) is not None and env.close())
        return frame

    def close(self):
        if not self._closed:
            self._closed = True
            for env in self.envs:
                env.close()

    def write_obs(self, i: int, data: mujoco.MjData) -> None:
        raise NotImplementedError

    def state_dict(self):
        sims = [sim_state(m, d, self.model_fields) for m, d in zip(self.models, self.datas, strict=True)]
        return {**super().state_dict(), "sims": sims}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        for model, data, saved in zip(self.models, self.datas, state["sims"], strict=True):
            load_sim_state(model, data, saved, self.model_fields)


class CheetahEnv(MujocoTaskEnv):
    """HalfCheetah (reference §4.2): gymnasium's half_cheetah.xml has gym 0.12's physics (it adds a camera).

    Observation (20): qpos[1:] (8), qvel (9), torso position (3). The reference's `get_body_com("torso")` is gym
    0.12 / mujoco-py 1.50's `data.get_body_xpos`, the torso *frame origin* `data.xpos[torso]`, not the subtree
    centre of mass (`data.subtree_com`, which the 0.5.7-era `get_body_com` returned). It is read straight after
    `mj_step` without another `mj_forward`, as mujoco-py did, so it lags qpos by one substep (Euler integrator).
    Forward velocity (x_after − x_before)/dt from qpos[0], dt = 0.01 × 5 = 0.05. No termination.
    """

    gym_id = "HalfCheetah-v5"
    obs_dim = 20
    qpos_noise, qvel_noise = 0.1, 0.1  # gym HalfCheetah reset_model: U(-.1, .1) and 0.1·N(0, 1)
    ctrl_cost_weight = 0.05  # 0.5 · 1e-1 (reference §4.2)

    def __init__(self, num_envs, render_mode=None):
        super().__init__(num_envs, render_mode)
        self.torso = self.models[0].body("torso").id
        self.no_termination = np.zeros(num_envs, bool)

    def write_obs(self, i, data):
        obs = self.obs[i]
        obs[:8] = data.qpos[1:]
        obs[8:17] = data.qvel
        obs[17:] = data.xpos[self.torso]

    def step(self, actions):
        actions = np.asarray(actions, dtype=np.float64)
        frame_skip = self.frame_skip
        for i, (model, data) in enumerate(zip(self.models, self.datas, strict=True)):
            self.pos_before[i, 0] = data.qpos[0]
            data.ctrl[:] = actions[
                i
            ]  # MuJoCo clamps to ctrlrange; the cost below uses the unclipped action (reference §1.7)
            mujoco.mj_step(model, data, nstep=frame_skip)
            self.pos_after[i, 0] = data.qpos[0]
            self.write_obs(i, data)
        forward_vel = (self.pos_after[:, 0] - self.pos_before[:, 0]) / self.dt
        ctrl_cost = self.ctrl_cost_weight * np.square(actions).sum(1)
        rewards = self.forward_reward(forward_vel) - ctrl_cost
        return self.obs.astype(np.float32), rewards, self.no_termination.copy(), self.no_termination.copy()

    def forward_reward(self, forward_vel: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class CheetahDir(CheetahEnv):
    """Task c_M: direction ±1 with equal probability; reward dir·v_x − 0.05‖a‖² (reference §4.2, §3.7)."""

    def sample_tasks(self, ids):
        for i in ids:
            self.tasks[i, 0] = 1.0 if self.rngs[i].random() < 0.5 else -1.0

    def forward_reward(self, forward_vel):
        return self.tasks[:, 0] * forward_vel


class CheetahVel(CheetahEnv):
    """Task c_M: target velocity ~ U[0, 3] (the code's range, not the docstring's [0, 2]); reward −|v_x − target|."""

    def sample_tasks(self, ids):
        for i in ids:
            self.tasks[i, 0] = self.rngs[i].uniform(0.0, 3.0)

    def forward_reward(self, forward_vel):
        return -np.abs(forward_vel - self.tasks[:, 0])


class AntDir(MujocoTaskEnv):
    """Ant-Dir (reference §4.3).

    gymnasium's ant.xml equals VariBAD's `assets/ant.xml` in everything physical (RK4, timestep 0.01, gear 150,
    ctrlrange ±1, same bodies/joints/geoms); it adds a tracking camera and lacks the two visual-only sites ("goal"
    hidden under the floor, "origin"). frame_skip 5, so dt = 0.05.

    Observation (27): qpos[2:] (13), qvel (14); no contact forces. Task g ∈ {−1, +1} is an *angle in radians*:
    reward = torso xy velocity · (cos g, sin g) − 0.5‖a‖² − 0.5e-3‖clip(cfrc_ext, −1, 1)‖² + 1. The torso velocity
    uses `data.xpos[torso]` (mujoco-py 1.50's `get_body_com`), read straight after `mj_step` as there (with RK4 it
    holds the kinematics of the integrator's last stage, within a substep of qpos). MuJoCo ≥ 2 computes
    `cfrc_ext` only on request, so `mj_rnePostConstraint` runs after each step (as gymnasium does; MuJoCo 1.50
    always computed it). Terminates when torso z leaves [0.2, 1.0] or the state is non-finite.
    """

    gym_id = "Ant-v5"
    obs_dim = 27
    qpos_noise, qvel_noise = 0.1, 0.1  # reference §4.3: U(-0.1, 0.1) and 0.1·N(0, 1)
    state_attrs = MujocoTaskEnv.state_attrs + ("contact_sq", "terminated")

    def __init__(self, num_envs, render_mode=None):
        super().__init__(num_envs, render_mode)
        self.torso = self.models[0].body("torso").id
        self.contact_sq = np.zeros(num_envs, np.float64)
        self.terminated = np.zeros(num_envs, bool)

    def sample_tasks(self, ids):
        for i in ids:
            self.tasks[i, 0] = 1.0 if self.rngs[i].random() < 0.5 else -1.0

    def write_obs(self, i, data):
        obs = self.obs[i]
        obs[:13] = data.qpos[2:]
        obs[13:] = data.qvel

    def step(self, actions):
        actions = np.asarray(actions, dtype=np.float64)
        torso, frame_skip = self.torso, self.frame_skip
        for i, (model, data) in enumerate(zip(self.models, self.datas, strict=True)):
            self.pos_before[i] = data.xpos[torso, :2]
            data.ctrl[:] = actions[i]  # clamped by MuJoCo; costs use the unclipped action (reference §1.7)
            mujoco.mj_step(model, data, nstep=frame_skip)
            mujoco.mj_rnePostConstraint(model, data)  # fills data.cfrc_ext
            self.pos_after[i] = data.xpos[torso, :2]
            self.contact_sq[i] = np.square(np.clip(data.cfrc_ext, -1.0, 1.0)).sum()
            z = data.qpos[2]
            finite = np.isfinite(data.qpos).all() and np.isfinite(data.qvel).all() and not _went_unstable(data)
            self.terminated[i] = not (finite and 0.2 <= z <= 1.0)
            self.write_obs(i, data)
        goal = self.tasks[:, 0].astype(np.float64)
        velocity = (self.pos_after - self.pos_before) / self.dt
        forward = velocity[:, 0] * np.cos(goal) + velocity[:, 1] * np.sin(goal)
        rewards = forward - 0.5 * np.square(actions).sum(1) - 0.5e-3 * self.contact_sq + 1.0
        return self.obs.astype(np.float32), rewards, self.terminated.copy(), np.zeros(self.num_envs, bool)


class Walker(MujocoTaskEnv):
    """Walker random physics (reference §4.4).

    Simulator: Walker2d-v5 with gymnasium's `walker2d.xml` (the v4 XML: right foot friction 0.9, left 1.9, as the
    reference's `walker2d.xml`; Walker2d-v5's default XML gives both feet 1.9). That XML has timestep 0.002, the
    reference's has 0.004: the live model gets timestep 0.004 and RK4, frame skip 4, so dt = 0.016.

    Observation (17): qpos[1:] (8), clip(qvel, −10, 10) (9). Reward (x_after − x_before)/dt + 1 − 1e-3‖a‖².
    Terminates unless 0.8 < height < 2.0 and −1 < angle < 1 (qpos[1], qpos[2]), or on a diverged state.
    Reset: initial qpos and qvel + U(−0.005, 0.005).

    Task: 65 physics parameters, each element scaled from its default by its own multiplier base^u, u ~ U(−3, 3):
    body_mass (8) 1.5^u, body_inertia (8×3) 1.5^u, dof_damping (9) 1.3^u, geom_friction (8×3) 1.5^u. Counts
    checked on this XML: 8 bodies (world included), 9 dofs, 8 geoms (floor included), as the reference's. The
    world body's mass/inertia and the root dofs' damping are 0 and stay 0. The task vector is the 65 absolute
    values in that key order. Like the reference (which wrote the fields into the model), derived constants from
    `mj_setConst` (e.g. `body_invweight0`) are not recomputed.
    """

    gym_id = "Walker2d-v5"
    gym_kwargs = {"xml_file": "walker2d.xml"}
    obs_dim = 17
    task_dim = 65  # 8 + 24 + 9 + 24, checked against the model in __init__
    qpos_noise, qvel_noise = 0.005, 0.005
    qvel_noise_normal = False
    timestep = 0.004
    fields = (("body_mass", 1.5), ("body_inertia", 1.5), ("dof_damping", 1.3), ("geom_friction", 1.5))
    log_scale_limit = 3.0
    model_fields = tuple(name for name, _ in fields)
    state_attrs = MujocoTaskEnv.state_attrs + ("terminated",)

    def __init__(self, num_envs, render_mode=None):
        super().__init__(num_envs, render_mode)
        assert self.frame_skip == 4, self.frame_skip  # RandomEnv hard-codes 4 (reference §4.4)
        model = self.models[0]
        self.defaults = {name: getattr(model, name).copy() for name, _ in self.fields}
        self.default_vector = np.concatenate([self.defaults[name].ravel() for name, _ in self.fields])
        self.bases = np.concatenate([np.full(self.defaults[name].size, base) for name, base in self.fields])
        assert self.default_vector.size == self.task_dim, self.default_vector.size
        self.tasks = np.tile(self.default_vector.astype(np.float32), (num_envs, 1))
        self.terminated = np.zeros(num_envs, bool)

    def configure(self, model):
        model.opt.timestep = self.timestep
        model.opt.integrator = mujoco.mjtIntegrator.mjINT_RK4

    def sample_tasks(self, ids):
        for i in ids:
            u = self.rngs[i].uniform(-self.log_scale_limit, self.log_scale_limit, self.task_dim)
            values = self.default_vector * self.bases**u
            model, start = self.models[i], 0
            for name, _ in self.fields:  # scale from the defaults, never compound across meta-episodes
                field = getattr(model, name)
                field[:] = values[start : start + field.size].reshape(field.shape)
                start += field.size
            self.tasks[i] = values

    def write_obs(self, i, data):
        obs = self.obs[i]
        obs[:8] = data.qpos[1:]
        np.clip(data.qvel, -10.0, 10.0, out=obs[8:])

    def step(self, actions):
        actions = np.asarray(actions, dtype=np.float64)
        frame_skip = self.frame_skip
        for i, (model, data) in enumerate(zip(self.models, self.datas, strict=True)):
            self.pos_before[i, 0] = data.qpos[0]
            data.ctrl[:] = actions[i]  # clamped by MuJoCo; the cost uses the unclipped action (reference §1.7)
            mujoco.mj_step(model, data, nstep=frame_skip)
            qpos = data.qpos
            self.pos_after[i, 0] = qpos[0]
            healthy = 0.8 < qpos[1] < 2.0 and -1.0 < qpos[2] < 1.0
            self.terminated[i] = not healthy or _went_unstable(data)
            self.write_obs(i, data)
        rewards = (self.pos_after[:, 0] - self.pos_before[:, 0]) / self.dt + 1.0 - 1e-3 * np.square(actions).sum(1)
        return self.obs.astype(np.float32), rewards, self.terminated.copy(), np.zeros(self.num_envs, bool)


_TASK_ENVS = {
    "CheetahDir": (CheetahDir, 1),
    "CheetahVel": (CheetahVel, 1),
    "AntDir": (AntDir, 1),
    "Walker": (Walker, 2),
}


def make_task_env(num_envs: int, render_mode: str | None = None, split: str = "train", name: str = "CheetahDir"):
    """(TaskEnv, episodes_per_task) for `name`. `split` is unused: test tasks come from the training distribution."""
    if name not in _TASK_ENVS:
        raise ValueError(f"unknown MuJoCo task {name!r}; valid: {', '.join(_TASK_ENVS)}")
    cls, episodes_per_task = _TASK_ENVS[name]
    return cls(num_envs, render_mode=render_mode), episodes_per_task


# ---- OpenGL backend for rendering (only when a render_mode is requested) ----
