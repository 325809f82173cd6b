"""A one-exercise lab (NumPy only, checked by Lab 01's ``preprocess`` check) whose kernels
start in about 2 s: the notebooks of the many-at-once and autograder tests."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course.notebooks import lab_text

EXERCISE = "mini-scale"
CHECK = "mini-scale-check"
POINTS = 2

RIGHT = ("def scale(images):\n    flat = images.reshape(len(images), -1).astype('float32')\n"
         "    return (flat / 255.0 - 0.1307) / 0.3081\n")
WRONG = "def scale(images):\n    return images\n"
KILLS_KERNEL = "import os\nos._exit(1)\n"
LOOPS = "while True:\n    pass\n"


def _meta(grade_id: str, *, answer: bool) -> dict:
    meta = {"grade_id": grade_id, "solution": answer, "grade": not answer, "locked": not answer,
            "schema_version": 3}
    if not answer:
        meta["points"] = POINTS
    return {"nbgrader": meta}


def write_solution(solutions: Path) -> Path:
    """Write ``solutions/80_mini.ipynb`` (the folder is created); return its path."""
    solutions.mkdir(parents=True, exist_ok=True)
    body = RIGHT.replace("    flat", "    ### BEGIN SOLUTION\n    flat").rstrip("\n")
    nb = new_notebook(cells=[
        new_markdown_cell("# Mini lab: scale the digits"),
        new_code_cell("import numpy as np\nimport course.checks.lab01 as lab01_checks"),
        new_code_cell(body + "\n    ### END SOLUTION", metadata=_meta(EXERCISE, answer=True)),
        new_code_cell("lab01_checks.preprocess(scale)", metadata=_meta(CHECK, answer=False)),
    ])
    path = solutions / "80_mini.ipynb"
    nbformat.write(nb, path)
    return path


def write_submission(solution: Path, path: Path, answer: str | None = None) -> Path:
    """Write the generated lab to ``path``, its exercise cell holding ``answer`` if given."""
    nb = nbformat.reads(lab_text(solution), as_version=4)
    if answer is not None:
        cell = next(c for c in nb.cells
                    if c.metadata.get("nbgrader", {}).get("grade_id") == EXERCISE)
        cell.source = answer
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
