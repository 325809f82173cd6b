"""The course's languages: which one is in use, and the translation of its messages.

English is the one source. A message the kit prints (a check's hint, ``course grade``'s
feedback, a CLI error) is written in English in the code; :func:`tr` looks it up in the
language's gettext catalogue, ``course/locales/<locale>/LC_MESSAGES/course.po``. Hints are
f-strings, so most catalogue entries are *templates*: ``"the model has {len(dense)} Dense
layers"`` matches any printed number and the Chinese text gets the same number back. Text
with no translation prints in English.

The language comes from :func:`set_language` (``check_setup(language="zh")`` in a Chinese
lab's setup cell, ``course --lang zh`` on the command line) or else from the environment
variable :data:`ENV_VAR` (``COURSE_LANG=zh``).

This module imports only the standard library (and ``polib`` when a catalogue is read).
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

ENV_VAR = "COURSE_LANG"
"""The environment variable that selects the language when nothing else did: ``en`` or ``zh``."""
LANGUAGES = {"en": "en", "zh": "zh_CN"}
"""The course's languages, by code, and the gettext locale of each catalogue."""
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
"""Where the catalogues are: ``<locale>/LC_MESSAGES/course.po`` and ``<locale>/labs/*.po``."""

_chosen: list[str] = []  # the language set by set_language, if any (empty: use ENV_VAR)
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{[^{}]+\}")
_CJK = re.compile(r"[\u3400-\u9fff]")


def normalize(lang: str | None) -> str:
    """``"zh"`` for ``zh``, ``zh_CN``, ``zh-CN`` or ``zh-Hans``; ``"en"`` for English.

    Raises:
        ValueError: for a language the course does not speak, naming those it does.
    """
    code = (lang or "en").strip().replace("-", "_").split("_")[0].lower()
    if code not in LANGUAGES:
        raise ValueError(f"the course speaks {', '.join(LANGUAGES)}, not {lang!r}")
    return code


def language() -> str:
    """The language in use: the one :func:`set_language` chose, else ``$COURSE_LANG``, else en."""
    if _chosen:
        return _chosen[-1]
    try:
        return normalize(os.environ.get(ENV_VAR))
    except ValueError:
        return "en"


def chosen_language() -> str | None:
    """The language :func:`set_language` chose (``course --lang``, a setup cell), or None."""
    return _chosen[-1] if _chosen else None


def set_language(lang: str) -> str:
    """Print the course's messages in ``lang`` (``"en"`` or ``"zh"``) from now on; return it."""
    code = normalize(lang)
    _chosen[:] = [code]
    return code


def has_cjk(text: str) -> bool:
    """True when ``text`` contains a Chinese character (a test that it was translated)."""
    return bool(_CJK.search(text))


_COUNTS = re.compile(r"\{(?:len\(.*\)|\w+ [+-] \d+|[ijkn]|[\w.()]+:[,d])\}")
"""Placeholders that print a whole number: ``{len(x)}``, ``{i + 1}``, ``{n}``, ``{x:,}``."""
_COUNT = r"-?\d[\d,]*"
"""What such a placeholder matches, so that in ``{what} {i + 1}`` the words go to ``what``."""


class Template:
    """An English message with ``{placeholders}``, matched against printed text."""

    def __init__(self, msgid: str, msgstr: str) -> None:
        self.msgid, self.msgstr = msgid, msgstr
        parts, self.names = [], []
        position = 0
        for match in _PLACEHOLDER.finditer(msgid):
            parts.append(re.escape(msgid[position:match.start()]))
            token = match.group()
            if token in ("{{", "}}"):
                parts.append(re.escape(token[0]))
            else:
                value = _COUNT if _COUNTS.fullmatch(token) else ".*?"
                parts.append(f"(?P<p{len(self.names)}>{value})")
                self.names.append(token)
            position = match.end()
        parts.append(re.escape(msgid[position:]))
        self.pattern = re.compile("".join(parts), re.DOTALL)
        self.literal = len(_PLACEHOLDER.sub("", msgid))

    def apply(self, text: str, translate: callable) -> str | None:
        """The translation of ``text`` when it matches, each placeholder's text translated too."""
        match = self.pattern.fullmatch(text)
        if match is None:
            return None
        values = {name: translate(match.group(f"p{i}")) for i, name in enumerate(self.names)}
        return _PLACEHOLDER.sub(
            lambda m: {"{{": "{", "}}": "}"}.get(m.group(), values.get(m.group(), m.group())),
            self.msgstr)


def _unescape(text: str) -> str:
    return text.replace("{{", "{").replace("}}", "}")


def placeholders(msgid: str) -> set[str]:
    """The ``{placeholders}`` of a message (``{{`` and ``}}`` are literal braces, not counted)."""
    return {m for m in _PLACEHOLDER.findall(msgid) if m not in ("{{", "}}")}


def is_template(msgid: str) -> bool:
    """True when ``msgid`` has a placeholder and enough literal text to be matched safely."""
    literal = _PLACEHOLDER.sub(" ", msgid)
    return bool(placeholders(msgid)) and len(re.findall(r"[A-Za-z]{3,}", literal)) >= 1


class Catalogue:
    """One language's messages: exact translations and templates, most specific first."""

    def __init__(self, pairs: dict[str, str]) -> None:
        self.exact = {k: v for k, v in pairs.items() if v}
        self.templates = sorted((Template(k, v) for k, v in self.exact.items() if is_template(k)),
                                key=lambda t: -t.literal)
        for msgid, msgstr in list(self.exact.items()):  # a plain string prints {{ as {
            if not is_template(msgid) and ("{{" in msgid or "}}" in msgid):
                self.exact[_unescape(msgid)] = _unescape(msgstr)

    def translate(self, text: str, depth: int = 0) -> str:
        """``text`` in this catalogue's language (unchanged when nothing matches)."""
        if text in self.exact:
            return self.exact[text]
        if depth > 4 or not re.search(r"[A-Za-z]{2,}", text):
            return text
        for template in self.templates:  # a value of one word (a key, a flag) stays as printed
            found = template.apply(text, lambda part: self.translate(part, depth + 1)
                                   if " " in part.strip() else part)
            if found is not None:
                return found
        return text


def catalogue_path(lang: str) -> Path:
    """The messages catalogue of ``lang``: ``course/locales/<locale>/LC_MESSAGES/course.po``."""
    return LOCALES_DIR / LANGUAGES[normalize(lang)] / "LC_MESSAGES" / "course.po"


@functools.cache
def catalogue(lang: str) -> Catalogue:
    """The translated, non-fuzzy messages of ``lang`` (empty for English or no catalogue)."""
    path = catalogue_path(lang)
    if normalize(lang) == "en" or not path.exists():
        return Catalogue({})
    import polib

    return Catalogue({entry.msgid: entry.msgstr for entry in polib.pofile(str(path))
                      if entry.msgstr and not entry.fuzzy and not entry.obsolete})


def tr(text: str, lang: str | None = None) -> str:
    """``text`` (an English message) in ``lang``, by default the language in use."""
    code = normalize(lang) if lang else language()
    if code == "en" or not text:
        return text
    return catalogue(code).translate(text)


def tr_line(line: str, lang: str | None = None) -> str:
    """A printed check line, ``✘ name: 0/2 points — hint``, with its score and hint translated."""
    score, dash, hint = line.partition(" — ")
    return tr(score, lang) + (dash + tr(hint, lang) if dash else "")
