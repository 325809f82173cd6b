"""Grade on Gradescope, or any container runner: ``course grade --gradescope-bundle PATH.zip``.

Gradescope's autograder specification: a zip whose root holds ``setup.sh`` (run once, as
root, on an Ubuntu image when the autograder image is built) and ``run_autograder`` (copied
to ``/autograder/run_autograder`` and run once per submission, from ``/autograder``, with the
submission in ``/autograder/submission/``; it must write ``/autograder/results/results.json``
with ``score``, ``tests``...). The zip is extracted to ``/autograder/source``.

The bundle carries the kit's source (``course/``, the ``solutions/`` that define the labs,
``pyproject.toml``, ``README.md``, a licence file if there is one; never caches or a
virtualenv), ``setup.sh`` (Python and the kit into the virtualenv :data:`DEFAULT_VENV`),
``run_autograder`` (``python -m`` this module) and a ``Dockerfile`` that builds the same image
from ``setup.sh``, so that any container runner grades one submission per container::

    docker build -t course-autograder bundle/        # the unzipped bundle
    docker run --rm --network none -v "$PWD/sub:/autograder/submission:ro" \\
        -v "$PWD/out:/autograder/results" course-autograder /autograder/run_autograder

``run_autograder`` grades every ``*.ipynb`` of the submission with
:func:`course.grading.grade_notebook` (the options the bundle was built with) and writes the
report ``course grade`` writes as ``NAME.json`` (:func:`course.grading.to_gradescope`). With
several notebooks, the best-scoring one counts and the output names the others. The root
``/autograder`` can be moved with the environment variable :data:`ROOT_ENV`.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT_ENV = "COURSE_AUTOGRADER_ROOT"
"""Environment variable: the autograder's root folder (default :data:`DEFAULT_ROOT`)."""
DEFAULT_ROOT = "/autograder"
VENV_ENV = "COURSE_AUTOGRADER_VENV"
"""Environment variable: where ``setup.sh`` puts the kit's virtualenv."""
DEFAULT_VENV = "/opt/course-kit"
EXECUTABLES = ("setup.sh", "run_autograder")
MIN_PYTHON = (3, 11)
"""The oldest Python ``setup.sh`` accepts: ``requires-python`` of pyproject.toml."""
SKIPPED_DIRS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".ruff_cache", ".git",
                ".venv", "venv", "build", "dist"}
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".egg-info")
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed: the same kit gives the same bytes

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu): Python
# and the Keras Course Kit (this folder, /autograder/source) into a virtualenv.
set -euo pipefail
here="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
venv="${{{venv_env}:-{venv}}}"
if command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # bubblewrap: `course grade` confines each kernel with it where the container allows
    apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap
fi
python=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < {min_python_tuple})'; then
    # an older Ubuntu (22.04: Python 3.10) has Python {min_python} as a package of its own
    apt-get install -y --no-install-recommends python{min_python} python{min_python}-venv
    python=python{min_python}
fi
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --no-cache-dir --upgrade pip
"$venv/bin/python" -m pip install --no-cache-dir "$here"
# Fail the image build, not the first submission: the grader imports and the data verifies.
# -I: the installed kit's, never this folder's course/ (setup.sh runs from here)
"$venv/bin/python" -I -c "import course.grading, ipykernel, nbclient"
"$venv/bin/python" -I -m course data
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this once per submission, from /autograder: it grades
# /autograder/submission/*.ipynb into /autograder/results/results.json.
# {root_env} moves /autograder; the kit's Python is {venv_env}'s (setup.sh),
# else python3 on the PATH.
set -euo pipefail
root="${{{root_env}:-{root}}}"
venv="${{{venv_env}:-{venv}}}"
python="$venv/bin/python"
[ -x "$python" ] || python="$(command -v python3)"
exec "$python" -m course.grading.gradescope --root "$root" \\
    --solutions "$root/source/solutions" \\
    --timeout-cell {timeout_cell} --timeout-total {timeout_total}
"""

DOCKERFILE = """\
# The autograder image, as Gradescope builds it from setup.sh; one container per submission:
#   docker build -t course-autograder .
#   docker run --rm --network none -v "$PWD/sub:/autograder/submission:ro" \\
#       -v "$PWD/out:/autograder/results" course-autograder /autograder/run_autograder
FROM ubuntu:24.04
COPY . /autograder/source
RUN bash /autograder/source/setup.sh \\
 && cp /autograder/source/run_autograder /autograder/run_autograder \\
 && chmod 755 /autograder/run_autograder
WORKDIR /autograder
CMD ["/autograder/run_autograder"]
"""


class BundleError(RuntimeError):
    """The bundle cannot be made (e.g. the kit's source is not next to its package)."""


# ---------------------------------------------------------------------------------------------
# Building the bundle
# ---------------------------------------------------------------------------------------------


def kit_repository() -> Path:
    """The folder holding the ``course`` package being run and its ``pyproject.toml``."""
    repo = Path(__file__).resolve().parent
    while repo.name != "course" and repo != repo.parent:
        repo = repo.parent
    repo = repo.parent
    if not (repo / "pyproject.toml").is_file():
        raise BundleError(
            f"the kit's source is not next to its package ({repo} has no pyproject.toml): "
            "make the bundle from a checkout of the kit (pip install -e .)")
    return repo


def _skipped(relative: Path) -> bool:
    return any(part in SKIPPED_DIRS or part.startswith(".") or part.endswith(SKIPPED_SUFFIXES)
               for part in relative.parts)


def kit_files(repo: Path, solutions_dir: Path) -> dict[str, Path]:
    """The kit's files the bundle carries: ``{name in the zip: file}``.

    ``course/`` (without caches), the ``*.ipynb`` of ``solutions_dir`` as ``solutions/``,
    ``pyproject.toml``, ``README.md`` and any ``LICENSE*``/``LICENCE*`` file.
    """
    files: dict[str, Path] = {}
    package = repo / "course"
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(repo)
        if path.is_file() and not _skipped(relative):
            files[relative.as_posix()] = path
    notebooks = sorted(Path(solutions_dir).glob("*.ipynb"))
    if not notebooks:
        raise BundleError(f"no solution notebooks in {solutions_dir}")
    for path in notebooks:
        files[f"solutions/{path.name}"] = path
    for name in ("pyproject.toml", "README.md"):
        if not (repo / name).is_file():
            raise BundleError(f"{repo / name} is missing; the kit cannot be installed without it")
        files[name] = repo / name
    for path in sorted(repo.glob("LICEN[CS]E*")):
        if path.is_file():
            files[path.name] = path
    return files


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build_bundle(target: Path, solutions_dir: Path, *, timeout_cell: float,
                 timeout_total: float, repo: Path | None = None) -> list[str]:
    """Write the Gradescope autograder zip to ``target``.

    Args:
        target: The zip to write (its folder is created).
        solutions_dir: The solution notebooks that define the labs.
        timeout_cell: ``--timeout-cell`` for every submission.
        timeout_total: ``--timeout-total`` for every submission.
        repo: The kit's source folder (default: :func:`kit_repository`).

    Returns:
        The names in the zip, in order.
    """
    files = kit_files(repo or kit_repository(), solutions_dir)
    minimum = MIN_PYTHON
    values = {"min_python": ".".join(map(str, minimum)), "min_python_tuple": repr(minimum),
              "root_env": ROOT_ENV, "root": DEFAULT_ROOT, "venv_env": VENV_ENV,
              "venv": DEFAULT_VENV, "timeout_cell": f"{timeout_cell:g}",
              "timeout_total": f"{timeout_total:g}"}
    scripts = {"setup.sh": SETUP_SH.format(**values),
               "run_autograder": RUN_AUTOGRADER.format(**values),
               "Dockerfile": DOCKERFILE}
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with zipfile.ZipFile(partial, "w") as archive:
        for name, text in scripts.items():
            _add(archive, name, text.encode(), executable=name in EXECUTABLES)
        for name, path in files.items():
            _add(archive, name, path.read_bytes())
    partial.replace(target)
    return [*scripts, *files]


# ---------------------------------------------------------------------------------------------
# Running in the autograder: one submission
# ---------------------------------------------------------------------------------------------


def submitted_notebooks(submission: Path) -> list[Path]:
    """The submission's notebooks, in any folder (not checkpoints, macOS ``._`` files)."""
    return sorted(
        path for path in Path(submission).rglob("*.ipynb")
        if path.is_file() and not any(part.startswith((".", "__MACOSX"))
                                      for part in path.relative_to(submission).parts)
    )


def autograder_result(notebooks: list[Path], solutions_dir: Path, *, timeout_cell: float,
                      timeout_total: float) -> dict[str, Any]:
    """Grade a submission's notebooks; return the ``results.json`` Gradescope reads."""
    from course import grading

    if not notebooks:
        return {"score": 0, "tests": [], "output": (
            "Not graded: your submission has no Jupyter notebook (.ipynb); upload the lab "
            "notebook you worked in, e.g. 01_sequential_mlp.ipynb.")}
    reports = [grading.grade_notebook(path, solutions_dir, timeout_cell=timeout_cell,
                                      timeout_total=timeout_total) for path in notebooks]
    graded = [report for report in reports if report.graded] or reports
    best = max(graded, key=lambda report: report.score)  # the first of equals
    result = grading.to_gradescope(best)
    others = [report for report in reports if report is not best]
    if others:
        listed = "; ".join(
            f"{report.path.name}: "
            + (f"{report.score:g}/{report.max_score:g}" if report.graded else "not graded")
            for report in others)
        result["output"] += (f"\nYour submission has {len(reports)} notebooks; the "
                             f"best-scoring one, {best.path.name}, counts ({listed}).")
        result["extra_data"]["others"] = [grading.to_gradescope(r)["extra_data"]
                                          for r in others]
    return result


def run_autograder(root: Path, solutions_dir: Path, *, timeout_cell: float,
                   timeout_total: float) -> Path:
    """Grade ``root/submission`` into ``root/results/results.json``; return that file."""
    notebooks = submitted_notebooks(Path(root) / "submission")
    result = autograder_result(notebooks, solutions_dir, timeout_cell=timeout_cell,
                               timeout_total=timeout_total)
    target = Path(root) / "results" / "results.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    """``python -m course.grading.gradescope``: what the bundle's ``run_autograder`` runs."""
    from course.grading import DEFAULT_TIMEOUT_CELL_S, DEFAULT_TIMEOUT_TOTAL_S
    parser = argparse.ArgumentParser(
        prog="run_autograder",
        description="Grade ROOT/submission/*.ipynb into ROOT/results/results.json.")
    parser.add_argument("--root", default=os.environ.get(ROOT_ENV, DEFAULT_ROOT),
                        help=f"the autograder folder (default: ${ROOT_ENV} or {DEFAULT_ROOT})")
    parser.add_argument("--solutions", help="solution notebooks (default: ROOT/source/solutions)")
    parser.add_argument("--timeout-cell", type=float, default=DEFAULT_TIMEOUT_CELL_S)
    parser.add_argument("--timeout-total", type=float, default=DEFAULT_TIMEOUT_TOTAL_S)
    args = parser.parse_args(argv)
    root = Path(args.root)
    solutions = Path(args.solutions) if args.solutions else root / "source" / "solutions"
    os.chdir(root)  # Gradescope's working folder; reports name "submission/NAME.ipynb"
    target = run_autograder(root, solutions, timeout_cell=args.timeout_cell,
                            timeout_total=args.timeout_total)
    result = json.loads(target.read_text(encoding="utf-8"))
    print(result.get("output", ""))
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
