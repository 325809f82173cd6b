"""The Chinese plot font: matplotlib draws Chinese labels instead of empty boxes.

Matplotlib's default font, DejaVu Sans, has no Chinese glyphs. The kit bundles "Course Sans
SC", a subset of Noto Sans CJK SC (SIL OFL 1.1; ``tools/make_cjk_font.py`` says how it was
made, ``course/resources/fonts/OFL.txt`` is its licence) with every common Chinese character.
:func:`use_chinese_font` makes it matplotlib's fallback font, so Latin text looks as before
and each Chinese character comes from it (matplotlib >= 3.6).
"""

from __future__ import annotations

from pathlib import Path

CJK_FONT = Path(__file__).resolve().parent / "resources" / "fonts" / "CourseSansSC-Regular.otf"
"""The bundled Chinese font file."""
CJK_FAMILY = "Course Sans SC"
"""Its family name, as matplotlib knows it once registered."""


def use_chinese_font() -> list[str]:
    """Register :data:`CJK_FONT` with matplotlib and make it the fallback of every family.

    Matplotlib falls back from font to font only along ``rcParams["font.family"]`` (a
    generic name such as ``"sans-serif"`` stands for one font), so :data:`CJK_FAMILY` is
    appended there: Latin text keeps its font, Chinese characters come from this one.

    Returns:
        ``rcParams["font.family"]`` as it now is, e.g. ``["sans-serif", "Course Sans SC"]``.
    """
    import matplotlib
    from matplotlib import font_manager

    if CJK_FAMILY not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(CJK_FONT))
    families = [f for f in matplotlib.rcParams["font.family"] if f != CJK_FAMILY]
    matplotlib.rcParams["font.family"] = [*families, CJK_FAMILY]
    return matplotlib.rcParams["font.family"]
