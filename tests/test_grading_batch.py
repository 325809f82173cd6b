"""``course grade --jobs N``: many notebooks at once, the same reports as one at a time.

Real kernels on the one-exercise lab of ``small_lab`` (about 2 s each).
"""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import small_lab

from course.cli import main
from course.grading import GradeReport, batch

TIMING = [
    (re.compile(r'"execution_time": [0-9.]+'), '"execution_time": T'),
    (re.compile(r"graded in \d+ s"), "graded in T s"),
    (re.compile(r" · \d+ s$", re.M), " · T s"),
]


def without_timings(text: str) -> str:
    """The only thing allowed to differ between two runs: how long they took."""
    for pattern, replacement in TIMING:
        text = pattern.sub(replacement, text)
    return text


@pytest.fixture(scope="module")
def class_of_five(tmp_path_factory) -> tuple[Path, list[Path]]:
    """(solutions, notebooks): right, wrong, not JSON, kills its kernel, untouched."""
    folder = tmp_path_factory.mktemp("class")
    solution = small_lab.write_solution(folder / "solutions")
    subs = folder / "submissions"
    paths = [
        small_lab.write_submission(solution, subs / "right.ipynb", small_lab.RIGHT),
        small_lab.write_submission(solution, subs / "wrong.ipynb", small_lab.WRONG),
        subs / "broken.ipynb",
        small_lab.write_submission(solution, subs / "dies.ipynb", small_lab.KILLS_KERNEL),
        small_lab.write_submission(solution, subs / "zz" / "right.ipynb", small_lab.RIGHT),
    ]
    paths[2].write_text('{"cells": [', encoding="utf-8")
    return solution.parent, paths


def test_jobs_2_writes_the_reports_of_jobs_1(class_of_five, tmp_path, capsys):
    solutions, paths = class_of_five
    runs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        status = main(["grade", *map(str, paths), "--solutions", str(solutions),
                       "--out", str(out), "--jobs", jobs])
        printed = capsys.readouterr()
        files = {p.name: p.read_text(encoding="utf-8") for p in sorted(out.iterdir())}
        runs[jobs] = (status, printed.out, printed.err, files)

    (status1, out1, err1, files1), (status2, out2, err2, files2) = runs["1"], runs["2"]
    assert status1 == status2 == 2  # the broken notebook; every other one was graded
    assert files1.keys() == files2.keys()
    assert len(files1) == 2 * len(paths) + 1  # json and md per notebook, the gradebook
    assert files1["gradebook.csv"] == files2["gradebook.csv"]  # the same rows, same order
    for name in files1:
        assert without_timings(files1[name]) == without_timings(files2[name]), name
    # The same lines in the same order; the last one names the --out folder.
    assert without_timings(out1).replace("jobs1", "jobs2") == without_timings(out2)
    assert err1 == err2 and err1.count("course: error:") == 1

    rows = list(csv.DictReader(io.StringIO(files2["gradebook.csv"])))
    assert [Path(row["notebook"]).resolve() for row in rows] == [p.resolve() for p in paths]
    assert [row["score"] for row in rows] == ["2", "0", "", "0", "2"]
    dies = files2["submissions__dies.json"]
    assert '"score": 0' in dies and "stopped the kernel" in dies


def test_broken_workers_and_bugs_cost_one_notebook(tmp_path):
    """A grader that raises (a bug) or a worker that dies is one report, not a stopped run."""
    paths = [tmp_path / f"n{i}.ipynb" for i in range(4)]
    reports = list(batch.grade_in_order(paths, _flaky_grader, jobs=2))
    assert [r.path for r in reports] == paths
    assert [r.graded for r in reports] == [True, False, True, False]
    assert "the grader failed (RuntimeError: a bug)" in (reports[1].error or "")
    assert "the grader failed" in (reports[3].error or "")


def _flaky_grader(path: Path) -> GradeReport:
    if path.stem == "n1":
        raise RuntimeError("a bug")
    if path.stem == "n3":
        time.sleep(1.0)
        os._exit(9)  # the worker process dies
    return GradeReport(path=path, lab="x.ipynb")


def _kernels(root: int) -> set[int]:
    """Ids of the kernel processes (Python running ``ipykernel_launcher``, not a sandbox
    wrapping it) descending from process ``root``."""
    parents: dict[int, int] = {}
    commands: dict[int, bytes] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                commands[int(entry.name)] = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier}
        found |= frontier
    return {pid for pid in found if b"ipykernel_launcher" in commands.get(pid, b"")
            and Path(commands[pid].split(b"\0")[0].decode()).name.startswith("python")}


def _alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if Path(f"/proc/{pid}").exists()
            and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"}


def _workers(root: int) -> set[int]:
    """Ids of the worker processes that ``course grade --jobs`` process ``root`` started."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if (entry.name.isdigit() and b"spawn_main" in (entry / "cmdline").read_bytes()
                    and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == root):
                found.add(int(entry.name))
        except OSError:
            continue
    return found


def _wait_gone(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.5)
    return _alive(pids)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds kernels through /proc")
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "sigkill"])
def test_stopping_the_grader_stops_every_kernel(how, tmp_path):
    """Ctrl-C (SIGINT to the process group), SIGTERM to the grader, or SIGKILL of the grader
    (its workers notice and stop): no kernel survives, the third notebook never starts."""
    solution = small_lab.write_solution(tmp_path / "solutions")
    paths = [small_lab.write_submission(solution, tmp_path / f"loop{i}.ipynb", small_lab.LOOPS)
             for i in range(3)]
    command = [sys.executable, "-m", "course", "grade", *map(str, paths), "--solutions",
               str(tmp_path / "solutions"), "--out", str(tmp_path / "grades"), "--jobs", "2"]
    process = subprocess.Popen(  # SIGINT as a terminal leaves it, even under a background job
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while len(kernels := _kernels(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(kernels) == 2, "two kernels should be running"
        workers = _workers(process.pid)
        assert len(workers) == 2
        time.sleep(3)  # into the looping cells
        if how == "ctrl-c":
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        else:
            os.kill(process.pid, signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == (-signal.SIGKILL if how == "sigkill" else 130), (out, err)
    assert _wait_gone(kernels, 20) == set()
    assert _wait_gone(workers, batch.STOP_GRACE_S + 15) == set()
    if how != "sigkill":
        assert "Traceback" not in err, err
    assert not (tmp_path / "grades" / "loop2.json").exists()  # the third never started


def test_default_jobs_follows_cores_memory_and_notebooks():
    gib = batch.GIB
    assert batch.default_jobs(10, cores=8, memory=64 * gib) == 8
    assert batch.default_jobs(10, cores=8, memory=4 * gib) == 2  # 1.5 GiB per kernel
    assert batch.default_jobs(3, cores=8, memory=64 * gib) == 3
    assert batch.default_jobs(10, cores=8, memory=gib) == 1  # never 0
    assert batch.default_jobs(0, cores=8, memory=64 * gib) == 1
    assert 1 <= batch.default_jobs(100) <= batch.available_cores()


def test_progress_bar_draws_only_on_a_terminal(capsys):
    stream = io.StringIO()
    quiet = batch.Progress(3, stream=stream)
    quiet.start()
    quiet.finished(GradeReport(path=Path("a.ipynb")))
    quiet.echo("a line")
    quiet.close()
    assert stream.getvalue() == "" and capsys.readouterr().out == "a line\n"

    bar = batch.Progress(4, jobs=2, stream=stream, enabled=True, width=8)
    bar.start()
    bar.finished(GradeReport(path=Path("a.ipynb"), error="not JSON"))
    assert re.fullmatch(r"course grade: \[##------\] 1/4 graded · 2 running · 1 not graded · "
                        r"0:00, ~0:00 left", bar.line())
    bar.echo("a.ipynb: not graded")
    bar.close()
    drawn = stream.getvalue()
    assert drawn.count("\r\x1b[K") >= 4 and drawn.endswith("\r\x1b[K")
    assert capsys.readouterr().out == "a.ipynb: not graded\n"


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_bad_jobs_exit_2(jobs, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["grade", "x.ipynb", "--jobs", jobs])
    assert exit_info.value.code == 2
    assert "course grade: error:" in capsys.readouterr().err


def test_the_benchmark_class_has_every_kind(tmp_path):
    import json

    from benchmarks.grading_class import KINDS, write_class

    lab = Path(__file__).resolve().parent.parent / "solutions" / "01_sequential_mlp.ipynb"
    paths = write_class(tmp_path, len(KINDS), [lab])
    texts = {path.stem.rsplit("_", 1)[1]: path.read_text(encoding="utf-8") for path in paths}
    assert list(texts) == list(KINDS)
    with pytest.raises(json.JSONDecodeError):
        json.loads(texts["broken"])
    gaps = {kind: text.count("YOUR CODE HERE") for kind, text in texts.items()
            if kind != "broken"}
    assert gaps["solved"] == gaps["loop"] == gaps["dies"] == 0
    assert 0 < gaps["partial"] < gaps["untouched"]
    assert "while True" in texts["loop"] and "os._exit(1)" in texts["dies"]
    assert "BEGIN SOLUTION" not in texts["solved"]
