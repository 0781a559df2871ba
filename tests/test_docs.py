"""docs/: every method page's diff blocks, read in order, are exactly `diff -u sibling method` of the files as they
are now, so a change to a method file that is not carried into its page fails here."""

import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIBLING = {"rnn_hn": "rnn", "vi_hn": "rnn_hn", "ti_naive": "vi_hn", "ti": "ti_naive", "ti_pp_hn": "ti"}


@pytest.mark.skipif(shutil.which("diff") is None, reason="needs the diff program (GNU diffutils)")
@pytest.mark.parametrize("method", SIBLING)
def test_method_page_shows_the_current_diff(method):
    sibling = SIBLING[method]
    result = subprocess.run(["diff", "-u", f"{sibling}.py", f"{method}.py"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr  # 1: the files differ
    hunks = result.stdout.split("\n", 2)[2]  # without the --- / +++ lines
    with open(os.path.join(ROOT, "docs", f"{method}.md")) as f:
        page = f.read()
    shown = "".join(re.findall(r"^```diff\n(.*?)^```$", page, re.DOTALL | re.MULTILINE))
    assert shown == hunks, f"docs/{method}.md's diff blocks differ from `diff -u {sibling}.py {method}.py`"
