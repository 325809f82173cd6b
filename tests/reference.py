"""The reference answers of a lab, taken from its solution notebook (the single source)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat


def load_script(path: Path) -> ModuleType:
    """Import a file that is not in a package (``tools/*.py``, ``.ci/*.py``, ``conftest.py``)."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def solution_namespace(notebook: Path, setup: str | None = None) -> dict:
    """Exec the setup imports, then every ``nbgrader.solution`` cell, into one namespace.

    Args:
        notebook: the solution notebook.
        setup: code to run first; by default the import lines of the notebook's first code cell.

    Returns:
        The namespace; ``__grade_ids__`` lists the solution cells' grade_ids in order.
    """
    cells = [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
    if setup is None:
        setup = "\n".join(line for line in cells[0].source.splitlines()
                          if line.startswith(("import ", "from ")))
    namespace: dict = {"__grade_ids__": []}
    exec(setup, namespace)
    for cell in cells:
        grader = cell.metadata.get("nbgrader", {})
        if grader.get("solution"):
            exec(compile(cell.source, f"<{grader['grade_id']}>", "exec"), namespace)
            namespace["__grade_ids__"].append(grader["grade_id"])
    return namespace


def with_replicas(module: str, function: str, lab: str, timeout: float = 1800) -> Any:
    """``module.function(lab)`` (a test module's) in a new Python process that makes its 2 CPU
    replicas before TensorFlow starts, as labs needing replicas must; its JSON result."""
    tests = Path(__file__).resolve().parent
    code = ("import json, sys; sys.path.insert(0, %r)\n"
            "from course import devices; devices.make_strategy(2, verbose=False)\n"
            "import %s as m\n"
            "print('RESULTS' + json.dumps(m.%s(%r)))" % (str(tests), module, function, lab))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, cwd=tests.parent)
    marker = [line for line in done.stdout.splitlines() if line.startswith("RESULTS")]
    assert done.returncode == 0 and marker, done.stderr[-3000:]
    return json.loads(marker[-1][len("RESULTS"):])
