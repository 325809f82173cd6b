"""Lab 01 as a learner meets it: JupyterLab in a real (headless) Chromium, in English and Chinese.

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

The Chinese edition the same way: a copy of ``labs/zh/01_sequential_mlp.ipynb`` in a JupyterLab
whose user settings select the Simplified Chinese language pack (the ``zh`` extra, in ``dev``);
the menu bar reads 文件 / 编辑 / 查看 / 运行 / 内核; the setup cell, the first exercise and its
check run from 运行 ▸ 运行选中的单元格; the check prints its failure line in Chinese
(``✘ preprocess：0/1 分 — …``); the setup cell shows no TensorFlow C++ line; the screenshot is
``test-artifacts/lab01-zh.png``. A missing ``labs/zh`` lab fails the test (``course
build-labs`` writes it); a missing browser skips it.

Skipped, with the reason, when Playwright or Chromium is missing: ``.ci/run`` installs
Debian's ``chromium``; Playwright comes with the ``dev`` extra. Set ``CHROMIUM`` to use
another Chromium binary.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
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
LAB_ZH = ROOT / "labs" / "zh" / "01_sequential_mlp.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOT = ARTIFACTS / "lab01.png"
SCREENSHOT_ZH = ARTIFACTS / "lab01-zh.png"
TOKEN = "course-browser-test-token"
HINT = "✘ preprocess: 0/1 points — "
# The Chinese check line: full-width colon, 分 for points, and a Chinese hint after the dash.
HINT_ZH = "✘ preprocess：0/1 分 — "
CJK = re.compile(r"[\u4e00-\u9fff]")
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
# ... and the interface in Simplified Chinese (Settings ▸ Language ▸ 中文, stored here).
LAB_SETTINGS_ZH = {
    **LAB_SETTINGS,
    "@jupyterlab/translation-extension/plugin.jupyterlab-settings": {"locale": "zh_CN"},
}
# jupyterlab-language-pack-zh-CN's main menu (menu\x04File …) and Run ▸ Run Selected Cell.
MENU_ZH = ("文件", "编辑", "查看", "运行", "内核")
RUN_ZH = "运行"
RUN_SELECTED_ZH = re.compile(r"^运行选中的单元格(\s|$)")  # its name ends with "Shift+Enter"
# The kit's Chinese plot font (a GB 2312 subset of Noto Sans CJK SC): without a CJK font the
# screenshots would show the Chinese as empty boxes (the DOM text is the same either way).
CJK_FONTS = ROOT / "course" / "resources" / "fonts"
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


def _start_jupyterlab(served: Path, home: Path, port: int,
                      user_settings: dict[str, dict] = LAB_SETTINGS) -> subprocess.Popen:
    """Start ``jupyter lab`` on ``served`` with isolated config, data and runtime folders."""
    settings = home / "config" / "lab" / "user-settings"
    for name, values in user_settings.items():
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


def _fontconfig(home: Path) -> Path:
    """A fontconfig file: the system's fonts and the kit's CJK font, for Chromium."""
    path = home / "fonts.conf"
    path.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>{CJK_FONTS}</dir>
  <cachedir>{home / "fontconfig-cache"}</cachedir>
</fontconfig>
""")
    return path


def _served_copy(tmp_path: Path, lab: Path, screenshot: Path) -> Path:
    """A folder holding a copy of ``lab`` for JupyterLab to serve (and no old screenshot)."""
    served = tmp_path / "labs"
    served.mkdir()
    shutil.copy2(lab, served / lab.name)
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot.unlink(missing_ok=True)
    return served


def _assert_quiet_setup(page, port: int) -> None:
    """The lab runs on the kit's kernel, and its setup cell shows no TensorFlow C++ line."""
    kernels = [session["kernel"]["name"] for session in _api(port, "/api/sessions")]
    assert kernels == [KIT_KERNEL], f"the lab's kernel: {kernels}"
    setup = _code_cell(page, "check_setup(seed=42")  # language="zh" in the Chinese lab
    output = setup.locator(".jp-OutputArea").inner_text()
    assert "TensorFlow" in output, f"the setup cell printed no versions: {output!r}"
    noise = [line for line in output.splitlines()
             if TF_LOG_LINE.match(line) or any(word in line for word in TF_NOISE)]
    assert noise == [], "TensorFlow's C++ start-up lines under the setup cell:\n" + output


def _code_cell(page, source: str):
    """The first code cell whose source contains ``source``."""
    return page.locator(".jp-CodeCell", has=page.locator(".jp-InputArea", has_text=source)).first


def _wait_for_kernel(page) -> None:
    """The notebook is shown and its kernel connected: running a cell before that runs nothing."""
    page.locator(".jp-NotebookPanel").first.wait_for(state="visible", timeout=120_000)
    page.locator(".jp-Notebook-cell").first.wait_for(state="visible")
    page.wait_for_function(KERNEL_READY, timeout=120_000)


def _screenshot_at(page, output, path: Path) -> None:
    """Save a screenshot showing ``output`` with the exercise's code above it."""
    output.scroll_into_view_if_needed()
    page.mouse.wheel(0, -250)  # show the exercise's code above its check
    page.wait_for_timeout(500)
    page.screenshot(path=str(path))


def _run_all_cells(page) -> None:
    """In the open lab: wait for the kernel, Run ▸ Run All Cells as a learner would, check the
    first exercise's hint and where the run stops, and save the screenshot."""
    _wait_for_kernel(page)

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

    _screenshot_at(page, hint, SCREENSHOT)


def _run_first_check_in_chinese(page) -> None:
    """In the open Chinese lab: the menu bar is Chinese; run the setup cell, the first exercise
    and its check with 运行 ▸ 运行选中的单元格; the check line is Chinese; save the screenshot."""
    menubar = page.locator("#jp-menu-panel")
    for title in MENU_ZH:  # the main menu's titles, translated
        menubar.get_by_role("menuitem", name=title, exact=True).wait_for(state="visible")
    assert menubar.get_by_role("menuitem", name="File", exact=True).count() == 0
    _wait_for_kernel(page)

    for source in ("check_setup(seed=42", "def preprocess(images)",
                   "checks.preprocess(preprocess)"):
        _code_cell(page, source).locator(".jp-InputPrompt").click()  # select it, command mode
        menubar.get_by_role("menuitem", name=RUN_ZH, exact=True).click()
        page.locator(".lm-Menu").get_by_role("menuitem", name=RUN_SELECTED_ZH).click()

    check = _code_cell(page, "checks.preprocess(preprocess)")
    # Any check line first, so that an English one fails here with its text, not a timeout.
    hint = check.locator(".jp-OutputArea-output", has_text="✘ preprocess").first
    hint.wait_for(state="visible", timeout=RUN_ALL_S * 1000)
    text = hint.inner_text()
    assert HINT_ZH in text, text
    assert CJK.search(text.split(HINT_ZH, 1)[1]), f"the hint is not in Chinese: {text!r}"
    assert "None" in text, text  # the hint says why: the unsolved function returns None
    assert "points" not in text, text
    _screenshot_at(page, hint, SCREENSHOT_ZH)


def _browser() -> tuple[object, str]:
    """Playwright's sync API and the system Chromium; skip, with the reason, without them."""
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="Playwright for Python is not installed (`pip install -e \".[dev]\"` brings it)")
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no Chromium found (/usr/bin/chromium or $CHROMIUM); on Debian or Ubuntu: "
                    "`apt-get install chromium` (.ci/run does this)")
    return sync_api, chromium


@contextlib.contextmanager
def _lab_in_chromium(tmp_path: Path, lab: Path, screenshot: Path,
                     user_settings: dict[str, dict] = LAB_SETTINGS):
    """Serve a copy of ``lab`` in JupyterLab, open it in Chromium and yield ``(page, port)``.

    A failure saves ``<screenshot>-failure.png``; the browser, the server and its kernels
    always stop. Afterwards: the server stopped, the screenshot was saved, ``lab`` unchanged.
    """
    sync_api, chromium = _browser()
    before = hashlib.sha256(lab.read_bytes()).hexdigest()
    served = _served_copy(tmp_path, lab, screenshot)

    port = _free_port()
    server = _start_jupyterlab(served, tmp_path, port, user_settings)
    playwright = context = None
    try:
        _wait_until_serving(server, port, tmp_path / "jupyterlab.log")
        playwright = sync_api.sync_playwright().start()
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a new, empty profile
            executable_path=chromium, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
            env={**os.environ, "FONTCONFIG_FILE": str(_fontconfig(tmp_path))},
        )
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"http://127.0.0.1:{port}/lab/tree/{lab.name}?token={TOKEN}")
        try:
            yield page, port
        except Exception:
            page.screenshot(path=str(screenshot.with_name(f"{screenshot.stem}-failure.png")))
            raise
    finally:
        if context is not None:
            context.close()
        if playwright is not None:
            playwright.stop()
        _stop_jupyterlab(server, port)

    assert server.poll() is not None, "the server stopped"
    assert screenshot.stat().st_size > 10_000
    after = hashlib.sha256(lab.read_bytes()).hexdigest()
    assert after == before, "the repository's lab file was modified"


def test_run_all_cells_of_lab01_in_chromium_shows_the_first_hint(tmp_path):
    with _lab_in_chromium(tmp_path, LAB, SCREENSHOT) as (page, port):
        _run_all_cells(page)
        _assert_quiet_setup(page, port)


def test_chinese_lab01_in_chinese_jupyterlab_prints_a_chinese_check_line(tmp_path):
    # A deliverable, not an optional extra: fail (never skip) when it is missing.
    assert LAB_ZH.is_file(), (f"{LAB_ZH.relative_to(ROOT)} is missing: `course build-labs` "
                              "writes the Chinese labs from solutions/zh/")
    with _lab_in_chromium(tmp_path, LAB_ZH, SCREENSHOT_ZH, LAB_SETTINGS_ZH) as (page, port):
        _run_first_check_in_chinese(page)
        _assert_quiet_setup(page, port)
