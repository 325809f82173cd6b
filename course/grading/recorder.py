"""Recording in the kernel: the plain values a check cell's answers gave, for a clean re-check.

Before a grader cell runs its check, :func:`_record_answers` looks up every name the check's
segments use (except the ``course`` modules): a learner's function is replaced, in the
check's namespace only, by a recorder that calls it and notes, per call and in order, the
SHA-256 of the :mod:`~course.grading.plain` encoding of its arguments (and their encoding
after the call, when the function changed them), the encoding of its result (or the exception
it raised), or "not plain"; a module is exported as its name, any other value as its encoding
(or "not plain"). The record travels in the grader cell's signed result;
:mod:`~course.grading.judge` replays it.

:func:`_record_answers` and its helpers are sent to the kernel as source
(:data:`RECORDER_SOURCE`): builtins and local imports only. The host-side helpers below decide
which names are recorded and which checks are declared kernel-only
(``@check(points, judged="kernel")``), from the source alone (no check module is imported).
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from pathlib import Path
from typing import Any

from course.grading.plain import _digest, _encode, _NotPlain

WRAPPED_TYPES = [["builtins", "function"], ["builtins", "builtin_function_or_method"],
                 ["builtins", "method"], ["functools", "partial"]]
"""The callables a recorder stands in for; classes and other objects (a Keras model) are
exported as "not plain" and keep their identity in the kernel."""


def _record_answers(spec, namespace, is_learner):  # pragma: no cover - runs inside the kernel
    """Put recorders in ``namespace`` for the learner's functions; return the record."""
    T = ().__class__.__class__
    record = {"answers": {}}
    budget = [spec["record_bytes"]]
    for name in spec["names"]:
        if name not in namespace:
            continue
        value = namespace[name]
        kind = T(value)
        if [kind.__module__, kind.__name__] in spec["wrapped"] or (
                kind.__name__ == "Function" and kind.__module__.startswith("tensorflow.")):
            calls = []
            record["answers"][name] = {"kind": "function", "calls": calls}
            namespace[name] = _recording(value, calls, budget, is_learner)
            continue
        if kind.__name__ == "module" and kind.__module__ == "builtins":
            record["answers"][name] = {"kind": "module", "name": str(value.__name__)}
            continue
        try:
            record["answers"][name] = {"kind": "value", "value": _encode(value, budget)}
        except Exception as exc:
            why = str(exc) if T(exc) is _NotPlain else "%s.%s" % (kind.__module__,
                                                                  kind.__qualname__)
            record["answers"][name] = {"kind": "opaque", "why": why}
    return record


def _recording(fn, calls, budget, is_learner):  # pragma: no cover - runs inside the kernel
    """A function that calls ``fn`` and appends what each call took and gave to ``calls``."""
    import functools

    def recorded(*args, **kwargs):
        call = {}
        calls.append(call)
        call["args"] = _encode_or_none((args, kwargs), None, call, "an argument")
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            call["raised"] = _raised(exc, is_learner)
            raise
        call["result"] = _encode_or_none(result, budget, call, "the result")
        if call["args"] is not None and call["args"] != _encode_or_none(
                (args, kwargs), None, call, "an argument"):
            call["after"] = _encode_or_none((args, kwargs), budget, call, "a changed argument")
        return result

    try:
        functools.update_wrapper(recorded, fn)
    except Exception:
        pass
    return recorded


def _encode_or_none(value, budget, call, what):  # pragma: no cover - runs inside the kernel
    """The encoding of ``value`` (budget None: the digest of arguments), or None (and why, in
    ``call["why"]``) when it is not plain."""
    try:
        return _encode(value, budget) if budget is not None else _digest(value, [64_000_000])
    except Exception as exc:
        if "why" not in call:
            call["why"] = "%s is not plain (%s)" % (what, exc if ().__class__.__class__(exc)
                                                     is _NotPlain else "unreadable")
        return None


def _raised(exc, is_learner):  # pragma: no cover - runs inside the kernel
    """What a learner's exception looks like to a check: type, message, line of their code."""
    kind = ().__class__.__class__(exc)
    line, tb = None, exc.__traceback__
    while tb is not None:
        if is_learner(tb.tb_frame.f_code.co_filename):
            line = tb.tb_lineno
        tb = tb.tb_next
    try:
        message = str(exc)
    except Exception:
        message = None
    return {"type": kind.__name__, "message": message, "line": line,
            "bases": [c.__name__ for c in kind.__mro__ if c.__module__ == "builtins"]}


RECORDER_SOURCE = "\n\n".join(
    textwrap.dedent(inspect.getsource(part)).replace(
        "  # pragma: no cover - runs inside the kernel", "")
    for part in (_record_answers, _recording, _encode_or_none, _raised)
)
"""The in-kernel half: ``_record_answers`` and its helpers (with :data:`PLAIN_SOURCE`)."""


# ---------------------------------------------------------------------------------------------
# Host side: which names are recorded, which checks are kernel-only
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def kernel_only_checks(root: Path) -> frozenset[str]:
    """Checks declared ``@check(..., judged="kernel")`` in ``root/checks/*.py``, by
    qualified name (``"course.checks.lab03.train_step"``)."""
    found = set()
    for path in sorted(Path(root, "checks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and any(
                    isinstance(d, ast.Call) and any(
                        k.arg == "judged" and isinstance(k.value, ast.Constant)
                        and k.value.value == "kernel" for k in d.keywords)
                    for d in node.decorator_list):
                found.add(f"course.checks.{path.stem}.{node.name}")
    return frozenset(found)


def segment_names(segments: list[tuple[Any, str]], aliases: dict[str, Any]) -> set[str]:
    """Every name the segments use (all of ``aliases`` for a segment that does not parse)."""
    used: set[str] = set()
    for _, text in segments:
        try:
            used |= {n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name)}
        except SyntaxError:
            used |= set(aliases)
    return used


def module_aliases(sources: list[str]) -> dict[str, str]:
    """Names the solution's code binds to modules outside ``course`` (``np`` → ``numpy``):
    the clean process imports these for a check that names them."""
    from course.grading.plan import parse_all

    found: dict[str, str] = {}
    for tree in parse_all(sources):
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for item in node.names:
                    if item.name.split(".")[0] != "course":
                        found[item.asname or item.name.split(".")[0]] = (
                            item.name if item.asname else item.name.split(".")[0])
    return found


def _dotted(node: ast.AST) -> list[str]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    return [node.id, *parts] if isinstance(node, ast.Name) else []


def called_checks(segments: list[tuple[Any, str]],
                  aliases: dict[str, list[str | None]]) -> set[str]:
    """The qualified names of the ``course`` functions the segments call through ``aliases``."""
    called = set()
    for _, text in segments:
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            parts = _dotted(node.func) if isinstance(node, ast.Call) else []
            if not parts or parts[0] not in aliases:
                continue
            form, module, attr = aliases[parts[0]]
            if form == "top":
                called.add(".".join(parts))
            elif form == "from":
                called.add(".".join([f"{module}.{attr}", *parts[1:]]))
            else:
                called.add(".".join([str(module), *parts[1:]]))
    return called


def judged_in_kernel(segments: list[tuple[Any, str]], aliases: dict[str, list[str | None]],
                     root: Path) -> bool:
    """Whether a check cell calls a check declared kernel-only (so nothing is recorded)."""
    return bool(called_checks(segments, aliases) & kernel_only_checks(Path(root)))
