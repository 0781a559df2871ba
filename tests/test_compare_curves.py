"""benchmarks/compare_curves.py: window means computed by hand, and a TensorBoard log exported to a curve CSV."""

import csv
import os

import pytest
from torch.utils.tensorboard import SummaryWriter

from benchmarks import compare_curves


def _write(folder, seed, points):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"GridWorld__vi_hn__lr3e-4__s{seed}.csv"), "w") as f:
        f.write("frames,eval_meta_episode_return\n" + "".join(f"{x},{r}\n" for x, r in points))


def _rows(text):
    """{first cell: the other cells} of the markdown table rows."""
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("| (")]
    return [(row[0], row[1:]) for row in cells]


def test_window_table_matches_hand_computed_means(tmp_path, capsys):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    # windows (0, 100k] and (100k, 200k]; frame 0 belongs to no window, frames past --max-frames are dropped
    _write(a, 1, [(50_000, 1), (100_000, 3), (150_000, 5), (200_000, 7)])  # 2, 6
    _write(a, 2, [(0, -50), (50_000, 2), (100_000, 4), (150_000, 10), (200_000, 10)])  # 3, 10
    _write(b, 1, [(60_000, 20), (180_000, 7), (250_000, 99)])  # 20, 7
    _write(b, 2, [(90_000, 22), (110_000, 8), (190_000, 10)])  # 22, 9
    compare_curves.main(["table", "--a", a, "--b", b, "--labels", "x", "y", "--max-frames", "200000"])
    rows = _rows(capsys.readouterr().out)
    (w1, (ma1, mb1, d1, sep1)), (w2, (ma2, mb2, d2, sep2)) = rows[:2]
    assert (w1, w2) == ("(0k, 100k]", "(100k, 200k]")
    assert ma1.startswith("2.50 [") and mb1.startswith("21.00 [") and (d1, sep1) == ("+18.50", "yes")
    assert ma2.startswith("8.00 [") and mb2.startswith("8.00 [") and (d2, sep2) == ("+0.00", "no")
    # with two seeds the bootstrap interval lies between them
    lo, hi = map(float, ma2.split("[")[1].rstrip("]").split(","))
    assert 6 <= lo < 8 < hi <= 10
    assert rows[2:] == [
        ("(0k, 100k]", ["2.00", "3.00", "20.00", "22.00", "0/2"]),
        ("(100k, 200k]", ["6.00", "10.00", "7.00", "9.00", "2/2"]),
    ]
    # by default only the whole windows every curve reaches: b's seed 2 ends at 190k
    compare_curves.main(["table", "--a", a, "--b", b])
    assert [w for w, _ in _rows(capsys.readouterr().out)] == ["(0k, 100k]", "(0k, 100k]"]
    # a curve without an evaluation in a window is an error, not a gap
    _write(b, 3, [(150_000, 1)])
    with pytest.raises(SystemExit, match=r"no evaluation in \(0, 100000\]"):
        compare_curves.main(["table", "--a", a, "--b", b, "--max-frames", "200000"])


def test_export_writes_the_tagged_points(tmp_path):
    writer = SummaryWriter(str(tmp_path / "run"))
    for frames, value in [(0, -6.0), (4800, 1.5)]:
        writer.add_scalar("Meta-Episode Return", value, frames)
        for k in (1, 2):
            writer.add_scalar(f"return_avg_per_frame/episode_{k}", value / 2 + k, frames)
    writer.close()
    out = tmp_path / "GridWorld__vi_hn__lr3e-4__s3.csv"
    args = ["export", str(tmp_path / "run"), "--return-tag", "Meta-Episode Return", "--csv", str(out)]
    compare_curves.main([*args, "--episode-tag", "return_avg_per_frame/episode_{k}", "--note", '{"code": "c"}'])
    with open(out) as f:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    assert rows == [
        {"frames": 0, "eval_meta_episode_return": -6.0, "episode_1_return": -2.0, "episode_2_return": -1.0},
        {"frames": 4800, "eval_meta_episode_return": 1.5, "episode_1_return": 1.75, "episode_2_return": 2.75},
    ]
    with pytest.raises(SystemExit, match="no tag 'Return'"):
        compare_curves.main(["export", str(tmp_path / "run"), "--return-tag", "Return", "--csv", str(out)])
