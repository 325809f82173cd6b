"""Checks for Lab 03, from ``tf.placeholder`` to ``tf.GradientTape`` (the TF1 10→20→5 example)."""

from __future__ import annotations

from typing import Any

import numpy as np

from course import loops
from course.checks import CheckFailed, award, check, common, expect

LEARNING_RATE = 0.01
CHECK_STEPS = 50
RTOL = 1e-5


def _data(n: int = 64) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """The check's own teacher data and initial values (not the notebook's)."""
    x, y = loops.teacher_data(n=n, seed=11)
    return x, y, loops.initial_params(seed=12)


def _forward_np(x: np.ndarray, params: list[np.ndarray], relu_hidden: bool = True,
                relu_output: bool = False) -> np.ndarray:
    w1, b1, w2, b2 = (np.asarray(p, dtype="float64") for p in params)
    h = np.asarray(x, dtype="float64") @ w1 + b1
    h = np.maximum(0.0, h) if relu_hidden else h
    out = h @ w2 + b2
    return np.maximum(0.0, out) if relu_output else out


def _close(got: Any, want: Any, rtol: float = RTOL) -> bool:
    return common.close(got, want, rtol=rtol, atol=0.0)


def _is_tensor(value: Any) -> bool:
    import tensorflow as tf

    return isinstance(value, tf.Tensor | tf.Variable)


@check(points=1)
def forward(forward_fn: Any) -> None:
    """Check ``forward(x, params)`` → ``relu(x @ W1 + b1) @ W2 + b2``, shape (n, 5)."""
    import tensorflow as tf

    x, _, init = _data()
    params = [tf.Variable(p) for p in init]
    out = forward_fn(tf.constant(x), params)
    common.expect_returned(out, "forward", "y_pred")
    expect(_is_tensor(out), f"return a TensorFlow tensor (got {type(out).__name__}): use "
           "tf.matmul and tf.nn.relu so that a GradientTape can differentiate it")
    out = np.asarray(out)
    expect(out.shape == (len(x), 5), f"y_pred has shape {out.shape}; expected ({len(x)}, 5): "
           "x (n, 10) @ W1 (10, 20) → (n, 20), then @ W2 (20, 5) → (n, 5)")
    expect(not _close(out, _forward_np(x, init, relu_hidden=False)),
           "the hidden layer has no ReLU: h = tf.nn.relu(tf.matmul(x, W1) + b1)")
    expect(not _close(out, _forward_np(x, init, relu_output=True)),
           "the output layer must stay linear (y_pred = tf.matmul(h, W2) + b2, no ReLU): the "
           "targets can be negative")
    expect(_close(out, _forward_np(x, init)),
           "y_pred differs from tf.matmul(tf.nn.relu(tf.matmul(x, W1) + b1), W2) + b2: check "
           "the order of the parameters (W1, b1, W2, b2) and add both biases")


@check(points=1)
def mse(mse_fn: Any) -> None:
    """Check ``mse(y_pred, y_true)`` → the mean over all n·5 squared errors, a scalar tensor."""
    import tensorflow as tf

    rng = np.random.default_rng(5)
    y_pred = rng.standard_normal((32, 5)).astype("float32")
    y_true = rng.standard_normal((32, 5)).astype("float32")
    value = mse_fn(tf.constant(y_pred), tf.constant(y_true))
    common.expect_returned(value, "mse", "the loss")
    expect(_is_tensor(value), f"return a TensorFlow tensor (got {type(value).__name__}): use "
           "tf.reduce_mean and tf.square, not NumPy, so that the tape can differentiate it")
    value = np.asarray(value, dtype="float64")
    expect(value.shape == (), f"the loss has shape {value.shape}; it must be one number: "
           "tf.reduce_mean(...) without an axis averages over all n·5 elements")
    diff = y_pred.astype("float64") - y_true
    want = float(np.mean(diff**2))
    expect(not np.isclose(value, np.sum(diff**2), rtol=1e-4),
           "you summed the squared errors: Article C averages them, "
           "tf.reduce_mean(tf.square(y_pred - y_true))")
    expect(not np.isclose(value, np.sqrt(want), rtol=1e-4),
           "that is the root of the mean squared error: drop the square root")
    expect(not np.isclose(value, np.mean(np.abs(diff)), rtol=1e-4),
           "that is the mean absolute error: square the differences (tf.square)")
    hint = common.mismatch(value, want, "loss", factors={
        0.5: "drop the ½: Article C's loss is the plain mean of the squared errors"},
        otherwise="tf.reduce_mean(tf.square(y_pred - y_true)), the mean of the squares")
    expect(not hint, hint)


def _diagnose_update(before: list[np.ndarray], after: list[np.ndarray],
                     grads: list[np.ndarray], n_values: int) -> str:
    """A hint naming what is wrong with one update step, or '' when it looks right."""
    delta = np.concatenate([(b - a).ravel() for b, a in zip(before, after, strict=True)])
    step = LEARNING_RATE * np.concatenate([g.ravel() for g in grads])
    return common.mismatch(delta, step, "first update", rtol=1e-3, atol=0.0, factors={
        -1.0: "the loss goes up: move against the gradient, p.assign_sub(learning_rate * g) "
              "(not assign_add)",
        1.0 / LEARNING_RATE: "the step ignores the learning rate: "
                             "p.assign_sub(learning_rate * g)",
        float(n_values): "the loss was summed instead of averaged (n·5 times too large); "
                         "use tf.reduce_mean (the mse function)",
    }, otherwise="each step is W ← W − learning_rate · ∂L/∂W: compute the gradients with "
       "tape.gradient(loss, params) and apply p.assign_sub(learning_rate * g) to each parameter")


def _run_steps(step_fn: Any, params: list[Any], x: Any, y: Any, steps: int) -> np.ndarray:
    return np.array([float(np.asarray(step_fn(params, x, y, LEARNING_RATE)))
                     for _ in range(steps)])


@check(points=3, judged="kernel")
def train_step(train_step_fn: Any) -> None:
    """Check ``train_step(params, x, y, learning_rate)``: tape + assign_sub, like the TF1 program.

    The loss curve of 50 steps must equal Article C's TF1 program's (run here through
    ``tf.compat.v1`` on the check's own data) to 1e-5 relative, eagerly and under
    ``tf.function``.
    """
    import tensorflow as tf

    x_np, y_np, init = _data()
    x, y = tf.constant(x_np), tf.constant(y_np)
    params = [tf.Variable(p) for p in init]
    try:
        loss = train_step_fn(params, x, y, LEARNING_RATE)
    except AttributeError as exc:
        expect(not common.swapped_pairs(exc),
               "the (parameter, gradient) pairs are swapped: you call assign_sub on a gradient "
               "— zip(params, grads) gives the parameter first, p.assign_sub(learning_rate * g)")
        raise
    except (TypeError, ValueError) as exc:
        expect("None" not in str(exc),
               "tape.gradient returned None: compute the loss inside the `with "
               "tf.GradientTape() as tape:` block, then call tape.gradient(loss, params) "
               "after it")
        raise
    common.expect_returned(loss, "train_step", "the loss")
    expect(all(isinstance(p, tf.Variable) for p in params),
           "an entry of params was replaced by a tensor (params[i] = params[i] - ...): update "
           "the variables in place with params[i].assign_sub(learning_rate * g)")
    after = [p.numpy() for p in params]
    changed = [not np.array_equal(a, b) for a, b in zip(after, init, strict=True)]
    expect(any(changed), "the variables did not change: `W = W - learning_rate * g` builds a new "
           "tensor and rebinds the name, the tf.Variable keeps its value; update in place with "
           "W.assign_sub(learning_rate * g)")
    expect(all(changed), f"only {sum(changed)} of the 4 parameters changed: update W1, b1, W2 and "
           "b2 (zip(params, grads))")
    reference, _ = loops.tf1_program(x_np, y_np, init, steps=2, learning_rate=LEARNING_RATE)
    loss = np.asarray(loss, dtype="float64")
    expect(loss.shape == (), f"the returned loss has shape {loss.shape}; return the scalar loss")
    expect(not np.isclose(loss, reference[1], rtol=RTOL) or np.isclose(loss, reference[0]),
           "you returned the loss after the update: return the loss computed in the tape, "
           "before the update (as sess.run([optimizer, loss]) does)")
    expect(np.isclose(loss, reference[0], rtol=RTOL),
           "the returned loss differs from mse(forward(x, params), y) before the update")
    grads = _tape_gradients(x_np, y_np, init)
    hint = _diagnose_update(init, after, grads, y_np.size)
    expect(not hint, hint)
    award(1)
    curve, _ = loops.tf1_program(x_np, y_np, init, steps=CHECK_STEPS, learning_rate=LEARNING_RATE)
    eager = np.concatenate([[float(loss)], _run_steps(train_step_fn, params, x, y,
                                                      CHECK_STEPS - 1)])
    expect(np.allclose(eager, curve, rtol=RTOL, atol=0),
           f"over {CHECK_STEPS} steps the loss curve leaves the TF1 program's: each step must "
           "apply exactly W ← W − learning_rate · ∂L/∂W to all four parameters")
    award(1)
    _expect_compiled_curve(train_step_fn, init, x, y, curve)


def _expect_compiled_curve(train_step_fn: Any, init: list[np.ndarray], x: Any, y: Any,
                           curve: np.ndarray) -> None:
    """The same steps under ``tf.function`` give the TF1 program's loss curve."""
    import tensorflow as tf

    params = [tf.Variable(p) for p in init]
    try:
        compiled = _run_steps(tf.function(train_step_fn), params, x, y, CHECK_STEPS)
    except AttributeError as exc:
        expect("numpy" not in str(exc),
               "train_step fails under tf.function: it calls .numpy(), but inside tf.function "
               "tensors are symbolic (no values yet); keep TensorFlow ops and return the loss "
               "tensor")
        raise
    except Exception as exc:
        raise CheckFailed(f"train_step fails under tf.function ({type(exc).__name__}: "
                          f"{str(exc).strip().splitlines()[-1]}): keep to TensorFlow ops "
                          "and tf.Variable.assign_sub") from exc
    expect(np.allclose(compiled, curve, rtol=RTOL, atol=0),
           "under tf.function the loss curve differs from the TF1 program's: do not use "
           "Python-side state (NumPy values, Python counters) inside train_step")


def _tape_gradients(x: np.ndarray, y: np.ndarray, params: list[np.ndarray]) -> list[np.ndarray]:
    """∂L/∂(W1, b1, W2, b2) by tf.GradientTape in float64: the oracle for the hand formulas."""
    import tensorflow as tf

    variables = [tf.Variable(np.asarray(p, "float64")) for p in params]
    w1, b1, w2, b2 = variables
    with tf.GradientTape() as tape:
        h = tf.nn.relu(tf.matmul(tf.constant(x, tf.float64), w1) + b1)
        loss = tf.reduce_mean(tf.square(tf.matmul(h, w2) + b2 - tf.constant(y, tf.float64)))
    return [np.asarray(g) for g in tape.gradient(loss, variables)]


FORMULAS = {
    "dW2": "through the output layer ŷ = h W2 + b2: dW2 = hᵀ δ₂, (20, n) @ (n, 5), with "
           "δ₂ = ∂L/∂ŷ = 2(ŷ − y)/(n·5) and h = relu(x W1 + b1)",
    "db2": "b2 is added to every row of ŷ, so db2 sums δ₂ = 2(ŷ − y)/(n·5) over the batch: "
           "δ₂.sum(axis=0), shape (5,)",
    "dW1": "back through W2 and the ReLU: δ₁ = ∂L/∂z₁ = (δ₂ W2ᵀ) ⊙ 1[z₁ > 0], (n, 20); then "
           "through the hidden layer z₁ = x W1 + b1: dW1 = xᵀ δ₁, (10, n) @ (n, 20)",
    "db1": "b1 is added to every row of z₁, so db1 sums δ₁ = (δ₂ W2ᵀ) ⊙ 1[z₁ > 0] over the "
           "batch: δ₁.sum(axis=0), shape (20,)",
}
"""Each gradient's formula: the hint a wrong value of that one gradient gets."""


def _gradient_hint(got: np.ndarray, want: np.ndarray, n: int, size: int, name: str,
                   formula: str) -> str:
    """The gradient's mismatch, its constant factor named with the usual cause."""
    return common.mismatch(got, want, name, rtol=1e-6, atol=0.0, factors={
        0.5: "∂(ŷ − y)²/∂ŷ = 2(ŷ − y), keep the factor 2 in δ₂",
        -1.0: "δ₂ = 2(ŷ − y)/(n·5), not 2(y − ŷ)/(n·5)",
        size / n: f"the loss averages over all n·5 = {size} elements, so δ₂ = 2(ŷ − y)/{size}, "
                  f"not /{n}",
        float(size): f"the loss is a mean, divide δ₂ by n·5 = {size}",
        1.0 / n: "a bias gradient sums δ over the batch (.sum(axis=0)), it does not average it",
    }, otherwise=formula)


def _expect_gradient_shapes(got: list[np.ndarray], want: list[np.ndarray], n: int) -> None:
    """Each of dW1, db1, dW2, db2 has its parameter's shape (a per-example bias gradient named)."""
    for name, g, w in zip(("dW1", "db1", "dW2", "db2"), got, want, strict=True):
        if name.startswith("db") and g.shape == (n, *w.shape):
            expect(False, f"{name} has shape {g.shape}: a bias is added to every row, so its "
                   "gradient sums δ over the batch, δ.sum(axis=0)")
        expect(g.shape == w.shape, f"{name} has shape {g.shape}, expected {w.shape} (the shape "
               f"of its parameter): {FORMULAS[name]}")


def _reorder(grads: list[np.ndarray]) -> list[np.ndarray]:
    """(dW1, db1, dW2, db2) → the order of FORMULAS (dW2, db2, dW1, db1)."""
    return [grads[2], grads[3], grads[0], grads[1]]


@check(points=3)
def manual_gradients(manual_gradients_fn: Any) -> None:
    """Check ``manual_gradients(x, y, W1, b1, W2, b2)`` (NumPy) against the tape's gradients.

    A wrong gradient gets the formula of that one gradient as its hint (the exercise states
    only the shapes and the chain rule): dW2 and db2 first, then dW1 and db1.
    """
    x, y, init = _data()
    x, y = x.astype("float64"), y.astype("float64")
    params = [p.astype("float64") for p in init]
    want = _tape_gradients(x, y, params)
    got = manual_gradients_fn(x, y, *params)
    common.expect_returned(got, "manual_gradients", "dW1, db1, dW2, db2")
    expect(isinstance(got, tuple | list) and len(got) == 4,
           "return the four gradients in the order of the parameters: dW1, db1, dW2, db2")
    expect(all(g is not None for g in got), "some gradients are None: fill in the lines marked "
           "# YOUR CODE HERE")
    got = [np.asarray(g, dtype="float64") for g in got]
    _expect_gradient_shapes(got, want, len(x))
    got, want = _reorder(got), _reorder(want)
    n, size = len(x), y.size
    for name, g, w in list(zip(FORMULAS, got, want, strict=True))[:2]:
        hint = _gradient_hint(g, w, n, size, name, FORMULAS[name])
        expect(not hint, hint)
    award(1)
    delta2 = 2 * (_forward_np(x, params) - y) / size
    unmasked = delta2 @ params[2].T
    expect(not (_close(got[2], x.T @ unmasked, 1e-6) or _close(got[3], unmasked.sum(0), 1e-6)),
           "the ReLU's derivative is missing: δ₁ = (δ₂ W2ᵀ) ⊙ 1[z₁ > 0], with z₁ = x W1 + b1 "
           "(the gradient is 0 where the unit was off)")
    for name, g, w in list(zip(FORMULAS, got, want, strict=True))[2:]:
        hint = _gradient_hint(g, w, n, size, name, FORMULAS[name])
        expect(not hint, hint)


@check(points=2)
def input_gradient(input_gradient_fn: Any) -> None:
    """Check ``input_gradient(x, y, params)`` → ∂L/∂x (n, 10) for a tf.constant x."""
    import tensorflow as tf

    x_np, y_np, init = _data()
    x64 = x_np.astype("float64")
    params = [tf.Variable(p) for p in init]
    got = input_gradient_fn(tf.constant(x_np), tf.constant(y_np), params)
    expect(got is not None,
           "the gradient is None: x is a tf.constant, not a tf.Variable, so the tape does not "
           "record what happens to it; call tape.watch(x) at the start of the `with` block and "
           "compute the loss inside the block")
    expect(not isinstance(got, list | tuple), "return one tensor, ∂L/∂x: pass x (not the "
           "parameters) to tape.gradient(loss, x)")
    got = np.asarray(got, dtype="float64")
    expect(got.shape == x_np.shape, f"∂L/∂x has shape {got.shape}; it has the shape of x, "
           f"{x_np.shape}: pass x (not the parameters) to tape.gradient(loss, x)")
    award(1)
    w1, b1, w2, _ = (p.astype("float64") for p in init)
    delta2 = 2 * (_forward_np(x64, init) - y_np) / y_np.size
    want = ((delta2 @ w2.T) * (x64 @ w1 + b1 > 0)) @ w1.T
    hint = _gradient_hint(got, want, len(x_np), y_np.size, "∂L/∂x", "compute the loss as "
                          "mse(forward(x, params), y) inside the tape, then "
                          "tape.gradient(loss, x)")
    expect(_close(got, want, 1e-4) or not hint, hint)


@check(points=2, judged="kernel")
def build_keras_model(build_fn: Any) -> None:
    """Check ``build_keras_model(params, learning_rate)``: 10→20→5, the given weights, SGD."""
    import keras

    x, _, init = _data()
    model = build_fn(init, LEARNING_RATE)
    common.expect_sequential(model, "build_keras_model", 10)
    dense = common.layers_of(model)
    expect([layer.units for layer in dense] == [20, 5],
           f"the Dense layers have {[layer.units for layer in dense]} units; the TF1 network is "
           "10 → 20 → 5: Dense(20, activation='relu'), then Dense(5)")
    activations = [layer.get_config()["activation"] for layer in dense]
    expect(activations == ["relu", "linear"], f"the activations are {activations}; the hidden "
           "layer uses 'relu' (tf.nn.relu) and the output layer none")
    award(1)
    weights = model.get_weights()
    expect(len(weights) == 4 and all(np.array_equal(w, p) for w, p in zip(weights, init,
                                                                           strict=True)),
           "the weights are not the given initial values: model.set_weights(params) (a Dense "
           "kernel has shape (inputs, units), like W1 and W2)")
    expect(model.compiled, "compile the model: model.compile(optimizer=keras.optimizers.SGD("
           "learning_rate), loss='mse')")
    hint = common.optimizer_mismatch(model.optimizer, keras.optimizers.SGD(LEARNING_RATE),
                                     "SGD(learning_rate)")
    expect(not hint, f"{hint} (GradientDescentOptimizer is plain SGD)")
    loss = common.resolve_loss(model.loss)
    rng = np.random.default_rng(2)
    a, b = (rng.standard_normal((8, 5)).astype("float32") for _ in range(2))
    try:
        value = float(np.asarray(loss(a, b)).mean())
    except Exception:
        value = float("nan")
    diff = a.astype("float64") - b
    expect(not np.isclose(value, np.mean(np.abs(diff)), rtol=1e-5),
           "the loss is the mean absolute error: the TF1 program minimises the mean squared "
           "error, loss='mse'")
    expect(np.isclose(value, np.mean(diff**2), rtol=1e-5),
           "the loss is not the mean squared error of the TF1 program: loss='mse' "
           "(keras.losses.MeanSquaredError())")
    other = build_fn(init, 0.5)
    expect(np.isclose(float(other.optimizer.learning_rate), 0.5),
           "use the learning_rate argument instead of a fixed number")
    expect(_close(model.predict(x, verbose=0), _forward_np(x, init), 1e-5),
           "the model's predictions differ from forward(x, params)")


def _softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    shifted = np.exp(z - z.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def _ce_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """Fixed logits (N, K) and integer labels: wide, square, tall, and large logits."""
    rng = np.random.default_rng(31)
    cases = []
    for n, k, scale in ((8, 10, 2.0), (6, 6, 1.0), (12, 3, 1.0), (5, 4, 30.0)):
        z = (scale * rng.standard_normal((n, k))).astype("float32")
        cases.append((z, rng.integers(0, k, n).astype("int64")))
    return cases


def _tape_ce_gradient(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∂L/∂z by tf.GradientTape on keras' SparseCategoricalCrossentropy(from_logits=True)."""
    import keras
    import tensorflow as tf

    logits = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)
    return np.asarray(tape.gradient(loss, logits), dtype="float64")


def _ce_wrong_forms(z: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """Known wrong answers for ∂L/∂z (each with and without /N), with their hints."""
    n, k = z.shape
    z = z.astype("float64")
    p, onehot = _softmax(z), np.eye(k)[y]
    forms = [
        (p, "that is softmax(z) alone: the loss −log p_y also pulls the true class up, so "
            "subtract the one-hot labels, softmax(z) − onehot(y)"),
        (onehot, "that is the one-hot labels alone: the gradient is softmax(z) − onehot(y), "
                 "the predicted probabilities minus the targets"),
        (-onehot, "that is −onehot(y), the gradient of −z_y alone: add the gradient of the "
                  "log-sum-exp, softmax(z)"),
        (np.exp(z) - onehot, "the probabilities are not normalised: softmax divides exp(z) by "
                             "its row sum, exp(z) / exp(z).sum(axis=1, keepdims=True)"),
        (_softmax(z, axis=0) - onehot, "softmax over the wrong axis: normalise each row (one "
                                       "example's K classes), axis=1, not each column"),
        (np.log(p) - onehot, "that is log-softmax minus the one-hot: the derivative of "
                             "log-sum-exp(z) is softmax(z) itself, not its logarithm"),
    ]
    return [(form / scale, hint) for form, hint in forms for scale in (n, 1)]


@check(points=2)
def ce_logit_grad(ce_logit_grad_fn: Any) -> None:
    """Check ``ce_logit_grad(z, y)`` → ∂L/∂z = (softmax(z) − onehot(y)) / N.

    Compared with ``tf.GradientTape`` on ``keras.losses.SparseCategoricalCrossentropy(
    from_logits=True)`` (the mean over the batch) on four fixed inputs; a NumPy array or a
    tf.Tensor are both fine.
    """
    for z, y in _ce_cases():
        n, k = z.shape
        want = _tape_ce_gradient(z, y)
        got = ce_logit_grad_fn(z.copy(), y.copy())
        common.expect_returned(got, "ce_logit_grad", "∂L/∂z, an (N, K) array")
        expect(not isinstance(got, list | tuple), "return one (N, K) array, ∂L/∂z")
        got = np.asarray(got, dtype="float64")
        expect(got.shape == want.shape or got.T.shape == want.shape,
               f"∂L/∂z has shape {got.shape}; it has the shape of the logits, ({n}, {k}): one "
               "row per example, one column per class")
        if common.close(got, want, rtol=1e-5, atol=1e-7):
            continue
        for form, hint in _ce_wrong_forms(z, y):
            expect(not common.close(got, form, rtol=1e-4, atol=1e-7), hint)
        hint = common.mismatch(got, want, "∂L/∂z", rtol=1e-5, atol=1e-7, factors={
            float(n): f"the loss is the mean over the batch, so divide by N = {n}",
            -1.0: "the sign is flipped: the gradient is softmax(z) − onehot(y), "
                  "not onehot(y) − softmax(z)",
            1.0 / k: f"divide by the batch size N = {n} only, not by N·K",
        }, otherwise="the chain rule through softmax gives ∂L/∂z = (softmax(z) − onehot(y)) / N")
        expect(not hint, hint)
