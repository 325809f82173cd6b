"""The kernel run: every step of the plan in one fresh kernel, with per-cell and total limits."""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from course.grading.grader_cell import grader_cell_source, grader_spec, read_result
from course.grading.plan import Step, StepKind
from course.grading.results import GradingInterrupted

_QUIET_LOG = logging.getLogger("course.grading.nbclient")
_QUIET_LOG.addHandler(logging.NullHandler())
_QUIET_LOG.propagate = False


class Status(enum.Enum):
    """How one step of the plan ended in the kernel."""

    OK = "ok"
    ERROR = "error"
    """The cell raised."""
    TIMEOUT = "timeout"
    """The cell was interrupted at its time limit."""
    KILLED = "killed"
    """The cell ignored the interrupt, so the kernel was stopped."""
    DEAD = "dead"
    """The kernel stopped while the cell ran (``exit()``, a crash)."""
    NOT_RUN = "not run"
    SKIPPED = "skipped"
    """A check not run because its exercise cell failed."""


FAILED = frozenset({Status.ERROR, Status.TIMEOUT, Status.KILLED, Status.DEAD})
"""The states of a cell that did not finish normally."""
TIMED_OUT = frozenset({Status.TIMEOUT, Status.KILLED})


@dataclass
class Outcome:
    """What running one step produced."""

    status: Status
    message: str = ""
    outputs: list[Any] = field(default_factory=list)


Verified = dict[int, tuple[str, "dict | None"]]
"""For each check step that ran: ``(key, verified result or None)``."""


def seconds_text(value: float) -> str:
    """``3`` → ``"3"``, ``2.71828`` → ``"2.7"``."""
    return f"{round(value, 1):g}"


def _grace(timeout: float) -> float:
    """Seconds a cell gets to stop after its interrupt before the kernel is killed."""
    return min(10.0, max(2.0, timeout))


def _error_line(outputs: list[Any]) -> str:
    for output in outputs:
        if output.get("output_type") == "error":
            ename, evalue = output.get("ename", "Error"), str(output.get("evalue", "")).strip()
            last = evalue.splitlines()[-1] if evalue else ""
            return f"{ename}: {last}" if last else ename
    return ""


class _Stop(Exception):
    """No further step runs; the message says why (for the steps not run)."""


class KernelRun:
    """Execute the steps of a plan in one fresh kernel (:meth:`run`)."""

    def __init__(self, steps: list[Step], *, timeout_cell: float, timeout_total: float,
                 cwd: str, package: tuple[Path, dict[str, str]],
                 aliases: dict[str, list[str | None]], kernel_manager: Any = None) -> None:
        """Prepare the run (``kernel_manager``: default, this interpreter's kernel)."""
        self.steps = steps
        self.timeout_cell, self.timeout_total = timeout_cell, timeout_total
        self.cwd, self.package, self.aliases = cwd, package, aliases
        self.kernel_manager = kernel_manager
        self.outcomes = [Outcome(Status.NOT_RUN) for _ in steps]
        self.verified: Verified = {}
        self.by_gid: dict[str, Outcome] = {}
        self.interrupted = False
        self.killed = False
        self.deadline = 0.0
        self.current_timeout = timeout_cell
        self.nb = nbformat.v4.new_notebook()
        self.client: Any = None

    def _make_client(self) -> Any:
        from nbclient import NotebookClient

        from course.execute import KERNEL_EXTRA_ARGUMENTS, KERNEL_NAME, _kernel_manager

        self.nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3",
                                          "language": "python"}
        self.nb.cells = [nbformat.v4.new_code_cell(step.source) for step in self.steps]
        return NotebookClient(
            self.nb,
            log=_QUIET_LOG,  # the report says which cells timed out; no log lines on stderr
            km=self.kernel_manager or _kernel_manager(),
            kernel_name=KERNEL_NAME,
            timeout_func=lambda cell: self.current_timeout,
            interrupt_on_timeout=True,
            allow_errors=True,
            record_timing=False,
            shutdown_kernel="immediate",
            resources={"metadata": {"path": self.cwd}},
            extra_arguments=list(KERNEL_EXTRA_ARGUMENTS),
        )

    async def run(self) -> tuple[list[Outcome], Verified]:
        """Run every step; return one outcome per step and the checks' verified results."""
        from course.execute import kernel_environment

        self.deadline = time.monotonic() + self.timeout_total
        self.client = self._make_client()
        task = asyncio.current_task()

        def on_sigint() -> None:
            self.interrupted = True
            if task is not None:
                task.cancel()

        loop = asyncio.get_running_loop()
        with kernel_environment():
            setup = self.client.async_setup_kernel(
                cleanup_kc=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await setup.__aenter__()
        try:
            try:  # Ctrl-C stops everything (nbclient's own handler would only stop the kernel)
                loop.add_signal_handler(signal.SIGINT, on_sigint)
            except (RuntimeError, NotImplementedError, AttributeError):
                pass
            self.client.reset_execution_trackers()
            await self._run_all()
        finally:
            try:
                loop.remove_signal_handler(signal.SIGINT)
            except (RuntimeError, NotImplementedError, AttributeError):
                pass
            await setup.__aexit__(None, None, None)
        return self.outcomes, self.verified

    async def _run_all(self) -> None:
        try:
            for index, step in enumerate(self.steps):
                if self.interrupted:
                    raise GradingInterrupted
                await self._run_step(index, step)
        except _Stop as stop:
            for outcome in self.outcomes:
                if outcome.status is Status.NOT_RUN:
                    outcome.message = str(stop)

    async def _run_step(self, index: int, step: Step) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _Stop(f"not run: the notebook reached its total time limit of "
                        f"{seconds_text(self.timeout_total)} s (--timeout-total)")
        cell = self.nb.cells[index]
        key = ""
        if step.kind is StepKind.CHECK:
            exercise = self.by_gid.get(step.exercise or "")
            if exercise is not None and exercise.status is not Status.OK:
                self.outcomes[index] = Outcome(Status.SKIPPED, exercise.message)
                return
            key = secrets.token_hex(16)
            cell.source = grader_cell_source(grader_spec(step, key, self.package, self.aliases))
        if not cell.source.strip():
            self.outcomes[index] = Outcome(Status.OK)
            return
        limit = max(min(self.timeout_cell, remaining), 0.5)
        outcome = await self._execute(index, step, cell, limit)
        self.outcomes[index] = outcome
        if step.kind is StepKind.CHECK:
            assert step.grade_id is not None
            self.verified[index] = (key, read_result(cell.outputs, key, step.grade_id))
        elif step.grade_id:
            self.by_gid[step.grade_id] = outcome

    async def _watchdog(self, limit: float) -> None:
        """Kill the kernel when a cell outlives its interrupt."""
        await asyncio.sleep(limit + _grace(limit))
        self.killed = True
        await self.client.km.signal_kernel(signal.SIGKILL)

    async def _execute(self, index: int, step: Step, cell: Any, limit: float) -> Outcome:
        from nbclient.exceptions import DeadKernelError

        self.current_timeout, self.killed = limit, False
        guard = asyncio.ensure_future(self._watchdog(limit))
        began = time.monotonic()
        try:
            await self.client.async_execute_cell(
                cell, index, store_history=step.kind is not StepKind.CHECK)
        except DeadKernelError:  # nbclient also turns a cancelled cell into this
            self._kernel_died(index, step, limit)
        except asyncio.CancelledError:
            raise GradingInterrupted from None
        finally:
            guard.cancel()
        elapsed = time.monotonic() - began
        error = _error_line(cell.outputs)
        if elapsed >= limit:
            message = f"timed out after {seconds_text(limit)} s"
            if limit < self.timeout_cell:
                message = (f"was interrupted at the notebook's total time limit of "
                           f"{seconds_text(self.timeout_total)} s")
            return Outcome(Status.TIMEOUT, message, cell.outputs)
        if error:
            return Outcome(Status.ERROR, error, cell.outputs)
        return Outcome(Status.OK, "", cell.outputs)

    def _kernel_died(self, index: int, step: Step, limit: float) -> None:
        """Record why the kernel stopped during ``step``, then stop the run."""
        if self.interrupted:
            raise GradingInterrupted from None
        if self.killed:
            outcome = Outcome(Status.KILLED, f"timed out after {seconds_text(limit)} s and "
                                             "ignored the interrupt")
            reason = (f"not run: {step.where} did not stop when interrupted, so the kernel "
                      "was stopped")
        else:
            outcome = Outcome(Status.DEAD, "the kernel stopped: exit() or a crash")
            reason = f"not run: the kernel stopped while running {step.where}"
        self.outcomes[index] = outcome
        if step.grade_id:
            self.by_gid[step.grade_id] = outcome
        raise _Stop(reason)
