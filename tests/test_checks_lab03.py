"""``course.checks.lab03``: what the shared wrong-answer table cannot express.

The reference answers and every wrong answer (``tests/wrong_answers/lab03.py``) are run by
``tests/test_check_contract.py``; here: the check's oracle, the TF1 program, against the
solution, and the mismatch helper's words for the factors learners get wrong.
"""

from __future__ import annotations

import numpy as np
import pytest
from reference import solution_namespace
from wrong_answers import lab03 as table

from course.checks import common
from course.checks import lab03 as checks

tf = pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def ref() -> dict:
    return solution_namespace(table.LAB.path)


def test_train_step_equals_the_tf1_program_over_the_check_data(ref):
    x, y, init = checks._data()
    params = [tf.Variable(p) for p in init]
    ours = np.array([float(ref["train_step"](params, x, y, 0.01)) for _ in range(20)])
    theirs, final = checks.loops.tf1_program(x, y, init, steps=20)
    assert np.array_equal(ours, theirs)
    assert all(np.array_equal(p.numpy(), f) for p, f in zip(params, final, strict=True))


@pytest.mark.parametrize(("factor", "words"), [
    (2.0, "is 2× the reference"), (0.5, "is 1/2× the reference"),
    (-1.0, "has the wrong sign (−1× the reference)"), (320.0, "is 320× the reference"),
    (0.37, "is 0.37× the reference"),
])
def test_a_constant_factor_is_named(factor, words):
    want = np.arange(1.0, 7.0).reshape(2, 3)
    assert common.mismatch(factor * want, want, "dW2").startswith(f"your dW2 {words}")


def test_a_transposed_matrix_is_named():
    want = np.arange(1.0, 7.0).reshape(2, 3)
    assert "transposed" in common.mismatch(want.T, want, "dW2")
    assert common.mismatch(want, want, "dW2") == ""
