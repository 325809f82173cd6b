"""A Chinese lab is graded like its English lab: the same answers earn the same score, and the
feedback is in Chinese.

For every lab, the English lab and the Chinese lab (``labs/zh/``, generated from
``solutions/zh/``) are filled with the same answers, the first half of the exercises, as a
learner halfway through would have them, and graded in one ``course grade --jobs 2`` call.
Each exercise must score the same in both; the partly solved lab must score strictly between 0
and full (so the equality is not that of two zeros or two full marks); every feedback line of
the Chinese report is Chinese, and no line of the English one is.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from test_grading_labs import MARKERS, _grade_id

from course.cli import main
from course.i18n import has_cjk
from course.i18n.build import edition_dir
from course.notebooks import lab_text

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


def half_filled(solution_path: Path) -> nbformat.NotebookNode:
    """The lab of ``solution_path`` with the first half of its code exercises answered."""
    solution = nbformat.read(solution_path, as_version=4)
    exercises = [c for c in solution.cells if c.cell_type == "code" and _grade_id(c)
                 and c.metadata["nbgrader"].get("solution")]
    answers = {_grade_id(c): "\n".join(line for line in c.source.split("\n")
                                       if line.strip() not in MARKERS)
               for c in exercises[: max(1, len(exercises) // 2)]}
    lab = nbformat.reads(lab_text(solution_path), as_version=4)
    for cell in lab.cells:
        if cell.cell_type == "code" and _grade_id(cell) in answers:
            cell.source = answers[_grade_id(cell)]
    return lab


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_a_chinese_lab_scores_as_the_english_one_with_chinese_feedback(solution, tmp_path):
    english, chinese = tmp_path / "en.ipynb", tmp_path / "zh.ipynb"
    nbformat.write(half_filled(solution), english)
    nbformat.write(half_filled(edition_dir(solution.parent, "zh") / solution.name), chinese)
    out = tmp_path / "grades"

    assert main(["grade", str(english), str(chinese), "--out", str(out), "--jobs", "2"]) == 0

    en, zh = (json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
              for name in ("en", "zh"))
    assert 0 < en["score"] < en["max_score"], "half the answers should earn part of the points"
    assert [(t["name"], t["score"]) for t in zh["tests"]] == [
        (t["name"], t["score"]) for t in en["tests"]]
    assert zh["score"] == en["score"] and zh["max_score"] == en["max_score"]
    for test in zh["tests"]:
        assert all(has_cjk(line) for line in test["output"].splitlines()), test
    for test in en["tests"]:
        assert not has_cjk(test["output"]), test
    markdown = (out / "zh.md").read_text(encoding="utf-8")
    assert has_cjk(markdown.splitlines()[0]), "the Markdown report is in Chinese too"
