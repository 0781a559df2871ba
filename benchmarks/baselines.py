"""Meta-episode return of a uniformly random policy: the floor a learning curve must clear.

    python benchmarks/baselines.py --ids GridWorld MC-LS --meta-episodes 2048

Runs N sub-environments side by side until each has finished its first meta-episode (so variable-length
meta-episodes are not over-sampled), and prints the mean meta-episode return with its standard error and the mean
return of each inner episode.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import envs  # noqa: E402


def random_actions(space, num_envs: int, rng: np.random.Generator) -> np.ndarray:
    """One uniformly random action per sub-environment, for a Discrete or a Box action space."""
    if hasattr(space, "n"):
        return rng.integers(0, space.n, num_envs)
    return rng.uniform(space.low, space.high, (num_envs, *space.shape)).astype(np.float32)


def random_policy_returns(env_id: str, meta_episodes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(meta-episode returns, per-inner-episode returns) of the first meta-episode of `meta_episodes` sub-envs."""
    vec = envs.make(env_id, meta_episodes, seed=seed)
    vec.reset(seed=seed)
    rng = np.random.default_rng(seed)
    returns = np.full(meta_episodes, np.nan)
    episodes = np.full((meta_episodes, vec.episodes_per_task), np.nan)
    while np.isnan(returns).any():
        _, _, _, _, infos = vec.step(random_actions(vec.single_action_space, meta_episodes, rng))
        if "_meta_episode" in infos:
            first = infos["_meta_episode"] & np.isnan(returns)
            returns[first] = infos["meta_episode_return"][first]
            episodes[first] = infos["episode_returns"][first]
    vec.close()
    return returns, episodes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ids", nargs="+", default=["GridWorld"], choices=envs.ENV_IDS, metavar="ENV_ID")
    parser.add_argument("--meta-episodes", type=int, default=2048, help="sub-environments, one meta-episode each")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.meta_episodes < 2:
        parser.error(f"--meta-episodes must be at least 2 (for a standard error), got {args.meta_episodes}")
    print("| env id | random policy: meta-episode return (± s.e.) | per inner episode | meta-episodes |")
    print("|---|---|---|---|")
    results = {}
    for env_id in args.ids:
        returns, episodes = random_policy_returns(env_id, args.meta_episodes, args.seed)
        se = returns.std(ddof=1) / np.sqrt(len(returns))
        per_episode = " / ".join(f"{r:.2f}" for r in episodes.mean(0))
        print(f"| {env_id} | {returns.mean():.2f} ± {se:.2f} | {per_episode} | {len(returns)} |", flush=True)
        results[env_id] = (returns.mean(), se)
    return results


if __name__ == "__main__":
    main()
