"""Reading the scalars a method script wrote to TensorBoard (no W&B needed)."""

from __future__ import annotations

import glob
import logging
import os

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def read_run(run_dir: str) -> dict:
    """Everything of one run directory's event files, read once, in order (a resumed run adds one file per resume;
    TensorBoard drops the points a killed process logged after its last state.pt, as the resumed writer asks):
    `scalars` {tag: (steps, values)} in step order, `hparams` {name: value as text} from the newest "hyperparameters"
    table every method script writes at start ({} if absent), and `wall_clock_s`, the seconds from each writer's
    creation to the last scalar it kept, summed over the run's processes: the time the run was stopped between a
    kill and its resume is not in it, nor each process's own start-up (~3 s of imports)."""
    files = glob.glob(os.path.join(glob.escape(run_dir), "events.out.tfevents.*"))
    if not files:
        raise FileNotFoundError(f"no TensorBoard event file in {run_dir}")
    acc = EventAccumulator(run_dir, size_guidance={"scalars": 0, "tensors": 0})
    tb_logger = logging.getLogger("tensorboard")
    level = tb_logger.level
    tb_logger.setLevel(logging.ERROR)  # silences "Purging expired events": expected on a resumed run (see above)
    try:
        acc.Reload()
    finally:
        tb_logger.setLevel(level)
    scalars, times = {}, []
    for tag in acc.Tags()["scalars"]:
        events = acc.Scalars(tag)
        scalars[tag] = ([e.step for e in events], [e.value for e in events])
        times += [e.wall_time for e in events]
    hparams = {}
    if "hyperparameters/text_summary" in acc.Tags()["tensors"]:
        text = acc.Tensors("hyperparameters/text_summary")[-1].tensor_proto.string_val[0].decode()
        hparams = parse_hparams(text)
    # events.out.tfevents.{creation time, whole seconds}.{host}...: one file per process; the first's exact start
    starts = sorted(int(os.path.basename(f).split(".")[3]) for f in files)
    starts[0] = acc.FirstEventTimestamp()
    ends = starts[1:] + [float("inf")]
    spans = [max((t for t in times if a <= t < b), default=a) - a for a, b in zip(starts, ends, strict=True)]
    wall_clock = sum(spans) if times else None
    return {"scalars": scalars, "hparams": hparams, "wall_clock_s": wall_clock}


def read_scalars(run_dir: str) -> dict[str, tuple[list[int], list[float]]]:
    """{tag: (steps, values)} in step order, of one run directory."""
    return read_run(run_dir)["scalars"]


def parse_hparams(text: str) -> dict[str, str]:
    """The `|param|value|` markdown table of `writer.add_text("hyperparameters", ...)` as {param: value}."""
    rows = (line.strip().strip("|").split("|", 1) for line in text.splitlines()[2:])
    return {row[0]: row[1] for row in rows if len(row) == 2}


def run_finished(run: dict) -> bool | None:
    """Whether a run (read_run's dict) got to its last evaluation: the scripts always evaluate after the last
    iteration, at frame num_iterations * batch_size. None when the run logged no hyperparameters table."""
    try:
        final_frame = int(run["hparams"]["num_iterations"]) * int(run["hparams"]["batch_size"])
    except (KeyError, ValueError):
        return None
    steps = run["scalars"].get("eval/meta_episode_return", ([], []))[0]
    return bool(steps) and steps[-1] == final_frame
