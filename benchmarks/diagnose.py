"""Why a MuJoCo or Meta-World run scores what it does: its deterministic policy on fresh tasks, task by task.

    python benchmarks/diagnose.py sweeps/1M/runs/AntDir__rnn_hn_lr3e-4__73__*/state.pt
    python benchmarks/diagnose.py runs/CheetahVel__rnn__1__*/rnn.pt --method rnn --tasks 64
    python benchmarks/diagnose.py --untrained AntDir --method rnn_hn --run-seed 73   # the policy before training
    python benchmarks/diagnose.py --untrained AntDir --method rnn --run-seed 73 -- --pass-state --policy-init-std 0.3

For any of the six methods: loads a run's saved training state (state.pt, which names its script: the state after
its last multiple of --checkpoint-interval updates), its --save-model checkpoint (the final policy; give --method),
or with --untrained the agent a run starts from
(its initialisation at --seed --run-seed, and the script's own arguments after `--`: what training has to move
away from), runs one meta-episode with
deterministic actions on each of --tasks fresh tasks, as the scripts' evaluation does (with --seed S + 100000 and
--tasks 16, the very tasks of the run's own evaluations), and prints

- the mean meta-episode return, the mean episode length, and how many inner episodes ended early (Ant-Dir and
  Walker end one when the robot falls);
- the mean |action|, and the standard deviation of the policy's training actions (its state-independent log-std);
- on Ant-Dir and Walker, the return minus the survival bonus (+1 for each step alive): what moving earned, net of
  the control and contact costs;
- on Cheetah-Vel, a least-squares fit of each task's mean forward speed over its last 100 steps against the target:
  a policy blind to the target has slope 0, one that tracks it exactly slope 1 and intercept 0;
- on Ant-Dir, the torso's velocity along the task's direction (the angle g = +1 or -1 rad from x: what the reward
  pays), and its two parts: along x, which both tasks pay (cos 1 = 0.54 of it), and sideways toward the task's
  side (y times the sign of g, which only the task's own direction pays; sin 1 = 0.84 of it); each averaged over a
  task's steps alive, then over tasks; and the heading they give, in degrees off x toward the task's side: a policy
  blind to the task walks at 0 degrees (the best compromise between the two directions), one that walks the way
  its task says at 57.3; and the heading over each half of the episode apart (a policy that infers the task from
  its rewards turns toward the task's side as it goes);
- on Meta-World, how many inner episodes succeeded (at any step) and after how many steps, on average, they first
  did; in each episode that did not succeed (mean over those), the closest the gripper (on reach) or the object (on
  the other tasks) came to the goal, success being within 0.05 on reach and push, 0.07 on pick-place, and the
  closest the gripper came to the object; and the mean reward per step; on ML10, per task class, the tasks
  drawn, their mean return and their successful inner episodes. `--split test` runs Meta-World's held-out tasks
  instead (with --seed S + 300000, a run's own eval_test tasks).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

import numpy as np
import torch
import tyro

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import envs  # noqa: E402

METHODS = ("rnn", "rnn_hn", "vi_hn", "ti_naive", "ti", "ti_pp_hn")
VAE_METHODS = METHODS[2:]  # their policy sees the encoder head's normalised output (their evaluate()'s latent_rms)
SURVIVAL_BONUS = ("AntDir", "Walker")  # +1 for each step alive (reference §4.3, §4.4)


def method_module(method: str):
    """The method script as a module (from ROOT; the scripts train only under __main__). This file uses its Args,
    Agent and RunningMeanStd, the names each script's header declares for outside code."""
    return importlib.import_module(method)


def check_env(env_id: str, source: str):
    if env_id not in envs.MUJOCO_IDS + envs.METAWORLD_IDS:
        valid = ", ".join(envs.MUJOCO_IDS + envs.METAWORLD_IDS)
        raise SystemExit(f"error: {source}: a {env_id} run; diagnose.py reads {valid} runs")


def load(path: str, method: str | None):
    """(the method's module, the saved state, its Args) from a state.pt or a --save-model checkpoint."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    method = method or state.get("script", "")[: -len(".py")]
    if method not in METHODS:
        raise SystemExit(f"error: {path}: give --method, one of {', '.join(METHODS)} (got {method or 'none'})")
    module = method_module(method)
    fields = module.Args.__dataclass_fields__
    args = module.Args(**{k: tuple(v) if isinstance(v, list) else v for k, v in state["args"].items() if k in fields})
    check_env(args.env_id, path)
    return module, state, args


def untrained(method: str, env_id: str, run_seed: int, script_args: tuple[str, ...] = ()):
    """(module, state, Args) of the agent that `{method}.py --env-id env_id --seed run_seed *script_args` starts
    from: seeded as the script seeds it, with the preset's sizes, the observation normaliser at its start (mean 0,
    variance 1)."""
    check_env(env_id, f"--untrained {env_id}")
    module = method_module(method)
    args = tyro.cli(module.Args, args=["--env-id", env_id, "--seed", str(run_seed), *script_args], prog=f"{method}.py")
    for key, value in envs.preset(env_id, method).items():
        if hasattr(args, key) and getattr(args, key) is None:
            setattr(args, key, value)
    vec = envs.make(env_id, 1, seed=run_seed)
    with torch.random.fork_rng(devices=[]):  # seeded as the script is, leaving the caller's generator as it was
        torch.manual_seed(run_seed)
        agent = module.Agent(vec, args)
    fresh = {"normaliser_0": module.RunningMeanStd(vec.single_observation_space.shape).state_dict()}
    if method in VAE_METHODS:
        fresh["normaliser_1"] = module.RunningMeanStd((2 * args.latent_dim,)).state_dict()
    vec.close()
    return module, {"agent": agent.state_dict(), "iteration": 0, **fresh}, args


def diagnose(loaded, tasks: int = 16, seed: int = 12345, split: str = "train") -> dict:
    """One deterministic meta-episode on each of `tasks` fresh tasks of the run's env (env seed `seed`, task split
    `split`); `loaded` is what load() or untrained() returns."""
    module, state, args = loaded
    vec = envs.make(args.env_id, tasks, seed=seed, split=split)
    agent = module.Agent(vec, args)
    agent.load_state_dict(state["agent"])
    obs_rms = module.RunningMeanStd(vec.single_observation_space.shape)
    obs_rms.load_state_dict(state["normaliser_0"] if "normaliser_0" in state else state["obs_rms"])
    latent_rms = None
    if module.__name__ in VAE_METHODS:
        latent_rms = module.RunningMeanStd()
        latent_rms.load_state_dict(state["normaliser_1"] if "normaliser_1" in state else state["latent_rms"])
    task_env = vec.env
    obs, info = vec.reset()
    target = info["task"][:, 0].copy()
    # ML10: each task's class (a meta-episode keeps its task)
    classes = np.array([task_env.class_names[c] for c in task_env.class_ids]) if args.env_id == "ML10" else None
    obs = torch.tensor(obs)
    finished = np.zeros(tasks, bool)
    returns, steps, early, action_sizes, speeds = np.zeros(tasks), np.zeros(tasks), np.zeros(tasks, int), [], []
    # Ant-Dir: torso velocity along g, along x and to g's side, summed over the steps alive in each half episode
    along, half_steps = np.zeros((tasks, 2, 3)), np.zeros((tasks, 2))
    episode = np.zeros(tasks, int)  # the inner episode each task is in
    closest = np.full((tasks, vec.episodes_per_task), np.inf)  # Meta-World: distance to the goal, per episode
    to_object = np.full((tasks, vec.episodes_per_task), np.nan)  # Meta-World but reach: gripper to object
    first_success = np.full((tasks, vec.episodes_per_task), np.nan)  # Meta-World: its step, per episode
    step_in_episode = np.zeros(tasks, int)
    with torch.no_grad():
        encoder_state, encoder_prior = agent.encoder.prior(tasks)
        starts = torch.ones(tasks)
        while not finished.all():
            encoder_output = torch.where(starts.bool().unsqueeze(-1), encoder_prior, encoder_state)
            if latent_rms is not None:
                encoder_output = latent_rms.normalize(agent.encoder.head(encoder_output))
            action = agent.get_action_and_value(encoder_output, obs_rms.normalize(obs), deterministic=True)[0]
            next_obs, reward, terminations, truncations, info = vec.step(action.numpy())
            alive = ~finished
            ended = info["inner_done"] & ~info["inner_time_limit"] & alive  # a fall
            step_in_episode += 1
            if args.env_id in envs.METAWORLD_IDS:
                new = alive & task_env.success & np.isnan(first_success[np.arange(tasks), episode])
                first_success[new, episode[new]] = step_in_episode[new]
                for i in np.flatnonzero(alive & ~info["inner_done"]):  # an episode that ended was reset in step
                    env, k = task_env.active[i].unwrapped, episode[i]
                    # reach succeeds when the gripper is at the goal; the other tasks when the object is
                    if type(env).__name__.startswith("SawyerReach"):
                        closest[i, k] = min(closest[i, k], np.linalg.norm(env.tcp_center - env._target_pos))
                        continue
                    obj = env._get_pos_objects()[:3]
                    closest[i, k] = min(closest[i, k], np.linalg.norm(obj - env._target_pos))
                    to_object[i, k] = np.fmin(to_object[i, k], np.linalg.norm(env.tcp_center - obj))
            returns += reward * alive
            steps += alive
            early += ended  # every inner episode, not only a meta-episode's last
            action_sizes.append(np.abs(action.numpy()).mean(1)[alive])
            if args.env_id == "CheetahVel":
                speeds.append((task_env.pos_after[:, 0] - task_env.pos_before[:, 0]) / task_env.dt)
            if args.env_id == "AntDir":  # what the reward pays (along the task's angle g), and its two parts
                velocity = (task_env.pos_after - task_env.pos_before) / task_env.dt
                half = (step_in_episode > vec.max_episode_steps // 2).astype(int)
                paid = velocity[:, 0] * np.cos(target) + velocity[:, 1] * np.sin(target)
                side = velocity[:, 1] * np.sign(target)
                along[np.arange(tasks), half] += np.stack([paid, velocity[:, 0], side], 1) * alive[:, None]
                half_steps[np.arange(tasks), half] += alive
            x = agent.encoder.embed(action.float(), torch.tensor(reward), torch.tensor(next_obs))
            encoder_state = agent.encoder.gru(x, encoder_state)
            done = terminations | truncations
            finished |= done
            episode = np.minimum(episode + info["inner_done"], vec.episodes_per_task - 1)
            step_in_episode[info["inner_done"]] = 0
            starts = torch.tensor(done, dtype=torch.float32)
            obs = torch.tensor(next_obs)
    vec.close()
    out = {
        "env_id": args.env_id,
        "update": state.get("iteration"),  # the PPO update a state.pt was saved after (None: a --save-model file)
        "return": returns.mean(),
        "episode_length": steps.mean() / vec.episodes_per_task,
        "ended_early": int(early.sum()),
        "episodes": tasks * vec.episodes_per_task,
        "action_abs_mean": np.concatenate(action_sizes).mean(),
        "action_std": agent.actor_logstd.exp().mean().item(),  # the exploration noise of training rollouts
    }
    if args.env_id in SURVIVAL_BONUS:
        out["return_without_survival_bonus"] = (returns - steps).mean()
    if args.env_id in envs.METAWORLD_IDS:
        succeeded = ~np.isnan(first_success)
        out["successes"] = int(succeeded.sum())
        out["steps_to_success"] = first_success[succeeded].mean() if succeeded.any() else float("nan")
        out["closest_to_goal"] = closest[~succeeded].mean() if (~succeeded).any() else float("nan")  # nan: all did
        unsolved = to_object[~succeeded]
        out["closest_to_object"] = np.nanmean(unsolved) if (~np.isnan(unsolved)).any() else float("nan")
        out["reward_per_step"] = returns.sum() / steps.sum()
    if classes is not None:  # per class: (tasks, mean meta-episode return, successful inner episodes)
        out["per_class"] = {
            name: (int((classes == name).sum()), returns[classes == name].mean(), int(succeeded[classes == name].sum()))
            for name in sorted(set(classes))
        }
    if args.env_id == "AntDir":
        out["velocity_along_task"], out["velocity_x"], out["velocity_to_task_side"] = (
            along.sum(1) / steps[:, None]
        ).mean(0)
        out["heading"] = np.degrees(np.arctan2(out["velocity_to_task_side"], out["velocity_x"]))
        for k, name in enumerate(("heading_first_half", "heading_second_half")):
            up = half_steps[:, k] > 0  # the tasks whose robot was still up in that half (nan: none was)
            x, side = (along[up, k, 1:] / half_steps[up, k, None]).mean(0) if up.any() else (np.nan, np.nan)
            out[name] = np.degrees(np.arctan2(side, x))
    if speeds:  # Cheetah-Vel: one inner episode of 200 steps
        speed = np.array(speeds)[-100:].mean(0)
        out["speed_slope"], out["speed_intercept"] = np.polyfit(target, speed, 1)
        out["speed_target_corr"] = np.corrcoef(target, speed)[0, 1]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", metavar="PATH", help="state.pt files or --save-model checkpoints")
    parser.add_argument("--tasks", type=int, default=16, help="fresh tasks, one meta-episode each (default: 16)")
    parser.add_argument("--seed", type=int, default=12345, help="the evaluation env's seed (default: 12345)")
    parser.add_argument(
        "--split",
        choices=("train", "test"),
        default="train",
        help="the task split: on Meta-World 'test' is the held-out tasks (ML10's 5 held-out classes, ML1's held-out "
        "goals), which with --seed S + 300000 are a run's eval_test tasks (default: train)",
    )
    parser.add_argument("--method", choices=METHODS, help="the run's script (default: the one state.pt names)")
    parser.add_argument(
        "--untrained",
        metavar="ENV_ID",
        help="instead of PATHs: the agent --method starts from on ENV_ID with --seed --run-seed, before any update",
    )
    parser.add_argument("--run-seed", type=int, default=1, help="with --untrained: the run's --seed (default: 1)")
    argv = sys.argv[1:] if argv is None else list(argv)
    cut = argv.index("--") if "--" in argv else len(argv)  # what follows `--` goes to the method's script
    args, script_args = parser.parse_args(argv[:cut]), argv[cut + 1 :]
    if script_args and not args.untrained:
        parser.error("arguments after -- go to the method's script with --untrained only")
    if args.tasks < 2:
        parser.error(f"--tasks must be at least 2 (for the Cheetah-Vel fit), got {args.tasks}")
    if bool(args.paths) == bool(args.untrained):
        parser.error("give either PATHs or --untrained ENV_ID")
    if args.untrained and not args.method:
        parser.error("--untrained needs --method")
    sources = [(path, load(path, args.method)) for path in args.paths]
    if args.untrained:
        name = f"untrained {args.method}.py --env-id {args.untrained} --seed {args.run_seed}"
        name += "".join(f" {a}" for a in script_args)
        sources.append((name, untrained(args.method, args.untrained, args.run_seed, tuple(script_args))))
    results = []
    for path, loaded in sources:
        r = diagnose(loaded, args.tasks, args.seed, args.split)
        where = path if r["update"] is None or args.untrained else f"{path} (after update {r['update']})"
        held_out = " held-out" if args.split == "test" and r["env_id"] in envs.METAWORLD_IDS else ""
        line = (
            f"{where}: {r['env_id']}, {args.tasks}{held_out} tasks: return {r['return']:.2f}; "
            f"episode length {r['episode_length']:.1f}, "
            f"{r['ended_early']} of {r['episodes']} episodes ended early; mean |action| {r['action_abs_mean']:.3f}, "
            f"training action std {r['action_std']:.3f}"
        )
        if "return_without_survival_bonus" in r:
            line += f"; return without the survival bonus {r['return_without_survival_bonus']:.2f}"
        if "speed_slope" in r:
            line += (
                f"; speed over the last 100 steps = {r['speed_slope']:.2f} x target {r['speed_intercept']:+.2f} "
                f"(correlation {r['speed_target_corr']:.2f})"
            )
        if "velocity_along_task" in r:
            line += (
                f"; torso velocity along the task's direction {r['velocity_along_task']:.3f}: "
                f"{r['velocity_x']:.3f} along x, {r['velocity_to_task_side']:.3f} to the task's side, "
                f"heading {r['heading']:.1f} degrees off x toward it (the task's: 57.3; "
                f"{r['heading_first_half']:.1f} over the first half of the episode, "
                f"{r['heading_second_half']:.1f} over the second)"
            )
        if "successes" in r:
            line += f"; {r['successes']} of {r['episodes']} episodes succeeded"
            if r["successes"]:
                line += f" (first after {r['steps_to_success']:.1f} steps on average)"
            line += f"; in the episodes without success, closest to the goal {r['closest_to_goal']:.3f}"
            if not np.isnan(r["closest_to_object"]):
                line += f", gripper closest to the object {r['closest_to_object']:.3f}"
            line += f"; reward per step {r['reward_per_step']:.2f}"
        if "per_class" in r:
            per_episode = r["episodes"] // args.tasks
            line += "; per class, tasks drawn: mean return (successful of all episodes): " + ", ".join(
                f"{name} x{n}: {ret:.2f} ({ok}/{n * per_episode})" for name, (n, ret, ok) in r["per_class"].items()
            )
        print(line, flush=True)
        results.append(r)
    return results


if __name__ == "__main__":
    main()
