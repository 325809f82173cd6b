"""Concept questions: the right answer earns the point; every known mistake gets its own hint."""

from __future__ import annotations

import pytest

from course.checks import LOG
from course.checks.concepts import QUESTIONS, Question, ask, digest, normalise, questions_for

# The answer key (maintainers only; the package stores digests).
ANSWERS: dict[str, object] = {
    'lab01-params': 407050,
    'lab01-logits': 'b',
    'lab01-lines_per_epoch': 1,
    'lab01-shuffle_order': 'b',
    'lab02-params': 109386,
    'lab02-overfit_curve': 'c',
    'lab02-restored_epoch': 9,
    'lab02-adam_slots': 2,
    'lab03-unused_gradient': 'd',
    'lab03-mse_grad': 'a',
    'lab03-params': 325,
    'lab03-one_step': 0.47,
    'lab04-steps_per_epoch': 125,
    'lab04-training_false': 'b',
    'lab04-zero_grad': 'a',
    'lab05-global_batch': 64,
    'lab05-per_replica': 16,
    'lab05-bug_factor': 2,
    'lab05-what_is_copied': 'd',
    'lab06-task_index': 1,
    'lab06-own_folder': 'a',
    'lab06-resume_step': 20,
    'lab06-per_worker': 32,
}


def test_the_key_covers_every_question_and_3_to_5_per_lab() -> None:
    assert set(ANSWERS) == set(QUESTIONS)
    for lab in ("01", "02", "03", "04", "05", "06"):
        assert 3 <= len(questions_for(lab)) <= 5, lab


@pytest.mark.parametrize("key", sorted(QUESTIONS))
def test_right_answer_full_points_and_every_wrong_one_its_own_hint(key: str) -> None:
    question = QUESTIONS[key]
    assert digest(key, normalise(question, ANSWERS[key])) == question.digest
    assert ask(key, ANSWERS[key]).points == question.points
    if question.options:
        assert set(question.options) == {"a", "b", "c", "d"}
        wrong = sorted(set(question.options) - {ANSWERS[key]})
        assert sorted(question.hints) == wrong, "each wrong option needs a hint of its own"
        assert ask(key, str(ANSWERS[key]).upper() + ")").passed  # "B)" is read as "b"
    else:
        wrong = [float(value) for value in question.hints]
        assert len(wrong) >= 2
    for value in wrong:
        result = ask(key, value)
        assert result.points == 0
        assert result.hint == question.hints[normalise(question, value)]
        assert result.hint != question.otherwise


@pytest.mark.parametrize("key", sorted(QUESTIONS))
def test_unknown_mistakes_none_and_wrong_types_get_a_hint(key: str) -> None:
    question: Question = QUESTIONS[key]
    assert "replace None" in ask(key, None).hint
    if question.options:
        assert 'one letter: "a", "b", "c", "d"' in ask(key, "e").hint
        assert "one letter" in ask(key, 2).hint
    else:
        unknown = 987654.321
        assert ask(key, unknown).hint == question.otherwise
        assert "answer with a number (got str)" in ask(key, str(ANSWERS[key])).hint
        assert "answer with a number (got bool)" in ask(key, True).hint


def test_results_are_recorded_for_the_grader_and_printed(capsys) -> None:
    LOG.clear()
    ask("lab01-params", 401408)
    line = capsys.readouterr().out.strip()
    assert line.startswith("✘ question params: 0/1 points — that is the first layer")
    assert [r.name for r in LOG.results] == ["question params"]
