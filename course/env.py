"""The setup check every lab runs first: versions, devices, data (and `course doctor`)."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

MINIMUM = {"python": (3, 11), "tensorflow": (2, 16), "keras": (3, 0)}


class SetupError(RuntimeError):
    """The environment cannot run the labs; the message says how to fix it."""


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def versions() -> dict[str, str]:
    """Return the installed versions of Python, TensorFlow and Keras (no TensorFlow import)."""
    found = {"python": platform.python_version()}
    for name in ("tensorflow", "keras"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "missing"
    return found


def check_versions(found: dict[str, str] | None = None) -> dict[str, str]:
    """Raise :class:`SetupError` in one sentence when a version is below the minimum."""
    found = versions() if found is None else found
    for name, minimum in MINIMUM.items():
        have = found.get(name, "missing")
        if have == "missing" or _version_tuple(have) < minimum:
            need = ".".join(map(str, minimum))
            state = "is not installed" if have == "missing" else f"{have} is installed"
            raise SetupError(
                f"{name} {state} but the labs need {name} >= {need}; "
                f"run `pip install -e .` in the kit's folder (see README.md)."
            )
    return found


def devices() -> str:
    """Describe the devices TensorFlow sees, e.g. ``"1 CPU, no GPU"`` (imports TensorFlow)."""
    import tensorflow as tf

    cpus = len(tf.config.list_physical_devices("CPU"))
    gpus = len(tf.config.list_physical_devices("GPU"))
    if gpus:
        return f"{cpus} CPU, {gpus} GPU"
    return f"{cpus} CPU, no GPU (fine: every lab runs on CPU)"


def check_setup(seed: int | None = 42, language: str | None = None) -> None:
    """Print one line per fact: versions, devices, the bundled data; seed everything.

    It also makes Keras trace a fresh model's training step once instead of twice
    (:func:`course.tracing.build_before_tracing`; the training is unchanged).

    Args:
        seed: the seed for :func:`course.repro.set_seed` (None: do not seed).
        language: ``"zh"`` prints the course's check lines and hints in Chinese from now on
            (:func:`course.i18n.set_language`); None keeps ``$COURSE_LANG`` or English.

    Raises:
        SetupError: when a version is too old.
        course.data.DataError: when the bundled sample is missing or corrupt.
    """
    from course import data, repro, tracing
    from course.i18n import set_language, tr

    if language is not None and set_language(language) == "zh":
        from course.fonts import use_chinese_font

        use_chinese_font()
    found = check_versions()
    print(tr(f"Python {found['python']} · TensorFlow {found['tensorflow']} · Keras "
             f"{found['keras']} — versions OK"))
    print(tr(f"Devices: {devices()}"))
    tracing.build_before_tracing()
    data.load_mnist("sample")
    print(tr(f"Data: bundled MNIST sample verified (SHA-256 {data.SAMPLE_SHA256[:12]}…)"))
    if seed is not None:
        print(tr(f"Seed: {repro.set_seed(seed)} (Python, NumPy, TensorFlow, Keras; "
                 "op determinism on)"))
    sys.stdout.flush()
