"""Sweep methods x environments x seeds x learning rates, locally or as a SLURM job array; export the curves.

    # the paper's grid (5 lrs x seeds 73, 20, 3; MC-LS gets seed 99 too) for two methods on Grid-World, 2M frames
    python benchmarks/sweep.py --methods rnn rnn_hn --env-ids GridWorld --total-timesteps 2000000 \\
        --export docs/results/GridWorld

    # the same runs as a SLURM job array (one task per run); anything after `--` goes to every method script
    python benchmarks/sweep.py --methods rnn rnn_hn vi_hn --env-ids CheetahDir --slurm cheetah.sbatch \\
        --slurm-option=--partition=cpu -- --num-envs 16

One run is exactly the command a user types, run with its working directory in the sweep's output directory
(default sweeps/{env ids}/), which therefore holds runs/ (TensorBoard), logs/{run}.log and logs/{run}.done:

    python {method}.py --env-id E --seed S --lr L --exp-name {method}_lr{L} --threads T [--total-timesteps N] ...

Re-launching a sweep finishes it: a run with a .done marker (written when its command exits 0), or whose event files
hold its last evaluation (runs/ copied back from a cluster), is skipped; an unfinished run whose directory holds a
state.pt (written every --checkpoint-interval updates, and on SIGTERM) continues from it with --resume, exactly as if it
had not stopped; one without is run again from scratch. A sweep stopped by SIGTERM passes it on to its runs, and one
killed outright (SIGKILL) has the kernel send it to them (Linux), so each saves its state and exits. A run the sweep
finished at a smaller --total-timesteps continues from its last state.pt to the new budget when that gives the numbers a
fresh run would (no lr annealing; in ti.py and ti_pp_hn.py a multi-task phase set by --ti-warmup-updates; export it
first: the longer run drops what it logged after that state); otherwise it runs again. --export DIR writes each finished
run's evaluation curve to DIR/{env}__{method}__lr{L}__s{S}.csv (benchmarks/run.py's columns) with a .json beside it
(frames, wall-clock, frames/s, command, "code": the commits its attempts ran on, from the launch lines of its log,
"commit" and "clean": its first attempt's commit and whether every attempt ran on it unmodified, and "versions":
Python's and the packages' that it ran with), small enough to commit; --no-run exports without running anything.

On SLURM (--slurm FILE, then `sbatch FILE`): the script's paths are absolute, so the repository, the interpreter
(--python, default this one: a virtual environment) and --out must be on storage the nodes share. Give --slurm-time
the partition's maximum or less (the 24:00:00 default is more than some allow) and the cluster's own directives with
--slurm-option. Each task resumes its run's state.pt if one exists. The scheduler stopping a task requeues it, and it
resumes: SLURM warns a task --slurm-signal-lead seconds before its time limit (SIGUSR1), the run saves its state and
the task requeues itself; a preempted task (PreemptMode=REQUEUE) or one requeued by `scontrol requeue` saves its
state and SLURM requeues it. `scancel` stops a task for good (the array: scancel JOBID; one task: scancel JOBID_TASK):
its run saves its state.pt and the task ends CANCELLED; launching the sweep again (with --slurm for a new array, or
locally) resumes it. Pause: `scontrol hold JOBID` keeps pending tasks from starting (running ones go on; scontrol
requeuehold JOBID stops those too, their state saved), `scontrol release JOBID` lets them go. Each attempt appends a
header line and how it ended to logs/slurm-{array job}_{task}.out, and its command to logs/{run}.log.
"""

from __future__ import annotations

import argparse
import ctypes
import glob
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import envs  # noqa: E402
from benchmarks.events import read_run, run_finished  # noqa: E402
from benchmarks.run import METHODS, curve_rows, summary, write_curve  # noqa: E402
from envs import runstate  # noqa: E402

LRS = ("3e-3", "1e-3", "3e-4", "1e-4", "3e-5")  # the paper's grid (reference §5.2)
SEEDS = (73, 20, 3)
EXTRA_SEEDS = {"MC-LS": (99,)}  # 4 seeds on MineCraft (reference §5.2)


def lr_str(lr: str | float) -> str:
    """The canonical spelling of a learning rate, used in exp names and file names: 0.003 -> 3e-3, 2.5e-4."""
    mantissa, exponent = f"{float(lr):e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


@dataclass(frozen=True)
class Run:
    method: str
    env_id: str
    seed: int
    lr: str  # canonical (lr_str)

    @property
    def exp_name(self) -> str:
        return f"{self.method}_lr{self.lr}"

    @property
    def name(self) -> str:
        """The run's name in logs/ and in exported file names."""
        return f"{self.env_id}__{self.method}__lr{self.lr}__s{self.seed}"

    def run_dirs(self, out: str) -> list[str]:
        """This run's TensorBoard directories under out/runs (one per attempt), oldest first."""
        pattern = os.path.join(
            glob.escape(os.path.join(out, "runs")), f"{self.env_id}__{self.exp_name}__{self.seed}__*"
        )
        return sorted((d for d in glob.glob(pattern) if _started(d) is not None), key=_started)


def _started(run_dir: str) -> int | None:
    """The unix time at the end of a run directory's name (when the script created it)."""
    stamp = run_dir.rsplit("__", 1)[-1]
    return int(stamp) if stamp.isdigit() else None


def grid(methods, env_ids, seeds=None, lrs=LRS) -> list[Run]:
    """Every (method, env, seed, lr) run, env-major so that one environment's results complete first; lrs ["default"]:
    each method's default rate on each env id (envs.LEARNING_RATES)."""
    runs = []
    for env_id in env_ids:
        env_seeds = list(seeds) if seeds else [*SEEDS, *EXTRA_SEEDS.get(env_id, ())]
        for method in methods:
            for lr in [envs.LEARNING_RATES[method][env_id]] if list(lrs) == ["default"] else lrs:
                for seed in env_seeds:
                    runs.append(Run(method, env_id, int(seed), lr_str(lr)))
    return runs


def code_version(root: str = ROOT) -> str:
    """The commit the method scripts run from, with "+dirty" when a tracked file differs from it ("unknown" outside
    a git checkout): written into each attempt's log line and exported as the run's "code"."""
    git = ["git", "-C", root]
    try:
        commit = subprocess.run([*git, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


PACKAGES = ("torch", "numpy", "gymnasium", "mujoco", "metaworld")  # what a run's numbers depend on besides the code
# prints {"python": "3.11.7", "torch": ..., ...} as one JSON line; run by the interpreter that runs the scripts
VERSIONS_PY = (
    "import importlib.metadata as m, json, platform\n"
    "def v(p):\n"
    "    try:\n"
    "        return m.version(p)\n"
    "    except m.PackageNotFoundError:\n"
    "        return None\n"
    f"print(json.dumps({{'python': platform.python_version(), **{{p: v(p) for p in {PACKAGES!r}}}}}))"
)


def environment_versions(python: str = sys.executable) -> dict | None:
    """The versions of Python and of PACKAGES (None: not installed) that `python` runs with; None if it cannot say
    (an interpreter that fails: its runs fail too, and say why in their logs)."""
    try:
        out = subprocess.run([python, "-c", VERSIONS_PY], capture_output=True, text=True, check=True, timeout=60)
        return json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def _log_lines(log: str) -> list[str]:
    """A run's log, line by line ([] before its first attempt)."""
    if not os.path.exists(log):
        return []
    with open(log, errors="replace") as f:
        return f.readlines()


def logged_environments(log: str) -> list[dict]:
    """The "# versions {...}" lines a run's attempts wrote after their launch lines, in order (one per attempt)."""
    return [json.loads(line[len("# versions ") :]) for line in _log_lines(log) if line.startswith("# versions {")]


def logged_versions(log: str) -> list[str]:
    """The code versions a run's attempts ran on, in order, from the "(... code V)" of its log's launch lines."""
    versions = []
    for line in _log_lines(log):
        m = re.match(r"# .*\bcode (\S+)\): ", line)
        if m and m.group(1) not in versions:
            versions.append(m.group(1))
    return versions


def command(run: Run, threads: int, total_timesteps: int | None = None, script_args=(), python=sys.executable):
    cmd = [python, os.path.join(ROOT, f"{run.method}.py"), "--env-id", run.env_id, "--seed", str(run.seed)]
    cmd += ["--lr", run.lr, "--exp-name", run.exp_name, "--threads", str(threads)]
    if total_timesteps is not None:
        cmd += ["--total-timesteps", str(total_timesteps)]
    return cmd + list(script_args)


def identity(cmd: list[str], *ignore: str) -> list[str]:
    """What makes two commands the same run: everything but the interpreter, --resume and what leaves its numbers
    alone (envs.runstate.RUN_NEUTRAL: --threads, --checkpoint-interval, --env-workers with their values, the switch
    --save-model, ...), and the flags `ignore` (each with its value)."""
    args = runstate.without_run_neutral(cmd[2:])
    for flag in ignore:
        if flag in args:
            i = args.index(flag)
            args = args[:i] + args[i + 2 :]
    return [os.path.basename(cmd[1]), *args]


def _paths(out: str, run: Run) -> tuple[str, str]:
    base = os.path.join(out, "logs", run.name)
    return base + ".log", base + ".done"


def status(run: Run, cmd: list[str], out: str, total_timesteps: int | None) -> tuple[str, str | None, float | None]:
    """("finished", run_dir, process wall-clock if known), ("resumable", run_dir, None) for an unfinished attempt
    that saved its state, ("extendable", run_dir, None) for one finished at a smaller budget (extendable()),
    ("failed", log, None) for one that did not, ("changed", marker or run_dir, None) for a run finished with another
    command, or ("new", None, None).
    A .done marker only counts for the same command (a different --total-timesteps or script argument means a
    different run); without one, the newest run directory whose event file holds its last evaluation counts
    (at the requested --total-timesteps, if given)."""
    log, done = _paths(out, run)
    changed = False
    if os.path.exists(done):
        with open(done) as f:
            marker = json.load(f)
        run_dir = os.path.join(out, marker["run_dir"])
        changed = identity(marker["command"]) != identity(cmd)
        if not changed and os.path.isdir(run_dir):
            return "finished", run_dir, marker["wall_clock_s"]
    for run_dir in reversed(run.run_dirs(out)):
        try:
            info = read_run(run_dir)
        except FileNotFoundError:
            continue
        wanted = total_timesteps is None or info["hparams"].get("total_timesteps") == str(total_timesteps)
        if run_finished(info):
            if wanted:
                return "finished", run_dir, None
            changed = True
    if changed and (run_dir := extendable(run, cmd, out, total_timesteps)):
        return "extendable", run_dir, None
    if changed:
        return "changed", done if os.path.exists(done) else run.run_dirs(out)[-1], None
    if run.run_dirs(out) and os.path.exists(os.path.join(run.run_dirs(out)[-1], "state.pt")):
        return "resumable", run.run_dirs(out)[-1], None
    if os.path.exists(log) or run.run_dirs(out):
        return "failed", log, None
    return "new", None, None


def _flag(cmd: list[str], flag: str) -> str | None:
    return cmd[cmd.index(flag) + 1] if flag in cmd[:-1] else None


def extendable(run: Run, cmd: list[str], out: str, total_timesteps: int | None) -> str | None:
    """The run directory from whose state.pt a run the sweep finished at a smaller --total-timesteps continues to
    `total_timesteps`, when that gives the numbers a fresh run would: the same command but for --total-timesteps, no
    learning-rate annealing (its schedule spans the budget; MC-LS's preset anneals) and, in ti.py and ti_pp_hn.py, a
    multi-task phase set by --ti-warmup-updates (the preset's is capped at 5% of the budget). None otherwise. The
    state.pt is the last one written (every --checkpoint-interval updates), so the resumed run redoes the updates after
    it, and TensorBoard drops what the shorter run logged after it (its final evaluation among them)."""
    done = _paths(out, run)[1]
    if total_timesteps is None or not os.path.exists(done):
        return None
    with open(done) as f:
        marker = json.load(f)
    old, budget = marker["command"], _flag(marker["command"], "--total-timesteps")
    if (
        budget is None
        or int(budget) >= total_timesteps
        or identity(old, "--total-timesteps") != identity(cmd, "--total-timesteps")
    ):
        return None
    anneal = _flag(cmd, "--anneal-lr") or str(envs.preset(run.env_id)["anneal_lr"])
    if anneal == "True" or run.method in ("ti", "ti_pp_hn") and "--ti-warmup-updates" not in cmd:
        return None
    run_dir = os.path.join(out, marker["run_dir"])
    return run_dir if os.path.exists(os.path.join(run_dir, "state.pt")) else None


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _stop_with_parent():
    """In a run's process before it starts (Linux): SIGTERM it when the sweep dies, even by SIGKILL, so that it saves
    its state and exits instead of finishing as an orphan that no .done marker will record."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # no prctl outside Linux: a killed sweep's runs finish on their own there
        pass


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def execute(jobs: list[tuple[Run, list[str]]], out: str, workers: int, threads: int, total: int, skipped: int):
    """Run the commands with at most `workers` at a time; return {"finished": [...], "failed": [(run, log)]}.
    SIGTERM or Ctrl-C stops the runs in progress, each saving its state (SIGTERM), for the next launch to resume."""
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    queue, running, durations = deque(jobs), {}, []
    result = {"finished": [], "failed": []}
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    version = code_version()
    versions = {}  # per interpreter, measured once

    def progress():
        done = skipped + len(result["finished"])
        eta = "?"
        if durations:
            eta = _duration(sum(durations) / len(durations) * (len(queue) + len(running)) / workers)
        elif not queue and not running:
            eta = "0s"
        print(
            f"[{done + len(result['failed'])}/{total}] done {done}, failed {len(result['failed'])}, "
            f"running {len(running)}, ETA {eta}",
            flush=True,
        )

    def launch():
        while queue and len(running) < workers:
            run, cmd = queue.popleft()
            f = open(_paths(out, run)[0], "a")  # closed when the run ends
            f.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} (cwd {os.path.abspath(out)}, code {version}): ")
            f.write(shlex.join(cmd) + "\n")
            if cmd[0] not in versions:
                versions[cmd[0]] = environment_versions(cmd[0])
            f.write(f"# versions {json.dumps(versions[cmd[0]])}\n")
            f.flush()
            process = subprocess.Popen(
                cmd, cwd=out, stdout=f, stderr=subprocess.STDOUT, env=env, preexec_fn=_stop_with_parent
            )
            running[process] = (run, cmd, time.time(), f)

    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        launch()
        progress()
        while running:
            time.sleep(0.2)
            ended = [p for p in running if p.poll() is not None]
            for process in ended:
                run, cmd, start, f = running.pop(process)
                f.close()
                wall_clock = time.time() - start
                log, done = _paths(out, run)
                run_dirs = [d for d in run.run_dirs(out) if _started(d) >= int(start)]
                if "--resume" in cmd:  # a resumed run continues in its own directory
                    run_dirs = [cmd[cmd.index("--resume") + 1]]
                if process.returncode == 0 and run_dirs:
                    marker = {"command": cmd, "run_dir": os.path.relpath(run_dirs[-1], out), "wall_clock_s": wall_clock}
                    with open(done, "w") as g:
                        json.dump(marker, g, indent=1)
                    result["finished"].append(run)
                    durations.append(wall_clock)
                else:
                    why = f"exit code {process.returncode}" if process.returncode else "no run directory written"
                    print(f"failed: {run.name} ({why}; log: {log})", flush=True)
                    result["failed"].append((run, log))
            if ended:
                launch()
                progress()
    except KeyboardInterrupt:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM (a whole process group's) waits with us
        for process, (run, _, _, f) in running.items():
            process.terminate()
            process.wait()
            f.close()
            result["failed"].append((run, _paths(out, run)[0]))
        print("interrupted: the runs in progress were stopped; launch again to finish them", flush=True)
        result["interrupted"] = True
    finally:
        signal.signal(signal.SIGTERM, previous)
    return result


SLURM_TIME_FORMATS = "M, M:S, H:M:S, D-H, D-H:M or D-H:M:S"


def slurm_seconds(time_limit: str) -> int | None:
    """The seconds of a SLURM time limit (--time's formats, SLURM_TIME_FORMATS), None if it is not one."""
    m = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", time_limit.strip())
    if not m:
        return None
    days, *parts = m.groups()
    parts = [int(p) for p in parts if p is not None]
    if days is not None:  # D-H, D-H:M, D-H:M:S
        h, mi, sec = [*parts, 0, 0][:3]
        return ((int(days) * 24 + h) * 60 + mi) * 60 + sec
    if len(parts) == 3:
        return (parts[0] * 60 + parts[1]) * 60 + parts[2]
    return parts[0] * 60 + (parts[1] if len(parts) == 2 else 0)  # M or M:S


def signal_lead(limit_s: int) -> int:
    """How long before the time limit SLURM warns a task: a tenth of the limit, at least 10 s, at most 5 minutes
    (enough to finish an update and write state.pt; what is left of the limit is the attempt's work)."""
    return min(300, max(10, limit_s // 10))


SLURM_EARLY_S = 60  # SLURM may send the --signal warning up to this much earlier than asked (sbatch(1), --signal)


def slurm_script(
    jobs, out: str, threads: int, time_limit: str, mem: str, options=(), name="hypermeta", stale=None, lead=None
) -> str:
    """A job-array script running the same commands, one array task per run, with the same logs/ layout. A task
    resumes its run's newest state.pt if there is one, unless that directory is the run's entry in `stale` ({run:
    run directory relative to out}: a run finished with another command, which starts again).
    A task requeues itself only when the scheduler stopped it: SLURM warns the batch shell with SIGUSR1 `lead`
    seconds (default signal_lead()) before the time limit, the shell passes SIGTERM to the run, which saves its
    state and exits 143, and the task requeues itself; the same if the time limit itself (Reason=TimeLimit) stopped
    it. Preemption and `scontrol requeue` arrive as SIGTERM with the job's restart count already raised: SLURM
    requeues the task itself, which only lets the run save. A plain SIGTERM (scancel) ends the task, its state saved
    for a later launch of the sweep. Each attempt writes a header line and how it ended to the array's log, which
    is appended to across attempts."""
    out = os.path.abspath(out)
    lead = signal_lead(slurm_seconds(time_limit)) if lead is None else lead
    task = "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
    lines = [
        "#!/bin/bash",
        f"# {len(jobs)} runs written by benchmarks/sweep.py; submit with: sbatch {{this file}}",
        "# stop a task or the whole array for good: scancel JOBID[_TASK] (each run saves its state.pt; launching the",
        "# sweep again resumes it); pause: scontrol hold / release; the time limit, preemption and scontrol requeue",
        "# requeue a task, which resumes",
        f"#SBATCH --job-name={name}",
        f"#SBATCH --array=0-{len(jobs) - 1}",
        "#SBATCH --ntasks=1",
        f"#SBATCH --cpus-per-task={threads}",
        f"#SBATCH --time={time_limit}",
        f"#SBATCH --mem={mem}",
        f"#SBATCH --output={out}/logs/slurm-%A_%a.out",
        "#SBATCH --open-mode=append",  # every attempt's lines, and SLURM's CANCELLED/PREEMPTION lines, are kept
        "#SBATCH --requeue",
        f"#SBATCH --signal=B:USR1@{lead}",  # the time-limit warning, to the batch shell only: told apart from TERM
        *[f"#SBATCH {option}" for option in options],
        "set -uo pipefail",
        f"cd {shlex.quote(out)}",
        "mkdir -p logs",
        f"export OMP_NUM_THREADS={threads} MKL_NUM_THREADS={threads}",
        "NAMES=(",
        *[f"  {shlex.quote(run.name)}" for run, _ in jobs],
        ")",
        "PREFIXES=(",  # the run's directories are runs/{prefix}__{unix time}, one per fresh start
        *[f"  {shlex.quote(f'{run.env_id}__{run.exp_name}__{run.seed}')}" for run, _ in jobs],
        ")",
        "COMMANDS=(",
        *[f"  {shlex.quote(shlex.join(cmd))}" for _, cmd in jobs],
        ")",
        "STALE=(",  # a directory not to resume: the run finished there with another command
        *[f"  {shlex.quote((stale or {}).get(run, ''))}" for run, _ in jobs],
        ")",
        "name=${NAMES[$SLURM_ARRAY_TASK_ID]}",
        "cmd=${COMMANDS[$SLURM_ARRAY_TASK_ID]}",
        'run_dir=$(ls -d "runs/${PREFIXES[$SLURM_ARRAY_TASK_ID]}"__* 2>/dev/null | sort | tail -n 1)',
        'if [ -n "$run_dir" ] && [ "$run_dir" != "${STALE[$SLURM_ARRAY_TASK_ID]}" ] && [ -f "$run_dir/state.pt" ] \\',
        '    && [[ "$cmd" != *" --resume "* ]]; then cmd="$cmd --resume $run_dir"; fi',
        f'task="{task}" attempt=$((${{SLURM_RESTART_COUNT:-0}} + 1))',
        'note() { echo "# $(date "+%Y-%m-%d %H:%M:%S") task $task attempt $attempt: $*"; }',
        f'note "job ${{SLURM_JOB_ID:-?}} on $(hostname), run $name, time limit {time_limit} '
        f'({slurm_seconds(time_limit)} s), warning {lead} s before it"',
        f"code=$(git -C {shlex.quote(ROOT)} rev-parse --short=12 HEAD 2>/dev/null || echo unknown)",
        f'git -C {shlex.quote(ROOT)} diff --quiet HEAD 2>/dev/null || code="$code+dirty"',
        'echo "# $(date "+%Y-%m-%d %H:%M:%S") (array task $SLURM_ARRAY_TASK_ID, code $code): $cmd" >> "logs/$name.log"',
        f'echo "# versions $({shlex.quote(jobs[0][1][0])} -c {shlex.quote(VERSIONS_PY)})" >> "logs/$name.log"',
        # USR1: SLURM's warning before the time limit; TERM: scancel, the time limit, preemption or a requeue. Both
        # reach the run as SIGTERM: it finishes its update, saves its state and exits 143.
        "pid= signals=0 warned=0 stopped=0 got=",
        'pass_on() { signals=$((signals + 1)) got="$got $1"; [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null; }',
        "trap 'warned=1; pass_on USR1' USR1",
        "trap 'stopped=1; pass_on TERM' TERM",
        'eval "exec $cmd" >> "logs/$name.log" 2>&1 &',
        "pid=$!",
        '[ $signals -eq 0 ] || kill -TERM "$pid"  # a signal before the run started',
        "rc=",
        "while :; do  # wait again when a trap interrupted the wait: rc is the run's own exit status",
        '  seen=$signals; wait "$pid"; r=$?',
        '  if [ $r -eq 127 ] && [ -n "$rc" ]; then break; fi  # collected before the trap ran',
        "  rc=$r; [ $seen -eq $signals ] && break",
        "done",
        '[ $rc -eq 0 ] && { note "the run finished"; exit 0; }',
        "[ $rc -eq 143 ] && saved='the run saved its state' || saved=\"the run exited with $rc\"",
        '[ $signals -gt 0 ] || { note "$saved, no signal from SLURM: the task ends"; exit $rc; }',
        # what stopped it, as the scheduler shows it while the job completes: a requeue (scontrol requeue,
        # preemption) has already raised the restart count; the time limit sets Reason=TimeLimit; scancel neither.
        # The task's own record: the array's last task has the array's job id, whose record lists every task.
        'info=$(scontrol show job "$task" 2>/dev/null)',
        "restarts=$(sed -n 's/.*[[:space:]]Restarts=\\([0-9]*\\).*/\\1/p' <<< \"$info\" | head -n 1)",
        "reason=$(sed -n 's/.*[[:space:]]Reason=\\([^[:space:]]*\\).*/\\1/p' <<< \"$info\" | head -n 1)",
        'shown="[signals:$got; Restarts=${restarts:-?} Reason=${reason:-?}]"',
        'if [ "${restarts:-0}" -gt "${SLURM_RESTART_COUNT:-0}" ]; then',
        '  note "requeued by SLURM (preemption or scontrol requeue); $saved and resumes when the task restarts $shown"',
        'elif [ "$reason" = TimeLimit ] || { [ $warned -eq 1 ] && [ $stopped -eq 0 ]; }; then',
        '  note "time limit: $saved; requeueing the task, which resumes $shown"',
        '  scontrol requeue "$task"',
        "else",
        '  note "stopped (scancel): $saved; the task ends; launching the sweep again resumes the run $shown"',
        "fi",
        "exit $rc",
        "",
    ]
    return "\n".join(lines)


def export(run: Run, run_dir: str, wall_clock: float | None, cmd: list[str], directory: str, suffix: str = "") -> str:
    """Write run_dir's evaluation curve to directory/{run.name}.csv and its summary to {run.name}.json:
    benchmarks/run.py's summary, whose wall-clock is the event file's span (what the aggregator measures on run
    directories too), plus the whole process's wall-clock when the sweep ran it (`wall_clock`, else None). A
    `suffix` (--export-suffix) follows the method in the file names and in the summary's "method"."""
    info = read_run(run_dir)
    rows = curve_rows(info["scalars"])
    method = run.method + suffix
    path = os.path.join(directory, f"{run.env_id}__{method}__lr{run.lr}__s{run.seed}.csv")
    write_curve(path, rows)
    meta = {"env_id": run.env_id, "method": method, "lr": run.lr, "seed": run.seed}
    meta.update(summary(info["scalars"], info["wall_clock_s"]))
    meta["process_wall_clock_s"] = None if wall_clock is None else round(wall_clock, 1)
    meta.update({"command": shlex.join(identity(cmd)), "run_dir": os.path.basename(run_dir)})
    log = _paths(os.path.dirname(os.path.dirname(run_dir)), run)[0]
    meta["code"] = logged_versions(log)
    # the commit of its first attempt, whether every attempt ran on that commit with a clean tree, and the versions
    # the last attempt ran with (None where the log predates them)
    meta["commit"] = meta["code"][0].removesuffix("+dirty") if meta["code"] else None
    meta["clean"] = len(meta["code"]) == 1 and not meta["code"][0].endswith("+dirty") if meta["code"] else None
    meta["versions"] = (logged_environments(log) or [None])[-1]
    with open(path[: -len(".csv")] + ".json", "w") as f:
        json.dump(meta, f, indent=1)
    return path


def check_lrs(parser, lrs):
    """--lrs is numbers, or 'default' alone; else one line from the parser."""
    for lr in lrs if lrs and lrs != ["default"] else []:
        try:
            float(lr)
        except ValueError:
            parser.error(f"--lrs {lr}: not a number (or give 'default' alone)")


def check_slurm_time(parser, args):
    """--slurm-time in one of SLURM's formats and --slurm-signal-lead inside it, else one line from the parser; sets
    args.slurm_signal_lead, and warns (one line) when an attempt may get SLURM's warning before it can progress."""
    limit = slurm_seconds(args.slurm_time)
    if not limit:
        parser.error(f"--slurm-time {args.slurm_time}: not a SLURM time limit ({SLURM_TIME_FORMATS}, above 0)")
    lead = args.slurm_signal_lead
    if lead is not None and not 0 < lead < limit:
        parser.error(f"--slurm-signal-lead {lead}: must be between 1 and the time limit's {limit - 1} seconds")
    args.slurm_signal_lead = signal_lead(limit) if lead is None else lead
    work = limit - args.slurm_signal_lead - SLURM_EARLY_S
    if args.slurm and work < 120:
        print(
            f"warning: --slurm-time {args.slurm_time} leaves an attempt as little as {max(0, work)} s before SLURM's "
            f"warning ({args.slurm_signal_lead} s before the limit, sent up to {SLURM_EARLY_S} s early): each attempt "
            "starts Python, resumes, saves and requeues, and may make no progress; give a longer --slurm-time",
            file=sys.stderr,
        )


def parse_args(argv):
    argv = list(sys.argv[1:] if argv is None else argv)
    script_args = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", required=True, choices=METHODS)
    parser.add_argument("--env-ids", nargs="+", required=True, choices=envs.ENV_IDS, metavar="ENV_ID")
    parser.add_argument("--seeds", nargs="+", type=int, help=f"default: {SEEDS}, plus 99 on MC-LS")
    parser.add_argument(
        "--lrs",
        nargs="+",
        default=list(LRS),
        help="default: the paper's grid %(default)s; 'default': each method's default rate on each env id, the one the "
        "scripts take without --lr (docs/learning_rates.md)",
    )
    parser.add_argument("--total-timesteps", type=int, help="frames per run (default: the environment's preset)")
    parser.add_argument("--out", help="output directory (default: sweeps/{env ids joined by _})")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parser.add_argument("--workers", type=int, help=f"runs at a time (default: cores // threads; {cores} cores here)")
    parser.add_argument("--threads", type=int, help="torch threads per run (default: cores // workers, at least 1)")
    parser.add_argument("--python", default=sys.executable, help="interpreter in the commands (default: this one)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands that would run, run nothing")
    parser.add_argument("--no-run", action="store_true", help="run nothing (use with --export)")
    parser.add_argument("--export", metavar="DIR", help="export every finished run's curve to DIR (after running)")
    parser.add_argument(
        "--export-suffix",
        default="",
        metavar="S",
        help="append S to the method in exported names, for a variant made by the arguments after `--`: _s for rnn.py "
        "--pass-state (RNN+S), --export-suffix=-std0.3 for --policy-init-std 0.3 (aggregate.py draws {method}-X as a "
        "dashed {method})",
    )
    parser.add_argument(
        "--slurm",
        metavar="FILE",
        help="write the pending runs as a SLURM job-array script instead (one task per run; its paths are absolute: "
        "the repository, the --python interpreter and --out must be on storage the nodes share)",
    )
    parser.add_argument(
        "--slurm-time",
        default="24:00:00",
        help=f"#SBATCH --time ({SLURM_TIME_FORMATS}; default: %(default)s, more than some partitions allow: give "
        "their maximum, `sinfo -o '%%P %%l'`); a longer run is requeued at the limit and resumes",
    )
    parser.add_argument(
        "--slurm-signal-lead",
        type=int,
        metavar="S",
        help="seconds before the time limit at which SLURM warns a task to save and requeue (default: a tenth of "
        "--slurm-time, 10 s to 300 s); it must cover one update and the write of state.pt",
    )
    parser.add_argument("--slurm-mem", default="4G", help="#SBATCH --mem (default: %(default)s)")
    parser.add_argument(
        "--slurm-option",
        action="append",
        default=[],
        help="extra #SBATCH line, repeatable: --slurm-option=--partition=cpu --slurm-option=--account=A",
    )
    args = parser.parse_args(argv)
    args.script_args = script_args
    args.out = args.out or os.path.join("sweeps", "_".join(args.env_ids))
    if args.threads is None:
        args.workers = args.workers or cores
        args.threads = max(1, cores // args.workers)
    elif args.workers is None:
        args.workers = max(1, cores // args.threads)
    if args.workers < 1 or args.threads < 1:
        parser.error("--workers and --threads must be >= 1")
    if args.workers * args.threads > cores and not (args.slurm or args.dry_run or args.no_run):
        print(f"warning: {args.workers} workers x {args.threads} threads > {cores} cores", file=sys.stderr)
    check_lrs(parser, args.lrs)
    check_slurm_time(parser, args)
    for method in args.methods:
        if not os.path.exists(os.path.join(ROOT, f"{method}.py")):
            parser.error(f"{method}.py does not exist (yet) in {ROOT}")
    return args


def main(argv=None):
    args = parse_args(argv)
    runs = grid(args.methods, args.env_ids, args.seeds, args.lrs)
    jobs = [(run, command(run, args.threads, args.total_timesteps, args.script_args, args.python)) for run in runs]
    finished, pending = {}, []
    for run, cmd in jobs:
        state, where, wall_clock = status(run, cmd, args.out, args.total_timesteps)
        if state == "finished":
            finished[run] = (where, wall_clock)
        else:
            pending.append((run, cmd, state, where))
    print(
        f"{len(runs)} runs in {args.out}: {len(finished)} finished (skipped), {len(pending)} to run "
        f"({args.workers} workers x {args.threads} threads)",
        flush=True,
    )
    for run, _, state, log in [] if args.no_run else pending:  # what a run would do; --no-run runs nothing
        if state == "resumable":
            print(f"resuming {run.name} from {log}/state.pt")
        elif state == "extendable":
            print(f"extending {run.name} to {args.total_timesteps} frames from {log}/state.pt")
        elif state == "failed":
            print(f"retrying {run.name}: an earlier attempt did not finish (log: {log})")
        elif state == "changed":
            print(f"re-running {run.name}: it finished before with other arguments ({log})")
    todo = [
        (run, cmd + ["--resume", os.path.abspath(where)] if state in ("resumable", "extendable") else cmd)
        for run, cmd, state, where in pending
    ]

    if args.dry_run:
        print(f"# cwd: {os.path.abspath(args.out)}")
        for _, cmd in todo:
            print(shlex.join(cmd))
        return 0
    if args.slurm:
        if not todo:
            print("nothing to run: no SLURM script written")
            return 0
        os.makedirs(os.path.join(args.out, "logs"), exist_ok=True)
        name = "hypermeta-" + "_".join(args.env_ids)
        changed = [run for run, _, state, _ in pending if state == "changed" and run.run_dirs(args.out)]
        stale = {run: os.path.relpath(run.run_dirs(args.out)[-1], args.out) for run in changed}
        text = slurm_script(
            todo,
            args.out,
            args.threads,
            args.slurm_time,
            args.slurm_mem,
            args.slurm_option,
            name,
            stale,
            args.slurm_signal_lead,
        )
        with open(args.slurm, "w") as f:
            f.write(text)
        print(f"wrote {args.slurm}: {len(todo)} array tasks; submit with: sbatch {args.slurm}")
        print("stop for good: scancel JOBID (runs save their state; launching the sweep again resumes them)")
        print(f"afterwards: the same command with --no-run --export DIR exports the finished runs from {args.out}")
        return 0

    failed, interrupted = [], False
    if not args.no_run and todo:
        os.makedirs(args.out, exist_ok=True)
        result = execute(todo, args.out, args.workers, args.threads, len(runs), len(finished))
        for run in result["finished"]:
            finished[run] = status(run, dict(jobs)[run], args.out, args.total_timesteps)[1:]
        failed, interrupted = result["failed"], result.get("interrupted", False)
        print(f"summary: {len(result['finished'])} finished, {len(runs) - len(todo)} skipped, {len(failed)} failed")
        for run, log in failed:
            print(f"  failed: {run.name} (log: {log})")
    elif todo:
        print(f"--no-run: {len(todo)} runs not finished, not run")

    if args.export:
        os.makedirs(args.export, exist_ok=True)
        for run, cmd in jobs:
            if run in finished:
                export(run, *finished[run], cmd, args.export, args.export_suffix)
        print(f"exported {len(finished)} of {len(runs)} runs to {args.export}")
        for run in runs:
            if run not in finished:
                print(f"  not finished, not exported: {run.name}")
    return 130 if interrupted else 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
