"""``course.checks.lab05``: what the shared wrong-answer table cannot express.

The reference answers and every wrong answer (``tests/wrong_answers/lab05.py``) are run by
``tests/test_check_contract.py``, in a fresh process that makes 2 CPU replicas first; here:
the untouched lab, as a learner opens it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "solutions" / "05_mirrored_strategy.ipynb"


def test_generated_lab_runs_until_its_first_gap():
    """The untouched lab executes up to its first gap, then NotImplementedError."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    lab = nbformat.read(ROOT / "labs" / NOTEBOOK.name, as_version=4)
    client = NotebookClient(lab, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(ROOT / "labs")}})
    with pytest.raises(CellExecutionError) as failure:
        client.execute()
    assert failure.value.ename == "NotImplementedError", failure.value.evalue
    printed = "".join(o.get("text", "") for c in lab.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert "replicas in sync: 2" in printed and "✘ scale_batch_and_lr: 0/1 points" in printed
