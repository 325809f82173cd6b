"""What a multi-worker run did, as its workers' logs tell it: :class:`RunReport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class WorkerRun:
    """One worker process of one run: its PID, exit code and logged events."""

    index: int
    pid: int
    exit_code: int | None
    events: list[dict[str, Any]]
    killed: bool = False
    stopped_by_launcher: bool = False

    def of(self, kind: str) -> list[dict[str, Any]]:
        """The events of one kind, in order."""
        return [e for e in self.events if e.get("event") == kind]

    def _value(self, kind: str, key: str, position: int, default: Any = None) -> Any:
        """Field ``key`` of the event of ``kind`` at ``position`` (0: first, -1: last)."""
        found = self.of(kind)
        return found[position][key] if found else default

    @property
    def finished(self) -> bool:
        """True when the worker trained to the end and exited with status 0."""
        return self.exit_code == 0 and bool(self.of("done"))

    @property
    def first_step(self) -> int | None:
        """The first step this run trained (1 when it started from scratch)."""
        return self._value("step", "step", 0)

    @property
    def last_step(self) -> int:
        """The last step this run completed (0 when none)."""
        return self._value("step", "step", -1, 0)

    @property
    def restored_step(self) -> int | None:
        """The checkpoint step it resumed from, or None when it started fresh."""
        return self._value("restored", "step", 0)

    @property
    def error(self) -> str:
        """The error this worker logged before it stopped ('' when none)."""
        return self._value("error", "error", -1, "")

    @property
    def local_checkpoints(self) -> list[int] | None:
        """The checkpoint steps this worker found in its own folder when it started."""
        found = self.of("restored") or self.of("fresh")
        return found[0]["local_checkpoints"] if found else None

    @property
    def saved_steps(self) -> list[int]:
        """The steps this run checkpointed."""
        return [e["step"] for e in self.of("saved")]

    @property
    def result(self) -> dict[str, Any] | None:
        """The ``done`` event: final step, test loss and accuracy, weight sums."""
        done = self.of("done")
        return done[-1] if done else None


@dataclass
class RunReport:
    """What one multi-worker run did, read from its workers' logs."""

    workdir: Path
    workers: list[WorkerRun] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def finished(self) -> bool:
        """True when every worker trained to the end."""
        return bool(self.workers) and all(w.finished for w in self.workers)

    def fit_check(self) -> tuple[bool, str] | None:
        """``(works, error)`` of the ``model.fit`` re-check (every worker agrees), or None."""
        found = [w.of("fit")[0] for w in self.workers if w.of("fit")]
        if not found:
            return None
        return all(e["works"] for e in found), found[0].get("error", "")

    def losses(self, index: int = 0) -> dict[int, float]:
        """``{step: global mean loss}`` as worker ``index`` logged it."""
        return {e["step"]: e["loss"] for e in self.workers[index].of("step")}
