"""``course grade``: real notebooks, made here, graded in real kernels.

Kernels are the cost (about 10 s for a Lab 01 notebook, 40 s for its full solution, 2 s for
the tiny NumPy-only lab below), so each scenario is a notebook and several notebooks share
one ``course grade`` call: one call for Lab 01, three small ones for the tiny lab.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import course.checks.lab01
from course import grading
from course.cli import main
from course.notebooks import lab_text

ROOT = Path(__file__).resolve().parent.parent
LAB01 = ROOT / "solutions" / "01_sequential_mlp.ipynb"
LAB01_CHECKS = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
                for c in nbformat.read(LAB01, as_version=4).cells
                if c.metadata.get("nbgrader", {}).get("grade")}
LAB01_POINTS = sum(LAB01_CHECKS.values())


# ---------------------------------------------------------------------------------------------
# Building notebooks
# ---------------------------------------------------------------------------------------------


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    nbformat.write(nb, path)
    return path


def cell_index(nb: nbformat.NotebookNode, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def set_source(nb: nbformat.NotebookNode, grade_id: str, source: str) -> None:
    nb.cells[cell_index(nb, grade_id)].source = source


def add_after(nb: nbformat.NotebookNode, grade_id: str, source: str) -> None:
    """Add a code cell of the learner's own (a new random id, no metadata) after a cell."""
    nb.cells.insert(cell_index(nb, grade_id) + 1, new_code_cell(source))


def solution_answer(grade_id: str) -> str:
    """The solution's source for an exercise cell, as a learner who solved it would have it."""
    solution = read(LAB01)
    return solution.cells[cell_index(solution, grade_id)].source


def lab01() -> nbformat.NotebookNode:
    """The untouched Lab 01, as `course build-labs` generates it."""
    return nbformat.reads(lab_text(LAB01), as_version=4)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_json(out: Path, name: str) -> dict:
    return json.loads((out / f"{name}.json").read_text(encoding="utf-8"))


def scores(result: dict) -> dict[str, float]:
    """Scores of the code exercises (concept questions, ``q_*``, are left out)."""
    return {test["name"]: test["score"] for test in result["tests"]
            if not test["name"].startswith("q_")}


def feedback(result: dict) -> str:
    return json.dumps(result, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Lab 01: one `course grade` call over every scenario
# ---------------------------------------------------------------------------------------------

PARTIAL_MAKE_DATASET = '''\
def make_dataset(images, labels, batch_size=64, shuffle=True, seed=0):
    """Forgets to shuffle: earns the pipeline point, not the shuffling one."""
    ds = tf.data.Dataset.from_tensor_slices((preprocess(images), labels.astype("int32")))
    return ds.batch(batch_size)
'''

MONKEYPATCH_PREPROCESS = '''\
import course.checks as core
import course.checks.lab01 as c
import course.data

def preprocess(images):
    return None

# Make every check pass, and every result look perfect, in the kernel's course modules.
c.expect = lambda *args, **kwargs: None
core.expect = lambda *args, **kwargs: None
c.build_mlp = lambda *args, **kwargs: core.CheckResult("build_mlp", 2, 2)
core.CheckResult.passed = property(lambda self: True)
core.LOG.results.append(core.CheckResult("compile_mlp", 2, 2))
course.data.preprocess = lambda images: None   # the checks' reference
'''

MONKEYPATCH_MAKE_DATASET = '''\
def make_dataset(images, labels, batch_size=64, shuffle=True, seed=0):
    """Patches the checks while the check is running, and banks points for itself."""
    import course.checks as core
    import course.checks.lab01 as c
    c.expect = core.expect = lambda *args, **kwargs: None
    core.award(2)
    return None
'''

HARDCODED = {
    "lab01-preprocess": '''\
def preprocess(images):
    print("✔ preprocess: 1/1 points")
    return None
''',
    # The visible example: build_mlp(512) with 407,050 parameters. Hidden units ignored.
    "lab01-build_mlp": '''\
def build_mlp(hidden_units=512):
    return keras.Sequential([keras.Input(shape=(784,)),
                             keras.layers.Dense(512, activation="relu"),
                             keras.layers.Dense(10)])
''',
    # The output the training cell shows, printed every 100 batches.
    "lab01-running_loss": '''\
class RunningLoss(keras.callbacks.Callback):
    def __init__(self, every=100):
        super().__init__()
        self.every = every

    def on_train_batch_end(self, batch, logs=None):
        if (batch + 1) % 100 == 0:
            print("[1,   100] loss: 0.545")
''',
    # The labels of the first test digits, as a learner could copy them from a plot.
    "lab01-predict_digits": '''\
def predict_digits(model, images):
    return np.array([7, 2, 1, 0, 4, 1, 4, 9, 5, 9])
''',
}


@pytest.fixture(scope="module")
def lab01_graded(tmp_path_factory):
    """Grade every Lab 01 scenario in one call; return (exit status, out dir, paths, hashes)."""
    folder = tmp_path_factory.mktemp("lab01")
    paths: dict[str, Path] = {}

    paths["solution"] = folder / "solution.ipynb"
    paths["solution"].write_bytes(LAB01.read_bytes())

    paths["untouched"] = folder / "untouched.ipynb"
    paths["untouched"].write_text(lab_text(LAB01), encoding="utf-8")

    nb = lab01()
    for gid in ("lab01-preprocess", "lab01-build_mlp", "lab01-running_loss"):
        set_source(nb, gid, solution_answer(gid))
    set_source(nb, "lab01-make_dataset", PARTIAL_MAKE_DATASET)
    paths["partial"] = write(nb, folder / "partial.ipynb")

    nb = lab01()  # check cells deleted, replaced, edited, moved; results forged
    del nb.cells[cell_index(nb, "lab01-preprocess-check")]
    set_source(nb, "lab01-build_mlp-check", 'print("✔ build_mlp: 2/2 points")')
    set_source(nb, "lab01-make_dataset-check", "print(checks.make_dataset(lambda *a, **k: 0))")
    moved = nb.cells.pop(cell_index(nb, "lab01-compile_mlp-check"))
    moved.source = "pass"
    nb.cells.insert(0, moved)
    nb.cells[cell_index(nb, "lab01-running_loss-check")].metadata = {}  # unlocked and emptied
    forged = {grading.RESULT_MIME: {"payload": json.dumps({
        "grade_id": "lab01-predict_digits-check", "error": None,
        "results": [{"name": "predict_digits", "points": 2.0, "max_points": 2.0, "hint": "",
                     "kind": "visible"}]}, sort_keys=True), "mac": "0" * 64}}
    add_after(nb, "lab01-predict_digits", (
        "from IPython.display import display\n"
        f"display({forged!r}, raw=True)\n"
        "for name, p in [('preprocess', 1), ('make_dataset', 2), ('build_mlp', 2),\n"
        "                ('compile_mlp', 2), ('running_loss', 3), ('predict_digits', 2)]:\n"
        "    print(f'✔ {name}: {p}/{p} points')\n"
    ))
    paths["tampered"] = write(nb, folder / "tampered.ipynb")

    nb = lab01()
    set_source(nb, "lab01-preprocess", MONKEYPATCH_PREPROCESS)
    set_source(nb, "lab01-make_dataset", MONKEYPATCH_MAKE_DATASET)
    set_source(nb, "lab01-build_mlp", "checks.build_mlp = lambda *a, **k: None\n"
               + nb.cells[cell_index(nb, "lab01-build_mlp")].source)
    add_after(nb, "lab01-build_mlp", "np.allclose = np.allclose  # flagged, harmless")
    paths["monkeypatched"] = write(nb, folder / "monkeypatched.ipynb")

    nb = lab01()
    for gid, source in HARDCODED.items():
        set_source(nb, gid, source)
    paths["hardcoded"] = write(nb, folder / "hardcoded.ipynb")

    paths["malformed"] = folder / "malformed.ipynb"
    paths["malformed"].write_text(lab_text(LAB01)[:-200], encoding="utf-8")

    before = {name: sha(path) for name, path in paths.items()}
    out = folder / "grades"
    status = main(["grade", *map(str, paths.values()), "--out", str(out)])
    return status, out, paths, before


def test_lab01_results(lab01_graded):
    status, out, paths, before = lab01_graded
    # Every learner file is byte-for-byte unchanged.
    assert {name: sha(path) for name, path in paths.items()} == before
    # The malformed notebook makes the exit status 2; the others were still graded.
    assert status == 2
    results = {name: load_json(out, name) for name in paths}
    assert results["malformed"]["extra_data"]["graded"] is False
    assert "malformed.ipynb is not valid JSON" in results["malformed"]["extra_data"]["error"]
    for name, result in results.items():
        assert result["extra_data"]["sha256"] == before[name]
        if name != "malformed":
            assert result["extra_data"]["graded"] and result["max_score"] == LAB01_POINTS
            assert list(scores(result)) == [
                "preprocess", "make_dataset", "build_mlp", "compile_mlp", "running_loss",
                "predict_digits"] and len(result["tests"]) == len(LAB01_CHECKS)
            assert (out / f"{name}.md").is_file()

    solution = results["solution"]
    assert solution["score"] == LAB01_POINTS, feedback(solution)
    assert all(t["status"] == "passed" for t in solution["tests"])
    assert solution["extra_data"]["cells"]["errors"] == 0

    untouched = results["untouched"]
    assert untouched["score"] == 0
    cells = untouched["extra_data"]["cells"]
    assert cells["executed"] == cells["planned"] and cells["timeouts"] == 0  # ran to the end
    assert "not done yet" in feedback(untouched)

    partial = results["partial"]
    assert scores(partial) == {"preprocess": 1, "make_dataset": 1, "build_mlp": 2,
                               "compile_mlp": 0, "running_loss": 3, "predict_digits": 0}
    assert partial["score"] == 7
    assert "with shuffle=True the order must change" in feedback(partial)

    # Deleted, replaced, edited, moved and unlocked check cells, printed ✔ lines and a forged
    # result message: all the checks ran from the solution, on unanswered exercises.
    tampered = results["tampered"]
    assert tampered["score"] == 0, feedback(tampered)
    assert all(t["extra_data"]["result"] == "failed" for t in tampered["tests"])

    monkeypatched = results["monkeypatched"]
    assert monkeypatched["score"] == 0, feedback(monkeypatched)
    assert "your preprocess returns None" in feedback(monkeypatched)
    flags = "\n".join(monkeypatched["extra_data"]["flags"])
    for patched in ("c.expect", "core.CheckResult.passed", "checks.build_mlp", "np.allclose"):
        assert f"assigns to {patched}" in flags

    # Hard-coded visible examples earn only what the varied inputs cannot catch.
    hardcoded = results["hardcoded"]
    assert scores(hardcoded) == {"preprocess": 0, "make_dataset": 0, "build_mlp": 1,
                                 "compile_mlp": 0, "running_loss": 0, "predict_digits": 0}
    assert "build_mlp(128) must have a 128-unit hidden layer" in feedback(hardcoded)

    # The gradebook: one row per notebook, one column per exercise.
    with open(out / "gradebook.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [Path(r["notebook"]).stem for r in rows] == list(paths)
    assert rows[0]["score"] == f"{LAB01_POINTS:g}" and rows[0]["running_loss"] == "3"
    assert rows[-1]["score"] == "" and "not valid JSON" in rows[-1]["error"]


def test_lab01_reports_where_each_exercise_was_judged(lab01_graded):
    _, out, _, _ = lab01_graded
    for name in ("solution", "partial", "untouched"):
        judged = load_json(out, name)["extra_data"]["judged"]
        assert "preprocess" in judged["clean"] and "build_mlp" in judged["kernel"], judged
        assert not set(judged["clean"]) & set(judged["kernel"])
    markdown = (out / "solution.md").read_text(encoding="utf-8")
    assert re.search(r"^Re-checked in a clean process: .*preprocess.*\. Judged in the "
                     r"learner's kernel: .*build_mlp", markdown, re.M), markdown


# ---------------------------------------------------------------------------------------------
# A tiny lab (NumPy only, reusing the Lab 01 preprocess check): timeouts, hidden tests, errors
# ---------------------------------------------------------------------------------------------

PREP = "(images.reshape(len(images), 784).astype('float32') / 255.0 - 0.1307) / 0.3081"
SECRET = "SECRET-784"


def nbgrader(grade_id: str, *, solution: bool, points: float | None = None) -> dict:
    meta = {"grade_id": grade_id, "solution": solution, "grade": not solution,
            "locked": not solution, "schema_version": 3}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def tiny_solution(folder: Path) -> Path:
    """``solutions/90_tiny.ipynb``: two exercises; the second check has a hidden test."""
    folder.mkdir(parents=True, exist_ok=True)
    answer = "def {name}(images):\n    ### BEGIN SOLUTION\n    x = " + PREP + (
        "\n    ### END SOLUTION\n    return x")
    nb = new_notebook(cells=[
        new_markdown_cell("# Tiny lab"),
        new_code_cell("import numpy as np\nfrom course.checks import lab01 as checks"),
        new_code_cell(answer.format(name="prep_a"), metadata=nbgrader("tiny-a", solution=True)),
        new_code_cell("checks.preprocess(prep_a)",
                      metadata=nbgrader("tiny-a-check", solution=False, points=1)),
        new_code_cell(answer.format(name="prep_b"), metadata=nbgrader("tiny-b", solution=True)),
        new_code_cell(
            "checks.preprocess(prep_b)\n### BEGIN HIDDEN TESTS\n"
            f"assert prep_b(np.zeros((3, 28, 28), 'uint8')).shape == (3, 784), {SECRET!r}\n"
            "### END HIDDEN TESTS",
            metadata=nbgrader("tiny-b-check", solution=False, points=2)),
    ])
    return write(nb, folder / "90_tiny.ipynb")


@pytest.fixture
def tiny(tmp_path):
    """(solutions dir, a function writing a learner's tiny notebook with given answers)."""
    solutions = tmp_path / "solutions"
    source = tiny_solution(solutions)

    def make(name: str, **answers: str) -> Path:
        nb = nbformat.reads(lab_text(source), as_version=4)
        for gid, text in answers.items():
            set_source(nb, gid.replace("_", "-"), text)
        return write(nb, tmp_path / f"{name}.ipynb")

    return solutions, make


def grade(*paths: Path, solutions: Path, out: Path, options=()) -> tuple[int, dict]:
    status = main(["grade", *map(str, paths), "--solutions", str(solutions), "--out", str(out),
                   *options])
    return status, {p.stem: load_json(out, p.stem) for p in paths}


def correct(name: str) -> str:
    return f"def {name}(images):\n    return {PREP}"


def test_timeouts_interrupt_the_cell_and_the_notebook_goes_on(tiny, tmp_path):
    solutions, make = tiny
    loop = make("loop", tiny_a="while True:\n    pass", tiny_b=correct("prep_b"))
    stubborn = make("stubborn", tiny_a=(
        "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n"
        "    except KeyboardInterrupt:\n        pass"), tiny_b=correct("prep_b"))
    before = sha(loop), sha(stubborn)
    status, results = grade(loop, stubborn, solutions=solutions, out=tmp_path / "grades",
                            options=["--timeout-cell", "3"])
    assert status == 0
    assert (sha(loop), sha(stubborn)) == before

    first, second = results["loop"]["tests"]
    assert first["score"] == 0 and first["output"] == "your cell for tiny-a timed out after 3 s"
    assert second["score"] == 2, feedback(results["loop"])  # interrupted, then went on
    assert results["loop"]["extra_data"]["cells"]["timeouts"] == 1

    # A cell that swallows the interrupt gets the kernel stopped; the rest is not run.
    first, second = results["stubborn"]["tests"]
    assert first["score"] == 0 and "timed out after 3 s" in first["output"]
    assert second["score"] == 0 and second["extra_data"]["result"] == "not run"
    assert "did not stop when interrupted" in second["output"]


def test_total_timeout_bounds_the_notebook(tiny, tmp_path):
    solutions, make = tiny
    loop = make("loop", tiny_a="while True:\n    pass", tiny_b=correct("prep_b"))
    status, results = grade(loop, solutions=solutions, out=tmp_path / "grades",
                            options=["--timeout-cell", "60", "--timeout-total", "6"])
    assert status == 0
    first, second = results["loop"]["tests"]
    assert first["score"] == 0 and "total time limit of 6 s" in first["output"]
    assert second["extra_data"]["result"] == "not run"
    assert results["loop"]["execution_time"] < 30


def test_hidden_tests_count_but_never_show_and_errors_cost_one_exercise(tiny, tmp_path):
    solutions, make = tiny
    # Passes the visible check (20 images) but not the hidden one (3 images).
    fixed = make("fixed", tiny_a=correct("prep_a"), tiny_b=(
        "def prep_b(images):\n    return (images.reshape(20, 784).astype('float32') / 255.0"
        " - 0.1307) / 0.3081"))
    good = make("good", tiny_a=correct("prep_a"), tiny_b=correct("prep_b"))
    crash = make("crash", tiny_a="def prep_a(images)\n    return images",  # SyntaxError
                 tiny_b=correct("prep_b"))
    exits = make("exits", tiny_a="import os\nos._exit(3)", tiny_b=correct("prep_b"))
    status, results = grade(fixed, good, crash, exits, solutions=solutions,
                            out=tmp_path / "grades")
    assert status == 0
    assert scores(results["good"]) == {"tiny-a": 1, "tiny-b": 2}

    assert scores(results["fixed"]) == {"tiny-a": 1, "tiny-b": 0}
    hidden = results["fixed"]["tests"][1]["output"]
    assert "✔ preprocess: 1/1 points" in hidden and "a hidden test failed (ValueError)" in hidden
    text = feedback(results["fixed"]) + (tmp_path / "grades" / "fixed.md").read_text()
    for leak in (SECRET, "assert", "(3, 28, 28)", "zeros"):
        assert leak not in text

    # An exception in the learner's cell costs that exercise only, quoting its last line.
    first, second = results["crash"]["tests"]
    assert first["score"] == 0 and re.match(r"your cell for tiny-a raised SyntaxError",
                                            first["output"])
    assert second["score"] == 2

    # A learner's cell that kills the kernel: nothing after it can run, nothing is scored.
    first, second = results["exits"]["tests"]
    assert first["output"] == "your cell for tiny-a stopped the kernel (exit() or a crash)"
    assert second["score"] == 0 and second["extra_data"]["result"] == "not run"


def test_notebooks_that_cannot_be_graded_say_why_in_one_sentence(tiny, tmp_path, capsys):
    solutions, make = tiny
    good = make("good", tiny_a=correct("prep_a"))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    (bad / "list.ipynb").write_text("[1, 2]", encoding="utf-8")
    write(new_notebook(cells=[new_code_cell("print(1)")]), bad / "plain.ipynb")
    foreign = read(good)
    foreign.cells[2].metadata["nbgrader"]["grade_id"] = "lab01-preprocess"
    write(foreign, bad / "foreign.ipynb")
    elsewhere = read(good)
    elsewhere.metadata["course"]["source"] = "solutions/77_missing.ipynb"
    write(elsewhere, bad / "elsewhere.ipynb")
    no_metadata = read(good)
    del no_metadata.metadata["course"]
    write(no_metadata, bad / "no_metadata.ipynb")  # still a lab: found by its grade_ids

    names = ["broken", "list", "plain", "foreign", "elsewhere", "no_metadata"]
    paths = [good, *(bad / f"{n}.ipynb" for n in names), bad / "absent.ipynb"]
    out = tmp_path / "grades"
    capsys.readouterr()
    status = main(["grade", *map(str, paths), "--solutions", str(solutions), "--out", str(out)])
    printed = capsys.readouterr()
    assert status == 2
    errors = [line for line in printed.err.splitlines() if line.startswith("course: error:")]
    assert len(errors) == 6  # one sentence each
    expected = {
        "broken": "is not valid JSON",
        "list": "is valid JSON but not a Jupyter notebook",
        "plain": "is not a lab of this kit",
        "foreign": "comes from another lab",
        "elsewhere": "is a lab of 77_missing.ipynb, which is not in",
        "absent": "does not exist",
    }
    for name, phrase in expected.items():
        assert any(f"{name}.ipynb {phrase}" in line for line in errors), (name, errors)
        assert len(re.findall(r"[.;] [A-Z]", load_json(out, name)["extra_data"]["error"])) == 0
    assert load_json(out, "good")["score"] == 1
    assert load_json(out, "no_metadata")["score"] == 1
    with open(out / "gradebook.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(paths)
    assert printed.out.count(": not graded") == 6


# ---------------------------------------------------------------------------------------------
# No kernel: the pieces
# ---------------------------------------------------------------------------------------------


def test_plan_restores_check_cells_and_keeps_added_cells_in_place():
    nb = lab01()
    del nb.cells[cell_index(nb, "lab01-preprocess-check")]
    del nb.cells[cell_index(nb, "lab01-compile_mlp")]
    set_source(nb, "lab01-build_mlp-check", "print('✔')")
    add_after(nb, "lab01-build_mlp", "helper = 1")
    nb.cells.insert(0, new_code_cell("first = 1"))
    solution = grading.load_solution(LAB01)
    steps, notes = grading.plan_notebook(nb, solution)
    kinds = [(s.kind, s.grade_id) for s in steps if s.kind != "solution"]
    assert kinds[0] == ("extra", None) and steps[0].source == "first = 1"
    checks = [gid for kind, gid in kinds if kind == "check"]
    in_solution = [c.metadata["nbgrader"]["grade_id"] for c in read(LAB01).cells
                   if c.metadata.get("nbgrader", {}).get("grade")]
    assert checks == in_solution  # every check, the deleted and the edited one too, in order
    assert {f"lab01-{n}-check" for n in ("preprocess", "make_dataset", "build_mlp",
                                         "compile_mlp", "running_loss",
                                         "predict_digits")} <= set(checks)
    helper = next(i for i, s in enumerate(steps) if s.source == "helper = 1")
    assert steps[helper - 1].grade_id == "lab01-build_mlp"
    assert steps[helper + 1].grade_id == "lab01-build_mlp-check"
    assert ("gap", "lab01-compile_mlp") in kinds
    assert any("no cell for lab01-compile_mlp" in note for note in notes)
    assert not any("print('✔')" in s.source for s in steps)


def test_split_hidden_keeps_order_and_kinds():
    source = "a()\n### BEGIN HIDDEN TESTS\nb()\n### END HIDDEN TESTS\nc()"
    assert grading.split_hidden(source) == [("visible", "a()"), ("hidden", "b()"),
                                            ("visible", "c()")]
    nested = "for i in range(2):\n    ### BEGIN HIDDEN TESTS\n    b(i)\n    ### END HIDDEN TESTS"
    assert grading.split_hidden(nested) == [("mixed", "for i in range(2):\n    b(i)")]


def run_grader_in_process(user_ns: dict, segments: list[list[str]],
                          setup: str = "from course.checks import lab01 as checks") -> dict:
    """Run the grader cell's code here (no kernel) and return its verified result."""
    step = grading.Step("check", "", "test", grade_id="g-check", points=1,
                        segments=[tuple(s) for s in segments])
    aliases = grading.course_aliases([setup])
    spec = grading.grader_spec(step, "key", grading.package_hashes(), aliases)
    published: list[dict] = []
    namespace: dict = {}
    exec(grading.GRADER_SOURCE, namespace)
    namespace["_grader_main"](spec, user_ns, published.append)
    outputs = [{"output_type": "display_data", "data": message} for message in published]
    result = grading.read_result(outputs, "key", "g-check")
    assert result is not None
    return result


def test_grader_uses_private_checks_that_patching_cannot_reach(monkeypatch):
    import numpy as np

    monkeypatch.setattr(course.checks.lab01, "expect", lambda *a, **k: None)
    monkeypatch.setattr(course.checks.lab01, "preprocess", lambda *a, **k: None)
    monkeypatch.setattr(course.checks, "CheckResult", None)
    logged = len(course.checks.LOG.results)
    wrong = lambda images: np.zeros((len(images), 784), "float32")  # noqa: E731
    result = run_grader_in_process({"preprocess": wrong},
                                   [["visible", "checks.preprocess(preprocess)"]])
    [check] = result["results"]
    assert check["points"] == 0 and "not standardized" in check["hint"]
    assert len(course.checks.LOG.results) == logged  # the kernel's own log is not used


@pytest.mark.parametrize(("setup", "call"), [
    ("import course.checks.lab01", "course.checks.lab01.preprocess(preprocess)"),
    ("import course.checks.lab01 as c", "c.preprocess(preprocess)"),
    ("from course.checks.lab01 import preprocess as check_it", "check_it(preprocess)"),
    ("from course import checks", "checks.lab01.preprocess(preprocess)"),
])
def test_every_import_form_gets_the_private_checks(setup, call, monkeypatch):
    import numpy as np

    monkeypatch.setattr(course.checks.lab01, "expect", lambda *a, **k: None)
    monkeypatch.setattr(course.checks.lab01, "preprocess", lambda *a, **k: None)
    wrong = lambda images: np.ones((len(images), 784), "float32")  # noqa: E731
    result = run_grader_in_process({"preprocess": wrong}, [["visible", call]], setup=setup)
    assert [r["points"] for r in result["results"]] == [0], result


def test_hidden_errors_lose_their_message():
    def broken(images):
        raise ValueError("inputs were (3, 28, 28)")

    result = run_grader_in_process(
        {"prep": broken},
        [["visible", "x = 1"], ["hidden", "assert prep(None) is None, 'SECRET'"]])
    assert result["error"] == {"kind": "hidden", "type": "ValueError", "message": ""}
    step = grading.Step("check", "", "test", grade_id="g-check", points=1)
    graded = grading.score_check(step, result)
    assert graded.score == 0 and graded.output == "a hidden test failed (ValueError)"


def test_only_one_correctly_signed_result_counts():
    payload = json.dumps({"grade_id": "g", "results": [], "error": None}, sort_keys=True)
    good = hmac.new(b"k", payload.encode(), "sha256").hexdigest()

    def outputs(*macs):
        return [{"output_type": "display_data",
                 "data": {grading.RESULT_MIME: {"payload": payload, "mac": m}}} for m in macs]

    assert grading.read_result(outputs(good), "k", "g") is not None
    assert grading.read_result(outputs("0" * 64), "k", "g") is None
    assert grading.read_result(outputs(good, good), "k", "g") is None  # doubled
    assert grading.read_result(outputs(good), "other key", "g") is None
    assert grading.read_result(outputs(good), "k", "another check") is None
    assert grading.read_result([{"output_type": "stream", "text": "✔ g: 1/1 points"}],
                               "k", "g") is None


def test_report_names_are_unique():
    paths = [Path("a/alice/01.ipynb"), Path("b/bob/01.ipynb"), Path("c/x.ipynb")]
    assert grading.report_names(paths) == ["alice__01", "bob__01", "c__x"]
    assert grading.report_names([Path("one.ipynb"), Path("two.ipynb")]) == ["one", "two"]


def test_flags_name_code_that_reaches_for_the_machinery():
    steps = [
        grading.Step("solution", "import numpy as np", "setup"),
        grading.Step("answer", "import sys\nsys._getframe(1).f_globals['expect'] = print\n"
                     "setattr(np, 'allclose', print)", "your cell for x"),
        grading.Step("extra", "from IPython.display import display\ndisplay(np.ones(2))",
                     "your added cell"),
    ]
    flags = grading.scan_for_tampering(steps)
    assert "your cell for x, line 2: inspects interpreter frames ('_getframe')" in flags
    assert "your cell for x, line 3: setattr on np (monkeypatching)" in flags
    assert not any(flag.startswith("your added cell") for flag in flags)


# ---------------------------------------------------------------------------------------------
# A forged score is never silent: the standard library the grader cell uses, patched
# ---------------------------------------------------------------------------------------------

FORGE_JSON = '''\
import matplotlib.font_manager as fm
j = getattr(fm, "js" + "on")   # the json module, reached through another library
_dumps = j.dumps

def _forge(obj, *args, **kwargs):
    """Rewrites every grader result to full marks before it is signed."""
    if isinstance(obj, dict) and "results" in obj and "grade_id" in obj:
        obj = {"grade_id": obj["grade_id"], "error": None, "results": [
            {"name": "x", "points": 9.0, "max_points": 9.0, "hint": "", "kind": "visible"}]}
    return _dumps(obj, *args, **kwargs)

vars(j)["dumps"] = _forge
'''


def test_a_patched_standard_library_function_never_forges_a_score_silently(tmp_path):
    nb = lab01()  # unsolved, plus one cell of the learner's own
    nb.cells.insert(cell_index(nb, "lab01-preprocess"), new_code_cell(FORGE_JSON))
    path = write(nb, tmp_path / "forged.ipynb")
    out = tmp_path / "grades"
    assert main(["grade", str(path), "--out", str(out)]) == 0
    result = load_json(out, "forged")
    assert result["score"] == 0, feedback(result)
    flags = "\n".join(result["extra_data"]["flags"])
    for test in result["tests"]:
        assert test["score"] == 0
        assert "json.dumps" in test["output"], test
        assert f"the check for {test['extra_data']['grade_id']}" in flags
    assert "replaced json.dumps" in flags


@pytest.mark.parametrize(("module", "name"), [
    ("hmac", "new"), ("builtins", "abs"), ("posixpath", "join"), ("_hashlib", "openssl_sha256"),
    ("json.encoder", "c_make_encoder"),
])
def test_the_grader_signs_nothing_when_what_it_uses_was_replaced(module, name, monkeypatch):
    import importlib

    import numpy as np

    target = importlib.import_module(module)
    original = getattr(target, name)
    monkeypatch.setattr(target, name, lambda *a, **k: original(*a, **k))  # same behaviour
    result = run_grader_in_process({"preprocess": lambda images: np.zeros((len(images), 784))},
                                   [["visible", "checks.preprocess(preprocess)"]])
    assert result == {"grade_id": "g-check", "results": [], "error": None,
                      "tampered": [f"{module}.{name}"]}
    step = grading.Step("check", "", "the check for g-check", grade_id="g-check", points=1)
    report = grading.GradeReport(path=Path("x.ipynb"))
    grading.score_steps(report, [step], [grading.Outcome(grading.Status.OK)],
                        {0: ("key", result)})
    assert report.tests[0].score == 0 and f"({module}.{name})" in report.tests[0].output
    assert report.flags == [f"the check for g-check: learner code replaced {module}.{name}, "
                            "which the grader uses (scored 0)"]
