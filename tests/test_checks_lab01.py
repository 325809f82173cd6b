"""``course.checks.lab01``: what the shared wrong-answer table cannot express.

The reference answers and every wrong answer (``tests/wrong_answers/lab01.py``) are run by
``tests/test_check_contract.py``; here: global seeds, a data set that never ends, errors
raised inside Keras, and right answers written another way.
"""

from __future__ import annotations

import signal

import keras
import numpy as np
import pytest
from wrong_answers import lab01 as table

from course.checks import common
from course.checks import lab01 as checks


def grade(check_name: str, answer):
    """Run one lab01 check quietly and return its CheckResult."""
    return getattr(checks, check_name)(answer, verbose=False)


@pytest.mark.parametrize("global_seed", [None, 0, 1, 4])
@pytest.mark.parametrize("answer", [table.ds_shuffle_after_batch, table.ds_small_buffer,
                                    table.ds_buffer_1000])
def test_weak_shuffles_are_rejected_whatever_the_global_seed(answer, global_seed):
    """Global seeds 0 and 4 put the short last batch first when whole batches are shuffled;
    an earlier test that seeds TensorFlow must not turn a wrong answer into a pass."""
    if global_seed is not None:
        keras.utils.set_random_seed(global_seed)
    result = grade("make_dataset", answer)
    assert result.points == 1 and "whole data set" in result.hint, result


@pytest.mark.parametrize("answer", [table.ds_small_buffer, table.ds_shuffle_after_batch,
                                    table.ds_buffer_1000, table.ds_no_reshuffle])
def test_weak_shuffles_meet_the_letter_of_one_epoch(answer):
    """Weak shuffles keep every example once per epoch: the check must see more than that."""
    images, labels = common.synthetic_digits(checks.SHUFFLE_ROWS, seed=8)
    x, y = common.one_pass(answer(images, labels, batch_size=500, shuffle=True, seed=0))
    index = common.decode_index(x)
    assert np.array_equal(np.sort(index), np.arange(len(images)))
    assert np.array_equal(y, labels[index])


def test_a_300_row_check_could_not_see_a_1000_buffer():
    """Why the check shuffles 2,500 rows: on 300 a buffer of 1,000 is a full shuffle."""
    images, labels = common.synthetic_digits(300)
    batches = [common.decode_index(x) for x, _ in table.ds_buffer_1000(
        images, labels, batch_size=64, shuffle=True, seed=0)]
    assert np.median([np.ptp(b) for b in batches]) > 150  # what the 300-row check asked


def test_softmax_output_earns_exactly_half():
    """Structure right, activation wrong: the partial credit the check banks."""
    result = grade("build_mlp", table.mlp_softmax)
    assert result.line().startswith("✘ build_mlp: 1/2 points — the output layer uses "
                                    "activation='softmax'")


def test_relu_as_its_own_layer_is_accepted():
    result = grade("build_mlp", table.mlp_relu_layer)
    assert result.passed, result.hint


class CheckHung(BaseException):
    """Raised by the alarm below; a BaseException so that @check cannot turn it into a hint."""


def test_infinite_dataset_is_rejected_instead_of_hanging():
    def alarm(signum, frame):
        raise CheckHung("make_dataset was still iterating after 0.5 s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        result = grade("make_dataset", table.ds_repeat_forever)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert result.points < result.max_points
    assert "repeat" in result.hint, result.hint


def _shape_bug(model, images):
    return model.predict(images, verbose=0)  # (50, 28, 28) into a 784-input model


def test_an_error_inside_keras_is_reported_not_raised(capsys):
    result = checks.predict_digits(_shape_bug)
    assert capsys.readouterr().out == result.line() + "\n"
    assert result.points == 0
    assert result.hint.startswith("your code raised ValueError: ")


def test_an_error_inside_keras_gets_a_one_line_hint_at_the_learners_line():
    hint = grade("predict_digits", _shape_bug).hint
    assert "\n" not in hint and "\x1b" not in hint, repr(hint)
    line = _shape_bug.__code__.co_firstlineno + 1
    assert hint.endswith(f"(line {line} of your code)"), hint
