"""The checks' shared vocabulary: synthetic data, reference maths and recurring expectations.

Every lab module builds its checks from these pieces, so that the same mistake gets the same
words in every lab:

- data: :func:`synthetic_digits` (uint8 "images" that carry their label and their index),
  :func:`decode_index`, :func:`one_pass`, :func:`task` (a tiny 6-feature, 3-class problem);
- maths: :func:`cross_entropy`, :func:`close`, :func:`ratio`;
- expectations: :func:`expect_returned` (the forgotten ``return``), :func:`expect_whole_number`,
  :func:`mismatch` (type → shape → values, the ratio diagnosed: a constant factor is named,
  a flipped sign, a transposed matrix), :func:`optimizer_mismatch` (the whole configuration,
  not field by field), :func:`loss_kind` (what a loss really computes), :func:`first_difference`
  and :func:`swapped_pairs` (the (gradient, variable) pairs given the wrong way round).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from course.checks import expect
from course.maths import cross_entropy

RTOL = 1e-5


# --- data -------------------------------------------------------------------------------------


def synthetic_digits(n: int = 300, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """uint8 "images" ``(n, 28, 28)`` and labels: pixel (0, 0) encodes the label, row 1 the index.

    Pixel (0, 1) is 255, so a correctly scaled batch has maximum exactly 1.0; pixels (1, 0) and
    (1, 1) hold ``index % 256`` and ``index // 256`` (see :func:`decode_index`).
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype("uint8")
    images = rng.integers(0, 256, (n, 28, 28)).astype("uint8")
    images[:, 0, 0] = labels * 25
    images[:, 0, 1] = 255
    images[:, 1, 0] = np.arange(n) % 256
    images[:, 1, 1] = np.arange(n) // 256
    return images, labels


def decode_index(x: Any) -> np.ndarray:
    """Each synthetic example's index, read back from its preprocessed pixels 28 and 29."""
    from course.data import MNIST_MEAN, MNIST_STD

    pixels = np.rint((np.asarray(x)[:, 28:30] * MNIST_STD + MNIST_MEAN) * 255).astype(int)
    return pixels[:, 0] + 256 * pixels[:, 1]


def one_pass(ds: Any, max_batches: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """One pass over a ``(x, y)`` data set (at most ``max_batches``) as two NumPy arrays."""
    xs, ys = zip(*[(np.asarray(x), np.asarray(y)) for x, y in ds.take(max_batches)],
                 strict=True)
    return np.concatenate(xs), np.concatenate(ys)


def displacement(order: np.ndarray) -> int:
    """How far ahead of its place an example came out: a shuffle buffer of b allows < b."""
    return int(np.max(np.asarray(order) - np.arange(len(order))))


def task(n: int = 48, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A tiny classification task: 6 float32 features, 3 classes (labs 04 and 05)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype("float32")
    y = np.argmax(x[:, :3] + 0.5 * x[:, 3:], axis=1).astype("int32")
    return x, y


# --- maths ------------------------------------------------------------------------------------


def close(got: Any, want: Any, rtol: float = RTOL, atol: float = 1e-6) -> bool:
    """Same shape, and every element within ``atol + rtol · max|want|`` of ``want``."""
    got, want = np.asarray(got, dtype="float64"), np.asarray(want, dtype="float64")
    if got.shape != want.shape:
        return False
    scale = float(np.abs(want).max()) if want.size else 0.0
    return bool(np.all(np.abs(got - want) <= atol + rtol * scale))


def ratio(got: Any, want: Any) -> float | None:
    """``c`` when ``got ≈ c · want`` (least squares, 1e-4 relative), else None."""
    got, want = np.ravel(got).astype("float64"), np.ravel(want).astype("float64")
    if got.shape != want.shape or not np.any(want):
        return None
    c = float(got @ want / (want @ want))
    return c if np.allclose(got, c * want, rtol=1e-4, atol=1e-4 * np.abs(want).max()) else None


def _times(c: float) -> str:
    """``2×``, ``320×``, ``1/64×``, ``0.37×`` for a factor."""
    if np.isclose(c, round(c), rtol=1e-3) and round(c) != 0:
        return f"{round(c)}×".replace("-", "−")
    if abs(c) < 1 and np.isclose(1 / c, round(1 / c), rtol=1e-3):
        return f"1/{round(1 / c)}×" if c > 0 else f"−1/{round(-1 / c)}×"
    return f"{c:.3g}×"


# --- expectations -----------------------------------------------------------------------------


def expect_returned(value: Any, name: str, what: str = "the result") -> None:
    """Fail with the forgotten-``return`` hint when the learner's function gave None."""
    expect(value is not None,
           f"your {name} returns None: did you forget `return`? Return {what}")


def expect_whole_number(value: Any, what: str) -> None:
    """Fail unless ``value`` is an int (NumPy ints too; not a bool, not a float)."""
    expect(isinstance(value, int | np.integer) and not isinstance(value, bool),
           f"{what} must be a whole number (an int), got {type(value).__name__} {value!r}")


def mismatch(got: Any, want: Any, what: str, *, rtol: float = RTOL, atol: float = 1e-6,
             factors: Mapping[float, str] | None = None, otherwise: str = "") -> str:
    """A hint naming how ``got`` differs from ``want``, or "" when they are close.

    Shape first (a transposed matrix is named), then the values: when ``got`` is a constant
    multiple of ``want`` the factor is named ("your dW2 is 2× the reference"), with its
    cause from ``factors`` when known; a flipped sign likewise. Else ``otherwise`` follows.
    """
    got, want = np.asarray(got, dtype="float64"), np.asarray(want, dtype="float64")
    if got.shape != want.shape:
        if got.ndim == 2 and got.T.shape == want.shape and close(got.T, want, rtol, atol):
            return (f"your {what} is transposed: shape {got.shape}, expected {want.shape} "
                    "(swap the operands of the matrix product, or their transposes)")
        return f"your {what} has shape {got.shape}, expected {want.shape}"
    if close(got, want, rtol, atol):
        return ""
    c = ratio(got, want)
    if c is None or np.isclose(c, 1.0, rtol=1e-3):
        if not otherwise:  # one whole sentence per case, so that each translates as one message
            return f"your {what} differs from the reference"
        return f"your {what} differs from the reference: {otherwise}"
    cause = next((text for factor, text in (factors or {}).items()
                  if np.isclose(c, factor, rtol=1e-3)), otherwise)
    if np.isclose(c, -1.0, rtol=1e-3):  # one whole sentence per case (see above)
        if cause:
            return f"your {what} has the wrong sign (−1× the reference): {cause}"
        return f"your {what} has the wrong sign (−1× the reference)"
    times = _times(c)
    if cause:
        return f"your {what} is {times} the reference: {cause}"
    return f"your {what} is {times} the reference"


def first_difference(got: Sequence[Any], want: Sequence[Any], what: str) -> str:
    """Name the first position where two sequences differ, showing both values there."""
    for i, (g, w) in enumerate(zip(got, want, strict=False)):
        if g != w:
            return f"{what} {i + 1} is {g!r}; expected {w!r}"
    if len(got) != len(want):
        return f"there are {len(got)} {what}s; expected {len(want)}"
    return ""


def swapped_pairs(exc: BaseException) -> bool:
    """True for the error of (variable, gradient) pairs given where (gradient, variable) go."""
    text = str(exc)
    return isinstance(exc, AttributeError) and any(
        f"has no attribute '{name}'" in text for name in ("_unique_id", "assign_sub", "assign"))


# --- optimizers and losses --------------------------------------------------------------------


def _config_value(value: Any) -> Any:
    import keras

    if hasattr(value, "numpy") or isinstance(value, keras.Variable):
        return float(np.asarray(keras.ops.convert_to_numpy(value)))
    return value


ARGUMENTS = ("learning_rate", "momentum")
"""Optimizer settings that the exercises pass in as arguments."""


def optimizer_mismatch(got: Any, want: Any, call: str) -> str:
    """Compare two optimizers' whole configurations (names aside); "" when they agree.

    ``call`` is how the learner should create it, e.g. ``SGD(learning_rate, momentum=0.9)``.
    """
    if isinstance(got, type):
        return (f"the optimizer is the class {got.__name__}: create an instance, "
                f"keras.optimizers.{call}")
    if type(got) is not type(want):
        return f"the optimizer is {type(got).__name__}; expected keras.optimizers.{call}"
    mine, ref = got.get_config(), want.get_config()
    keys = sorted(set(mine) | set(ref), key=lambda k: (k not in ARGUMENTS, k))
    for key in keys:
        if key == "name":
            continue
        a, b = _config_value(mine.get(key)), _config_value(ref.get(key))
        same = (np.isclose(a, b, rtol=1e-6) if isinstance(a, int | float) and isinstance(
            b, int | float) and not isinstance(a, bool) else a == b)
        if not same:
            if key in ARGUMENTS:
                return (f"the optimizer has {key}={a!r}; keras.optimizers.{call} has {b!r}: "
                        f"pass {key}={key} from the function's arguments")
            return (f"the optimizer has {key}={a!r}, keras.optimizers.{call} has {key}={b!r}: "
                    f"leave {key} at its default, it changes the algorithm")
    return ""


def resolve_loss(loss: Any) -> Any:
    """A model's compiled loss (an object, a string or a function) as a callable, or None."""
    import keras

    if loss is None:
        return None
    if isinstance(loss, keras.losses.Loss) or callable(loss):
        return loss
    try:
        return keras.losses.get(loss)
    except (ValueError, TypeError):
        return None


def _value(loss: Callable[..., Any], labels: np.ndarray, logits: np.ndarray) -> float | None:
    """``loss(labels, logits)`` as a finite float, or None when it fails or is not finite."""
    try:
        value = float(np.asarray(loss(labels, logits)).mean())
    except Exception:
        return None
    return value if np.isfinite(value) else None


def loss_kind(loss: Any) -> str:
    """Which loss ``loss(labels, logits)`` really computes, judged on probe values.

    Returns one of ``"sparse_logits"`` (the right one for integer labels and logits),
    ``"probabilities"`` (from_logits forgotten), ``"one_hot"`` (categorical: fails on integer
    labels), ``"mse"``, ``"mae"``, ``"none"`` (no loss) or ``"other"``.
    """
    import keras

    loss = resolve_loss(loss)
    if loss is None:
        return "none"
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0], [0.3, 0.2, 3.0], [1.5, -0.5, 0.2]],
                      "float32")
    labels = np.array([0, 2, 2, 1])
    value = _value(loss, labels, logits)
    if value is None:  # a regression loss broadcasts labels of shape (n, 1) only
        labels = labels[:, None]
        value = _value(loss, labels, logits)
    if value is None:
        return "one_hot"
    candidates: dict[str, Callable[[], Any]] = {
        "sparse_logits": lambda: cross_entropy(logits, np.ravel(labels)).mean(),
        "probabilities": lambda: keras.losses.SparseCategoricalCrossentropy()(labels, logits),
        "mse": lambda: keras.losses.MeanSquaredError()(labels.astype("float32"), logits),
        "mae": lambda: keras.losses.MeanAbsoluteError()(labels.astype("float32"), logits),
    }
    for kind, compute in candidates.items():
        if np.isclose(value, float(np.asarray(compute())), rtol=1e-4, atol=1e-6):
            return kind
    return "other"


LOSS_HINTS = {
    "none": "pass a loss to compile: keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
    "probabilities": ("the loss treats the model's outputs as probabilities, but the model "
                      "returns logits: SparseCategoricalCrossentropy(from_logits=True)"),
    "one_hot": ("the loss fails on integer labels 0–9: use SparseCategoricalCrossentropy "
                "(CategoricalCrossentropy wants one-hot labels)"),
    "mse": ("the loss is the mean squared error, a regression loss: classifying digits "
            "takes SparseCategoricalCrossentropy(from_logits=True)"),
    "mae": ("the loss is the mean absolute error, a regression loss: classifying digits "
            "takes SparseCategoricalCrossentropy(from_logits=True)"),
    "other": ("the loss is not the softmax cross-entropy of integer labels: use "
              "SparseCategoricalCrossentropy(from_logits=True)"),
}


def expect_classification_loss(loss: Any) -> None:
    """Fail, naming what the loss computes, unless it is cross-entropy on logits."""
    kind = loss_kind(loss)
    expect(kind == "sparse_logits", LOSS_HINTS.get(kind, LOSS_HINTS["other"]))


def has_accuracy(model: Any) -> bool:
    """True when the model was compiled with an accuracy metric."""
    metrics = (model.get_compile_config() or {}).get("metrics") or []
    return any("acc" in str(m).lower() for m in np.ravel(np.array(metrics, dtype=object)))


# --- models -----------------------------------------------------------------------------------


def expect_sequential(model: Any, name: str, inputs: int, outputs: int | None = None,
                      what: str = "one score per digit") -> None:
    """Fail unless ``model`` is a built keras.Sequential of ``inputs`` → ``outputs`` values."""
    import keras

    expect_returned(model, name, "the keras.Sequential model")
    expect(isinstance(model, keras.Sequential),
           f"return a keras.Sequential model (got {type(model).__name__})")
    expect(model.built and len(model.inputs or []) == 1,
           f"the model has no input shape yet: start the Sequential with "
           f"keras.Input(shape=({inputs},))")
    expect(tuple(model.inputs[0].shape) == (None, inputs),
           f"the input shape is {tuple(model.inputs[0].shape)}; use "
           f"keras.Input(shape=({inputs},))")
    if outputs is not None:
        expect(tuple(model.outputs[0].shape) == (None, outputs),
               f"the model outputs shape {tuple(model.outputs[0].shape)}: the last layer needs "
               f"{outputs} units, {what}")


def layers_of(model: Any, kind: str = "Dense") -> list[Any]:
    """The model's layers of one kind (``"Dense"``, ``"Dropout"``), in order."""
    import keras

    cls = getattr(keras.layers, kind)
    return [layer for layer in model.layers if isinstance(layer, cls)]
