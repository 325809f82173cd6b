"""One contract for every lab's checks, run over the tables in ``tests/wrong_answers/``.

For each lab: its solution cells are the exercises its checks grade, the points add up to
what the notebook states, and the reference answers earn full points with the promised line.
For each wrong answer of a table: it loses points, earns exactly the points its entry
states, and its hint contains the entry's words (or, for an entry with a ``gap``, the gap is
still real). At least eight wrong answers per exercise, and at least 95 % of all of them get
their expected words.

Labs that need replicas (``fresh_process``) are graded in one new Python process that makes
its 2 CPU replicas before TensorFlow starts; the others are graded here.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from typing import Any

import nbformat
import pytest
import wrong_answers
from reference import solution_namespace, with_replicas
from wrong_answers import Lab, WrongAnswer

MIN_WRONG_PER_EXERCISE = 8
MIN_SHARE_WITH_WORDS = 0.95
LABS = sorted(m.name for m in pkgutil.iter_modules(wrong_answers.__path__)
              if m.name.startswith("lab"))


def table(lab: str) -> Any:
    """The table module ``wrong_answers.<lab>``."""
    return importlib.import_module(f"wrong_answers.{lab}")


@functools.cache
def namespace(lab: str) -> dict:
    """The lab's solution cells, executed in order into one namespace."""
    spec: Lab = table(lab).LAB
    return solution_namespace(spec.path, spec.setup)


def answer_of(lab: str, entry: WrongAnswer) -> Any:
    """The entry's answer; source text runs in a copy of the solution namespace."""
    if not isinstance(entry.answer, str):
        return entry.answer
    scope = dict(namespace(lab))
    exec(compile(entry.answer, f"<{entry.id}>", "exec"), scope)
    return scope[table(lab).LAB.exercises[entry.exercise]]


def grade(lab: str, check_name: str, answer: Any) -> dict:
    """Run one check quietly; its result as a dict, with how many results it logged."""
    from course.checks import LOG

    before = len(LOG.results)
    checks = importlib.import_module(table(lab).LAB.checks)
    result = getattr(checks, check_name)(answer, verbose=False)
    return {"points": result.points, "max_points": result.max_points, "hint": result.hint,
            "line": result.line(), "passed": result.passed,
            "logged": len(LOG.results) - before}


def over_answers(lab: str, judge: Any) -> dict:
    """``judge(lab, exercise, answer)`` on the reference and every wrong answer of ``lab``:
    {"reference": {exercise: ...}, "wrong": {key: ...}}."""
    spec: Lab = table(lab).LAB
    ns = namespace(lab)
    return {"reference": {name: judge(lab, name, ns[defined])
                          for name, defined in spec.exercises.items()},
            "wrong": {key(entry): judge(lab, entry.exercise, answer_of(lab, entry))
                      for entry in table(lab).WRONG}}


def grade_all(lab: str) -> dict:
    """Grade the reference and every wrong answer of ``lab`` (:func:`over_answers`)."""
    return over_answers(lab, grade)


@functools.cache
def graded_elsewhere(lab: str) -> dict:
    """:func:`grade_all` in a new Python process that makes 2 CPU replicas first."""
    return with_replicas("test_check_contract", "grade_all", lab, timeout=1200)


def key(entry: WrongAnswer) -> str:
    """A wrong answer's name within its lab: ``exercise/id``."""
    return f"{entry.exercise}/{entry.id}"


def outcome(lab: str, kind: str, name: str) -> dict:
    """The graded result of the reference (kind "reference", name = the exercise) or of a
    wrong answer (kind "wrong", name = its :func:`key`)."""
    if table(lab).LAB.fresh_process:
        return graded_elsewhere(lab)[kind][name]
    if kind == "reference":
        return grade(lab, name, namespace(lab)[table(lab).LAB.exercises[name]])
    entry = next(e for e in table(lab).WRONG if key(e) == name)
    return grade(lab, entry.exercise, answer_of(lab, entry))


def graded_cells(lab: str) -> dict[str, float]:
    """grade_id → points of the notebook's graded (check) cells."""
    nb = nbformat.read(table(lab).LAB.path, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"].get("points")
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata["nbgrader"].get("solution")
            and not is_concept_question(c.metadata["nbgrader"]["grade_id"])}


def is_concept_question(grade_id: str) -> bool:
    """``labNN-q_name`` (and its ``-check``): a concept question, whose answers and hints
    tests/test_concepts.py covers; the tables here are for code exercises."""
    return grade_id.split("-")[1].startswith("q_")


# --- the lab as a whole -------------------------------------------------------------------------

@pytest.mark.parametrize("lab", LABS)
def test_solution_cells_are_the_exercises_in_order(lab):
    nb = nbformat.read(table(lab).LAB.path, as_version=4)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
           if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
    ids = [gid for gid in ids if not is_concept_question(gid)]
    assert ids == [f"{lab}-{name}" for name in table(lab).LAB.exercises]


@pytest.mark.parametrize("lab", LABS)
def test_every_public_check_is_an_exercise(lab):
    checks = importlib.import_module(table(lab).LAB.checks)
    public = {name for name, value in vars(checks).items()
              if callable(value) and hasattr(value, "max_points")}
    assert public == set(table(lab).LAB.exercises)


@pytest.mark.parametrize("lab", LABS)
def test_points_add_up_to_what_the_notebook_states(lab):
    spec: Lab = table(lab).LAB
    checks = importlib.import_module(spec.checks)
    points = {name: getattr(checks, name).max_points for name in spec.exercises}
    assert sum(points.values()) == spec.points
    assert graded_cells(lab) == {f"{lab}-{name}-check": p for name, p in points.items()}


@pytest.mark.parametrize(("lab", "exercise"),
                         [(lab, name) for lab in LABS for name in table(lab).LAB.exercises])
def test_reference_earns_full_points(lab, exercise):
    result = outcome(lab, "reference", exercise)
    points = f"{result['max_points']:g}"
    assert result["line"] == f"✔ {exercise}: {points}/{points} points", result["line"]
    assert result["logged"] == 1


@pytest.mark.parametrize("lab", LABS)
def test_each_exercise_has_enough_wrong_answers(lab):
    counts = {name: 0 for name in table(lab).LAB.exercises}
    for entry in table(lab).WRONG:
        counts[entry.exercise] += 1
    assert min(counts.values()) >= MIN_WRONG_PER_EXERCISE, counts
    keys = [key(entry) for entry in table(lab).WRONG]
    assert len(keys) == len(set(keys)), "wrong-answer ids must be unique within an exercise"


def test_hardly_any_wrong_answer_misses_its_words():
    entries = [entry for lab in LABS for entry in table(lab).WRONG]
    with_words = [entry for entry in entries if not entry.gap]
    assert len(with_words) / len(entries) >= MIN_SHARE_WITH_WORDS, \
        [(entry.id, entry.gap) for entry in entries if entry.gap]


# --- every wrong answer -------------------------------------------------------------------------

@pytest.mark.parametrize(("lab", "entry"),
                         [(lab, entry) for lab in LABS for entry in table(lab).WRONG],
                         ids=[f"{lab}-{entry.exercise}-{entry.id}" for lab in LABS
                              for entry in table(lab).WRONG])
def test_wrong_answer_loses_points_with_a_hint_that_names_it(lab, entry):
    result = outcome(lab, "wrong", key(entry))
    assert not result["passed"] and result["points"] < result["max_points"], result["line"]
    assert result["points"] == entry.points, result["line"]
    assert result["logged"] == 1
    missing = [word for word in entry.must_contain if word not in result["hint"]]
    if entry.gap:
        assert missing, f"{entry.id} is listed as a gap ({entry.gap}) but its hint is right now"
    else:
        assert not missing, result["line"]


def english_left(chinese: str) -> list[str]:
    """Runs of three or more English words left in a translated hint.

    What stays as printed is skipped: `code`, quoted values, lists and dicts, the
    ``# YOUR CODE HERE`` marker, the text of an exception the learner's code raised, and
    names in a row (``Dense, Dropout, Dense``).
    """
    text = chinese.split("你的代码抛出了")[0]
    text = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"|\[[^\]]*\]|\{[^}]*\}|# YOUR CODE HERE", " ", text)
    runs = re.findall(r"(?<![\w-])[A-Za-z]{2,}(?:[ ,;:]+[A-Za-z]{2,}){2,}(?![\w-])", text)
    return [run for run in runs if len(re.findall(r"\b[a-z]+\b", run)) >= 2]  # not Dense, Dropout


def test_english_left_finds_a_fragment():
    assert english_left("打印行 3：'[2, 3] loss: 0.670': reset the running sum in on_epoch_begin")
    assert not english_left("请用 `keras.layers.Dense(10)`：'a b c' [a, b, c] 你的代码抛出了 x y z")


@pytest.mark.parametrize("lab", LABS)
def test_every_hint_prints_in_chinese(lab):
    """The Chinese catalogue covers every hint a wrong answer gets: translated, its words kept.

    A hint is an English template filled with values (``course.i18n``); in Chinese the template
    is the translator's and the values (numbers, code, names) stay as they were printed. No
    English sentence may be left over (a hint glued from pieces that match no one template).
    """
    from course.i18n import has_cjk, tr

    untranslated = []
    for entry in table(lab).WRONG:
        hint = outcome(lab, "wrong", key(entry))["hint"]
        chinese = tr(hint, "zh")
        left = english_left(chinese)
        if not has_cjk(chinese) or left:
            untranslated.append(f"{key(entry)}: {chinese} (left: {left})")
    assert not untranslated, "\n".join(untranslated)
