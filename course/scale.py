"""How large is "large": parameters → memory for training, from Lab 01's MLP to GPT-3.

Training keeps, for every parameter, the weight itself, its gradient and the optimizer's
state: none for plain SGD, one value (the velocity) for SGD with momentum, two (the first and
second moments) for Adam and one for RMSProp. Activations come on top and depend on the batch;
they are left out here.
"""

from __future__ import annotations

from dataclasses import dataclass

SLOTS = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adam": 2}
"""Values the optimizer keeps per parameter between steps."""

GPT3_PARAMETERS = 175_000_000_000
"""GPT-3's parameter count, as Article D gives it (1750亿)."""
BERT_LARGE_PARAMETERS = 340_000_000
"""BERT's, as Article D gives it (3.4亿)."""


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes a model needs to train, by part."""

    weights: int
    gradients: int
    optimizer_state: int

    @property
    def total(self) -> int:
        """All three parts."""
        return self.weights + self.gradients + self.optimizer_state


def training_memory(parameters: int, optimizer: str = "sgd",
                    bytes_per_value: int = 4) -> TrainingMemory:
    """Return the memory to train ``parameters`` weights with ``optimizer``.

    Args:
        parameters: the model's parameter count (``model.count_params()``).
        optimizer: ``"sgd"``, ``"momentum"``, ``"rmsprop"`` or ``"adam"``.
        bytes_per_value: 4 for float32, 2 for float16/bfloat16.

    Raises:
        ValueError: an optimizer not in :data:`SLOTS`, or a negative count.
    """
    if optimizer not in SLOTS:
        raise ValueError(f"optimizer must be one of {', '.join(SLOTS)}, not {optimizer!r}")
    if parameters < 0:
        raise ValueError(f"a parameter count cannot be negative ({parameters})")
    one = parameters * bytes_per_value
    return TrainingMemory(one, one, one * SLOTS[optimizer])


def human_bytes(count: float) -> str:
    """``1_628_200`` → ``"1.6 MB"`` (powers of 1000, as disk and memory sizes are sold)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(count) < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def devices_needed(parameters: int, device_bytes: float, optimizer: str = "adam") -> int:
    """How many devices of ``device_bytes`` the training state fills, at the least.

    Data parallelism (Labs 05–06) keeps the *whole* state on every device, so it works only
    when this is 1; more means the model itself must be split (model or pipeline
    parallelism, or sharded optimizer state).
    """
    total = training_memory(parameters, optimizer).total
    return max(1, -(-total // int(device_bytes)))
