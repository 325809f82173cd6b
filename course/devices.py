"""Devices for data-parallel training: real GPUs when there are enough, else simulated CPUs.

:func:`make_strategy` returns a ``tf.distribute.MirroredStrategy`` with ``n_replicas``
replicas, chosen like this:

- at least ``n_replicas`` GPUs are visible: one replica per GPU (the first ``n_replicas``),
  with TensorFlow's default all-reduce across GPUs (NCCL on Linux);
- otherwise: ``n_replicas`` *logical* CPU devices. The physical CPU is split once, into
  ``max(n_replicas, CPU_SPLIT)`` devices, so that a later call with another count (1, 2 or 4)
  still works in the same process; the replicas combine their gradients with
  ``ReductionToOneDevice``. (On simulated CPU replicas TensorFlow's default collective
  all-reduce refuses a second strategy of another size in the same process and breaks
  ``steps_per_execution > 1``; NCCL has no CPU kernel.)

TensorFlow allows the CPU split only before it initialises its devices: importing TensorFlow,
seeding and ``tf.config.list_physical_devices`` are safe, but a tensor, a dataset or a model
initialises them. :func:`make_strategy` then raises :class:`StrategyError` saying to restart
the kernel and call it first.

Every function imports TensorFlow when called, so importing this module is cheap.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tensorflow as tf

CPU_SPLIT = 4
"""Logical CPU devices made by the first CPU split (more when a call asks for more)."""

TOO_LATE = (
    "TensorFlow has already initialised its devices with {have} CPU device(s) and {want} "
    "replicas need {want}: restart the kernel and call make_strategy({want}) before anything "
    "touches TensorFlow devices (a tensor, a dataset or a model; importing TensorFlow, "
    "check_setup and seeding are fine)."
)


class StrategyError(RuntimeError):
    """The requested strategy cannot be built in this process; the message says what to do."""


@dataclass(frozen=True)
class DevicePlan:
    """What :func:`make_strategy` chose.

    Attributes:
        n_replicas: replicas in sync.
        kind: ``"gpu"`` (one replica per physical GPU) or ``"cpu"`` (logical CPU devices).
        devices: the replicas' device names, e.g. ``("/gpu:0", "/gpu:1")``.
        n_gpus: GPUs visible to TensorFlow.
    """

    n_replicas: int
    kind: str
    devices: tuple[str, ...]
    n_gpus: int

    @property
    def reduction(self) -> str:
        """How replicas combine gradients (the ``cross_device_ops`` used)."""
        return "ReductionToOneDevice" if self.kind == "cpu" else "TensorFlow's default (NCCL)"

    def describe(self) -> str:
        """One line for the notebook, starting ``Devices:`` (the sanitizer hides it in nbval)."""
        if self.kind == "gpu":
            where = f"{self.n_replicas} GPU{'s' if self.n_replicas > 1 else ''}"
        else:
            seen = f"{self.n_gpus} GPU" if self.n_gpus else "no GPU"
            where = (f"{self.n_replicas} simulated CPU device"
                     f"{'s' if self.n_replicas > 1 else ''} ({seen} visible, "
                     f"{self.n_replicas} needed)")
        return (f"Devices: MirroredStrategy with {self.n_replicas} replica"
                f"{'s' if self.n_replicas > 1 else ''} on {where} "
                f"[{', '.join(self.devices)}], gradients combined by {self.reduction}")


def _check_count(n_replicas: Any) -> int:
    if isinstance(n_replicas, bool) or not isinstance(n_replicas, int) or n_replicas < 1:
        raise ValueError(f"n_replicas must be a whole number >= 1, not {n_replicas!r}")
    return n_replicas


def plan_devices(n_replicas: int, gpus: Sequence[Any]) -> DevicePlan:
    """Decide where ``n_replicas`` replicas run, given the visible physical GPUs.

    Pure: no TensorFlow call, so the GPU branch is testable on a machine without GPUs.
    """
    n = _check_count(n_replicas)
    if len(gpus) >= n:
        return DevicePlan(n, "gpu", tuple(f"/gpu:{i}" for i in range(n)), len(gpus))
    return DevicePlan(n, "cpu", tuple(f"/cpu:{i}" for i in range(n)), len(gpus))


def split_cpu(n_devices: int) -> int:
    """Make sure at least ``n_devices`` logical CPU devices exist; return how many there are.

    The first call splits the physical CPU into ``max(n_devices, CPU_SPLIT)`` logical
    devices. A later call needing no more devices changes nothing; one needing more
    re-splits while TensorFlow has not initialised its devices yet.

    Raises:
        StrategyError: TensorFlow's devices are already initialised with fewer devices.
    """
    import tensorflow as tf

    n = _check_count(n_devices)
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) >= n:
        return len(current)
    wanted = max(n, CPU_SPLIT, len(current or ()))
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(wanted)]
        )
    except RuntimeError as exc:  # "Virtual devices cannot be modified after being initialized"
        have = len(tf.config.list_logical_devices("CPU"))
        if have >= n:
            return have
        raise StrategyError(TOO_LATE.format(have=have, want=n)) from exc
    return wanted


def quiet_tensorflow_info() -> None:
    """Raise TensorFlow's Python logger from INFO to WARNING (warnings and errors still show).

    In a notebook TensorFlow logs at INFO level to stdout, and a ``MirroredStrategy`` writes
    a line when it is created and one for every reduction ("Reduce to /job:localhost/...");
    :func:`make_strategy` prints one ``Devices:`` line instead.
    """
    import logging

    import tensorflow as tf

    logger = tf.get_logger()
    if logger.getEffectiveLevel() < logging.WARNING:
        logger.setLevel(logging.WARNING)


def make_strategy(n_replicas: int = 2, verbose: bool = True) -> tf.distribute.MirroredStrategy:
    """Return a ``MirroredStrategy`` with ``n_replicas`` replicas on GPUs or simulated CPUs.

    Call it first, right after the imports (``check_setup`` may run before it): TensorFlow
    fixes its devices the first time something uses them. It also quiets TensorFlow's INFO
    log lines (see :func:`quiet_tensorflow_info`).

    Args:
        n_replicas: replicas in sync (1, 2, 4, ...).
        verbose: print one ``Devices: ...`` line saying what was chosen.

    Returns:
        The strategy; ``strategy.num_replicas_in_sync == n_replicas``.

    Raises:
        ValueError: ``n_replicas`` is not a whole number >= 1.
        StrategyError: on CPU, TensorFlow's devices were initialised before the split; the
            message says to restart the kernel and call make_strategy first.
    """
    import tensorflow as tf

    quiet_tensorflow_info()
    plan = plan_devices(n_replicas, tf.config.list_physical_devices("GPU"))
    if plan.kind == "gpu":
        strategy = tf.distribute.MirroredStrategy(devices=list(plan.devices))
    else:
        split_cpu(plan.n_replicas)
        strategy = tf.distribute.MirroredStrategy(
            devices=list(plan.devices),
            cross_device_ops=tf.distribute.ReductionToOneDevice(),
        )
    strategy.course_plan = plan  # what was chosen, for describe()
    if verbose:
        print(plan.describe())
        sys.stdout.flush()
    return strategy


def describe(strategy: tf.distribute.Strategy) -> str:
    """Return the ``Devices: ...`` line for a strategy made by :func:`make_strategy`."""
    plan = getattr(strategy, "course_plan", None)
    if plan is not None:
        return plan.describe()
    devices = ", ".join(strategy.extended.worker_devices)
    return (f"Devices: {type(strategy).__name__} with {strategy.num_replicas_in_sync} "
            f"replica(s) [{devices}]")


def max_weight_difference(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Return the largest absolute difference between two lists of weight arrays.

    Accepts Keras models as well (their ``get_weights()`` are compared).

    Raises:
        ValueError: the two lists hold different numbers or shapes of arrays.
    """
    import numpy as np

    a = a.get_weights() if hasattr(a, "get_weights") else a
    b = b.get_weights() if hasattr(b, "get_weights") else b
    if len(a) != len(b):
        raise ValueError(f"{len(a)} weight arrays against {len(b)}")
    worst = 0.0
    for left, right in zip(a, b, strict=True):
        left, right = np.asarray(left), np.asarray(right)
        if left.shape != right.shape:
            raise ValueError(f"weight shapes differ: {left.shape} and {right.shape}")
        if left.size:
            worst = max(worst, float(np.max(np.abs(left.astype("float64") - right))))
    return worst
