"""Repository-wide pytest setup, shared by the unit tests and ``pytest --nbval solutions/``.

- Kernels started by nbval inherit this process's environment: pin the output widths
  (``course.execute.KERNEL_ENV``) and TensorFlow's logging settings (set by ``import course``)
  so stored outputs reproduce exactly as ``course run-solutions`` wrote them.
- ``--nbval-sanitize-with`` in ``pyproject.toml`` is relative; resolve it against the
  repository root so ``pytest --nbval`` works from any folder.
- Under ``-n N --dist loadfile`` (pytest-xdist, one notebook per worker), hand the solutions
  out longest first, so the run does not end on one long notebook while the other worker
  idles (``SOLUTION_SECONDS``; xdist's own order is by cell count).
"""

from __future__ import annotations

import os
from pathlib import Path

import course  # noqa: F401  (sets TF_CPP_MIN_LOG_LEVEL / TF_ENABLE_ONEDNN_OPTS)
from course.execute import KERNEL_ENV

ROOT = Path(__file__).resolve().parent
os.environ.update(KERNEL_ENV)

SOLUTION_SECONDS = {"01": 50, "02": 88, "03": 31, "04": 44, "05": 54, "06": 50, "07": 48}
"""Each lab's solution's wall time in ``pytest --nbval solutions/ -n 2 --dist loadfile``
(benchmarks/README.md, 2026-12-01; Lab 05 without its outliers, see there). It only orders
the work: a stale figure can make the run a little longer, never change a result."""


def _solution_seconds(path: Path) -> float:
    """The expected wall time of a solution notebook (0 for anything else)."""
    if path.suffix != ".ipynb" or path.parent.name not in ("solutions", "zh"):
        return 0.0
    return float(SOLUTION_SECONDS.get(path.name[:2], 0))


def _order(item) -> tuple[float, str]:
    """Longest first; a lab's English and Chinese solutions side by side (they then run at
    the same time on two workers: Lab 05's four simulated replicas slow down several-fold
    beside Lab 06's worker processes, not beside its own twin); other tests keep their place."""
    path = Path(str(item.path))
    seconds = _solution_seconds(path)
    return (-seconds, path.name if seconds else "")


def _loadfile(config) -> bool:
    """True in the controller of ``--dist loadfile`` (its workers see ``dist == "no"``)."""
    return getattr(config.option, "dist", "no") == "loadfile"


def pytest_configure(config) -> None:
    """Make the nbval sanitize file path absolute (relative to the repository root)."""
    value = getattr(config.option, "nbval_sanitize_with", None)
    if value and not Path(value).is_absolute():
        config.option.nbval_sanitize_with = str(ROOT / value)
    if _loadfile(config):
        config.option.loadscopereorder = False  # keep the order given below


def pytest_collection_modifyitems(config, items) -> None:
    """In xdist's workers: the longest solutions first (a stable sort: cells keep their
    order, and so do the other tests, after the solutions). The controller hands out the
    files in the workers' order when it does not reorder them (``--dist loadfile``)."""
    if hasattr(config, "workerinput"):
        items.sort(key=_order)
