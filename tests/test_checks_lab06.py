"""``course.checks.lab06``: what the shared wrong-answer table cannot express.

The reference answers and every wrong answer (``tests/wrong_answers/lab06.py``) are run by
``tests/test_check_contract.py``; here: the copies the worker processes run
(``course.multiworker``) pass the checks, and the untouched lab runs up to its first gap.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from wrong_answers import run_until_first_gap

from course.checks import lab06 as checks

tf = pytest.importorskip("tensorflow")

NOTEBOOK = Path(__file__).resolve().parents[1] / "solutions" / "06_multi_worker_training.ipynb"


def grade(check_name: str, answer):
    return getattr(checks, check_name)(answer, verbose=False)


def test_the_kit_s_own_versions_pass_too():
    """The workers run course.multiworker's copies: they must be what the lab teaches."""
    from course import multiworker

    assert grade("make_tf_config", multiworker.tf_config).passed
    assert grade("worker_dataset", multiworker.worker_dataset).passed
    assert grade("newest_common_step", multiworker.newest_common_step).passed


def test_generated_lab_runs_until_its_first_gap():
    """The untouched lab executes up to its first gap, then NotImplementedError (no worker
    has been started by then)."""
    stopped, printed = run_until_first_gap(NOTEBOOK.name)
    assert stopped == "NotImplementedError", printed[-2000:]
    assert "✘ make_tf_config: 0/1 points" in printed
