"""Running the method scripts inside the test process and reading what they log; their Args as a script fills them."""

import contextlib
import glob
import io
import os
import runpy
import sys

import envs
from benchmarks.events import read_scalars

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# small enough for a test, large enough for every code path: 2 rollouts, each crossing meta-episode boundaries
TINY = ["--num-envs", "2", "--num-steps", "8", "--num-minibatches", "1", "--total-timesteps", "32"]
TINY += ["--eval-interval", "2", "--num-eval-tasks", "2"]


def run_script(method, args, cwd):
    """Run `{method}.py args` as __main__ in this process (torch is imported once); return its stdout."""
    out, old_argv, old_cwd = io.StringIO(), sys.argv, os.getcwd()
    os.makedirs(cwd, exist_ok=True)
    sys.argv = [f"{method}.py", *map(str, args)]
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(os.path.join(ROOT, f"{method}.py"), run_name="__main__")
    except SystemExit as e:
        if e.code not in (0, None):
            raise
    finally:
        sys.argv = old_argv
        os.chdir(old_cwd)
    return out.getvalue()


def scalars(cwd):
    """{tag: [values in step order]} of the single run under cwd/runs."""
    (run_dir,) = glob.glob(os.path.join(cwd, "runs", "*"))
    return {tag: values for tag, (_, values) in read_scalars(run_dir).items()}


def make_args(module, env_id, **overrides):
    """A method module's Args for env_id as its script fills them: the preset for every field left at None, then
    `overrides`."""
    args = module.Args(env_id=env_id)
    for key, value in envs.preset(env_id).items():
        if hasattr(args, key) and getattr(args, key) is None:
            setattr(args, key, value)
    for key, value in overrides.items():
        setattr(args, key, value)
    return args
