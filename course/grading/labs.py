"""Reading a learner's notebook and identifying the lab it belongs to."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from course.grading.results import NotGradable
from course.notebooks import find_repo_root, read_solution


def nbgrader_meta(cell: Any) -> dict:
    """Return a cell's ``metadata.nbgrader`` (``{}`` when absent or malformed)."""
    meta = cell.get("metadata") or {}
    value = meta.get("nbgrader") if isinstance(meta, dict) else None
    return value if isinstance(value, dict) else {}


def grade_id(cell: Any) -> str | None:
    """Return a cell's nbgrader ``grade_id``, or None."""
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) and gid else None


def parse_notebook(data: bytes, shown: str) -> nbformat.NotebookNode:
    """Parse a learner's notebook bytes, or raise :class:`NotGradable` in one sentence."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotGradable(f"{shown} is not a notebook: it is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise NotGradable(
            f"{shown} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}), "
            "so it cannot be graded; save it again from Jupyter."
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise NotGradable(f"{shown} is valid JSON but not a Jupyter notebook (it has no cells).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as exc:  # nbformat raises many types for malformed notebooks
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NotGradable(f"{shown} is not a readable Jupyter notebook ({reason}).") from None


def find_solutions_dir(start: Path | None = None) -> Path | None:
    """Return the kit's ``solutions/``: the installed package's repository first, then the cwd's.

    The package's own repository comes first because the checks are loaded from that package;
    a ``solutions/`` folder next to a submission is never used (it could be the learner's).
    """
    package_repo = Path(__file__).resolve().parents[2]
    for candidate in (package_repo / "solutions", find_repo_root(start) / "solutions"):
        if candidate.is_dir():
            return candidate
    return None


@dataclass
class Solution:
    """A solution notebook and the grade_ids of its cells."""

    path: Path
    notebook: nbformat.NotebookNode
    grade_ids: set[str]


def load_solution(path: Path) -> Solution:
    """Read the solution notebook at ``path``."""
    nb = read_solution(path)
    return Solution(path, nb, {gid for c in nb.cells if (gid := grade_id(c))})


class _Solutions:
    """The solutions of a folder, read when first needed."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.paths = sorted(self.folder.glob("*.ipynb"))
        self._cache: dict[Path, Solution] = {}

    def get(self, path: Path) -> Solution:
        if path not in self._cache:
            self._cache[path] = load_solution(path)
        return self._cache[path]

    def owner(self, gid: str) -> str | None:
        """The name of the solution holding ``gid``, or None."""
        return next((p.name for p in self.paths if gid in self.get(p).grade_ids), None)


def _named_solution(source: str, learner_ids: set[str], shown: str,
                    solutions: _Solutions) -> Solution:
    path = solutions.folder / Path(source).name
    if not path.is_file():
        raise NotGradable(
            f"{shown} is a lab of {Path(source).name}, which is not in {solutions.folder}; "
            "pass the kit's solutions with --solutions DIR."
        )
    found = solutions.get(path)
    foreign = sorted(learner_ids - found.grade_ids)
    if foreign:
        other = solutions.owner(foreign[0])
        belongs = f"to {other}" if other else "to no lab of this kit"
        raise NotGradable(
            f"{shown} comes from another lab: its metadata names {path.name} but its "
            f"exercise cell {foreign[0]!r} belongs {belongs}."
        )
    return found


def _not_a_lab(shown: str, folder: Path) -> NotGradable:
    return NotGradable(
        f"{shown} is not a lab of this kit: it has no course metadata and no exercise cell of "
        f"a notebook in {folder}."
    )


def _solution_by_ids(learner_ids: set[str], shown: str, solutions: _Solutions) -> Solution:
    if not learner_ids:
        raise _not_a_lab(shown, solutions.folder)
    for path in solutions.paths:
        if learner_ids <= solutions.get(path).grade_ids:
            return solutions.get(path)
    owners = {gid: solutions.owner(gid) for gid in sorted(learner_ids)}
    known = [gid for gid, lab in owners.items() if lab]
    if not known:
        raise _not_a_lab(shown, solutions.folder)
    other = next(gid for gid, lab in owners.items() if lab != owners[known[0]])
    raise NotGradable(
        f"{shown} mixes exercise cells of several labs ({known[0]!r} of "
        f"{owners[known[0]]}, {other!r} of {owners[other] or 'no lab of this kit'}), "
        "so it cannot be graded."
    )


def identify_lab(nb: nbformat.NotebookNode, shown: str, solutions_dir: Path) -> Solution:
    """Return the solution ``nb`` is a lab of, or raise :class:`NotGradable`.

    ``metadata.course.source`` names the solution; without it, the solution whose exercise
    ``grade_id`` s include all of the notebook's. Either way every ``grade_id`` in ``nb`` must
    belong to that solution.
    """
    learner_ids = {gid for c in nb.cells if (gid := grade_id(c))}
    course_meta = nb.metadata.get("course")
    source = course_meta.get("source") if isinstance(course_meta, dict) else None
    solutions = _Solutions(Path(solutions_dir))
    if isinstance(source, str) and source:
        return _named_solution(source, learner_ids, shown, solutions)
    return _solution_by_ids(learner_ids, shown, solutions)
