"""MC-LS, the Minecraft long-term-memory maze (reference §4.5), batched in numpy.

The reference loads 10×10 screenshots of a Minecraft maze; here the views are drawn procedurally once at import
(difference 8): a green/red signal platform, corridors, the column with an iron (grey) or diamond
(cyan) block in front of it, side corridors, the doorway into the next room and the end platform. Layout,
actions, rewards and timeout are the reference's. The indicator is visible only on the signal platform, so the
agent must remember it through 16 rooms (≥ 97 steps) to choose the end correctly.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from envs.core import TaskEnv

NUM_ROOMS = 16
TIMEOUT = 200  # a step called when the counter (1 at reset) is >= 200 ends the episode with 0 reward
EPISODES_PER_TASK = 2
UP, DOWN = 2, 3  # the reference's indicator values (its Actions enum); task c_M is one of them
PROGRESS_R, CHECK_SUCCESS_R, CHECK_FAIL_R, SUCCESS_R, FAIL_R = 0.1, 0.1, 0.0, 4.0, -3.0
SIZE = 10  # view resolution (reference DOWNSAMPLE_SZ)

# Cells of one episode. Room cells are (x, y) inside the current room: the agent enters at (0, 0), the column
# stands at (0, 2) with (0, 1) in front of it, the side corridors are x = ±1, and (0, 3) is behind the column.
SIGNAL, C00, C01, L1, R1, L2, R2, L3, R3, C03, END = range(11)
NUM_CELLS = 11
CELL_XY = {C00: (0, 0), C01: (0, 1), L1: (-1, 1), R1: (1, 1), L2: (-1, 2), R2: (1, 2), L3: (-1, 3), R3: (1, 3)}
CELL_XY[C03] = (0, 3)
NEXT_ROOM, DONE = 11, 12  # markers in NEXT: leave the room at (0, 4) / leave the end platform sideways

# Actions: 0 left (dx -1), 1 forward (dy +1), 2 right (dx +1). NEXT[cell, action] is the cell after the move;
# a blocked move leaves the cell unchanged (0 reward, the step still counts). Mirrors `get_delta_x_delta_y`.
# fmt: off
NEXT = np.array([
    #  left       forward    right
    [SIGNAL,    SIGNAL,    C00],        # signal platform: only right, into room 0's (0, 0)
    [C00,       C01,       C00],        # (0, 0): walls left and right, column ahead
    [L1,        C01,       R1],         # (0, 1): column blocks forward; the decision, left or right around it
    [L1,        L2,        L1],         # (-1, 1): side corridor, walls on both sides
    [R1,        R2,        R1],         # (1, 1)
    [L2,        L3,        L2],         # (-1, 2)
    [R2,        R3,        R2],         # (1, 2)
    [L3,        L3,        C03],        # (-1, 3): wall ahead and left; right goes back to the centre
    [C03,       R3,        R3],         # (1, 3): wall ahead and right; left goes back to the centre
    [C03,       NEXT_ROOM, C03],        # (0, 3): forward to (0, 4) = the next room's (0, 0), or the end platform
    [DONE,      END,       DONE],       # end platform: forward blocked, left or right ends the episode
], dtype=np.int64)
# fmt: on

# REWARD[cell, action, room type, indicator index (0 UP, 1 DOWN)].
REWARD = np.where(NEXT != np.arange(NUM_CELLS)[:, None], PROGRESS_R, 0.0)[:, :, None, None].repeat(2, 2).repeat(2, 3)
REWARD[C01, 0] = np.array([CHECK_SUCCESS_R, CHECK_FAIL_R])[:, None]  # iron (type 0): left is correct
REWARD[C01, 2] = np.array([CHECK_FAIL_R, CHECK_SUCCESS_R])[:, None]  # diamond (type 1): right is correct
REWARD[END, 0] = np.array([FAIL_R, SUCCESS_R])  # red / DOWN: left is correct
REWARD[END, 2] = np.array([SUCCESS_R, FAIL_R])  # green / UP: right is correct
REWARD.flags.writeable = False


# ---- views: 10×10 RGB, row 0 at the top, facing forward (+y) everywhere ----
SKY, FLOOR, WALL, FAR_WALL, COLUMN = (125, 175, 235), (105, 80, 55), (165, 125, 80), (120, 90, 60), (75, 75, 80)
IRON, IRON_DOT, DIAMOND, DIAMOND_DOT = (205, 205, 210), (160, 160, 165), (80, 220, 210), (200, 250, 245)
GREEN, RED, STONE, DOOR, GOLD = (50, 200, 60), (215, 45, 45), (140, 140, 140), (35, 25, 20), (235, 195, 60)


def _base(floor=FLOOR):
    img = np.empty((SIZE, SIZE, 3), np.uint8)
    img[:5], img[5:] = SKY, floor
    return img


def _block(colour, dot):
    """The column's ore block seen from one step away: fills the centre, the side openings show at the edges."""
    img = _base()
    img[:, 2:8] = colour
    img[2:8:3, 3:8:3] = dot  # ore speckles
    img[3:9:4, 2:8:4] = dot
    return img


def _views() -> dict[str, np.ndarray]:
    v = {}
    for name, colour in (("green", GREEN), ("red", RED)):  # signal platform: a large coloured block ahead
        img = _base(STONE)
        img[2:8, 2:8] = colour
        v[name] = img
    img = _base()  # (0, 0): walls close on both sides, the column one step ahead, its block not yet in view
    img[:, :1] = img[:, 9:] = WALL
    img[2:9, 3:7] = COLUMN
    v["c00"] = img
    v["iron"], v["diamond"] = _block(IRON, IRON_DOT), _block(DIAMOND, DIAMOND_DOT)
    img = _base()  # (-1, 1): outer wall left, the column's side right, the corridor's end wall two steps ahead
    img[:, :2], img[:, 8:] = WALL, COLUMN
    img[3:7, 3:7] = FAR_WALL
    v["l1"] = img
    img = _base()  # (-1, 2): the end wall one step ahead, the opening to the centre on its right
    img[:, :2], img[1:9, 8:] = WALL, COLUMN
    img[2:8, 2:6] = FAR_WALL
    v["l2"] = img
    img = _base()  # (-1, 3): facing the wall, the way back to the centre open on the right
    img[:, :8] = WALL
    img[4:6, 1:7] = FAR_WALL  # a darker course of blocks, so the wall reads as a wall
    v["l3"] = img
    for k in ("l1", "l2", "l3"):  # the right corridor is the mirror image of the left one
        v["r" + k[1:]] = v[k][:, ::-1]
    img = _base()  # (0, 3): behind the column, walls on both sides, the doorway into the next room ahead
    img[:, :2] = img[:, 8:] = WALL
    img[1:9, 2:8] = FAR_WALL
    img[3:9, 4:6] = DOOR
    v["c03"] = img
    img = _base(GOLD)  # end platform: a golden floor, open sky, a pillar straight ahead (forward is blocked)
    img[3:, 4:6] = STONE
    v["end"] = img
    return v


VIEWS = _views()
VIEW_NAMES = tuple(VIEWS)
IMAGES = np.stack([VIEWS[k] for k in VIEW_NAMES])  # (num_views, 10, 10, 3) uint8
# VIEW[cell, room type, indicator index] -> index into IMAGES. The room type shows only at (0, 1); the
# indicator only on the signal platform.
VIEW = np.zeros((NUM_CELLS, 2, 2), np.int64)
_CELL_VIEW = {C00: "c00", L1: "l1", R1: "r1", L2: "l2", R2: "r2", L3: "l3", R3: "r3", C03: "c03", END: "end"}
for _cell, _name in _CELL_VIEW.items():
    VIEW[_cell] = VIEW_NAMES.index(_name)
VIEW[SIGNAL, :, 0], VIEW[SIGNAL, :, 1] = VIEW_NAMES.index("green"), VIEW_NAMES.index("red")
VIEW[C01, 0], VIEW[C01, 1] = VIEW_NAMES.index("iron"), VIEW_NAMES.index("diamond")
# OBS[cell, room type, indicator index]: the flattened view scaled to [-1, 1] as the reference does.
OBS = ((IMAGES.astype(np.float32) - 128.0) / 128.0).reshape(len(IMAGES), -1)[VIEW]
OBS.flags.writeable = False


class MineMaze(TaskEnv):
    """16 rooms between a signal platform (green: UP, go right at the end; red: DOWN, go left) and an end platform.

    Per sub-environment state: `cell` (SIGNAL, a room cell, or END), `room` (0-15), `room_types` (16 values in
    {0, 1}, redrawn every inner episode), `up` (indicator index, 0 UP / 1 DOWN, redrawn per meta-episode) and
    `t`, the reference's step counter (1 at reset).
    """

    task_dim = 1
    # The reference's `_max_episode_steps` (timeout + 1). The env ends every episode itself by its 200th call, so
    # MetaVecEnv's own counter (which would fire on call 201) never pre-empts it; meta_episode_horizon = 402 is
    # the reference's `max_trajectory_len`.
    max_episode_steps = TIMEOUT + 1
    shows_start_after_inner_end = True  # reference §1.2: maze envs show the new episode's start, flag 1
    state_attrs = TaskEnv.state_attrs + ("cell", "room", "room_types", "indicator", "t")

    def __init__(self, num_envs: int):
        super().__init__(num_envs)
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (SIZE * SIZE * 3,), np.float32)
        self.action_space = gym.spaces.Discrete(3)
        self.cell = np.full(num_envs, SIGNAL, np.int64)
        self.room = np.zeros(num_envs, np.int64)
        self.room_types = np.zeros((num_envs, NUM_ROOMS), np.int64)
        self.indicator = np.zeros(num_envs, np.int64)  # 0 UP, 1 DOWN
        self.t = np.ones(num_envs, np.int64)
        self.tasks = np.full((num_envs, 1), UP, np.float32)
        self._ids = np.arange(num_envs)

    def sample_tasks(self, ids):
        for i in ids:
            self.indicator[i] = self.rngs[i].integers(2)  # UP or DOWN with probability 0.5 each
        self.tasks[ids, 0] = np.where(self.indicator[ids] == 0, UP, DOWN)

    def reset_episodes(self, ids):
        for i in ids:
            self.room_types[i] = self.rngs[i].integers(0, 2, NUM_ROOMS)
        self.cell[ids], self.room[ids], self.t[ids] = SIGNAL, 0, 1
        return self._obs()[ids]

    def _obs(self):
        room_type = self.room_types[self._ids, self.room]
        return OBS[self.cell, room_type, self.indicator]

    def step(self, actions):
        actions = np.asarray(actions, np.int64)
        live = self.t < TIMEOUT  # the timed-out call neither moves nor rewards
        room_type = self.room_types[self._ids, self.room]
        rewards = np.where(live, REWARD[self.cell, actions, room_type, self.indicator], 0.0)
        nxt = np.where(live, NEXT[self.cell, actions], self.cell)
        leave = nxt == NEXT_ROOM
        self.room += leave
        nxt = np.where(leave, np.where(self.room < NUM_ROOMS, C00, END), nxt)
        self.room = np.minimum(self.room, NUM_ROOMS - 1)  # on the end platform room stays 15 (it is not used)
        terminated = nxt == DONE
        self.cell = np.where(terminated, END, nxt)  # the terminal view is the end platform
        self.t += 1
        return self._obs(), rewards, terminated, ~live

    def render(self, index):
        """The agent's view ×8 (80×80) beside an 80×80 map: the current room (column in its block's colour,
        agent blue), the 16 room types below it (current one outlined) and the indicator in the corner."""
        i = int(index)
        cell = int(self.cell[i])
        view = IMAGES[VIEW[self.cell[i], self.room_types[i, self.room[i]], self.indicator[i]]]
        frame = np.full((80, 160, 3), 30, np.uint8)
        frame[:, :80] = view.repeat(8, 0).repeat(8, 1)
        block = (IRON, DIAMOND)
        room = frame[4:52, 102:138]  # 3 columns (x -1..1) × 4 rows (y 3..0, forward is up), 12 px a cell
        room[:] = FLOOR
        room[12:24, 12:24] = block[self.room_types[i, self.room[i]]]  # the column at (0, 2)
        if cell in CELL_XY:
            x, y = CELL_XY[cell]
            room[(3 - y) * 12 + 3 : (4 - y) * 12 - 3, (x + 1) * 12 + 3 : (x + 2) * 12 - 3] = (40, 90, 220)
        for r in range(NUM_ROOMS):  # room strip: 16 cells of 3 px, 1 px gaps
            c0 = 88 + r * 4
            frame[62:72, c0 : c0 + 3] = block[self.room_types[i, r]]
        if cell not in (SIGNAL, END):
            c0 = 88 + self.room[i] * 4
            frame[59:61, c0 : c0 + 3] = frame[73:75, c0 : c0 + 3] = 255
        frame[4:14, 146:156] = (GREEN, RED)[self.indicator[i]]
        if cell == END:
            frame[18:28, 146:156] = GOLD
        return frame


def make_task_env(num_envs: int, render_mode=None, split="train"):
    """MC-LS: 2 inner episodes per task; "test" tasks come from the training distribution (reference §5.1)."""
    return MineMaze(num_envs), EPISODES_PER_TASK
