"""A lab's text as gettext entries, and the lab rendered in another language.

Each markdown cell is one entry whose ``msgctxt`` is the cell's id; each comment a learner
reads in a code cell is one entry whose ``msgctxt`` is ``"<cell id> #"``. Code, outputs and
nbgrader metadata are never translated. Standard library and nbformat only.
"""

from __future__ import annotations

import copy
import io
import re
import tokenize
from dataclasses import dataclass

import nbformat

from course.i18n import tr_line
from course.notebooks import cell_source

COMMENT_CONTEXT = " #"
"""Appended to a cell id to make the ``msgctxt`` of that cell's code comments."""
_KEPT_COMMENTS = re.compile(r"#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)|# YOUR CODE HERE|"
                            r"#\s*NBVAL|#\s*noqa|#\s*type:|#\s*pragma|#\s*fmt:")
SETUP_CALL = "check_setup(seed=42)"
"""The setup cell's call; a translated lab's setup cell adds ``language=...`` to it."""
_CHECK_LINE = re.compile(r"`([✔✘] [^`]+)`")  # an expected check line, printed in the language
_UP_LINK = re.compile(r"\]\(\.\./")  # a link out of solutions/ goes one folder further up
GLOSSARY_LINK = {"zh": "\n\n[术语表（中英对照）](../../GLOSSARY.zh-CN.md)"}
"""Appended to a translated lab's title cell: the glossary, relative to ``labs/zh/``."""


@dataclass(frozen=True)
class Entry:
    """One translatable piece of a lab: its context (cell id), English text and cell kind."""

    context: str
    msgid: str
    kind: str  # "markdown" or "comment"


def _comments(source: str) -> list[tuple[int, int, int, str]]:
    """Each translatable comment as (line index, start column, end column, text after '#')."""
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
                  if t.type == tokenize.COMMENT]
        found = [(t.start[0] - 1, t.start[1], t.end[1], t.string) for t in tokens]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        found = [(i, len(line) - len(line.lstrip()), len(line), line.strip())
                 for i, line in enumerate(source.split("\n")) if line.lstrip().startswith("#")]
    return [(row, start, end, text.lstrip("#").strip()) for row, start, end, text in found
            if not _KEPT_COMMENTS.match(text) and re.search(r"[A-Za-z]{2,}", text)]


def lab_entries(nb: nbformat.NotebookNode) -> list[Entry]:
    """The translatable entries of a solution notebook, in cell order."""
    entries: list[Entry] = []
    for cell in nb.cells:
        source = cell_source(cell)
        if cell.cell_type == "markdown" and source.strip():
            entries.append(Entry(cell.id, source, "markdown"))
        elif cell.cell_type == "code":
            seen = set()
            for *_, text in _comments(source):
                if text not in seen:
                    seen.add(text)
                    entries.append(Entry(cell.id + COMMENT_CONTEXT, text, "comment"))
    return entries


def _translate_comments(source: str, context: str, lookup: dict[tuple[str, str], str]) -> str:
    lines = source.split("\n")
    for row, start, end, text in reversed(_comments(source)):
        translated = lookup.get((context, text))
        if translated:
            hashes = re.match(r"#+\s?", lines[row][start:end]).group()
            lines[row] = lines[row][:start] + hashes + translated + lines[row][end:]
    return "\n".join(lines)


def render(solution: nbformat.NotebookNode, lang: str,
           lookup: dict[tuple[str, str], str]) -> nbformat.NotebookNode:
    """``solution`` in ``lang``: markdown and comments from ``lookup``, code unchanged.

    Args:
        solution: the English solution notebook (not modified).
        lang: the language code, e.g. ``"zh"``.
        lookup: ``{(msgctxt, English text): translation}`` (current, non-fuzzy entries only);
            text without a translation stays English.

    Returns:
        A new notebook with outputs kept, the setup call given ``language=lang``, the
        glossary linked from the title cell and ``metadata.course.language = lang``.
    """
    nb = copy.deepcopy(solution)
    titled = False
    for cell in nb.cells:
        source = cell_source(cell)
        if cell.cell_type == "markdown" and source.strip():
            text = _UP_LINK.sub("](../../", lookup.get((cell.id, source), source))
            cell.source = _CHECK_LINE.sub(lambda m: "`" + tr_line(m.group(1), lang) + "`", text)
            if not titled:
                cell.source += GLOSSARY_LINK.get(lang, "")
                titled = True
        elif cell.cell_type == "code":
            source = _translate_comments(source, cell.id + COMMENT_CONTEXT, lookup)
            cell.source = source.replace(SETUP_CALL, SETUP_CALL[:-1] + f', language="{lang}")')
    nb.metadata.setdefault("course", {})["language"] = lang
    return nb

