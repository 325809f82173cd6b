"""Training loops written out by hand, and the small data set the TF1 example trains on.

Two loops the labs take apart and later labs and ``benchmarks/`` reuse:

- :func:`tf1_program` — the articles' TensorFlow 1 program (placeholders, a
  ``Session``, ``GradientDescentOptimizer(0.01)``), run unchanged through
  ``tf.compat.v1`` in its own graph. It needs data the article never defines, so
  :func:`teacher_data` provides it (a fixed random "teacher" network plus noise) and
  :func:`initial_params` the ``tf.random_normal`` initial values, drawn once with NumPy
  so that the TF1 and TF2 versions start from the same numbers (Lab 03).
- :func:`train_step`, :func:`test_step`, :func:`fit_loop` — the explicit Keras 3 loop
  (``tf.GradientTape``, ``optimizer.apply_gradients``, metrics reset each epoch,
  ``keras.utils.Progbar``, validation each epoch) that gives the same weights as
  ``model.fit`` (Lab 04). Wrap the steps in ``tf.function`` for speed.

TensorFlow and Keras are imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

N_INPUTS, N_HIDDEN, N_OUTPUTS = 10, 20, 5
PARAM_SHAPES = ((N_INPUTS, N_HIDDEN), (N_HIDDEN,), (N_HIDDEN, N_OUTPUTS), (N_OUTPUTS,))
"""Shapes of ``W1, b1, W2, b2`` in the TF1 example (10 → 20 → 5)."""

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


# ---------------------------------------------------------------------------------------------
# The TF1 example: data, initial values, the original program
# ---------------------------------------------------------------------------------------------


def teacher_data(
    n: int = 256, seed: int = 0, noise: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``X_train`` (n, 10) and ``y_train`` (n, 5), float32, from a random teacher.

    The teacher is a fixed 10 → 20 → 5 ReLU network (weights scaled by 1/√fan-in, small
    biases); ``y = teacher(x) + noise · ε`` with ``x`` and ``ε`` standard normal. A student
    with the same architecture can fit it down to the noise floor (MSE ≈ ``noise**2``).

    Args:
        n: number of examples.
        seed: the NumPy seed (same seed, same arrays on every machine).
        noise: standard deviation of the Gaussian noise added to the targets.
    """
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((N_INPUTS, N_HIDDEN)) / np.sqrt(N_INPUTS)
    b1 = 0.1 * rng.standard_normal(N_HIDDEN)
    w2 = rng.standard_normal((N_HIDDEN, N_OUTPUTS)) / np.sqrt(N_HIDDEN)
    b2 = 0.1 * rng.standard_normal(N_OUTPUTS)
    x = rng.standard_normal((n, N_INPUTS))
    y = np.maximum(0.0, x @ w1 + b1) @ w2 + b2 + noise * rng.standard_normal((n, N_OUTPUTS))
    return x.astype("float32"), y.astype("float32")


def initial_params(seed: int = 1) -> list[np.ndarray]:
    """Return ``[W1, b1, W2, b2]`` drawn as ``tf.random_normal`` would: N(0, 1), float32.

    Drawn once with NumPy so that several programs (TF1, TF2, Keras) can start from
    exactly the same values.
    """
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype("float32") for shape in PARAM_SHAPES]


def tf1_program(
    x_train: np.ndarray,
    y_train: np.ndarray,
    params: Sequence[np.ndarray],
    steps: int = 1000,
    learning_rate: float = 0.01,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Run the article's TF1 program through ``tf.compat.v1`` and return its loss curve.

    The program is the original, line for line (``tf.placeholder`` → ``tf.compat.v1``),
    with ``tf.random_normal`` replaced by the given initial values. It runs in its own
    ``tf.Graph`` and ``Session``, so eager TensorFlow 2 code in the same process is
    unaffected (unlike ``tf.compat.v1.disable_eager_execution()``, which is process-wide).

    Args:
        x_train, y_train: the data, fed whole at every step (as the article does).
        params: initial ``[W1, b1, W2, b2]``.
        steps: number of ``sess.run(optimizer, ...)`` calls (the article: 1000).
        learning_rate: ``GradientDescentOptimizer``'s rate (the article: 0.01).

    Returns:
        The loss at each step, computed before that step's update (float32, shape
        ``(steps,)``), and the final ``[W1, b1, W2, b2]``.
    """
    import tensorflow as tf

    v1 = tf.compat.v1
    w1_0, b1_0, w2_0, b2_0 = (np.asarray(p, dtype="float32") for p in params)
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, w1_0.shape[0]])
        y_true = v1.placeholder(tf.float32, [None, w2_0.shape[1]])
        W1 = tf.Variable(w1_0)  # the article: tf.Variable(tf.random_normal([10, 20]))
        b1 = tf.Variable(b1_0)
        h = tf.nn.relu(tf.matmul(x, W1) + b1)
        W2 = tf.Variable(w2_0)
        b2 = tf.Variable(b2_0)
        y_pred = tf.matmul(h, W2) + b2
        loss = tf.reduce_mean(tf.square(y_pred - y_true))
        optimizer = v1.train.GradientDescentOptimizer(learning_rate).minimize(loss)
        init = v1.global_variables_initializer()
        with v1.Session(graph=graph) as sess:
            sess.run(init)
            feed = {x: x_train, y_true: y_train}
            losses = [sess.run([optimizer, loss], feed_dict=feed)[1] for _ in range(steps)]
            final = sess.run([W1, b1, W2, b2])
    return np.asarray(losses, dtype="float32"), [np.asarray(p) for p in final]


# ---------------------------------------------------------------------------------------------
# The explicit Keras loop
# ---------------------------------------------------------------------------------------------


def train_step(
    model: Any, optimizer: Any, loss_fn: Callable, x: Any, y: Any,
    loss_metric: Any, accuracy_metric: Any,
) -> Any:
    """One optimisation step: forward and loss under a tape, gradients, update, metrics.

    PyTorch's ``zero_grad → forward → loss → backward → step``: a fresh tape each step
    (nothing to zero), ``tape.gradient`` for ``backward``, ``apply_gradients`` for ``step``.

    Returns:
        The batch loss (a scalar tensor), computed before the update.
    """
    import tensorflow as tf

    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = loss_fn(y, logits)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
    loss_metric.update_state(loss)
    accuracy_metric.update_state(y, logits)
    return loss


def test_step(
    model: Any, loss_fn: Callable, x: Any, y: Any, loss_metric: Any, accuracy_metric: Any
) -> Any:
    """Evaluate one batch (inference mode, no update) and update the metrics; return the loss."""
    logits = model(x, training=False)
    loss = loss_fn(y, logits)
    loss_metric.update_state(loss)
    accuracy_metric.update_state(y, logits)
    return loss


def fit_loop(
    model: Any,
    optimizer: Any,
    loss_fn: Callable,
    train_ds: Any,
    val_ds: Any,
    epochs: int,
    train_step: Callable = train_step,
    test_step: Callable = test_step,
    verbose: int = 1,
) -> dict[str, list[float]]:
    """Train ``model`` for ``epochs`` with an explicit loop; return a Keras-style history.

    Each epoch: reset the four metrics, run ``train_step`` on every training batch (a
    ``keras.utils.Progbar`` shows the running loss and accuracy when ``verbose``), then
    ``test_step`` on every validation batch, and record the epoch's results.

    With a training set that divides into whole batches, the same initial weights and the
    same batch order, the weights equal ``model.fit``'s (see Lab 04).

    Args:
        model, optimizer, loss_fn: what ``model.compile`` would take.
        train_ds, val_ds: ``tf.data`` datasets of ``(x, y)`` batches.
        epochs: number of passes over ``train_ds``.
        train_step, test_step: the step functions (pass ``tf.function(train_step)`` for speed).
        verbose: 1 shows a progress bar per epoch, 0 prints nothing.

    Returns:
        ``{"loss": [...], "accuracy": [...], "val_loss": [...], "val_accuracy": [...]}``,
        one value per epoch, like ``History.history``.
    """
    import keras

    loss_metric, accuracy_metric = keras.metrics.Mean(), keras.metrics.SparseCategoricalAccuracy()
    val_loss, val_accuracy = keras.metrics.Mean(), keras.metrics.SparseCategoricalAccuracy()
    metrics = (loss_metric, accuracy_metric, val_loss, val_accuracy)
    history: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}
    n_batches = int(train_ds.cardinality())
    for epoch in range(epochs):
        for metric in metrics:
            metric.reset_state()
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}")
        bar = keras.utils.Progbar(n_batches if n_batches > 0 else None, verbose=verbose,
                                  stateful_metrics=HISTORY_KEYS)
        step = 0
        for x, y in train_ds:
            train_step(model, optimizer, loss_fn, x, y, loss_metric, accuracy_metric)
            step += 1
            if verbose:
                bar.update(step, [("loss", loss_metric.result()),
                                  ("accuracy", accuracy_metric.result())], finalize=False)
        for x, y in val_ds:
            test_step(model, loss_fn, x, y, val_loss, val_accuracy)
        results = [float(metric.result()) for metric in metrics]
        for key, value in zip(HISTORY_KEYS, results, strict=True):
            history[key].append(value)
        if verbose:
            bar.update(step, list(zip(HISTORY_KEYS, results, strict=True)), finalize=True)
    return history


# ---------------------------------------------------------------------------------------------
# The fast path: many steps per compiled call
# ---------------------------------------------------------------------------------------------


def optimizer_step(model: Any, optimizer: Any, loss_fn: Callable, x: Any, y: Any) -> Any:
    """One GradientTape step with no metrics (:func:`train_step` without its bookkeeping);
    return the batch loss, computed before the update."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
    return loss


def stacked_batches(x: np.ndarray, y: np.ndarray, batch_size: int = 64,
                    seed: int | None = None) -> tuple[Any, Any]:
    """Return one epoch's whole batches stacked: ``(steps, batch, ...)`` and ``(steps, batch)``.

    Rows are shuffled with ``np.random.default_rng(seed)`` (kept in order when ``seed`` is
    None). Rows left over after the last whole batch are dropped, so that every step of
    :func:`epoch_trainer`'s compiled loop has the same shape.
    """
    import tensorflow as tf

    steps = len(x) // batch_size
    order = np.arange(len(x)) if seed is None else np.random.default_rng(seed).permutation(len(x))
    order = order[: steps * batch_size]
    xs = np.asarray(x)[order].reshape(steps, batch_size, *np.shape(x)[1:])
    return tf.constant(xs), tf.constant(np.asarray(y)[order].reshape(steps, batch_size))


def epoch_trainer(model: Any, optimizer: Any, loss_fn: Callable, jit_compile: bool = True,
                  step_losses: bool = False) -> Callable[[Any, Any], Any]:
    """Return ``train_epoch(xs, ys)``: every step of an epoch in ONE compiled call.

    ``xs``, ``ys`` come from :func:`stacked_batches`. Inside one ``tf.function`` a
    ``tf.range`` loop runs the tape step on ``xs[i], ys[i]``, so the ~1 ms that each
    call of a compiled step costs (benchmarks/README.md) is paid once per epoch, and with
    ``jit_compile`` XLA compiles the whole loop. Returns the mean of the step losses, or,
    with ``step_losses=True``, the loss of every step (a vector, to print as Article B does).
    """
    import tensorflow as tf

    if not optimizer.built:  # create the optimizer's variables before tracing
        optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=jit_compile)
    def train_epoch(xs: Any, ys: Any) -> Any:
        total = tf.constant(0.0)
        for i in tf.range(tf.shape(xs)[0]):
            total += optimizer_step(model, optimizer, loss_fn, xs[i], ys[i])
        return total / tf.cast(tf.shape(xs)[0], total.dtype)

    @tf.function(jit_compile=jit_compile)
    def train_epoch_steps(xs: Any, ys: Any) -> Any:
        losses = tf.TensorArray(tf.float32, size=tf.shape(xs)[0])
        for i in tf.range(tf.shape(xs)[0]):
            losses = losses.write(i, optimizer_step(model, optimizer, loss_fn, xs[i], ys[i]))
        return losses.stack()

    return train_epoch_steps if step_losses else train_epoch
