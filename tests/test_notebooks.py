"""Solution → lab transformation (course.notebooks): gaps, hidden tests, locking, validation."""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course.notebooks import (
    MANIFEST_NAME,
    LabBuildError,
    build_labs,
    lab_problems,
    lab_text,
    make_lab,
)

EXERCISE = """\
import math

def scale(x, factor):
    \"\"\"Return x times factor.\"\"\"
    ### BEGIN SOLUTION
    result = x * factor
    return result
    ### END SOLUTION"""

HYPER = """\
# hyper-parameters
### BEGIN SOLUTION
learning_rate = 0.01  # from the article
epochs = 3
### END SOLUTION
print(learning_rate, epochs)"""

CHECK = """\
assert scale(2, 3) == 6
### BEGIN HIDDEN TESTS
assert scale(-1, 0) == 0
### END HIDDEN TESTS"""

ANSWER = """\
Why does the loss go down?
### BEGIN SOLUTION
Because gradient descent follows the negative gradient.
### END SOLUTION"""


def nbgrader(grade_id: str, solution: bool = False, grade: bool = False, **extra) -> dict:
    """Return nbgrader cell metadata (schema 3)."""
    meta = {"grade_id": grade_id, "solution": solution, "grade": grade, "locked": False,
            "schema_version": 3}
    return {"nbgrader": {**meta, **extra}}


def code(source: str, count: int | None = 1, **metadata) -> nbformat.NotebookNode:
    """Return an executed-looking code cell with a stdout output and timing metadata."""
    cell = new_code_cell(source, execution_count=count, metadata=metadata)
    cell.outputs = [new_output("stream", name="stdout", text="stored output\n")]
    cell.metadata["execution"] = {"iopub.execute_input": "2025-01-01T00:00:00Z"}
    return cell


def solution_notebook() -> nbformat.NotebookNode:
    """Return a small solution notebook covering every kind of cell."""
    nb = new_notebook()
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "widgets": {"volatile": True},
    }
    nb.cells = [
        new_markdown_cell("# Lab 1\nWrite `scale`."),
        code(EXERCISE, 1, tags=["exercise"], **nbgrader("scale", solution=True)),
        code(CHECK, 2, **nbgrader("check_scale", grade=True, points=2)),
        code(HYPER, 3, **nbgrader("hyper", solution=True)),
        new_markdown_cell(ANSWER, metadata=nbgrader("answer", solution=True)),
        code("print('setup')", 4, **nbgrader("setup", locked=True)),
        code("print('free cell')", 5),
    ]
    return nb


@pytest.fixture
def lab() -> nbformat.NotebookNode:
    return make_lab(solution_notebook(), "01_scale.ipynb")


def test_markers_and_solution_code_are_gone(lab):
    text = nbformat.writes(lab)
    for word in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "x * factor", "0.01",
                 "negative gradient"):
        assert word not in text


def test_code_region_becomes_raise_not_implemented_at_marker_indentation(lab):
    assert lab.cells[1].source == (
        "import math\n\n"
        "def scale(x, factor):\n"
        '    """Return x times factor."""\n'
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError()"
    )


def test_simple_assignments_become_none_placeholders(lab):
    assert lab.cells[3].source == (
        "# hyper-parameters\n"
        "learning_rate = None  # YOUR CODE HERE\n"
        "epochs = None  # YOUR CODE HERE\n"
        "print(learning_rate, epochs)"
    )


@pytest.mark.parametrize(
    "region",
    [
        "x = 1\nx += 2",  # augmented assignment
        "a, b = 1, 2",  # tuple target
        "a = b = 1",  # two targets
        "x = (1 +\n     2)",  # continuation
        "x = 1; y = 2",  # two statements on a line
        "n: int = 3",  # annotated
        "model.units = 3",  # attribute target
        "# only a comment",
        "print(1)",
    ],
)
def test_anything_but_simple_assignments_gets_the_raise_stub(region):
    nb = new_notebook(cells=[
        new_code_cell(f"### BEGIN SOLUTION\n{region}\n### END SOLUTION",
                      metadata=nbgrader("ex", solution=True)),
    ])
    stub = "# YOUR CODE HERE\nraise NotImplementedError()"
    assert make_lab(nb, "x.ipynb").cells[0].source == stub


def test_several_regions_in_one_cell_with_any_indentation():
    source = (
        "class A:\n"
        "        ### BEGIN SOLUTION\n"
        "        size = 4\n"
        "        ### END SOLUTION\n"
        "        def f(self):\n"
        "            ### BEGIN SOLUTION\n"
        "            return self.size\n"
        "            ### END SOLUTION"
    )
    nb = new_notebook(cells=[new_code_cell(source, metadata=nbgrader("a", solution=True))])
    assert make_lab(nb, "x.ipynb").cells[0].source == (
        "class A:\n"
        "        size = None  # YOUR CODE HERE\n"
        "        def f(self):\n"
        "            # YOUR CODE HERE\n"
        "            raise NotImplementedError()"
    )


def test_lab_code_is_valid_python_and_the_gap_raises(lab):
    namespace: dict = {}
    for cell in lab.cells:
        if cell.cell_type == "code":
            ast.parse(cell.source)
    exec(lab.cells[1].source, namespace)  # defines scale(); runs up to the gap
    with pytest.raises(NotImplementedError):
        namespace["scale"](2, 3)
    exec(lab.cells[3].source, namespace)  # placeholders run
    assert namespace["learning_rate"] is None


def test_markdown_answer_region(lab):
    assert lab.cells[4].source == "Why does the loss go down?\nYOUR ANSWER HERE"


def test_hidden_tests_removed(lab):
    assert lab.cells[2].source == "assert scale(2, 3) == 6"


def test_outputs_and_execution_counts_cleared(lab):
    for cell in lab.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
            assert cell.execution_count is None


def test_check_and_locked_cells_are_read_only_exercises_editable(lab):
    check, setup, exercise = lab.cells[2].metadata, lab.cells[5].metadata, lab.cells[1].metadata
    for meta in (check, setup):
        assert meta["editable"] is False
        assert meta["deletable"] is False
        assert meta["nbgrader"]["locked"] is True
    assert check["nbgrader"]["points"] == 2
    assert check["nbgrader"]["grade_id"] == "check_scale"
    assert exercise.get("editable", True) is True
    assert exercise["nbgrader"]["solution"] is True
    assert exercise["tags"] == ["exercise"]
    assert "editable" not in lab.cells[6].metadata  # a plain cell stays as it was


def test_volatile_metadata_dropped_and_course_metadata_added(lab):
    assert all("execution" not in cell.metadata for cell in lab.cells)
    assert set(lab.metadata) == {"kernelspec", "language_info", "course"}
    assert lab.metadata["course"] == {"source": "solutions/01_scale.ipynb", "generated": True}
    nbformat.validate(lab)


def test_make_lab_leaves_the_solution_alone():
    solution = solution_notebook()
    before = copy.deepcopy(solution)
    make_lab(solution, "01_scale.ipynb")
    assert solution == before


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ([new_code_cell("### BEGIN SOLUTION\nx = 1", metadata=nbgrader("a", solution=True))],
         "never closed"),
        ([new_code_cell("x = 1\n### END SOLUTION", metadata=nbgrader("a", solution=True))],
         "without a matching BEGIN"),
        ([new_code_cell("### BEGIN SOLUTION\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n"
                        "### END SOLUTION", metadata=nbgrader("a", solution=True))],
         "inside an open"),
        ([new_code_cell("### BEGIN SOLUTION\nx = 1\n### END HIDDEN TESTS",
                        metadata=nbgrader("a", solution=True))],
         "without a matching BEGIN"),
        ([new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")],
         "grade_id"),
        ([new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION",
                        metadata={"nbgrader": {"solution": True, "grade_id": ""}})],
         "grade_id"),
        ([new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION",
                        metadata=nbgrader("a", grade=True))],
         '"solution": true'),
        ([new_code_cell("### BEGIN HIDDEN TESTS\nassert 1\n### END HIDDEN TESTS",
                        metadata=nbgrader("a", solution=True))],
         '"grade": true'),
        ([new_code_cell("x = 1", metadata=nbgrader("dup", solution=True)),
          new_code_cell("y = 2", metadata=nbgrader("dup", grade=True))],
         "duplicate grade_id 'dup'"),
        ([new_code_cell("x = 1  ### BEGIN SOLUTION", metadata=nbgrader("a", solution=True))],
         "left in the lab"),
        ([new_code_cell("if True:\n### BEGIN SOLUTION\n    pass\n### END SOLUTION",
                        metadata=nbgrader("a", solution=True))],
         "not valid Python"),
    ],
)
def test_validation_errors_name_notebook_and_cell(cells, message):
    nb = new_notebook(cells=[new_markdown_cell("intro"), *cells])
    with pytest.raises(LabBuildError, match=message) as info:
        make_lab(nb, "07_bad.ipynb")
    assert "solutions/07_bad.ipynb" in str(info.value)
    assert f"cell {len(cells)}" in str(info.value)


def write_solution(folder: Path, name: str, nb: nbformat.NotebookNode) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(nb, path)
    return path


def test_lab_text_is_deterministic_even_without_cell_ids(tmp_path):
    nb = solution_notebook()
    raw = json.loads(nbformat.writes(nb))
    for cell in raw["cells"]:
        del cell["id"]  # nbformat would invent random ids on every read
    path = tmp_path / "01_scale.ipynb"
    path.write_text(json.dumps(raw), encoding="utf-8")
    first = lab_text(path)
    assert lab_text(path) == first
    assert first.endswith("\n")
    assert nbformat.reads(first, as_version=4).cells[1].id == "cell-1"


def test_lab_text_keeps_solution_cell_ids(tmp_path):
    path = write_solution(tmp_path, "01_scale.ipynb", solution_notebook())
    ids = [cell.id for cell in nbformat.read(path, as_version=4).cells]
    assert [cell.id for cell in nbformat.reads(lab_text(path), as_version=4).cells] == ids


@pytest.fixture
def repo(tmp_path) -> tuple[Path, Path]:
    solutions, labs = tmp_path / "solutions", tmp_path / "labs"
    write_solution(solutions, "01_scale.ipynb", solution_notebook())
    write_solution(solutions, "02_other.ipynb", new_notebook(cells=[new_code_cell("x = 1")]))
    (solutions / ".ipynb_checkpoints").mkdir()
    write_solution(solutions / ".ipynb_checkpoints", "01_scale-checkpoint.ipynb", new_notebook())
    # a translated solution being executed (`course run-solutions --lang`): not a solution yet
    write_solution(solutions, ".03_new.rendering.ipynb",
                   new_notebook(cells=[new_code_cell("y = 1")]))
    return solutions, labs


def test_build_writes_labs_and_manifest(repo):
    solutions, labs = repo
    report = build_labs(solutions, labs)
    assert report.created == ["01_scale.ipynb", "02_other.ipynb"] and report.ok
    assert sorted(p.name for p in labs.glob("*.ipynb")) == ["01_scale.ipynb", "02_other.ipynb"]
    manifest_text = (labs / MANIFEST_NAME).read_text()
    manifest = json.loads(manifest_text)
    assert manifest_text == json.dumps(manifest, sort_keys=True, indent=2) + "\n"
    assert (labs / "01_scale.ipynb").read_text(encoding="utf-8") == lab_text(
        solutions / "01_scale.ipynb"
    )
    assert lab_problems(solutions, labs) == {}
    assert build_labs(solutions, labs).unchanged == ["01_scale.ipynb", "02_other.ipynb"]


def test_check_names_stale_missing_and_orphan_labs(repo):
    solutions, labs = repo
    assert lab_problems(solutions, labs) == {"01_scale.ipynb": "missing",
                                             "02_other.ipynb": "missing"}
    build_labs(solutions, labs)
    write_solution(solutions, "02_other.ipynb", new_notebook(cells=[new_code_cell("x = 2")]))
    (labs / "99_orphan.ipynb").write_text("{}")
    assert lab_problems(solutions, labs) == {
        "02_other.ipynb": "differs from what 02_other.ipynb in solutions generates",
        "99_orphan.ipynb": "has no solution"}


def test_check_flags_a_manifest_that_does_not_match(repo):
    solutions, labs = repo
    build_labs(solutions, labs)
    (labs / MANIFEST_NAME).unlink()
    assert lab_problems(solutions, labs) == {MANIFEST_NAME: "does not record the current labs"}


def test_invalid_solution_writes_nothing(repo):
    solutions, labs = repo
    bad = new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\nx = 1")])
    write_solution(solutions, "03_bad.ipynb", bad)
    with pytest.raises(LabBuildError, match="03_bad.ipynb"):
        build_labs(solutions, labs)
    assert not labs.exists()


# ---------------------------------------------------------------------------------------------
# The kit's own solutions: one exercise heading form, no %matplotlib magic
# ---------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
LABS = sorted((ROOT / "labs").glob("*.ipynb"))
EXERCISE_HEADING = re.compile(r"^### Exercise (?P<n>\d+) — `(?P<name>\w+)` "
                              r"\((?P<points>\d+) (?P<unit>points?)\)$")
"""CONTRIBUTING.md: ``### Exercise N — `name` (P points)``, N counted from 1 in each lab."""


def _nbgrader(cell: nbformat.NotebookNode) -> dict:
    return cell.metadata.get("nbgrader", {})


def _defined_names(source: str) -> set[str]:
    """Top-level functions, classes and assigned names of a solution cell."""
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _heading_problems(heading: re.Match, number: int, source: str, check_points: int | None,
                      where: str) -> list[str]:
    """What is wrong with one exercise's heading: its number, name, points or their unit."""
    problems = []
    if int(heading["n"]) != number:
        problems.append(f"{where}: numbered {heading['n']}, but it is exercise {number}")
    if heading["name"] not in _defined_names(source):
        problems.append(f"{where}: the heading names `{heading['name']}`, which the cell "
                        "does not define")
    if check_points is None or int(heading["points"]) != check_points:
        problems.append(f"{where}: the heading says {heading['points']} points, its check "
                        f"cell gives {check_points}")
    if heading["unit"] != ("point" if heading["points"] == "1" else "points"):
        problems.append(f"{where}: '{heading['points']} {heading['unit']}'")
    return problems


def exercise_heading_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Why ``nb``'s exercises do not each have ``### Exercise N — `name` (P points)`` before them.

    Each solution cell (nbgrader ``solution``, code) must follow a markdown cell holding exactly
    one such heading: N counts the exercises of the notebook from 1, ``name`` is a function,
    class or variable the cell defines, P is its check cell's points (``1 point``, ``2
    points``). No other heading of the notebook may name an exercise.
    """
    cells = nb.cells
    points = {_nbgrader(c).get("grade_id"): _nbgrader(c).get("points")
              for c in cells if _nbgrader(c).get("grade")}
    problems, number, expected_headings = [], 0, set()
    for index, cell in enumerate(cells):
        meta = _nbgrader(cell)
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        number += 1
        where = f"cell {index} ({meta.get('grade_id')})"
        previous = cells[index - 1] if index else None
        if previous is None or previous.cell_type != "markdown":
            problems.append(f"{where}: no markdown cell right before the exercise")
            continue
        found = [m for line in previous.source.splitlines()
                 if (m := EXERCISE_HEADING.match(line.strip()))]
        if len(found) != 1:
            problems.append(f"{where}: the markdown cell before it has {len(found)} exercise "
                            "headings of the form '### Exercise N — `name` (P points)'")
            continue
        expected_headings.add((index - 1, found[0].group(0)))
        problems += _heading_problems(found[0], number, cell.source,
                                      points.get(f"{meta.get('grade_id')}-check"), where)
    for index, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            is_heading = line.lstrip().startswith("#") or line.lstrip().startswith("**Exercise")
            if is_heading and "Exercise" in line and (index, line.strip()) not in expected_headings:
                problems.append(f"cell {index}: exercise heading not right before its exercise "
                                f"or not of the one form: {line.strip()!r}")
    return problems


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_exercise_has_the_one_heading_form_right_before_it(path):
    nb = nbformat.read(path, as_version=4)
    assert any(_nbgrader(c).get("solution") for c in nb.cells), "a lab without exercises"
    assert exercise_heading_problems(nb) == []


@pytest.mark.parametrize("heading, message", [
    ("## 5. Exercise 1 — preprocessing (1 point)", "0 exercise headings"),
    ("### Exercise 2 — `scale` (1 point)", "numbered 2, but it is exercise 1"),
    ("### Exercise 1 — `factor` (1 point)", "does not define"),
    ("### Exercise 1 — `scale` (2 points)", "says 2 points, its check cell gives 1"),
    ("### Exercise 1 — `scale` (1 points)", "'1 points'"),
])
def test_exercise_heading_problems_are_found(heading, message):
    nb = new_notebook(cells=[
        new_markdown_cell(f"## 1. Scaling\n\n{heading}\n\nWrite `scale(x, factor)`."),
        code(EXERCISE, **nbgrader("t-scale", solution=True)),
        code("checks.scale(scale)", **nbgrader("t-scale-check", grade=True, points=1)),
    ])
    problems = exercise_heading_problems(nb)
    assert any(message in p for p in problems), problems


def test_exercise_heading_far_from_its_exercise_is_found():
    nb = new_notebook(cells=[
        new_markdown_cell("### Exercise 1 — `scale` (1 point)"),
        code("demo = 1"),
        new_markdown_cell("Write `scale(x, factor)`."),
        code(EXERCISE, **nbgrader("t-scale", solution=True)),
        code("checks.scale(scale)", **nbgrader("t-scale-check", grade=True, points=1)),
    ])
    problems = exercise_heading_problems(nb)
    assert len(problems) == 2 and "0 exercise headings" in problems[0], problems
    assert "not right before its exercise" in problems[1]


@pytest.mark.parametrize("path", SOLUTIONS + LABS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_notebook_uses_a_matplotlib_magic(path):
    """CONTRIBUTING.md: no ``%matplotlib inline``; course.plots figures display by themselves."""
    nb = nbformat.read(path, as_version=4)
    magic = [(i, line) for i, c in enumerate(nb.cells) if c.cell_type == "code"
             for line in c.source.splitlines()
             if line.lstrip().startswith(("%matplotlib", "%pylab"))]
    assert magic == []


@pytest.mark.parametrize("path", [p for p in SOLUTIONS if "plots." in p.read_text("utf-8")],
                         ids=lambda p: p.name)
def test_figures_display_as_images_without_the_magic(path):
    nb = nbformat.read(path, as_version=4)
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images, f"{path.name} draws with course.plots but stores no image/png output"
