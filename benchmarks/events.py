"""Reading the scalars a method script wrote to TensorBoard (no W&B needed)."""

from __future__ import annotations

import glob
import os

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def read_run(run_dir: str) -> dict:
    """Everything of one run directory's event files, read once, in order (a resumed run adds one file per resume;
    TensorBoard drops the points a killed process logged after its last state.pt, as the resumed writer asks):
    `scalars` {tag: (steps, values)} in step order, `hparams` {name: value as text} from the newest "hyperparameters"
    table every method script writes at start ({} if absent), and `wall_clock_s`, the seconds from the first writer's
    creation to the last scalar (the process's own start-up, ~3 s of imports, is not in it; a resumed run's includes
    the time it was stopped)."""
    if not glob.glob(os.path.join(run_dir, "events.out.tfevents.*")):
        raise FileNotFoundError(f"no TensorBoard event file in {run_dir}")
    acc = EventAccumulator(run_dir, size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    scalars, last_time = {}, None
    for tag in acc.Tags()["scalars"]:
        events = acc.Scalars(tag)
        scalars[tag] = ([e.step for e in events], [e.value for e in events])
        last_time = max([last_time or 0.0] + [e.wall_time for e in events[-1:]])
    hparams = {}
    if "hyperparameters/text_summary" in acc.Tags()["tensors"]:
        text = acc.Tensors("hyperparameters/text_summary")[-1].tensor_proto.string_val[0].decode()
        hparams = parse_hparams(text)
    wall_clock = None if last_time is None else last_time - acc.FirstEventTimestamp()
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
