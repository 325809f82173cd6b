"""Every fact the kit states about the articles, checked against the articles' own text.

The articles live in ``shared/articles/`` beside the repository (CI lays it there); without
them these tests skip and say so.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from reference import load_script

from course.articles import ARTICLES, Article, article, articles_for_lab

ROOT = Path(__file__).resolve().parent.parent
ARTICLES_DIR = ROOT.parent / "shared" / "articles"

needs_articles = pytest.mark.skipif(
    not ARTICLES_DIR.is_dir(), reason=f"the articles are not at {ARTICLES_DIR}"
)


def code_of(item: Article) -> str:
    """The article's code blocks, joined (the facts are in the code, not the prose)."""
    text = (ARTICLES_DIR / item.file).read_text(encoding="utf-8")
    return "\n".join(re.findall(r"```python\n(.*?)```", text, flags=re.S))


@needs_articles
@pytest.mark.parametrize("item", ARTICLES, ids=[a.key for a in ARTICLES])
def test_layers_loss_optimizer_and_budget_match_the_article(item: Article) -> None:
    code = code_of(item)
    if item.framework == "PyTorch":
        widths = [(int(a), int(b)) for a, b in re.findall(r"nn\.Linear\((\d+),\s*(\d+)\)", code)]
        assert widths == list(zip(item.layers, item.layers[1:], strict=False))
        assert "CrossEntropyLoss" in code and item.loss == "cross-entropy"
        lr = re.search(r"optim\.SGD\(.*?lr=([\d.]+)", code)
        assert lr and float(lr.group(1)) == item.learning_rate
        momentum = re.search(r"momentum=([\d.]+)", code)
        assert (float(momentum.group(1)) if momentum else None) == item.momentum
        assert ("momentum" in item.optimizer) == (momentum is not None)
        epochs = re.search(r"for epoch in range\((\d+)\)", code)
        assert epochs and int(epochs.group(1)) == item.epochs
        batch = re.search(r"batch_size=(\d+)", code)
        assert (int(batch.group(1)) if batch else None) == item.batch_size
    else:
        shapes = re.search(r"input_size = (\d+)\s+hidden_size = (\d+)\s+output_size = (\d+)", code)
        assert shapes and tuple(int(v) for v in shapes.groups()) == item.layers
        assert "tf.reduce_mean(tf.square(" in code and item.loss == "mean squared error"
        assert "GradientDescentOptimizer(learning_rate)" in code
        assert re.search(r"learning_rate = ([\d.]+)", code).group(1) == str(item.learning_rate)
        assert "for i in range(1000)" in code
    assert "Normalize" not in code, "no article normalises: ToTensor() alone"


@needs_articles
@pytest.mark.parametrize("item", ARTICLES, ids=[a.key for a in ARTICLES])
def test_what_the_article_prints(item: Article) -> None:
    code = code_of(item)
    prints = re.findall(r"print\('(\[%d, %5d\] loss: %\.3f)'", code)
    if item.prints == "nothing":
        assert not prints
    else:
        assert prints == ["[%d, %5d] loss: %.3f"]
        every_100 = "i % 100 == 99" in code and "running_loss / 100" in code
        assert every_100 == ("every 100 batches" in item.prints)


@needs_articles
@pytest.mark.parametrize("item", ARTICLES, ids=[a.key for a in ARTICLES])
def test_code_that_cannot_run_as_written_is_named(item: Article) -> None:
    code = code_of(item)
    undefined = [name for name in ("X_train", "train_loader", "trainloader")
                 if re.search(rf"\b{name}\b", code)
                 and not re.search(rf"^\s*{name}\s*=", code, flags=re.M)]
    missing_import = bool(re.search(r"^(?!\s*from ).*\btorchvision\.", code, flags=re.M)
                          and not re.search(r"^\s*import torchvision\b", code, flags=re.M))
    no_flatten = item.framework == "PyTorch" and not re.search(r"\.view\(|flatten", code)
    problems = [*undefined, *(["torchvision"] if missing_import else []),
                *(["flatten"] if no_flatten and item.batch_size else [])]
    if item.runs_as_written == "yes":
        assert not problems
    else:
        for word in problems:
            assert word in item.runs_as_written, (word, item.runs_as_written)


@needs_articles
def test_every_article_file_is_labelled_once() -> None:
    files = sorted(p.name for p in ARTICLES_DIR.glob("*.txt"))
    assert files == sorted(a.file for a in ARTICLES)
    assert [a.key for a in ARTICLES] == ["A", "B", "C", "D", "E"]


def test_labels_and_lookups() -> None:
    assert article("C").title == "Article C — TF1 placeholder network, 10→20→5"
    assert article("A").title_zh.startswith("文章 A「")
    assert [a.key for a in articles_for_lab("01")] == ["A", "D", "E"]
    with pytest.raises(KeyError, match="the labels are A, B, C, D, E"):
        article("F")
    for item in ARTICLES:
        assert "→".join(str(n) for n in item.layers) in item.label_en
        assert "→".join(str(n) for n in item.layers) in item.label_zh


SNIPPETS = load_script(ROOT / "tools" / "article_errors.py")
RECORDED = {key: line for item in ARTICLES for key, line in item.errors}


def test_every_snippet_has_a_recorded_error_and_every_record_a_snippet() -> None:
    assert set(RECORDED) == set(SNIPPETS.SNIPPETS)
    for item in ARTICLES:
        assert bool(item.errors) == (item.runs_as_written != "yes"), item.key


@pytest.mark.parametrize("key", sorted(SNIPPETS.SNIPPETS))
def test_recorded_errors_are_what_the_snippets_raise(key: str) -> None:
    module = SNIPPETS.SNIPPETS[key][0]
    if not SNIPPETS.available(module):
        pytest.skip(f"{module} is not installed here (pip install -e '.[bench]' for PyTorch)")
    assert SNIPPETS.error_line(key) == RECORDED[key]


@needs_articles
@pytest.mark.parametrize("item", ARTICLES, ids=[a.key for a in ARTICLES])
def test_the_theory_the_labs_draw_from_an_article_is_in_it(item: Article) -> None:
    text = (ARTICLES_DIR / item.file).read_text(encoding="utf-8")
    assert item.topics
    for words in item.topics:
        assert words in text, words


def test_readme_names_every_article_and_its_labs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for item in ARTICLES:
        row = next((line for line in readme.splitlines() if f"**{item.title}**" in line), "")
        assert row, f"README has no row for {item.title}"
        assert item.title_zh in row and row.rstrip(" |").endswith(", ".join(item.labs))
        for lab in item.labs:
            syllabus = next(line for line in readme.splitlines()
                            if line.startswith(f"| **{lab} "))
            cited = re.findall(r"\*\*Articles? ([A-E](?:(?:, | and )[A-E])*)\*\*", syllabus)
            assert any(item.key in group for group in cited), (lab, item.key, cited)


ORDINAL_ARTICLE = re.compile(r"\b(?:first|second|third|fourth|fifth|last|one|another) articles?\b",
                             re.IGNORECASE)


def test_no_text_names_an_article_by_its_position() -> None:
    """"The fourth article" is ambiguous (the files are numbered from 000): say "Article E"."""
    texts = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8")
             for p in [ROOT / "README.md", *sorted((ROOT / "solutions").glob("*.ipynb"))]}
    found = [(name, m.group()) for name, text in texts.items()
             for m in ORDINAL_ARTICLE.finditer(text)]
    assert not found, found
