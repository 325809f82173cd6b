"""``course grade --gradescope-bundle``: the autograder zip, and its ``run_autograder`` run
against a folder laid out as Gradescope's ``/autograder`` (the current virtualenv's Python
standing in for what ``setup.sh`` installs)."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import venv
import zipfile
from pathlib import Path

import pytest
import small_lab

from course.cli import main
from course.grading import gradescope

ROOT = Path(__file__).resolve().parent.parent


def unpack(bundle: Path, root: Path) -> Path:
    """Lay ``root`` out as Gradescope does: the zip in ``source/`` (modes kept, as ``unzip``
    keeps them), ``run_autograder`` copied to the root, ``submission/`` and ``results/``."""
    source = root / "source"
    with zipfile.ZipFile(bundle) as archive:
        for info in archive.infolist():
            target = source / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            target.chmod((info.external_attr >> 16) & 0o777)
    shutil.copy2(source / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    return root


def test_bundle_layout(tmp_path, capsys):
    bundle = tmp_path / "out" / "autograder.zip"
    assert main(["grade", "--gradescope-bundle", str(bundle), "--timeout-cell", "120",
                 "--timeout-total", "900"]) == 0
    assert "wrote" in capsys.readouterr().out
    with zipfile.ZipFile(bundle) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        text = {name: archive.read(name).decode() for name in
                ("setup.sh", "run_autograder", "Dockerfile")}
    names = set(infos)
    assert {"setup.sh", "run_autograder", "Dockerfile", "pyproject.toml", "README.md",
            "course/__init__.py", "course/cli.py", "course/grading/gradescope.py",
            "course/checks/lab01.py", "course/resources/mnist_sample.npz"} <= names
    licences = {p.name for p in ROOT.glob("LICEN[CS]E*")}
    assert licences <= names
    solutions = {f"solutions/{p.name}" for p in (ROOT / "solutions").glob("*.ipynb")}
    assert solutions and {n for n in names if n.startswith("solutions/")} == solutions
    assert {n.split("/")[0] for n in names} <= {
        "setup.sh", "run_autograder", "Dockerfile", "pyproject.toml", "README.md", "course",
        "solutions"} | licences
    for name in names:  # no caches, no virtualenv, no build leftovers, no hidden files
        assert "__pycache__" not in name and not name.endswith((".pyc", ".pyo")), name
        assert ".egg-info" not in name and "venv" not in name.split("/")[0], name
        assert not any(part.startswith(".") for part in name.split("/")), name

    for name, info in infos.items():
        mode = info.external_attr >> 16
        assert stat.S_ISREG(mode), name
        expected = 0o755 if name in ("setup.sh", "run_autograder") else 0o644
        assert stat.S_IMODE(mode) == expected, (name, oct(mode))
    for name in ("setup.sh", "run_autograder"):
        assert text[name].startswith("#!/usr/bin/env bash\n"), name
        assert "\r" not in text[name]
        if shutil.which("bash"):
            subprocess.run(["bash", "-n", "-c", text[name]], check=True)  # it parses
    assert "--timeout-cell 120 --timeout-total 900" in text["run_autograder"]
    assert 'pip install --no-cache-dir "$here"' in text["setup.sh"]
    assert "bubblewrap" in text["setup.sh"]  # the sandbox, where the container allows it
    requires = re.search(r'requires-python = ">=(\d+)\.(\d+)"',
                         (ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert requires and gradescope.MIN_PYTHON == tuple(map(int, requires.groups()))
    assert f"sys.version_info < {gradescope.MIN_PYTHON}" in text["setup.sh"]
    assert "setup.sh" in text["Dockerfile"] and "/autograder/run_autograder" in text["Dockerfile"]

    again = tmp_path / "again.zip"  # the same kit gives the same bytes
    gradescope.build_bundle(again, ROOT / "solutions", timeout_cell=120, timeout_total=900)
    assert again.read_bytes() == bundle.read_bytes()



def _setup_checks(setup_sh: str) -> str:
    """setup.sh's lines after its last ``pip install``: its checks of what it installed."""
    lines = setup_sh.splitlines()
    last = max(i for i, line in enumerate(lines) if "pip install" in line)
    return "\n".join(["set -euo pipefail", f'venv="${gradescope.VENV_ENV}"', *lines[last + 1:]])


@pytest.mark.skipif(shutil.which("bash") is None, reason="setup.sh is a bash script")
def test_setup_checks_the_installed_kit_not_the_source_folder(tmp_path):
    """Gradescope runs setup.sh from /autograder/source, whose course/ must not stand in for
    the kit the virtualenv installed (a wheel missing a file passed the checks that way)."""
    purelib = Path(sysconfig.get_paths()["purelib"])
    if (purelib / "course").is_dir():
        pytest.skip("the kit is installed into this environment (not editable): it would "
                    "stand in for the one setup.sh installs")
    bundle = tmp_path / "autograder.zip"
    gradescope.build_bundle(bundle, ROOT / "solutions", timeout_cell=60, timeout_total=600)
    source = unpack(bundle, tmp_path / "autograder") / "source"
    with zipfile.ZipFile(bundle) as archive:
        checks = _setup_checks(archive.read("setup.sh").decode())
    # The virtualenv setup.sh would make, on this Python, with this environment's packages
    # (a .pth line: their own .pth files, this checkout's editable kit among them, are not read)
    kit_venv = tmp_path / "venv"
    venv.create(kit_venv, with_pip=False, symlinks=os.name != "nt")
    site = Path(subprocess.run(
        [str(kit_venv / "bin" / "python"), "-c", "import sysconfig; "
         "print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    (site / "deps.pth").write_text(f"{purelib}\n", encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env[gradescope.VENV_ENV] = str(kit_venv)

    def run_checks() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", checks], cwd=source, env=env, capture_output=True,
                              text=True, timeout=300)

    missing = run_checks()  # the kit not installed: the image build must fail
    assert missing.returncode != 0, missing.stdout
    assert "No module named 'course'" in missing.stderr
    (site / "kit.pth").write_text(f"{source}\n", encoding="utf-8")  # installed
    done = run_checks()
    assert done.returncode == 0, done.stderr
    assert "(verified)" in done.stdout


def test_bundle_source_builds_the_kit_wheel(tmp_path):
    """The bundle's source folder is what setup.sh's ``pip install`` builds with hatchling:
    every file of ``course/`` and the kernelspec (shared-data) are in the wheel."""
    pytest.importorskip("hatchling", reason="hatchling builds the kit's wheel (pyproject.toml)")
    bundle = tmp_path / "autograder.zip"
    gradescope.build_bundle(bundle, ROOT / "solutions", timeout_cell=60, timeout_total=600)
    source = unpack(bundle, tmp_path / "autograder") / "source"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", str(tmp_path / "wheels"), str(source)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    [wheel] = (tmp_path / "wheels").glob("keras_course_kit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    with zipfile.ZipFile(bundle) as archive:
        kit = {name for name in archive.namelist() if name.startswith("course/")}
    assert kit and kit <= names, sorted(kit - names)
    assert any(name.endswith(".data/data/share/jupyter/kernels/keras-course/kernel.json")
               for name in names), sorted(names)


def test_bundle_refuses_paths_and_needs_solutions(tmp_path, capsys):
    bundle = tmp_path / "a.zip"
    assert main(["grade", "x.ipynb", "--gradescope-bundle", str(bundle)]) == 2
    assert "grades nothing" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["grade", "--gradescope-bundle", str(bundle), "--solutions", str(empty)]) == 2
    assert "no solution notebooks" in capsys.readouterr().err
    assert not bundle.exists()


@pytest.fixture
def outside_tmp(tmp_path):
    """A temporary folder outside /tmp when possible: a sandboxed kernel gets a /tmp of its
    own, so it could not read the bundle's kit there (as it reads /autograder/source)."""
    base = Path("/var/tmp")
    if not (base.is_dir() and os.access(base, os.W_OK)):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="course-autograder-test-", dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_run_autograder_scores_the_solution_full(tmp_path, outside_tmp):
    solution = small_lab.write_solution(tmp_path / "kit-solutions")
    bundle = tmp_path / "autograder.zip"
    assert main(["grade", "--gradescope-bundle", str(bundle), "--solutions",
                 str(solution.parent), "--timeout-cell", "60"]) == 0
    root = unpack(bundle, outside_tmp / "autograder")
    shutil.copy(solution, root / "submission" / "80_mini.ipynb")
    (root / "submission" / "notes.ipynb").write_text("not a notebook", encoding="utf-8")

    env = {
        **os.environ,
        gradescope.ROOT_ENV: str(root),
        gradescope.VENV_ENV: str(tmp_path / "no-venv"),  # not set up: python3 on the PATH
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(root / "source"),  # the bundle's copy of the kit, not this checkout
    }
    done = subprocess.run([str(root / "run_autograder")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    result = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert result["score"] == small_lab.POINTS and result["max_score"] == small_lab.POINTS
    [test] = result["tests"]
    assert test["name"] == small_lab.EXERCISE and test["status"] == "passed"
    assert test["score"] == test["max_score"] == small_lab.POINTS
    assert result["extra_data"]["notebook"] == "submission/80_mini.ipynb"
    assert "notes.ipynb: not graded" in result["output"]
    assert isinstance(result["execution_time"], int | float)


def test_run_autograder_without_a_notebook_scores_0(tmp_path, monkeypatch):
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "submission" / "lab.py").write_text("print(1)\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert gradescope.main(["--root", str(root), "--solutions", str(tmp_path)]) == 0
    result = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert result["score"] == 0 and result["tests"] == []
    assert "no Jupyter notebook" in result["output"]


@pytest.mark.parametrize(("names", "found"), [
    (["a.ipynb", "b/c.ipynb", ".ipynb_checkpoints/a-checkpoint.ipynb", "__MACOSX/._a.ipynb"],
     ["a.ipynb", "b/c.ipynb"]),
    ([], []),
])
def test_submitted_notebooks_skip_checkpoints_and_mac_forks(tmp_path, names, found):
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}", encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix()
            for p in gradescope.submitted_notebooks(tmp_path)] == found
