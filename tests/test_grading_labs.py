"""Every lab, graded three ways in real kernels: its solution scores full, its lab filled in as a
learner would scores full, and its unsolved lab scores 0.

One ``course grade`` call per lab grades the three notebooks. New labs are picked up from
``solutions/`` without editing this file.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from course import grading
from course.cli import main
from course.notebooks import (
    BEGIN_HIDDEN_TESTS,
    BEGIN_SOLUTION,
    END_HIDDEN_TESTS,
    END_SOLUTION,
    lab_text,
    python_source,
)

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
MARKERS = {BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS}


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def filled_lab(solution_path: Path) -> nbformat.NotebookNode:
    """The generated lab with every gap filled as a learner would: the solution's code typed in
    place of ``# YOUR CODE HERE``, without the authoring markers, the check cells untouched."""
    solution = nbformat.read(solution_path, as_version=4)
    answers = {
        gid: "\n".join(line for line in cell.source.split("\n") if line.strip() not in MARKERS)
        for cell in solution.cells
        if (gid := _grade_id(cell)) and cell.metadata["nbgrader"].get("solution")
        and cell.cell_type == "code"
    }
    lab = nbformat.reads(lab_text(solution_path), as_version=4)
    filled = 0
    for cell in lab.cells:
        if cell.cell_type == "code" and _grade_id(cell) in answers:
            cell.source = answers[_grade_id(cell)]
            filled += 1
    assert filled, f"{solution_path.name} has no exercise cell to fill"
    return lab


def unsolved_lab(solution_path: Path) -> nbformat.NotebookNode:
    return nbformat.reads(lab_text(solution_path), as_version=4)


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_every_lab_graded_three_ways(solution: Path, tmp_path: Path) -> None:
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    filled = submissions / "filled.ipynb"
    unsolved = submissions / "unsolved.ipynb"
    nbformat.write(filled_lab(solution), filled)
    nbformat.write(unsolved_lab(solution), unsolved)
    before = solution.read_bytes()
    out = tmp_path / "grades"

    status = main(["grade", str(solution), str(filled), str(unsolved), "--out", str(out)])

    assert status == 0
    assert solution.read_bytes() == before, "grading modified the solution notebook"
    results = {path.stem: json.loads(path.read_text(encoding="utf-8"))
               for path in out.glob("*.json")}
    by_source = {"solution": results[next(k for k in results if k not in ("filled", "unsolved"))],
                 "filled": results["filled"], "unsolved": results["unsolved"]}
    max_score = by_source["solution"]["max_score"]
    assert max_score > 0
    for kind in ("solution", "filled"):
        result = by_source[kind]
        lost = [(t["name"], t["output"]) for t in result["tests"] if t["score"] != t["max_score"]]
        assert result["score"] == max_score and not lost, (kind, lost)
        rechecked = [f for f in result["extra_data"]["flags"] if "clean re-check" in f
                     or "judged in the learner's kernel" in f]
        assert not rechecked, (kind, rechecked)  # every clean check replayed, and agreed
    assert by_source["unsolved"]["max_score"] == max_score
    assert by_source["unsolved"]["score"] == 0, [
        (t["name"], t["score"]) for t in by_source["unsolved"]["tests"] if t["score"]
    ]


# ---------------------------------------------------------------------------------------------
# IPython syntax in the cells the grader reads (the cause of Labs 03/04 scoring 0)
# ---------------------------------------------------------------------------------------------


def test_python_source_translates_ipython_syntax_and_keeps_python() -> None:
    plain = "x = '%d items' % 3  # a ? and a ! in text\nprint(x)\n"
    assert python_source(plain) == plain
    translated = python_source("%matplotlib inline\n!echo hi\nimport course\n")
    assert "run_line_magic('matplotlib', 'inline')" in translated
    assert "system('echo hi')" in translated
    compile(translated, "<cell>", "exec")


@pytest.mark.parametrize("magic", ["%matplotlib inline", "%load_ext autoreload", "!ls",
                                   "%time x = 1"])
def test_course_aliases_survive_ipython_syntax_in_any_setup_cell(magic: str) -> None:
    setup = f"{magic}\nimport course.checks.lab03 as checks\nfrom course import data\n"
    aliases = grading.course_aliases([setup])
    assert aliases["checks"] == ["module", "course.checks.lab03", None]
    assert aliases["data"] == ["from", "course", "data"]


def test_check_cells_and_learner_cells_with_ipython_syntax_are_read() -> None:
    segments = grading.split_hidden(
        f"%time checks.f(f)\n{BEGIN_HIDDEN_TESTS}\nchecks.g(g)\n{END_HIDDEN_TESTS}\n"
    )
    assert [kind for kind, _ in segments] == ["visible", "hidden"]
    step = grading.Step("answer", "%time x = 1\nimport numpy as np\nnp.mean = len\n",
                        "your cell for lab01-x", grade_id="lab01-x")
    flags = grading.scan_for_tampering([step])
    assert any("np.mean" in flag and "monkeypatching" in flag for flag in flags), flags
