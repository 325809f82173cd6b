"""Lab 01 as a learner meets it: JupyterLab in a real (headless) Chromium, "Run All Cells".

Starts ``jupyter lab`` on a free localhost port with a token, serving a *copy* of
``labs/01_sequential_mlp.ipynb`` (JupyterLab saves outputs into the file it serves; the
repository's lab must stay clean), opens it in Debian's Chromium through Playwright for
Python (the system browser: no browser download), runs every cell from the Run menu, waits
for the first exercise's check to print its failure hint (the lab is unsolved), checks that
the lab runs on the kit's kernel (``keras-course``, installed by ``pip install``) and that no
TensorFlow C++ start-up line (``cudart_stub``, ``cpu_feature_guard``, the oneDNN notice)
appears under its setup cell, and saves a
screenshot to ``test-artifacts/lab01.png`` (git-ignored). The server, its kernels and the
browser always stop.

Skipped, with the reason, when Playwright or Chromium is missing: ``.ci/run`` installs
Debian's ``chromium``; Playwright comes with the ``dev`` extra. Set ``CHROMIUM`` to use
another Chromium binary.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from course.execute import TF_LOG_LINE

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "labs" / "01_sequential_mlp.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOT = ARTIFACTS / "lab01.png"
TOKEN = "course-browser-test-token"
HINT = "✘ preprocess: 0/1 points — "
# Flags that work on a closed network, as root, in a container (no GPU, no sandbox).
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# JupyterLab user settings: no news or update checks (no network), every cell in the DOM.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
SERVER_START_S, RUN_ALL_S = 90, 240
KIT_KERNEL = "keras-course"  # share/jupyter/kernels/keras-course, named by every lab
# TensorFlow's C++ start-up lines (absl log lines and the oneDNN notice): never under a cell.
TF_NOISE = ("cudart_stub", "cpu_feature_guard", "oneDNN custom operations",
            "absl::InitializeLog", "TF_ENABLE_ONEDNN_OPTS")
# True once the notebook's kernel is connected and idle (window.jupyterapp: expose_app_in_browser).
KERNEL_READY = """() => {
  const kernel = window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel;
  return !!kernel && kernel.connectionStatus === "connected" && kernel.status === "idle";
}"""


def _chromium() -> str | None:
    """The system Chromium: $CHROMIUM, /usr/bin/chromium, or one on the PATH."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(port: int, path: str, method: str = "GET", timeout: float = 5) -> object:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read()
    return json.loads(body) if body else None


def _start_jupyterlab(served: Path, home: Path, port: int) -> subprocess.Popen:
    """Start ``jupyter lab`` on ``served`` with isolated config, data and runtime folders."""
    settings = home / "config" / "lab" / "user-settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    # As a learner's shell: no PYTEST_CURRENT_TEST (ipykernel stops capturing file descriptors
    # under pytest, which would hide TensorFlow's C++ lines) and no TF_* variables (pytest's
    # `import course` sets them; the kernel must get them from its kernelspec).
    learner = {key: value for key, value in os.environ.items()
               if key != "PYTEST_CURRENT_TEST" and not key.startswith("TF_")}
    env = {
        **learner,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),  # no stale user kernelspec: this Python's kernel
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    args = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={served}",
            f"--IdentityProvider.token={TOKEN}", "--ServerApp.port_retries=0",
            "--LabApp.news_url=None", "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    log = open(home / "jupyterlab.log", "wb")  # closed with the process
    return subprocess.Popen(args, cwd=served, env=env, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def _wait_until_serving(server: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"jupyter lab exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            _api(port, "/api/status", timeout=2)
            return
        except (OSError, urllib.error.URLError):
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {SERVER_START_S} s:\n{log.read_text()[-3000:]}")


def _stop_jupyterlab(server: subprocess.Popen, port: int) -> None:
    """Shut the kernels and the server down; kill the process group if it lingers."""
    if server.poll() is None:
        try:
            _api(port, "/api/shutdown", method="POST", timeout=10)
        except (OSError, urllib.error.URLError):
            pass
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
    try:  # kernels are in the server's session: stop any that outlived it
        os.killpg(server.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _served_copy(tmp_path: Path) -> Path:
    """A folder holding a copy of the lab for JupyterLab to serve (and no old screenshot)."""
    served = tmp_path / "labs"
    served.mkdir()
    shutil.copy2(LAB, served / LAB.name)
    ARTIFACTS.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    return served


def _assert_quiet_setup(page, port: int) -> None:
    """The lab runs on the kit's kernel, and its setup cell shows no TensorFlow C++ line."""
    kernels = [session["kernel"]["name"] for session in _api(port, "/api/sessions")]
    assert kernels == [KIT_KERNEL], f"the lab's kernel: {kernels}"
    setup = page.locator(".jp-CodeCell", has=page.locator(
        ".jp-InputArea", has_text="check_setup(seed=42)")).first
    output = setup.locator(".jp-OutputArea").inner_text()
    assert "TensorFlow" in output, f"the setup cell printed no versions: {output!r}"
    noise = [line for line in output.splitlines()
             if TF_LOG_LINE.match(line) or any(word in line for word in TF_NOISE)]
    assert noise == [], "TensorFlow's C++ start-up lines under the setup cell:\n" + output


def _run_all_cells(page) -> None:
    """In the open lab: wait for the kernel, Run ▸ Run All Cells as a learner would, check the
    first exercise's hint and where the run stops, and save the screenshot."""
    notebook = page.locator(".jp-NotebookPanel").first
    notebook.wait_for(state="visible", timeout=120_000)
    page.locator(".jp-Notebook-cell").first.wait_for(state="visible")
    # Run All before the kernel's websocket is connected runs nothing: wait for it.
    page.wait_for_function(KERNEL_READY, timeout=120_000)

    # Run ▸ Run All Cells, as a learner would.
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

    hint = page.locator(".jp-OutputArea-output", has_text=HINT.strip()).first
    hint.wait_for(state="visible", timeout=RUN_ALL_S * 1000)
    text = hint.inner_text()
    assert HINT in text, text
    assert "None" in text, text  # the hint says why: the unsolved function returns None
    # The run goes on to the next checks and stops at the first unimplemented function.
    page.locator(".jp-OutputArea-output", has_text="NotImplementedError").first.wait_for(
        state="visible", timeout=RUN_ALL_S * 1000)
    assert page.locator(".jp-OutputArea-output",
                        has_text="✘ make_dataset: 0/2 points").count() == 1

    hint.scroll_into_view_if_needed()
    page.mouse.wheel(0, -250)  # show the exercise's code above its check
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOT))


def test_run_all_cells_of_lab01_in_chromium_shows_the_first_hint(tmp_path):
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="Playwright for Python is not installed (`pip install -e \".[dev]\"` brings it)")
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no Chromium found (/usr/bin/chromium or $CHROMIUM); on Debian or Ubuntu: "
                    "`apt-get install chromium` (.ci/run does this)")

    before = hashlib.sha256(LAB.read_bytes()).hexdigest()
    served = _served_copy(tmp_path)

    port = _free_port()
    server = _start_jupyterlab(served, tmp_path, port)
    playwright = context = None
    try:
        _wait_until_serving(server, port, tmp_path / "jupyterlab.log")
        playwright = sync_api.sync_playwright().start()
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a new, empty profile
            executable_path=chromium, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"http://127.0.0.1:{port}/lab/tree/{LAB.name}?token={TOKEN}")
        try:
            _run_all_cells(page)
            _assert_quiet_setup(page, port)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "lab01-failure.png"))
            raise
    finally:
        if context is not None:
            context.close()
        if playwright is not None:
            playwright.stop()
        _stop_jupyterlab(server, port)

    assert server.poll() is not None, "the server stopped"
    assert SCREENSHOT.stat().st_size > 10_000
    after = hashlib.sha256(LAB.read_bytes()).hexdigest()
    assert after == before, "the repository's lab file was modified"
