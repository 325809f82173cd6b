"""What every benchmark path shares: the workloads, the data, the initial weights, FLOPs, timing.

No framework is imported here, so the PyTorch worker never loads TensorFlow and the other
way round. Every path receives the same NumPy arrays and the same NumPy initial weights.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

THREADS = 2
N_ROWS = 60_000  # the bundled 10,000-digit sample tiled to full-MNIST size
SEED = 0
C_EXAMPLES = 256  # rows of workload C's synthetic data set (as Lab 03's teacher_data)
C_STEPS = 1_000  # steps per repetition of workload C, as in the original program


@dataclass(frozen=True)
class Workload:
    """One model and its training recipe."""

    name: str
    layers: tuple[int, ...]  # units per layer, input first
    learning_rate: float
    momentum: float
    batch_size: int  # None-like 0 means full batch
    loss: str  # "xent": softmax cross-entropy on integer labels; "mse"
    about: str

    @property
    def forward_flops(self) -> int:
        """Multiply-adds ×2 of the Dense layers, per example (biases and activations ignored)."""
        return sum(2 * i * o for i, o in pairwise(self.layers))

    @property
    def train_flops(self) -> int:
        """FLOPs per training example: forward + backward ≈ 3× forward."""
        return 3 * self.forward_flops


WORKLOADS = {
    "A": Workload("A", (784, 512, 10), 0.01, 0.9, 64, "xent",
                  "Lab 01 / the articles' MLP: 784→512→10, SGD 0.01 momentum 0.9, batch 64"),
    "B": Workload("B", (784, 128, 64, 10), 0.01, 0.0, 64, "xent",
                  "Lab 02's MLP: 784→128→64→10, SGD 0.01, batch 64"),
    "C": Workload("C", (10, 20, 5), 0.01, 0.0, 0, "mse",
                  "Lab 03's TF1 program: 10→20→5, MSE, gradient descent 0.01, full batch "
                  f"of {C_EXAMPLES}, {C_STEPS} steps"),
}


@dataclass
class Data:
    """Training data for workloads A and B: the same rows in every form a path needs."""

    images: np.ndarray  # uint8 (n, 28, 28), for course.data.make_pipeline
    x: np.ndarray  # float32 (n, 784), course.data.preprocess(images)
    y: np.ndarray  # int64 (n,)

    def head(self, n: int) -> Data:
        """The first ``n`` rows."""
        return Data(self.images[:n], self.x[:n], self.y[:n])

    def __len__(self) -> int:
        return len(self.y)


def mnist_rows(n: int = N_ROWS) -> Data:
    """The bundled sample (train then test, 10,000 digits) tiled to ``n`` rows."""
    from course import data

    (x_train, y_train), (x_test, y_test) = data.load_mnist("sample")
    images = np.concatenate([x_train, x_test])
    labels = np.concatenate([y_train, y_test])
    reps = -(-n // len(labels))
    images = np.tile(images, (reps, 1, 1))[:n]
    labels = np.tile(labels, reps)[:n].astype("int64")
    return Data(images, data.preprocess(images), labels)


def initial_weights(layers: tuple[int, ...], seed: int = SEED, init: str = "torch"
                    ) -> list[np.ndarray]:
    """Initial ``[W1, b1, W2, b2, ...]`` in Keras' layout (W is (in, out)), float32.

    ``init="torch"``: PyTorch's ``nn.Linear`` default, U(±1/√fan_in) for W and b.
    ``init="normal"``: the TF1 program's ``tf.random_normal``, N(0, 1) for W and b.
    """
    rng = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out in pairwise(layers):
        if init == "torch":
            bound = 1.0 / np.sqrt(fan_in)
            weights += [rng.uniform(-bound, bound, (fan_in, fan_out)),
                        rng.uniform(-bound, bound, fan_out)]
        else:
            weights += [rng.standard_normal((fan_in, fan_out)), rng.standard_normal(fan_out)]
    return [w.astype("float32") for w in weights]


def teacher_data(n: int = C_EXAMPLES, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Workload C's data, which the original leaves undefined: a fixed random 10→20→5 ReLU
    "teacher" network plus noise. Returns float32 ``X (n, 10)`` and ``Y (n, 5)``."""
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((n, 10))
    w1, b1 = rng.standard_normal((10, 20)) / np.sqrt(10), rng.standard_normal(20) * 0.1
    w2, b2 = rng.standard_normal((20, 5)) / np.sqrt(20), rng.standard_normal(5) * 0.1
    y = np.maximum(0, x @ w1 + b1) @ w2 + b2 + 0.1 * rng.standard_normal((n, 5))
    return x.astype("float32"), y.astype("float32")


@dataclass
class Run:
    """What one path did: wall time and mean training loss of each repetition, final weights.

    Repetition 0 is the warm-up (tracing, compilation, caches); it is reported but never
    enters the median.
    """

    seconds: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    weights: list[np.ndarray] | None = None

    @property
    def median_s(self) -> float:
        timed = self.seconds[1:] or self.seconds
        return statistics.median(timed)


class Stopwatch:
    """``with watch: ...`` appends the block's wall time to ``watch.seconds``."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds.append(time.perf_counter() - self._start)


def load_average() -> float:
    """The 1-minute load average, as `uptime` prints it."""
    return os.getloadavg()[0]
