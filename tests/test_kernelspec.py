"""The kit's quiet kernel ("Python 3 (Keras Course Kit)") and the Pythons the kit promises.

The kernelspec ``course/kernelspec/kernel.json`` is installed as
``share/jupyter/kernels/keras-course/kernel.json`` into the
environment by ``pip install`` and ``pip install -e .`` (hatchling ``shared-data``, as ipykernel
installs its own; setuptools' ``data-files`` are skipped by editable installs). It
sets TensorFlow's logging variables before Python starts and, like the kernels that store and
check the solutions' outputs, does not capture file descriptors 1 and 2: TensorFlow's C++
start-up lines written before ``absl::InitializeLog`` ignore ``TF_CPP_MIN_LOG_LEVEL`` (measured
with TF 2.21: ``cudart_stub`` still prints at level 3), so they go to the terminal that runs
Jupyter, never under a learner's setup cell. Every notebook names it, with ``language:
python`` so that a Jupyter without it falls back to its only Python kernel (JupyterLab) or to
``python3`` (Colab).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import tomllib

from course.execute import KERNEL_EXTRA_ARGUMENTS

ROOT = Path(__file__).resolve().parent.parent
KERNEL_NAME = "keras-course"
KERNEL_DIR = Path("share/jupyter/kernels") / KERNEL_NAME  # where pip installs it
SPEC_FILE = ROOT / "course" / "kernelspec" / "kernel.json"  # its source, shipped in the package
NOTEBOOKS = sorted((ROOT / "solutions").glob("*.ipynb")) + sorted((ROOT / "labs").glob("*.ipynb"))


def _spec() -> dict:
    return json.loads(SPEC_FILE.read_text(encoding="utf-8"))


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_kernel_env_is_what_import_course_sets():
    """One setting, two places: the kernel's env equals what ``import course`` defaults."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TF_")}
    code = ("import json, os, course; "
            "print(json.dumps({k: v for k, v in os.environ.items() if k.startswith('TF_')}))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    assert _spec()["env"] == json.loads(out)
    assert set(_spec()["env"]) == {"TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS"}


def test_kernel_runs_this_environments_ipykernel():
    spec = _spec()
    # "python" is replaced by the server's own interpreter (jupyter_client), as in ipykernel's.
    # No fd capture, as for the kernels that store and check outputs: TensorFlow's C++ lines
    # written before absl::InitializeLog ignore TF_CPP_MIN_LOG_LEVEL, and stay off the page.
    assert spec["argv"] == ["python", "-m", "ipykernel_launcher", *KERNEL_EXTRA_ARGUMENTS,
                            "-f", "{connection_file}"]
    assert spec["language"] == "python"
    assert spec["display_name"] == "Python 3 (Keras Course Kit)"


def test_pip_installs_the_kernelspec_as_shared_data():
    wheel = _pyproject()["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["shared-data"] == {"course/kernelspec": KERNEL_DIR.as_posix()}
    assert sorted(p.name for p in SPEC_FILE.parent.iterdir()) == ["kernel.json"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_notebook_names_the_quiet_kernel_with_a_python_fallback(path):
    kernelspec = nbformat.read(path, as_version=4).metadata["kernelspec"]
    assert kernelspec == {"name": KERNEL_NAME, "display_name": _spec()["display_name"],
                          "language": "python"}


def test_the_installed_kernel_is_the_repositorys_and_starts_quiet():
    """After ``pip install -e .`` Jupyter finds the kernel in this environment, with its env."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    from jupyter_client.manager import start_new_kernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        pytest.fail(f"no {KERNEL_NAME!r} kernel in {sys.prefix}: reinstall the kit "
                    "(`pip install -e .`)")
    assert Path(spec.resource_dir).resolve() == (Path(sys.prefix) / KERNEL_DIR).resolve()
    assert spec.env == _spec()["env"]

    clean = {key: value for key, value in os.environ.items() if not key.startswith("TF_")}
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(clean)  # the kernel's TF_ variables can only come from its spec
    try:
        km, kc = start_new_kernel(kernel_name=KERNEL_NAME, startup_timeout=60)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        seen: list[str] = []
        kc.execute_interactive(
            "import os, sys; os.write(2, b'C++ noise on fd 2\\n'); "
            "print(sys.executable, os.environ.get('TF_CPP_MIN_LOG_LEVEL'), "
            "os.environ.get('TF_ENABLE_ONEDNN_OPTS'))",
            output_hook=lambda msg: seen.append(msg["content"].get("text", "")), timeout=60)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert "".join(seen).split() == [sys.executable, "2", "0"]  # and no fd-2 line


def test_the_proven_pythons_are_the_promised_ones():
    """.ci/pythons proves the ends of requires-python's range; the README names the same."""
    floor = re.fullmatch(r">=(3\.\d+)", _pyproject()["project"]["requires-python"]).group(1)
    proven = re.search(r"^PROVEN_PYTHONS=\((.+)\)$", (ROOT / ".ci/pythons").read_text(),
                       re.M).group(1).split()
    assert proven[0] == floor and len(proven) == 2
    assert "bash .ci/pythons" in (ROOT / ".ci/run").read_text()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"Python {floor} or newer" in readme
    assert f"proves Python {proven[0]} and {proven[1]}" in readme
