"""The workers' event logs: one JSON object per line, written by a worker (and its watchdog),
read live by the launcher."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any


class EventLog:
    """Append-only JSON-lines log: one event per line, flushed at once (others read it live)."""

    def __init__(self, path: str | os.PathLike, worker: int) -> None:
        self.path, self.worker = Path(path), worker
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def __call__(self, event: str, **fields: Any) -> None:
        record = {"event": event, "worker": self.worker, "time": round(time.time(), 3), **fields}
        with self._lock:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()

    def close(self) -> None:
        """Close the file (the log is complete on disk after every event)."""
        self._file.close()


def read_log(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Return the events of a worker log (a line cut short by a kill is skipped)."""
    events = []
    path = Path(path)
    if not path.is_file():
        return events
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            events.append(json.loads(line))
    return events
