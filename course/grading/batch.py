"""Grade many notebooks at once: ``course grade --jobs N``.

Each notebook is graded by the same per-notebook function as a serial run (``grade_one``,
e.g. :func:`course.grading.grade_notebook` with the command's options bound), in a worker
*process* of its own, which starts and drives that notebook's kernel. Processes rather than
threads: the grader sets the kernels' environment in ``os.environ`` around each start and
handles Ctrl-C with a signal handler, both of which belong to one process.

Reports come back in input order (:func:`grade_in_order` yields report *i* only once
reports *0..i-1* were yielded), so the files written, the gradebook's rows and the lines
printed are those of a serial run; only the timings differ.

``--jobs`` defaults to :func:`default_jobs`: the cores this process may use, the notebooks
that fit in the available memory at :data:`KERNEL_MEMORY_BYTES` each, and the number of
notebooks, whichever is smallest (at least 1).

Ctrl-C (or SIGTERM) stops every kernel: each worker running a notebook gets SIGINT (a
terminal sends it to the whole process group already), stops its kernel the way a serial run
does and gives up; notebooks not started are never started. Workers that have not finished
after :data:`STOP_GRACE_S` seconds are killed (their kernels notice their parent is gone and
exit). A worker whose grading process was killed outright stops the same way by itself.

Only the standard library is imported here.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from course.grading import GradeReport

GIB = 1024**3
KERNEL_MEMORY_BYTES = int(1.5 * GIB)
"""Memory set aside per notebook graded at once: a kernel that has imported TensorFlow and
trained a small Keras model holds about 1 GiB, plus the worker driving it."""
STOP_GRACE_S = 20.0
"""Seconds the workers get after Ctrl-C to stop their kernels before they are killed."""

GradeOne = Callable[[Path], "GradeReport"]


# ---------------------------------------------------------------------------------------------
# How many at once
# ---------------------------------------------------------------------------------------------


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:  # cgroup v2 (containers): "max 100000" or "200000 100000"
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def available_memory() -> int | None:
    """Bytes that new processes can use (``MemAvailable``, capped by a cgroup limit); None
    when unknown (not Linux)."""
    available: int | None = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
            room = max(0, int(limit) - used)
            available = room if available is None else min(available, room)
    except (OSError, ValueError):
        pass
    return available


def default_jobs(n_notebooks: int, *, cores: int | None = None,
                 memory: int | None = None) -> int:
    """Notebooks to grade at once when ``--jobs`` is not given.

    Args:
        n_notebooks: How many notebooks there are to grade.
        cores: Usable cores (default: :func:`available_cores`).
        memory: Available bytes (default: :func:`available_memory`; unknown means no limit).

    Returns:
        ``min(cores, memory // KERNEL_MEMORY_BYTES, n_notebooks)``, at least 1.
    """
    cores = available_cores() if cores is None else cores
    memory = available_memory() if memory is None else memory
    jobs = min(cores, max(n_notebooks, 1))
    if memory is not None:
        jobs = min(jobs, memory // KERNEL_MEMORY_BYTES)
    return max(1, int(jobs))


# ---------------------------------------------------------------------------------------------
# The progress bar
# ---------------------------------------------------------------------------------------------


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """A one-line progress bar on stderr, redrawn each time a notebook finishes.

    It draws only on a terminal; otherwise it is silent (the command's one line per notebook
    on stdout already tells the story). Lines the command prints go through :meth:`echo`,
    which clears the bar first and draws it again below them.
    """

    def __init__(self, total: int, *, jobs: int = 1, stream: IO[str] | None = None,
                 enabled: bool | None = None, width: int = 24) -> None:
        """Set up the bar.

        Args:
            total: Notebooks to grade.
            jobs: Notebooks graded at once (shown as "N running").
            stream: Where to draw (default: ``sys.stderr``).
            enabled: Draw at all (default: when ``stream`` is a terminal).
            width: Characters of the bar itself.
        """
        self.total, self.jobs, self.width = total, jobs, width
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.done = 0
        self.failed = 0
        self.began = time.monotonic()
        self._shown = False

    def line(self) -> str:
        """The bar's text, e.g. ``[######------]  3/12 graded · 2 running · 0:41, ~1:50 left``."""
        filled = int(self.width * self.done / self.total) if self.total else self.width
        elapsed = time.monotonic() - self.began
        parts = [f"[{'#' * filled}{'-' * (self.width - filled)}] "
                 f"{self.done:>{len(str(self.total))}}/{self.total} graded"]
        running = min(self.jobs, self.total - self.done)
        if running:
            parts.append(f"{running} running")
        if self.failed:
            parts.append(f"{self.failed} not graded")
        clock = _clock(elapsed)
        if 0 < self.done < self.total:
            clock += f", ~{_clock(elapsed / self.done * (self.total - self.done))} left"
        parts.append(clock)
        return "course grade: " + " · ".join(parts)

    def _draw(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K" + self.line())
            self.stream.flush()
            self._shown = True

    def _clear(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False

    def start(self) -> None:
        """Draw the empty bar."""
        self.began = time.monotonic()
        self._draw()

    def finished(self, report: GradeReport) -> None:
        """Count one finished notebook (in any order) and redraw."""
        self.done += 1
        self.failed += not report.graded
        self._draw()

    def echo(self, text: str, stream: IO[str] | None = None) -> None:
        """Print a line of the command's own output (stdout by default) above the bar."""
        self._clear()
        print(text, file=stream or sys.stdout, flush=True)
        if self.done < self.total:
            self._draw()

    def close(self) -> None:
        """Remove the bar."""
        self._clear()


# ---------------------------------------------------------------------------------------------
# The workers
# ---------------------------------------------------------------------------------------------

_interrupted = False
"""In a worker: a SIGINT arrived; start no further notebook."""


def _note_interrupt(signum: int, frame: object) -> None:
    global _interrupted
    _interrupted = True


def _watch_parent(parent: int) -> None:
    """In a worker: once the grading process is gone (killed), stop as on Ctrl-C, then exit."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGINT)  # the running notebook stops its kernel
    time.sleep(STOP_GRACE_S)
    os._exit(1)  # an idle worker would wait for work forever


def _worker_init() -> None:
    """Between notebooks, SIGINT only marks the worker as interrupted; a worker whose
    grading process dies stops too."""
    signal.signal(signal.SIGINT, _note_interrupt)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # `kill PID` stops every kernel as Ctrl-C does


_WORKER_SETUP = """\
import course.lean_imports
from course.grading.batch import _worker_init
_worker_init()
"""
"""A new worker's first code, run by :func:`exec` (a reference to this module would import
``course.grading`` before anything could run): :mod:`course.lean_imports` first, as
``course.cli`` does (nbformat's jsonschema would spend 1-10 s building parsers no notebook
needs)."""


def _grade_in_worker(grade_one: GradeOne, path: Path) -> GradeReport:
    """Grade one notebook in a worker, Ctrl-C behaving as in a serial run while it runs."""
    global _interrupted
    if _interrupted:
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return grade_one(path)
    except KeyboardInterrupt:
        _interrupted = True
        raise
    finally:
        signal.signal(signal.SIGINT, _note_interrupt)


def _shown(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _failed(path: Path, exc: BaseException) -> GradeReport:
    """The report of a notebook whose grading raised (a bug, or a worker that died)."""
    from course.grading import GradeReport

    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return GradeReport(path=Path(path), error=(
        f"{_shown(path)} could not be graded: the grader failed "
        f"({type(exc).__name__}{': ' + reason if reason else ''})."))


def _stop(executor: cf.ProcessPoolExecutor, futures: list[cf.Future]) -> None:
    """Ctrl-C: start nothing more, let running notebooks stop their kernels, then end."""
    for future in futures:
        future.cancel()
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for process in processes:
        if process.is_alive() and process.pid:
            try:
                os.kill(process.pid, signal.SIGINT)
            except OSError:
                pass
    cf.wait([f for f in futures if not f.cancelled()], timeout=STOP_GRACE_S)
    for process in processes:
        if process.is_alive():
            process.kill()
    executor.shutdown(wait=True, cancel_futures=True)


def grade_in_order(paths: Sequence[Path], grade_one: GradeOne, jobs: int = 1,
                   progress: Progress | None = None) -> Iterator[GradeReport]:
    """Grade ``paths`` with up to ``jobs`` at once; yield their reports in input order.

    Args:
        paths: The notebooks.
        grade_one: Grades one notebook and returns its report; it must never raise for a bad
            notebook. With ``jobs > 1`` it must be picklable (a module-level function, or a
            :func:`functools.partial` of one).
        jobs: Notebooks graded at once; 1 grades them one after the other in this process.
        progress: Told of each notebook as it finishes (in any order).

    Yields:
        One report per path, in the order of ``paths``.

    Raises:
        KeyboardInterrupt: on Ctrl-C, once every kernel is stopped.
    """
    paths = [Path(p) for p in paths]
    if jobs <= 1 or len(paths) <= 1:
        for path in paths:
            report = grade_one(path)
            if progress is not None:
                progress.finished(report)
            yield report
        return

    executor = cf.ProcessPoolExecutor(
        max_workers=min(jobs, len(paths)),
        mp_context=multiprocessing.get_context("spawn"),  # no fork of a process with threads
        initializer=exec, initargs=(_WORKER_SETUP, {}),
    )
    futures = [executor.submit(_grade_in_worker, grade_one, path) for path in paths]
    index = {future: i for i, future in enumerate(futures)}
    reports: dict[int, GradeReport] = {}
    following = 0
    pending = set(futures)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _sigterm) if main_thread else None
    try:
        while following < len(paths):
            done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in sorted(done, key=index.__getitem__):
                i = index[future]
                exc = future.exception()
                if isinstance(exc, KeyboardInterrupt):
                    raise KeyboardInterrupt
                reports[i] = _failed(paths[i], exc) if exc is not None else future.result()
                if progress is not None:
                    progress.finished(reports[i])
            while following in reports:
                yield reports.pop(following)
                following += 1
    except BaseException:  # Ctrl-C, SIGTERM, or the caller stopped iterating
        _stop(executor, futures)
        raise
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    executor.shutdown(wait=True)
