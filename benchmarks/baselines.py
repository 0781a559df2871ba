"""Meta-episode returns of fixed policies: a random floor, standing still on MuJoCo, a scripted reference on Meta-World.

    python benchmarks/baselines.py --ids GridWorld MC-LS --meta-episodes 2048
    python benchmarks/baselines.py --ids AntDir Walker --policy still --meta-episodes 512
    python benchmarks/baselines.py --ids ML1-reach ML10 --policy scripted --meta-episodes 32

`random` is a uniformly random policy (every env id). `still` applies no torque (zero actions) on the MuJoCo tasks:
the return of not moving, which on Ant-Dir and Walker is mostly their survival bonus. `scripted` is Meta-World's own
scripted policy of each task class (`metaworld.policies`), told the goal position that the ML benchmarks hide from
the agent (the observation's last 3 entries, zero here, get the task's goal): a goal-knowing reference, like the
grids' goal-knowing oracle.

Runs N sub-environments side by side until each has finished its first meta-episode (so variable-length
meta-episodes are not over-sampled), and prints the mean meta-episode return with its standard error, the mean
return of each inner episode and, on Meta-World, the success rate of each inner episode.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import envs  # noqa: E402

POLICIES = ("random", "still", "scripted")
ONLY_FOR = {"still": envs.MUJOCO_IDS, "scripted": envs.METAWORLD_IDS}  # the env ids a policy exists for


def random_actions(space, num_envs: int, rng: np.random.Generator) -> np.ndarray:
    """One uniformly random action per sub-environment, for a Discrete or a Box action space."""
    if hasattr(space, "n"):
        return rng.integers(0, space.n, num_envs)
    return rng.uniform(space.low, space.high, (num_envs, *space.shape)).astype(np.float32)


def scripted_actions(vec, obs: np.ndarray, policies: dict) -> np.ndarray:
    """Meta-World's scripted policy of each sub-environment's active class, on its observation with the goal filled
    in; `policies` caches one policy object per class name."""
    from metaworld.policies import ENV_POLICY_MAP

    task_env = vec.env
    raw = np.array(obs[:, :-1] if vec.with_flag else obs, np.float64)  # without the done flag
    raw[:, -3:] = task_env.tasks[:, -3:]  # c_M ends with the goal position (envs/metaworld_envs.py)
    actions = np.empty((vec.num_envs, *vec.single_action_space.shape), np.float32)
    for i, c in enumerate(task_env.class_ids):
        name = task_env.class_names[c]
        if name not in policies:
            policies[name] = ENV_POLICY_MAP[name]()
        actions[i] = policies[name].get_action(raw[i])
    return actions


def policy_returns(
    env_id: str, meta_episodes: int, seed: int = 0, policy: str = "random"
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(meta-episode returns, per-inner-episode returns, per-inner-episode successes or None where the env reports
    none) of the first meta-episode of `meta_episodes` sub-envs under `policy` (one of POLICIES)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; choose from {', '.join(POLICIES)}")
    if env_id not in ONLY_FOR.get(policy, envs.ENV_IDS):
        raise ValueError(f"the {policy} policy exists only for {', '.join(ONLY_FOR[policy])}, not {env_id}")
    if policy == "scripted":  # metaworld's move() warns when its gain saturates an action, which the env clips
        warnings.filterwarnings("ignore", message="Constant", module="metaworld")
    vec = envs.make(env_id, meta_episodes, seed=seed)
    obs, _ = vec.reset(seed=seed)
    rng = np.random.default_rng(seed)
    policies = {}
    returns = np.full(meta_episodes, np.nan)
    episodes = np.full((meta_episodes, vec.episodes_per_task), np.nan)
    successes = np.zeros((meta_episodes, vec.episodes_per_task), bool) if vec.reports_success else None
    while np.isnan(returns).any():
        if policy == "random":
            actions = random_actions(vec.single_action_space, meta_episodes, rng)
        elif policy == "still":
            actions = np.zeros((meta_episodes, *vec.single_action_space.shape), np.float32)
        else:
            actions = scripted_actions(vec, obs, policies)
        obs, _, _, _, infos = vec.step(actions)
        if "_meta_episode" in infos:
            first = infos["_meta_episode"] & np.isnan(returns)
            returns[first] = infos["meta_episode_return"][first]
            episodes[first] = infos["episode_returns"][first]
            if successes is not None:
                successes[first] = infos["episode_successes"][first]
    vec.close()
    return returns, episodes, successes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ids", nargs="+", default=["GridWorld"], choices=envs.ENV_IDS, metavar="ENV_ID")
    parser.add_argument("--meta-episodes", type=int, default=2048, help="sub-environments, one meta-episode each")
    parser.add_argument(
        "--policy", default="random", choices=POLICIES, help="random: every id; still: MuJoCo; scripted: Meta-World"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.meta_episodes < 2:
        parser.error(f"--meta-episodes must be at least 2 (for a standard error), got {args.meta_episodes}")
    if set(args.ids) - set(ONLY_FOR.get(args.policy, envs.ENV_IDS)):
        parser.error(f"--policy {args.policy} exists only for {', '.join(ONLY_FOR[args.policy])}")
    print(
        f"| env id | {args.policy} policy: meta-episode return (± s.e.) | per inner episode | success rate per inner "
        "episode | meta-episodes |"
    )
    print("|---|---|---|---|---|")
    results = {}
    for env_id in args.ids:
        returns, episodes, successes = policy_returns(env_id, args.meta_episodes, args.seed, args.policy)
        se = returns.std(ddof=1) / np.sqrt(len(returns))
        per_episode = " / ".join(f"{r:.2f}" for r in episodes.mean(0))
        success = "" if successes is None else " / ".join(f"{s:.2f}" for s in successes.mean(0))
        print(
            f"| {env_id} | {returns.mean():.2f} ± {se:.2f} | {per_episode} | {success} | {len(returns)} |", flush=True
        )
        results[env_id] = (returns.mean(), se)
    return results


if __name__ == "__main__":
    main()
