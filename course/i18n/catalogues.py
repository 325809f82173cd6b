"""The gettext catalogues (PO files, read and written with ``polib``), kept current.

``course/locales/<locale>/labs/<lab>.po`` holds a lab's text, ``.../LC_MESSAGES/course.po``
the package's messages. :func:`update_lab` and :func:`update_messages` merge the current
English into a catalogue as ``msgmerge`` does: a new text is added untranslated; a text whose
English changed keeps its old translation but is marked *fuzzy* (stale) with the old English
as ``#| msgid``, so a translator sees what changed; a text that is gone is dropped.
:func:`lab_problems` and :func:`message_problems` list what is missing or stale.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import nbformat
import polib

from course.i18n import LANGUAGES, LOCALES_DIR, catalogue_path, normalize, placeholders
from course.i18n.extract import package_messages
from course.i18n.labs import COMMENT_CONTEXT, Entry, lab_entries

_HEADER = {"Project-Id-Version": "keras-course-kit", "MIME-Version": "1.0",
           "Content-Type": "text/plain; charset=UTF-8", "Content-Transfer-Encoding": "8bit"}


def lab_catalogue_path(lang: str, lab: str) -> Path:
    """The catalogue of lab ``lab`` (a solution's stem, e.g. ``01_sequential_mlp``)."""
    return LOCALES_DIR / LANGUAGES[normalize(lang)] / "labs" / f"{lab}.po"


def _open(path: Path, lang: str) -> polib.POFile:
    if path.exists():
        return polib.pofile(str(path), wrapwidth=0)
    po = polib.POFile(wrapwidth=0)
    po.metadata = {**_HEADER, "Language": LANGUAGES[normalize(lang)]}
    return po


def _save(po: polib.POFile, path: Path) -> bool:
    """Write ``po`` when its text changed; True if it did."""
    text = str(po)  # what polib.POFile.save writes, so tools and merges agree
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def _stale(entry: polib.POEntry, msgid: str) -> None:
    """Mark ``entry`` stale: its translation is of ``entry.msgid``, now ``msgid``."""
    entry.previous_msgid = entry.previous_msgid or entry.msgid
    entry.msgid = msgid
    if "fuzzy" not in entry.flags:
        entry.flags.append("fuzzy")


def _key(entry: polib.POEntry | Entry) -> tuple[str, str]:
    """A markdown cell is keyed by its cell id; a comment by its cell id and its text."""
    context = entry.msgctxt if isinstance(entry, polib.POEntry) else entry.context
    return (context, entry.msgid if context.endswith(COMMENT_CONTEXT) else "")


def _carry(entry: polib.POEntry, old: polib.POEntry) -> None:
    """Give ``entry`` the translation of ``old``; stale when the English differs."""
    entry.msgstr, entry.flags = old.msgstr, list(old.flags)
    entry.previous_msgid = old.previous_msgid
    if old.msgid != entry.msgid:
        current = entry.msgid
        entry.msgid = old.msgid
        _stale(entry, current)


def merge_lab(po: polib.POFile, entries: list[Entry]) -> polib.POFile:
    """A new catalogue with ``entries`` (current English) and what ``po`` translated.

    A markdown cell keeps its translation by cell id (stale if its English changed); a
    comment by cell id and text, else the closest unmatched comment of its cell (stale);
    a text that moved to another cell keeps its translation.
    """
    old = {_key(e): e for e in po if not e.obsolete}
    by_text = {e.msgid: e for e in po if not e.obsolete and e.msgstr and not e.fuzzy}
    current = {_key(item) for item in entries}
    spare = [e for key, e in old.items() if key[1] and key not in current]
    merged = polib.POFile(wrapwidth=0)
    merged.metadata = dict(po.metadata)
    for item in entries:
        entry = polib.POEntry(msgctxt=item.context, msgid=item.msgid, msgstr="",
                              comment=item.kind)
        match = old.get(_key(item))
        if match is None and item.kind == "comment":
            texts = [e.msgid for e in spare if e.msgctxt == item.context]
            close = difflib.get_close_matches(item.msgid, texts, n=1, cutoff=0.6)
            match = next((e for e in spare if e.msgctxt == item.context and e.msgid in close),
                         None)
            if match is not None:
                spare.remove(match)
        if match is not None:
            _carry(entry, match)
        elif item.msgid in by_text:  # the same text moved to another cell
            entry.msgstr = by_text[item.msgid].msgstr
        merged.append(entry)
    return merged


def update_lab(solution: Path, lang: str) -> bool:
    """Merge the current text of ``solution`` into its catalogue; True if the file changed."""
    from course.notebooks import read_solution

    path = lab_catalogue_path(lang, Path(solution).stem)
    return _save(merge_lab(_open(path, lang), lab_entries(read_solution(solution))), path)


def lab_lookup(lang: str, lab: str) -> dict[tuple[str, str], str]:
    """``{(msgctxt, English): translation}`` for the current, non-fuzzy entries of a lab."""
    path = lab_catalogue_path(lang, lab)
    if not path.exists():
        return {}
    return {(e.msgctxt, e.msgid): e.msgstr for e in polib.pofile(str(path))
            if e.msgstr and not e.fuzzy and not e.obsolete}


def _entry_problem(entry: polib.POEntry | None) -> str | None:
    if entry is None or not entry.msgstr:
        return "not translated"
    if entry.fuzzy:
        return "stale: its English changed (see #| msgid)"
    missing = placeholders(entry.msgid) - placeholders(entry.msgstr)
    if missing:
        return f"the translation drops {', '.join(sorted(missing))}"
    return None


def lab_problems(solution: nbformat.NotebookNode, lang: str, lab: str) -> list[str]:
    """One line per entry of ``solution`` whose translation is missing or stale."""
    path = lab_catalogue_path(lang, lab)
    po = polib.pofile(str(path)) if path.exists() else []
    by_key = {_key(e): e for e in po if not e.obsolete}
    problems = []
    for item in lab_entries(solution):
        entry = by_key.get(_key(item))
        problem = _entry_problem(entry) if entry is None or entry.msgid == item.msgid \
            else "stale: its English changed"
        if problem:
            problems.append(f"cell {item.context.removesuffix(' #')} ({item.kind}): {problem}")
    return problems


def merge_messages(po: polib.POFile, messages: dict[str, list[str]]) -> polib.POFile:
    """A new messages catalogue: ``messages`` now, with what ``po`` translated.

    A message that is gone but close (difflib ratio ≥ 0.8) to a new one lends it its
    translation, marked fuzzy, as ``msgmerge`` does.
    """
    old = {e.msgid: e for e in po if not e.obsolete and e.msgstr}
    gone = [m for m in old if m not in messages]
    merged = polib.POFile(wrapwidth=0)
    merged.metadata = dict(po.metadata)
    for msgid, where in messages.items():
        entry = polib.POEntry(msgid=msgid, msgstr="", occurrences=[(w, "") for w in where])
        if msgid in old:
            entry.msgstr, entry.flags = old[msgid].msgstr, list(old[msgid].flags)
            entry.previous_msgid = old[msgid].previous_msgid
        else:
            close = difflib.get_close_matches(msgid, gone, n=1, cutoff=0.8)
            if close:
                entry.msgstr = old[close[0]].msgstr
                _stale(entry, msgid)
                entry.previous_msgid = close[0]
        merged.append(entry)
    return merged


def update_messages(lang: str) -> bool:
    """Merge the package's current messages into ``lang``'s catalogue; True if it changed."""
    path = catalogue_path(lang)
    return _save(merge_messages(_open(path, lang), package_messages()), path)


def message_problems(lang: str) -> list[str]:
    """One line per package message whose translation is missing or stale."""
    path = catalogue_path(lang)
    po = {e.msgid: e for e in polib.pofile(str(path)) if not e.obsolete} if path.exists() else {}
    problems = []
    for msgid, where in package_messages().items():
        problem = _entry_problem(po.get(msgid))
        if problem:
            problems.append(f"{where[0]}: {msgid[:60]!r}: {problem}")
    return problems
