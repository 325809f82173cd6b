"""Scoring: a check's verified result, or the reason it has none, becomes its TestResult."""

from __future__ import annotations

import re
from typing import Any

from course.grading.grader_cell import GRADER_ERROR
from course.grading.kernel import FAILED, TIMED_OUT, Outcome, Status, Verified
from course.grading.plan import SegmentKind, Step, StepKind
from course.grading.results import GradeReport, Result, TestResult, round_score


def exercise_name(grade_id: str) -> str:
    """``"lab01-build_mlp-check"`` → ``"build_mlp"``."""
    name = re.sub(r"-check$", "", grade_id)
    return re.sub(r"^lab\d+[-_]", "", name) or grade_id


def _result_line(item: dict[str, Any]) -> str:
    points, max_points = float(item["points"]), float(item["max_points"])
    hint = str(item.get("hint") or "")
    if item.get("kind") != SegmentKind.VISIBLE:
        # A hidden check's hint is written to be shown, but an error raised by the learner's
        # code on hidden inputs may quote those inputs: keep only the exception's type.
        raised = re.match(r"your code raised (\w+)", hint)
        hint = f"your code raised {raised.group(1)} on a hidden test" if raised else hint
    prefix = "hidden test: " if item.get("kind") == SegmentKind.HIDDEN else ""
    if not hint and points >= max_points:
        return f"{prefix}✔ {item['name']}: {points:g}/{max_points:g} points"
    return f"{prefix}✘ {item['name']}: {points:g}/{max_points:g} points — {hint}"


def _error_feedback(error: dict[str, Any]) -> tuple[str, Result]:
    if error.get("kind") == SegmentKind.VISIBLE:
        detail = f"{error['type']}: {error['message']}" if error["message"] else error["type"]
        return f"the check could not run: {detail}", Result.ERROR
    if error.get("kind") == GRADER_ERROR:
        return f"grader error: {error['type']}: {error['message']}", Result.FAILED
    return f"a hidden test failed ({error['type']})", Result.FAILED


def score_check(step: Step, result: dict[str, Any]) -> TestResult:
    """Turn a verified grader result into the test's score and feedback."""
    assert step.grade_id is not None
    items = [r for r in result.get("results", []) if isinstance(r, dict)]
    lines = [_result_line(item) for item in items]
    earned = sum(float(item["points"]) for item in items)
    available = sum(float(item["max_points"]) for item in items)
    max_score = step.points if step.points is not None else available
    error = result.get("error")
    outcome = Result.FAILED
    score = 0.0
    if error:
        line, outcome = _error_feedback(error)
        lines.append(line)
    elif not items:
        lines.append("grader error: the check cell ran no check of course.checks")
    else:
        score = max_score * min(earned / available, 1.0) if available > 0 else 0.0
        if score >= max_score and all(not item.get("hint") for item in items):
            outcome = Result.PASSED
    return TestResult(exercise_name(step.grade_id), step.grade_id, round_score(score),
                      round_score(max_score or 0), "\n".join(lines), outcome)


def zero(step: Step, output: str, outcome: Result) -> TestResult:
    """A check that earned nothing, with ``output`` saying why."""
    assert step.grade_id is not None
    return TestResult(exercise_name(step.grade_id), step.grade_id, 0,
                      round_score(step.points or 0), output, outcome)


def _exercise_failed(step: Step, exercise: Outcome) -> TestResult:
    detail = exercise.message
    if exercise.status is Status.ERROR:
        detail = f"raised {exercise.message}"
    elif exercise.status is Status.DEAD:
        detail = "stopped the kernel (exit() or a crash)"
    return zero(step, f"your cell for {step.exercise} {detail}",
                Result.TIMEOUT if exercise.status in TIMED_OUT else Result.ERROR)


def _unverified(step: Step, result: dict | None) -> tuple[TestResult, str]:
    """A check whose result cannot be trusted: 0 points, and the flag saying why."""
    if result is None:
        return (zero(step, "no valid result from the grader's check (its output was missing, "
                     "doubled or altered)", Result.ERROR),
                f"{step.where}: the grader's result was missing, doubled or altered (scored 0)")
    changed = ", ".join(result["tampered"]) or "?"
    return (zero(step, f"not scored: code in this notebook replaced what the grader itself "
                 f"uses ({changed})", Result.ERROR),
            f"{step.where}: learner code replaced {changed}, which the grader uses (scored 0)")


def _grade_check(step: Step, outcome: Outcome, exercise: Outcome | None,
                 result: dict | None) -> tuple[TestResult, str | None]:
    """The check's result, and a flag for the report (or None)."""
    if (outcome.status in (Status.SKIPPED, Status.NOT_RUN) and exercise is not None
            and exercise.status in FAILED):
        return _exercise_failed(step, exercise), None
    if outcome.status is Status.NOT_RUN:
        return zero(step, outcome.message, Result.NOT_RUN), None
    if outcome.status in TIMED_OUT:
        return zero(step, f"the check {outcome.message} while running your code",
                    Result.TIMEOUT), None
    if outcome.status is Status.DEAD:
        return zero(step, f"the check could not finish: {outcome.message}", Result.ERROR), None
    if result is None or "tampered" in result:
        return _unverified(step, result)
    return score_check(step, result), None


def score_steps(report: GradeReport, steps: list[Step], outcomes: list[Outcome],
                verified: Verified) -> None:
    """Add each check's TestResult, notes on failed cells, flags on results that cannot be
    trusted (missing, altered, or the grader's own functions replaced) and the cell counts."""
    by_gid = {s.grade_id: o for s, o in zip(steps, outcomes, strict=True) if s.grade_id}
    for index, (step, outcome) in enumerate(zip(steps, outcomes, strict=True)):
        if step.kind is not StepKind.CHECK:
            if outcome.status in FAILED:
                report.notes.append(f"{step.where}: {outcome.message}")
            continue
        _, result = verified.get(index, ("", None))
        test, flag = _grade_check(step, outcome, by_gid.get(step.exercise or ""), result)
        report.tests.append(test)
        if flag:
            report.flags.append(flag)
    report.cells = {
        "planned": len(outcomes),
        "executed": sum(o.status not in (Status.NOT_RUN, Status.SKIPPED) for o in outcomes),
        "errors": sum(o.status in (Status.ERROR, Status.DEAD) for o in outcomes),
        "timeouts": sum(o.status in TIMED_OUT for o in outcomes),
    }
