"""``benchmarks.lab_times``: what it counts in a lab, its arithmetic, and the stated times it
feeds (each lab's "Estimated time" and the README syllabus agree). No kernel is started."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks import lab_times

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


def _stated_exercises(solution: Path) -> int:
    text = solution.read_text(encoding="utf-8")
    return int(re.search(r"\*\*Exercises:\*\* (\d+)", text).group(1))


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_every_exercise_the_lab_announces_is_counted_once(solution: Path) -> None:
    lab = lab_times.count(solution)
    assert len(lab.exercises) == _stated_exercises(solution)
    assert len({e.grade_id for e in lab.exercises}) == len(lab.exercises)
    assert all(e.kind in lab_times.KINDS and e.lines >= 1 for e in lab.exercises)
    assert lab.words > 1000 and lab.stated is not None


@pytest.mark.parametrize("body, kind", [
    ("q_params = 407050\n", "concept"),
    ("    return x\n", "code-short"),
    ("    # a comment\n\n    a = 1\n    b = 2\n    c = 3\n    return a\n", "code"),
    ("".join(f"    x{i} = {i}\n" for i in range(10)), "code-long"),
])
def test_exercise_kinds(body: str, kind: str) -> None:
    assert lab_times.exercise_kind(body)[0] == kind


def test_the_estimate_is_reading_plus_working_plus_run_time_rounded_to_5_minutes() -> None:
    lab = lab_times.LabTime("99_x", words=lab_times.READING_WPM * 10,
                            exercises=[lab_times.Exercise("a", "concept", 1),
                                       lab_times.Exercise("b", "code-long", 12)],
                            stated=30, run_seconds=90.0)
    minutes = 10 + lab_times.KINDS["concept"][0] + lab_times.KINDS["code-long"][0] + 1.5
    assert lab.estimate == pytest.approx(minutes)
    assert lab.rounded == 5 * round(minutes / 5)
    table = lab_times.report([lab], "python -m benchmarks.lab_times")
    assert f"**{lab.rounded} min**" in table and "| 30 min |" in table


def test_each_labs_estimated_time_is_the_readme_syllabus_time() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for solution in SOLUTIONS:
        row = next(line for line in readme.splitlines()
                   if line.startswith(f"| **{solution.name[:2]} "))
        assert row.rstrip(" |").endswith(f"| {lab_times.count(solution).stated} min"), row[-40:]
