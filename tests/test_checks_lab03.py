"""Lab 03's checks pass the solution notebook's answers and reject the wrong answers learners write.

The reference answers are executed from the solution notebook's ``nbgrader.solution`` cells
(with the setup cell's imports), never copied here.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from reference import solution_namespace  # noqa: E402

from course.checks import lab03 as checks  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "solutions" / "03_placeholders_to_gradienttape.ipynb"


@pytest.fixture(scope="module")
def ref() -> dict:
    return solution_namespace(NOTEBOOK)


def _fails(result, fragment: str, points: float = 0) -> None:
    """The check failed with a hint containing ``fragment`` and earned exactly ``points``."""
    assert not result.passed, result.line()
    assert fragment in result.hint, result.line()
    assert result.points == points, result.line()


def test_every_check_passes_the_reference(ref, capsys):
    results = [
        checks.forward(ref["forward"]),
        checks.mse(ref["mse"]),
        checks.train_step(ref["train_step"]),
        checks.manual_gradients(ref["manual_gradients"]),
        checks.input_gradient(ref["input_gradient"]),
        checks.build_keras_model(ref["build_keras_model"]),
    ]
    assert [r.line() for r in results if not r.passed] == []
    assert sum(r.points for r in results) == 12
    assert capsys.readouterr().out.count("✔") == 6


def test_every_exercise_in_the_notebook_has_its_check(ref):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    graded = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"].get("points")
              for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert graded == {"lab03-forward-check": 1, "lab03-mse-check": 1,
                      "lab03-train_step-check": 3, "lab03-manual_gradients-check": 3,
                      "lab03-input_gradient-check": 2, "lab03-build_keras_model-check": 2}
    for grade_id, points in graded.items():
        name = grade_id.removeprefix("lab03-").removesuffix("-check")
        assert getattr(checks, name).max_points == points


def test_not_done_yet_gives_zero_and_says_so():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    result = checks.forward(stub, verbose=False)
    assert result.points == 0 and "not done yet" in result.hint


# --------------------------------------------------------------------------------- forward


def test_forward_rejects_typical_mistakes(ref):
    def no_relu(x, params):
        W1, b1, W2, b2 = params
        return tf.matmul(tf.matmul(x, W1) + b1, W2) + b2

    def relu_on_output(x, params):
        return tf.nn.relu(ref["forward"](x, params))

    def numpy_values(x, params):
        return ref["forward"](x, params).numpy()

    def no_output_bias(x, params):
        W1, b1, W2, _ = params
        return tf.matmul(tf.nn.relu(tf.matmul(x, W1) + b1), W2)

    def returns_hidden(x, params):
        W1, b1, _, _ = params
        return tf.nn.relu(tf.matmul(x, W1) + b1)

    _fails(checks.forward(no_relu, verbose=False), "no ReLU")
    _fails(checks.forward(relu_on_output, verbose=False), "linear")
    _fails(checks.forward(numpy_values, verbose=False), "TensorFlow tensor")
    _fails(checks.forward(no_output_bias, verbose=False), "both biases")
    _fails(checks.forward(returns_hidden, verbose=False), "shape (64, 20)")
    _fails(checks.forward(lambda x, params: None, verbose=False), "returned None")


# ------------------------------------------------------------------------------------- mse


def test_mse_rejects_typical_mistakes():
    def summed(y_pred, y_true):
        return tf.reduce_sum(tf.square(y_pred - y_true))

    def per_output(y_pred, y_true):
        return tf.reduce_mean(tf.square(y_pred - y_true), axis=0)

    def rmse(y_pred, y_true):
        return tf.sqrt(tf.reduce_mean(tf.square(y_pred - y_true)))

    def mae(y_pred, y_true):
        return tf.reduce_mean(tf.abs(y_pred - y_true))

    def with_numpy(y_pred, y_true):
        return np.mean((np.asarray(y_pred) - np.asarray(y_true)) ** 2)

    _fails(checks.mse(summed, verbose=False), "summed")
    _fails(checks.mse(per_output, verbose=False), "shape (5,)")
    _fails(checks.mse(rmse, verbose=False), "root")
    _fails(checks.mse(mae, verbose=False), "absolute")
    _fails(checks.mse(with_numpy, verbose=False), "not NumPy")


# ------------------------------------------------------------------------------ train_step


def _step_variants(ref):  # noqa: C901, PLR0915 — nine one-mistake train_steps, side by side
    forward, mse = ref["forward"], ref["mse"]

    def loss_outside_tape(params, x, y, learning_rate=0.01):
        with tf.GradientTape() as tape:
            y_pred = forward(x, params)
        loss = mse(y_pred, y)
        grads = tape.gradient(loss, params)
        for p, g in zip(params, grads, strict=True):
            p.assign_sub(learning_rate * g)
        return loss

    def rebinds_names(params, x, y, learning_rate=0.01):
        with tf.GradientTape() as tape:
            loss = mse(forward(x, params), y)
        grads = tape.gradient(loss, params)
        for p, g in zip(params, grads, strict=True):
            p = p - learning_rate * g  # the bug under test: rebinds the name only
        return loss

    def replaces_list_entries(params, x, y, learning_rate=0.01):
        with tf.GradientTape() as tape:
            loss = mse(forward(x, params), y)
        grads = tape.gradient(loss, params)
        for i, g in enumerate(grads):
            params[i] = params[i] - learning_rate * g
        return loss

    def ascends(params, x, y, learning_rate=0.01):
        with tf.GradientTape() as tape:
            loss = mse(forward(x, params), y)
        for p, g in zip(params, tape.gradient(loss, params), strict=True):
            p.assign_add(learning_rate * g)
        return loss

    def no_learning_rate(params, x, y, learning_rate=0.01):
        with tf.GradientTape() as tape:
            loss = mse(forward(x, params), y)
        for p, g in zip(params, tape.gradient(loss, params), strict=True):
            p.assign_sub(g)
        return loss

    def summed_loss(params, x, y, learning_rate=0.01):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(forward(x, params) - y))
        for p, g in zip(params, tape.gradient(loss, params), strict=True):
            p.assign_sub(learning_rate * g)
        return loss / tf.cast(tf.size(y), tf.float32)

    def calls_numpy(params, x, y, learning_rate=0.01):
        with tf.GradientTape() as tape:
            loss = mse(forward(x, params), y)
        for p, g in zip(params, tape.gradient(loss, params), strict=True):
            p.assign_sub(learning_rate * g)
        return loss.numpy()

    def weights_only(params, x, y, learning_rate=0.01):
        with tf.GradientTape() as tape:
            loss = mse(forward(x, params), y)
        grads = tape.gradient(loss, params)
        params[0].assign_sub(learning_rate * grads[0])
        params[2].assign_sub(learning_rate * grads[2])
        return loss

    def returns_loss_after_update(params, x, y, learning_rate=0.01):
        ref["train_step"](params, x, y, learning_rate)
        return mse(forward(x, params), y)

    return {
        loss_outside_tape: "inside the `with tf.GradientTape() as tape:` block",
        rebinds_names: "assign_sub",
        replaces_list_entries: "replaced by a tensor",
        ascends: "not assign_add",
        no_learning_rate: "ignores the learning rate",
        summed_loss: "summed instead of averaged",
        calls_numpy: ".numpy()",
        weights_only: "only 2 of the 4",
        returns_loss_after_update: "after the update",
    }


def test_train_step_rejects_typical_mistakes(ref):
    variants = _step_variants(ref)
    assert len(variants) >= 5
    for wrong, fragment in variants.items():
        points = 2 if wrong.__name__ == "calls_numpy" else 0
        _fails(checks.train_step(wrong, verbose=False), fragment, points)


def test_train_step_gives_partial_credit_for_an_eager_only_step(ref):
    calls_numpy = next(f for f in _step_variants(ref) if f.__name__ == "calls_numpy")
    assert checks.train_step(calls_numpy, verbose=False).points == 2


def test_train_step_equals_the_tf1_program_over_the_check_data(ref):
    x, y, init = checks._data()
    params = [tf.Variable(p) for p in init]
    ours = np.array([float(ref["train_step"](params, x, y, 0.01)) for _ in range(20)])
    theirs, final = checks.loops.tf1_program(x, y, init, steps=20)
    assert np.array_equal(ours, theirs)
    assert all(np.array_equal(p.numpy(), f) for p, f in zip(params, final, strict=True))


# ------------------------------------------------------------------------ manual_gradients


def _gradient_variants(ref):
    reference = ref["manual_gradients"]

    def forward_parts(x, W1, b1, W2, b2):
        z1 = x @ W1 + b1
        h = np.maximum(0, z1)
        return z1, h, h @ W2 + b2

    def make(scale=1.0, mask=True, bias="sum", transpose=False):
        def wrong(x, y, W1, b1, W2, b2):
            z1, h, y_pred = forward_parts(x, W1, b1, W2, b2)
            delta2 = scale * 2 * (y_pred - y) / y.size
            delta1 = delta2 @ W2.T * ((z1 > 0) if mask else 1)
            reduce = {"sum": lambda d: d.sum(axis=0), "mean": lambda d: d.mean(axis=0),
                      "none": lambda d: d}[bias]
            dW2 = delta2.T @ h if transpose else h.T @ delta2
            return x.T @ delta1, reduce(delta1), dW2, reduce(delta2)

        return wrong

    def wrong_order(x, y, W1, b1, W2, b2):
        dW1, db1, dW2, db2 = reference(x, y, W1, b1, W2, b2)
        return dW2, db2, dW1, db1

    return {
        make(mask=False): "ReLU's derivative",
        make(scale=0.5): "factor 2",
        make(scale=5.0): "5 times too large",
        make(scale=320.0): "n·5 times too large",
        make(scale=-1.0): "wrong sign",
        make(bias="mean"): "sums δ over the batch",
        make(bias="none"): "shape (64, 20)",
        make(transpose=True): "dW2 has shape (5, 20)",
        wrong_order: "dW1 has shape (20, 5)",
        lambda *args: reference(*args)[:2]: "four gradients",
        lambda *args: (None, None, None, None): "# YOUR CODE HERE",  # the untouched lab
    }


def test_manual_gradients_rejects_typical_mistakes(ref):
    for i, (wrong, fragment) in enumerate(_gradient_variants(ref).items()):
        points = 1 if i == 0 else 0  # only the first (no ReLU mask) gets dW2, db2 right
        _fails(checks.manual_gradients(wrong, verbose=False), fragment, points)


def test_manual_gradients_give_partial_credit_when_only_the_first_layer_is_wrong(ref):
    no_mask = next(iter(_gradient_variants(ref)))
    assert checks.manual_gradients(no_mask, verbose=False).points == 1


# -------------------------------------------------------------------------- input_gradient


def test_input_gradient_rejects_typical_mistakes(ref):
    forward, mse = ref["forward"], ref["mse"]

    def no_watch(x, y, params):
        with tf.GradientTape() as tape:
            loss = mse(forward(x, params), y)
        return tape.gradient(loss, x)

    def loss_outside_tape(x, y, params):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y_pred = forward(x, params)
        return tape.gradient(mse(y_pred, y), x)

    def parameters_instead(x, y, params):
        with tf.GradientTape() as tape:
            loss = mse(forward(x, params), y)
        return tape.gradient(loss, params)

    def summed(x, y, params):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.square(forward(x, params) - y))
        return tape.gradient(loss, x)

    def of_the_output(x, y, params):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = tf.reduce_mean(forward(x, params))
        return tape.gradient(out, x)

    _fails(checks.input_gradient(no_watch, verbose=False), "tape.watch(x)")
    _fails(checks.input_gradient(loss_outside_tape, verbose=False), "inside the block")
    _fails(checks.input_gradient(parameters_instead, verbose=False), "not the parameters")
    _fails(checks.input_gradient(summed, verbose=False), "n·5 times too large", 1)
    _fails(checks.input_gradient(of_the_output, verbose=False), "differs from the tape's", 1)


# ----------------------------------------------------------------------- build_keras_model


def _model(params, learning_rate=0.01, activation="relu", set_weights=True, optimizer=None,
           loss="mse", compile=True):
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(20, activation=activation),
                              keras.layers.Dense(5)])
    if set_weights:
        model.set_weights(params)
    if compile:
        model.compile(optimizer=optimizer or keras.optimizers.SGD(learning_rate), loss=loss)
    return model


def test_build_keras_model_rejects_typical_mistakes():
    variants = {
        lambda p, lr=0.01: _model(p, lr, activation=None): "activations",
        lambda p, lr=0.01: _model(p, lr, set_weights=False): "set_weights",
        lambda p, lr=0.01: _model(p, lr, optimizer=keras.optimizers.Adam(lr)): "SGD",
        lambda p, lr=0.01: _model(p, lr, optimizer=keras.optimizers.SGD(lr, momentum=0.9)):
            "momentum",
        lambda p, lr=0.01: _model(p, lr, loss="mae"): "mean squared error",
        lambda p, lr=0.01: _model(p, 0.01): "learning_rate argument",
        lambda p, lr=0.01: _model(p, lr, compile=False): "compile the model",
        lambda p, lr=0.01: keras.Sequential([keras.Input((10,)), keras.layers.Dense(5)]):
            "[5] units",
    }
    for wrong, fragment in variants.items():
        points = 0 if fragment in ("activations", "[5] units") else 1
        _fails(checks.build_keras_model(wrong, verbose=False), fragment, points)
