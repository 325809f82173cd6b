"""The reference answers of a lab, taken from its solution notebook (the single source)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

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
