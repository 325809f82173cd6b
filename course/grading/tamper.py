"""The tamper scan: learner code that reaches for the grading machinery, flagged for a human."""

from __future__ import annotations

import ast
import re

from course.grading.plan import LEARNER_KINDS, Step, StepKind, parse_all
from course.notebooks import python_source

_SUSPICIOUS = [
    (re.compile(r"\bsys\s*\.\s*modules\b"), "uses sys.modules"),
    (re.compile(r"\b(_getframe|currentframe|f_back|f_locals|f_globals|co_consts)\b"),
     "inspects interpreter frames"),
    (re.compile(r"\bgc\s*\.\s*get_(objects|referrers|referents)\b"), "walks the garbage collector"),
    (re.compile(r"\b(builtins|__builtins__|__import__)\b"), "touches builtins"),
    (re.compile(r"\bimportlib\b"), "uses importlib"),
    (re.compile(r"\b(get_ipython|display_pub|publish_display_data|input_transformers\w*)\b"
                r"|\bevents\s*\.\s*register\b|\bIPython\s*\.\s*core\b"),
     "uses IPython's machinery"),
    (re.compile(r"\bctypes\b"), "uses ctypes"),
    (re.compile(r"vnd\.course|course_grade|\bhmac\b"), "names the grader's result channel"),
    (re.compile(r"\bcourse\s*\.\s*checks\b|\b(CheckResult|CheckLog|LOG|_banked)\b"),
     "refers to the grading machinery"),
]


def _imported_names(sources: list[str]) -> set[str]:
    names: set[str] = set()
    for tree in parse_all(sources):
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for item in node.names:
                    names.add(item.asname or item.name.split(".")[0])
    return names


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - ast.unparse handles every expression
        return "?"


def _pattern_flags(step: Step) -> list[str]:
    flags = []
    for pattern, what in _SUSPICIOUS:
        match = pattern.search(step.source)
        if match:
            line = step.source.count("\n", 0, match.start()) + 1
            flags.append(f"{step.where}, line {line}: {what} ({match.group(0)!r})")
    return flags


def _targets(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Assign | ast.Delete):
        return list(node.targets)
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return [node.target]
    return []


def _patch_flags(step: Step, modules: set[str]) -> list[str]:
    """Assignments to (and ``setattr``/``del`` on) attributes of imported modules."""
    try:
        tree = ast.parse(python_source(step.source))
    except SyntaxError:
        return []
    flags = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("setattr", "delattr") and node.args
                and _root_name(node.args[0]) in modules):
            flags.append(f"{step.where}, line {node.lineno}: {node.func.id} on "
                         f"{_dotted(node.args[0])} (monkeypatching)")
        for target in _targets(node):
            patched = next((sub for sub in ast.walk(target)
                            if isinstance(sub, ast.Attribute) and _root_name(sub) in modules),
                           None)
            if patched is not None:
                flags.append(f"{step.where}, line {node.lineno}: assigns to "
                             f"{_dotted(patched)} (monkeypatching)")
    return flags


def scan_for_tampering(steps: list[Step]) -> list[str]:
    """Return one line per suspicious construct in the learner's code (answer and extra cells).

    Flags are for a human; they never change a score. They cover assignments to (and
    ``setattr``/``del`` on) attributes of imported modules — monkeypatching ``np``, ``keras``,
    ``checks``... — and names of the interpreter or grading machinery.
    """
    modules = _imported_names([s.source for s in steps if s.kind is not StepKind.CHECK])
    flags: list[str] = []
    for step in steps:
        if step.kind in LEARNER_KINDS:
            flags += _pattern_flags(step) + _patch_flags(step, modules)
    return list(dict.fromkeys(flags))
