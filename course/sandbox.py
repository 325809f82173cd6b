"""The sandbox every graded notebook's kernel runs in: bubblewrap (``bwrap``), or none, said.

``course grade --sandbox auto`` (the default) uses bubblewrap when it works on this machine;
otherwise the notebook runs unconfined and every report says so in one line. Inside it:

- **no network** (``--unshare-net``: only the sandbox's own loopback); the kernel talks to the
  grader over Unix sockets in the notebook's temporary folder (``transport="ipc"``);
- **a read-only file system** except that folder: ``/tmp``, ``/run`` and ``/dev/shm`` are empty
  and private; the user's home, the notebooks' folders (other submissions), the results
  folder and ``solutions/`` (hidden tests) are hidden under empty tmpfs; only the Python
  installation, its site-packages and the ``course`` package are mounted back, read-only;
  the environment is cleared but for a short list (no tokens reach the learner's code);
- **limits** (``setrlimit``, set by a small launcher inside the sandbox just before the
  kernel starts): address space, processes (threads included) and CPU time per process.
  Run as root, the launcher also drops to an unprivileged user (``nobody``): root ignores the
  process limit, and no capability is left;
- **nothing outlives the grading**: the kernel is in its own PID namespace
  (``--unshare-pid``), so when the kernel is stopped every process it started — detached or
  not — is killed with it (``--die-with-parent``; ``--new-session`` detaches the terminal).

A container engine is only *reported* (``docker`` is often a client without a daemon); it is
not used to run kernels.
"""

from __future__ import annotations

import enum
import functools
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

SANDBOX_UID = SANDBOX_GID = 65534
"""The user (``nobody``) the kernel runs as when the grader runs as root."""
GIB = 1024**3
DEFAULT_MEMORY_GIB = 8.0
"""Address space per process. TensorFlow reserves far more than it uses: a Lab 01 kernel
peaks at about 2.6 GiB of address space for 0.7 GiB resident."""
DEFAULT_PROCESSES = 1024
"""Processes and threads the sandbox's user may add (TensorFlow starts tens of threads)."""
DEFAULT_CPU_S = 3600
"""CPU seconds per process: a backstop; the wall-clock timeouts come first."""

_ENV_KEEP = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TERM", "COLUMNS",
             "JUPYTER_COLUMNS", "NO_COLOR", "PYTHONHASHSEED", "PYTHONIOENCODING", "MPLBACKEND",
             "KERAS_BACKEND", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS")
_ENV_PREFIXES = ("TF_CPP_", "TF_ENABLE_", "TF_XLA_", "TF_DETERMINISTIC", "TF_NUM_", "TF_GPU_",
                 "TF_FORCE_GPU")  # TensorFlow's, not Terraform's TF_CLI_CONFIG_FILE & co

# Runs inside the sandbox (python -I -S: no site, no user paths): limits, then the user, then
# the kernel. Limits are set while still root, so they can only be lowered afterwards.
_LAUNCHER = """\
import json, os, resource, sys
spec = json.loads(sys.argv[1])
for name, value in spec["limits"].items():
    resource.setrlimit(getattr(resource, name), (value, value))
if spec["uid"] is not None:
    os.setgroups([])
    os.setgid(spec["gid"])
    os.setuid(spec["uid"])
os.execv(sys.argv[2], sys.argv[2:])
"""


class SandboxMode(str, enum.Enum):
    """``course grade --sandbox``: the best available, bubblewrap (or fail), or none."""

    AUTO = "auto"
    BWRAP = "bwrap"
    NONE = "none"

    def __str__(self) -> str:
        return self.value


class SandboxUnavailable(RuntimeError):
    """``--sandbox bwrap`` was asked for and bubblewrap does not work here; says why."""


@dataclass(frozen=True)
class Limits:
    """Per-process resource limits inside the sandbox."""

    memory_bytes: int = int(DEFAULT_MEMORY_GIB * GIB)
    processes: int = DEFAULT_PROCESSES
    cpu_seconds: int = DEFAULT_CPU_S

    def describe(self) -> str:
        """``"8 GiB address space, 1024 processes, 3600 s CPU per process"``."""
        return (f"{self.memory_bytes / GIB:g} GiB address space, {self.processes} processes, "
                f"{self.cpu_seconds} s CPU per process")


@dataclass(frozen=True)
class Sandbox:
    """How kernels are confined: ``bwrap`` (with its limits and hidden paths) or not at all."""

    kind: SandboxMode
    """``BWRAP`` or ``NONE`` (never ``AUTO``: that is resolved by :func:`choose_sandbox`)."""
    description: str
    """The one line every report carries (loud when there is no sandbox)."""
    limits: Limits = field(default_factory=Limits)
    hide: tuple[Path, ...] = ()
    """Folders the learner's code must not see (other submissions, results, solutions)."""
    bwrap: str = "bwrap"

    @property
    def active(self) -> bool:
        """Whether kernels run confined."""
        return self.kind == SandboxMode.BWRAP

    def hiding(self, *paths: Path | str) -> Sandbox:
        """This sandbox, also hiding ``paths``."""
        extra = tuple(Path(p).resolve() for p in paths)
        return replace(self, hide=tuple(dict.fromkeys(self.hide + extra)))

    def kernel_manager(self, workdir: str) -> Any:
        """An nbclient kernel manager whose kernel runs in this sandbox, in ``workdir``."""
        return _sandboxed_kernel_manager(self, Path(workdir))


def _tasks_of(uid: int) -> int:
    """Processes and threads owned by ``uid`` now (what ``RLIMIT_NPROC`` counts)."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines()
                          if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                total += int(fields.get("Threads", "1"))
        except (OSError, KeyError, ValueError):
            continue
    return total


def _needed_paths() -> list[Path]:
    """What the kernel must read: the Python installation, its packages, ``course``."""
    import site

    import course

    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages(),
             Path(sys.executable).resolve().parent, Path(course.__file__).resolve().parent]
    return sorted({Path(p).resolve() for p in paths if Path(p).exists()})


def _homes() -> list[Path]:
    """The grader's home (``$HOME``) and its user's home in the password database."""
    import pwd

    homes = [Path.home()]
    try:
        homes.append(Path(pwd.getpwuid(os.getuid()).pw_dir))
    except KeyError:
        pass
    return [home.resolve() for home in homes]


def _closed_ancestors(paths: list[Path]) -> list[Path]:
    """Folders above ``paths`` that others cannot cross (e.g. ``/root``, mode 0700).

    Hidden, then crossed by the sandbox's own 0755 folders, so that the kernel (run as
    ``nobody`` by root) reaches the Python installation below them.
    """
    closed = set()
    for path in paths:
        for parent in path.parents:
            try:
                if not parent.stat().st_mode & stat.S_IXOTH:
                    closed.add(parent)
            except OSError:
                continue
    return sorted(closed)


def _below(path: Path, others: list[Path]) -> bool:
    return any(path != other and path.is_relative_to(other) for other in others)


def _mounts(hide: list[Path], workdir: Path) -> list[str]:
    """bwrap's file-system arguments: everything read-only, ``hide`` emptied, ``workdir`` rw."""
    args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/run",
            "--perms", "1777", "--tmpfs", "/tmp", "--perms", "1777", "--tmpfs", "/dev/shm"]
    hide = sorted({p for p in hide if p.is_dir() and p != Path("/")},
                  key=lambda p: len(p.parts))
    needed = _needed_paths()
    for path in hide:
        args += ["--tmpfs", str(path)]
    for path in needed:  # mounted back where a hidden folder covered them
        covering = [h for h in hide if path.is_relative_to(h)]
        if covering:
            top = min(covering, key=lambda p: len(p.parts))
            for parent in reversed(path.parents):  # bwrap would make them 0700
                if parent.is_relative_to(top) and parent != top:
                    args += ["--perms", "0755", "--dir", str(parent)]
            args += ["--ro-bind", str(path), str(path)]
    for path in hide:  # a hidden folder inside what was mounted back: hide it again
        if _below(path, needed):
            args += ["--tmpfs", str(path)]
    return [*args, "--bind", str(workdir), str(workdir), "--chdir", str(workdir)]


def _environment(workdir: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items()
           if k in _ENV_KEEP or k.startswith(_ENV_PREFIXES)}
    env.update(HOME=str(workdir / "home"), TMPDIR="/tmp", USER="learner", LOGNAME="learner")
    args = ["--clearenv"]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    return args


def wrap_command(sandbox: Sandbox, command: list[str], workdir: Path) -> list[str]:
    """Return ``command`` (a kernel's argv) run inside ``sandbox`` with ``workdir`` writable."""
    root = os.geteuid() == 0
    uid = SANDBOX_UID if root else os.getuid()
    limits = sandbox.limits
    spec = {
        "limits": {"RLIMIT_AS": limits.memory_bytes, "RLIMIT_CPU": limits.cpu_seconds,
                   "RLIMIT_NPROC": _tasks_of(uid) + limits.processes, "RLIMIT_CORE": 0},
        "uid": SANDBOX_UID if root else None,
        "gid": SANDBOX_GID if root else None,
    }
    hide = [*_homes(), *_closed_ancestors(_needed_paths()), *sandbox.hide]
    privileged = (["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
                  if root else [])
    return [
        sandbox.bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
        "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", *privileged,
        *_mounts(hide, workdir), *_environment(workdir),
        "--", sys.executable, "-I", "-S", "-c", _LAUNCHER, json.dumps(spec), *command,
    ]


def prepare_workdir(workdir: Path) -> None:
    """Create the kernel's home in ``workdir``; as root, give both to the sandbox's user.

    Their group stays root's (mode 0770): bwrap enters the folder as root without
    capabilities, before the launcher becomes the sandbox's user.
    """
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        for path in (workdir, home):
            os.chown(path, SANDBOX_UID, 0)
            path.chmod(0o770)


def _sandboxed_kernel_manager(sandbox: Sandbox, workdir: Path) -> Any:
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    from course.execute import KERNEL_NAME

    class SpecManager(KernelSpecManager):
        """This interpreter's kernel; interrupted by message (a signal stops at bwrap)."""

        def get_kernel_spec(self, kernel_name: str) -> Any:
            spec = ipykernel.kernelspec.get_kernel_dict()
            spec["interrupt_mode"] = "message"
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES, **spec)

    class SandboxedKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            command = super().format_kernel_cmd(extra_arguments)
            if os.geteuid() == 0:
                os.chown(self.connection_file, SANDBOX_UID, 0)
            return wrap_command(sandbox, command, workdir)

    prepare_workdir(workdir)
    return SandboxedKernelManager(
        kernel_name=KERNEL_NAME, kernel_spec_manager=SpecManager(), transport="ipc",
        ip=str(workdir / "kernel"), connection_file=str(workdir / "kernel.json"),
    )


def _version(bwrap: str) -> str:
    try:
        done = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "bwrap"
    return done.stdout.strip() or "bwrap"


@functools.lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """None when bubblewrap runs a sandbox here, else why not (one clause)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    probe = Sandbox(SandboxMode.BWRAP, "probe", bwrap=bwrap)
    with tempfile.TemporaryDirectory(prefix="course-sandbox-probe-") as workdir:
        prepare_workdir(Path(workdir))
        command = wrap_command(probe, [sys.executable, "-I", "-S", "-c", "pass"], Path(workdir))
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap could not start ({type(exc).__name__})"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return f"bubblewrap cannot make a sandbox here ({last})"
    return None


@functools.lru_cache(maxsize=1)
def container_engine_status() -> str:
    """One clause on podman/docker: which runs, or that the client has no engine behind it."""
    found = []
    for engine in ("podman", "docker"):
        if shutil.which(engine) is None:
            continue
        try:
            done = subprocess.run([engine, "info"], capture_output=True, timeout=15)
            running = done.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            running = False
        found.append(f"{engine} runs (not used to run kernels)" if running else
                     f"{engine} is only a client here (no engine answers)")
    return "; ".join(found) or "no container engine either"


def choose_sandbox(mode: SandboxMode | str = SandboxMode.AUTO, limits: Limits | None = None,
                   hide: tuple[Path, ...] = ()) -> Sandbox:
    """Return the sandbox for ``mode`` (``auto``: bubblewrap when it works, else none).

    Raises:
        SandboxUnavailable: ``mode`` is ``bwrap`` and bubblewrap does not work here.
    """
    mode = SandboxMode(mode)
    limits = limits or Limits()
    hide = tuple(Path(p).resolve() for p in hide)
    unconfined = ("the learner's code ran with the grader's permissions: network, every file "
                  "you can read or write, no limits")
    if mode is SandboxMode.NONE:
        return Sandbox(SandboxMode.NONE, f"NO SANDBOX (--sandbox none): {unconfined}", limits,
                       hide)
    problem = bwrap_problem()
    if problem is None:
        bwrap = shutil.which("bwrap") or "bwrap"
        return Sandbox(SandboxMode.BWRAP,
                       f"sandbox: {_version(bwrap)}; no network; read-only files but its "
                       "temporary folder; home, submissions, results and solutions hidden; "
                       f"{limits.describe()}", limits, hide, bwrap)
    if mode is SandboxMode.BWRAP:
        raise SandboxUnavailable(f"--sandbox bwrap: {problem}.")
    return Sandbox(SandboxMode.NONE,
                   f"NO SANDBOX: {problem}; {container_engine_status()}; {unconfined}",
                   limits, hide)
