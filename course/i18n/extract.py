"""Find the English messages of the ``course`` package that a learner reads.

A message is a string literal or an f-string of several words (docstrings and argparse
``help=`` texts excepted) in one of :data:`MESSAGE_MODULES`; in ``cli.py`` only the
arguments of ``_error(...)``, in ``plots.py`` those of ``tr(...)`` (axis labels: one word).
An f-string becomes a template whose placeholders are its
expressions as written, ``{len(dense)}``, so a translator sees what each one stands for.
Strings joined with ``+`` become one message. Standard library only (``ast``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
MESSAGE_MODULES = ("checks/*.py", "env.py", "doctor.py", "grading/scoring.py",
                   "grading/reports.py", "grading/crosscheck.py", "cli.py", "plots.py")
"""The modules (globs relative to ``course/``) whose messages are translated at run time."""
_ONLY_CALLS = {"cli.py": {"_error"}, "plots.py": {"tr"}}
"""Modules whose messages are only the arguments of these calls (there, one word is enough)."""
_SKIPPED_KEYWORDS = {"help", "description", "metavar", "epilog", "prog"}
_WORDS = re.compile(r"[A-Za-z]{3,}")


def message_text(node: ast.AST) -> str | None:
    """The message a string node prints, placeholders as ``{expression}``; None if not text."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("{", "{{").replace("}", "}}")
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value).replace("{", "{{").replace("}", "}}"))
            else:
                parts.append("{" + _placeholder(value) + "}")
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = message_text(node.left), message_text(node.right)
        return None if left is None or right is None else left + right
    return None


def _placeholder(value: ast.FormattedValue) -> str:
    """``expr``, ``expr!r`` or ``expr:spec`` as written in the f-string."""
    text = ast.unparse(value.value)
    if value.conversion != -1:
        text += "!" + chr(value.conversion)
    if value.format_spec is not None:
        text += ":" + "".join(str(v.value) if isinstance(v, ast.Constant) else "{}"
                              for v in value.format_spec.values)
    return text.replace("{", "(").replace("}", ")")


def is_message(text: str) -> bool:
    """True for text a person reads: at least two words, one of three letters or more."""
    bare = re.sub(r"\{[^{}]*\}", "x", text)
    return bool(re.search(r"\s", bare.strip())) and bool(_WORDS.search(bare))


def _docstrings(tree: ast.AST) -> set[int]:
    """Every string that is a statement of its own: docstrings, attribute docstrings."""
    return {id(node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}


def _skipped(tree: ast.AST) -> set[int]:
    """Nodes inside ``help=``-like keywords, and the parts of strings joined with ``+``."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in _SKIPPED_KEYWORDS:
            skipped |= {id(n) for n in ast.walk(node.value)}
        if isinstance(node, ast.BinOp) and message_text(node) is not None:
            skipped |= {id(n) for n in ast.walk(node) if n is not node}
        if isinstance(node, ast.JoinedStr):
            skipped |= {id(n) for n in ast.walk(node) if n is not node}
    return skipped


def _candidates(tree: ast.AST, only_calls: set[str] | None) -> Iterator[ast.AST]:
    if only_calls is None:
        yield from ast.walk(tree)
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in only_calls:
            for arg in node.args:
                yield from ast.walk(arg)


def module_messages(path: Path) -> list[tuple[str, int]]:
    """The messages of one module, each with its line number, in source order."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree) | _skipped(tree)
    found = []
    for node in _candidates(tree, _ONLY_CALLS.get(path.name)):
        if id(node) in skip:
            continue
        text = message_text(node)
        if text is not None and (is_message(text) or path.name in _ONLY_CALLS
                                 and _WORDS.search(text)):
            found.append((text, node.lineno))
    return sorted(found, key=lambda item: item[1])


def package_messages(package: Path = PACKAGE) -> dict[str, list[str]]:
    """Every message of :data:`MESSAGE_MODULES`: {msgid: ["course/checks/lab01.py:12", ...]}."""
    messages: dict[str, list[str]] = {}
    for pattern in MESSAGE_MODULES:
        for path in sorted(package.glob(pattern)):
            rel = path.relative_to(package.parent).as_posix()
            for text, line in module_messages(path):
                messages.setdefault(text, []).append(f"{rel}:{line}")
    return messages
