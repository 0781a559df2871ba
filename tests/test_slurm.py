"""The sweep's SLURM job array: the script's commands, its resume and requeue rules run by bash with a stand-in
scontrol (fast), and the array on a real one-node SLURM cluster started by the test (Debian's slurm-wlm and munge,
installed when missing): a task requeued by `scontrol requeue`, one stopped by its time limit, one preempted and one
cancelled by `scancel`."""

import contextlib
import glob
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from benchmarks import sweep
from tests.test_benchmarks import GRID, RESUMABLE, RESUMABLE_ARGS, SCRIPT_ARGS, call, exported, wait_for_states


def test_slurm_script_runs_the_local_commands(tmp_path):
    argv = [*GRID, "--out", str(tmp_path / "out"), "--threads", "2", "--workers", "1"]
    _, dry = call(sweep.main, [*argv, "--dry-run", *SCRIPT_ARGS])
    local = [shlex.split(line) for line in dry.splitlines()[2:]]
    assert len(local) == 8 and all(cmd[cmd.index("--threads") + 1] == "2" for cmd in local)
    runs = sweep.grid(["rnn", "rnn_hn"], ["GridWorld"], [73, 20], ["1e-3", "3e-4"])
    assert local == [sweep.command(r, 2, 32, SCRIPT_ARGS[1:]) for r in runs]
    script = str(tmp_path / "sweep.sbatch")
    call(
        sweep.main,
        [*argv, "--slurm", script, "--slurm-time", "2:00:00", "--slurm-option=--partition=cpu", *SCRIPT_ARGS],
    )
    with open(script) as f:
        text = f.read()
    for line in (
        "#SBATCH --array=0-7",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --time=2:00:00",
        "#SBATCH --partition=cpu",
        "#SBATCH --open-mode=append",
        "#SBATCH --signal=B:USR1@300",  # a tenth of 2 hours, capped at 5 minutes
    ):
        assert line + "\n" in text
    listing = (
        'eval "$(sed -n "/^NAMES=(/,/^)/p; /^COMMANDS=(/,/^)/p" "$0")"; printf "%s\\n" "${COMMANDS[@]}" "${NAMES[@]}"'
    )
    lines = subprocess.run(["bash", "-c", listing, script], capture_output=True, text=True, check=True).stdout
    lines = lines.splitlines()
    assert [shlex.split(line) for line in lines[:8]] == local  # one array task per run, the same commands
    assert lines[8:] == [r.name for r in runs]
    assert not os.path.exists(tmp_path / "out" / "runs")  # nothing ran


def test_slurm_time_limits_and_the_warning_lead(tmp_path, capsys):
    assert [sweep.slurm_seconds(t) for t in ("90", "5:30", "2:00:00", "1-0", "1-2:03", "1-2:03:04", "")] == [
        5400,
        330,
        7200,
        86400,
        93780,
        93784,
        None,
    ]
    assert [sweep.signal_lead(s) for s in (60, 1800, 7200, 86400)] == [10, 180, 300, 300]
    argv = ["--methods", "rnn", "--env-ids", "GridWorld", "--out", str(tmp_path), "--slurm", str(tmp_path / "s")]
    assert sweep.parse_args([*argv, "--slurm-time", "5", "--slurm-signal-lead", "20"]).slurm_signal_lead == 20
    assert "warning: --slurm-time 5 leaves an attempt as little as 220 s" not in capsys.readouterr().err
    assert sweep.parse_args([*argv, "--slurm-time", "2"]).slurm_signal_lead == 12
    assert (
        "warning: --slurm-time 2 leaves an attempt as little as 48 s before SLURM's warning" in capsys.readouterr().err
    )
    for bad, message in (
        (["--slurm-time", "1:xx"], "--slurm-time 1:xx: not a SLURM time limit (M, M:S, H:M:S, D-H, D-H:M or D-H:M:S"),
        (["--slurm-time", "1", "--slurm-signal-lead", "60"], "--slurm-signal-lead 60: must be between 1 and the time"),
    ):
        with pytest.raises(SystemExit):
            sweep.parse_args([*argv, *bad])
        assert message in capsys.readouterr().err


def test_slurm_task_resumes_only_its_own_state(tmp_path):
    """The array task's resume rule: the run's newest directory's state.pt, unless the sweep marked that directory
    stale (the run finished there with another command), or the command already resumes."""
    run = sweep.Run("rnn", "GridWorld", 73, "1e-3")
    cmd, old = sweep.command(run, 1, 64), "runs/GridWorld__rnn_lr1e-3__73__100"

    def task_command(stale, command=cmd):
        text = sweep.slurm_script([(run, command)], str(tmp_path), 1, "1:00:00", "1G", stale=stale)
        lines = text.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("NAMES=("))
        end = next(i for i, line in enumerate(lines) if line.endswith("; fi"))
        snippet = "\n".join(lines[start : end + 1]) + '\necho "$cmd"'
        env = dict(os.environ, SLURM_ARRAY_TASK_ID="0")
        return subprocess.run(["bash", "-c", snippet], cwd=tmp_path, env=env, capture_output=True, text=True).stdout

    os.makedirs(tmp_path / old)
    (tmp_path / old / "state.pt").touch()
    assert task_command(None).split()[-2:] == ["--resume", old]
    assert "--resume" not in task_command({run: old})
    assert task_command(None, cmd + ["--resume", "elsewhere"]).count("--resume") == 1
    os.makedirs(tmp_path / "runs" / "GridWorld__rnn_lr1e-3__73__200")  # its own fresh start, requeued
    (tmp_path / "runs" / "GridWorld__rnn_lr1e-3__73__200" / "state.pt").touch()
    assert task_command({run: old}).split()[-1] == "runs/GridWorld__rnn_lr1e-3__73__200"


def stand_in_scontrol(tmp_path, show_job=""):
    """A bin directory whose scontrol records its arguments in tmp_path/scontrol.log and answers `show job` with
    `show_job` (what the real one prints while the job completes, in the cases the real-scheduler test runs)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "show_job").write_text(show_job)
    script = f'#!/bin/sh\necho "$@" >> {tmp_path}/scontrol.log\n[ "$1" != show ] || cat {bin_dir}/show_job\n'
    (bin_dir / "scontrol").write_text(script)
    (bin_dir / "scontrol").chmod(0o755)
    return dict(os.environ, SLURM_ARRAY_TASK_ID="0", SLURM_ARRAY_JOB_ID="42", PATH=f"{bin_dir}:{os.environ['PATH']}")


def show_job(state="RUNNING", reason="None", restarts=0):
    return f"JobId=43 JobName=hypermeta\n   JobState={state} Reason={reason} Dependency=(null)\n   Requeue=1 Restarts={restarts} BatchFlag=1\n"


@pytest.mark.parametrize(
    "sig, shown, restart_count, note, requeues",
    [
        (signal.SIGUSR1, show_job(), None, "time limit: the run saved its state; requeueing the task", True),
        (signal.SIGTERM, show_job("COMPLETING", "TimeLimit"), None, "time limit: the run saved its state", True),
        (signal.SIGTERM, show_job("COMPLETING", restarts=1), None, "requeued by SLURM (preemption or scontrol", False),
        (signal.SIGTERM, show_job("COMPLETING", restarts=2), "1", "requeued by SLURM", False),
        (signal.SIGTERM, show_job("COMPLETING", restarts=1), "1", "stopped (scancel): the run saved its state", False),
        (
            signal.SIGTERM,
            show_job("COMPLETING"),
            None,
            "stopped (scancel): the run saved its state; the task ends",
            False,
        ),
    ],
)
def test_slurm_task_requeues_itself_only_when_the_scheduler_stopped_it(
    sig, shown, restart_count, note, requeues, tmp_path
):
    """The task's decision after its run saved its state, from what scontrol shows (the states the real-scheduler
    test saw): SLURM's warning (USR1) or the time limit (Reason=TimeLimit) requeue it; a requeue by SLURM (the
    restart count above the attempt's SLURM_RESTART_COUNT) is left to SLURM; anything else is scancel and ends it.
    The run is a stand-in that saves nothing and exits 143 on SIGTERM, as the method scripts do."""
    run = sweep.Run("rnn", "GridWorld", 73, "1e-3")
    started = tmp_path / "started"
    stand_in = "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(143)); "
    stand_in += f"open({str(started)!r}, 'w').close(); time.sleep(60)"
    text = sweep.slurm_script([(run, [sys.executable, "-c", stand_in])], str(tmp_path), 1, "1:00:00", "1G")
    (tmp_path / "task.sbatch").write_text(text)
    env = stand_in_scontrol(tmp_path, shown)
    env.pop("SLURM_RESTART_COUNT", None)
    env.update({"SLURM_JOB_ID": "43"} | ({"SLURM_RESTART_COUNT": restart_count} if restart_count else {}))
    task = subprocess.Popen(["bash", str(tmp_path / "task.sbatch")], env=env, stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not started.exists():
        assert time.time() < deadline and task.poll() is None
        time.sleep(0.01)
    task.send_signal(sig)
    stdout = task.communicate(timeout=60)[0]
    assert task.returncode == 143, stdout
    asked = (tmp_path / "scontrol.log").read_text().splitlines()
    assert asked == ["show job 42_0", *(["requeue 42_0"] if requeues else [])]
    attempt = int(restart_count or 0) + 1
    assert re.search(rf"^# \S+ \S+ task 42_0 attempt {attempt}: job 43 on ", stdout, re.M), stdout  # the header
    assert f"task 42_0 attempt {attempt}: {note}" in stdout, stdout


def test_slurm_task_requeues_on_the_time_limit_warning_and_resumes(tmp_path):
    """The array task of one run, run by bash as SLURM would: SIGUSR1 (SLURM's warning before the time limit) saves
    the run's state and requeues the task; the requeued task resumes and finishes the same run."""
    out, straight = str(tmp_path / "out"), str(tmp_path / "straight")
    one = [*RESUMABLE[:5], "73", *RESUMABLE[7:]]
    call(sweep.main, [*one, "--out", straight, "--export", straight + "/export", *RESUMABLE_ARGS])
    script = str(tmp_path / "task.sbatch")
    call(sweep.main, [*one, "--out", out, "--slurm", script, *RESUMABLE_ARGS])
    env = stand_in_scontrol(tmp_path, show_job())
    task = subprocess.Popen(["bash", script], env=env, stdout=subprocess.DEVNULL)
    wait_for_states(out, 1)
    task.send_signal(signal.SIGUSR1)
    assert task.wait(timeout=300) == 143
    assert (tmp_path / "scontrol.log").read_text().splitlines()[-1] == "requeue 42_0"
    assert subprocess.run(["bash", script], env=env, timeout=300, stdout=subprocess.DEVNULL).returncode == 0
    (log,) = glob.glob(os.path.join(out, "logs", "*.log"))
    assert "--resume runs/GridWorld__rnn_lr1e-3__73__" in open(log).read()
    assert sweep.logged_versions(log) == [sweep.code_version()]  # both attempts name the commit they ran on
    assert sweep.logged_environments(log) == 2 * [sweep.environment_versions()]  # and the versions they ran with
    rc, _ = call(sweep.main, [*one, "--out", out, "--no-run", "--export", out + "/export", *RESUMABLE_ARGS])
    assert rc == 0 and exported(out + "/export") == exported(straight + "/export")


# A one-node cluster in the test's own directory, tuned so that SLURM's delays do not dominate: a requeued job may
# start again after cred_expire seconds (default 120), the schedulers run every second, and a finished job's record
# is kept for the test to read.
SLURM_CONF = """\
ClusterName=hypermeta-test
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={d}/munge.socket,cred_expire=5
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
MinJobAge=600
KillWait=10
ReturnToService=2
NodeName={host} NodeAddr=127.0.0.1 CPUs=4 RealMemory=1000 State=UNKNOWN
PartitionName=high Nodes={host} Default=YES MaxTime=INFINITE State=UP PriorityTier=2
PartitionName=low Nodes={host} MaxTime=INFINITE State=UP PriorityTier=1
"""
SLURM_TOOLS = ("sbatch", "scancel", "scontrol", "squeue", "sinfo", "slurmctld", "slurmd", "munged", "mungekey")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _install_slurm():
    """Debian's slurm-wlm and munge, with apt-get, when missing (CI runs as root on a fresh machine); else a skip
    with one line saying why."""
    if all(shutil.which(tool) for tool in SLURM_TOOLS):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("SLURM is not installed and cannot be: installing slurm-wlm and munge needs apt-get as root")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "slurm-wlm", "munge"],
    ):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=900)
        if done.returncode:
            last = (done.stderr.strip() or done.stdout.strip() or "?").splitlines()[-1]
            pytest.skip(f"SLURM could not be installed: {shlex.join(cmd)} failed: {last}")
    if not all(shutil.which(tool) for tool in SLURM_TOOLS):
        pytest.skip(f"SLURM could not be installed: after apt-get, one of {', '.join(SLURM_TOOLS)} is missing")


def _stop(pid_file, wait=10):
    """SIGTERM the daemon whose pid its pid file holds, SIGKILL it if it is still there after `wait` seconds."""
    try:
        pid = int(open(pid_file).read())
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        return
    deadline = time.time() + wait
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def slurm(tmp_path_factory):
    """The environment (SLURM_CONF) of a one-node SLURM cluster (munged, slurmctld, slurmd) started by hand in a
    directory of the test's own, stopped at teardown, its jobs cancelled first."""
    _install_slurm()
    d = str(tmp_path_factory.mktemp("slurm"))  # short: munge's socket path must fit a unix socket's 108 bytes
    host = socket.gethostname().split(".")[0]
    conf = SLURM_CONF.format(host=host, d=d, ctld_port=_free_port(), slurmd_port=_free_port())
    for sub in ("state", "spool"):
        os.makedirs(os.path.join(d, sub))
    with open(os.path.join(d, "slurm.conf"), "w") as f:
        f.write(conf)
    env = dict(os.environ, SLURM_CONF=os.path.join(d, "slurm.conf"))
    env.pop("SLURM_JOB_ID", None)  # not a job of an outer cluster
    munge = ["munged", "--force", "--socket", f"{d}/munge.socket", "--key-file", f"{d}/munge.key"]
    munge += ["--pid-file", f"{d}/munged.pid", "--log-file", f"{d}/munged.log", "--seed-file", f"{d}/munge.seed"]
    try:
        for name, cmd in (
            ("mungekey", ["mungekey", "--create", "--keyfile", f"{d}/munge.key"]),
            ("munged", munge),
            ("slurmctld", ["slurmctld", "-c"]),
            ("slurmd", ["slurmd"]),
        ):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
            if done.returncode:
                last = (done.stderr.strip() or "?").splitlines()[-1]
                pytest.skip(f"the SLURM cluster could not start: {name} failed: {last}")
        deadline = time.time() + 60
        while (state := _slurm(env, "sinfo", "-h", "-o", "%T")) != "idle":
            if time.time() > deadline:
                pytest.skip(f"the SLURM cluster could not start: its node is {state or 'unknown'} after 60 s")
            time.sleep(0.5)
        yield env
    finally:
        jobs = _slurm(env, "squeue", "-h", "-o", "%A").split()
        if jobs:
            subprocess.run(["scancel", *jobs], env=env, capture_output=True)
            deadline = time.time() + 60
            while _slurm(env, "squeue", "-h", "-o", "%A") and time.time() < deadline:
                time.sleep(0.5)
        for daemon in ("slurmd", "slurmctld", "munged"):
            _stop(os.path.join(d, f"{daemon}.pid"))


def _slurm(env, *cmd):
    """A SLURM client command's stdout, stripped ("" when it fails)."""
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


SLOW_PYTHON = """\
#!{python}
# The test's --python: runs a method script with a pause before each optimizer step (its numbers stay the same), so
# that a tiny run lasts long enough for SLURM to stop it, without keeping a CPU busy.
import os, runpy, sys, time

if sys.argv[1] == "-c":
    exec(sys.argv[2])
else:
    import torch

    step = torch.optim.Adam.step

    def slow_step(self, *args, **kwargs):
        time.sleep({pause})
        return step(self, *args, **kwargs)

    torch.optim.Adam.step = slow_step
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(sys.argv[0]))
    runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_slurm_array_on_a_real_scheduler_requeues_resumes_and_stays_cancelled(slurm, tmp_path):
    """A tiny sweep's array of 4 runs submitted with sbatch to the one-node cluster, 1-minute time limit: task 0 is
    requeued by `scontrol requeue` once its run saved a state, task 1 is stopped by its time limit (SLURM's warning
    10 s before it, which SLURM sends up to a minute early), task 2 is cancelled by `scancel` once its run saved a
    state, and task 3, submitted to the low-priority partition, is preempted by a job of the high one. Tasks 0, 1 and
    3 requeue, resume and finish; task 2 stays cancelled with its state.pt, and the sweep launched again resumes it.
    Every curve is the uninterrupted sweep's. The runs pause before each optimizer step (SLOW_PYTHON, 1 s an update),
    so each lasts more than an attempt gets."""
    out, straight = str(tmp_path / "out"), str(tmp_path / "straight")
    argv = ["--methods", "rnn", "--env-ids", "GridWorld", "--seeds", "73", "20", "3", "5", "--lrs", "1e-3"]
    argv += ["--threads", "1", "--total-timesteps", str(16 * 50)]
    script_args = [*SCRIPT_ARGS, "--eval-interval", "10", "--checkpoint-interval", "2"]
    slow = tmp_path / "slow_python"
    slow.write_text(SLOW_PYTHON.format(python=sys.executable, pause=0.25))
    slow.chmod(0o755)
    script = str(tmp_path / "array.sbatch")
    options = ["--slurm-time", "1", "--slurm-mem", "100M", "--python", str(slow)]
    rc, stdout = call(sweep.main, [*argv, "--out", out, "--slurm", script, *options, *script_args])
    assert rc == 0 and "#SBATCH --signal=B:USR1@10\n" in open(script).read(), stdout
    start = time.time()
    jobs = []  # tasks 0-2 in the default (high) partition, task 3 in the low one: the same script
    for extra in (["--array=0-2"], ["--array=3", "--partition=low"]):
        job = subprocess.run(["sbatch", "--parsable", *extra, script], env=slurm, capture_output=True, text=True)
        assert job.returncode == 0, job.stderr
        jobs.append(job.stdout.strip().split(";")[0])
    tasks = [f"{jobs[0]}_0", f"{jobs[0]}_1", f"{jobs[0]}_2", f"{jobs[1]}_3"]
    # the uninterrupted sweep, while the array runs (its runs mostly sleep)
    reference = [sys.executable, sweep.__file__, *argv, "--out", straight, "--export", straight + "/export"]
    reference = subprocess.Popen([*reference, "--workers", "1", *script_args], stdout=subprocess.DEVNULL)

    def state_saved(seed):
        return glob.glob(os.path.join(out, "runs", f"GridWorld__rnn_lr1e-3__{seed}__*", "state.pt"))

    def queued(*tasks):
        return _slurm(slurm, "squeue", "-h", "-j", ",".join(tasks), "-o", "%i %T %r")

    # once tasks 0, 2 and 3 saved a state: task 3 preempted (the 4 tasks hold the 4 CPUs: a 1-CPU job of the high
    # partition takes task 3's), task 0 requeued, task 2 cancelled; task 1 left to its time limit
    while not all(state_saved(seed) for seed in (73, 3, 5)):
        assert time.time() < start + 120, "the tasks saved no state in 2 minutes"
        time.sleep(0.2)
    preemptor = ["sbatch", "--parsable", "--partition=high", f"--output={tmp_path}/high.out", "--wrap", "sleep 2"]
    preemptor = subprocess.run(preemptor, env=slurm, capture_output=True, text=True, check=True).stdout.strip()
    while _slurm(slurm, "squeue", "-h", "-j", preemptor, "-o", "%T") == "PENDING":  # until it has task 3's CPU
        assert time.time() < start + 180, queued(preemptor, *jobs)
        time.sleep(0.2)
    for action in (["scontrol", "requeue", tasks[0]], ["scancel", tasks[2]]):
        done = subprocess.run(action, env=slurm, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    while queued(*jobs):
        assert time.time() < start + 360, queued(*jobs)
        time.sleep(1)
    wall_clock = time.time() - start

    shown = [_slurm(slurm, "scontrol", "show", "job", task) for task in tasks]
    states = [re.search(r"JobState=(\S+) .*Restarts=(\d+)", text, re.S).groups() for text in shown]
    assert [state for state, _ in states] == ["COMPLETED", "COMPLETED", "CANCELLED", "COMPLETED"], states
    assert [int(restarts) >= 1 for _, restarts in states] == [True, True, False, True], states
    texts = [open(os.path.join(out, "logs", f"slurm-{task}.out")).read() for task in tasks]
    for task, seed, text, (_, restarts) in zip(tasks, (73, 20, 3, 5), texts, states, strict=True):
        attempts = len(re.findall(rf"^# \S+ \S+ task {task} attempt \d+: job ", text, re.M))
        assert attempts == int(restarts) + 1, text  # one header per attempt, kept across requeues
        log = os.path.join(out, "logs", f"GridWorld__rnn__lr1e-3__s{seed}.log")
        assert len(sweep.logged_environments(log)) == attempts  # and one launch in the run's log
        assert "Job is pending execution" not in text and "slurm_script: line" not in text
    # what SLURM sent and showed: a requeue or a preemption raised the restart count before its SIGTERM; the warning
    # before the time limit is SIGUSR1; scancel's SIGTERM comes with neither
    requeued = "requeued by SLURM (preemption or scontrol requeue); the run saved its state and resumes when the task "
    requeued += "restarts [signals: TERM; Restarts=1 Reason=None]"
    assert "DUE TO JOB REQUEUE" in texts[0] and requeued in texts[0], texts[0]
    assert (
        "time limit: the run saved its state; requeueing the task, which resumes [signals: USR1; Restarts=" in texts[1]
    )
    cancelled = "stopped (scancel): the run saved its state; the task ends; launching the sweep again resumes the run"
    assert cancelled + " [signals: TERM; Restarts=0 Reason=None]" in texts[2] and state_saved(3), texts[2]
    assert "DUE TO PREEMPTION" in texts[3] and requeued in texts[3], texts[3]
    print(f"real-scheduler array: {wall_clock:.0f} s; restarts: " + ", ".join(r for _, r in states))

    assert reference.wait(timeout=300) == 0
    rc, stdout = call(sweep.main, [*argv, "--out", out, "--export", out + "/export", *script_args])
    assert rc == 0 and "resuming GridWorld__rnn__lr1e-3__s3" in stdout and "3 finished (skipped)" in stdout, stdout
    assert exported(out + "/export") == exported(straight + "/export")
