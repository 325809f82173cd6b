"""The cross-check: every check the kernel judged from plain values, judged again elsewhere.

After the kernel run, the grader sends each verified check result's record (see
:mod:`~course.grading.recorder`) to ONE fresh Python process per notebook
(:mod:`~course.grading.judge`, run by :func:`run_judge`), which re-runs the kit's public checks
on the recorded values where no learner code ever ran. Then, per exercise:

- the clean result (points, hint and error of each check, and the calls made) equals the
  kernel's: the score stands, and the exercise is listed as re-checked in a clean process;
- it differs: the exercise scores 0, its feedback says "the kernel's result disagrees with
  the clean re-check" and shows the clean result, and the report is flagged;
- it cannot be replayed (an answer that is not plain: a model, a data set, a class) or its
  check is declared ``@check(..., judged="kernel")``: the kernel's score stands and the
  exercise is listed as judged in the learner's kernel. When a check meant for the clean
  process could not be replayed yet earned points, the report is flagged too.

Only the standard library is imported here (the judge process imports the checks).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from course.grading.kernel import Verified
from course.grading.plan import Step, StepKind
from course.grading.recorder import segment_names
from course.grading.results import GradeReport, Result, TestResult
from course.grading.scoring import score_check

JUDGE_TIMEOUT_S = 600.0
"""Seconds the clean process may take for one notebook (it imports TensorFlow when a
check needs it: about 5 s)."""
JUDGE_PROGRAM = """\
import sys, types
sys.path.insert(0, %r)
import course
grading = types.ModuleType("course.grading")  # its __init__ would import nbformat (3 s)
grading.__path__ = [%r]
sys.modules["course.grading"] = grading
from course.grading.judge import main
main()
"""
"""The clean process: the ``course`` package this process uses, then :func:`judge.main`."""
DISAGREES = "the kernel's result disagrees with the clean re-check"


class JudgeFailed(RuntimeError):
    """The clean process did not answer (the message says why)."""


def run_judge(items: list[dict], timeout: float = JUDGE_TIMEOUT_S) -> dict[str, dict]:
    """Run :mod:`course.grading.judge` on ``items`` in a fresh interpreter; its answers.

    The interpreter is this one, with the kit's kernel environment, in an empty temporary
    folder; it imports the ``course`` package this process uses (:data:`JUDGE_PROGRAM`).
    """
    from course.execute import KERNEL_ENV
    from course.grading.judge import MARKER

    here = Path(__file__).resolve().parent
    code = JUDGE_PROGRAM % (str(here.parents[1]), str(here))
    env = {**os.environ, **KERNEL_ENV}
    with tempfile.TemporaryDirectory(prefix="course-judge-") as cwd:
        try:
            done = subprocess.run([sys.executable, "-c", code], input=json.dumps(
                {"exercises": items}), capture_output=True, text=True, timeout=timeout,
                cwd=cwd, env=env)
        except subprocess.TimeoutExpired:
            raise JudgeFailed(f"it took longer than {timeout:g} s") from None
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise JudgeFailed(f"it stopped with status {done.returncode}: {last}")
    return json.loads(lines[-1][len(MARKER):])


def _request(step: Step, result: dict, aliases: dict[str, Any], modules: dict[str, str]) -> dict:
    used = segment_names(step.segments, aliases)
    return {"grade_id": step.grade_id,
            "segments": [[str(kind), text] for kind, text in step.segments],
            "aliases": {name: value for name, value in aliases.items() if name in used},
            "modules": {name: value for name, value in modules.items() if name in used},
            "answers": result["record"]["answers"]}


def _summary(result: dict) -> list:
    """What must agree: each check's name, points and hint, and the error's kind and type."""
    items = [[str(r.get("name")), float(r.get("points", 0)), float(r.get("max_points", 0)),
              str(r.get("hint")), str(r.get("kind"))]
             for r in result.get("results") or [] if isinstance(r, dict)]
    error = result.get("error")
    return [items, [error.get("kind"), error.get("type")] if isinstance(error, dict) else None]


def agrees(kernel: dict, clean: dict) -> bool:
    """Whether the clean re-check found what the kernel reported (same calls made, too)."""
    answers = kernel["record"]["answers"]
    recorded = {name: len(a["calls"]) for name, a in answers.items()
                if isinstance(a, dict) and a.get("kind") == "function"
                and isinstance(a.get("calls"), list)}
    return _summary(kernel) == _summary(clean) and clean.get("calls") == recorded


def _recorded(result: dict | None) -> bool:
    record = result.get("record") if isinstance(result, dict) else None
    return isinstance(record, dict) and isinstance(record.get("answers"), dict)


class CrossCheck:
    """Compare one notebook's kernel results with the clean re-check; amend its report."""

    def __init__(self, report: GradeReport, steps: list[Step], verified: Verified,
                 aliases: dict[str, Any], modules: dict[str, str] | None = None) -> None:
        """``verified``: the kernel run's check results; ``aliases`` and ``modules``: the
        solution's names for ``course`` modules and for other modules."""
        self.report = report
        self.tests = {t.grade_id: t for t in report.tests}
        self.checks = [(steps[i], result) for i, (_, result) in sorted(verified.items())
                       if result is not None and "tampered" not in result
                       and steps[i].kind is StepKind.CHECK and steps[i].grade_id in self.tests]
        self.aliases, self.modules = aliases, modules or {}

    def run(self, judge: Any = run_judge) -> None:
        """Judge every recorded check in one clean process and amend the report."""
        items = [_request(step, result, self.aliases, self.modules) for step, result in self.checks
                 if _recorded(result)]
        answers: dict[str, dict] = {}
        failed = ""
        if items:
            try:
                answers = judge(items)
            except (JudgeFailed, OSError, ValueError) as exc:
                failed = f"the clean re-check could not run ({exc})"
        for step, result in self.checks:
            test = self.tests[str(step.grade_id)]
            if not _recorded(result):
                why = (result.get("record") or {}).get("failed") if isinstance(
                    result.get("record"), dict) else None
                self._in_kernel(step, test, f"its answers were not recorded ({why})"
                                if why else None)
                continue
            clean = answers.get(str(step.grade_id)) or {"status": "kernel", "why": failed
                                                        or "the clean re-check gave no answer"}
            if clean.get("status") != "clean":
                self._in_kernel(step, test, str(clean.get("why")))
            elif agrees(result, clean):
                self.report.judged_clean.append(test.name)
            else:
                self._disagree(step, test, clean)

    def _in_kernel(self, step: Step, test: TestResult, why: str | None) -> None:
        """Judged in the kernel: declared so (``why`` None) or not replayable (flagged when
        it earned points)."""
        self.report.judged_in_kernel.append(test.name)
        if why is not None and test.score > 0:
            self.report.flags.append(f"{step.where}: judged in the learner's kernel only, "
                                     f"not re-checked in a clean process: {why}")

    def _disagree(self, step: Step, test: TestResult, clean: dict) -> None:
        clean_test = score_check(step, {"results": clean.get("results") or [],
                                        "error": clean.get("error")})
        test.score = 0
        test.result = Result.FAILED
        says = f"{DISAGREES} (scored 0); the clean re-check says:"  # one line, one message
        test.output = says + "\n" + clean_test.output
        self.report.judged_clean.append(test.name)
        self.report.flags.append(f"{step.where}: {DISAGREES} (scored 0)")
