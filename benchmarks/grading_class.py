"""Grading throughput: notebooks per minute of ``course grade --jobs N`` on a generated class.

``python -m benchmarks.grading_class --n 12 --jobs 1 2`` writes a class of ``--n``
submissions made from the real labs (``--labs``, cycled), one of each kind in turn:

- ``solved``: the lab with every exercise cell holding the solution's code (no markers);
- ``partial``: the first half of the exercises solved, the rest left as generated;
- ``untouched``: the generated lab;
- ``broken``: the lab's JSON cut short (not gradable: reported in one sentence);
- ``loop``: solved, but the first exercise cell loops forever (interrupted at ``--timeout-cell``);
- ``dies``: solved, but the first exercise cell ends its kernel (``os._exit``).

Then, for each ``--jobs`` value, it runs ``course grade`` on the whole class in a fresh
process, timing the wall clock, sampling the memory of the process tree (grader, workers,
kernels) and the load average, and checks that the gradebook is the same as the first run's.
It prints a Markdown report (``--markdown FILE`` also writes it).

``--kit DIR`` grades with the kit in ``DIR`` (its ``course`` package first on
``PYTHONPATH``, its ``solutions/``), e.g. ``git archive HEAD | tar -x -C DIR``: a checkout
that others are editing would change the grader's files under it (the grader then refuses
them, scoring 0) and make the runs differ.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("solved", "partial", "untouched", "broken", "loop", "dies")
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS",
           "### END HIDDEN TESTS")


# ---------------------------------------------------------------------------------------------
# The class
# ---------------------------------------------------------------------------------------------


def _exercises(solution_path: Path) -> dict[str, str]:
    """The solution's exercise cells, as a learner who solved them would have typed them."""
    import nbformat

    answers = {}
    for cell in nbformat.read(solution_path, as_version=4).cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and meta.get("grade_id"):
            answers[meta["grade_id"]] = "\n".join(
                line for line in cell.source.split("\n") if line.strip() not in MARKERS)
    return answers


def submission_text(solution_path: Path, kind: str) -> str:
    """One learner's notebook of ``kind`` (see the module's docstring) for a lab."""
    import nbformat

    from course.notebooks import lab_text

    text = lab_text(solution_path)
    if kind == "broken":
        return text[: len(text) // 2]
    if kind == "untouched":
        return text
    answers = _exercises(solution_path)
    ids = list(answers)
    keep = ids[: len(ids) // 2] if kind == "partial" else ids
    lab = nbformat.reads(text, as_version=4)
    for cell in lab.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and gid in keep:
            cell.source = answers[gid]
            if gid == ids[0] and kind == "loop":
                cell.source = "while True:\n    pass\n"
            elif gid == ids[0] and kind == "dies":
                cell.source = "import os\nos._exit(1)\n"
    return nbformat.writes(lab)


def write_class(folder: Path, n: int, labs: list[Path]) -> list[Path]:
    """Write ``n`` submissions into ``folder``; return their paths in class order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        kind, lab = KINDS[i % len(KINDS)], labs[(i // len(KINDS)) % len(labs)]
        path = folder / f"s{i + 1:03d}_{lab.stem[:2]}_{kind}.ipynb"
        path.write_text(submission_text(lab, kind), encoding="utf-8")
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------


def _tree_rss(root: int) -> int:
    """Resident bytes of process ``root`` and its descendants (Linux; 0 elsewhere)."""
    parents, rss = {}, {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    tree, frontier = {root}, {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - tree
        tree |= frontier
    return sum(rss.get(pid, 0) for pid in tree)


def run_grade(paths: list[Path], out: Path, jobs: int, timeout_cell: float,
              extra: list[str], kit: Path) -> dict:
    """Run ``course grade`` once; return wall seconds, peak tree RSS, loads and its status."""
    command = [sys.executable, "-m", "course", "grade", *map(str, paths), "--out", str(out),
               "--jobs", str(jobs), "--timeout-cell", f"{timeout_cell:g}",
               "--solutions", str(kit / "solutions"), "--format", "json,csv", *extra]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(kit), *filter(None, [os.environ.get("PYTHONPATH")])])}
    load_before = os.getloadavg()
    began = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=env, cwd=kit)
    peak = [0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], _tree_rss(process.pid))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    status = process.wait()
    seconds = time.monotonic() - began
    sampler.join()
    return {"jobs": jobs, "seconds": seconds, "status": status, "peak_rss": peak[0],
            "load_before": load_before, "load_after": os.getloadavg(),
            "gradebook": (out / "gradebook.csv").read_text(encoding="utf-8")}


def machine() -> str:
    """One line about this machine: CPU, cores, memory, Python."""
    from course.grading.batch import available_cores, available_memory

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = available_memory()
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return (f"{cpu}, {available_cores()} usable cores, {total / 2**30:.1f} GiB RAM "
            f"({(memory or 0) / 2**30:.1f} GiB available), Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def report(runs: list[dict], n: int, labs: list[Path], timeout_cell: float, extra: list[str],
           command: str) -> str:
    """The Markdown table of a benchmark's runs."""
    base = runs[0]
    lines = [
        f"`{command}`: {n} notebooks ({', '.join(p.stem[:2] for p in labs)}; kinds "
        f"{', '.join(KINDS)}), `--timeout-cell {timeout_cell:g}`"
        + (f" `{' '.join(extra)}`" if extra else "") + ".",
        "",
        f"Machine: {machine()}.",
        "",
        "| --jobs | wall time | notebooks/min | speed-up | peak memory (grader + kernels) "
        "| load average before → after | gradebook same as --jobs "
        f"{base['jobs']} |",
        "|---:|---:|---:|---:|---:|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {run['jobs']} | {run['seconds']:.0f} s | {n / run['seconds'] * 60:.1f} | "
            f"{base['seconds'] / run['seconds']:.2f}× | {run['peak_rss'] / 2**30:.1f} GiB | "
            f"{run['load_before'][0]:.1f} → {run['load_after'][0]:.1f} | "
            f"{'yes' if run['gradebook'] == base['gradebook'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Generate the class, grade it once per ``--jobs`` value, print the report."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.grading_class",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=12, help="submissions (default: 12)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2],
                        help="--jobs values to compare (default: 1 2)")
    parser.add_argument("--labs", default="01,02",
                        help="lab numbers, comma-separated, or 'all' (default: 01,02)")
    parser.add_argument("--timeout-cell", type=float, default=60.0,
                        help="course grade --timeout-cell: what a looping cell costs "
                             "(default: 60)")
    parser.add_argument("--grade-args", default="",
                        help="more options for course grade, e.g. '--sandbox none'")
    parser.add_argument("--markdown", metavar="FILE", help="also write the report here")
    parser.add_argument("--keep", metavar="DIR", help="keep the class and results here")
    parser.add_argument("--kit", metavar="DIR", default=str(ROOT),
                        help="the kit to grade with (default: this checkout)")
    args = parser.parse_args(argv)
    kit = Path(args.kit).resolve()
    solutions = sorted((kit / "solutions").glob("[0-9][0-9]_*.ipynb"))
    wanted = None if args.labs == "all" else set(args.labs.split(","))
    labs = [p for p in solutions if wanted is None or p.name[:2] in wanted]
    if not labs:
        parser.error(f"no lab matches --labs {args.labs}")
    extra = args.grade_args.split()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="grading-class-"))
    paths = write_class(work / "class", args.n, labs)
    runs = []
    for jobs in args.jobs:
        run = run_grade(paths, work / f"jobs{jobs}", jobs, args.timeout_cell, extra, kit)
        print(f"--jobs {jobs}: {run['seconds']:.0f} s, exit status {run['status']}",
              file=sys.stderr, flush=True)
        runs.append(run)
    command = "python -m benchmarks.grading_class " + " ".join(argv or sys.argv[1:])
    text = report(runs, args.n, labs, args.timeout_cell, extra, command.strip())
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
