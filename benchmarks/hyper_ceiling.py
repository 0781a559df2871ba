"""How close the hypernetwork's generated layers run to this machine's matrix-product limit, measured in one sitting.

    python benchmarks/hyper_ceiling.py --env-ids GridWorld CheetahDir

For each env id, with its preset's sizes (16 environments, latent embedding 25, state embedding 256, base networks
[256, 128]): the GFLOP/s of one plain matrix product of the shape a generated layer's forward is (the ceiling), then
the GFLOP/s the actor and critic (rnn_hn.py's HyperMLP, the same in vi_hn.py and ti_pp_hn.py) reach on a PPO
minibatch, forward and backward, and on a rollout step (one row per environment, forward only), as a share of it.
FLOPs are counted as 2·rows·(E+1)(in+1)·out per generated layer forward and twice that backward (the gradients of
the heads and of the layer's input): the products any exact evaluation of W(e) x + b(e) does for a latent that
differs per row. Every figure is the best of --repeats timings, so another process on the machine lowers them less.

    python benchmarks/hyper_ceiling.py --env-ids GridWorld CheetahDir --training-fps GridWorld=1450 CheetahDir=1500

With the training frames/s measured in the same sitting (benchmarks/speed.py), it also prints the share of a
training frame spent in the generated layers (one rollout forward and update_epochs minibatch forwards and
backwards per frame) and the bound on the whole-training speed-up if they ran at the plain product's GFLOP/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import envs  # noqa: E402
import rnn_hn  # noqa: E402  (its HyperMLP: rnn_hn.py is importable, its main runs only as a script)


def best_time(fn, repeats: int, number: int) -> float:
    """The smallest mean time of `number` calls, over `repeats` tries (after one warm-up)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def layer_shapes(preset: dict, n_out: int) -> list[tuple[int, int]]:
    """(in, out) of the actor's and the critic's generated layers."""
    h1, h2 = preset["policy_hidden_sizes"]
    sizes = [(preset["policy_state_embed_dim"], h1), (h1, h2)]
    return [*sizes, (h2, n_out), *sizes, (h2, 1)]


def measure(env_id: str, repeats: int) -> dict:
    preset = envs.preset(env_id)
    vec = envs.make(env_id, 1)
    space = vec.single_action_space
    n_out = space.n if hasattr(space, "n") else space.shape[0]
    vec.close()
    e = preset["latent_embed_dim"]
    actor = rnn_hn.HyperMLP(e, (preset["policy_state_embed_dim"], *preset["policy_hidden_sizes"], n_out))
    critic = rnn_hn.HyperMLP(e, (preset["policy_state_embed_dim"], *preset["policy_hidden_sizes"], 1))
    for net in (actor, critic):
        for p in net.parameters():
            torch.nn.init.normal_(p, std=0.01)
    shapes = layer_shapes(preset, n_out)
    flops_forward_row = sum(2 * (e + 1) * (i + 1) * o for i, o in shapes)
    result = {}
    for name, rows, train in (
        ("minibatch", preset["num_envs"] * preset["num_steps"] // preset["num_minibatches"], True),
        ("rollout step", preset["num_envs"], False),
    ):
        e1 = F.pad(torch.rand(rows, e) * 2 - 1, (0, 1), value=1.0).requires_grad_(train)
        s = (torch.rand(rows, preset["policy_state_embed_dim"]) * 2 - 1).requires_grad_(train)

        def step(e1=e1, s=s, train=train):
            if train:
                (actor((e1, s)).sum() + critic((e1, s)).sum()).backward()
            else:
                with torch.no_grad():
                    actor((e1, s))
                    critic((e1, s))

        flops = flops_forward_row * rows * (3 if train else 1)
        achieved = flops / best_time(step, repeats, 5 if train else 50) / 1e9
        i, o = shapes[0]
        a, b = torch.rand(rows, (e + 1) * (i + 1)), torch.rand((e + 1) * (i + 1), o)
        ceiling = 2 * rows * (e + 1) * (i + 1) * o / best_time(lambda a=a, b=b: a @ b, repeats, 5) / 1e9
        result[name] = (rows, achieved, ceiling, flops / rows)
    return result


def speedup_bound(preset: dict, result: dict, training_fps: float) -> tuple[float, float]:
    """The generated layers' share of a training frame's time, and 1 / (1 - share + share at the ceiling)."""
    seconds, seconds_at_ceiling = 0.0, 0.0
    for name, per_frame in (("rollout step", 1), ("minibatch", preset["update_epochs"])):
        _, achieved, ceiling, flops_row = result[name]
        seconds += per_frame * flops_row / (achieved * 1e9)
        seconds_at_ceiling += per_frame * flops_row / (ceiling * 1e9)
    share = seconds * training_fps
    return share, 1 / (1 - share + seconds_at_ceiling * training_fps)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-ids", nargs="+", default=["GridWorld", "CheetahDir"], choices=envs.ENV_IDS)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: %(default)s, the scripts')")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--training-fps",
        nargs="+",
        default=[],
        metavar="ENV_ID=FPS",
        help="rnn_hn.py's training frames/s per env id, measured in the same sitting, for the speed-up bound",
    )
    args = parser.parse_args()
    try:
        training_fps = {k: float(v) for k, v in (item.split("=") for item in args.training_fps)}
    except ValueError:
        parser.error(f"--training-fps takes ENV_ID=FPS pairs such as GridWorld=1450, not {args.training_fps}")
    if unknown := set(training_fps) - set(args.env_ids):
        parser.error(f"--training-fps names {', '.join(sorted(unknown))}, not in --env-ids {' '.join(args.env_ids)}")
    torch.set_num_threads(args.threads)
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {args.threads} torch thread(s), best of {args.repeats}")
    print("| env | what | rows | generated layers, GFLOP/s | plain matrix product, GFLOP/s | share |")
    print("|---|---|---|---|---|---|")
    results = {env_id: measure(env_id, args.repeats) for env_id in args.env_ids}
    for env_id, result in results.items():
        for name, (rows, achieved, ceiling, _) in result.items():
            print(f"| {env_id} | {name} | {rows} | {achieved:.1f} | {ceiling:.1f} | {achieved / ceiling:.0%} |")
    if training_fps:
        print("\n| env | training frames/s | generated layers' share of a frame | speed-up bound at the ceiling |")
        print("|---|---|---|---|")
    for env_id, fps in training_fps.items():
        share, bound = speedup_bound(envs.preset(env_id), results[env_id], fps)
        print(f"| {env_id} | {fps:,.0f} | {share:.0%} | {bound:.2f}x |")


if __name__ == "__main__":
    main()
