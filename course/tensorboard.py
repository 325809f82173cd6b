"""TensorBoard logging for the labs: one directory per training run, and the Keras callback.

Example (in a lab)::

    from course import tensorboard
    board = tensorboard.callback("01_sequential_mlp")     # logs/01_sequential_mlp/<timestamp>/
    model.fit(..., callbacks=[board])

Then, in a notebook cell::

    %load_ext tensorboard
    %tensorboard --logdir logs/01_sequential_mlp

Each run gets its own directory, so TensorBoard shows one curve per run side by side.
``logs/`` lies next to the notebook (the kernel's working directory) and is git-ignored.
The ``%tensorboard`` magic and the callback's summaries come from the ``tensorboard`` pip
package (TensorFlow 2.21 no longer installs it; the kit depends on it).

Importing this module is cheap: Keras is imported only by :func:`callback`.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

ROOT = "logs"
"""The default root of all logs, relative to the working directory (the notebook's folder)."""

_SAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def _clean(name: str, what: str) -> str:
    """Return ``name`` usable as one directory name (no separators, no spaces)."""
    cleaned = _SAFE.sub("_", str(name)).strip("._")
    if not cleaned:
        raise ValueError(f"{what} must contain a letter or digit, not {name!r}")
    return cleaned


def log_dir(
    lab: str,
    run: str | None = None,
    root: str | os.PathLike = ROOT,
    now: float | None = None,
) -> Path:
    """Create and return a new per-run log directory ``<root>/<lab>/<run>``.

    Args:
        lab: the lab's name, e.g. ``"01_sequential_mlp"``.
        run: the run's name; by default the local time ``YYYYmmdd-HHMMSS``. A run name given
            twice gets ``-2``, ``-3``, ... so that no run ever writes into another's directory.
        root: the folder holding every lab's logs (default ``logs``, relative to the cwd).
        now: the time to stamp (seconds since the epoch; default: now).

    Returns:
        The new, empty directory (relative when ``root`` is).
    """
    if run is None:
        run = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    parent = Path(root) / _clean(lab, "lab")
    parent.mkdir(parents=True, exist_ok=True)
    name, suffix = _clean(run, "run"), 1
    while True:
        path = parent / (name if suffix == 1 else f"{name}-{suffix}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            suffix += 1


def callback(
    lab: str,
    run: str | None = None,
    root: str | os.PathLike = ROOT,
    **kwargs: Any,
) -> keras.callbacks.TensorBoard:
    """Return a ``keras.callbacks.TensorBoard`` writing to a new :func:`log_dir`.

    Args:
        lab, run, root: as for :func:`log_dir`.
        **kwargs: passed to ``keras.callbacks.TensorBoard`` (e.g. ``histogram_freq=1``).

    Returns:
        The callback; its ``log_dir`` attribute is the run's directory (a string).

    Raises:
        ModuleNotFoundError: in one sentence, when the ``tensorboard`` package is missing
            (without it the callback would fail at the end of the first epoch).
    """
    try:
        import tensorboard  # noqa: F401  (only to fail early, with a clear sentence)
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "TensorBoard is not installed (TensorFlow 2.21 no longer brings it); run "
            "`pip install -e .` in the kit's folder, or `pip install tensorboard`."
        ) from exc
    import keras

    return keras.callbacks.TensorBoard(log_dir=str(log_dir(lab, run, root)), **kwargs)
