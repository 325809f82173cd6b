"""``benchmarks.notebook_cpu`` counts a cell's CPU in the kernel and in the processes it starts,
and not the time a cell only waits (that is what the nbval budget pays for)."""

from __future__ import annotations

import nbformat

from benchmarks import notebook_cpu

BUSY = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end:\n    pass"


def test_a_cells_cpu_counts_its_child_processes_and_not_its_waiting(tmp_path):
    path = tmp_path / "busy.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(BUSY),  # the kernel works
        nbformat.v4.new_code_cell(
            f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {BUSY!r}])"),
        nbformat.v4.new_code_cell("import time\ntime.sleep(1.0)"),  # the kernel waits
    ]), path)
    cost = notebook_cpu.measure(path, timeout=60)
    kernel, child, waiting = cost.cells
    assert kernel.cpu >= 0.5 and child.cpu >= 0.5, cost
    assert waiting.wall >= 1.0 and waiting.cpu < 0.3, cost
    assert cost.cpu >= 1.0 and "busy.ipynb" in notebook_cpu.report([cost], top=1)
