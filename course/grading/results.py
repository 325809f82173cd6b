"""What grading produces: the states, one exercise's result, one notebook's report."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path


class NotGradable(ValueError):
    """A notebook cannot be graded; the message is one sentence saying why."""


class GradingInterrupted(Exception):
    """Ctrl-C while a notebook ran (raised as KeyboardInterrupt once the kernel is stopped)."""


class Result(str, enum.Enum):
    """How one exercise ended, as written in the JSON report (``extra_data.result``)."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    """The learner's code (or the check on it) raised, or stopped the kernel."""
    TIMEOUT = "timeout"
    NOT_RUN = "not run"

    def __str__(self) -> str:
        return self.value


def round_score(value: float) -> float:
    """Round a score to 4 decimals; an integral value becomes an ``int`` (``2.0`` → ``2``)."""
    value = round(float(value), 4)
    return int(value) if value == int(value) else value


@dataclass
class TestResult:
    """The grade of one check cell (one exercise)."""

    name: str
    """The exercise, e.g. ``"build_mlp"`` (from the check cell's grade_id)."""
    grade_id: str
    score: float
    max_score: float
    output: str
    """Feedback: the checks' one-line results, or why the check scored 0."""
    result: Result = Result.FAILED

    __test__ = False  # not a pytest test class

    @property
    def passed(self) -> bool:
        """Whether the exercise earned every point without a hint."""
        return self.result is Result.PASSED


@dataclass
class GradeReport:
    """Everything ``course grade`` learned about one notebook."""

    path: Path
    sha256: str | None = None
    lab: str | None = None
    """The solution's file name, e.g. ``"01_sequential_mlp.ipynb"``."""
    tests: list[TestResult] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    """One sentence when the notebook could not be graded (exit status 2)."""
    notes: list[str] = field(default_factory=list)
    """What happened while running (cells that raised or timed out, the kernel stopping)."""
    flags: list[str] = field(default_factory=list)
    """Learner code that reaches for the grading machinery: for a human to review."""
    cells: dict[str, int] = field(default_factory=dict)
    """Counts: ``planned``, ``executed``, ``errors``, ``timeouts`` (code cells)."""
    sandbox: str | None = None
    """The one line saying how the kernel was confined (loud when it was not)."""
    language: str = "en"
    """The feedback's language: ``course --lang``, else the notebook's, else ``$COURSE_LANG``."""
    judged_clean: list[str] = field(default_factory=list)
    """Exercises whose kernel result was re-checked in a clean process (:mod:`.crosscheck`)."""
    judged_in_kernel: list[str] = field(default_factory=list)
    """Exercises judged only in the learner's kernel (their checks need live objects)."""

    @property
    def graded(self) -> bool:
        """Whether the notebook could be graded at all."""
        return self.error is None

    @property
    def score(self) -> float:
        """The sum of the exercises' scores."""
        return round_score(sum(t.score for t in self.tests))

    @property
    def max_score(self) -> float:
        """The sum of the exercises' maximum scores."""
        return round_score(sum(t.max_score for t in self.tests))
