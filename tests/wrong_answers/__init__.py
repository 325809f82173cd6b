"""Tables of the wrong answers learners write, one module per lab, run by one contract.

Each ``tests/wrong_answers/labNN.py`` exposes:

- ``LAB``: a :class:`Lab` (its solution notebook, its check module, the points it states);
- ``WRONG``: a list of :class:`WrongAnswer`, at least eight per exercise.

``tests/test_check_contract.py`` runs every table: the reference answers (the solution
notebook's cells) earn full points; every wrong answer loses points, earns exactly the
points its entry states, and gets a hint containing the entry's words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Lab:
    """What the contract needs to know about one lab.

    Attributes:
        notebook: the solution notebook's file name in ``solutions/``.
        checks: the check module, e.g. ``"course.checks.lab01"``.
        exercises: check name → the name its solution cell defines, in notebook order.
        points: the lab's total points, as its notebook states them.
        setup: code run before the solution cells (None: the first cell's imports).
        fresh_process: grade in a new Python process that first makes 2 CPU replicas.
    """

    notebook: str
    checks: str
    exercises: dict[str, str]
    points: float
    setup: str | None = None
    fresh_process: bool = False

    @property
    def path(self) -> Path:
        """The solution notebook."""
        return ROOT / "solutions" / self.notebook


@dataclass(frozen=True)
class WrongAnswer:
    """One plausible wrong answer to one exercise, and what its check must say.

    Attributes:
        exercise: the check's name.
        id: a short name for the mistake.
        answer: the learner's code: a callable (or class), or source text that defines the
            exercise's name; source runs in a copy of the solution namespace, as a notebook
            cell runs after the earlier ones.
        must_contain: words the hint must contain (each of them).
        points: the points it must earn (less than the maximum).
        gap: when not empty, the hint is known to miss ``must_contain``; the reason why.
    """

    exercise: str
    id: str
    answer: str | Callable[..., Any] | type
    must_contain: tuple[str, ...]
    points: float = 0
    gap: str = ""


def run_until_first_gap(notebook: str) -> tuple[str, str]:
    """Execute the untouched lab ``labs/<notebook>`` in a kernel until it stops.

    Returns:
        The name of the error it stopped with, and everything its cells printed.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    lab = nbformat.read(ROOT / "labs" / notebook, as_version=4)
    client = NotebookClient(lab, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(ROOT / "labs")}})
    try:
        client.execute()
        stopped = ""
    except CellExecutionError as failure:
        stopped = failure.ename
    printed = "".join(o.get("text", "") for c in lab.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    return stopped, printed
