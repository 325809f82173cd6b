"""The translated editions: ``solutions/<lang>/`` and ``labs/<lang>/``, and their checks.

The chain, each link checked by ``course build-labs --check``:

1. ``solutions/NN.ipynb`` (English) → its catalogue ``course/locales/<locale>/labs/NN.po``
   (``course build-labs`` adds new text and marks changed text stale);
2. English solution + catalogue → ``solutions/<lang>/NN.ipynb``, executed so that it stores
   its own outputs (``course run-solutions --lang zh NN``);
3. ``solutions/<lang>/NN.ipynb`` → ``labs/<lang>/NN.ipynb`` (``course build-labs``, as in
   English).

No TensorFlow here: executing is :mod:`course.execute`'s job.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

from course.i18n import catalogues
from course.i18n.labs import render
from course.notebooks import cell_source, notebook_text, read_solution, solution_paths

TRANSLATED = ("zh",)
"""The languages whose edition is built and checked."""


def editions(solutions_dir: Path) -> list[str]:
    """The languages that ``solutions_dir`` has an edition of: a ``solutions/<lang>/`` folder.

    A folder of solutions without one (another course's, a test's) gets no translated
    edition, and its labs never touch the kit's catalogues.
    """
    return [lang for lang in TRANSLATED if edition_dir(solutions_dir, lang).is_dir()]


def edition_dir(folder: Path, lang: str) -> Path:
    """``solutions/zh`` for ``solutions`` (or ``labs/zh`` for ``labs``)."""
    return Path(folder) / lang


def rendered_solution(english: Path, lang: str) -> nbformat.NotebookNode:
    """The solution ``english`` in ``lang`` from its catalogue, with the English outputs."""
    path = Path(english)
    return render(read_solution(path), lang, catalogues.lab_lookup(lang, path.stem))


def update_catalogues(solutions_dir: Path, lang: str) -> list[Path]:
    """Merge the current English of every solution and message; the catalogues written."""
    written = [catalogues.lab_catalogue_path(lang, p.stem)
               for p in solution_paths(solutions_dir) if catalogues.update_lab(p, lang)]
    if catalogues.update_messages(lang):
        written.append(catalogues.catalogue_path(lang))
    return written


def _sources(nb: nbformat.NotebookNode) -> list[tuple[str, str, str]]:
    return [(c.cell_type, c.get("id", ""), cell_source(c)) for c in nb.cells]


def _code(nb: nbformat.NotebookNode) -> list[tuple[str, str, str]]:
    return [item for item in _sources(nb) if item[0] != "markdown"]


def refresh_markdown(english: Path, lang: str) -> bool:
    """Bring the markdown of ``solutions/<lang>/<name>`` up to date when only markdown changed.

    Markdown cells have no outputs, so the stored outputs stay valid: nothing is executed.
    Returns True when the file was rewritten.
    """
    target = edition_dir(Path(english).parent, lang) / Path(english).name
    if not target.is_file():
        return False
    stored, rendered = read_solution(target), rendered_solution(english, lang)
    if _code(stored) != _code(rendered) or _sources(stored) == _sources(rendered):
        return False
    for cell, new in zip(stored.cells, rendered.cells, strict=True):
        if cell.cell_type == "markdown":
            cell.source = new.source
    target.write_text(notebook_text(stored), encoding="utf-8")
    return True


def solution_problem(english: Path, lang: str) -> str | None:
    """Why ``solutions/<lang>/<name>`` is not the current rendering of ``english``, or None."""
    target = edition_dir(Path(english).parent, lang) / Path(english).name
    if not target.is_file():
        return "missing"
    stored, rendered = read_solution(target), rendered_solution(english, lang)
    if _code(stored) != _code(rendered):
        return "stale: its code, or a code comment's translation, changed since it was run"
    if _sources(stored) != _sources(rendered):
        return "stale: its text changed (`course build-labs` brings it up to date)"
    if any(c.cell_type == "code" and cell_source(c).strip() and c.get("execution_count") is None
           for c in stored.cells):
        return "not executed: a code cell stores no output"
    return None


def translation_problems(solutions_dir: Path, lang: str) -> dict[str, list[str]]:
    """``{what: [problem, ...]}`` for every catalogue entry missing or stale, and every stale
    translated solution (empty when the edition is current)."""
    problems: dict[str, list[str]] = {}
    for path in solution_paths(solutions_dir):
        found = catalogues.lab_problems(read_solution(path), lang, path.stem)
        solution = solution_problem(path, lang)
        if solution:
            found.append(f"solutions/{lang}/{path.name}: {solution} — run `course run-solutions "
                         f"--lang {lang} {path.stem}`")
        if found:
            problems[path.name] = found
    messages = catalogues.message_problems(lang)
    if messages:
        problems[catalogues.catalogue_path(lang).name] = messages
    return problems


def write_rendered(english: Path, lang: str) -> Path:
    """Write ``english`` rendered in ``lang`` next to where it belongs, as a temporary file.

    Returns the temporary path (``solutions/<lang>/.<name>.rendering.ipynb``): the caller
    executes it and moves it into place with :func:`commit_rendered`, so a failed run never
    leaves a half-made solution.
    """
    folder = edition_dir(Path(english).parent, lang)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{Path(english).stem}.rendering.ipynb"
    temporary.write_text(notebook_text(rendered_solution(english, lang)), encoding="utf-8")
    return temporary


def commit_rendered(temporary: Path) -> Path:
    """Move an executed rendering into place; return the solution's path."""
    target = temporary.with_name(temporary.name.removeprefix(".").replace(".rendering", ""))
    os.replace(temporary, target)
    return target


def build_editions(solutions_dir: Path, labs_dir: Path, force: bool = False) -> list[str]:
    """Merge the catalogues, then regenerate ``labs/<lang>/`` from ``solutions/<lang>/``.

    Returns the lines to print: catalogues written, labs written or refused (as for English,
    an edited lab is refused unless ``force``), and translated solutions to re-run.
    """
    from course.notebooks import build_labs

    lines = []
    for lang in editions(solutions_dir):
        lines += [f"updated {path.relative_to(path.parents[3])}"
                  for path in update_catalogues(solutions_dir, lang)]
        lines += [f"updated the text of solutions/{lang}/{path.name}"
                  for path in solution_paths(solutions_dir) if refresh_markdown(path, lang)]
        source = edition_dir(solutions_dir, lang)
        if source.is_dir() and any(source.glob("*.ipynb")):
            target = edition_dir(labs_dir, lang)
            report = build_labs(source, target, force=force)
            lines += [f"{label} {target / name}" for label, names in
                      (("created", report.created), ("updated", report.updated),
                       ("refused to overwrite (edited; --force backs it up)", report.refused))
                      for name in names]
        for path in solution_paths(solutions_dir):
            problem = solution_problem(path, lang)
            if problem:
                lines.append(f"solutions/{lang}/{path.name} is {problem}: run `course "
                             f"run-solutions --lang {lang} {path.stem}`")
    return lines


def edition_problems(solutions_dir: Path, labs_dir: Path) -> dict[str, list[str]]:
    """Everything stale in the translated editions: catalogues, solutions and labs."""
    from course.notebooks import lab_problems

    problems: dict[str, list[str]] = {}
    for lang in editions(solutions_dir):
        for name, found in translation_problems(solutions_dir, lang).items():
            problems[f"{lang}: {name}"] = found
        source, target = edition_dir(solutions_dir, lang), edition_dir(labs_dir, lang)
        if source.is_dir():
            for name, reason in lab_problems(source, target).items():
                problems.setdefault(f"{lang}: {name}", []).append(f"labs/{lang}/{name}: {reason}")
    return problems


def run_translated(english: list[Path], lang: str, timeout: float) -> list[str]:
    """Render each solution in ``lang``, execute it and store it; the failures' messages."""
    from course.execute import ExecuteError, execute_notebook

    failures = []
    for path in english:
        temporary = write_rendered(path, lang)
        print(f"executing {temporary.parent / path.name} ...", flush=True)
        try:
            execute_notebook(temporary, timeout=timeout)
            saved = commit_rendered(temporary)
        except ExecuteError as exc:
            failures.append(str(exc))
            print(exc)
            continue
        finally:  # a failed or interrupted run leaves nothing half-made behind
            temporary.unlink(missing_ok=True)
        print(f"saved {saved}")
    return failures
