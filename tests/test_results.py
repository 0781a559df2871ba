"""docs/results.md and README.md's Results section quote what the committed curves give.

The generated blocks (the front table, each result set's table) are regenerated from docs/results/ and compared
with the committed text; in the prose, every "mean ± interval", every number called final and every number called
an average over training must be one that the CSVs give (benchmarks/front_table.py's result sets, at any of their
learning rates) or that a committed aggregate.py output under docs/results/ holds. The random and scripted
policies' returns (rows marked s.e.) are not recomputed: aggregate.py measures them slowly on Meta-World.
"""

import glob
import os
import re

import numpy as np
import pytest

from benchmarks import aggregate, front_table

ROOT = front_table.ROOT
NUMBER = r"-?\d[\d,]*\.\d\d\b"
INTERVAL = re.compile(rf"({NUMBER}) ± ({NUMBER})")
# "final 723.33", "final return 694.20 ± 29.69", "final eval return 649.52 and 778.01", "finals 1.2 / ..."
CALLED_FINAL = re.compile(rf"\bfinal(?: eval)?(?: return)?s?:? ((?:{NUMBER})(?:(?:,| and| /) {NUMBER})*)")
CALLED_AVERAGE = re.compile(rf"\baverages? over training:? ((?:{NUMBER})(?:(?:,| and| /) {NUMBER})*)")


def page(path):
    with open(os.path.join(ROOT, path)) as f:
        text = f.read()
    if path == "README.md":
        text = text.split("\n## Results", 1)[1].split("\n## ", 1)[0]
    text = re.sub(r"\n## Reference levels.*?(?=\n## |\Z)", "", text, flags=re.DOTALL)  # baselines: not recomputed
    return front_table.BLOCK.sub("", text)  # the generated blocks are checked whole, below


def plain(number: str) -> str:
    return number.replace(",", "")


@pytest.fixture(scope="module")
def computed():
    return computed_values()


def computed_values():
    """Every figure the result sets give, at every lr: (intervals "m ± h", finals, averages over training)."""
    intervals, finals, averages = set(), set(), set()
    for result_set in front_table.RESULT_SETS:
        for groups in aggregate.grouped(front_table.curves_of(result_set)).values():
            for by_lr in groups.values():
                for lr, curves in by_lr.items():
                    row = front_table.Row(curves[0].env_id, curves[0].method, lr, curves)
                    intervals |= {row.final(), row.average(), *row.success().split(" / ")}
                    seed_finals = [aggregate.final_value(c.returns) for c in curves]
                    seed_finals += [aggregate.final_value(v) for c in curves for v in c.extra.values()]
                    seed_averages = [float(np.mean(c.returns)) for c in curves]
                    finals |= {f"{v:.2f}" for v in [*seed_finals, np.mean(seed_finals)]}
                    averages |= {f"{v:.2f}" for v in [*seed_averages, np.mean(seed_averages)]}
    outputs = ""
    for path in glob.glob(os.path.join(ROOT, "docs", "results", "**", "*.md"), recursive=True):
        with open(path) as f:
            outputs += f.read()
    intervals |= {f"{m} ± {h}" for m, h in INTERVAL.findall(outputs)}
    return intervals, finals, averages


def test_generated_blocks_are_what_the_csvs_give():
    for path, link in front_table.PAGES.items():
        with open(os.path.join(ROOT, path)) as f:
            text = f.read()
        names = [m["name"] for m in front_table.BLOCK.finditer(text)]
        assert "front" in names, f"{path} has no front table"
        if path == "docs/results.md":
            assert set(names) == {"front", *front_table.SETS}, "every result set's table, once"
        _, changed = front_table.update(text, link)
        assert not changed, f"{path}: out of date (python benchmarks/front_table.py): {changed}"


@pytest.mark.parametrize("path", list(front_table.PAGES))
def test_quoted_numbers_are_the_data_s(path, computed):
    intervals, finals, averages = computed
    text = page(path)
    measured = "\n".join(line for line in text.splitlines() if "s.e." not in line)  # baselines: not recomputed
    wrong = [f"{m} ± {h}" for m, h in INTERVAL.findall(measured) if f"{plain(m)} ± {plain(h)}" not in intervals]
    for pattern, known, name in ((CALLED_FINAL, finals, "final"), (CALLED_AVERAGE, averages, "average")):
        for match in pattern.finditer(text):
            wrong += [f"{name} {n}" for n in re.findall(NUMBER, match[1]) if plain(n) not in known]
    assert not wrong, f"{path} quotes numbers the CSVs do not give: {wrong}"


def test_front_table_picks_the_largest_budget():
    """A cell shows the set with the most frames for its (env, method), then the most seeds, then the one listed
    first: Grid-World RNN+HN from the 4M protocol (listed before the 4M seed-1 set, with at least as many seeds) over
    the 2M sweep (three seeds), ML1-pick-place RNN+HN at 2M over 1M; variants (σ = 0.3, RNN+S) never fill a cell."""
    cells = front_table.front_cells()
    row, result_set = cells[("GridWorld", "rnn_hn")]
    assert result_set.name == "GridWorld_4M_protocol" and row.frames >= 3_990_000
    assert cells[("ML1-pick-place", "rnn_hn")][1].name == "longer"
    assert all(method in front_table.METHODS for _, method in cells)
    assert cells[("AntDir", "rnn_hn")][1].name == "1M"  # its 2M runs started at σ = 0.3


def test_links_into_results_md_resolve():
    """Every link to a section of docs/results.md, from any page, names one of its headings (as GitHub makes their
    anchors) or one of its <a id> anchors."""
    with open(os.path.join(ROOT, "docs", "results.md")) as f:
        text = f.read()
    anchors = set(re.findall(r'<a id="([\w-]+)"></a>', text))
    for heading in re.findall(r"^#+ (.+)$", text, re.MULTILINE):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    dead = []
    for path in glob.glob(os.path.join(ROOT, "**", "*.md"), recursive=True):
        if ".venv" in path or "node_modules" in path:
            continue
        with open(path) as f:
            links = re.findall(r"\]\((?:[\w./-]*results\.md)?#([\w-]+)\)", f.read())
        if not path.endswith(os.path.join("docs", "results.md")):  # elsewhere only the links that name results.md
            with open(path) as f:
                links = re.findall(r"\]\([\w./-]*results\.md#([\w-]+)\)", f.read())
        dead += [f"{os.path.relpath(path, ROOT)}: #{a}" for a in links if a not in anchors]
    assert not dead, dead
