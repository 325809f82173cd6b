"""Checks for Lab 04, the explicit training loop (GradientTape, apply_gradients, metrics, Progbar).

Each check builds its own tiny classification task (6 features, 3 classes) and a small model
with a probe layer that records the ``training`` flag it is called with, and compares the
learner's step or loop with ``course.loops``' reference on a twin model.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np

from course import loops
from course.checks import CheckFailed, award, check, common, expect

BATCH = 16
LEARNING_RATE = 0.1
HISTORY_KEYS = loops.HISTORY_KEYS


_task = common.task


def _model(seed: int = 4) -> tuple[Any, Any]:
    """A 6 → 8 (ReLU) → 3 model with a probe layer; the same weights for the same seed."""
    import keras

    class TrainingProbe(keras.layers.Layer):
        """Passes its input through and records the ``training`` flag of every call."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.seen: list[Any] = []

        def call(self, inputs: Any, training: Any = None) -> Any:
            self.seen.append(training)
            return inputs

    probe = TrainingProbe(name="probe")
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              probe, keras.layers.Dense(3)], name="check_model")
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, 0.5, w.shape).astype("float32")
                       for w in model.get_weights()])
    probe.seen.clear()
    return model, probe


def _tools(momentum: float = 0.0) -> tuple[Any, Any, Any, Any]:
    import keras

    return (keras.optimizers.SGD(LEARNING_RATE, momentum=momentum),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            keras.metrics.Mean(), keras.metrics.SparseCategoricalAccuracy())


def _weights(model: Any) -> list[np.ndarray]:
    return [np.asarray(w) for w in model.get_weights()]


_close = common.close


def _call_step(step: Any, *args: Any) -> Any:
    """Call a learner's step and turn the typical failures into specific hints."""
    try:
        return step(*args)
    except (ValueError, TypeError) as exc:
        expect("No gradients" not in str(exc) and "NoneType" not in str(exc),
               "no gradients: compute the loss inside the `with tf.GradientTape() as tape:` "
               "block (the tape only records what runs inside it), then call "
               "tape.gradient(loss, model.trainable_variables) after the block")
        raise
    except AttributeError as exc:
        expect(not common.swapped_pairs(exc),
               "the (gradient, variable) pairs are swapped: apply_gradients takes "
               "zip(grads, model.trainable_variables), the gradient first")
        expect("numpy" not in str(exc),
               "the step fails under tf.function: it calls .numpy(), but inside tf.function "
               "tensors are symbolic (no values yet); keep TensorFlow ops and return the loss "
               "tensor")
        raise


def _compiled(step: Any) -> Any:
    import tensorflow as tf

    return tf.function(step)


def _flat_delta(before: list[np.ndarray], after: list[np.ndarray]) -> np.ndarray:
    """How far every weight moved, as one vector."""
    return np.concatenate([(a - b).ravel() for b, a in zip(before, after, strict=True)])


def _expect_metrics_updated(loss_metric: Any, accuracy_metric: Any, want_loss: float,
                            ref_accuracy: Any) -> None:
    """The step fed this batch's loss and predictions to the two metrics."""
    expect(np.isclose(float(loss_metric.result()), want_loss, rtol=1e-5),
           "loss_metric was not updated with the batch loss: loss_metric.update_state(loss)")
    expect(np.isclose(float(accuracy_metric.result()), float(ref_accuracy.result())),
           "accuracy_metric was not updated with this batch: "
           "accuracy_metric.update_state(y, logits) (labels first, then the logits)")


def _batches() -> list[tuple[Any, Any]]:
    """The check task's 3 batches of 16 as tensors."""
    import tensorflow as tf

    x, y = _task()
    return [(tf.constant(x[i:i + BATCH]), tf.constant(y[i:i + BATCH]))
            for i in range(0, len(x), BATCH)]


def _expect_one_step(train_step_fn: Any, x: Any, y: Any) -> None:
    """One plain SGD step: weights, training flag, returned loss and both metrics."""
    model, probe = _model()
    optimizer, loss_fn, loss_metric, accuracy_metric = _tools()
    before = _weights(model)
    twin, _ = _model()
    ref_opt, _, ref_loss_metric, ref_accuracy = _tools()
    want_loss = float(loops.train_step(twin, ref_opt, loss_fn, x, y, ref_loss_metric,
                                       ref_accuracy))
    loss = _call_step(train_step_fn, model, optimizer, loss_fn, x, y, loss_metric,
                      accuracy_metric)
    got = _weights(model)
    expect(any(not np.array_equal(g, b) for g, b in zip(got, before, strict=True)),
           "the weights did not change: apply the gradients with "
           "optimizer.apply_gradients(zip(grads, model.trainable_variables))")
    expect(True in probe.seen, "call the model with model(x, training=True) in train_step: "
           "layers such as Dropout and BatchNormalization behave differently in training")
    hint = common.mismatch(_flat_delta(before, got), _flat_delta(before, _weights(twin)),
                           "update", rtol=1e-3, factors={
        float(BATCH): "the loss was summed over the batch instead of averaged; use "
                      "loss_fn(y, logits), which averages",
        -1.0: "the weights moved up the gradient: let the optimizer apply the gradients as "
              "they are (optimizer.apply_gradients(zip(grads, model.trainable_variables)))",
    }, otherwise="the weights after one step differ from one SGD step on loss_fn(y, model(x, "
       "training=True)): compute the gradients of that loss with respect to "
       "model.trainable_variables and apply them once")
    expect(not hint, hint)
    common.expect_returned(loss, "train_step", "the batch loss")
    loss = np.asarray(loss, dtype="float64")
    expect(loss.shape == (), f"the returned loss has shape {loss.shape}: return the scalar mean "
           "loss of the batch, loss_fn(y, logits)")
    expect(np.isclose(loss, want_loss, rtol=1e-5),
           "the returned loss differs from loss_fn(y, logits) computed in the tape, before "
           "the update")
    _expect_metrics_updated(loss_metric, accuracy_metric, want_loss, ref_accuracy)


def _expect_three_steps(train_step_fn: Any, batches: list[tuple[Any, Any]]) -> Any:
    """Three steps with momentum: weights, metrics and each returned loss; the twin model."""
    model, _ = _model()
    optimizer, loss_fn, loss_metric, accuracy_metric = _tools(momentum=0.9)
    twin, _ = _model()
    ref_opt, _, ref_loss_metric, ref_accuracy = _tools(momentum=0.9)
    returned, expected = [], []
    for xb, yb in batches:
        returned.append(float(np.asarray(_call_step(
            train_step_fn, model, optimizer, loss_fn, xb, yb, loss_metric, accuracy_metric))))
        expected.append(float(loops.train_step(twin, ref_opt, loss_fn, xb, yb, ref_loss_metric,
                                               ref_accuracy)))
    expect(all(_close(g, w) for g, w in zip(_weights(model), _weights(twin), strict=True)),
           "after 3 steps with momentum the weights differ: use the optimizer you are given "
           "(its momentum is state kept between steps), never a new one per step")
    expect(np.isclose(float(loss_metric.result()), float(ref_loss_metric.result()), rtol=1e-5),
           "after 3 steps loss_metric must hold the mean of the 3 batch losses: do not reset "
           "or re-create the metrics inside train_step (the loop resets them once per epoch)")
    expect(_close(returned, expected),
           f"over 3 steps train_step returned {np.round(returned, 5).tolist()}; the batch losses "
           f"are {np.round(expected, 5).tolist()}: return this batch's loss, not the metric's "
           "running mean (they agree on the first step only)")
    return twin


@check(points=3, judged="kernel")
def train_step(train_step_fn: Any) -> None:
    """Check ``train_step(model, optimizer, loss_fn, x, y, loss_metric, accuracy_metric)``:
    one step, then three with momentum, then three under ``tf.function``."""
    batches = _batches()
    _expect_one_step(train_step_fn, *batches[0])
    award(1)
    twin = _expect_three_steps(train_step_fn, batches)
    award(1)
    model, _ = _model()
    optimizer, loss_fn, loss_metric, accuracy_metric = _tools(momentum=0.9)
    compiled = _compiled(train_step_fn)
    try:
        for xb, yb in batches:
            _call_step(compiled, model, optimizer, loss_fn, xb, yb, loss_metric,
                       accuracy_metric)
    except CheckFailed:
        raise
    except Exception as exc:
        raise CheckFailed(f"train_step fails under tf.function ({type(exc).__name__}: "
                          f"{str(exc).strip().splitlines()[-1]}): keep to TensorFlow "
                          "operations inside the step") from exc
    expect(all(_close(g, w) for g, w in zip(_weights(model), _weights(twin), strict=True)),
           "under tf.function the step gives other weights than eagerly: do not use "
           "Python-side values (NumPy, Python counters) inside train_step")


@check(points=2, judged="kernel")
def test_step(test_step_fn: Any) -> None:
    """Check ``test_step(model, loss_fn, x, y, loss_metric, accuracy_metric)``."""
    import tensorflow as tf

    x_np, y_np = _task()
    x, y = tf.constant(x_np[:BATCH]), tf.constant(y_np[:BATCH])
    model, probe = _model()
    _, loss_fn, loss_metric, accuracy_metric = _tools()
    before = _weights(model)
    twin, _ = _model()
    _, _, ref_loss_metric, ref_accuracy = _tools()
    want_loss = float(loops.test_step(twin, loss_fn, x, y, ref_loss_metric, ref_accuracy))

    loss = _call_step(test_step_fn, model, loss_fn, x, y, loss_metric, accuracy_metric)
    expect(all(np.array_equal(g, b) for g, b in zip(_weights(model), before, strict=True)),
           "test_step changed the weights: evaluation only measures, it never updates")
    expect(probe.seen and True not in probe.seen,
           "call the model with model(x, training=False) in test_step: evaluation runs in "
           "inference mode (no dropout)")
    common.expect_returned(loss, "test_step", "the batch loss")
    loss = np.asarray(loss, dtype="float64")
    expect(loss.shape == (), f"the returned loss has shape {loss.shape}: return the scalar mean "
           "loss of the batch, loss_fn(y, logits)")
    expect(not np.isclose(loss, BATCH * want_loss, rtol=1e-5),
           "the loss is summed over the batch: use loss_fn(y, logits), which averages")
    expect(np.isclose(loss, want_loss, rtol=1e-5),
           "the returned loss differs from loss_fn(y, model(x, training=False))")
    _expect_metrics_updated(loss_metric, accuracy_metric, want_loss, ref_accuracy)
    award(1)
    model, _ = _model()
    _, _, loss_metric, accuracy_metric = _tools()
    _, _, ref_loss_metric, ref_accuracy = _tools()
    compiled = _compiled(test_step_fn)
    returned, expected = [], []
    for i in range(0, len(x_np), BATCH):
        xb, yb = tf.constant(x_np[i:i + BATCH]), tf.constant(y_np[i:i + BATCH])
        returned.append(float(np.asarray(_call_step(compiled, model, loss_fn, xb, yb,
                                                    loss_metric, accuracy_metric))))
        expected.append(float(loops.test_step(twin, loss_fn, xb, yb, ref_loss_metric,
                                              ref_accuracy)))
    expect(np.isclose(float(loss_metric.result()), float(ref_loss_metric.result()), rtol=1e-5)
           and np.isclose(float(accuracy_metric.result()), float(ref_accuracy.result())),
           "over 3 batches (under tf.function) the metrics must hold the means of all 3: "
           "update them, do not reset or re-create them inside test_step")
    expect(_close(returned, expected),
           f"over 3 batches test_step returned {np.round(returned, 5).tolist()}; the batch "
           f"losses are {np.round(expected, 5).tolist()}: return this batch's loss, not the "
           "metric's running mean (they agree on the first batch only)")


def _datasets() -> tuple[Any, Any, tuple[np.ndarray, np.ndarray]]:
    import tensorflow as tf

    x, y = _task(72, seed=5)
    train = tf.data.Dataset.from_tensor_slices((x[:48], y[:48])).batch(BATCH)
    val = tf.data.Dataset.from_tensor_slices((x[48:], y[48:])).batch(12)
    return train, val, (x[:48], y[:48])


def _reference_run(epochs: int) -> dict[str, list[float]]:
    """The right history, plus the numbers typical wrong loops would record instead."""
    import keras

    train, val, _ = _datasets()
    model, _ = _model(seed=6)
    optimizer, loss_fn, *_ = _tools(momentum=0.9)
    metrics = [keras.metrics.Mean(), keras.metrics.SparseCategoricalAccuracy()]
    val_metrics = [keras.metrics.Mean(), keras.metrics.SparseCategoricalAccuracy()]
    runs: dict[str, list[float]] = {key: [] for key in
                                    (*HISTORY_KEYS, "cumulative_loss", "last_batch_loss",
                                     "val_on_train", "val_before")}
    batch_losses: list[float] = []
    unused_accuracy = keras.metrics.SparseCategoricalAccuracy()
    for _ in range(epochs):
        before = keras.metrics.Mean()
        for x, y in val:
            loops.test_step(model, loss_fn, x, y, before, unused_accuracy)
        runs["val_before"].append(float(before.result()))
        for metric in metrics + val_metrics:
            metric.reset_state()
        for x, y in train:
            batch_losses.append(float(loops.train_step(model, optimizer, loss_fn, x, y,
                                                       *metrics)))
        on_train = keras.metrics.Mean()
        for x, y in train:
            loops.test_step(model, loss_fn, x, y, on_train, unused_accuracy)
        for x, y in val:
            loops.test_step(model, loss_fn, x, y, *val_metrics)
        for key, metric in zip(HISTORY_KEYS, metrics + val_metrics, strict=True):
            runs[key].append(float(metric.result()))
        runs["cumulative_loss"].append(float(np.mean(batch_losses)))
        runs["last_batch_loss"].append(batch_losses[-1])
        runs["val_on_train"].append(float(on_train.result()))
    return runs


def _spy(step: Any, kind: str, calls: list[tuple[str, str]], val_x: np.ndarray) -> Any:
    """``step``, recording ``(kind, 'train' | 'val')`` for every eager call."""
    import tensorflow as tf

    def recorded(model: Any, *args: Any) -> Any:
        if tf.executing_eagerly() and len(args) >= 4:
            first = np.asarray(args[-4])[0]
            on_val = any(np.array_equal(first, row) for row in val_x)
            calls.append((kind, "val" if on_val else "train"))
        return step(model, *args)

    return recorded


@check(points=3, judged="kernel")
def fit_loop(fit_loop_fn: Any) -> None:
    """Check ``fit_loop(model, optimizer, loss_fn, train_ds, val_ds, epochs, train_step=...,
    test_step=..., verbose=1)`` → a history dict like ``History.history``."""
    epochs = 2
    train, val, _ = _datasets()
    val_x = np.concatenate([np.asarray(x) for x, _ in val])
    model, _ = _model(seed=6)
    optimizer, loss_fn, *_ = _tools(momentum=0.9)
    quiet = io.StringIO()
    calls: list[tuple[str, str]] = []
    with contextlib.redirect_stdout(quiet):
        history = fit_loop_fn(model, optimizer, loss_fn, train, val, epochs,
                              train_step=_spy(loops.train_step, "train", calls, val_x),
                              test_step=_spy(loops.test_step, "test", calls, val_x),
                              verbose=0)
    common.expect_returned(history, "fit_loop", "the history dict")
    expect(isinstance(history, dict), f"return a dict of lists (got {type(history).__name__}), "
           "like keras.callbacks.History.history")
    missing = [key for key in HISTORY_KEYS if key not in history]
    expect(not missing, f"the history has no {missing}: record 'loss', 'accuracy', 'val_loss' "
           "and 'val_accuracy' after each epoch")
    lengths = {key: len(history[key]) for key in HISTORY_KEYS}
    expect(set(lengths.values()) == {epochs}, f"after {epochs} epochs each list needs {epochs} "
           f"values (one per epoch); got {lengths}")
    try:
        got = {key: [float(v) for v in history[key]] for key in HISTORY_KEYS}
    except (TypeError, ValueError) as exc:
        raise CheckFailed("record plain numbers: float(metric.result())") from exc
    award(1)
    expect(("train", "val") not in calls,
           "your validation loop calls train_step: it updates the weights on the validation "
           "data; validate with test_step, which only measures")
    expect(("test", "val") in calls or not calls,
           "test_step never saw a batch of val_ds: the validation numbers must be measured "
           "on the validation data, run test_step on every batch of val_ds")
    want = _reference_run(epochs)
    last = epochs - 1
    expect(not _close(got["loss"][last], want["cumulative_loss"][last]),
           "the second epoch's loss is the mean over both epochs: reset the metrics at the "
           "start of every epoch (metric.reset_state())")
    expect(not _close(got["loss"][last], want["last_batch_loss"][last]),
           "'loss' is the last batch's loss: record loss_metric.result(), the mean over the "
           "epoch's batches")
    expect(_close(got["loss"], want["loss"]) and _close(got["accuracy"], want["accuracy"]),
           "the training loss or accuracy per epoch differs from the mean over that epoch's "
           "batches: call train_step on every batch of train_ds, then record "
           "loss_metric.result() and accuracy_metric.result()")
    award(1)
    expect(not _close(got["val_loss"], want["val_on_train"]),
           "the validation numbers are measured on the training data: run test_step on val_ds")
    expect(not _close(got["val_loss"], want["val_before"]),
           "the validation loss is measured before the epoch's training: validate after it")
    expect(_close(got["val_loss"], want["val_loss"])
           and _close(got["val_accuracy"], want["val_accuracy"]),
           "the validation loss or accuracy differs: after each epoch, reset the validation "
           "metrics, run test_step on every batch of val_ds and record their results")
    expect(not quiet.getvalue().strip(),
           "with verbose=0 fit_loop must print nothing: pass verbose to keras.utils.Progbar")
    _expect_progress_bar(fit_loop_fn, loss_fn, train, val)


def _expect_progress_bar(fit_loop_fn: Any, loss_fn: Any, train: Any, val: Any) -> None:
    """With ``verbose=1`` one epoch of ``fit_loop_fn`` prints its progress."""
    shown = io.StringIO()
    model, _ = _model(seed=6)
    optimizer, *_ = _tools(momentum=0.9)
    with contextlib.redirect_stdout(shown):
        fit_loop_fn(model, optimizer, loss_fn, train, val, 1, train_step=loops.train_step,
                    test_step=loops.test_step, verbose=1)
    expect(shown.getvalue().strip(), "with verbose=1 show progress: create a "
           "keras.utils.Progbar(number_of_batches, verbose=verbose) each epoch and call "
           "bar.update(step, values) after every batch")
