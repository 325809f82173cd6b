"""Reports: JSON (Gradescope's shape), Markdown, the CSV gradebook, the one-line summary."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from course.grading.language import localized_text
from course.grading.results import GradeReport, Result
from course.grading.scoring import exercise_name
from course.i18n import tr
from course.paths import show_path

GRADEBOOK_NAME = "gradebook.csv"


def to_gradescope(report: GradeReport) -> dict[str, Any]:
    """The JSON result in the shape Gradescope reads (``score``, ``tests[]``...)."""
    if not report.graded:
        output = f"Not graded: {report.error}"
    else:
        output = tr(f"{report.score:g}/{report.max_score:g} points ({report.lab})",
                    report.language)
    return {
        "score": report.score,
        "max_score": report.max_score,
        "execution_time": round(report.seconds, 1),
        "output": output,
        "tests": [
            {
                "name": test.name,
                "score": test.score,
                "max_score": test.max_score,
                "status": (Result.PASSED if test.passed else Result.FAILED).value,
                "output": test.output,
                "extra_data": {"grade_id": test.grade_id, "result": Result(test.result).value},
            }
            for test in report.tests
        ],
        "extra_data": {
            "notebook": show_path(report.path),
            "sha256": report.sha256,
            "lab": report.lab,
            "graded": report.graded,
            "error": report.error,
            "cells": report.cells,
            "notes": report.notes,
            "flags": report.flags,
            "sandbox": report.sandbox,
            "judged": {"clean": report.judged_clean, "kernel": report.judged_in_kernel},
        },
    }


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>") or " "


def _sandbox_line(sandbox: str) -> str:
    return f"**⚠ {sandbox}**" if sandbox.startswith("NO SANDBOX") else sandbox.capitalize()


def judged_line(report: GradeReport) -> str:
    """Where the exercises were judged: ``"Re-checked in a clean process: a, b. Judged in
    the learner's kernel: c."`` (empty when nothing was judged)."""
    parts = []
    if report.judged_clean:
        parts.append(f"Re-checked in a clean process: {', '.join(report.judged_clean)}.")
    if report.judged_in_kernel:
        parts.append(f"Judged in the learner's kernel: {', '.join(report.judged_in_kernel)}.")
    return " ".join(parts)


def to_markdown(report: GradeReport) -> str:
    """A short Markdown summary of one notebook's grade."""
    lines = [f"# Grade: {show_path(report.path)}", ""]
    if not report.graded:
        return "\n".join([*lines, f"**Not graded:** {report.error}", ""])
    lines += [
        f"**Score: {report.score:g} / {report.max_score:g}** · lab {report.lab} · "
        f"graded in {report.seconds:.0f} s · SHA-256 `{(report.sha256 or '')[:12]}`",
        "",
        *([_sandbox_line(report.sandbox), ""] if report.sandbox else []),
        *([judged_line(report), ""] if judged_line(report) else []),
        "| Exercise | Score | Feedback |",
        "|---|---|---|",
    ]
    for test in report.tests:
        lines.append(f"| {_md_cell(test.name)} | {test.score:g}/{test.max_score:g} | "
                     f"{_md_cell(test.output)} |")
    if report.notes:
        lines += ["", "## Notes", "", *[f"- {note}" for note in report.notes]]
    if report.flags:
        lines += ["", "## Flagged for review", "",
                  "This code reaches for the grading machinery; the score above does not "
                  "depend on it, but a person should look:", "",
                  *[f"- {flag}" for flag in report.flags]]
    return "\n".join(lines) + "\n"


def gradebook_csv(reports: list[GradeReport]) -> str:
    """One row per notebook, one column per exercise (check grade_id), then the totals."""
    columns: list[str] = []
    for report in reports:
        for test in report.tests:
            if test.grade_id not in columns:
                columns.append(test.grade_id)
    short = len({exercise_name(c) for c in columns}) == len(columns)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["notebook", "lab", "score", "max_score",
                     *[exercise_name(c) if short else c for c in columns], "flags", "error"])
    for report in reports:
        scores = {t.grade_id: f"{t.score:g}" for t in report.tests}
        writer.writerow([
            show_path(report.path), report.lab or "",
            f"{report.score:g}" if report.graded else "",
            f"{report.max_score:g}" if report.graded else "",
            *[scores.get(c, "") for c in columns],
            len(report.flags), report.error or "",
        ])
    return out.getvalue()


def report_names(paths: list[Path]) -> list[str]:
    """File stems for the reports: the notebook's stem, made unique with its folders."""
    paths = [Path(p) for p in paths]
    resolved = [p.resolve() for p in paths]
    names = [p.stem for p in paths]
    depth = 1
    while len(set(names)) < len(names) and depth < 8:
        depth += 1
        names = ["__".join([*r.parent.parts[-(depth - 1):], r.stem]) for r in resolved]
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return unique


def write_report(report: GradeReport, out_dir: Path, name: str, formats: set[str]) -> list[Path]:
    """Write ``<name>.json`` and/or ``<name>.md`` into ``out_dir``; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if "json" in formats:
        target = out_dir / f"{name}.json"
        target.write_text(json.dumps(to_gradescope(report), indent=2, ensure_ascii=False) + "\n",
                          encoding="utf-8")
        written.append(target)
    if "md" in formats:
        target = out_dir / f"{name}.md"
        target.write_text(localized_text(to_markdown(report), report.language),
                          encoding="utf-8")
        written.append(target)
    return written


def summary_line(report: GradeReport) -> str:
    """The one line ``course grade`` prints per notebook."""
    shown = show_path(report.path)
    if not report.graded:
        return f"{shown}: not graded"
    parts = [f"{shown}: {report.score:g}/{report.max_score:g} points",
             f"{Path(report.lab or '').stem}", f"{report.seconds:.0f} s"]
    timeouts = report.cells.get("timeouts", 0)
    if timeouts:
        parts.append(f"{timeouts} cell{'s' * (timeouts > 1)} timed out")
    if report.flags:
        parts.append(f"{len(report.flags)} flag{'s' * (len(report.flags) > 1)} to review")
    return " · ".join(parts)
