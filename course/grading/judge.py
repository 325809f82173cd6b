"""The clean re-check: each check cell re-run on the kernel's record, where no learner code ran.

``python -m course.grading.judge`` reads ``{"exercises": [...]}`` (JSON) on stdin, one item
per check cell: its ``grade_id``, ``segments``, ``aliases`` and the kernel's record of its
``answers`` (:mod:`~course.grading.recorder`). For each it imports the public ``course``
modules, binds every recorded name and runs the segments with the grader cell's own
:func:`~course.grading.grader_cell._run_segments`:

- a learner's function becomes a :class:`Replay`: its n-th call returns the n-th recorded
  result (or raises the recorded exception from a line of "your code"), once the arguments
  the check passes here encode exactly as the ones it passed in the kernel (same SHA-256);
  arguments the function changed in place are changed here too;
- a recorded plain value is bound as that value; a module, when the solution imports that
  module under that name (``modules``), as the module; anything else becomes an
  :class:`Opaque`.

Whatever cannot be replayed (an argument or result that is not plain, a call beyond the
record, other arguments, the check using the answer other than by calling it) raises
:class:`NotReplayable`, a ``BaseException``, so that no check turns it into a hint: that
exercise is "judged in the kernel". It writes one line, :data:`MARKER` + JSON, on stdout.

Only kit code and JSON data run here: no learner code, no pickle.
"""

from __future__ import annotations

import builtins
import importlib
import io
import json
import sys
from typing import Any

from course.grading.plain import _NotPlain, decode, digest

MARKER = "COURSE-JUDGE "
LEARNER_FILE = "<your code>"
"""The file name of the frame a replayed exception is raised from (a learner's frame)."""


class NotReplayable(BaseException):
    """The clean process cannot re-derive this check from the record (the message says why)."""


class Replay:
    """Stands for a learner's function: returns what the kernel recorded, call by call."""

    def __init__(self, name: str, calls: list[Any], failures: list[str]) -> None:
        """``calls``: the recorded calls; ``failures`` collects every refusal."""
        object.__setattr__(self, "_state", {"name": name, "calls": calls, "used": 0,
                                            "failures": failures})

    def _refuse(self, why: str) -> NotReplayable:
        object.__getattribute__(self, "_state")["failures"].append(why)
        return NotReplayable(why)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The next recorded result, if the check passed the same arguments as in the kernel."""
        state = object.__getattribute__(self, "_state")
        refuse = object.__getattribute__(self, "_refuse")
        name, index = state["name"], state["used"]
        state["used"] += 1
        if index >= len(state["calls"]):
            raise refuse(f"the check called {name} more often than in the kernel")
        call = state["calls"][index]
        if not isinstance(call, dict) or call.get("args") is None:
            raise refuse(f"{name}: {_why(call)}")
        try:
            here = digest((args, kwargs))
        except _NotPlain as exc:
            raise refuse(f"{name}: an argument is not plain ({exc})") from None
        if here != call["args"]:
            raise refuse(f"the check called {name} with other arguments than in the kernel")
        if "raised" in call:
            _raise_recorded(call["raised"], refuse, name)
        if call.get("result") is None:
            raise refuse(f"{name}: {_why(call)}")
        if "after" in call:
            _update((args, kwargs), call["after"], refuse, name)
        return decode(call["result"])

    def __getattribute__(self, attr: str) -> Any:
        if attr == "__class__":
            return object.__getattribute__(self, attr)
        name = object.__getattribute__(self, "_state")["name"]
        raise object.__getattribute__(self, "_refuse")(
            f"the check used {name}.{attr}, not only what {name} returns")

    def __repr__(self) -> str:
        raise object.__getattribute__(self, "_refuse")("the check showed the function itself")

    __str__ = __format__ = __repr__

    def __setattr__(self, attr: str, value: Any) -> None:
        raise object.__getattribute__(self, "_refuse")(f"the check set an attribute {attr}")


class Opaque:
    """Stands for a value the kernel could not export: any use of it is refused."""

    def __init__(self, name: str, why: str, failures: list[str]) -> None:
        """``why``: what the value was, e.g. ``"keras.src.models.sequential.Sequential"``."""
        object.__setattr__(self, "_state", (f"{name} is not plain ({why})", failures))

    def __getattribute__(self, attr: str) -> Any:
        why, failures = object.__getattribute__(self, "_state")
        failures.append(why)
        raise NotReplayable(why)


def _refuse_use(self: Opaque, *args: Any, **kwargs: Any) -> Any:
    return Opaque.__getattribute__(self, "_use")


for _special in ("call bool len iter next contains getitem setitem delitem hash repr str "
                 "format bytes int float complex index round eq ne lt le gt ge add radd sub "
                 "rsub mul rmul matmul rmatmul truediv rtruediv floordiv rfloordiv mod rmod "
                 "pow rpow neg pos abs invert and rand or ror xor rxor lshift rshift enter "
                 "exit array reversed setattr delattr dir reduce reduce_ex copy "
                 "deepcopy").split():
    setattr(Opaque, f"__{_special}__", _refuse_use)


def _why(call: Any) -> str:
    return str(call.get("why") or "not recorded") if isinstance(call, dict) else "not recorded"


def _raise_recorded(raised: Any, refuse: Any, name: str) -> None:
    """Raise what the learner's function raised, from a frame of "your code" at its line."""
    if not isinstance(raised, dict) or not isinstance(raised.get("message"), str):
        raise refuse(f"{name} raised an exception that could not be recorded")
    bases = [getattr(builtins, b, None) for b in raised.get("bases") or [] if isinstance(b, str)]
    base = next((b for b in bases if isinstance(b, type) and issubclass(b, Exception)), None)
    if base is None or not isinstance(raised.get("type"), str):
        raise refuse(f"{name} raised {raised.get('type')}, which no check catches")
    message = raised["message"]
    kind = type(raised["type"], (base,), {"__str__": lambda self: message,
                                          "__module__": "builtins"})
    try:
        exc = kind()
    except Exception:
        exc = base.__new__(kind)
    line = raised.get("line")
    if type(line) is int and 0 < line < 100_000:
        exec(compile("\n" * (line - 1) + "raise __recorded__", LEARNER_FILE, "exec"),
             {"__recorded__": exc})
    raise exc


def _update(target: Any, encoded: Any, refuse: Any, name: str) -> Any:
    """Change ``target`` in place to the recorded state after the call (arrays, variables,
    lists, dicts); return what its container should hold."""
    if encoded is None:
        raise refuse(f"{name} changed an argument into something that is not plain")
    new = decode(encoded)
    return _assign(target, new, encoded, refuse, name)


def _assign(target: Any, new: Any, encoded: list, refuse: Any, name: str) -> Any:
    import numpy as np

    tag = encoded[0]
    if tag in ("list", "tuple", "dict") and type(target) is type(new) and len(target) == len(
            new):
        pairs = encoded[1]
        if tag == "dict":
            for (_, enc), key in zip(pairs, list(new), strict=True):
                target[key] = _assign(target.get(key), new[key], enc, refuse, name)
            return target
        items = [_assign(t, n, e, refuse, name) for t, n, e in zip(target, new, pairs,
                                                                   strict=True)]
        if tag == "list":
            target[:] = items
        return target if all(a is b for a, b in zip(items, target, strict=True)) else tuple(items)
    if tag == "ndarray" and type(target) is np.ndarray and target.shape == new.shape:
        target[...] = new
        return target
    if tag == "variable" and type(target).__name__ == "ResourceVariable":
        target.assign(new.numpy())
        return target
    if tag in ("ndarray", "variable", "list", "dict"):
        raise refuse(f"{name} changed an argument in a way that cannot be replayed")
    return new


def _bind(aliases: dict[str, Any]) -> dict[str, Any]:
    """The public ``course`` modules (or functions) the segments name."""
    bound: dict[str, Any] = {}
    for alias, (form, module_name, attr) in aliases.items():
        if not (module_name == "course" or str(module_name).startswith("course.")):
            raise ValueError(f"not a course module: {module_name}")
        if form == "from":
            try:
                bound[alias] = importlib.import_module(f"{module_name}.{attr}")
            except ModuleNotFoundError:
                bound[alias] = getattr(importlib.import_module(module_name), attr)
        elif form == "top":
            importlib.import_module(module_name)
            bound[alias] = importlib.import_module("course")
        else:
            bound[alias] = importlib.import_module(module_name)
    return bound


def _namespace(item: dict, failures: list[str]) -> tuple[dict, dict[str, Replay]]:
    namespace: dict[str, Any] = {"__name__": "__main__"}
    replays: dict[str, Replay] = {}
    for name, answer in item["answers"].items():
        if name in item["aliases"] or not name.isidentifier() or name.startswith("__"):
            continue  # the kit's own names are never the record's to set
        kind = answer.get("kind")
        if kind == "function" and isinstance(answer.get("calls"), list):
            replays[name] = namespace[name] = Replay(name, answer["calls"], failures)
        elif kind == "value":
            namespace[name] = decode(answer.get("value"))
        elif kind == "module" and item.get("modules", {}).get(name) == answer.get("name"):
            namespace[name] = importlib.import_module(str(answer["name"]))  # the solution's
        elif kind in ("opaque", "module"):
            namespace[name] = Opaque(name, str(answer.get("why")), failures)
        else:
            raise ValueError(f"an unknown kind of answer for {name}")
    namespace.update(_bind(item["aliases"]))
    return namespace, replays


def judge_one(item: dict) -> dict[str, Any]:
    """Re-run one check cell on its record: ``{"status": "clean", "results", "error",
    "calls"}``, or ``{"status": "kernel", "why"}`` when it cannot be replayed."""
    from course.checks import LOG
    from course.grading.grader_cell import _run_segments

    failures: list[str] = []
    try:
        namespace, replays = _namespace(item, failures)
    except (ValueError, TypeError, KeyError, AttributeError, ImportError) as exc:
        return {"status": "kernel", "why": f"the record could not be read ({exc})"}
    spec = {"segments": item["segments"], "grade_id": item["grade_id"]}
    try:
        results, error = _run_segments(spec, namespace, LOG)
    except NotReplayable as exc:
        return {"status": "kernel", "why": str(exc)}
    if failures:  # refused, and the refusal swallowed on the way
        return {"status": "kernel", "why": failures[0]}
    calls = {name: object.__getattribute__(r, "_state")["used"] for name, r in replays.items()}
    return {"status": "clean", "results": results, "error": error, "calls": calls}


def judge(items: list[dict]) -> dict[str, dict]:
    """:func:`judge_one` for every item, by grade_id; the checks' printed lines discarded."""
    shown, sys.stdout = sys.stdout, io.StringIO()
    try:
        return {str(item["grade_id"]): judge_one(item) for item in items}
    finally:
        sys.stdout = shown


def main() -> None:
    """Read the request on stdin, write :data:`MARKER` and the answers on stdout."""
    request = json.load(sys.stdin)
    answers = judge(request["exercises"])
    sys.stdout.write(MARKER + json.dumps(answers) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
