"""The Chinese edition: catalogues kept current, messages and labs translated, plots legible.

The mechanism is tested on small fixtures (templates, extraction, stale detection, render);
the edition itself on every lab by one parametrised test each: its catalogue is complete and
current, its Chinese solution is the rendering of today's English and stores Chinese check
lines, and its Chinese lab is generated from that solution.
"""

from __future__ import annotations

import io
import re
import textwrap
import warnings
from pathlib import Path

import nbformat
import polib
import pytest

import course.i18n as i18n
from course.checks import CheckResult
from course.i18n import Catalogue, catalogues, glossary, has_cjk, tr
from course.i18n.build import edition_dir, rendered_solution, solution_problem
from course.i18n.extract import module_messages, package_messages
from course.i18n.labs import SETUP_CALL, lab_entries, render
from course.notebooks import cell_source, make_lab, read_solution

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
LAB_IDS = [p.stem for p in SOLUTIONS]


# --- run-time translation ---------------------------------------------------------------------


def test_templates_translate_printed_values_and_nested_messages():
    cat = Catalogue({
        "{name}: {points:g}/{max_points:g} points": "{name}：{points:g}/{max_points:g} 分",
        "the model has {n} layers; {why}": "模型有 {n} 层；{why}",
        "add the bias": "加上偏置",
        "use {{ and }} literally: {x}": "原样使用 {{ 和 }}：{x}",
    })
    assert cat.translate("build_mlp: 1/2 points") == "build_mlp：1/2 分"
    assert cat.translate("the model has 3 layers; add the bias") == "模型有 3 层；加上偏置"
    assert cat.translate("use { and } literally: 7") == "原样使用 { 和 }：7"
    assert cat.translate("something never translated") == "something never translated"


def test_language_comes_from_set_language_else_the_environment(monkeypatch):
    monkeypatch.setattr(i18n, "_chosen", [])
    monkeypatch.setenv(i18n.ENV_VAR, "zh-CN")
    assert i18n.language() == "zh"
    monkeypatch.setenv(i18n.ENV_VAR, "klingon")
    assert i18n.language() == "en"
    i18n.set_language("zh")
    assert i18n.language() == "zh"
    with pytest.raises(ValueError, match="speaks en, zh"):
        i18n.set_language("fr")


def test_a_check_line_prints_in_chinese_with_its_numbers():
    result = CheckResult("build_mlp", 0, 2, "the model has no input shape yet: start the "
                         "Sequential with keras.Input(shape=(784,))")
    line = result.line("zh")
    assert has_cjk(line) and "build_mlp" in line and "0/2" in line and "keras.Input" in line
    assert result.line("en") == ("✘ build_mlp: 0/2 points — the model has no input shape yet: "
                                 "start the Sequential with keras.Input(shape=(784,))")


# --- extraction and merging -------------------------------------------------------------------


def test_extraction_takes_hints_and_fstrings_but_not_docstrings_or_help(tmp_path):
    module = tmp_path / "mod.py"
    module.write_text(textwrap.dedent('''
        """A docstring is not a message."""
        def f(n, parser):
            """Nor is this one."""
            parser.add_argument("--x", help="help texts are left out")
            expect(n == 3, f"the model has {n} layers, expected " + "three of them")
            return "single"
    '''))
    assert [text for text, _ in module_messages(module)] == [
        "the model has {n} layers, expected three of them"]


def test_every_check_module_message_is_extracted():
    messages = package_messages()
    assert "{self.name}: {self.points:g}/{self.max_points:g} points" in messages
    assert any(where.startswith("course/checks/lab07.py") for w in messages.values() for where in w)


def _po(*entries: polib.POEntry) -> polib.POFile:
    po = polib.POFile()
    for entry in entries:
        po.append(entry)
    return po


def test_changed_english_keeps_the_old_translation_marked_stale():
    old = _po(polib.POEntry(msgctxt="cell-1", msgid="Old text", msgstr="旧文本"),
              polib.POEntry(msgctxt="cell-2", msgid="Moved text", msgstr="移动的文本"))
    new = [catalogues.Entry("cell-1", "New text", "markdown"),
           catalogues.Entry("cell-9", "Moved text", "markdown"),
           catalogues.Entry("cell-3", "Brand new", "markdown")]
    merged = {e.msgctxt: e for e in catalogues.merge_lab(old, new)}
    assert merged["cell-1"].fuzzy and merged["cell-1"].previous_msgid == "Old text"
    assert merged["cell-1"].msgid == "New text" and merged["cell-1"].msgstr == "旧文本"
    assert merged["cell-9"].msgstr == "移动的文本" and not merged["cell-9"].fuzzy
    assert merged["cell-3"].msgstr == ""


def test_a_changed_message_is_stale_not_silently_kept():
    old = _po(polib.POEntry(msgid="the hidden layer has {n} units; use 512",
                            msgstr="隐藏层有 {n} 个单元；应为 512"))
    merged = catalogues.merge_messages(old, {"the hidden layer has {n} units; use 256": ["x:1"]})
    (entry,) = list(merged)
    assert entry.fuzzy and entry.previous_msgid == "the hidden layer has {n} units; use 512"


def test_problems_name_the_lab_cell_and_what_is_wrong(tmp_path, monkeypatch):
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    monkeypatch.setattr(catalogues, "LOCALES_DIR", tmp_path)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Hello", id="intro"),
                                         nbformat.v4.new_code_cell("x = 1  # one example",
                                                                   id="code")])
    assert catalogues.lab_problems(nb, "zh", "00_fixture") == [
        "cell intro (markdown): not translated", "cell code (comment): not translated"]
    path = catalogues.lab_catalogue_path("zh", "00_fixture")
    path.parent.mkdir(parents=True)
    _po(polib.POEntry(msgctxt="intro", msgid="Hello", msgstr="你好"),
        polib.POEntry(msgctxt="code #", msgid="one example", msgstr="一个样本")).save(str(path))
    assert catalogues.lab_problems(nb, "zh", "00_fixture") == []
    nb.cells[0].source = "Hello again"
    assert catalogues.lab_problems(nb, "zh", "00_fixture") == [
        "cell intro (markdown): stale: its English changed"]


def test_render_translates_prose_and_comments_and_selects_chinese():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Lab 00\nSee [the bench](../benchmarks/README.md).",
                                      id="title"),
        nbformat.v4.new_code_cell(f"from course.env import check_setup\n{SETUP_CALL}", id="setup"),
        nbformat.v4.new_code_cell("y = x + 1  # add one\n# keep going\nprint('# not a comment')",
                                  id="code"),
    ])
    lookup = {("title", nb.cells[0].source): "# 实验 00\n见[基准](../benchmarks/README.md)。",
              ("code #", "add one"): "加一", ("code #", "keep going"): "继续"}
    zh = render(nb, "zh", lookup)
    assert zh.cells[0].source.startswith("# 实验 00\n见[基准](../../benchmarks/README.md)。")
    assert "GLOSSARY.zh-CN.md" in zh.cells[0].source
    assert zh.cells[1].source.endswith('check_setup(seed=42, language="zh")')
    assert zh.cells[2].source == "y = x + 1  # 加一\n# 继续\nprint('# not a comment')"
    assert zh.metadata["course"]["language"] == "zh"
    assert nb.cells[2].source.startswith("y = x + 1  # add one")  # the English is untouched
    assert [e.context for e in lab_entries(nb)] == ["title", "code #", "code #"]


# --- the glossary and the font ----------------------------------------------------------------


def _all_catalogues() -> list[Path]:
    return sorted((ROOT / "course" / "locales").rglob("*.po"))


@pytest.mark.parametrize("path", _all_catalogues(), ids=lambda p: p.stem)
def test_each_glossary_term_is_translated_the_same_way_everywhere(path):
    bad = [f"{entry.msgctxt or entry.msgid[:40]!r}: {problem}"
           for entry in polib.pofile(str(path)) if entry.msgstr
           for problem in glossary.violations(entry.msgid, entry.msgstr)]
    assert not bad, "\n".join(bad)


def test_glossary_page_is_rendered_from_the_glossary():
    page = (ROOT / "GLOSSARY.zh-CN.md").read_text(encoding="utf-8")
    assert glossary.markdown() in page


def test_the_violations_check_catches_a_different_term():
    assert glossary.violations("Overfitting shows in the loss", "过度拟合体现在损失上") == [
        "overfitting → 过拟合"]


def _chinese_text() -> str:
    paths = [*_all_catalogues(), glossary.GLOSSARY_TSV, *ROOT.glob("*.zh-CN.md")]
    return "".join(sorted({ch for p in paths for ch in p.read_text(encoding="utf-8")
                           if has_cjk(ch)}))


def test_the_bundled_font_has_every_chinese_character_the_kit_prints():
    from fontTools.ttLib import TTFont

    from course.fonts import CJK_FONT

    cmap = TTFont(str(CJK_FONT))["cmap"].getBestCmap()
    missing = [ch for ch in _chinese_text() if ord(ch) not in cmap]
    assert not missing, f"re-run tools/make_cjk_font.py: missing {''.join(missing)}"
    assert CJK_FONT.stat().st_size < 4_000_000
    assert (CJK_FONT.parent / "OFL.txt").read_text().count("SIL OPEN FONT LICENSE") >= 1


def test_a_chinese_plot_label_renders_without_a_missing_glyph():
    import matplotlib
    from matplotlib.figure import Figure

    from course.fonts import use_chinese_font

    saved = matplotlib.rcParams["font.family"]
    try:
        use_chinese_font()
        fig = Figure()
        ax = fig.add_subplot()
        ax.set_title("训练损失与验证损失：过拟合（overfitting）")
        ax.set_xlabel("".join(t.chinese for t in glossary.terms()))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)"
            fig.savefig(io.BytesIO(), format="png")
    finally:
        matplotlib.rcParams["font.family"] = saved


def test_without_the_font_the_same_label_would_be_missing_glyphs():
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().set_title("训练损失")
    with pytest.warns(UserWarning, match="missing from font"):
        fig.savefig(io.BytesIO(), format="png")


# --- the edition, every lab -------------------------------------------------------------------


def test_every_package_message_is_translated():
    problems = catalogues.message_problems("zh")
    assert not problems, f"{len(problems)} messages:\n" + "\n".join(problems[:30])


@pytest.mark.parametrize("path", SOLUTIONS, ids=LAB_IDS)
def test_every_lab_catalogue_is_complete_and_current(path):
    problems = catalogues.lab_problems(read_solution(path), "zh", path.stem)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", SOLUTIONS, ids=LAB_IDS)
def test_every_chinese_solution_is_todays_rendering_with_chinese_check_lines(path):
    assert solution_problem(path, "zh") is None
    zh = read_solution(edition_dir(path.parent, "zh") / path.name)
    for cell in zh.cells:
        grade = cell.metadata.get("nbgrader", {})
        if grade.get("grade") and not grade.get("solution") and cell.cell_type == "code":
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert has_cjk(text), f"{grade['grade_id']}: no Chinese check line in {text!r}"
    prose = [cell_source(c) for c in zh.cells if c.cell_type == "markdown"]
    assert all(has_cjk(text) for text in prose)
    assert rendered_solution(path, "zh").metadata["course"]["language"] == "zh"


@pytest.mark.parametrize("path", SOLUTIONS, ids=LAB_IDS)
def test_every_chinese_lab_is_generated_from_its_chinese_solution(path):
    zh_solution = edition_dir(path.parent, "zh") / path.name
    lab = ROOT / "labs" / "zh" / path.name
    expected = nbformat.writes(make_lab(read_solution(zh_solution), path.name))
    assert lab.read_text(encoding="utf-8").rstrip("\n") == expected.rstrip("\n")
    english = make_lab(read_solution(path), path.name)
    chinese = nbformat.reads(expected, as_version=4)
    assert [c.metadata.get("nbgrader") for c in chinese.cells] == [
        c.metadata.get("nbgrader") for c in english.cells]
    assert chinese.metadata.course.language == "zh"


def test_tr_leaves_english_alone_when_english_is_chosen():
    assert tr("the model has no input shape yet: start the Sequential with x", "en") == (
        "the model has no input shape yet: start the Sequential with x")


def _syllabus_times(path: Path, unit: str) -> dict[str, str]:
    rows = [line for line in path.read_text(encoding="utf-8").splitlines()
            if re.match(r"\| \*\*0\d ", line)]
    return {row[4:6]: re.search(rf"(\d+) {unit} \|\s*$", row).group(1) for row in rows}


def test_the_chinese_readme_gives_the_same_two_commands_and_times():
    from reference import load_script

    readme_command = load_script(ROOT / ".ci/readme_command.py").readme_command
    first_screen = "\n".join((ROOT / "README.zh-CN.md").read_text().splitlines()[:40])
    assert readme_command("learn") in first_screen and readme_command("test") in first_screen
    english = _syllabus_times(ROOT / "README.md", "min")
    assert english and _syllabus_times(ROOT / "README.zh-CN.md", "分钟") == english
    assert "labs/zh/" in first_screen
    assert "GLOSSARY.zh-CN.md" in (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", SOLUTIONS, ids=LAB_IDS)
def test_every_chinese_lab_links_the_glossary(path):
    lab = ROOT / "labs" / "zh" / path.name
    title = next(c for c in nbformat.read(lab, as_version=4).cells if c.cell_type == "markdown")
    link = re.search(r"\]\(([^)]*GLOSSARY\.zh-CN\.md)\)", cell_source(title))
    assert link and (lab.parent / link.group(1)).resolve().is_file()


def test_solutions_without_an_edition_folder_leave_the_kit_catalogues_alone(tmp_path):
    from course.cli import main
    from course.i18n.build import editions

    catalogues_dir = ROOT / "course" / "locales" / "zh_CN" / "labs"
    before = sorted(p.name for p in catalogues_dir.iterdir())
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "# Lab 00", id="title")]), solutions / "00_fixture.ipynb")
    assert editions(solutions) == [] and editions(ROOT / "solutions") == ["zh"]
    labs = tmp_path / "labs"
    assert main(["build-labs", "--solutions", str(solutions), "--labs", str(labs)]) == 0
    assert main(["build-labs", "--check", "--solutions", str(solutions), "--labs", str(labs)]) == 0
    assert sorted(p.name for p in catalogues_dir.iterdir()) == before
