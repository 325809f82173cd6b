"""``course.checks.lab04``: what the shared wrong-answer table cannot express.

The reference answers and every wrong answer (``tests/wrong_answers/lab04.py``) are run by
``tests/test_check_contract.py``; here: the packaged loop (``course.loops``) passes too.
"""

from __future__ import annotations

import pytest

from course.checks import lab04 as checks

pytest.importorskip("tensorflow")


def test_the_packaged_loop_passes_the_checks_too():
    from course import loops

    results = [checks.train_step(loops.train_step, verbose=False),
               checks.test_step(loops.test_step, verbose=False),
               checks.fit_loop(loops.fit_loop, verbose=False)]
    assert all(r.passed for r in results), [r.line() for r in results]
