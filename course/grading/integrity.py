"""The grader cell's trusted base: the standard library it relies on, checked unpatched.

Learner code runs in the kernel before and during each grader cell, so it can replace a
function the grader cell itself calls (``hmac.new``, ``builtins.open``, ``json.dumps``...),
reached through any module that imported it (``jupyter_client.session.hmac``,
``matplotlib.font_manager.json``). Each grader cell therefore compares a *fingerprint* of
every attribute of :data:`TRUSTED_MODULES` (a function's code, constants, defaults and module;
a builtin's name and owner; a class's own methods) with the fingerprints a clean interpreter
computes (:func:`expected_fingerprints`, one subprocess per grading run), before it loads
anything and again before it signs. A difference makes the cell publish an *unsigned*
"tampered" notice instead of a result: it can only cost points, so it needs no key; the
exercise scores 0 and the report is flagged.

:func:`_fingerprint` and :func:`_tampered` run inside the kernel (shipped as source) and use
only operations learner code cannot replace: ``().__class__.__class__`` for ``type``,
attribute access on real functions and code objects, ``%`` formatting of built-in types.
"""

from __future__ import annotations

import functools
import inspect
import json
import subprocess
import sys
import textwrap

TRUSTED_MODULES = ("builtins", "hmac", "hashlib", "_hashlib", "json", "json.encoder", "_json",
                   "io", "posixpath", "genericpath", "types", "_operator", "operator")
"""Modules whose attributes the grader cell uses (directly or inside hmac, hashlib, os.path)."""
KERNEL_BUILTINS = ("display", "get_ipython", "input", "exit", "quit", "help", "print",
                   "copyright", "credits", "license", "open", "__IPYTHON__")
"""Builtins IPython and ipykernel set for every kernel (the grader cell does not use them
from ``builtins``: ``open`` is taken from ``io``), left out of the comparison."""


def _fingerprint(obj, depth=0):  # pragma: no cover - also runs inside the kernel
    """A string naming what ``obj`` is and does, equal across processes for the same object."""
    T = ().__class__.__class__
    kind = T(obj)
    simple = (T(None), T(True), T(0), T(0.0), T(""), T(b""))
    if kind in simple:
        return "%r" % (obj,)
    if kind is T(()):
        return "(" + ",".join([_fingerprint(item, depth + 1) for item in obj]) + ")"
    if kind is T(_fingerprint.__code__):
        return "code %s %s %s" % (obj.co_name, obj.co_code.hex(),
                                  _fingerprint(obj.co_consts, depth + 1))
    if kind is T(_fingerprint):
        return "function %s.%s %s %s %s %s" % (
            obj.__globals__.get("__name__"), obj.__qualname__, _fingerprint(obj.__code__),
            _fingerprint(obj.__defaults__), _fingerprint(obj.__kwdefaults__ or None),
            (obj.__closure__ or ()).__len__())
    if kind is T([].append):
        owner = obj.__self__
        return "builtin %s of %s" % (obj.__name__, T(owner).__qualname__
                                     if T(owner) is not T(T) else "?")
    if kind is T(T) or (T(kind) is T(T) and T in kind.__mro__):
        if depth > 0:
            return "class %s.%s" % (obj.__module__, obj.__qualname__)
        own = obj.__dict__
        methods = ["%s=%s" % (name, _fingerprint(own[name], 1)) for name in own
                   if T(own[name]) is T(_fingerprint)]
        return "class %s.%s [%s]" % (obj.__module__, obj.__qualname__, " ".join(methods))
    if kind is T(T):
        return "class %s.%s" % (obj.__module__, obj.__qualname__)
    if kind.__name__ == "module" and kind.__module__ == "builtins":
        return "module %s" % (obj.__name__,)
    return "object %s" % (kind.__qualname__,)


def _tampered(expected):  # pragma: no cover - runs inside the kernel
    """The trusted attributes whose fingerprint differs from a clean interpreter's."""
    import sys

    changed = []
    for module_name in expected:
        module = sys.modules.get(module_name)
        if module is None:
            module = __import__(module_name, fromlist=["_"])
        T = ().__class__.__class__
        if T(module).__name__ != "module" or T(module).__module__ != "builtins":
            changed.append(module_name)
            continue
        found = module.__dict__
        for name in expected[module_name]:
            value = found.get(name, changed)
            if value is changed or _fingerprint(value) != expected[module_name][name]:
                changed.append("%s.%s" % (module_name, name))
    return changed


def _fingerprints_now(modules: tuple[str, ...], skip: tuple[str, ...]) -> dict[str, dict]:
    """Fingerprints of the attributes of ``modules`` in this process (the clean one's job)."""
    import importlib

    found: dict[str, dict] = {}
    for module_name in modules:
        module = importlib.import_module(module_name)
        found[module_name] = {
            name: _fingerprint(value) for name, value in sorted(vars(module).items())
            if not (name.startswith("__") and name not in ("__import__", "__build_class__"))
            and not (module_name == "builtins" and name in skip)
        }
    return found


INTEGRITY_SOURCE = "\n\n".join(
    textwrap.dedent(inspect.getsource(part)).replace(
        "  # pragma: no cover - also runs inside the kernel", "").replace(
        "  # pragma: no cover - runs inside the kernel", "")
    for part in (_fingerprint, _tampered)
)
"""The in-kernel half: ``_fingerprint`` and ``_tampered``."""

_CLEAN_PROGRAM = "\n\n".join([
    "import json",
    textwrap.dedent(inspect.getsource(_fingerprint)),
    textwrap.dedent(inspect.getsource(_fingerprints_now)),
    f"print(json.dumps(_fingerprints_now({TRUSTED_MODULES!r}, {KERNEL_BUILTINS!r})))",
])


@functools.lru_cache(maxsize=1)
def expected_fingerprints() -> dict[str, dict[str, str]]:
    """The trusted modules' fingerprints in a clean interpreter (this one, isolated)."""
    done = subprocess.run([sys.executable, "-I", "-c", _CLEAN_PROGRAM], capture_output=True,
                          text=True, timeout=120, check=True)
    return json.loads(done.stdout)
