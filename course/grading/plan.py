"""The plan: which code the grader runs, in which order, rebuilt from the solution."""

from __future__ import annotations

import ast
import enum
from dataclasses import dataclass, field
from typing import Any

import nbformat

from course.grading.labs import Solution, grade_id, nbgrader_meta
from course.notebooks import (
    BEGIN_HIDDEN_TESTS,
    END_HIDDEN_TESTS,
    cell_source,
    make_lab,
    python_source,
)


class StepKind(str, enum.Enum):
    """Where the code of a step comes from."""

    SOLUTION = "solution"
    """A setup or demonstration cell, from the solution."""
    ANSWER = "answer"
    """The learner's exercise cell."""
    GAP = "gap"
    """The lab's gap, run for an exercise cell the learner deleted."""
    EXTRA = "extra"
    """A code cell the learner added."""
    CHECK = "check"
    """A grader cell, in place of a check cell."""

    def __str__(self) -> str:
        return self.value


class SegmentKind(str, enum.Enum):
    """A part of a check cell: shown to learners, hidden, or both in one block."""

    VISIBLE = "visible"
    HIDDEN = "hidden"
    MIXED = "mixed"
    """Hidden tests that cannot be split off (errors are reported as hidden)."""

    def __str__(self) -> str:
        return self.value


class AliasForm(str, enum.Enum):
    """How a solution's import binds a name to a ``course`` module."""

    MODULE = "module"
    """``import course.checks.lab01 as name``"""
    TOP = "top"
    """``import course.checks.lab01`` (binds ``course``)"""
    FROM = "from"
    """``from course.checks import lab01`` (a submodule or an attribute)"""

    def __str__(self) -> str:
        return self.value


LEARNER_KINDS = (StepKind.ANSWER, StepKind.EXTRA)
"""The steps whose code the learner wrote."""


@dataclass
class Step:
    """One code cell of the notebook the grader runs."""

    kind: StepKind
    source: str
    where: str
    """How the report names this cell, e.g. ``"your cell for lab01-preprocess"``."""
    grade_id: str | None = None
    exercise: str | None = None
    """For a check: the grade_id of the exercise cell it depends on."""
    points: float | None = None
    segments: list[tuple[SegmentKind, str]] = field(default_factory=list)
    """For a check: its parts, run in order."""

    def __post_init__(self) -> None:
        self.kind = StepKind(self.kind)
        self.segments = [(SegmentKind(kind), text) for kind, text in self.segments]


def split_hidden(source: str) -> list[tuple[SegmentKind, str]]:
    """Split a check cell's source into visible and hidden-test parts, in order.

    Each part must compile on its own (hidden tests at top level, as the kit writes them);
    otherwise the whole cell is one ``MIXED`` part, whose errors are reported as hidden.
    """
    source = python_source(source)
    parts: list[tuple[SegmentKind, list[str]]] = [(SegmentKind.VISIBLE, [])]
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped == BEGIN_HIDDEN_TESTS:
            parts.append((SegmentKind.HIDDEN, []))
        elif stripped == END_HIDDEN_TESTS:
            parts.append((SegmentKind.VISIBLE, []))
        else:
            parts[-1][1].append(line)
    segments = [(kind, "\n".join(lines)) for kind, lines in parts if "".join(lines).strip()]
    try:
        for _, text in segments:
            compile(text, "<check>", "exec", dont_inherit=True)
    except SyntaxError:
        return [(SegmentKind.MIXED, "\n".join(
            line for line in source.split("\n")
            if line.strip() not in (BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS)
        ))]
    return segments


def parse_all(sources: list[str]) -> list[ast.Module]:
    """Parse each source (IPython syntax translated); skip those that do not parse."""
    trees = []
    for source in sources:
        try:
            trees.append(ast.parse(python_source(source)))
        except SyntaxError:
            continue
    return trees


def _is_course(module: str) -> bool:
    return module == "course" or module.startswith("course.")


def course_aliases(sources: list[str]) -> dict[str, list[str | None]]:
    """Names the solution's code binds to ``course`` modules: ``{name: [form, module, attr]}``.

    ``["module", "course.checks.lab01", None]`` for ``import course.checks.lab01 as name``;
    ``["top", "course.checks.lab01", None]`` for ``import course.checks.lab01`` (binds
    ``course``); ``["from", "course.checks", "lab01"]`` for ``from course.checks import lab01``
    (a submodule or an attribute). A grader cell binds each name to its private copy.
    """
    aliases: dict[str, list[str | None]] = {}
    for tree in parse_all(sources):
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for item in node.names:
                    if not _is_course(item.name):
                        continue
                    if item.asname:
                        aliases[item.asname] = [AliasForm.MODULE, item.name, None]
                    else:
                        aliases["course"] = [AliasForm.TOP, item.name, None]
            elif (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                  and _is_course(node.module)):
                for item in node.names:
                    aliases[item.asname or item.name] = [AliasForm.FROM, node.module, item.name]
    return aliases


@dataclass
class _SolutionIndex:
    """Where each learner cell belongs in the solution: by grade_id, cell id or source."""

    cells: list[Any]
    lab_cells: list[Any]
    by_gid: dict[str, int] = field(default_factory=dict)
    by_id: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for i, (cell, lab_cell) in enumerate(zip(self.cells, self.lab_cells, strict=True)):
            if gid := grade_id(cell):
                self.by_gid[gid] = i
            if cell.get("id"):
                self.by_id[cell["id"]] = i
            for text in (cell_source(cell).strip(), cell_source(lab_cell).strip()):
                if text:
                    self.by_source.setdefault(text, i)

    def is_exercise(self, gid: str | None) -> bool:
        return gid in self.by_gid and bool(nbgrader_meta(self.cells[self.by_gid[gid]])
                                           .get("solution"))

    def anchor(self, cell: Any) -> int | None:
        """The solution index a learner's cell stands for, or None for a cell of their own."""
        gid, cell_id = grade_id(cell), cell.get("id")
        if gid is not None and gid in self.by_gid:
            return self.by_gid[gid]
        if cell_id in self.by_id and self.cells[self.by_id[cell_id]].cell_type == cell.get(
                "cell_type"):
            return self.by_id[cell_id]
        return self.by_source.get(cell_source(cell).strip())


@dataclass
class _LearnerCells:
    answers: dict[str, str] = field(default_factory=dict)
    extras: list[tuple[int, int, str]] = field(default_factory=list)
    """(solution index it follows, learner index, source)"""
    notes: list[str] = field(default_factory=list)


def _read_learner(learner: nbformat.NotebookNode, index: _SolutionIndex) -> _LearnerCells:
    found = _LearnerCells()
    anchor = -1
    for position, cell in enumerate(learner.cells):
        here = index.anchor(cell)
        if here is not None:
            anchor = here
            gid = grade_id(cell)
            if gid is not None and index.is_exercise(gid):
                if gid in found.answers:
                    found.notes.append(
                        f"the notebook has several cells for {gid}; the last one was used")
                found.answers[gid] = cell_source(cell)
        elif cell.get("cell_type") == "code" and cell_source(cell).strip():
            found.extras.append((anchor, position, cell_source(cell)))
    return found


def _check_step(cell: Any, gid: str, index: _SolutionIndex, last_answer: str | None) -> Step:
    exercise = gid[: -len("-check")] if gid.endswith("-check") else None
    if not index.is_exercise(exercise):
        exercise = last_answer  # the exercise cell the check follows
    points = nbgrader_meta(cell).get("points")
    return Step(StepKind.CHECK, "", f"the check for {gid}", grade_id=gid, exercise=exercise,
                points=float(points) if isinstance(points, int | float) else None,
                segments=split_hidden(cell_source(cell)))


def _solution_step(cell: Any, i: int) -> Step:
    first = next((ln.strip() for ln in cell_source(cell).split("\n")
                  if ln.strip() and not ln.strip().startswith("#")), "")
    first = first if len(first) <= 40 else first[:39] + "…"
    return Step(StepKind.SOLUTION, cell_source(cell), f"lab cell {i} `{first}`")


def plan_notebook(learner: nbformat.NotebookNode, solution: Solution) -> tuple[list[Step],
                                                                               list[str]]:
    """Rebuild the code to run from the solution and the learner's notebook.

    Returns:
        The steps, and notes about the learner's notebook (duplicated exercise cells, ...).
    """
    index = _SolutionIndex(solution.notebook.cells,
                           make_lab(solution.notebook, solution.path.name).cells)
    found = _read_learner(learner, index)
    notes = found.notes
    keyed: list[tuple[tuple[int, int, int], Step]] = []
    last_answer: str | None = None
    for i, (sol_cell, lab_cell) in enumerate(zip(index.cells, index.lab_cells, strict=True)):
        if sol_cell.cell_type != "code":
            continue
        gid = grade_id(sol_cell)
        if gid and index.is_exercise(gid):
            if gid in found.answers:
                step = Step(StepKind.ANSWER, found.answers[gid], f"your cell for {gid}",
                            grade_id=gid)
            else:
                notes.append(f"no cell for {gid}: the lab's empty exercise cell was run instead")
                step = Step(StepKind.GAP, cell_source(lab_cell), f"the exercise cell for {gid}",
                            grade_id=gid)
            last_answer = gid
        elif gid and nbgrader_meta(sol_cell).get("grade"):
            step = _check_step(sol_cell, gid, index, last_answer)
        else:
            step = _solution_step(sol_cell, i)
        keyed.append(((i, 0, 0), step))
    for anchor, position, text in found.extras:
        keyed.append(((anchor, 1, position),
                      Step(StepKind.EXTRA, text, f"your added cell (cell {position})")))
    keyed.sort(key=lambda pair: pair[0])
    return [step for _, step in keyed], notes
