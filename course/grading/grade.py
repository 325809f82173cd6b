"""Grading one notebook: read, identify, plan, scan, run, score."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import time
from pathlib import Path

from course.grading.crosscheck import CrossCheck
from course.grading.grader_cell import package_hashes
from course.grading.kernel import KernelRun
from course.grading.labs import identify_lab, parse_notebook
from course.grading.language import feedback_language, localize
from course.grading.plan import Step, StepKind, course_aliases, plan_notebook
from course.grading.recorder import module_aliases
from course.grading.results import GradeReport, GradingInterrupted, NotGradable
from course.grading.scoring import score_steps
from course.grading.tamper import scan_for_tampering
from course.notebooks import LabBuildError
from course.paths import show_path
from course.sandbox import Sandbox, choose_sandbox

DEFAULT_TIMEOUT_CELL_S = 300.0
"""Seconds a cell may run before it is interrupted (``--timeout-cell``)."""
DEFAULT_TIMEOUT_TOTAL_S = 1800.0
"""Seconds after which no further cell of a notebook starts (``--timeout-total``)."""


def _plan(path: Path, solutions_dir: Path, report: GradeReport) -> list[Step]:
    """Read the learner's file once, find its lab and plan the run; fill ``report``."""
    shown = show_path(path)
    try:
        if not path.is_file():
            raise NotGradable(f"{shown} does not exist or is not a file.")
        data = path.read_bytes()  # the only access to the learner's file
        report.sha256 = hashlib.sha256(data).hexdigest()
        learner = parse_notebook(data, shown)
        report.language = feedback_language(learner)
        solution = identify_lab(learner, shown, solutions_dir)
        steps, report.notes = plan_notebook(learner, solution)
    except NotGradable as exc:
        report.error = str(exc)
    except (LabBuildError, ValueError, OSError) as exc:  # the kit's problem: a bad solution
        report.error = (f"{shown} could not be graded: a solution in {solutions_dir} is "
                        f"invalid ({str(exc).splitlines()[0]}).")
    if report.error:
        return []
    report.lab = solution.path.name
    return steps


def grade_notebook(
    path: str | os.PathLike,
    solutions_dir: str | os.PathLike,
    timeout_cell: float = DEFAULT_TIMEOUT_CELL_S,
    timeout_total: float = DEFAULT_TIMEOUT_TOTAL_S,
    sandbox: Sandbox | None = None,
) -> GradeReport:
    """Grade one notebook; never raises for a bad notebook (see ``GradeReport.error``).

    ``sandbox`` confines the kernel (default: :func:`~course.sandbox.choose_sandbox`'s
    best available); the notebook's folder and ``solutions_dir`` are hidden from it too.
    """
    from jupyter_core.utils import run_sync

    path = Path(path)
    report = GradeReport(path=path)
    began = time.perf_counter()
    steps = _plan(path, Path(solutions_dir), report)
    if report.error:
        report.seconds = time.perf_counter() - began
        return report

    report.flags = scan_for_tampering(steps)
    aliases = course_aliases([s.source for s in steps if s.kind is StepKind.SOLUTION])
    sandbox = (sandbox or choose_sandbox()).hiding(path.resolve().parent, solutions_dir)
    report.sandbox = sandbox.description
    with tempfile.TemporaryDirectory(prefix="course-grade-") as cwd:
        run = KernelRun(steps, timeout_cell=timeout_cell, timeout_total=timeout_total,
                        cwd=cwd, package=package_hashes(), aliases=aliases,
                        kernel_manager=sandbox.kernel_manager(cwd) if sandbox.active else None)
        try:
            outcomes, verified = run_sync(run.run)()
        except (GradingInterrupted, asyncio.CancelledError):  # Ctrl-C; the kernel is stopped
            raise KeyboardInterrupt from None
        except Exception as exc:  # e.g. the kernel did not start: the next notebook may work
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            report.error = (f"{show_path(path)} could not be graded: the grader failed "
                            f"({type(exc).__name__}{': ' + reason if reason else ''}).")
            report.seconds = time.perf_counter() - began
            return report
    score_steps(report, steps, outcomes, verified)
    modules = module_aliases([s.source for s in steps if s.kind is StepKind.SOLUTION])
    CrossCheck(report, steps, verified, aliases, modules).run()
    localize(report)  # last: the feedback the clean re-check wrote is translated too
    report.seconds = time.perf_counter() - began
    return report
