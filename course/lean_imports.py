"""Keep the kit's tools quick to start: ``course`` (the CLI) and pytest import this first.

``nbformat`` validates notebooks with ``jsonschema``, which imports the optional
``rfc3987_syntax`` to check the ``iri`` string formats, and that module builds ~35 Earley
parsers at import (python-jsonschema/jsonschema#1428): 3.0 s of the 3.3 s
``import nbformat`` took here (benchmarks/README.md). No notebook schema uses those formats,
so the tools mark the module as absent, exactly what jsonschema sees when it is not
installed. Imported by ``course.cli.main``, ``course.grading`` (so the Gradescope entry
point too), the grading workers and, through ``addopts``, pytest (before nbval imports
nbformat). Labs and learners' kernels never import it.
"""

from __future__ import annotations

import sys

SKIPPED = ("rfc3987_syntax",)
"""Optional modules the tools never need, each mapped to ``None`` in ``sys.modules``."""


def skip_imports(*names: str) -> None:
    """Make ``import NAME`` raise ImportError (as if not installed) unless already imported."""
    for name in names:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


skip_imports(*SKIPPED)
