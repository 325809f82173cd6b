"""How long each lab takes a learner: reading, exercises and the measured run time.

``python -m benchmarks.lab_times`` (``--labs 01,03`` for some labs, ``--no-run`` to count
without executing, ``--markdown FILE`` / ``--json FILE`` to keep the report). For each lab of
``solutions/`` it

- **runs** the lab filled in as a learner who solved every exercise would have it (the
  generated lab with the solution's code typed into each gap, as
  :func:`benchmarks.grading_class.submission_text` writes a ``solved`` submission) in a fresh
  kernel, with :func:`course.execute.execute_notebook` (the conditions of ``course
  run-solutions``), in a temporary folder: the wall time from starting the kernel to the end
  of the last cell, and the slowest cells;
- **counts** the words of its markdown cells (whitespace-separated tokens holding a letter or
  a digit, so formulas and inline code count as words) and its exercises by kind
  (:data:`KINDS`: a concept question assigns ``q_<name>``; a code exercise is classed by the
  lines of solution code it asks for, blank and comment lines left out);
- **estimates** reading + working + run time: ``words / READING_WPM`` minutes, plus the
  minutes of each exercise's kind, plus the measured run time; rounded to 5 minutes.

The rates are assumptions, stated in benchmarks/README.md ("Lab times"), not measurements of
learners; the run time is measured on this machine (note its load: ``uptime``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .common import load_average
from .grading_class import ROOT, submission_text

READING_WPM = 130
"""Words per minute for the labs' prose: technical English with formulas, read by learners
of Chinese articles, for whom English is likely a second language. An assumption: about
half of the 238 words/min that Brysbaert (2019, "How many words do we read per minute?",
J. Memory and Language 109) found for adults reading non-fiction in their first language."""

KINDS: dict[str, tuple[float, str]] = {
    "concept": (2.0, "concept question (a letter or a number)"),
    "code-short": (4.0, "code exercise, 1–3 lines of solution"),
    "code": (8.0, "code exercise, 4–9 lines of solution"),
    "code-long": (15.0, "code exercise, 10 or more lines of solution"),
}
"""Working minutes per exercise, by kind: (minutes, description). The task's own words are
already counted as reading. A concept question asks about the section just read or an output
just printed: look back, answer, run the check. A code exercise: about 3 minutes to run the
check, read its hint and fix one mistake, plus about a minute per line of solution for a
learner who looks an API up as they write (1–3 lines ≈ 4, 4–9 ≈ 8, 10–20 ≈ 15)."""

SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
CONCEPT = re.compile(r"^\s*q_\w+\s*=", re.M)
STATED = re.compile(r"\*\*Estimated time:\*\*\s*(\d+)\s*minutes")


@dataclass
class Exercise:
    grade_id: str
    kind: str
    lines: int


@dataclass
class LabTime:
    """One lab's counts, measured run and estimate (minutes unless named otherwise)."""

    lab: str
    words: int
    exercises: list[Exercise]
    stated: int | None
    run_seconds: float | None = None
    slowest: list[tuple[str, float]] = field(default_factory=list)  # (first line, seconds)
    load: tuple[float, float] | None = None  # 1-minute load before, after the run

    @property
    def reading(self) -> float:
        return self.words / READING_WPM

    @property
    def working(self) -> float:
        return sum(KINDS[e.kind][0] for e in self.exercises)

    @property
    def estimate(self) -> float:
        return self.reading + self.working + (self.run_seconds or 0.0) / 60

    @property
    def rounded(self) -> int:
        return int(5 * round(self.estimate / 5))


def exercise_kind(body: str) -> tuple[str, int]:
    """The kind of an exercise from its solution code (see :data:`KINDS`), and its lines."""
    lines = [line for line in body.splitlines()
             if line.strip() and not line.strip().startswith("#")]
    if CONCEPT.search(body):
        return "concept", len(lines)
    n = len(lines)
    return ("code-short" if n <= 3 else "code" if n <= 9 else "code-long"), n


def count(solution: Path) -> LabTime:
    """Words of the markdown, the exercises by kind and the stated time of one lab."""
    import nbformat

    nb = nbformat.read(solution, as_version=4)
    words = sum(len([t for t in cell.source.split() if re.search(r"\w", t)])
                for cell in nb.cells if cell.cell_type == "markdown")
    exercises = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and meta.get("grade_id"):
            body = "".join(SOLUTION_REGION.findall(cell.source))
            exercises.append(Exercise(meta["grade_id"], *exercise_kind(body)))
    stated = next((int(m.group(1)) for cell in nb.cells if cell.cell_type == "markdown"
                   for m in [STATED.search(cell.source)] if m), None)
    return LabTime(solution.stem, words, exercises, stated)


def _cell_seconds(cell) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    try:
        start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return 0.0
    return (end - start).total_seconds()


def _first_code_line(source: str) -> str:
    """A cell's first line that is not a comment (``# NBVAL_IGNORE_OUTPUT``), shortened."""
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    return next((line for line in lines if not line.startswith("#")), "")[:60]


def run(solution: Path, folder: Path, lab: LabTime, top: int = 3) -> None:
    """Execute the lab filled in as a learner would, in ``folder``; record times in ``lab``."""
    from course.execute import execute_notebook

    path = folder / solution.name
    path.write_text(submission_text(solution, "solved"), encoding="utf-8")
    before = load_average()
    began = time.monotonic()
    nb = execute_notebook(path, record_timing=True)
    lab.run_seconds = time.monotonic() - began
    lab.load = (before, load_average())
    cells = [(_first_code_line(c.source), _cell_seconds(c)) for c in nb.cells
             if c.cell_type == "code"]
    lab.slowest = sorted(cells, key=lambda item: -item[1])[:top]


def machine() -> str:
    """The CPU's model name and the cores this process may use."""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        import platform

        cpu = platform.processor() or platform.machine()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu}, {cores} cores"


def _kinds(lab: LabTime) -> str:
    counts = {kind: sum(e.kind == kind for e in lab.exercises) for kind in KINDS}
    return " / ".join(str(counts[kind]) for kind in KINDS)


def report(labs: list[LabTime], command: str) -> str:
    """The Markdown table of the estimates, with the machine, date and load."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rates = "; ".join(f"{text}: {minutes:g} min" for minutes, text in KINDS.values())
    lines = [
        f"`{command}`, {now}. Machine: {machine()}.",
        "",
        f"Reading at {READING_WPM} words/min; working time per exercise: {rates}.",
        "",
        "| lab | words | reading | exercises: concept / code 1–3 / 4–9 / 10+ lines | working "
        "| run time | load before → after | estimate | rounded | stated |",
        "|---|---:|---:|---|---:|---:|---|---:|---:|---:|",
    ]
    for lab in labs:
        run_time = "—" if lab.run_seconds is None else f"{lab.run_seconds:.0f} s"
        load = "—" if lab.load is None else f"{lab.load[0]:.2f} → {lab.load[1]:.2f}"
        lines.append(
            f"| {lab.lab} | {lab.words:,} | {lab.reading:.0f} min | {_kinds(lab)} | "
            f"{lab.working:g} min | {run_time} | {load} | {lab.estimate:.0f} min | "
            f"**{lab.rounded} min** | {lab.stated if lab.stated is not None else '—'} min |")
    slow = [f"- {lab.lab}: " + ", ".join(f"`{text}` {seconds:.0f} s"
                                          for text, seconds in lab.slowest)
            for lab in labs if lab.slowest]
    if slow:
        lines += ["", "Slowest cells of each run:", "", *slow]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Count (and run, unless ``--no-run``) each lab, print the Markdown report."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lab_times",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--labs", default="all",
                        help="lab numbers, comma-separated, or 'all' (default: all)")
    parser.add_argument("--no-run", action="store_true",
                        help="count words and exercises only (no kernel, no TensorFlow)")
    parser.add_argument("--markdown", metavar="FILE", help="also write the report here")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers here")
    args = parser.parse_args(argv)
    solutions = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    wanted = None if args.labs == "all" else set(args.labs.split(","))
    chosen = [p for p in solutions if wanted is None or p.name[:2] in wanted]
    if not chosen:
        parser.error(f"no lab matches --labs {args.labs}")
    labs = []
    with tempfile.TemporaryDirectory(prefix="lab-times-") as folder:
        for solution in chosen:
            lab = count(solution)
            if not args.no_run:
                run(solution, Path(folder), lab)
                print(f"{lab.lab}: {lab.run_seconds:.0f} s", file=sys.stderr, flush=True)
            labs.append(lab)
    command = "python -m benchmarks.lab_times " + " ".join(argv or sys.argv[1:])
    text = report(labs, command.strip())
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text, encoding="utf-8")
    if args.json:
        numbers = [{**asdict(lab), "reading": lab.reading, "working": lab.working,
                    "estimate": lab.estimate, "rounded": lab.rounded} for lab in labs]
        Path(args.json).write_text(json.dumps(numbers, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
