"""Repository-wide pytest setup, shared by the unit tests and ``pytest --nbval solutions/``.

- Kernels started by nbval inherit this process's environment: pin the output widths
  (``course.execute.KERNEL_ENV``) and TensorFlow's logging settings (set by ``import course``)
  so stored outputs reproduce exactly as ``course run-solutions`` wrote them.
- ``--nbval-sanitize-with`` in ``pyproject.toml`` is relative; resolve it against the
  repository root so ``pytest --nbval`` works from any folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import course  # noqa: F401  (sets TF_CPP_MIN_LOG_LEVEL / TF_ENABLE_ONEDNN_OPTS)
from course.execute import KERNEL_ENV

ROOT = Path(__file__).resolve().parent
os.environ.update(KERNEL_ENV)


def pytest_configure(config) -> None:
    """Make the nbval sanitize file path absolute (relative to the repository root)."""
    value = getattr(config.option, "nbval_sanitize_with", None)
    if value and not Path(value).is_absolute():
        config.option.nbval_sanitize_with = str(ROOT / value)
