"""``course doctor``: is this machine ready for the labs? One line per fact, one sentence per fix.

Checks, in order: Python, TensorFlow and Keras versions (the minimums of ``course.env``),
the Keras backend and the devices TensorFlow sees (a GPU is reported, never required), the
bundled MNIST sample (SHA-256), whether full MNIST is cached and verified (optional),
JupyterLab and TensorBoard.

Only a real problem — a version below the minimum, TensorFlow that does not start, Keras on
another backend, a missing or corrupt bundled sample, JupyterLab or TensorBoard missing —
makes the exit status non-zero. No GPU, no full MNIST and a corrupt full-MNIST cache are
reported, not failed: every lab runs on a CPU with the bundled sample.

TensorFlow is never imported in this process: it starts in a child process (a few seconds),
launched first so that the other checks run meanwhile, with a timeout so that a hung GPU
driver cannot hang the doctor, and with its C++ start-up lines kept off the terminal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from course import env

OK, INFO, WARN, FAIL = "ok", "info", "warn", "fail"
MARKS = {OK: "✔", INFO: "·", WARN: "!", FAIL: "✘"}
PROBE_TIMEOUT_S = 60.0
LABELS = {"python": "Python", "tensorflow": "TensorFlow", "keras": "Keras"}

# Run in a child process: imports TensorFlow, lists its devices, reads Keras' backend.
PROBE = """
import json
import course  # quiets TensorFlow's C++ start-up lines, as in the labs
from course.env import devices
result = {"devices": devices()}
try:
    import keras
    result["backend"] = keras.config.backend()
except Exception as exc:
    result["backend_error"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(result))
"""


@dataclass(frozen=True)
class Finding:
    """One line of the report: a status (ok, info, warn, fail) and its text."""

    status: str
    text: str

    def line(self) -> str:
        """The printed line, e.g. ``✔ Python 3.11.7 (needs >= 3.11)``."""
        from course.i18n import tr

        return f"{MARKS[self.status]} {tr(self.text)}"


@dataclass(frozen=True)
class ProbeResult:
    """What the TensorFlow child process reported (``error`` set when it failed)."""

    devices: str = ""
    backend: str = ""
    error: str = ""


# --- the checks ------------------------------------------------------------------------------


def check_versions(found: dict[str, str]) -> list[Finding]:
    """One finding per package, failing with :func:`course.env.check_versions`' sentence."""
    findings = []
    for name, minimum in env.MINIMUM.items():
        need = ".".join(map(str, minimum))
        # Judge this package alone: the others are set to their minimums.
        alone = {other: ".".join(map(str, m)) for other, m in env.MINIMUM.items()}
        alone[name] = found.get(name, "missing")
        try:
            env.check_versions(alone)
        except env.SetupError as exc:
            findings.append(Finding(FAIL, str(exc)))
        else:
            findings.append(Finding(OK, f"{LABELS[name]} {found[name]} (needs >= {need})"))
    return findings


def start_probe(python: str = sys.executable) -> subprocess.Popen[str]:
    """Start the TensorFlow probe in a child process (it runs while the other checks do)."""
    return subprocess.Popen(
        [python, "-c", PROBE], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def finish_probe(process: subprocess.Popen[str], timeout: float = PROBE_TIMEOUT_S) -> ProbeResult:
    """Wait for the probe; return its devices and backend, or the one-sentence reason it failed."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return ProbeResult(error=(
            f"TensorFlow did not start within {timeout:g} s, usually because of a hung GPU "
            "driver; try `CUDA_VISIBLE_DEVICES= course doctor` (no GPU), or "
            "`course doctor --timeout 180` on a very busy machine."
        ))
    lines = out.strip().splitlines()
    if process.returncode == 0 and lines:
        try:
            result = json.loads(lines[-1])
        except json.JSONDecodeError:
            result = None
        if isinstance(result, dict):
            if "backend_error" in result:
                return ProbeResult(devices=result["devices"], error=(
                    f"Keras does not import ({result['backend_error']}); if KERAS_BACKEND or "
                    "~/.keras/keras.json names another backend, set it to \"tensorflow\", else "
                    "run `pip install -e .` in the kit's folder."
                ))
            return ProbeResult(devices=result["devices"], backend=result["backend"])
    reason = _last_error_line(err) or f"exit status {process.returncode}"
    return ProbeResult(error=(
        f"TensorFlow is installed but does not start ({reason}); run `pip install -e .` in the "
        "kit's folder, and see TROUBLESHOOTING.md if it still fails."
    ))


def _last_error_line(stderr: str) -> str:
    """The exception line of a traceback (``ImportError: ...``), without C++ log lines."""
    for line in reversed(stderr.strip().splitlines()):
        line = line.strip()
        if line and ("Error" in line.split(":")[0] or "Exception" in line.split(":")[0]):
            return line.rstrip(".")
    return ""


def check_devices(probe: ProbeResult | None) -> list[Finding]:
    """The Keras backend and the devices: a GPU is reported, never required."""
    if probe is None:
        return [Finding(INFO, "Devices: not checked (TensorFlow is not installed)")]
    if probe.error:
        found = [Finding(OK, f"Devices: {probe.devices}")] if probe.devices else []
        return found + [Finding(FAIL, probe.error)]
    findings = [Finding(OK, f"Devices: {probe.devices}")]
    if probe.backend != "tensorflow":
        findings.append(Finding(FAIL, (
            f"Keras runs on the {probe.backend!r} backend but the labs need 'tensorflow'; unset "
            "KERAS_BACKEND (or set \"backend\": \"tensorflow\" in ~/.keras/keras.json) and "
            "restart."
        )))
    return findings


def check_sample() -> Finding:
    """The bundled MNIST sample is present and its SHA-256 matches (a real problem if not)."""
    from course import data

    try:
        data.load_mnist("sample")
    except data.DataError as exc:
        return Finding(FAIL, str(exc))
    return Finding(OK, f"Data: bundled MNIST sample verified (SHA-256 {data.SAMPLE_SHA256[:12]}…)")


def check_full_mnist(cache_dir: str | os.PathLike | None = None) -> Finding:
    """Whether full MNIST is cached and verified: optional, so never a failure."""
    from course import data

    path = data.full_cache_path(cache_dir)
    if not path.is_file():
        return Finding(INFO, "Full MNIST: not cached (optional; `course data --full` downloads "
                             "it once, 11 MB)")
    if data.sha256_of(path) != data.FULL_SHA256:
        return Finding(WARN, f"Full MNIST at {path} is corrupt (its SHA-256 does not match); "
                             "`course data --full` downloads it again.")
    return Finding(OK, f"Full MNIST: cached and verified ({path})")


def check_tools(version: Callable[[str], str] = metadata.version) -> list[Finding]:
    """JupyterLab (to open the labs) and TensorBoard (Labs 01 and 04 log to it)."""
    findings = []
    for package, label, purpose in (("jupyterlab", "JupyterLab", "to open the labs"),
                                    ("tensorboard", "TensorBoard", "for Labs 01 and 04")):
        try:
            findings.append(Finding(OK, f"{label} {version(package)}"))
        except metadata.PackageNotFoundError:
            findings.append(Finding(FAIL, f"{label} is not installed but is needed {purpose}; "
                                          "run `pip install -e .` in the kit's folder."))
    return findings


# --- the report ------------------------------------------------------------------------------


def run(
    cache_dir: str | os.PathLike | None = None,
    timeout: float = PROBE_TIMEOUT_S,
    out: Callable[[str], None] = print,
) -> int:
    """Check everything, print the report through ``out``; return 0, or 1 for a real problem."""
    from course.i18n import tr

    start = time.monotonic()
    found = env.versions()
    process = start_probe() if found.get("tensorflow", "missing") != "missing" else None
    out(tr("Checking your setup for the Keras Course Kit (TensorFlow takes a few seconds to "
           "start)…"))
    findings = check_versions(found)
    data_findings = [check_sample(), check_full_mnist(cache_dir)]
    tool_findings = check_tools()
    findings += check_devices(finish_probe(process, timeout) if process else None)
    findings += data_findings + tool_findings
    for finding in findings:
        out(finding.line())
    problems = sum(f.status == FAIL for f in findings)
    took = f"(checked in {time.monotonic() - start:.1f} s)"
    if problems:
        found = (f"1 problem found {took}" if problems == 1
                 else f"{problems} problems found {took}")  # whole phrases: each translates
        out(tr(f"{found}: fix each line marked {MARKS[FAIL]}, then run `course doctor` again."))
        return 1
    out(tr(f"Ready {took}: run `jupyter lab labs/` and open 01_sequential_mlp.ipynb."))
    return 0


def main(cache_dir: str | Path | None = None, timeout: float = PROBE_TIMEOUT_S) -> int:
    """Run the doctor on the terminal (``course doctor``); return the exit status."""
    return run(cache_dir=cache_dir, timeout=timeout, out=lambda line: print(line, flush=True))
