"""The grader cell: the code that replaces a check cell and publishes a signed result.

:class:`_PrivateCourse`, :func:`_run_segments` and :func:`_grader_main` are sent to the
learner's kernel as *source* (:data:`GRADER_SOURCE`) and run there in a namespace of their
own, so they use only builtins and local imports (a learner's global named ``len`` or ``json``
cannot reach them). They can also be called in-process (tests).
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import secrets
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

from course.grading.integrity import INTEGRITY_SOURCE, _tampered, expected_fingerprints
from course.grading.plain import PLAIN_SOURCE, RECORD_BYTES
from course.grading.recorder import (
    RECORDER_SOURCE,
    WRAPPED_TYPES,
    _record_answers,
    judged_in_kernel,
    segment_names,
)

if TYPE_CHECKING:  # the clean process imports this module without nbformat
    from course.grading.plan import Step

RESULT_MIME = "application/vnd.course.grade+json"
"""The display-data type of a grader cell's signed result."""
GRADER_ERROR = "grader"
"""The ``error.kind`` of a result whose check could not start (the grader's own failure)."""


class _PrivateCourse:  # pragma: no cover - runs inside the kernel
    """Private copies of ``course`` modules, from package files whose SHA-256 is known.

    Never left in ``sys.modules``, so monkeypatching the kernel's ``course.checks`` does not
    reach them; their ``import course...`` statements get private copies too.
    """

    def __init__(self, spec):
        import builtins

        self.root, self.hashes = spec["package_root"], spec["hashes"]
        self.prefix = spec["private_prefix"]
        self.real_import = builtins.__import__
        self.builtins = dict(vars(builtins))
        self.builtins["__import__"] = self.import_
        self.loaded = {}

    def locate(self, name):
        """The package-relative file of module ``name``, or None."""
        rel = name.split(".")[1:]
        for relpath in ("/".join([*rel, "__init__.py"]), "/".join(rel) + ".py"):
            if relpath in self.hashes:
                return relpath
        return None

    def read(self, relpath):
        import hashlib
        import io
        import os

        path = os.path.join(self.root, *relpath.split("/"))
        with io.FileIO(path) as f:  # not builtins.open, which IPython may replace
            source = f.readall()
        if hashlib.sha256(source).hexdigest() != self.hashes[relpath]:
            raise RuntimeError(f"the grader's file course/{relpath} changed during grading")
        return path, source

    def submodule_getattr(self, package):
        """A package's ``__getattr__``: ``course.checks.lab01`` without an import."""

        def submodule(attr):
            if self.locate(f"{package}.{attr}"):
                return self.load(f"{package}.{attr}")
            raise AttributeError(f"module {package!r} has no attribute {attr!r}")

        return submodule

    def load(self, name):
        """A private copy of module ``name`` (``course`` or below)."""
        import os
        import sys
        import types

        if name in self.loaded:
            return self.loaded[name]
        relpath = self.locate(name)
        if relpath is None:
            raise ImportError(f"No module named {name!r}", name=name)
        parent = name.rpartition(".")[0]
        parent_module = self.load(parent) if parent else None
        path, source = self.read(relpath)
        module = types.ModuleType(self.prefix + name)
        module.__file__ = path
        module.__package__ = parent
        if relpath.endswith("__init__.py"):
            module.__path__ = [os.path.dirname(path)]
            module.__package__ = name
            module.__getattr__ = self.submodule_getattr(name)
        module.__builtins__ = self.builtins
        self.loaded[name] = module
        sys.modules[module.__name__] = module  # only while it runs: dataclasses look it up
        try:
            exec(compile(source, path, "exec", dont_inherit=True), module.__dict__)
        finally:
            sys.modules.pop(module.__name__, None)
        if parent_module is not None:
            setattr(parent_module, name.rpartition(".")[2], module)
        return module

    def import_(self, name, globals=None, locals=None, fromlist=(), level=0):
        """``__import__`` for the private modules: ``course...`` from here, the rest as usual."""
        if level:
            package = (globals or {}).get("__package__") or ""
            bits = package.rsplit(".", level - 1)
            name = f"{bits[0]}.{name}" if name else bits[0]
            level = 0
        if not (name == "course" or name.startswith("course.")):
            return self.real_import(name, globals, locals, fromlist, level)
        module = self.load(name)
        for item in fromlist or ():
            if item != "*" and not hasattr(module, item) and self.locate(f"{name}.{item}"):
                self.load(f"{name}.{item}")
        return module if fromlist else self.load("course")

    def bind(self, aliases):
        """The solution's names for ``course`` modules, bound to the private copies."""
        bound = {}
        for alias, (form, module_name, attr) in aliases.items():
            if form == "from" and self.locate(f"{module_name}.{attr}"):
                bound[alias] = self.load(f"{module_name}.{attr}")  # from course import checks
            elif form == "from":
                bound[alias] = getattr(self.load(module_name), attr)  # from ...lab01 import f
            elif form == "top":
                self.load(module_name)
                bound[alias] = self.load("course")  # import course.checks.lab01
            else:
                bound[alias] = self.load(module_name)
        return bound


def _run_segments(spec, namespace, log):  # pragma: no cover - runs inside the kernel
    """Run the check's segments in ``namespace``; return the checks' results and any error."""
    results, error = [], None
    for kind, source in spec["segments"]:
        start = len(log.results)
        try:
            exec(compile(source, f"<check {spec['grade_id']}>", "exec", dont_inherit=True),
                 namespace)
        except (Exception, SystemExit) as exc:
            try:
                message = str(exc) if kind == "visible" else ""
            except Exception:
                message = ""
            error = {"kind": kind, "type": type(exc).__name__, "message": message}
        for result in log.results[start:]:
            results.append({"name": str(result.name), "points": float(result.points),
                            "max_points": float(result.max_points), "hint": str(result.hint),
                            "kind": kind})
        if error is not None:
            break
    return results, error


def _grader_main(spec, user_ns, publish=None):  # pragma: no cover - runs inside the kernel
    """Run one check cell's solution source against the learner's objects; publish the result.

    The learner's functions the check names are recorded (:mod:`~course.grading.recorder`)
    unless the check is kernel-only; the record is signed with the result.
    ``publish`` receives the signed message (tests); by default it is displayed. When what
    the grader itself uses was replaced (:func:`_tampered`, before and after the check), it
    publishes an unsigned notice instead, and never uses the key.
    """
    results, error, record = [], None, None
    changed = _tampered(spec["trusted"])
    if not changed:
        try:
            private = _PrivateCourse(spec)
            namespace = dict(user_ns)
            namespace.update(private.bind(spec["aliases"]))
            log = private.load("course.checks").LOG
        except Exception as exc:
            error = {"kind": "grader", "type": type(exc).__name__, "message": str(exc)}
        if error is None and spec["record"]:
            try:
                learner = private.load("course.checks")._is_learner_frame
                record = _record_answers(spec, namespace, learner)
            except Exception as exc:
                record = {"failed": "%s: %s" % (type(exc).__name__, exc)}
        if error is None:
            results, error = _run_segments(spec, namespace, log)
        changed = _tampered(spec["trusted"])
    if changed:
        message = {spec["mime"]: {"tampered": spec["grade_id"], "changed": changed[:20]}}
    else:
        import hashlib
        import hmac
        import json

        payload = json.dumps({"grade_id": spec["grade_id"], "results": results,
                              "error": error, "record": record}, sort_keys=True)
        mac = hmac.new(spec["key"].encode(), payload.encode(), hashlib.sha256).hexdigest()
        message = {spec["mime"]: {"payload": payload, "mac": mac}}
    if publish is None:
        from IPython.display import display

        display(message, raw=True)
    else:
        publish(message)


GRADER_SOURCE = "\n\n".join([INTEGRITY_SOURCE, PLAIN_SOURCE, RECORDER_SOURCE, *(
    textwrap.dedent(inspect.getsource(part)).replace(
        "  # pragma: no cover - runs inside the kernel", "")
    for part in (_PrivateCourse, _run_segments, _grader_main)
)])
"""The source a grader cell runs in the kernel: defines ``_grader_main`` and its helpers."""


def package_hashes(root: Path | None = None) -> tuple[Path, dict[str, str]]:
    """Return the ``course`` package folder and the SHA-256 of each of its ``.py`` files."""
    root = Path(root or Path(__file__).resolve().parents[1])
    hashes = {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*.py"))
        if "__pycache__" not in path.parts
    }
    return root, hashes


def grader_spec(step: Step, key: str, package: tuple[Path, dict[str, str]],
                aliases: dict[str, list[str | None]]) -> dict[str, Any]:
    """The data a grader cell needs (plain str/float/list/dict only: it is sent as a repr)."""
    used = segment_names(step.segments, aliases)
    root, hashes = package
    return {
        "grade_id": step.grade_id,
        "names": sorted(used - set(aliases)),
        "record": not judged_in_kernel(step.segments, aliases, root),
        "record_bytes": RECORD_BYTES,
        "wrapped": WRAPPED_TYPES,
        "segments": [[str(kind), text] for kind, text in step.segments],
        "aliases": {name: [None if part is None else str(part) for part in value]
                    for name, value in aliases.items() if name in used},
        "package_root": str(root),
        "hashes": hashes,
        "private_prefix": f"__course_grade_{secrets.token_hex(4)}__.",
        "key": key,
        "mime": RESULT_MIME,
        "trusted": expected_fingerprints(),
    }


def grader_filename(package_root: str | Path) -> str:
    """The file name the grader's code runs under: inside the ``course`` package, so that a
    check never counts the grader's frames as the learner's code (hints name learner lines)."""
    return str(Path(package_root) / "grading" / "<course grade>")


def grader_cell_source(spec: dict[str, Any]) -> str:
    """Return the code of a grader cell: run :func:`_grader_main` in a namespace of its own."""
    program = f"{GRADER_SOURCE}\n_grader_main({spec!r}, USER_NS)\n"
    filename = grader_filename(spec["package_root"])
    return (
        f"# course grade: the check for {spec['grade_id']}, run by the grader\n"
        "import builtins as __course_grade_builtins\n"
        "__course_grade_builtins.exec(\n"
        f"    __course_grade_builtins.compile({program!r}, {filename!r}, 'exec', "
        "dont_inherit=True),\n"
        "    {'__builtins__': __course_grade_builtins, '__name__': '__course_grade__',\n"
        "     'USER_NS': __course_grade_builtins.globals()},\n"
        ")\n"
        "del __course_grade_builtins\n"
    )


def _tamper_notice(found: dict, grade_id: str) -> dict[str, Any] | None:
    """An unsigned "tampered" notice for ``grade_id`` as a result (it only costs points)."""
    changed = found.get("changed")
    if found.get("tampered") != grade_id or not isinstance(changed, list):
        return None
    return {"grade_id": grade_id, "results": [], "error": None,
            "tampered": [str(name) for name in changed]}


def read_result(outputs: list[Any], key: str, grade_id: str) -> dict[str, Any] | None:
    """Return the grader cell's verified result, or None when missing, doubled or forged.

    An unsigned "tampered" notice counts as a result with a ``tampered`` list (score 0).
    """
    found = [
        output["data"][RESULT_MIME]
        for output in outputs
        if output.get("output_type") in ("display_data", "execute_result")
        and RESULT_MIME in (output.get("data") or {})
    ]
    if len(found) != 1 or not isinstance(found[0], dict):
        return None
    if "tampered" in found[0]:
        return _tamper_notice(found[0], grade_id)
    payload, mac = found[0].get("payload"), found[0].get("mac")
    if not isinstance(payload, str) or not isinstance(mac, str):
        return None
    expected = hmac.new(key.encode(), payload.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, mac):
        return None
    try:
        result = json.loads(payload)
    except ValueError:
        return None
    return result if isinstance(result, dict) and result.get("grade_id") == grade_id else None
