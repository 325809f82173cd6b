"""``course.checks.lab05``: what the shared wrong-answer table cannot express.

The reference answers and every wrong answer (``tests/wrong_answers/lab05.py``) are run by
``tests/test_check_contract.py``, in a fresh process that makes 2 CPU replicas first; here:
the untouched lab, as a learner opens it.
"""

from __future__ import annotations

from wrong_answers import lab05 as table
from wrong_answers import run_until_first_gap


def test_generated_lab_runs_until_its_first_gap():
    """The untouched lab executes up to its first gap, then NotImplementedError."""
    stopped, printed = run_until_first_gap(table.LAB.notebook)
    assert stopped == "NotImplementedError", printed[-2000:]
    assert "replicas in sync: 2" in printed and "✘ scale_batch_and_lr: 0/1 points" in printed
