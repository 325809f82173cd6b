"""``course grade --sandbox``: every defence attacked by a real notebook graded by the command.

The notebooks are of a tiny NumPy-only lab (four exercises, each checked by Lab 01's
``preprocess`` check, about 2 s a kernel). An attack cell answers its exercise correctly only
when the attack worked, so a score says what the learner's code could do; the same notebooks
graded with ``--sandbox none`` show each attack works without the sandbox (the tests can
fail). Tests needing bubblewrap skip, saying why, where it cannot make a sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import tempfile
import threading
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course import sandbox
from course.cli import main
from course.notebooks import lab_text

PROBLEM = sandbox.bwrap_problem()
needs_bwrap = pytest.mark.skipif(PROBLEM is not None, reason=f"no bwrap sandbox: {PROBLEM}")

PREP = "(images.reshape(len(images), 784).astype('float32') / 255.0 - 0.1307) / 0.3081"
EXERCISES = ("a", "b", "c", "d")
SOLUTIONS_SECRET = "SOLUTIONS-SECRET-7731"


def _meta(grade_id: str, *, answer: bool) -> dict:
    meta = {"grade_id": grade_id, "solution": answer, "grade": not answer, "locked": not answer,
            "schema_version": 3}
    if not answer:
        meta["points"] = 1
    return {"nbgrader": meta}


def write_solution(folder: Path) -> Path:
    """``95_sandbox.ipynb``: exercises a–d, each ``prep_x`` checked by Lab 01's check."""
    folder.mkdir(parents=True, mode=0o755)
    cells = [new_markdown_cell("# Sandbox lab"),
             new_code_cell("import numpy as np\nfrom course.checks import lab01 as checks")]
    for name in EXERCISES:
        cells.append(new_code_cell(
            f"def prep_{name}(images):\n    ### BEGIN SOLUTION\n    x = {PREP}\n"
            "    ### END SOLUTION\n    return x", metadata=_meta(f"sbx-{name}", answer=True)))
        cells.append(new_code_cell(
            f"checks.preprocess(prep_{name})\n### BEGIN HIDDEN TESTS\n"
            f"assert {SOLUTIONS_SECRET!r}\n### END HIDDEN TESTS",
            metadata=_meta(f"sbx-{name}-check", answer=False)))
    path = folder / "95_sandbox.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    return path


def when(condition: str, name: str, setup: str = "") -> str:
    """An exercise cell whose ``prep_<name>`` is right only when ``condition`` held."""
    return (f"{setup}\n_ok_{name} = bool({condition})\n"
            f"def prep_{name}(images):\n    if not _ok_{name}:\n        return images\n"
            f"    return {PREP}\n")


def submission(solution: Path, path: Path, **cells: str) -> Path:
    nb = nbformat.reads(lab_text(solution), as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if gid.removeprefix("sbx-") in cells:
            cell.source = cells[gid.removeprefix("sbx-")]
    nbformat.write(nb, path)
    return path


def grade(paths: list[Path], solutions: Path, out: Path, *options: str) -> tuple[int, dict]:
    status = main(["grade", *map(str, paths), "--solutions", str(solutions), "--out", str(out),
                   *options])
    return status, {p.stem: json.loads((out / f"{p.stem}.json").read_text()) for p in paths}


def scores(result: dict) -> dict[str, float]:
    return {t["name"].removeprefix("sbx-"): t["score"] for t in result["tests"]}


def processes_with(token: str) -> list[int]:
    """PIDs (seen from here) of live processes whose command line holds ``token``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if token.encode() in cmdline.read_bytes():
                state = (cmdline.parent / "stat").read_text().split(")")[-1].split()[0]
                if state != "Z":
                    found.append(int(cmdline.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


class Listener:
    """A TCP server on 127.0.0.1 counting the connections that reach it."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while self.running:
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=2)
        self.server.close()


@pytest.fixture
def world(monkeypatch):
    """An instructor's world: home, the kit's solutions, submissions, results, another folder.

    It is outside ``/tmp`` (which the sandbox replaces anyway) and readable by everyone, so
    only the sandbox's hiding and read-only mounts can stop the attacks.
    """
    base = Path(tempfile.mkdtemp(prefix="course-sandbox-test-", dir="/var/tmp"))
    base.chmod(0o755)
    home = base / "home"
    home.mkdir()
    (home / "secret.txt").write_text("HOME-SECRET-1")
    monkeypatch.setenv("HOME", str(home))  # the grader's home: the sandbox hides it
    solution = write_solution(base / "kit" / "solutions")
    submissions = base / "submissions"
    submissions.mkdir()
    (submissions / "alice.ipynb").write_text("ALICE-SECRET-2")  # another learner's work
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    elsewhere.chmod(0o777)  # writable by anyone: only the read-only mount stops the learner
    out = base / "grades"
    out.mkdir()
    (out / "earlier.json").write_text("GRADES-SECRET-3")
    listener = Listener()
    token = f"course-sandbox-attack-{uuid.uuid4().hex}"
    yield {"home": home, "solution": solution, "submissions": submissions,
           "elsewhere": elsewhere, "out": out, "listener": listener, "token": token}
    listener.close()
    for pid in processes_with(token):  # what escaped an unconfined run
        os.kill(pid, 9)
    shutil.rmtree(base, ignore_errors=True)


def attack_notebooks(w: dict) -> dict[str, Path]:
    subs, home, token = w["submissions"], w["home"], w["token"]
    read = lambda path: f"open({str(path)!r}).read()"  # noqa: E731
    readable = "def readable(f):\n    try:\n        return f()\n    except OSError:\n" \
               "        return ''\n"
    written = "def written(path):\n    try:\n        open(path, 'w').write('pwned')\n" \
              "        return True\n    except OSError:\n        return False\n"
    host_tmp = Path("/tmp") / f"{token}.txt"
    return {
        "reads": submission(
            w["solution"], subs / "reads.ipynb",
            a=when(f"'ALICE-SECRET-2' in readable(lambda: {read(subs / 'alice.ipynb')})", "a",
                   readable),
            b=when(f"'GRADES-SECRET-3' in readable(lambda: {read(w['out'] / 'earlier.json')})",
                   "b", readable),
            c=when(f"{SOLUTIONS_SECRET!r} in readable(lambda: "
                   f"{read(w['solution'])})", "c", readable),
            d=when(f"'HOME-SECRET-1' in readable(lambda: {read(home / 'secret.txt')})", "d",
                   readable)),
        "writes": submission(
            w["solution"], subs / "writes.ipynb",
            a=when(f"written({str(home / 'pwned.txt')!r})", "a", written),
            b=when(f"written({str(w['elsewhere'] / 'pwned.txt')!r})", "b", written),
            c=when(f"written({str(subs / 'pwned.txt')!r})", "c", written),
            d=when(f"written({str(host_tmp)!r})", "d", written)),
        "network": submission(
            w["solution"], subs / "network.ipynb",
            a=when("reached()", "a",
                   "import socket\ndef reached():\n    try:\n"
                   f"        socket.create_connection(('127.0.0.1', {w['listener'].port}), "
                   "timeout=3).close()\n        return True\n    except OSError:\n"
                   "        return False\n")),
        "detaches": submission(
            w["solution"], subs / "detaches.ipynb",
            a=when("child.poll() is None", "a",
                   "import subprocess, sys\nchild = subprocess.Popen([sys.executable, '-c', "
                   f"'import time; time.sleep(120)', {token!r}], start_new_session=True)\n"
                   "import time; time.sleep(0.5)\n")),
    }


@needs_bwrap
def test_the_sandbox_stops_every_attack_that_works_without_it(world):
    w = world
    paths = attack_notebooks(w)
    host_tmp = Path("/tmp") / f"{w['token']}.txt"
    planted = [w["home"] / "pwned.txt", w["elsewhere"] / "pwned.txt",
               w["submissions"] / "pwned.txt", host_tmp]

    status, results = grade(list(paths.values()), w["solution"].parent, w["out"],
                            "--sandbox", "bwrap")
    assert status == 0
    for result in results.values():
        assert result["extra_data"]["sandbox"].startswith("sandbox: bubblewrap")
    # Nothing outside the notebook's folder could be read...
    assert scores(results["reads"]) == {"a": 0, "b": 0, "c": 0, "d": 0}
    # ...or written: /tmp is a throw-away tmpfs, the rest read-only (hidden folders too).
    assert scores(results["writes"]) == {"a": 0, "b": 0, "c": 0, "d": 1}
    assert not [path for path in planted if path.exists()]
    # No connection reached the host's loopback.
    assert scores(results["network"])["a"] == 0
    assert w["listener"].connections == 0
    # The detached child was alive while its check ran, and is gone now.
    assert scores(results["detaches"])["a"] == 1
    deadline = time.monotonic() + 5
    while processes_with(w["token"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with(w["token"]) == []
    md = (w["out"] / "reads.md").read_text()
    assert "Sandbox: bubblewrap" in md and "no network" in md

    # The same notebooks, unconfined: every attack works (so the assertions above can fail).
    status, results = grade(list(paths.values()), w["solution"].parent, w["out"],
                            "--sandbox", "none")
    assert status == 0
    assert scores(results["reads"]) == {"a": 1, "b": 1, "c": 1, "d": 1}
    assert scores(results["writes"]) == {"a": 1, "b": 1, "c": 1, "d": 1}
    assert [path for path in planted if path.exists()] == planted
    host_tmp.unlink()
    assert scores(results["network"])["a"] == 1 and w["listener"].connections >= 1
    assert processes_with(w["token"]), "without the sandbox the detached child survives"
    for result in results.values():
        assert result["extra_data"]["sandbox"].startswith("NO SANDBOX (--sandbox none)")
    assert "**⚠ NO SANDBOX" in (w["out"] / "reads.md").read_text()


@needs_bwrap
def test_limits_stop_the_notebook_and_the_grader_goes_on(world):
    w = world
    subs, token = w["submissions"], w["token"]
    memory = submission(w["solution"], subs / "memory.ipynb", a=(
        "hog = bytearray(6 * 1024**3)\n"
        "def prep_a(images):\n    return images\n"))
    processes = submission(w["solution"], subs / "processes.ipynb", a=(
        "import subprocess, sys\nchildren = [subprocess.Popen(['sleep', '60', "
        f"{token!r}]) for _ in range(300)]\n"
        "def prep_a(images):\n    return images\n"))
    cpu = submission(w["solution"], subs / "cpu.ipynb", a="while True:\n    pass\n")
    good = submission(w["solution"], subs / "good.ipynb", **{
        name: f"def prep_{name}(images):\n    return {PREP}\n" for name in EXERCISES})
    began = time.monotonic()
    status, results = grade([memory, processes, cpu, good], w["solution"].parent, w["out"],
                            "--sandbox", "bwrap", "--memory-limit", "3", "--process-limit",
                            "60", "--cpu-limit", "15")
    assert status == 0
    first = {name: result["tests"][0] for name, result in results.items()}
    assert first["memory"]["score"] == 0
    assert first["memory"]["output"].startswith("your cell for sbx-a raised MemoryError")
    assert first["processes"]["score"] == 0
    assert "raised BlockingIOError" in first["processes"]["output"], first["processes"]
    assert processes_with(token) == []
    # CPU time: the kernel is killed at 15 s of CPU, long before --timeout-cell (300 s).
    assert first["cpu"]["output"] == "your cell for sbx-a stopped the kernel (exit() or a crash)"
    assert results["cpu"]["execution_time"] < 120
    # The grader survived all three and grades the next notebook in full.
    assert results["good"]["score"] == 4, results["good"]
    assert time.monotonic() - began < 300
    assert "3 GiB address space, 60 processes, 15 s CPU" in results["good"]["extra_data"][
        "sandbox"]


# ---------------------------------------------------------------------------------------------
# Choosing the sandbox (no kernel)
# ---------------------------------------------------------------------------------------------


def fake_engine(folder: Path, name: str, status: int) -> None:
    script = folder / name
    script.write_text(f"#!/bin/sh\necho 'Cannot connect to the daemon' >&2\nexit {status}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def no_bwrap(tmp_path, monkeypatch):
    """A PATH with no bwrap, a docker client without a daemon and a podman that runs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_engine(bin_dir, "docker", 1)
    fake_engine(bin_dir, "podman", 0)
    monkeypatch.setenv("PATH", str(bin_dir))
    sandbox.bwrap_problem.cache_clear()
    sandbox.container_engine_status.cache_clear()
    yield
    sandbox.bwrap_problem.cache_clear()
    sandbox.container_engine_status.cache_clear()


def test_without_bwrap_auto_says_so_loudly_and_bwrap_is_refused(no_bwrap):
    chosen = sandbox.choose_sandbox("auto")
    assert not chosen.active
    assert chosen.description.startswith("NO SANDBOX: bubblewrap is not installed")
    assert "docker is only a client here (no engine answers)" in chosen.description
    assert "podman runs (not used to run kernels)" in chosen.description
    with pytest.raises(sandbox.SandboxUnavailable, match="--sandbox bwrap: bubblewrap is not"):
        sandbox.choose_sandbox("bwrap")
    assert not sandbox.choose_sandbox("none").active


def test_cli_refuses_bwrap_when_it_is_missing(no_bwrap, tmp_path, capsys):
    solution = write_solution(tmp_path / "solutions")
    assert main(["grade", str(tmp_path / "x.ipynb"), "--solutions", str(solution.parent),
                 "--sandbox", "bwrap", "--out", str(tmp_path / "grades")]) == 2
    assert "course: error: --sandbox bwrap: bubblewrap is not installed" in (
        capsys.readouterr().err)


def test_hidden_folders_are_mounted_back_only_where_the_kernel_needs_them(tmp_path):
    import sys

    import course

    package = Path(course.__file__).resolve().parent
    hidden = [Path(sys.prefix).resolve().parent, package / "checks", tmp_path]
    args = sandbox.wrap_command(sandbox.Sandbox("bwrap", "test", hide=tuple(hidden)),
                                ["python"], tmp_path / "work")
    pairs = list(zip(args, args[1:], strict=False))
    assert ("--tmpfs", str(hidden[0])) in pairs
    assert ("--ro-bind", str(Path(sys.prefix).resolve())) in pairs
    # course/checks is hidden again after course/ was mounted back... (a contrived case)
    last_tmpfs = max(i for i, pair in enumerate(pairs) if pair == ("--tmpfs", str(hidden[1])))
    assert last_tmpfs > max(i for i, (a, _) in enumerate(pairs) if a == "--ro-bind")
    # ...and the working folder is the one writable place, bound last.
    binds = [i for i, (a, _) in enumerate(pairs) if a == "--bind"]
    assert [pairs[i][1] for i in binds] == [str(tmp_path / "work")]
    assert "--unshare-net" in args and "--unshare-pid" in args and "--die-with-parent" in args
    assert "--clearenv" in args
