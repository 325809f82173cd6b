"""Generate learner labs from authored solutions, and check that ``labs/`` is in sync.

``solutions/NN_topic.ipynb`` is the single source. A lab is the solution with nbgrader's
markers applied: ``### BEGIN SOLUTION`` … ``### END SOLUTION`` regions become gaps,
``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` regions disappear, outputs are
cleared and check cells are locked. The transformation is deterministic (same solution,
same bytes), so ``labs/`` can be committed and checked in CI.

``labs/.course-build.json`` records the SHA-256 of every lab as last generated, so that
``build_labs`` can tell a lab nobody touched (safe to regenerate) from a lab a learner
edited (refused unless ``force``, and then backed up first).

This module imports only the standard library and nbformat: never TensorFlow.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import os
import shutil
import textwrap
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN_TESTS = "### BEGIN HIDDEN TESTS"
END_HIDDEN_TESTS = "### END HIDDEN TESTS"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
ASSIGN_STUB = "{name} = None  # YOUR CODE HERE"
ANSWER_STUB = "YOUR ANSWER HERE"

MANIFEST_NAME = ".course-build.json"
BACKUP_DIR_NAME = ".backups"

# Cell metadata a lab keeps; everything else (execution timings, UI state) is dropped.
_KEPT_CELL_METADATA = ("nbgrader", "tags", "editable", "deletable", "slideshow")
_KEPT_NOTEBOOK_METADATA = ("kernelspec", "language_info")
_MARKER_WORDS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


class LabBuildError(ValueError):
    """A solution notebook cannot be turned into a lab; the message names notebook and cell.

    Cell numbers count from 0 in notebook order (markdown cells included).
    """


# ---------------------------------------------------------------------------------------------
# One notebook
# ---------------------------------------------------------------------------------------------


def _where(source_name: str, index: int, cell: nbformat.NotebookNode) -> str:
    """Return "solutions/x.ipynb, cell 3 (grade_id 'y')" for error messages."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    first = next((line.strip() for line in cell_source(cell).split("\n") if line.strip()), "")
    label = f"grade_id {grade_id!r}" if grade_id else f"starts {first[:40]!r}"
    return f"solutions/{source_name}, cell {index} ({cell.cell_type}, {label})"


def cell_source(cell: nbformat.NotebookNode) -> str:
    """Return a cell's source as one string (nbformat allows a list of lines)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _code_gap(region: list[str], indent: str) -> list[str]:
    """Return the lab lines that replace a code solution region (markers excluded).

    ``None`` placeholders when every code line of the region is a one-line ``name = expr``;
    otherwise ``# YOUR CODE HERE`` + ``raise NotImplementedError()``.
    """
    stub = [indent + line for line in CODE_STUB]
    code_lines = [
        n for n, line in enumerate(region, start=1)
        if line.strip() and not line.strip().startswith("#")
    ]
    if not code_lines:
        return stub
    try:
        tree = ast.parse(textwrap.dedent("\n".join(region)))
    except SyntaxError:
        return stub
    simple = all(
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and stmt.lineno == stmt.end_lineno
        for stmt in tree.body
    )
    if not simple or [stmt.lineno for stmt in tree.body] != code_lines:
        return stub  # e.g. `a = 1; b = 2`, or a statement continued over several lines
    return [indent + ASSIGN_STUB.format(name=stmt.targets[0].id) for stmt in tree.body]


def _apply_markers(source: str, is_code: bool, where: str) -> tuple[str, bool, bool]:
    """Replace solution regions and delete hidden-test regions in one cell's source.

    Returns:
        The lab source, whether a solution region was found, whether hidden tests were found.
    """
    out: list[str] = []
    region: list[str] | None = None
    kind = indent = ""
    found_solution = found_hidden = False
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped in (BEGIN_SOLUTION, BEGIN_HIDDEN_TESTS):
            if region is not None:
                raise LabBuildError(f"{where}: {stripped!r} inside an open {kind!r} region")
            region, kind, indent = [], stripped, line[: len(line) - len(line.lstrip())]
        elif stripped in (END_SOLUTION, END_HIDDEN_TESTS):
            expected = END_SOLUTION if kind == BEGIN_SOLUTION else END_HIDDEN_TESTS
            if region is None or stripped != expected:
                raise LabBuildError(f"{where}: {stripped!r} without a matching BEGIN marker")
            if kind == BEGIN_SOLUTION:
                found_solution = True
                out.extend(_code_gap(region, indent) if is_code else [indent + ANSWER_STUB])
            else:
                found_hidden = True
            region = None
        elif region is not None:
            region.append(line)
        else:
            out.append(line)
    if region is not None:
        raise LabBuildError(f"{where}: {kind!r} is never closed")
    if found_hidden:
        while out and not out[-1].strip():
            out.pop()
    return "\n".join(out), found_solution, found_hidden


def _lab_metadata(metadata: dict) -> dict:
    """Keep nbgrader/tags/etc., lock check cells, keep exercise cells editable."""
    kept = {key: copy.deepcopy(metadata[key]) for key in _KEPT_CELL_METADATA if key in metadata}
    nbgrader = kept.get("nbgrader")
    if nbgrader is None:
        return kept
    if nbgrader.get("solution"):
        kept.pop("editable", None)
        kept.pop("deletable", None)
    elif nbgrader.get("grade") or nbgrader.get("locked"):
        kept["editable"] = False
        kept["deletable"] = False
        nbgrader["locked"] = True
    return kept


def _make_lab_cell(cell: nbformat.NotebookNode, nbgrader: dict, where: str) -> None:
    """Turn one solution cell into its lab cell, in place (the errors: see :func:`make_lab`)."""
    grade_id = nbgrader.get("grade_id")
    original = cell_source(cell)
    is_code = cell.cell_type == "code"
    source, has_solution, has_hidden = _apply_markers(original, is_code, where)
    if has_solution and not (nbgrader.get("solution") is True and grade_id):
        raise LabBuildError(
            f"{where}: solution markers in a cell without nbgrader metadata "
            '"solution": true and a "grade_id"'
        )
    if has_hidden and not (nbgrader.get("grade") is True and grade_id):
        raise LabBuildError(
            f"{where}: hidden tests in a cell without nbgrader metadata "
            '"grade": true and a "grade_id"'
        )
    leftover = [word for word in _MARKER_WORDS if word in source]
    if leftover:
        raise LabBuildError(
            f"{where}: marker text {leftover[0]!r} left in the lab; markers must be "
            f"alone on their line, spelled exactly {BEGIN_SOLUTION!r} etc."
        )
    if is_code and (has_solution or has_hidden) and _parses(original) and not _parses(source):
        raise LabBuildError(f"{where}: the lab cell is not valid Python:\n{source}")

    cell.source = source
    cell.metadata = _lab_metadata(cell.get("metadata", {}))
    if is_code:
        cell.outputs = []
        cell.execution_count = None


def make_lab(solution: nbformat.NotebookNode, source_name: str) -> nbformat.NotebookNode:
    """Turn a solution notebook into its lab.

    Args:
        solution: the solution notebook (not modified).
        source_name: the solution's file name, e.g. ``"01_mlp.ipynb"``.

    Returns:
        A new notebook: solution regions replaced by gaps, hidden tests removed, outputs
        cleared, check cells locked, ``metadata.course = {"source": ..., "generated": True}``.

    Raises:
        LabBuildError: unbalanced or nested markers, a solution region outside a solution cell
            with a ``grade_id``, hidden tests outside a grade cell, a duplicate ``grade_id``,
            markers left in the lab, or a lab code cell that is not valid Python.
    """
    lab = copy.deepcopy(solution)
    grade_ids: dict[str, int] = {}
    for index, cell in enumerate(lab.cells):
        where = _where(source_name, index, cell)
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = nbgrader.get("grade_id")
        if grade_id is not None:
            if grade_id in grade_ids:
                raise LabBuildError(
                    f"{where}: duplicate grade_id {grade_id!r} (also cell {grade_ids[grade_id]})"
                )
            grade_ids[grade_id] = index
        _make_lab_cell(cell, nbgrader, where)

    lab.metadata = {
        key: copy.deepcopy(lab.metadata[key])
        for key in _KEPT_NOTEBOOK_METADATA
        if key in lab.metadata
    }
    language = (solution.metadata.get("course") or {}).get("language")
    lab.metadata["course"] = {"source": f"solutions/{source_name}", "generated": True,
                              **({"language": language} if language else {})}
    return lab


def python_source(source: str) -> str:
    """Return a cell's source as the plain Python its kernel runs.

    IPython syntax (``%matplotlib inline``, ``!pip list``, ``x?``, ``%%time``) is translated
    exactly as IPython translates it before running a cell, so any tool that parses cells
    (``ast.parse``, ``compile``) sees what the kernel sees. Source that is not valid even for
    IPython is returned unchanged (parsing it then raises the ordinary ``SyntaxError``).
    """
    if "%" not in source and "!" not in source and "?" not in source:
        return source  # fast path: nothing IPython would rewrite
    from IPython.core.inputtransformer2 import TransformerManager  # lazy: about 0.1 s

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # pragma: no cover - IPython raises only on tokenizer failures
        return source


def _parses(source: str) -> bool:
    """Return True when ``source`` is valid cell code (IPython syntax included)."""
    try:
        ast.parse(python_source(source))
    except SyntaxError:
        return False
    return True


def read_solution(solution_path: Path) -> nbformat.NotebookNode:
    """Read a solution notebook with deterministic cell ids.

    nbformat gives a 4.5 notebook's cells that lack an ``id`` a random one on every read;
    those cells get ``cell-<index>`` instead, so the lab's bytes never depend on chance.
    """
    text = Path(solution_path).read_text(encoding="utf-8")
    raw = json.loads(text)
    if raw.get("nbformat") != 4:
        raise LabBuildError(f"{solution_path}: nbformat {raw.get('nbformat')}; save it as v4")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MissingIDFieldWarning: repaired below
        nb = nbformat.reads(text, as_version=4)
    if nb.nbformat_minor >= 5:
        seen: set[str] = set()
        for index, (cell, raw_cell) in enumerate(zip(nb.cells, raw["cells"], strict=True)):
            cell_id = raw_cell.get("id")
            if not isinstance(cell_id, str) or not cell_id or cell_id in seen:
                cell_id = f"cell-{index}"
            cell["id"] = cell_id
            seen.add(cell_id)
    return nb


def lab_text(solution_path: Path) -> str:
    """Return the exact text of the lab generated from ``solution_path``.

    Deterministic: the same solution file always gives the same text, ending in a newline.
    """
    solution_path = Path(solution_path)
    return notebook_text(make_lab(read_solution(solution_path), solution_path.name))


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """A notebook as the kit stores it: nbformat's JSON ending in one newline."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


# ---------------------------------------------------------------------------------------------
# The labs/ directory
# ---------------------------------------------------------------------------------------------


def find_repo_root(start: Path | None = None) -> Path:
    """Return the nearest directory at or above ``start`` (default: cwd) holding ``solutions/``.

    Falls back to ``start`` itself, so a missing ``solutions/`` is reported with that path.
    """
    start = Path.cwd() if start is None else Path(start)
    for folder in (start, *start.parents):
        if (folder / "solutions").is_dir():
            return folder
    return start


def default_dirs(start: Path | None = None) -> tuple[Path, Path]:
    """Return the repository's ``(solutions/, labs/)`` found from ``start`` (default: cwd)."""
    root = find_repo_root(start)
    return root / "solutions", root / "labs"


def solution_paths(solutions_dir: Path) -> list[Path]:
    """Return the ``*.ipynb`` files directly in ``solutions_dir``, sorted by name.

    Hidden files are left out: ``.<name>.rendering.ipynb`` is a translated solution that
    ``course run-solutions --lang`` is still executing.
    """
    solutions_dir = Path(solutions_dir)
    if not solutions_dir.is_dir():
        raise FileNotFoundError(
            f"{solutions_dir} is not a directory; run from the repository or pass --solutions DIR"
        )
    return sorted(p for p in solutions_dir.glob("*.ipynb")
                  if p.is_file() and not p.name.startswith("."))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(labs_dir: Path) -> dict[str, str]:
    """Return ``{lab file name: sha256 of the bytes last generated}`` (empty when absent)."""
    path = Path(labs_dir) / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise LabBuildError(f"{path} is not valid JSON ({exc}); delete it and use --force") from exc
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_manifest(labs_dir: Path, manifest: dict[str, str]) -> None:
    """Write the manifest (sorted keys, indent 2) atomically, only when it changed."""
    path = Path(labs_dir) / MANIFEST_NAME
    text = json.dumps(manifest, sort_keys=True, indent=2) + "\n"
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def backup_path(labs_dir: Path, lab_name: str, now: datetime | None = None) -> Path:
    """Return a free ``labs/.backups/<stem>.<YYYYmmdd-HHMMSS>[-N].ipynb`` path."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    folder = Path(labs_dir) / BACKUP_DIR_NAME
    stem = Path(lab_name).stem
    candidate = folder / f"{stem}.{stamp}.ipynb"
    counter = 1
    while candidate.exists():
        candidate = folder / f"{stem}.{stamp}-{counter}.ipynb"
        counter += 1
    return candidate


@dataclass
class BuildReport:
    """What ``build_labs`` did, by lab file name."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    backups: dict[str, Path] = field(default_factory=dict)
    """Lab name → backup of the edited lab that ``force`` overwrote."""
    orphans: list[str] = field(default_factory=list)
    """Labs without a solution (left alone)."""

    @property
    def ok(self) -> bool:
        """True when no lab was refused."""
        return not self.refused

    @property
    def total(self) -> int:
        """Number of solutions processed."""
        return len(self.created) + len(self.updated) + len(self.unchanged) + len(self.refused)


def build_labs(solutions_dir: Path, labs_dir: Path, force: bool = False) -> BuildReport:
    """Regenerate ``labs_dir`` from ``solutions_dir`` without losing a learner's work.

    For each solution: a missing lab is created; an identical lab is left alone; a lab whose
    SHA-256 matches the manifest (untouched since generated) is overwritten; any other lab
    (edited, or unknown to the manifest) is refused, unless ``force``, which first copies it
    to ``labs/.backups/``. Every lab text is computed before anything is written, so an
    invalid solution changes nothing.

    Raises:
        LabBuildError: a solution cannot be turned into a lab.
        FileNotFoundError: ``solutions_dir`` does not exist.
    """
    solutions_dir, labs_dir = Path(solutions_dir), Path(labs_dir)
    texts = {path.name: lab_text(path).encode("utf-8") for path in solution_paths(solutions_dir)}
    labs_dir.mkdir(parents=True, exist_ok=True)
    old_manifest = read_manifest(labs_dir)
    manifest = {name: sha for name, sha in old_manifest.items() if (labs_dir / name).is_file()}
    report = BuildReport()
    report.orphans = sorted(p.name for p in labs_dir.glob("*.ipynb") if p.name not in texts)

    for name, data in texts.items():
        target = labs_dir / name
        new_sha = _sha256(data)
        if not target.is_file():
            target.write_bytes(data)
            report.created.append(name)
        else:
            current = target.read_bytes()
            if current == data:
                report.unchanged.append(name)
            elif _sha256(current) == old_manifest.get(name):
                target.write_bytes(data)
                report.updated.append(name)
            elif force:
                backup = backup_path(labs_dir, name)
                backup.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(target, backup)
                target.write_bytes(data)
                report.backups[name] = backup
                report.updated.append(name)
            else:
                report.refused.append(name)
                continue
        manifest[name] = new_sha

    _write_manifest(labs_dir, manifest)
    return report


def lab_problems(solutions_dir: Path, labs_dir: Path) -> dict[str, str]:
    """Return ``{name: reason}`` for every lab out of sync with its solution (empty = in sync).

    Covers missing labs, labs whose bytes differ from ``lab_text``, labs without a solution,
    and a manifest that does not record the current labs (named ``.course-build.json``).
    """
    solutions_dir, labs_dir = Path(solutions_dir), Path(labs_dir)
    problems: dict[str, str] = {}
    names = set()
    for path in solution_paths(solutions_dir):
        names.add(path.name)
        target = labs_dir / path.name
        if not target.is_file():
            problems[path.name] = "missing"
        elif target.read_bytes() != lab_text(path).encode("utf-8"):
            problems[path.name] = f"differs from what {path.name} in solutions generates"
    if labs_dir.is_dir():
        for path in sorted(labs_dir.glob("*.ipynb")):
            if path.name not in names:
                problems[path.name] = "has no solution"
    if not problems and names:
        manifest = read_manifest(labs_dir)
        if any(manifest.get(n) != _sha256((labs_dir / n).read_bytes()) for n in names):
            problems[MANIFEST_NAME] = "does not record the current labs"
    return dict(sorted(problems.items()))
