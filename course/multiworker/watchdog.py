"""The watchdog: a small process that stops a worker whose launcher went away or whose
deadline passed.

It is a separate process, not a thread, because a worker waiting for its peers sits in
TensorFlow C++ code that holds the GIL and ignores SIGTERM: a watchdog thread would never
wake up (seen on a loaded CI machine). This module never imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from course.multiworker.events import EventLog

_MAIN = "import sys; from course.multiworker.watchdog import watch; sys.exit(watch(sys.argv[1:]))"


def alive(pid: int) -> bool:
    """True when a process with this PID still exists (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    return True


def start_watchdog(deadline_s: float, launcher_pid: int, log_path: Path, index: int) -> None:
    """Start the watchdog of this worker process: it stops it when process ``launcher_pid``
    goes away or ``deadline_s`` passes.

    The launcher asks for both, naming its own PID (by the time the worker gets here, a
    launcher that crashed may be gone already, and the worker's parent is then ``init``). A
    worker started by hand on a real machine has neither (both 0): no watchdog starts.
    """
    if deadline_s <= 0 and not launcher_pid:
        return
    subprocess.Popen([sys.executable, "-c", _MAIN, str(os.getpid()), str(launcher_pid),
                      str(deadline_s), str(log_path), str(index)],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)


def watch(argv: Sequence[str], poll_s: float = 0.25) -> int:
    """The watchdog process: log ``stopped`` and SIGKILL the worker when it must stop.

    ``argv``: worker PID, launcher PID (0: not watched), deadline in s (0: none), log path,
    worker index. Returns when the worker has exited, whichever way: 1 when it stopped it.
    """
    worker, launcher = int(argv[0]), int(argv[1])
    deadline_s, log_path, index = float(argv[2]), Path(argv[3]), int(argv[4])
    end = time.monotonic() + deadline_s
    while alive(worker):
        time.sleep(poll_s)
        if launcher and not alive(launcher):
            reason = "launcher gone"
        elif deadline_s > 0 and time.monotonic() > end:
            reason = f"deadline of {deadline_s:g} s passed"
        else:
            continue
        log = EventLog(log_path, index)
        log("stopped", reason=reason)
        log.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, getattr(signal, "SIGKILL", signal.SIGTERM))
        return 1
    return 0
