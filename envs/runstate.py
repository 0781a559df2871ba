"""The plumbing every method script needs the same way and that says nothing about the method: where a run's
arguments come from (command line, --resume's state.pt, --eval-checkpoint's checkpoint, the env's preset), the
checkpoint written for --resume (atomic), the random generators in it, and SIGTERM.

What a run saves (its `stateful` objects and its loop variables) is the method's and stays in its script. torch is
imported inside the functions, so that reading RUN_NEUTRAL (benchmarks/sweep.py) stays cheap.
"""

from __future__ import annotations

import os
import random
import signal
import textwrap

import numpy as np

import envs

# Arguments that say how a run is executed or recorded, not what it computes: the one list behind what --resume lets
# change, what --eval-checkpoint takes from the command line rather than the checkpoint, and which flags
# benchmarks/sweep.py ignores when it decides whether two commands are the same run.
RUN_NEUTRAL = ("threads", "cuda", "env_workers", "checkpoint_interval", "save_model", "capture_video", "track")
RUN_NEUTRAL += ("wandb_project_name", "wandb_entity")
SWITCHES = ("cuda", "save_model", "capture_video", "track")  # those of RUN_NEUTRAL given without a value
# --resume: also the budget (to extend a run); not --env-workers, since the envs' state is saved per worker process
RESUME_MAY_CHANGE = ("resume", "total_timesteps", *(name for name in RUN_NEUTRAL if name != "env_workers"))
# --eval-checkpoint: the checkpoint's own arguments rebuild its model, except these (the evaluation's own)
EVAL_KEEPS = ("eval_checkpoint", "num_eval_tasks", "seed", *RUN_NEUTRAL)
COMPUTED = ("batch_size", "minibatch_size", "num_iterations")  # Args fields a script computes from the others
# not hyperparameters: left out of the block a run prints
NOT_SHOWN = ("exp_name", "torch_deterministic", "eval_checkpoint", "resume", *RUN_NEUTRAL, *COMPUTED)


def without_run_neutral(argv: list[str]) -> list[str]:
    """A script's command-line arguments without the RUN_NEUTRAL flags (with their values) and --resume."""
    valued = {"--" + name.replace("_", "-") for name in (*RUN_NEUTRAL, "resume") if name not in SWITCHES}
    switches = {f"--{no}{name.replace('_', '-')}" for name in SWITCHES for no in ("", "no-")}
    kept, skip = [], False
    for arg in argv:
        if skip:  # the value of the flag before
            skip = False
        elif arg.split("=", 1)[0] in valued:
            skip = "=" not in arg
        elif arg not in switches:
            kept.append(arg)
    return kept


def preset_help(cls):
    """`cls` (a script's Args) with --help saying, for each field left at None that the preset fills, where its
    value comes from instead of "(default: None)". Only tyro's help changes (an Annotated hint on the field)."""
    from typing import Annotated, get_origin

    import tyro

    for name, field in cls.__dataclass_fields__.items():
        hint = cls.__annotations__.get(name)
        if field.default is not None or get_origin(hint) is Annotated:
            continue
        if name == "lr":
            text = "(default: the one picked for this method on --env-id)"
        elif name in envs.PRESETS[envs.DEFAULT_PRESET]:
            text = "(default: --env-id's preset, envs/presets.py)"
        else:
            continue
        cls.__annotations__[name] = Annotated[hint, tyro.conf.arg(help_behavior_hint=text)]
    return cls


def _plain(value):
    return tuple(value) if isinstance(value, list) else value  # torch.load gives tuples back as lists


def resolve_args(args, defaults, method: str, script: str):
    """Complete `args` (tyro's, `defaults` an Args()) in place: --resume takes the run's arguments from its state.pt,
    --eval-checkpoint the checkpoint's, then every field left at None takes the env's preset value (`lr` the one
    picked for `method`). Returns (the state.pt or None, the checkpoint or None, {field: where its value comes from}).
    Exits with a one-line error for a state from another script, an argument that would change a resumed run, or an
    env id that does not resolve."""
    import torch

    fields = list(vars(defaults))
    sources = {k: "command line" if getattr(args, k) != getattr(defaults, k) else "script default" for k in fields}
    state = checkpoint = None
    if args.resume is not None:
        path = os.path.join(args.resume, "state.pt")
        if not os.path.isfile(path):
            raise SystemExit(f"error: --resume {args.resume}: no state.pt there (see --checkpoint-interval)")
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state["script"] != script:
            raise SystemExit(f"error: --resume {args.resume}: its state.pt is from {state['script']}, not {script}")
        for key, value in state["args"].items():
            value, given = _plain(value), getattr(args, key)
            if given == getattr(defaults, key) or key in COMPUTED:
                setattr(args, key, value)
                sources[key] = "the run's state.pt"
            elif given != value and key not in RESUME_MAY_CHANGE:
                flag = "--" + key.replace("_", "-")
                raise SystemExit(f"error: --resume {args.resume}: {flag} {given} differs from the run's {value}")
    if args.eval_checkpoint is not None:  # the checkpoint's own arguments rebuild its model
        if not os.path.isfile(args.eval_checkpoint):
            raise SystemExit(f"error: --eval-checkpoint {args.eval_checkpoint}: no such file")
        checkpoint = torch.load(args.eval_checkpoint, map_location="cpu", weights_only=True)
        for key, value in checkpoint["args"].items():
            if hasattr(args, key) and key not in EVAL_KEEPS:
                setattr(args, key, _plain(value))
                sources[key] = "the checkpoint"
    try:
        for key, (value, source) in envs.preset_sources(args.env_id, method).items():
            if hasattr(args, key) and getattr(args, key) is None:
                setattr(args, key, value)
                sources[key] = source
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    return state, checkpoint, sources


def describe(args, sources: dict) -> str:
    """The run's hyperparameters in one block, grouped by where each comes from."""
    groups: dict[str, list[str]] = {}
    for key, source in sources.items():
        if key not in NOT_SHOWN:
            value = getattr(args, key)
            value = " ".join(map(str, value)) if isinstance(value, tuple) else value
            groups.setdefault(source, []).append(f"{key} {value}")
    lines = [f"{args.env_id}, {args.exp_name}: hyperparameters by where each comes from"]
    for source, items in groups.items():
        lines += textwrap.wrap(f"{source}: " + ", ".join(items), 118, initial_indent="  ", subsequent_indent="    ")
    return "\n".join(lines)


def rng_state() -> dict:
    """Every random generator a run draws from: torch's, numpy's global one (minibatches) and Python's."""
    import torch

    name, keys, *rest = np.random.get_state()
    numpy = [name, torch.from_numpy(keys.astype(np.int64)), *rest]  # weights_only loads tensors, not numpy arrays
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {"torch": torch.get_rng_state(), "cuda": cuda, "numpy": numpy, "python": random.getstate()}


def set_rng_state(state: dict) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    random.setstate(state["python"])


def save(state: dict, path: str) -> None:
    """Write to a temporary file, then rename: a kill during the write leaves the previous file whole."""
    import torch

    torch.save(state, path + ".tmp")
    os.replace(path + ".tmp", path)


def sigterm_flag() -> list:
    """A list that SIGTERM (a scheduler's warning) appends to: the run finishes its update, saves its state, exits."""
    flag = []
    signal.signal(signal.SIGTERM, lambda signum, frame: flag.append(signum))
    return flag


def load_parts(state: dict, stateful: dict, origin: str) -> None:
    """Load each object of `stateful` (name -> object with load_state_dict) from state[name]; a part whose tensors do
    not fit (a file from another version of the script) is one line naming `origin`, not a traceback."""
    for name, part in stateful.items():
        try:
            part.load_state_dict(state[name])
        except RuntimeError as e:
            detail = " ".join(str(e).split())
            raise SystemExit(
                f"error: {origin}: its {name} does not fit this script's model, so it was saved by another version of "
                f"the script (run that version to use it): {detail[:300]}"
            ) from None


def restore(state: dict, stateful: dict) -> None:
    """--resume: every object of the run's state (`stateful`: name -> object with load_state_dict) and the random
    generators continue from the state.pt; the script restores its loop variables itself."""
    load_parts(state, stateful, "--resume")
    set_rng_state(state["rng"])


def checkpoint(run_dir: str, script: str, args, iteration: int, stateful: dict, loop: dict, preempted: list):
    """Write {run_dir}/state.pt: the script and its arguments, the update it completed, the state of every object in
    `stateful`, the random generators and the loop variables `loop`. After a SIGTERM (`preempted`), exit 143 with the
    command that resumes."""
    state = {"script": script, "args": vars(args), "iteration": iteration}
    state |= {name: part.state_dict() for name, part in stateful.items()} | {"rng": rng_state()} | loop
    save(state, f"{run_dir}/state.pt")
    if preempted:
        print(f"SIGTERM: state saved; resume with: python {script} --resume {run_dir}")
        raise SystemExit(143)
