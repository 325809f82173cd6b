"""Re-execute solution notebooks in place, under the conditions ``pytest --nbval`` runs them.

Strict nbval compares every stored output, stderr included. A kernel started by JupyterLab
or nbclient captures output written straight to file descriptor 2 (TensorFlow's C++ log
lines), while the kernels nbval starts inside pytest do not (ipykernel stops watching the
descriptors when ``PYTEST_CURRENT_TEST`` is set). So solutions are executed here with
``--IPKernelApp.capture_fd_output=False``, in the current interpreter, with ``KERNEL_ENV``
set; the repository's ``conftest.py`` sets the same ``KERNEL_ENV`` for nbval's kernels.

No TensorFlow import here; nbclient and nbformat are imported when a notebook is run.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import nbformat

KERNEL_ENV: dict[str, str] = {"COLUMNS": "80", "JUPYTER_COLUMNS": "80", "NO_COLOR": "1"}
"""Environment for every kernel that produces or checks stored outputs (rich/Keras widths)."""

KERNEL_NAME = "python3"
KERNEL_EXTRA_ARGUMENTS = ["--IPKernelApp.capture_fd_output=False"]
DEFAULT_TIMEOUT_S = 600.0
"""Per-cell timeout, the same as ``--nbval-cell-timeout`` in pyproject.toml."""

TF_LOG_LINE = re.compile(
    r"^(?:[IWEF]\d{4} .*|.*All log messages before absl::InitializeLog.*)$", re.M
)


class ExecuteError(RuntimeError):
    """A solution could not be executed, or its outputs would not reproduce under nbval."""


@contextlib.contextmanager
def kernel_environment(env: dict[str, str] = KERNEL_ENV) -> Iterator[None]:
    """Set ``env`` in ``os.environ`` (which kernels inherit) and restore it afterwards."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _kernel_manager():
    """Return nbclient's (async) kernel manager, its ``python3`` kernel being this interpreter.

    Like ``--nbval-current-env``: a stale user-level ``python3`` kernelspec must not run the
    solutions on another Python.
    """
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class CurrentEnvSpecManager(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str):
            if kernel_name == KERNEL_NAME:
                return self.kernel_spec_class(
                    resource_dir=ipykernel.kernelspec.RESOURCES,
                    **ipykernel.kernelspec.get_kernel_dict(),
                )
            return super().get_kernel_spec(kernel_name)

    return AsyncKernelManager(
        kernel_name=KERNEL_NAME, kernel_spec_manager=CurrentEnvSpecManager()
    )


def tf_log_lines(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """Return ``(cell index, line)`` for TensorFlow C++ log lines stored as stderr output."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                text = output.get("text", "")
                text = "".join(text) if isinstance(text, list) else text
                found.extend((index, m.group(0)) for m in TF_LOG_LINE.finditer(text))
    return found


def execute_notebook(path: Path, timeout: float = DEFAULT_TIMEOUT_S,
                     record_timing: bool = False) -> nbformat.NotebookNode:
    """Execute the notebook at ``path`` in a fresh kernel and write it back in place.

    The kernel runs in the notebook's folder, in this interpreter, with ``KERNEL_ENV`` and
    without file-descriptor capture. Nothing is written when a cell fails or when a stored
    stderr output holds TensorFlow C++ log lines (nbval's kernels would not show them).

    Args:
        path: the notebook (e.g. ``solutions/01_mlp.ipynb``).
        timeout: seconds allowed per cell.
        record_timing: store each cell's start and end times in its ``metadata.execution``
            (``benchmarks.lab_times`` reads them; stored solutions keep none).

    Returns:
        The executed notebook.

    Raises:
        ExecuteError: a cell raised or timed out, or fd-level stderr was captured.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        km=_kernel_manager(),
        kernel_name=KERNEL_NAME,
        timeout=timeout,
        record_timing=record_timing,
        resources={"metadata": {"path": str(path.parent)}},
        extra_arguments=list(KERNEL_EXTRA_ARGUMENTS),  # nbclient appends to it
    )
    try:
        with kernel_environment():
            client.execute(cleanup_kc=True)  # shut the kernel down: km= is ours to close
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        raise ExecuteError(f"{path.name} failed; nothing was written:\n{exc}") from exc
    noise = tf_log_lines(nb)
    if noise:
        listing = "\n".join(f"  cell {index}: {line}" for index, line in noise)
        raise ExecuteError(
            f"{path.name}: TensorFlow C++ log lines were captured as stderr output, which "
            f"`pytest --nbval` would not reproduce; nothing was written:\n{listing}"
        )
    nbformat.write(nb, path)
    return nb


@dataclass
class RunResult:
    """One notebook run by ``run_solutions``."""

    path: Path
    seconds: float
    error: str | None = None


def resolve_solutions(names: list[str], solutions_dir: Path) -> list[Path]:
    """Return the notebooks named by ``names`` (paths, file names or stems); all when empty."""
    solutions_dir = Path(solutions_dir)
    if not names:
        from course.notebooks import solution_paths  # leaves out .<name>.rendering files

        return solution_paths(solutions_dir) if solutions_dir.is_dir() else []
    paths = []
    for name in names:
        candidates = [Path(name), solutions_dir / name, solutions_dir / f"{name}.ipynb"]
        found = next((p for p in candidates if p.suffix == ".ipynb" and p.is_file()), None)
        if found is None:
            raise ExecuteError(f"no solution notebook {name!r} (looked in {solutions_dir})")
        paths.append(found)
    return paths


def run_solutions(
    paths: list[Path], timeout: float = DEFAULT_TIMEOUT_S, echo=print
) -> list[RunResult]:
    """Execute each notebook in place; a failure is recorded and the next one still runs."""
    results = []
    for path in paths:
        echo(f"executing {path} ...")
        start = time.perf_counter()
        try:
            execute_notebook(path, timeout=timeout)
            error = None
        except ExecuteError as exc:
            error = str(exc)
        result = RunResult(path, time.perf_counter() - start, error)
        echo(f"  {'FAILED' if error else 'done'} in {result.seconds:.1f} s")
        results.append(result)
    return results
