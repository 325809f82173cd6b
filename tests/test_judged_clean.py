"""The clean re-check agrees with the kernel, over every lab's wrong-answer table.

For every lab and every entry of its table (the reference answers and every WrongAnswer), the
check runs live with the grader's recorders around the answer, as in a grader cell; the record
goes through JSON; then :func:`course.grading.judge.judge_one` replays it here in a fresh
namespace, with the public checks and the replay functions, as the clean process does. Whenever
the replay is possible, its result (points, hint, error, calls) equals the live one.

Each check is declared: judged in the clean process (the default) or ``judged="kernel"``. A
clean check's reference answer must replay; a kernel check's must not (so the flag is never
stale). The recorders never change a result: the recorded run equals the plain one of
tests/test_check_contract.py. README.md's table of what is judged where is generated from the
declarations and checked here.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import test_check_contract as contract
from reference import with_replicas
from test_check_contract import LABS, key, table

from course.checks import LOG, _is_learner_frame
from course.grading.crosscheck import agrees
from course.grading.grader_cell import _run_segments
from course.grading.judge import judge_one
from course.grading.plain import RECORD_BYTES
from course.grading.recorder import WRAPPED_TYPES, _record_answers

ROOT = Path(__file__).resolve().parent.parent


def judged(lab: str, check_name: str) -> str:
    """How ``check_name`` of ``lab`` is declared: ``"clean"`` or ``"kernel"``."""
    return getattr(importlib.import_module(table(lab).LAB.checks), check_name).judged


def record_and_replay(lab: str, check_name: str, answer: Any) -> dict:
    """Run the check live on a recorded ``answer``, then replay the record; both results."""
    module = table(lab).LAB.checks
    live_ns = {"checks": importlib.import_module(module), "answer": answer}
    spec = {"names": ["answer"], "record_bytes": RECORD_BYTES, "wrapped": WRAPPED_TYPES,
            "grade_id": check_name, "segments": [["visible", f"checks.{check_name}(answer)"]]}
    record = _record_answers(spec, live_ns, _is_learner_frame)
    with contextlib.redirect_stdout(io.StringIO()):
        results, error = _run_segments(spec, live_ns, LOG)
        kernel = json.loads(json.dumps({"results": results, "error": error, "record": record}))
        clean = judge_one({"grade_id": check_name, "segments": spec["segments"],
                           "aliases": {"checks": ["module", module, None]},
                           "answers": kernel["record"]["answers"]})
    [live] = results
    return {"live": [live["points"], live["hint"]], "status": clean["status"],
            "why": clean.get("why"), "agrees": clean["status"] == "clean" and agrees(kernel,
                                                                                     clean),
            "clean": [[r["points"], r["hint"]] for r in clean.get("results", [])]}


def replay_all(lab: str) -> dict:
    """:func:`record_and_replay` for the reference and every wrong answer of ``lab``."""
    return contract.over_answers(lab, record_and_replay)


@functools.cache
def replayed(lab: str) -> dict:
    """:func:`replay_all`, here, or in a new process with 2 CPU replicas when the lab needs it."""
    if not table(lab).LAB.fresh_process:
        return replay_all(lab)
    return with_replicas("test_judged_clean", "replay_all", lab)


def numbered(hint: str) -> str:
    """``hint`` with Keras' automatic names numbered alike (``'dense_79'`` → ``'dense_#'``):
    two runs of one check in one process build layers with other numbers."""
    return re.sub(r"'([a-z_]+)_\d+'", r"'\1_#'", hint)


ENTRIES = [(lab, "reference", name) for lab in LABS for name in table(lab).LAB.exercises] + [
    (lab, "wrong", key(entry)) for lab in LABS for entry in table(lab).WRONG]


@pytest.mark.parametrize(("lab", "kind", "name"), ENTRIES,
                         ids=[f"{lab}-{kind}-{name}" for lab, kind, name in ENTRIES])
def test_the_clean_re_check_agrees_with_the_kernel(lab, kind, name):
    got = replayed(lab)[kind][name]
    plain = contract.outcome(lab, kind, name)
    assert [got["live"][0], numbered(got["live"][1])] == [plain["points"], numbered(
        plain["hint"])], "the recorder changed the result"
    exercise = name if kind == "reference" else name.split("/")[0]
    if got["status"] == "clean":
        assert got["agrees"], (got["live"], got["clean"])
    if kind == "reference" and judged(lab, exercise) == "clean":
        assert got["status"] == "clean", f"declare @check(..., judged='kernel'): {got['why']}"
    if kind == "reference" and judged(lab, exercise) == "kernel":
        assert got["status"] == "kernel", "this check replays: drop its judged='kernel'"


# --- the documentation -----------------------------------------------------------------------


def where_judged() -> dict[str, dict[str, list[str]]]:
    """Per lab: its exercises judged in the clean process and those judged in the kernel."""
    found = {}
    for lab in LABS:
        exercises = table(lab).LAB.exercises
        found[lab] = {where: [name for name in exercises if judged(lab, name) == where]
                      for where in ("clean", "kernel")}
    return found


def test_readme_states_what_is_judged_where():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("<!-- judged-where -->")[1]
    for lab, where in where_judged().items():
        row = re.search(rf"^ *\| {lab[-2:]} \| (.*) \| (.*) \|$", section, re.M)
        assert row, f"README.md has no row for Lab {lab[-2:]} in the judged-where table"
        for column, names in ((1, where["clean"]), (2, where["kernel"])):
            assert row.group(column) == (", ".join(f"`{n}`" for n in names) or "—"), row.group(0)
