"""The checks that grade exercises: one result per check, one line per result, one hint.

A check calls the learner's function on fixed inputs and compares type, then shape,
then values; the first mismatch becomes the hint. Each lab has its own module
(``course.checks.lab01``, ...) whose public functions are the checks.

Example:
    >>> import course.checks.lab01 as checks
    >>> checks.build_mlp(build_mlp)            # doctest: +SKIP
    ✔ build_mlp: 2/2 points
"""

from __future__ import annotations

import contextvars
import functools
import re
import sysconfig
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PASS_MARK = "✔"
FAIL_MARK = "✘"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    Attributes:
        name: the check's name (usually the exercise's function name).
        points: the points earned.
        max_points: the points available.
        hint: empty on success, else one specific sentence telling what to fix.
    """

    name: str
    points: float
    max_points: float
    hint: str = ""

    @property
    def passed(self) -> bool:
        """True when every point was earned and no hint was given."""
        return not self.hint and self.points >= self.max_points

    def line(self, lang: str | None = None) -> str:
        """The one-line report printed under the check cell, in ``lang`` (default: in use)."""
        from course.i18n import tr

        score = tr(f"{self.name}: {self.points:g}/{self.max_points:g} points", lang)
        if self.passed:
            return f"{PASS_MARK} {score}"
        return f"{FAIL_MARK} {score} — {tr(self.hint, lang)}"

    def _ipython_display_(self) -> None:
        """Show nothing when a check cell ends with the call: its line is already printed."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``passed`` included) for graders."""
        return {**asdict(self), "passed": self.passed}


class CheckFailed(AssertionError):
    """Raised inside a check body with the hint to show the learner."""


_banked: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("banked", default=None)


def expect(condition: Any, hint: str) -> None:
    """Fail the running check with ``hint`` unless ``condition`` is true."""
    if not condition:
        raise CheckFailed(hint)


def award(points: float) -> None:
    """Bank partial credit inside a check: kept even if a later :func:`expect` fails."""
    banked = _banked.get()
    if banked is not None:
        banked[0] += points


class CheckLog:
    """Collects the results of the checks run in this process, in order, for a grader."""

    def __init__(self) -> None:
        self.results: list[CheckResult] = []

    def record(self, result: CheckResult) -> CheckResult:
        """Append ``result`` and return it."""
        self.results.append(result)
        return result

    def clear(self) -> None:
        """Forget every recorded result."""
        self.results.clear()


LOG = CheckLog()


_LIBRARY_DIRS = tuple(
    str(Path(p).resolve()) for p in {
        Path(__file__).resolve().parent.parent,  # the course package itself
        *(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")),
    }
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _is_learner_frame(filename: str) -> bool:
    """True for code the learner wrote (a notebook cell or their own file), not a library."""
    path = str(Path(filename).resolve()) if not filename.startswith("<") else filename
    return not path.startswith(_LIBRARY_DIRS)


def _describe_error(exc: BaseException, limit: int = 160) -> str:
    """One line naming the learner's error and the line of their code it came from."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_learner_frame(f.filename)]
    lines = [line.strip() for line in _ANSI.sub("", str(exc)).splitlines() if line.strip()]
    message = lines[0] if lines else ""
    if len(message) > limit:
        message = message[: limit - 1] + "…"
    if frames:  # two whole sentences, so that each translates as one message
        return (f"your code raised {type(exc).__name__}: {message} "
                f"(line {frames[-1].lineno} of your code)")
    return f"your code raised {type(exc).__name__}: {message}"


JUDGED = ("clean", "kernel")
"""Where ``course grade`` judges a check (see :func:`check`)."""


def check(points: float, name: str | None = None,
          judged: str = "clean") -> Callable[[Callable[..., None]], Callable]:
    """Turn ``body(answer, ...)`` that calls :func:`expect` into a graded check.

    The wrapped check never raises for a wrong answer: it prints one line, records the
    result in :data:`LOG` and returns the :class:`CheckResult`.

    ``judged="kernel"`` declares a check that needs the learner's live objects (a model, a
    data set, a class): ``course grade`` then judges it only in the learner's kernel. By
    default (``"clean"``) it is re-run in a clean process on the plain values the answer
    gave (``course.grading.judge``), and tests/test_judged_clean.py proves the two agree.
    """
    if judged not in JUDGED:
        raise ValueError(f"judged must be one of {JUDGED}, not {judged!r}")

    def decorate(body: Callable[..., None]) -> Callable[..., CheckResult]:
        check_name = name or body.__name__

        @functools.wraps(body)
        def run(*args: Any, verbose: bool = True, **kwargs: Any) -> CheckResult:
            banked = [0.0]
            token = _banked.set(banked)
            try:
                body(*args, **kwargs)
                hint = ""
            except CheckFailed as failure:
                hint = str(failure)
            except NotImplementedError:
                hint = ("not done yet: replace `raise NotImplementedError()` "
                        "under `# YOUR CODE HERE` with your code")
            except Exception as exc:  # the learner's bug, reported as a hint
                hint = _describe_error(exc)
            finally:
                _banked.reset(token)
            earned = points if not hint else min(banked[0], points)
            result = CheckResult(check_name, earned, points, hint)
            if verbose:
                print(result.line())
            return LOG.record(result)

        run.max_points = points  # type: ignore[attr-defined]
        run.judged = judged  # type: ignore[attr-defined]
        return run

    return decorate
