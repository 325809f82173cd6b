"""How long a lab's check cells take on the reference answers, now and at another commit.

Issue 13 asks that running all checks of a lab on the reference answers take no more than
20 % longer than before the checks were rewritten. This executes each solution notebook
with nbclient (timings recorded per cell) once from this checkout and once from a git
worktree of ``--base`` (its own ``course`` package first on ``PYTHONPATH``), and sums the
check cells (nbgrader ``grade: true`` cells without a solution) whose ``grade_id`` both
versions have; concept questions, new in the rewrite, are left out.

    python -m benchmarks.checks_speed --base d74360f^

Prints one row per lab: seconds then, seconds now, ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def _seconds(cell: nbformat.NotebookNode) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not start or not end:
        return 0.0
    parse = dt.datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def check_cell_seconds(notebook: Path, package_root: Path) -> dict[str, float]:
    """Execute ``notebook`` with ``package_root``'s ``course``; seconds per check grade_id."""
    nb = nbformat.read(notebook, as_version=4)
    env_before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(package_root)
    try:
        NotebookClient(nb, timeout=900, kernel_name="python3", record_timing=True,
                       resources={"metadata": {"path": str(notebook.parent)}}).execute()
    finally:
        if env_before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = env_before
    found = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and "-q_" not in meta.get("grade_id", ""):
            found[meta["grade_id"]] = _seconds(cell)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare with")
    parser.add_argument("labs", nargs="*", help="solution stems (default: all in both)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="checks-speed-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base),
                        args.base], check=True, capture_output=True)
        try:
            names = args.labs or sorted(p.stem for p in (ROOT / "solutions").glob("*.ipynb")
                                        if (base / "solutions" / p.name).exists())
            print(f"{'lab':32} {'then s':>7} {'now s':>7} {'ratio':>6}", flush=True)
            for name in names:
                then = check_cell_seconds(base / "solutions" / f"{name}.ipynb", base)
                now = check_cell_seconds(ROOT / "solutions" / f"{name}.ipynb", ROOT)
                common = sorted(set(then) & set(now))
                t, n = sum(then[g] for g in common), sum(now[g] for g in common)
                print(f"{name:32} {t:7.2f} {n:7.2f} {n / t if t else float('nan'):6.2f}"
                      f"  ({len(common)} check cells)", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                           check=False, capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
