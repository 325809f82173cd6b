"""``course.checks``: the ``@check`` decorator, ``expect``, ``award``, ``CheckResult`` and ``LOG``.

Every check here is a tiny toy defined in this file, so the tests need no TensorFlow.
"""

from __future__ import annotations

import json

import pytest

from course.checks import LOG, CheckResult, award, check, expect


@pytest.fixture(autouse=True)
def empty_log():
    """Each test starts and ends with an empty :data:`LOG`."""
    LOG.clear()
    yield LOG
    LOG.clear()


@check(points=2)
def double(fn):
    """Toy check: ``fn(x)`` must return ``2 * x``."""
    expect(fn(3) == 6, "return twice the input: x * 2")


@check(points=3)
def staged(fn):
    """Toy check with partial credit: 1 point for an int, 1 more for non-negative, then exact."""
    value = fn(4)
    expect(isinstance(value, int), "return an int")
    award(1)
    expect(value >= 0, "return a non-negative number")
    award(1)
    expect(value == 16, "return the square of the input")


@check(points=2)
def generous(fn):
    """Toy check that banks more than its maximum before failing."""
    fn()
    award(1.5)
    award(1.5)
    expect(False, "still wrong")


def not_done(*args):
    raise NotImplementedError()


# --- CheckResult -------------------------------------------------------------------------------

def test_line_for_a_pass():
    assert CheckResult("build_mlp", 2, 2).line() == "✔ build_mlp: 2/2 points"


def test_line_for_a_fail_carries_the_hint():
    result = CheckResult("build_mlp", 0, 2, "return a keras.Sequential model")
    assert result.line() == "✘ build_mlp: 0/2 points — return a keras.Sequential model"


def test_line_formats_fractional_points_compactly():
    assert CheckResult("x", 0.5, 2.0, "h").line() == "✘ x: 0.5/2 points — h"
    assert CheckResult("x", 2.0, 2.0).line() == "✔ x: 2/2 points"


@pytest.mark.parametrize(
    ("points", "hint", "passed"),
    [(2, "", True), (1, "", False), (2, "a hint", False), (0, "a hint", False), (3, "", True)],
)
def test_passed_needs_full_points_and_no_hint(points, hint, passed):
    assert CheckResult("x", points, 2, hint).passed is passed


def test_to_dict_includes_passed():
    assert CheckResult("x", 1, 2, "h").to_dict() == {
        "name": "x", "points": 1, "max_points": 2, "hint": "h", "passed": False}


# --- @check --------------------------------------------------------------------------------------

def test_right_answer_earns_every_point(capsys):
    result = double(lambda x: 2 * x)
    assert result == CheckResult("double", 2, 2, "")
    assert result.passed
    assert capsys.readouterr().out == "✔ double: 2/2 points\n"


def test_wrong_answer_gets_zero_points_and_the_hint(capsys):
    result = double(lambda x: x + 2)
    assert (result.points, result.max_points, result.passed) == (0, 2, False)
    assert result.hint == "return twice the input: x * 2"
    assert capsys.readouterr().out == "✘ double: 0/2 points — return twice the input: x * 2\n"


def test_decorator_keeps_name_doc_and_max_points():
    assert double.__name__ == "double"
    assert double.__doc__.startswith("Toy check")
    assert double.max_points == 2


def test_name_argument_overrides_the_function_name():
    @check(points=1, name="custom")
    def body(answer):
        expect(answer, "say yes")

    assert body(True, verbose=False).name == "custom"
    assert body(False, verbose=False).line() == "✘ custom: 0/1 points — say yes"


def test_check_passes_extra_arguments_to_the_body():
    @check(points=1)
    def equals(answer, target):
        expect(answer == target, f"expected {target}")

    assert equals(5, 5, verbose=False).passed
    assert equals(4, target=5, verbose=False).hint == "expected 5"


def test_partial_credit_is_kept_when_a_later_expect_fails():
    one = staged(lambda x: -1, verbose=False)  # an int, but negative
    assert (one.points, one.hint) == (1, "return a non-negative number")
    two = staged(lambda x: x, verbose=False)  # non-negative int, but not the square
    assert (two.points, two.hint) == (2, "return the square of the input")
    assert two.line() == "✘ staged: 2/3 points — return the square of the input"
    assert not two.passed


def test_no_partial_credit_before_the_first_award():
    result = staged(lambda x: "16", verbose=False)
    assert (result.points, result.hint) == (0, "return an int")


def test_full_marks_do_not_add_banked_points():
    result = staged(lambda x: x * x, verbose=False)
    assert (result.points, result.hint, result.passed) == (3, "", True)


def test_partial_credit_is_capped_at_the_maximum():
    result = generous(lambda: None, verbose=False)
    assert (result.points, result.max_points, result.hint) == (2, 2, "still wrong")
    assert not result.passed  # full points, but a hint: still a fail


def test_award_outside_a_check_is_ignored():
    award(5)  # no running check: nothing to bank into, nothing raised
    assert double(lambda x: x, verbose=False).points == 0


def test_banked_points_do_not_leak_between_checks():
    staged(lambda x: x, verbose=False)
    assert staged(lambda x: "no", verbose=False).points == 0


def test_not_implemented_says_not_done_yet():
    result = double(not_done, verbose=False)
    assert result.points == 0
    assert result.hint.startswith("not done yet")
    assert "raise NotImplementedError()" in result.hint
    assert "# YOUR CODE HERE" in result.hint


def test_not_implemented_after_partial_credit_keeps_the_credit():
    @check(points=2)
    def two_parts(first, second):
        first()
        award(1)
        second()

    result = two_parts(lambda: None, not_done, verbose=False)
    assert result.points == 1
    assert result.hint.startswith("not done yet")


def test_an_arbitrary_exception_is_named_with_its_message():
    def buggy(x):
        return {"a": 1}["missing"]

    result = double(buggy, verbose=False)
    assert result.points == 0
    assert result.hint.startswith("your code raised KeyError: 'missing'")


def test_exception_hint_points_at_the_learners_line():
    def buggy(x):
        values = [1, 2]
        return values[x]  # IndexError for x == 3

    line = buggy.__code__.co_firstlineno + 2
    result = double(buggy, verbose=False)
    assert result.hint == (
        f"your code raised IndexError: list index out of range (line {line} of your code)")


def test_exception_hint_points_at_the_line_in_a_folder_named_course():
    namespace: dict = {}
    source = "def buggy(x):\n    return 1 / 0\n"
    exec(compile(source, "/home/learner/my-course/lab01.py", "exec"), namespace)
    result = double(namespace["buggy"], verbose=False)
    assert result.hint.startswith("your code raised ZeroDivisionError")
    assert "(line 2 of your code)" in result.hint


def _json_bug(x):
    return json.loads("{" * x)  # raises inside the standard library


def test_an_error_raised_inside_a_library_is_reported():
    result = double(_json_bug, verbose=False)
    assert result.points == 0
    assert result.hint.startswith("your code raised JSONDecodeError: ")


def test_an_error_raised_inside_a_library_points_at_the_learners_line():
    line = _json_bug.__code__.co_firstlineno + 1
    assert double(_json_bug, verbose=False).hint.endswith(f"(line {line} of your code)")


def test_a_multi_line_error_message_still_gives_a_one_line_hint():
    def buggy(x):
        raise ValueError("Exception encountered when calling Dense.call().\n\nbad shape")

    hint = double(buggy, verbose=False).hint
    assert hint.startswith("your code raised ValueError: ")
    assert "\n" not in hint


def test_a_learners_own_assert_is_reported_as_their_error():
    def asserting(x):
        assert x < 0, "x must be negative"

    result = double(asserting, verbose=False)
    assert result.hint.startswith("your code raised AssertionError: x must be negative")


def test_check_never_raises_for_a_wrong_answer():
    answers = [None, 42, "text", lambda: 1, lambda x: 1 / 0, lambda x: None, not_done]
    for answer in answers:
        result = double(answer, verbose=False)
        assert isinstance(result, CheckResult)
        assert result.points == 0 and result.hint


def test_keyboard_interrupt_is_not_swallowed():
    def interrupted(x):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        double(interrupted, verbose=False)


def test_results_are_recorded_in_order(empty_log):
    first = double(lambda x: 2 * x, verbose=False)
    second = staged(lambda x: x, verbose=False)
    third = double(not_done, verbose=False)
    assert empty_log.results == [first, second, third]
    assert [r.passed for r in empty_log.results] == [True, False, False]


def test_log_clear_forgets_results(empty_log):
    double(lambda x: 2 * x, verbose=False)
    empty_log.clear()
    assert empty_log.results == []


def test_verbose_false_prints_nothing_but_still_records(capsys, empty_log):
    result = double(lambda x: x, verbose=False)
    assert capsys.readouterr() == ("", "")
    assert empty_log.results == [result]


def test_ipython_display_shows_nothing(capsys):
    assert CheckResult("x", 1, 1)._ipython_display_() is None
    assert capsys.readouterr() == ("", "")
