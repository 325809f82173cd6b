"""The launcher the notebook drives: :class:`Cluster` and :func:`train`.

It starts the workers (``python -m course.multiworker``) on ``127.0.0.1`` with free ports,
their output redirected to files, can stop one by its PID mid-training, and always stops
every worker it started (bounded time, cleanup in ``finally``; each worker also exits by
itself when its launcher goes away or its deadline passes, see
:mod:`course.multiworker.watchdog`). It never imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from course.multiworker.events import read_log
from course.multiworker.recipe import DEFAULTS, tf_config
from course.multiworker.report import RunReport, WorkerRun
from course.multiworker.watchdog import alive

START_TIMEOUT_S = 120.0
"""How long the launcher waits for a worker's first training step."""

RUN_TIMEOUT_S = 240.0
"""Upper bound for one whole multi-worker run (each worker's own deadline is a bit longer)."""


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """Return ``n`` distinct TCP ports that are free on ``host`` right now."""
    sockets, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket()
            s.bind((host, 0))
            sockets.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in sockets:
            s.close()
    return ports


class ClusterError(RuntimeError):
    """The workers did not start, hung or failed; the message quotes their logs."""


class Cluster:
    """Worker processes on 127.0.0.1 that are always stopped (use it in a ``with`` block).

    Args:
        workdir: the run's folder: checkpoints in ``checkpoints/worker<i>/``, logs in
            ``logs/<run>-worker<i>.jsonl`` and the processes' own output in
            ``logs/<run>-worker<i>.out``.
        n_workers: processes to start.
        run: a name for this run's log files.
        check_fit: the workers first re-check ``model.fit`` under the strategy.
        **options: the training recipe (see :data:`course.multiworker.recipe.DEFAULTS`).
    """

    def __init__(self, workdir: str | os.PathLike, n_workers: int = 2, run: str = "run",
                 check_fit: bool = False, deadline_s: float = RUN_TIMEOUT_S + 60,
                 **options: Any) -> None:
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown training options: {sorted(unknown)}")
        self.workdir, self.n_workers, self.run = Path(workdir).resolve(), n_workers, run
        self.check_fit, self.deadline_s, self.options = check_fit, deadline_s, options
        self.processes: list[subprocess.Popen] = []
        self.killed: set[int] = set()
        self.stopped: set[int] = set()
        self._files: list[Any] = []
        self._started = 0.0

    def log_path(self, index: int) -> Path:
        """Worker ``index``'s JSON-lines event log."""
        return self.workdir / "logs" / f"{self.run}-worker{index}.jsonl"

    def output_path(self, index: int) -> Path:
        """Worker ``index``'s stdout and stderr (TensorFlow's own messages)."""
        return self.workdir / "logs" / f"{self.run}-worker{index}.out"

    @property
    def pids(self) -> list[int]:
        """The workers' process ids."""
        return [p.pid for p in self.processes]

    def start(self) -> Cluster:
        """Start the workers with a fresh TF_CONFIG each, on free loopback ports."""
        if self.processes:
            raise ClusterError("this cluster was already started")
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        addresses = [f"127.0.0.1:{port}" for port in free_ports(self.n_workers)]
        args = [sys.executable, "-m", "course.multiworker", "--workdir", str(self.workdir),
                "--deadline", str(self.deadline_s), "--launcher-pid", str(os.getpid())]
        if self.check_fit:
            args.append("--check-fit")
        for key, value in self.options.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        self._started = time.monotonic()
        for index in range(self.n_workers):
            for path in (self.log_path(index), self.output_path(index)):
                path.unlink(missing_ok=True)
            env = {**os.environ, "TF_CONFIG": tf_config(addresses, index),
                   "CUDA_VISIBLE_DEVICES": "-1",  # one machine: the workers share its CPU
                   "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
                   "PYTHONUNBUFFERED": "1"}
            out = open(self.output_path(index), "wb")
            self._files.append(out)
            self.processes.append(subprocess.Popen(
                [*args, "--log", str(self.log_path(index))], env=env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir))
        return self

    def events(self, index: int) -> list[dict[str, Any]]:
        """Worker ``index``'s events so far."""
        return read_log(self.log_path(index))

    def _raise(self, what: str) -> None:
        tails = []
        for index in range(len(self.processes)):
            text = self.output_path(index).read_text(errors="replace") \
                if self.output_path(index).is_file() else ""
            lines = [line for line in text.splitlines() if line.strip()][-6:]
            events = self.events(index)[-3:]
            tails.append(f"worker {index}: events {events}; output: " + " | ".join(lines))
        raise ClusterError(what + "\n" + "\n".join(tails))

    def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``predicate`` until it holds; raise :class:`ClusterError` on timeout or exit."""
        end = time.monotonic() + timeout
        while not predicate():
            failed = [i for i, p in enumerate(self.processes)
                      if p.poll() not in (None, 0) and i not in self.killed | self.stopped]
            if failed:
                self._raise(f"worker {failed[0]} exited with status "
                            f"{self.processes[failed[0]].returncode} while waiting for {what}")
            if time.monotonic() > end:
                self._raise(f"timed out after {timeout:g} s waiting for {what}")
            time.sleep(0.05)

    def wait_for_step(self, index: int, step: int, timeout: float = START_TIMEOUT_S) -> None:
        """Block until worker ``index`` has logged training step ``step`` (or later)."""
        def reached() -> bool:
            return any(e.get("event") == "step" and e["step"] >= step
                       for e in self.events(index))
        self.wait_until(reached, timeout, f"worker {index} to reach step {step}")

    def kill(self, index: int) -> int:
        """Stop worker ``index`` at once by its PID (SIGKILL: no clean-up, like a crash)."""
        pid = self.processes[index].pid
        os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        self.processes[index].wait(timeout=30)
        self.killed.add(index)
        return pid

    def exited(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every worker to exit; True when they all did."""
        end = time.monotonic() + timeout
        while any(p.poll() is None for p in self.processes):
            if time.monotonic() > end:
                return False
            time.sleep(0.05)
        return True

    def wait(self, timeout: float = RUN_TIMEOUT_S) -> list[int | None]:
        """Wait for every worker to exit; raise :class:`ClusterError` on timeout or failure."""
        self.wait_until(lambda: all(p.poll() is not None for p in self.processes), timeout,
                        "the workers to finish")
        return [p.returncode for p in self.processes]

    def stop(self, grace_s: float = 2.0) -> None:
        """Terminate the workers still running (kill them after ``grace_s``); reap them all.

        A worker blocked inside a TensorFlow collective does not react to SIGTERM, hence
        the short grace.
        """
        for index, process in enumerate(self.processes):
            if process.poll() is None:
                self.stopped.add(index)
                process.terminate()
        end = time.monotonic() + grace_s
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.05, end - time.monotonic()))
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
        for file in self._files:
            file.close()
        self._files.clear()

    def report(self) -> RunReport:
        """The run as its logs tell it (call after :meth:`wait` or :meth:`stop`)."""
        workers = [
            WorkerRun(index, p.pid, p.poll(), self.events(index), index in self.killed,
                      index in self.stopped)
            for index, p in enumerate(self.processes)
        ]
        return RunReport(self.workdir, workers, time.monotonic() - self._started)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def train(workdir: str | os.PathLike, n_workers: int = 2, run: str = "run",
          kill_worker: int | None = None, kill_at_step: int | None = None,
          check_fit: bool = False, timeout: float = RUN_TIMEOUT_S, survivor_grace_s: float = 20.0,
          **options: Any) -> RunReport:
    """Run one multi-worker training on loopback and return what the logs say.

    Without ``kill_worker``: wait until every worker has finished. With it: stop worker
    ``kill_worker`` by its PID once it has logged step ``kill_at_step``; the others fail at
    their next all-reduce (their peer is gone) and exit, or are stopped after
    ``survivor_grace_s`` seconds, as a cluster manager would before restarting the job.
    Every worker is stopped before this returns, whatever happens.

    Raises:
        ClusterError: a worker failed or the run exceeded ``timeout`` seconds.
    """
    with Cluster(workdir, n_workers, run=run, check_fit=check_fit, deadline_s=timeout + 60,
                 **options) as cluster:
        cluster.start()
        if kill_worker is None:
            cluster.wait(timeout)
        else:
            cluster.wait_for_step(kill_worker, kill_at_step or 1, timeout)
            cluster.kill(kill_worker)
            cluster.exited(survivor_grace_s)
            cluster.stop()
        return cluster.report()


def _iter_all(reports: Sequence[RunReport]) -> Iterator[WorkerRun]:
    for report in reports:
        yield from report.workers


def stray_workers(*reports: RunReport) -> list[int]:
    """The PIDs of the runs' worker processes that are still alive (should be none)."""
    return [w.pid for w in _iter_all(reports) if alive(w.pid)]
