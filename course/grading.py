"""Grade learners' labs: a fresh kernel, timeouts, check cells restored, a score to trust.

``course grade PATH...`` runs here. For each notebook:

1. **Read, never write.** The file's bytes are read once (and hashed); everything else works
   on an in-memory copy, and the kernel runs in an empty temporary directory.
2. **Identify the lab** from ``metadata.course.source`` (written by ``course build-labs``)
   and the exercise ``grade_id`` s, and read its solution from ``solutions/``.
3. **Rebuild the notebook from the solution.** The solution's code cells in the solution's
   order; every exercise cell (``nbgrader.solution``) takes the learner's source for its
   ``grade_id`` (the lab's gap when the learner deleted it); setup and demonstration cells
   come from the solution; every check cell is replaced by a *grader cell*. Code cells the
   learner added run too, after the cell they followed in the learner's notebook (helpers
   and experiments are part of their work; their outputs are never read for the score).
   Learner edits to setup, demo or check cells are not run.
4. **Run it** in one fresh kernel (this interpreter, ``KERNEL_ENV``, like
   ``course run-solutions``). A cell longer than ``timeout_cell`` is interrupted and the
   notebook goes on; a cell that ignores the interrupt gets the kernel stopped; nothing starts
   after ``timeout_total``.
5. **Score only what the grader measured.** A grader cell loads *private* copies of the
   ``course`` modules it needs straight from the package files (SHA-256 checked, never put in
   ``sys.modules``), runs the solution's check source (hidden tests included) against the
   learner's objects, and publishes the results as one display message of type
   :data:`RESULT_MIME` signed with a key that exists only in that cell (HMAC-SHA256). Only a
   correctly signed message, exactly one, in the output of that grader cell counts. Printed
   text never counts; monkeypatching ``course.checks``/``course.data`` in the kernel does not
   reach the private copies.

What in-process grading cannot stop: learner code runs in the same Python process, so code
written to attack the grader itself (patching the standard library or IPython, walking
interpreter frames to find the key) could still forge a result. Such code is *flagged*
(:func:`scan_for_tampering`) in every report for a human to look at.

Scoring: a check cell is worth its ``nbgrader.points``; it earns that times the fraction of
check points its checks awarded (partial credit). It scores 0 when the exercise cell it
follows raised or timed out (the report quotes the error's last line), when its own code
raised (a hidden test's error is reported without its message), or when it ran no check.
Feedback holds the checks' one-line results (hints); never the hidden tests' code or values.

Only the standard library, nbformat and (when a notebook runs) nbclient are imported here;
never TensorFlow.
"""

from __future__ import annotations

import ast
import asyncio
import csv
import hashlib
import hmac
import inspect
import io
import json
import logging
import os
import re
import secrets
import signal
import subprocess
import tempfile
import textwrap
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from course.notebooks import (
    BEGIN_HIDDEN_TESTS,
    END_HIDDEN_TESTS,
    LabBuildError,
    find_repo_root,
    make_lab,
    python_source,
    read_solution,
)

DEFAULT_TIMEOUT_CELL_S = 300.0
"""Seconds a cell may run before it is interrupted (``--timeout-cell``)."""
DEFAULT_TIMEOUT_TOTAL_S = 1800.0
"""Seconds after which no further cell of a notebook starts (``--timeout-total``)."""
FORMATS = ("json", "md", "csv")
RESULT_MIME = "application/vnd.course.grade+json"
"""The display-data type of a grader cell's signed result."""
GRADEBOOK_NAME = "gradebook.csv"


class NotGradable(ValueError):
    """A notebook cannot be graded; the message is one sentence saying why."""


class GradingInterrupted(Exception):
    """Ctrl-C while a notebook ran (raised as KeyboardInterrupt once the kernel is stopped)."""


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass
class TestResult:
    """The grade of one check cell (one exercise)."""

    name: str
    """The exercise, e.g. ``"build_mlp"`` (from the check cell's grade_id)."""
    grade_id: str
    score: float
    max_score: float
    output: str
    """Feedback: the checks' one-line results, or why the check scored 0."""
    result: str = "failed"
    """``passed``, ``failed``, ``error`` (the learner's code raised), ``timeout``, ``not run``."""

    __test__ = False  # not a pytest test class

    @property
    def passed(self) -> bool:
        return self.result == "passed"


@dataclass
class GradeReport:
    """Everything ``course grade`` learned about one notebook."""

    path: Path
    sha256: str | None = None
    lab: str | None = None
    """The solution's file name, e.g. ``"01_sequential_mlp.ipynb"``."""
    tests: list[TestResult] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    """One sentence when the notebook could not be graded (exit status 2)."""
    notes: list[str] = field(default_factory=list)
    """What happened while running (cells that raised or timed out, the kernel stopping)."""
    flags: list[str] = field(default_factory=list)
    """Learner code that reaches for the grading machinery: for a human to review."""
    cells: dict[str, int] = field(default_factory=dict)
    """Counts: ``planned``, ``executed``, ``errors``, ``timeouts`` (code cells)."""

    @property
    def graded(self) -> bool:
        return self.error is None

    @property
    def score(self) -> float:
        return _round(sum(t.score for t in self.tests))

    @property
    def max_score(self) -> float:
        return _round(sum(t.max_score for t in self.tests))


def _round(value: float) -> float:
    value = round(float(value), 4)
    return int(value) if value == int(value) else value


# ---------------------------------------------------------------------------------------------
# Reading a notebook and identifying its lab
# ---------------------------------------------------------------------------------------------


def _source(cell: Any) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _nbgrader(cell: Any) -> dict:
    meta = cell.get("metadata") or {}
    value = meta.get("nbgrader") if isinstance(meta, dict) else None
    return value if isinstance(value, dict) else {}


def _grade_id(cell: Any) -> str | None:
    gid = _nbgrader(cell).get("grade_id")
    return gid if isinstance(gid, str) and gid else None


def parse_notebook(data: bytes, shown: str) -> nbformat.NotebookNode:
    """Parse a learner's notebook bytes, or raise :class:`NotGradable` in one sentence."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotGradable(f"{shown} is not a notebook: it is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise NotGradable(
            f"{shown} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}), "
            "so it cannot be graded; save it again from Jupyter."
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise NotGradable(f"{shown} is valid JSON but not a Jupyter notebook (it has no cells).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as exc:  # nbformat raises many types for malformed notebooks
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NotGradable(f"{shown} is not a readable Jupyter notebook ({reason}).") from None


def find_solutions_dir(start: Path | None = None) -> Path | None:
    """Return the kit's ``solutions/``: the installed package's repository first, then the cwd's.

    The package's own repository comes first because the checks are loaded from that package;
    a ``solutions/`` folder next to a submission is never used (it could be the learner's).
    """
    package_repo = Path(__file__).resolve().parent.parent
    for candidate in (package_repo / "solutions", find_repo_root(start) / "solutions"):
        if candidate.is_dir():
            return candidate
    return None


@dataclass
class _Solution:
    path: Path
    notebook: nbformat.NotebookNode
    grade_ids: set[str]


def _load_solution(path: Path) -> _Solution:
    nb = read_solution(path)
    return _Solution(path, nb, {gid for c in nb.cells if (gid := _grade_id(c))})


def identify_lab(nb: nbformat.NotebookNode, shown: str, solutions_dir: Path) -> _Solution:
    """Return the solution ``nb`` is a lab of, or raise :class:`NotGradable`.

    ``metadata.course.source`` names the solution; without it, the solution whose exercise
    ``grade_id`` s include all of the notebook's. Either way every ``grade_id`` in ``nb`` must
    belong to that solution.
    """
    learner_ids = {gid for c in nb.cells if (gid := _grade_id(c))}
    course_meta = nb.metadata.get("course")
    source = course_meta.get("source") if isinstance(course_meta, dict) else None
    paths = sorted(Path(solutions_dir).glob("*.ipynb"))
    cache: dict[Path, _Solution] = {}

    def solution(path: Path) -> _Solution:
        if path not in cache:
            cache[path] = _load_solution(path)
        return cache[path]

    def owner(gid: str) -> str | None:
        return next((p.name for p in paths if gid in solution(p).grade_ids), None)

    if isinstance(source, str) and source:
        path = Path(solutions_dir) / Path(source).name
        if not path.is_file():
            raise NotGradable(
                f"{shown} is a lab of {Path(source).name}, which is not in {solutions_dir}; "
                "pass the kit's solutions with --solutions DIR."
            )
        found = solution(path)
        foreign = sorted(learner_ids - found.grade_ids)
        if foreign:
            other = owner(foreign[0])
            belongs = f"to {other}" if other else "to no lab of this kit"
            raise NotGradable(
                f"{shown} comes from another lab: its metadata names {path.name} but its "
                f"exercise cell {foreign[0]!r} belongs {belongs}."
            )
        return found
    if learner_ids:
        for path in paths:
            if learner_ids <= solution(path).grade_ids:
                return solution(path)
        owners = {gid: owner(gid) for gid in sorted(learner_ids)}
        known = [gid for gid, lab in owners.items() if lab]
        if known:
            other = next(gid for gid, lab in owners.items() if lab != owners[known[0]])
            raise NotGradable(
                f"{shown} mixes exercise cells of several labs ({known[0]!r} of "
                f"{owners[known[0]]}, {other!r} of {owners[other] or 'no lab of this kit'}), "
                "so it cannot be graded."
            )
    raise NotGradable(
        f"{shown} is not a lab of this kit: it has no course metadata and no exercise cell of "
        f"a notebook in {solutions_dir}."
    )


# ---------------------------------------------------------------------------------------------
# The plan: which code runs, in which order
# ---------------------------------------------------------------------------------------------


@dataclass
class Step:
    """One code cell of the notebook the grader runs."""

    kind: str
    """``solution`` (setup/demo, from the solution), ``answer`` (the learner's exercise cell),
    ``gap`` (the lab's gap, for a deleted exercise cell), ``extra`` (a cell the learner added),
    ``check`` (a grader cell)."""
    source: str
    where: str
    """How the report names this cell, e.g. ``"your cell for lab01-preprocess"``."""
    grade_id: str | None = None
    exercise: str | None = None
    """For a check: the grade_id of the exercise cell it depends on."""
    points: float | None = None
    segments: list[tuple[str, str]] = field(default_factory=list)
    """For a check: ``("visible" | "hidden" | "mixed", source)`` parts, run in order."""


def split_hidden(source: str) -> list[tuple[str, str]]:
    """Split a check cell's source into visible and hidden-test parts, in order.

    Each part must compile on its own (hidden tests at top level, as the kit writes them);
    otherwise the whole cell is one ``"mixed"`` part, whose errors are reported as hidden.
    """
    source = python_source(source)
    parts: list[tuple[str, list[str]]] = [("visible", [])]
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped == BEGIN_HIDDEN_TESTS:
            parts.append(("hidden", []))
        elif stripped == END_HIDDEN_TESTS:
            parts.append(("visible", []))
        else:
            parts[-1][1].append(line)
    segments = [(kind, "\n".join(lines)) for kind, lines in parts if "".join(lines).strip()]
    try:
        for _, text in segments:
            compile(text, "<check>", "exec", dont_inherit=True)
    except SyntaxError:
        return [("mixed", "\n".join(
            line for line in source.split("\n")
            if line.strip() not in (BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS)
        ))]
    return segments


def _course_aliases(sources: list[str]) -> dict[str, list[str | None]]:
    """Names the solution's code binds to ``course`` modules: ``{name: [how, module, attr]}``.

    ``["module", "course.checks.lab01", None]`` for ``import course.checks.lab01 as name``;
    ``["top", "course.checks.lab01", None]`` for ``import course.checks.lab01`` (binds
    ``course``); ``["from", "course.checks", "lab01"]`` for ``from course.checks import lab01``
    (a submodule or an attribute). A grader cell binds each name to its private copy.
    """
    aliases: dict[str, list[str | None]] = {}
    for source in sources:
        try:
            tree = ast.parse(python_source(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for item in node.names:
                    if item.name == "course" or item.name.startswith("course."):
                        if item.asname:
                            aliases[item.asname] = ["module", item.name, None]
                        else:
                            aliases["course"] = ["top", item.name, None]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module == "course" or node.module.startswith("course."):
                    for item in node.names:
                        aliases[item.asname or item.name] = ["from", node.module, item.name]
    return aliases


def _learner_cell_keys(cell: Any) -> tuple[str | None, str | None, str]:
    return _grade_id(cell), cell.get("id"), _source(cell).strip()


def plan_notebook(
    learner: nbformat.NotebookNode, solution: _Solution
) -> tuple[list[Step], list[str]]:
    """Rebuild the code to run from the solution and the learner's notebook.

    Returns:
        The steps, and notes about the learner's notebook (duplicated exercise cells, ...).
    """
    sol_cells = solution.notebook.cells
    lab_cells = make_lab(solution.notebook, solution.path.name).cells
    by_gid = {gid: i for i, c in enumerate(sol_cells) if (gid := _grade_id(c))}
    by_id = {c.get("id"): i for i, c in enumerate(sol_cells) if c.get("id")}
    by_source: dict[str, int] = {}
    for i, (sol_cell, lab_cell) in enumerate(zip(sol_cells, lab_cells, strict=True)):
        for text in (_source(sol_cell).strip(), _source(lab_cell).strip()):
            if text:
                by_source.setdefault(text, i)

    notes: list[str] = []
    answers: dict[str, str] = {}
    extras: list[tuple[int, int, str]] = []  # (anchor solution index, learner index, source)
    anchor = -1
    for index, cell in enumerate(learner.cells):
        gid, cell_id, text = _learner_cell_keys(cell)
        if gid is not None and gid in by_gid:
            anchor = by_gid[gid]
            if _nbgrader(sol_cells[anchor]).get("solution"):
                if gid in answers:
                    notes.append(f"the notebook has several cells for {gid}; the last one was used")
                answers[gid] = _source(cell)
            continue
        if cell_id in by_id and sol_cells[by_id[cell_id]].cell_type == cell.get("cell_type"):
            anchor = by_id[cell_id]
            continue
        if text in by_source:
            anchor = by_source[text]
            continue
        if cell.get("cell_type") == "code" and text:
            extras.append((anchor, index, _source(cell)))

    keyed: list[tuple[tuple[int, int, int], Step]] = []
    last_answer: str | None = None
    for i, (sol_cell, lab_cell) in enumerate(zip(sol_cells, lab_cells, strict=True)):
        if sol_cell.cell_type != "code":
            continue
        gid = _grade_id(sol_cell)
        meta = _nbgrader(sol_cell)
        if gid and meta.get("solution"):
            if gid in answers:
                step = Step("answer", answers[gid], f"your cell for {gid}", grade_id=gid)
            else:
                notes.append(f"no cell for {gid}: the lab's empty exercise cell was run instead")
                step = Step("gap", _source(lab_cell), f"the exercise cell for {gid}", grade_id=gid)
            last_answer = gid
        elif gid and meta.get("grade"):
            exercise = gid[: -len("-check")] if gid.endswith("-check") else None
            if not (exercise in by_gid and _nbgrader(sol_cells[by_gid[exercise]]).get("solution")):
                exercise = last_answer  # the exercise cell the check follows
            points = meta.get("points")
            step = Step(
                "check", "", f"the check for {gid}", grade_id=gid, exercise=exercise,
                points=float(points) if isinstance(points, int | float) else None,
                segments=split_hidden(_source(sol_cell)),
            )
        else:
            first = next((ln.strip() for ln in _source(sol_cell).split("\n")
                          if ln.strip() and not ln.strip().startswith("#")), "")
            first = first if len(first) <= 40 else first[:39] + "…"
            step = Step("solution", _source(sol_cell), f"lab cell {i} `{first}`")
        keyed.append(((i, 0, 0), step))
    for anchor_index, learner_index, text in extras:
        keyed.append(((anchor_index, 1, learner_index),
                      Step("extra", text, f"your added cell (cell {learner_index})")))
    keyed.sort(key=lambda pair: pair[0])
    return [step for _, step in keyed], notes


# ---------------------------------------------------------------------------------------------
# Flags: learner code that reaches for the grading machinery
# ---------------------------------------------------------------------------------------------

_SUSPICIOUS = [
    (re.compile(r"\bsys\s*\.\s*modules\b"), "uses sys.modules"),
    (re.compile(r"\b(_getframe|currentframe|f_back|f_locals|f_globals|co_consts)\b"),
     "inspects interpreter frames"),
    (re.compile(r"\bgc\s*\.\s*get_(objects|referrers|referents)\b"), "walks the garbage collector"),
    (re.compile(r"\b(builtins|__builtins__|__import__)\b"), "touches builtins"),
    (re.compile(r"\bimportlib\b"), "uses importlib"),
    (re.compile(r"\b(get_ipython|display_pub|publish_display_data|input_transformers\w*)\b"
                r"|\bevents\s*\.\s*register\b|\bIPython\s*\.\s*core\b"),
     "uses IPython's machinery"),
    (re.compile(r"\bctypes\b"), "uses ctypes"),
    (re.compile(r"vnd\.course|course_grade|\bhmac\b"), "names the grader's result channel"),
    (re.compile(r"\bcourse\s*\.\s*checks\b|\b(CheckResult|CheckLog|LOG|_banked)\b"),
     "refers to the grading machinery"),
]


def _imported_names(sources: list[str]) -> set[str]:
    names: set[str] = set()
    for source in sources:
        try:
            tree = ast.parse(python_source(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for item in node.names:
                    names.add(item.asname or item.name.split(".")[0])
    return names


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - ast.unparse handles every expression
        return "?"


def scan_for_tampering(steps: list[Step]) -> list[str]:
    """Return one line per suspicious construct in the learner's code (answer and extra cells).

    Flags are for a human; they never change a score. They cover assignments to (and
    ``setattr``/``del`` on) attributes of imported modules — monkeypatching ``np``, ``keras``,
    ``checks``... — and names of the interpreter or grading machinery.
    """
    learner = [s for s in steps if s.kind in ("answer", "extra")]
    modules = _imported_names([s.source for s in steps if s.kind != "check"])
    flags: list[str] = []
    for step in learner:
        for pattern, what in _SUSPICIOUS:
            for match in pattern.finditer(step.source):
                line = step.source.count("\n", 0, match.start()) + 1
                flags.append(f"{step.where}, line {line}: {what} ({match.group(0)!r})")
                break
        try:
            tree = ast.parse(python_source(step.source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            targets: list[ast.AST] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            elif isinstance(node, ast.Delete):
                targets = list(node.targets)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id in ("setattr", "delattr") and node.args
                  and _root_name(node.args[0]) in modules):
                flags.append(f"{step.where}, line {node.lineno}: {node.func.id} on "
                             f"{_dotted(node.args[0])} (monkeypatching)")
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Attribute) and _root_name(sub) in modules:
                        flags.append(f"{step.where}, line {node.lineno}: assigns to "
                                     f"{_dotted(sub)} (monkeypatching)")
                        break
    return list(dict.fromkeys(flags))


# ---------------------------------------------------------------------------------------------
# The grader cell
# ---------------------------------------------------------------------------------------------


def _grader_main(spec, user_ns, publish=None):  # pragma: no cover - runs inside the kernel
    """Run one check cell's solution source against the learner's objects; publish the result.

    This function's *source* is sent to the learner's kernel as part of each grader cell and
    runs there in a namespace of its own, so it uses only builtins and local imports (a
    learner's global named ``len`` or ``json`` cannot reach it). It can also be called
    in-process (tests), with ``publish`` receiving the message.
    """
    import builtins
    import hashlib
    import hmac
    import json
    import os
    import sys
    import types

    root, hashes, prefix = spec["package_root"], spec["hashes"], spec["private_prefix"]
    real_import = builtins.__import__
    private_builtins = dict(vars(builtins))
    loaded = {}

    def locate(name):
        rel = name.split(".")[1:]
        for relpath in ("/".join([*rel, "__init__.py"]), "/".join(rel) + ".py"):
            if relpath in hashes:
                return relpath
        return None

    def load(name):
        """A private copy of ``course...name``, from the package file whose hash is known."""
        if name in loaded:
            return loaded[name]
        relpath = locate(name)
        if relpath is None:
            raise ImportError(f"No module named {name!r}", name=name)
        parent = name.rpartition(".")[0]
        parent_module = load(parent) if parent else None
        path = os.path.join(root, *relpath.split("/"))
        with open(path, "rb") as f:
            source = f.read()
        if hashlib.sha256(source).hexdigest() != hashes[relpath]:
            raise RuntimeError(f"the grader's file course/{relpath} changed during grading")
        module = types.ModuleType(prefix + name)
        module.__file__ = path
        if relpath.endswith("__init__.py"):
            module.__path__ = [os.path.dirname(path)]
            module.__package__ = name

            def submodule(attr, package=name):  # `course.checks.lab01` without an import
                if locate(f"{package}.{attr}"):
                    return load(f"{package}.{attr}")
                raise AttributeError(f"module {package!r} has no attribute {attr!r}")

            module.__getattr__ = submodule
        else:
            module.__package__ = parent
        module.__builtins__ = private_builtins
        loaded[name] = module
        sys.modules[module.__name__] = module  # only while it runs: dataclasses look it up
        try:
            exec(compile(source, path, "exec", dont_inherit=True), module.__dict__)
        finally:
            sys.modules.pop(module.__name__, None)
        if parent_module is not None:
            setattr(parent_module, name.rpartition(".")[2], module)
        return module

    def private_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level:
            package = (globals or {}).get("__package__") or ""
            bits = package.rsplit(".", level - 1)
            name = f"{bits[0]}.{name}" if name else bits[0]
            level = 0
        if name == "course" or name.startswith("course."):
            module = load(name)
            for item in fromlist or ():
                if item != "*" and not hasattr(module, item) and locate(f"{name}.{item}"):
                    load(f"{name}.{item}")
            return module if fromlist else load("course")
        return real_import(name, globals, locals, fromlist, level)

    private_builtins["__import__"] = private_import

    results, error = [], None
    try:
        namespace = dict(user_ns)
        for alias, (how, module_name, attr) in spec["aliases"].items():
            if how == "from" and locate(f"{module_name}.{attr}"):
                value = load(f"{module_name}.{attr}")  # from course.checks import lab01
            elif how == "from":
                value = getattr(load(module_name), attr)  # from course.checks.lab01 import f
            else:
                value = load(module_name)
                if how == "top":
                    value = load("course")  # import course.checks.lab01
            namespace[alias] = value
        log = load("course.checks").LOG
    except Exception as exc:
        error = {"kind": "grader", "type": type(exc).__name__, "message": str(exc)}
    for kind, source in [] if error else spec["segments"]:
        start = len(log.results)
        try:
            exec(compile(source, f"<check {spec['grade_id']}>", "exec", dont_inherit=True),
                 namespace)
        except (Exception, SystemExit) as exc:
            try:
                message = str(exc) if kind == "visible" else ""
            except Exception:
                message = ""
            error = {"kind": kind, "type": type(exc).__name__, "message": message}
        for result in log.results[start:]:
            results.append({"name": str(result.name), "points": float(result.points),
                            "max_points": float(result.max_points), "hint": str(result.hint),
                            "kind": kind})
        if error is not None:
            break
    payload = json.dumps({"grade_id": spec["grade_id"], "results": results, "error": error},
                         sort_keys=True)
    mac = hmac.new(spec["key"].encode(), payload.encode(), hashlib.sha256).hexdigest()
    message = {spec["mime"]: {"payload": payload, "mac": mac}}
    if publish is None:
        from IPython.display import display

        display(message, raw=True)
    else:
        publish(message)


_GRADER_SOURCE = textwrap.dedent(inspect.getsource(_grader_main)).replace(
    "  # pragma: no cover - runs inside the kernel", ""
)


def package_hashes(root: Path | None = None) -> tuple[Path, dict[str, str]]:
    """Return the ``course`` package folder and the SHA-256 of each of its ``.py`` files."""
    root = Path(root or Path(__file__).resolve().parent)
    hashes = {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*.py"))
        if "__pycache__" not in path.parts
    }
    return root, hashes


def grader_spec(step: Step, key: str, package: tuple[Path, dict[str, str]],
                aliases: dict[str, list[str | None]]) -> dict[str, Any]:
    """The data a grader cell needs (everything JSON-able)."""
    used = set()
    for _, text in step.segments:
        try:
            used |= {n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name)}
        except SyntaxError:
            used |= set(aliases)
    root, hashes = package
    return {
        "grade_id": step.grade_id,
        "segments": [list(s) for s in step.segments],
        "aliases": {name: value for name, value in aliases.items() if name in used},
        "package_root": str(root),
        "hashes": hashes,
        "private_prefix": f"__course_grade_{secrets.token_hex(4)}__.",
        "key": key,
        "mime": RESULT_MIME,
    }


def grader_cell_source(spec: dict[str, Any]) -> str:
    """Return the code of a grader cell: run :func:`_grader_main` in a namespace of its own."""
    program = f"{_GRADER_SOURCE}\n_grader_main({spec!r}, USER_NS)\n"
    return (
        f"# course grade: the check for {spec['grade_id']}, run by the grader\n"
        "import builtins as __course_grade_builtins\n"
        "__course_grade_builtins.exec(\n"
        f"    __course_grade_builtins.compile({program!r}, '<course grade>', 'exec', "
        "dont_inherit=True),\n"
        "    {'__builtins__': __course_grade_builtins, '__name__': '__course_grade__',\n"
        "     'USER_NS': __course_grade_builtins.globals()},\n"
        ")\n"
        "del __course_grade_builtins\n"
    )


def read_result(outputs: list[Any], key: str, grade_id: str) -> dict[str, Any] | None:
    """Return the grader cell's verified result, or None when missing, doubled or forged."""
    found = [
        output["data"][RESULT_MIME]
        for output in outputs
        if output.get("output_type") in ("display_data", "execute_result")
        and RESULT_MIME in (output.get("data") or {})
    ]
    if len(found) != 1 or not isinstance(found[0], dict):
        return None
    payload, mac = found[0].get("payload"), found[0].get("mac")
    if not isinstance(payload, str) or not isinstance(mac, str):
        return None
    expected = hmac.new(key.encode(), payload.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, mac):
        return None
    try:
        result = json.loads(payload)
    except ValueError:
        return None
    return result if isinstance(result, dict) and result.get("grade_id") == grade_id else None


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


def exercise_name(grade_id: str) -> str:
    """``"lab01-build_mlp-check"`` → ``"build_mlp"``."""
    name = re.sub(r"-check$", "", grade_id)
    return re.sub(r"^lab\d+[-_]", "", name) or grade_id


def _result_line(item: dict[str, Any]) -> str:
    points, max_points = float(item["points"]), float(item["max_points"])
    hint = str(item.get("hint") or "")
    if item.get("kind") != "visible":
        # A hidden check's hint is written to be shown, but an error raised by the learner's
        # code on hidden inputs may quote those inputs: keep only the exception's type.
        raised = re.match(r"your code raised (\w+)", hint)
        hint = f"your code raised {raised.group(1)} on a hidden test" if raised else hint
    prefix = "hidden test: " if item.get("kind") == "hidden" else ""
    if not hint and points >= max_points:
        return f"{prefix}✔ {item['name']}: {points:g}/{max_points:g} points"
    return f"{prefix}✘ {item['name']}: {points:g}/{max_points:g} points — {hint}"


def score_check(step: Step, result: dict[str, Any]) -> TestResult:
    """Turn a verified grader result into the test's score and feedback."""
    assert step.grade_id is not None
    items = [r for r in result.get("results", []) if isinstance(r, dict)]
    lines = [_result_line(item) for item in items]
    earned = sum(float(item["points"]) for item in items)
    available = sum(float(item["max_points"]) for item in items)
    max_score = step.points if step.points is not None else available
    error = result.get("error")
    outcome = "failed"
    if error:
        score = 0.0
        if error.get("kind") == "visible":
            detail = f"{error['type']}: {error['message']}" if error["message"] else error["type"]
            lines.append(f"the check could not run: {detail}")
            outcome = "error"
        elif error.get("kind") == "grader":
            lines.append(f"grader error: {error['type']}: {error['message']}")
        else:
            lines.append(f"a hidden test failed ({error['type']})")
    elif not items:
        score = 0.0
        lines.append("grader error: the check cell ran no check of course.checks")
    else:
        score = max_score * min(earned / available, 1.0) if available > 0 else 0.0
        if score >= max_score and all(not item.get("hint") for item in items):
            outcome = "passed"
    return TestResult(exercise_name(step.grade_id), step.grade_id, _round(score),
                      _round(max_score or 0), "\n".join(lines), outcome)


def _zero(step: Step, output: str, outcome: str) -> TestResult:
    assert step.grade_id is not None
    return TestResult(exercise_name(step.grade_id), step.grade_id, 0,
                      _round(step.points or 0), output, outcome)


# ---------------------------------------------------------------------------------------------
# Running the notebook
# ---------------------------------------------------------------------------------------------


_QUIET_LOG = logging.getLogger("course.grading.nbclient")
_QUIET_LOG.addHandler(logging.NullHandler())
_QUIET_LOG.propagate = False


@dataclass
class _Outcome:
    status: str  # ok | error | timeout | killed | dead | not run
    message: str = ""
    outputs: list[Any] = field(default_factory=list)


def _seconds(value: float) -> str:
    """``3`` → ``"3"``, ``2.71828`` → ``"2.7"``."""
    return f"{round(value, 1):g}"


def _grace(timeout: float) -> float:
    """Seconds a cell gets to stop after its interrupt before the kernel is killed."""
    return min(10.0, max(2.0, timeout))


def _error_line(outputs: list[Any]) -> str:
    for output in outputs:
        if output.get("output_type") == "error":
            ename, evalue = output.get("ename", "Error"), str(output.get("evalue", "")).strip()
            last = evalue.splitlines()[-1] if evalue else ""
            return f"{ename}: {last}" if last else ename
    return ""


async def _run_steps(
    steps: list[Step],
    *,
    timeout_cell: float,
    timeout_total: float,
    cwd: str,
    package: tuple[Path, dict[str, str]],
    aliases: dict[str, list[str | None]],
) -> tuple[list[_Outcome], dict[int, tuple[str, dict | None]]]:
    """Execute ``steps`` in one fresh kernel.

    Returns:
        One outcome per step, and for each check step that ran: ``(key, verified result)``.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    from course.execute import (
        KERNEL_EXTRA_ARGUMENTS,
        KERNEL_NAME,
        _kernel_manager,
        kernel_environment,
    )

    start = time.monotonic()
    deadline = start + timeout_total
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(step.source) for step in steps]
    current_timeout = [timeout_cell]
    client = NotebookClient(
        nb,
        log=_QUIET_LOG,  # the report says which cells timed out; no log lines on stderr
        km=_kernel_manager(),
        kernel_name=KERNEL_NAME,
        timeout_func=lambda cell: current_timeout[0],
        interrupt_on_timeout=True,
        allow_errors=True,
        record_timing=False,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": cwd}},
        extra_arguments=list(KERNEL_EXTRA_ARGUMENTS),
    )
    outcomes = [_Outcome("not run") for _ in steps]
    verified: dict[int, tuple[str, dict | None]] = {}
    status_by_gid: dict[str, _Outcome] = {}
    stop_reason = ""
    task = asyncio.current_task()
    interrupted = [False]

    def on_sigint() -> None:
        interrupted[0] = True
        if task is not None:
            task.cancel()
    loop = asyncio.get_running_loop()

    with kernel_environment():
        setup = client.async_setup_kernel(
            cleanup_kc=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        await setup.__aenter__()
    try:
        try:  # Ctrl-C stops everything (nbclient's own handler would only stop the kernel)
            loop.add_signal_handler(signal.SIGINT, on_sigint)
        except (RuntimeError, NotImplementedError, AttributeError):
            pass
        client.reset_execution_trackers()
        for index, step in enumerate(steps):
            if interrupted[0]:
                raise GradingInterrupted
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                stop_reason = (f"not run: the notebook reached its total time limit of "
                               f"{_seconds(timeout_total)} s (--timeout-total)")
                break
            cell = nb.cells[index]
            key = ""
            if step.kind == "check":
                exercise = status_by_gid.get(step.exercise or "")
                if exercise is not None and exercise.status != "ok":
                    outcomes[index] = _Outcome("skipped", exercise.message)
                    continue
                key = secrets.token_hex(16)
                cell.source = grader_cell_source(grader_spec(step, key, package, aliases))
            if not cell.source.strip():
                outcomes[index] = _Outcome("ok")
                continue
            limit = max(min(timeout_cell, remaining), 0.5)
            current_timeout[0] = limit
            killed = [False]

            async def watchdog(limit: float = limit, killed: list[bool] = killed) -> None:
                await asyncio.sleep(limit + _grace(limit))
                killed[0] = True
                await client.km.signal_kernel(signal.SIGKILL)

            guard = asyncio.ensure_future(watchdog())
            began = time.monotonic()
            try:
                await client.async_execute_cell(cell, index, store_history=step.kind != "check")
            except DeadKernelError:  # nbclient also turns a cancelled cell into this
                if interrupted[0]:
                    raise GradingInterrupted from None
                if killed[0]:
                    outcomes[index] = _Outcome(
                        "killed", f"timed out after {_seconds(limit)} s and ignored the interrupt")
                    stop_reason = (f"not run: {step.where} did not stop when interrupted, so "
                                   "the kernel was stopped")
                else:
                    outcomes[index] = _Outcome("dead", "the kernel stopped: exit() or a crash")
                    stop_reason = f"not run: the kernel stopped while running {step.where}"
                if step.grade_id:
                    status_by_gid[step.grade_id] = outcomes[index]
                break
            except asyncio.CancelledError:
                raise GradingInterrupted from None
            finally:
                guard.cancel()
            elapsed = time.monotonic() - began
            error = _error_line(cell.outputs)
            if elapsed >= limit:
                message = f"timed out after {_seconds(limit)} s"
                if limit < timeout_cell:
                    message = (f"was interrupted at the notebook's total time limit of "
                               f"{_seconds(timeout_total)} s")
                outcome = _Outcome("timeout", message, cell.outputs)
            elif error:
                outcome = _Outcome("error", error, cell.outputs)
            else:
                outcome = _Outcome("ok", "", cell.outputs)
            outcomes[index] = outcome
            if step.kind == "check":
                assert step.grade_id is not None
                verified[index] = (key, read_result(cell.outputs, key, step.grade_id))
            elif step.grade_id:
                status_by_gid[step.grade_id] = outcome
    finally:
        try:
            loop.remove_signal_handler(signal.SIGINT)
        except (RuntimeError, NotImplementedError, AttributeError):
            pass
        await setup.__aexit__(None, None, None)
    if stop_reason:
        for outcome in outcomes:
            if outcome.status == "not run":
                outcome.message = stop_reason
    return outcomes, verified


# ---------------------------------------------------------------------------------------------
# Grading one notebook, many notebooks
# ---------------------------------------------------------------------------------------------


def _show(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def grade_notebook(
    path: str | os.PathLike,
    solutions_dir: str | os.PathLike,
    timeout_cell: float = DEFAULT_TIMEOUT_CELL_S,
    timeout_total: float = DEFAULT_TIMEOUT_TOTAL_S,
) -> GradeReport:
    """Grade one notebook; never raises for a bad notebook (see ``GradeReport.error``)."""
    from jupyter_core.utils import run_sync

    path = Path(path)
    shown = _show(path)
    report = GradeReport(path=path)
    began = time.perf_counter()
    try:
        if not path.is_file():
            raise NotGradable(f"{shown} does not exist or is not a file.")
        data = path.read_bytes()  # the only access to the learner's file
        report.sha256 = hashlib.sha256(data).hexdigest()
        learner = parse_notebook(data, shown)
        solution = identify_lab(learner, shown, Path(solutions_dir))
        steps, report.notes = plan_notebook(learner, solution)
    except NotGradable as exc:
        report.error = str(exc)
    except (LabBuildError, ValueError, OSError) as exc:  # the kit's problem: a bad solution
        report.error = (f"{shown} could not be graded: a solution in {solutions_dir} is "
                        f"invalid ({str(exc).splitlines()[0]}).")
    if report.error:
        report.seconds = time.perf_counter() - began
        return report

    report.lab = solution.path.name
    report.flags = scan_for_tampering(steps)
    aliases = _course_aliases([s.source for s in steps if s.kind == "solution"])
    package = package_hashes()
    with tempfile.TemporaryDirectory(prefix="course-grade-") as cwd:
        try:
            outcomes, verified = run_sync(_run_steps)(
                steps, timeout_cell=timeout_cell, timeout_total=timeout_total, cwd=cwd,
                package=package, aliases=aliases,
            )
        except (GradingInterrupted, asyncio.CancelledError):  # Ctrl-C; the kernel is stopped
            raise KeyboardInterrupt from None
        except Exception as exc:  # e.g. the kernel did not start: the next notebook may work
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            report.error = (f"{shown} could not be graded: the grader failed "
                            f"({type(exc).__name__}{': ' + reason if reason else ''}).")
            report.seconds = time.perf_counter() - began
            return report

    by_gid = {s.grade_id: o for s, o in zip(steps, outcomes, strict=True) if s.grade_id}
    for index, (step, outcome) in enumerate(zip(steps, outcomes, strict=True)):
        if step.kind != "check":
            if outcome.status in ("error", "timeout", "killed", "dead"):
                report.notes.append(f"{step.where}: {outcome.message}")
            continue
        exercise = by_gid.get(step.exercise or "")
        if (outcome.status in ("skipped", "not run") and exercise is not None
                and exercise.status in ("error", "timeout", "killed", "dead")):
            timed_out = exercise.status in ("timeout", "killed")
            detail = exercise.message
            if exercise.status == "error":
                detail = f"raised {exercise.message}"
            elif exercise.status == "dead":
                detail = "stopped the kernel (exit() or a crash)"
            report.tests.append(_zero(step, f"your cell for {step.exercise} {detail}",
                                      "timeout" if timed_out else "error"))
        elif outcome.status == "not run":
            report.tests.append(_zero(step, outcome.message, "not run"))
        elif outcome.status in ("timeout", "killed"):
            report.tests.append(_zero(
                step, f"the check {outcome.message} while running your code", "timeout"))
        elif outcome.status == "dead":
            report.tests.append(_zero(step, f"the check could not finish: {outcome.message}",
                                      "error"))
        else:
            _, result = verified.get(index, ("", None))
            if result is None:
                report.tests.append(_zero(
                    step, "no valid result from the grader's check (its output was missing, "
                    "doubled or altered)", "error"))
                report.notes.append(f"{step.where}: the grader's result was missing or altered")
            else:
                report.tests.append(score_check(step, result))

    report.cells = {
        "planned": len(outcomes),
        "executed": sum(o.status not in ("not run", "skipped") for o in outcomes),
        "errors": sum(o.status in ("error", "dead") for o in outcomes),
        "timeouts": sum(o.status in ("timeout", "killed") for o in outcomes),
    }
    report.seconds = time.perf_counter() - began
    return report


# ---------------------------------------------------------------------------------------------
# Reports: JSON (Gradescope), Markdown, CSV
# ---------------------------------------------------------------------------------------------


def to_gradescope(report: GradeReport) -> dict[str, Any]:
    """The JSON result in the shape Gradescope reads (``score``, ``tests[]``...)."""
    if not report.graded:
        output = f"Not graded: {report.error}"
    else:
        output = f"{report.score:g}/{report.max_score:g} points ({report.lab})"
    return {
        "score": report.score,
        "max_score": report.max_score,
        "execution_time": round(report.seconds, 1),
        "output": output,
        "tests": [
            {
                "name": test.name,
                "score": test.score,
                "max_score": test.max_score,
                "status": "passed" if test.passed else "failed",
                "output": test.output,
                "extra_data": {"grade_id": test.grade_id, "result": test.result},
            }
            for test in report.tests
        ],
        "extra_data": {
            "notebook": _show(report.path),
            "sha256": report.sha256,
            "lab": report.lab,
            "graded": report.graded,
            "error": report.error,
            "cells": report.cells,
            "notes": report.notes,
            "flags": report.flags,
        },
    }


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>") or " "


def to_markdown(report: GradeReport) -> str:
    """A short Markdown summary of one notebook's grade."""
    lines = [f"# Grade: {_show(report.path)}", ""]
    if not report.graded:
        return "\n".join([*lines, f"**Not graded:** {report.error}", ""])
    lines += [
        f"**Score: {report.score:g} / {report.max_score:g}** · lab {report.lab} · "
        f"graded in {report.seconds:.0f} s · SHA-256 `{(report.sha256 or '')[:12]}`",
        "",
        "| Exercise | Score | Feedback |",
        "|---|---|---|",
    ]
    for test in report.tests:
        lines.append(f"| {_md_cell(test.name)} | {test.score:g}/{test.max_score:g} | "
                     f"{_md_cell(test.output)} |")
    if report.notes:
        lines += ["", "## Notes", "", *[f"- {note}" for note in report.notes]]
    if report.flags:
        lines += ["", "## Flagged for review", "",
                  "This code reaches for the grading machinery; the score above does not "
                  "depend on it, but a person should look:", "",
                  *[f"- {flag}" for flag in report.flags]]
    return "\n".join(lines) + "\n"


def gradebook_csv(reports: list[GradeReport]) -> str:
    """One row per notebook, one column per exercise (check grade_id), then the totals."""
    columns: list[str] = []
    for report in reports:
        for test in report.tests:
            if test.grade_id not in columns:
                columns.append(test.grade_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["notebook", "lab", "score", "max_score",
                     *[exercise_name(c) if len({exercise_name(x) for x in columns}) == len(columns)
                       else c for c in columns], "flags", "error"])
    for report in reports:
        scores = {t.grade_id: f"{t.score:g}" for t in report.tests}
        writer.writerow([
            _show(report.path), report.lab or "",
            f"{report.score:g}" if report.graded else "",
            f"{report.max_score:g}" if report.graded else "",
            *[scores.get(c, "") for c in columns],
            len(report.flags), report.error or "",
        ])
    return out.getvalue()


def report_names(paths: list[Path]) -> list[str]:
    """File stems for the reports: the notebook's stem, made unique with its folders."""
    paths = [Path(p) for p in paths]
    resolved = [p.resolve() for p in paths]
    names = [p.stem for p in paths]
    depth = 1
    while len(set(names)) < len(names) and depth < 8:
        depth += 1
        names = ["__".join([*r.parent.parts[-(depth - 1):], r.stem]) for r in resolved]
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return unique


def write_report(report: GradeReport, out_dir: Path, name: str, formats: set[str]) -> list[Path]:
    """Write ``<name>.json`` and/or ``<name>.md`` into ``out_dir``; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if "json" in formats:
        target = out_dir / f"{name}.json"
        target.write_text(json.dumps(to_gradescope(report), indent=2, ensure_ascii=False) + "\n",
                          encoding="utf-8")
        written.append(target)
    if "md" in formats:
        target = out_dir / f"{name}.md"
        target.write_text(to_markdown(report), encoding="utf-8")
        written.append(target)
    return written


def summary_line(report: GradeReport) -> str:
    """The one line ``course grade`` prints per notebook."""
    shown = _show(report.path)
    if not report.graded:
        return f"{shown}: not graded"
    parts = [f"{shown}: {report.score:g}/{report.max_score:g} points",
             f"{Path(report.lab or '').stem}", f"{report.seconds:.0f} s"]
    timeouts = report.cells.get("timeouts", 0)
    if timeouts:
        parts.append(f"{timeouts} cell{'s' * (timeouts > 1)} timed out")
    if report.flags:
        parts.append(f"{len(report.flags)} flag{'s' * (len(report.flags) > 1)} to review")
    return " · ".join(parts)
