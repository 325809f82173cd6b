"""Trace a fresh Keras model's training step once instead of twice.

On the TensorFlow backend, Keras 3 creates a model's optimizer slots and compiled metrics
inside the first trace of ``fit``/``evaluate`` when no distribution strategy is set. A
``tf.function`` whose first trace creates variables is traced a second time, so every fresh
model paid two traces (about 1 CPU-second on the course's 2-core machine; measured in
``benchmarks/README.md``). Under a distribution strategy Keras builds that state
symbolically first; :func:`build_before_tracing` makes it do the same without one. The
training itself is unchanged: same variables, same initial values, same steps.
"""

from __future__ import annotations

import functools
from typing import Any

_MARK = "_course_builds_before_tracing"


def keras_trainer() -> Any:
    """Return Keras' TensorFlow trainer class if it has the build steps used here, else None."""
    try:
        from keras.src.backend.tensorflow import trainer
    except ImportError:
        return None
    cls = getattr(trainer, "TensorFlowTrainer", None)
    needed = ("_maybe_symbolic_build", "_symbolic_build")
    return cls if cls is not None and all(hasattr(cls, name) for name in needed) else None


def build_before_tracing() -> bool:
    """Make Keras build optimizer and metric state before it traces a step (idempotent).

    The state is built from the data's shapes (its ``element_spec``), so no batch is read
    and a shuffled dataset's order is untouched. When the symbolic build fails (a model
    Keras cannot build from shapes alone), Keras' own behaviour applies: it builds during
    the first trace, and any error surfaces there as before.

    Returns:
        True when this call installed the change; False when it was already installed, or
        when this Keras has no such build step (other versions: then nothing is changed).
    """
    cls = keras_trainer()
    if cls is None or getattr(cls._maybe_symbolic_build, _MARK, False):
        return False
    keras_build = cls._maybe_symbolic_build

    @functools.wraps(keras_build)
    def _maybe_symbolic_build(self: Any, iterator: Any = None, data_batch: Any = None) -> None:
        if getattr(self, "_distribute_strategy", None) is not None:
            return keras_build(self, iterator=iterator, data_batch=data_batch)
        try:
            if data_batch is None:
                data_batch = iterator._distributed_dataset.element_spec
            self._symbolic_build(data_batch=data_batch)
        except Exception:  # Keras' first trace then builds it and raises any error, as before
            pass
        return None

    setattr(_maybe_symbolic_build, _MARK, True)
    cls._maybe_symbolic_build = _maybe_symbolic_build
    return True
