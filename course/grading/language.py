"""The language of ``course grade``'s feedback, and the report translated into it.

A Chinese lab (``metadata.course.language = "zh"``, as ``labs/zh/`` has) gets Chinese
feedback; ``course --lang`` overrides the notebook, and ``$COURSE_LANG`` is the default. Scores
never depend on it: the checks run in English and only the report's text is translated
(:func:`course.i18n.tr_line`), so the same answers earn the same points in every language.
"""

from __future__ import annotations

from typing import Any

from course.grading.results import GradeReport
from course.i18n import chosen_language, language, normalize, tr, tr_line


def feedback_language(notebook: Any) -> str:
    """``course --lang`` if given, else the notebook's ``metadata.course.language``, else the
    environment's language (``$COURSE_LANG`` or English)."""
    chosen = chosen_language()
    if chosen:
        return chosen
    meta = notebook.get("metadata", {}).get("course")
    try:
        return normalize(meta.get("language")) if isinstance(meta, dict) \
            and meta.get("language") else language()
    except ValueError:  # a language the kit does not speak: English
        return "en"


def localize(report: GradeReport) -> None:
    """Translate the report's feedback lines and notes into ``report.language`` (in place)."""
    if report.language == "en":
        return
    for test in report.tests:
        test.output = "\n".join(tr_line(line, report.language)
                                for line in test.output.split("\n"))
    report.notes = [tr(note, report.language) for note in report.notes]
    report.flags = [tr(flag, report.language) for flag in report.flags]


def localized_text(text: str, lang: str) -> str:
    """A rendered report (Markdown, a summary line) with each line translated into ``lang``."""
    if lang == "en":
        return text
    return "\n".join(tr(line, lang) for line in text.split("\n"))
