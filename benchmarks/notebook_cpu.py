"""Where a notebook's CPU goes: each cell's CPU seconds, its kernel's and the processes it starts.

``pytest --nbval solutions/`` is CPU-bound on 2 cores (benchmarks/README.md, "The whole
``pytest --nbval solutions/``"), so what it costs is CPU time, not wall time: a cell that waits
costs nothing there, a cell whose worker processes train costs all of their time. This runs each
notebook in a fresh kernel (nothing is written back) and reads, before and after every code
cell, the CPU times of the kernel and of all its descendants (Lab 06's workers).

    python -m benchmarks.notebook_cpu                     # every solution, English
    python -m benchmarks.notebook_cpu solutions/02_*.ipynb --top 5
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .grading_class import ROOT


@dataclass
class CellCost:
    """One code cell: its CPU seconds (kernel and descendants), wall seconds, first line."""

    index: int
    cpu: float
    wall: float
    line: str


@dataclass
class NotebookCost:
    """One notebook's run: wall seconds in all, and its code cells."""

    path: Path
    wall: float = 0.0
    cells: list[CellCost] = field(default_factory=list)

    @property
    def cpu(self) -> float:
        return sum(cell.cpu for cell in self.cells)


def process_tree_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and of every live descendant.

    Children that have exited and been reaped are in their parent's ``children_*`` times.
    """
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            t = process.cpu_times()
        except psutil.Error:  # exited between the listing and the reading
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def measure(path: Path, timeout: float = 900) -> NotebookCost:
    """Run ``path`` in a fresh ``python3`` kernel in its folder; the CPU of each code cell."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    cost, start = NotebookCost(path), {}

    def before(cell, cell_index, **_):
        start.update(cpu=process_tree_cpu(client.km.provisioner.process.pid), wall=time.time())

    def after(cell, cell_index, **_):
        cpu = process_tree_cpu(client.km.provisioner.process.pid) - start["cpu"]
        line = cell.source.splitlines()[0][:60] if cell.source else ""
        cost.cells.append(CellCost(cell_index, cpu, time.time() - start["wall"], line))

    client.on_cell_execute, client.on_cell_executed = before, after
    began = time.time()
    client.execute()
    cost.wall = time.time() - began
    return cost


def report(costs: list[NotebookCost], top: int) -> str:
    """A Markdown report: each notebook's wall and CPU seconds, then its costliest cells."""
    lines = ["| notebook | wall | CPU (cells) |", "|---|---:|---:|"]
    lines += [f"| {c.path.name} | {c.wall:.1f} s | {c.cpu:.1f} s |" for c in costs]
    wall, cpu = sum(c.wall for c in costs), sum(c.cpu for c in costs)
    lines.append(f"| all | {wall:.1f} s | {cpu:.1f} s |")
    for c in costs:
        lines.append(f"\n{c.path.name}, costliest cells (CPU, wall):")
        for cell in sorted(c.cells, key=lambda cell: -cell.cpu)[:top]:
            lines.append(f"- cell {cell.index}: {cell.cpu:.1f} s, {cell.wall:.1f} s: `{cell.line}`")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.notebook_cpu",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="default: solutions/*.ipynb (the English edition)")
    parser.add_argument("--top", type=int, default=3, help="cells listed per notebook")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "solutions").glob("*.ipynb"))
    costs = []
    for path in paths:
        costs.append(measure(path.resolve()))
        print(f"{path.name}: {costs[-1].wall:.1f} s wall, {costs[-1].cpu:.1f} s CPU",
              file=sys.stderr, flush=True)
    print(report(costs, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
