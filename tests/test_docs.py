"""docs/: every method page ends with the full `diff -u sibling method` of the files as they are now, and every
diff excerpt before it is a piece of that diff, so a change to a method file that is not carried into its page
fails here; every citation in the repository points at something in it."""

import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIBLING = {"rnn_hn": "rnn", "vi_hn": "rnn_hn", "ti_naive": "vi_hn", "ti": "ti_naive", "ti_pp_hn": "ti"}


def current_diff(method):
    """`diff -u sibling.py method.py` without its --- / +++ lines."""
    result = subprocess.run(
        ["diff", "-u", f"{SIBLING[method]}.py", f"{method}.py"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 1, result.stderr  # 1: the files differ
    return result.stdout.split("\n", 2)[2]


@pytest.mark.skipif(shutil.which("diff") is None, reason="needs the diff program (GNU diffutils)")
@pytest.mark.parametrize("method", SIBLING)
def test_method_page_shows_the_current_diff(method):
    hunks = current_diff(method)
    with open(os.path.join(ROOT, "docs", f"{method}.md")) as f:
        page = f.read()
    *excerpts, full = re.findall(r"^```diff\n(.*?)^```$", page, re.DOTALL | re.MULTILINE)
    assert full == hunks, f"docs/{method}.md's last diff block differs from `diff -u {SIBLING[method]}.py {method}.py`"
    diff_lines = [line for line in hunks.splitlines() if not line.startswith("@@")]
    for excerpt in excerpts:  # consecutive lines of the diff, hunk headers (@@) left out or not
        lines = [line for line in excerpt.splitlines() if not line.startswith("@@")]
        starts = [i for i, line in enumerate(diff_lines) if line == lines[0]]
        assert any(diff_lines[i : i + len(lines)] == lines for i in starts), f"docs/{method}.md: {lines[0]!r}"


# The paper's numbered sections (Beck et al., NeurIPS 2023), which `paper §x` citations may name.
PAPER_SECTIONS = {"1", "2", "3", "3.1", "3.2", "3.3", "4", "4.1", "4.2", "4.3", "5"}
NUMBER = r"\d+(?:\.\d+)*"
ITEM = r"(?: items? \d+(?: and \d+)?)?"
# one citation: "reference §2.1", "paper §3.3", continued by ", §2.2", " and §3.1", "/§2.2", "-2.4", "-§4.4", with
# "item N" allowed after a number (the § sign is written \u00a7 here so that this file does not cite anything)
S = "\u00a7"
CITATION = re.compile(
    rf"\b(reference|paper)\s+{S}({NUMBER}(?:-{S}?{NUMBER})?{ITEM}"
    rf"(?:(?:,|, and| and| or|/)\s*(?:[-+]?#\s*)?{S}{NUMBER}(?:-{S}?{NUMBER})?{ITEM})*)",
    re.IGNORECASE,
)


def text_files():
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True)
    files = [f for f in listed.stdout.split() if f.endswith((".py", ".md", ".sh")) and os.path.isfile(f"{ROOT}/{f}")]
    return [f for f in files if f != "tests/test_docs.py"]  # this file names what it looks for


def reference_sections():
    """docs/reference.md's section numbers ("1", "1.4", ...) and §6's numbered items ("6.20")."""
    text = open(os.path.join(ROOT, "docs", "reference.md")).read()
    sections = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", text, re.MULTILINE))
    checklist = text.split("\n## 6.", 1)[1].split("\n## 7.", 1)[0]
    return sections | {f"6.{n}" for n in re.findall(r"^(\d+)\. ", checklist, re.MULTILINE)}


def test_every_citation_points_into_the_repository():
    """`reference §x` must be a section of docs/reference.md, `paper §x` one of the paper's, `difference N` an
    item of docs/differences.md, a docs/ path a file; a bare § (outside reference.md, where § is its own) and a
    pointer to the authors' notes that are not shipped fail."""
    reference = reference_sections()
    differences = set(re.findall(r"^### (\d+)\. ", open(os.path.join(ROOT, "docs", "differences.md")).read(), re.M))
    dead = []
    for path in text_files():
        text = open(os.path.join(ROOT, path)).read()
        for stale in ("reference" + "-spec", "DESIGN" + ".md", "../" + "shared"):  # split: this file cites none
            if stale in text:
                dead.append(f"{path}: {stale}")
        covered = set()
        for m in CITATION.finditer(text):
            covered.update(i for i in range(m.start(), m.end()) if text[i] == S)
            valid = PAPER_SECTIONS if m.group(1).lower() == "paper" else reference
            numbers = re.findall(rf"{S}?({NUMBER})", re.sub(r" items? \d+(?: and \d+)?", "", m.group(2)))
            dead += [f"{path}: {m.group(1)} {S}{n}" for n in numbers if n not in valid]
        bare = [i for i, c in enumerate(text) if c == S and i not in covered and not text[i + 1 : i + 2].isalpha()]
        if path != "docs/reference.md":  # a placeholder such as "§x.y" is not a citation
            dead += [f"{path}: bare {S} at {text[max(0, i - 30) : i + 6]!r}" for i in bare]
        else:  # reference.md's own bare § are its sections
            dead += [
                f"{path}: {S}{n}"
                for i in bare
                for n in re.findall(rf"^{NUMBER}", text[i + 1 : i + 12])
                if n not in reference
            ]
        for m in re.finditer(r"\bdifferences? ((?:\d+(?:, | and |-))*\d+)\b", text):
            dead += [f"{path}: difference {n}" for n in re.findall(r"\d+", m.group(1)) if n not in differences]
        for doc in re.findall(r"\bdocs/[\w./-]+\.(?:md|png)", text):
            if not os.path.exists(os.path.join(ROOT, doc)):
                dead.append(f"{path}: {doc}")
    assert not dead, "\n".join(dead)


def test_learning_rate_table_is_the_code_s():
    """docs/learning_rates.md's table (a row per env id, a column per method) is envs.LEARNING_RATES."""
    import envs

    text = open(os.path.join(ROOT, "docs", "learning_rates.md")).read()
    header, _, *rows = [line for line in text.split("## Defaults", 1)[1].splitlines() if line.startswith("|")][:14]
    methods = [cell.strip(" `") for cell in header.strip("|").split("|")[1:]]
    assert sorted(methods) == sorted(envs.LEARNING_RATES)
    table = {}
    for row in rows:
        env_id, *cells = [cell.strip(" `") for cell in row.strip("|").split("|")]
        table[env_id] = {m: float(cell.split()[0]) for m, cell in zip(methods, cells, strict=True)}
    assert table == {e: {m: envs.LEARNING_RATES[m][e] for m in methods} for e in envs.ENV_IDS}


def test_contributing_lists_every_shared_module():
    """docs/contributing.md's table names every module of envs/ and benchmarks/, so a new one gets a line."""
    page = open(os.path.join(ROOT, "docs", "contributing.md")).read()
    for package in ("envs", "benchmarks"):
        for name in sorted(os.listdir(os.path.join(ROOT, package))):
            if name.endswith(".py") and (name != "__init__.py" or package == "envs"):
                assert f"`{package}/{name}`" in page, f"docs/contributing.md does not list {package}/{name}"
