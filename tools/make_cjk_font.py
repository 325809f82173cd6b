"""Make the kit's Chinese plot font: a subset of Noto Sans CJK SC (SIL OFL 1.1).

Matplotlib's default font has no Chinese glyphs, so Chinese labels draw as empty boxes.
The kit bundles a *subset* of Noto Sans CJK SC (Google/Adobe, SIL Open Font License 1.1)
holding the 3,755 common characters of GB 2312 level 1, the 3,008 of level 2, CJK and
full-width punctuation, and every character of the Chinese catalogues and glossary, renamed
"Course Sans SC" as the licence asks of modified fonts. About 4 MB instead of 19 MB for the
whole collection, or 85 MB for the font package on PyPI (``mplfonts``).

Source: Debian's ``fonts-noto-cjk`` (1:20220127+repack1-1), whose
``NotoSansCJK-Regular.ttc`` holds the SC face as font number 2::

    apt-get download fonts-noto-cjk && dpkg-deb -x fonts-noto-cjk_*.deb x
    python tools/make_cjk_font.py x/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

Writes ``course/resources/fonts/CourseSansSC-Regular.otf``; the licence is kept beside it.
Re-run it when a translation adds a character outside GB 2312 (a test fails until then).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "course" / "resources" / "fonts" / "CourseSansSC-Regular.otf"
FAMILY = "Course Sans SC"
SC_FACE = 2  # "Noto Sans CJK SC" in NotoSansCJK-Regular.ttc


def gb2312() -> set[str]:
    """The 6,763 hanzi and the symbols of GB 2312 (rows 1-9 and 16-87)."""
    chars = set()
    for row in [*range(0xA1, 0xAA), *range(0xB0, 0xF8)]:
        for cell in range(0xA1, 0xFF):
            try:
                chars.add(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def catalogue_chars() -> set[str]:
    """Every character of the Chinese catalogues, the glossary and README.zh-CN.md."""
    paths = [*(ROOT / "course" / "locales").rglob("*.po"),
             *(ROOT / "course" / "locales").rglob("*.tsv"), *ROOT.glob("*.zh-CN.md")]
    return {ch for path in paths for ch in path.read_text(encoding="utf-8") if ord(ch) > 0x2000}


def main(source: str) -> None:
    """Subset face :data:`SC_FACE` of ``source`` to the kit's characters; write :data:`OUT`."""
    font = TTCollection(source).fonts[SC_FACE]
    text = (gb2312() | catalogue_chars() | {chr(c) for c in range(0x20, 0x7F)}
            | {chr(c) for c in range(0x3000, 0x3040)} | {chr(c) for c in range(0xFF00, 0xFFF0)})
    options = subset.Options()
    options.name_IDs = ["*"]
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(text)))
    subsetter.subset(font)
    names = font["name"]
    for record in names.names:
        if record.nameID in (1, 16):
            record.string = FAMILY
        elif record.nameID in (3, 4):
            record.string = f"{FAMILY} Regular"
        elif record.nameID == 6:
            record.string = FAMILY.replace(" ", "") + "-Regular"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    font.save(OUT)
    print(f"{OUT.relative_to(ROOT)}: {len(font.getGlyphOrder())} glyphs, "
          f"{OUT.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main(sys.argv[1])
