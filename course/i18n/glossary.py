"""The glossary (术语表): each term the labs use, in English and Chinese, and its API name.

``course/locales/zh_CN/glossary.tsv`` is the one source; ``GLOSSARY.zh-CN.md`` is rendered
from it (:func:`markdown`). :func:`violations` checks that a translation uses the glossary's
term wherever its English uses the English term, so a term is translated the same way
everywhere. ``python -m course.i18n.glossary FILE.po ...`` lists a catalogue's violations;
``--markdown`` prints the glossary's table.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from course.i18n import LOCALES_DIR

GLOSSARY_TSV = LOCALES_DIR / "zh_CN" / "glossary.tsv"
_IGNORED = re.compile(r"`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|\{[^{}]*\}|https?://\S+|\([^()]*\.(?:md|ipynb)"
                      r"[^()]*\)|<[^>]+>", re.DOTALL)


@dataclass(frozen=True)
class Term:
    """One glossary row."""

    english: str
    chinese: str
    api: str = ""
    note: str = ""

    def pattern(self) -> re.Pattern[str]:
        """The English term as a whole word, any case, singular or plural."""
        words = re.escape(self.english).replace(r"\ ", r"[\s-]+")
        return re.compile(r"\b" + words + r"(?:s|es)?\b", re.IGNORECASE)


def terms(path: Path = GLOSSARY_TSV) -> list[Term]:
    """The glossary's terms, longest English first (so "batch size" is found before "batch")."""
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    found = [Term(*(cell.strip() for cell in row[:4])) for row in rows]
    return sorted(found, key=lambda term: -len(term.english))


_CODE = re.compile(r"[\w.]+\([^()]*\)|\b\w+=\S+")


def prose(text: str) -> str:
    """``text`` without inline code, calls, maths, placeholders, links and HTML (kept as is)."""
    return _CODE.sub(" ", _IGNORED.sub(" ", text)).replace("isation", "ization")


def violations(english: str, chinese: str, glossary: list[Term] | None = None) -> list[str]:
    """The glossary terms ``english`` uses whose Chinese term ``chinese`` lacks."""
    text, missing = prose(english), []
    for term in glossary or terms():
        if term.pattern().search(text):
            text = term.pattern().sub(" ", text)
            if term.chinese not in chinese:
                missing.append(f"{term.english} → {term.chinese}")
    return missing


def markdown(glossary: list[Term] | None = None) -> str:
    """The glossary as the Markdown table of ``GLOSSARY.zh-CN.md``, in English order."""
    rows = sorted(glossary or terms(), key=lambda term: term.english.lower())
    lines = ["| 中文 | English | Keras / TensorFlow | 说明 |", "|---|---|---|---|"]
    for term in rows:
        api = f"`{term.api}`" if term.api else ""
        note = {"as the articles say": "文章原词", "kept in English": "保留英文",
                "one pass over the training data": "完整遍历一次训练数据"}.get(term.note, term.note)
        lines.append(f"| {term.chinese} | {term.english} | {api} | {note} |")
    return "\n".join(lines) + "\n"


def _main(paths: list[str]) -> int:
    import polib

    count = 0
    for path in paths:
        for entry in polib.pofile(path):
            if entry.msgstr and not entry.obsolete:
                for problem in violations(entry.msgid, entry.msgstr):
                    count += 1
                    print(f"{path}: {entry.msgctxt or entry.msgid[:50]!r}: {problem}")
    print(f"{count} glossary violation(s)")
    return 1 if count else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--markdown"]:
        print(markdown(), end="")
        sys.exit(0)
    sys.exit(_main(sys.argv[1:]))
