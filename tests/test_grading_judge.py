"""A forged score is never silent: the clean re-check of what the kernel judged.

The unit tests run the grader cell's code here (no kernel) and the clean process for real; the
last test grades the tiny lab of tests/test_grading.py in real kernels (about 2 s each), with
an added cell that makes a wrong answer pass inside the kernel.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from nbformat.v4 import new_code_cell
from test_grading import correct, grade, load_json, read, run_grader_in_process, tiny, write

from course import grading
from course.checks import check, expect
from course.grading import crosscheck, reports
from course.grading.crosscheck import DISAGREES, CrossCheck
from course.grading.judge import NotReplayable, Opaque, Replay, judge_one
from course.grading.plain import _NotPlain, canonical, decode, digest, encode

__all__ = ["tiny"]  # the fixture, shared with tests/test_grading.py

CALL = [["visible", "checks.preprocess(preprocess)"]]
ALIASES = {"checks": ["from", "course.checks", "lab01"]}

# Makes a wrong answer pass Lab 01's preprocess check inside the kernel: numpy.allclose,
# reached without naming it as an attribute, says "close" exactly when the reference is
# standardized. No standard-library function the grader fingerprints is touched.
FAKE_ALLCLOSE = '''\
import numpy as n
_real = n.allclose
vars(n)["allclose"] = lambda a, b, *args, **kwargs: bool(_real(b, b) and n.min(b) < -0.4)
'''
CONSTANT = "def {name}(images):\n    return n.full((len(images), 784), -1.0, 'float32')\n"


def fake_allclose(a, b, *args, **kwargs):
    return bool(np.min(b) < -0.4)


def constant(images):
    return np.full((len(images), 784), -1.0, "float32")


def standardized(images):
    return ((images.reshape(len(images), 784).astype("float32") / 255.0 - 0.1307) / 0.3081)


def cross_check(result: dict, points: float = 1) -> grading.GradeReport:
    """Score one in-process grader result as ``course grade`` does, clean re-check included."""
    step = grading.Step("check", "", "the check for g-check", grade_id="g-check",
                        points=points, segments=[tuple(s) for s in CALL])
    report = grading.GradeReport(path=Path("x.ipynb"))
    grading.score_steps(report, [step], [grading.Outcome(grading.Status.OK)],
                        {0: ("key", result)})
    CrossCheck(report, [step], {0: ("key", result)}, ALIASES).run()
    return report


def test_a_check_fooled_in_the_kernel_scores_0_with_the_disagreement_said(monkeypatch):
    monkeypatch.setattr(np, "allclose", fake_allclose)
    result = run_grader_in_process({"preprocess": constant}, CALL)
    assert result["results"][0]["points"] == 1  # fooled in the kernel
    monkeypatch.undo()
    report = cross_check(result)
    [test] = report.tests
    assert test.score == 0 and test.output.startswith(DISAGREES)
    assert "✘ preprocess: 0/1 points" in test.output
    assert report.flags == [f"the check for g-check: {DISAGREES} (scored 0)"]
    assert report.judged_clean == ["g"] and not report.judged_in_kernel


def test_an_honest_answer_keeps_its_score_and_is_listed_as_re_checked():
    report = cross_check(run_grader_in_process({"preprocess": standardized}, CALL))
    assert report.tests[0].score == 1 and report.tests[0].passed and not report.flags
    assert reports.judged_line(report) == "Re-checked in a clean process: g."
    data = reports.to_gradescope(report)["extra_data"]["judged"]
    assert data == {"clean": ["g"], "kernel": []}


def test_an_answer_that_is_not_plain_is_judged_in_the_kernel_and_flagged_if_it_scored():
    class Frame(np.ndarray):  # an ndarray subclass: not plain, yet the check accepts it
        pass

    report = cross_check(run_grader_in_process(
        {"preprocess": lambda images: standardized(images).view(Frame)}, CALL))
    assert report.tests[0].score == 1 and report.judged_in_kernel == ["g"]
    [flag] = report.flags
    assert "judged in the learner's kernel only" in flag and "Frame" in flag
    assert "Judged in the learner's kernel: g." in reports.to_markdown(report)


def test_a_kernel_only_check_is_not_recorded_and_not_flagged(monkeypatch):
    monkeypatch.setattr(grading.grader_cell, "judged_in_kernel", lambda *args: True)
    result = run_grader_in_process({"preprocess": standardized}, CALL)
    assert result["record"] is None
    report = cross_check(result)
    assert report.tests[0].score == 1 and report.judged_in_kernel == ["g"]
    assert not report.flags


def test_checks_declared_kernel_only_are_found_in_the_source():
    kernel_only = grading.recorder.kernel_only_checks(grading.package_hashes()[0])
    assert "course.checks.lab01.build_mlp" in kernel_only
    assert "course.checks.lab01.preprocess" not in kernel_only
    called = grading.recorder.called_checks(
        [("visible", "c.build_mlp(f)\nx.y()\ncourse.checks.lab01.preprocess(g)\nbm(h)")],
        {"c": ["module", "course.checks.lab01", None], "course": ["top", "course.checks", None],
         "bm": ["from", "course.checks.lab01", "build_mlp"]})
    assert called == {"course.checks.lab01.build_mlp", "course.checks.lab01.preprocess"}


def test_the_clean_process_failing_leaves_the_kernel_score_flagged():
    result = run_grader_in_process({"preprocess": standardized}, CALL)

    def broken(items):
        raise crosscheck.JudgeFailed("it stopped with status 1: MemoryError")

    step = grading.Step("check", "", "the check for g-check", grade_id="g-check", points=1,
                        segments=[tuple(s) for s in CALL])
    report = grading.GradeReport(path=Path("x.ipynb"))
    grading.score_steps(report, [step], [grading.Outcome(grading.Status.OK)],
                        {0: ("key", result)})
    CrossCheck(report, [step], {0: ("key", result)}, ALIASES).run(judge=broken)
    assert report.tests[0].score == 1 and report.judged_in_kernel == ["g"]
    assert "the clean re-check could not run (it stopped with status 1" in report.flags[0]


# --- the replay ------------------------------------------------------------------------------


@check(1)
def _needs_the_square_of_3(fn):
    expect(fn(3) == 9, "square 3")


def _replay(calls: list) -> Replay:
    return Replay("fn", json.loads(json.dumps(calls)), [])


def test_a_replay_returns_the_recorded_results_for_the_same_arguments():
    args = digest(((3,), {}))
    fn = _replay([{"args": args, "result": encode(9)}])
    assert _needs_the_square_of_3(fn, verbose=False).passed


@pytest.mark.parametrize(("calls", "why"), [
    ([{"args": digest(((4,), {})), "result": encode(16)}], "other arguments"),
    ([], "more often"),
    ([{"args": None, "why": "an argument is not plain (x)", "result": encode(9)}], "not plain"),
    ([{"args": digest(((3,), {})), "result": None, "why": "the result is not plain (M)"}],
     "not plain"),
])
def test_a_replay_raises_rather_than_hints_when_it_cannot_replay(calls, why):
    with pytest.raises(NotReplayable, match=why):
        _needs_the_square_of_3(_replay(calls), verbose=False)


def test_a_replay_refuses_any_use_but_calling_and_opaque_values_refuse_everything():
    fn = _replay([])
    with pytest.raises(NotReplayable, match="fn.__code__"):
        fn.__code__  # noqa: B018
    opaque = Opaque("model", "Sequential", [])
    for use in (lambda: isinstance(opaque, dict), lambda: opaque.layers, lambda: opaque + 1,
                lambda: len(opaque), lambda: opaque == 1, lambda: np.asarray(opaque) + 1):
        with pytest.raises(NotReplayable, match="model is not plain"):
            use()
    assert not isinstance(NotReplayable(), Exception)


def test_a_recorded_exception_is_raised_again_as_the_check_saw_it():
    raised = {"type": "KeyError", "message": "'w'", "line": 7,
              "bases": ["KeyError", "LookupError", "Exception", "BaseException", "object"]}
    result = _needs_the_square_of_3(_replay([{"args": digest(((3,), {})), "raised": raised}]),
                                    verbose=False)
    assert result.hint == "your code raised KeyError: 'w' (line 7 of your code)"


def test_plain_values_round_trip_exactly_and_anything_else_is_refused():
    for value in (None, True, 3, -0.0, float("nan"), 1j, "é", b"\0", [1, (2.5, {"k": None})],
                  np.arange(6, dtype="float32").reshape(2, 3), np.int64(3), np.array(["ab"])):
        back = decode(json.loads(json.dumps(encode(value))))
        assert type(back) is type(value) and canonical(encode(back)) == canonical(encode(value))
    for value in (object(), np.array([None]), np.ma.array([1]), int, 1.5 * np.ones(2).view(
            np.matrix)):
        with pytest.raises(_NotPlain):
            encode(value)
    with pytest.raises(_NotPlain, match="size cap"):
        encode(np.zeros(10), budget=40)
    for malformed in (["ndarray", "|O", [1], "AA=="], ["ndarray", "<f4", [10**12], "AAAAAA=="],
                      ["eval", "1"], ["int", "1"], "x", ["dict", [[["int", 1]]]]):
        with pytest.raises(ValueError):
            decode(malformed)


def test_a_malformed_record_is_judged_in_the_kernel():
    answer = judge_one({"grade_id": "g", "segments": CALL, "aliases": ALIASES,
                        "answers": {"preprocess": {"kind": "value", "value": ["pickle", "x"]}}})
    assert answer["status"] == "kernel" and "could not be read" in answer["why"]


def test_a_record_cannot_replace_the_kits_own_names():
    none = {"kind": "value", "value": ["none"]}
    answer = judge_one({"grade_id": "g", "segments": CALL, "aliases": ALIASES,
                        "answers": {"checks": none, "__builtins__": none, "preprocess": none}})
    assert answer["status"] == "clean"
    assert "TypeError: 'NoneType' object is not callable" in answer["results"][0]["hint"]


# --- in real kernels -------------------------------------------------------------------------


def test_a_kernel_fooled_by_learner_code_scores_0_and_says_so(tiny, tmp_path, monkeypatch):
    solutions, make = tiny
    attack = make("attack", tiny_a=CONSTANT.format(name="prep_a"), tiny_b=correct("prep_b"))
    nb = read(attack)
    nb.cells.insert(2, new_code_cell(FAKE_ALLCLOSE))  # a cell of the learner's own
    write(nb, attack)
    honest = make("honest", tiny_a=correct("prep_a"), tiny_b=correct("prep_b"))

    with monkeypatch.context() as before:  # what the kernel alone concludes (no re-check)
        before.setattr(CrossCheck, "run", lambda self: None)
        _, fooled = grade(attack, solutions=solutions, out=tmp_path / "kernel-only")
    assert fooled["attack"]["score"] == 3  # the wrong prep_a passes in the kernel, silently
    assert not fooled["attack"]["extra_data"]["flags"]

    status, results = grade(attack, honest, solutions=solutions, out=tmp_path / "grades")
    assert status == 0
    attacked = {t["name"]: t for t in results["attack"]["tests"]}
    assert attacked["tiny-a"]["score"] == 0 and attacked["tiny-a"]["output"].startswith(DISAGREES)
    assert attacked["tiny-b"]["score"] == 2  # an honest answer checked with the fake: it agrees
    assert f"the check for tiny-a-check: {DISAGREES} (scored 0)" in results["attack"][
        "extra_data"]["flags"]
    assert results["honest"]["score"] == 3 and not results["honest"]["extra_data"]["flags"]
    judged = results["honest"]["extra_data"]["judged"]
    assert judged == {"clean": ["tiny-a", "tiny-b"], "kernel": []}
    markdown = (tmp_path / "grades" / "attack.md").read_text(encoding="utf-8")
    assert "Re-checked in a clean process: tiny-a, tiny-b." in markdown and DISAGREES in markdown
    assert load_json(tmp_path / "grades", "honest")["score"] == 3
