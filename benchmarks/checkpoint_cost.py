"""What --checkpoint-interval costs: the size of a run's state.pt and the time to write it, at the paper's settings.

    python benchmarks/checkpoint_cost.py --methods rnn rnn_hn vi_hn --env-ids GridWorld CheetahDir MC-LS

For each (method, env id), a real run of one update (one rollout past the VAE methods' pre-collect) writes its
state.pt; the VAE methods' buffer in it then holds a few meta-episodes, so the worst case, a full buffer, is
measured separately: the script's own VAEBuffer at the preset's size, every row filled, saved alone. The write
time is that of `torch.save` into this machine's temporary directory (median of --repeats). The overhead is the
full state's write time over the wall-clock of --checkpoint-interval updates at --frames-per-s (a measured speed).
"""

from __future__ import annotations

import argparse
import glob
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import envs  # noqa: E402
from benchmarks.run import METHODS  # noqa: E402


def write_time(state, repeats: int, directory: str) -> tuple[int, float]:
    """(bytes, median seconds) of torch.save(state) to a file in `directory`."""
    path, times = os.path.join(directory, "state.pt"), []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.save(state, path)
        times.append(time.perf_counter() - start)
    size = os.path.getsize(path)
    os.remove(path)
    return size, statistics.median(times)


def one_update_state(method: str, env_id: str) -> dict:
    """The state.pt of a run of the paper's settings stopped after its first update."""
    preset = envs.preset(env_id)
    batch = preset["num_envs"] * preset["num_steps"]
    frames = batch * (1 + (preset["precollect_frames"] - 1) // batch if method not in ("rnn", "rnn_hn") else 1)
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, os.path.join(ROOT, f"{method}.py"), "--env-id", env_id, "--lr", "1e-4"]
        command += ["--total-timesteps", str(frames), "--checkpoint-interval", "1", "--eval-interval", "1000000"]
        subprocess.run(command, cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        (path,) = glob.glob(os.path.join(tmp, "runs", "*", "state.pt"))
        return torch.load(path, weights_only=True)


def full_buffer(method: str, env_id: str):
    """The method's VAEBuffer at the preset's size with every row holding a (zero) meta-episode, or None."""
    if method in ("rnn", "rnn_hn"):
        return None
    # the script as a module: its VAEBuffer, a name its header declares for outside code
    module, preset = importlib.import_module(method), envs.preset(env_id)
    vec = envs.make(env_id, preset["num_envs"], seed=0)
    buffer = module.VAEBuffer(preset["vae_buffer_size"], vec)
    vec.close()
    buffer.count = buffer.size
    for array in (buffer.obs, buffer.actions, buffer.rewards, buffer.tasks, buffer.lengths):
        array.fill(1)  # touch every page, as a full buffer has
    return buffer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--env-ids", nargs="+", default=["GridWorld", "CheetahDir", "MC-LS", "ML10"])
    parser.add_argument("--repeats", type=int, default=3, help="writes timed per state (median)")
    parser.add_argument(
        "--frames-per-s", nargs="+", default=[], metavar="METHOD:ENV_ID=FPS",
        help="measured training speeds for the overhead column, e.g. rnn_hn:CheetahDir=520",
    )  # fmt: skip
    args = parser.parse_args(argv)
    for env_id in args.env_ids:
        if env_id not in envs.ENV_IDS:
            parser.error(f"unknown env id {env_id!r}; valid ids: {', '.join(envs.ENV_IDS)}")
    speeds = {}
    for item in args.frames_per_s:
        key, _, value = item.partition("=")
        speeds[tuple(key.split(":"))] = float(value)
    torch.set_num_threads(1)
    print("| method | env id | state.pt after 1 update | write | full VAE buffer | write | interval | overhead |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for env_id in args.env_ids:
            preset = envs.preset(env_id)
            for method in args.methods:
                state = one_update_state(method, env_id)
                size, seconds = write_time(state, args.repeats, tmp)
                buffer = full_buffer(method, env_id)
                buffer_size, buffer_seconds = write_time(buffer.state_dict(), args.repeats, tmp) if buffer else (0, 0.0)
                del buffer
                overhead = "n/a"
                if (method, env_id) in speeds:
                    update_s = preset["num_envs"] * preset["num_steps"] / speeds[method, env_id]
                    worst = seconds + buffer_seconds
                    overhead = f"{100 * worst / (preset['checkpoint_interval'] * update_s):.2f}%"
                full = f"{buffer_size / 2**20:,.1f} MiB" if buffer_size else "-"
                print(
                    f"| {method} | {env_id} | {size / 2**20:,.2f} MiB | {seconds:.3f} s | {full} | "
                    f"{buffer_seconds:.2f} s | {preset['checkpoint_interval']} | {overhead} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
