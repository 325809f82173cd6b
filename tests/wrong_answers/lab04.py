"""Lab 04's wrong answers: what learners write for each exercise, and what the hint must say.

Each mistake is one switch of a step or loop written the way learners write them; the swapped
(gradient, variable) pairs, a returned running mean (right on the first batch only) and a
validation loop that trains are among them.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from wrong_answers import Lab, WrongAnswer

LAB = Lab(
    notebook="04_custom_training_loop.ipynb",
    checks="course.checks.lab04",
    exercises={"train_step": "train_step", "test_step": "test_step", "fit_loop": "fit_loop"},
    points=8,
)
NAMES = ["loss", "accuracy", "val_loss", "val_accuracy"]
NOT_DONE = "def {name}(*args, **kwargs):\n    raise NotImplementedError()\n"


def _train_step(loss="mean", training=True, apply=True, sign=1.0, numpy=False,
                update_loss=True, update_accuracy=True, reset=False, new_optimizer=False,
                loss_outside=False, returns=True):
    """A train_step with one typical mistake switched on."""
    def step(model, optimizer, loss_fn, x, y, loss_metric, accuracy_metric):
        with tf.GradientTape() as tape:
            logits = model(x, training=True) if training else model(x)
            if not loss_outside:
                per_example = keras.losses.sparse_categorical_crossentropy(
                    y, logits, from_logits=True)
                value = {"mean": loss_fn(y, logits), "sum": tf.reduce_sum(per_example),
                         "vector": per_example}[loss]
        if loss_outside:
            value = loss_fn(y, logits)
        grads = tape.gradient(value, model.trainable_variables)
        if apply:
            opt = keras.optimizers.SGD(0.1, momentum=0.9) if new_optimizer else optimizer
            opt.apply_gradients(zip([sign * g for g in grads], model.trainable_variables,
                                    strict=True))
        if reset:
            loss_metric.reset_state()
            accuracy_metric.reset_state()
        mean = tf.reduce_mean(value)
        if update_loss:
            loss_metric.update_state(mean)
        if update_accuracy:
            accuracy_metric.update_state(y, logits)
        if not returns:
            return None
        return mean.numpy() if numpy else mean

    return step


def _test_step(training=False, loss="mean", update=True, reset=False, numpy=False,
               returns=True):
    def step(model, loss_fn, x, y, loss_metric, accuracy_metric):
        logits = model(x, training=training)
        value = loss_fn(y, logits)
        if loss == "sum":
            value = value * tf.cast(tf.shape(y)[0], value.dtype)
        if reset:
            loss_metric.reset_state()
            accuracy_metric.reset_state()
        if update:
            loss_metric.update_state(value)
            accuracy_metric.update_state(y, logits)
        if not returns:
            return None
        return value.numpy() if numpy else value

    return step


def _validate(model, loss_fn, data, test_step, metrics):
    for metric in metrics:
        metric.reset_state()
    for x, y in data:
        test_step(model, loss_fn, x, y, *metrics)


def _train(model, optimizer, loss_fn, train_ds, train_step, metrics, show, per_batch):
    """One epoch of training; the batch losses when ``per_batch``, else the last one."""
    progbar = keras.utils.Progbar(len(train_ds), verbose=show)
    losses = []
    for step, (x, y) in enumerate(train_ds, start=1):
        losses.append(float(train_step(model, optimizer, loss_fn, x, y, *metrics)))
        progbar.update(step, [("loss", losses[-1])])
    return losses if per_batch else losses[-1:]


def _fit_loop(reset=True, record="mean", validate_on="val", validate="after", bar="verbose",
              per_batch=False, keys=tuple(NAMES)):
    """A fit_loop with one typical mistake switched on."""
    def loop(model, optimizer, loss_fn, train_ds, val_ds, epochs, train_step=None,
             test_step=None, verbose=1):
        metrics = [keras.metrics.Mean(), keras.metrics.SparseCategoricalAccuracy(),
                   keras.metrics.Mean(), keras.metrics.SparseCategoricalAccuracy()]
        history = {key: [] for key in keys}
        checked = train_ds if validate_on == "train" else val_ds
        show = {"verbose": verbose, "always": 1, "never": 0}[bar]
        for _ in range(epochs):
            for metric in metrics if reset else ():
                metric.reset_state()
            if validate == "before":
                _validate(model, loss_fn, checked, test_step, metrics[2:])
            losses = _train(model, optimizer, loss_fn, train_ds, train_step, metrics[:2], show,
                            per_batch)
            if validate == "after":
                _validate(model, loss_fn, checked, test_step, metrics[2:])
            mean = float(metrics[0].result())
            values = {"loss": losses if per_batch else [losses[-1] if record == "last" else mean],
                      **{k: [float(m.result())] for k, m in zip(NAMES[1:], metrics[1:],
                                                               strict=True)}}
            for key in history:
                history[key].extend(values[key])
        return history

    return loop




def _swapped_pairs(model, optimizer, loss_fn, x, y, loss_metric, accuracy_metric):
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = loss_fn(y, logits)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(model.trainable_variables, grads, strict=True))
    loss_metric.update_state(loss)
    accuracy_metric.update_state(y, logits)
    return loss


def _returns_running_mean(model, optimizer, loss_fn, x, y, loss_metric, accuracy_metric):
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = loss_fn(y, logits)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
    loss_metric.update_state(loss)
    accuracy_metric.update_state(y, logits)
    return loss_metric.result()


def _test_returns_running_mean(model, loss_fn, x, y, loss_metric, accuracy_metric):
    logits = model(x, training=False)
    loss = loss_fn(y, logits)
    loss_metric.update_state(loss)
    accuracy_metric.update_state(y, logits)
    return loss_metric.result()


def _loss_of_probabilities(model, loss_fn, x, y, loss_metric, accuracy_metric):
    logits = model(x, training=False)
    loss = loss_fn(y, tf.nn.softmax(logits))
    loss_metric.update_state(loss)
    accuracy_metric.update_state(y, logits)
    return loss


ALSO_TRAINS = """
def test_step(model, loss_fn, x, y, loss_metric, accuracy_metric):
    with tf.GradientTape() as tape:
        logits = model(x, training=False)
        loss = loss_fn(y, logits)
    grads = tape.gradient(loss, model.trainable_variables)
    keras.optimizers.SGD(0.1).apply_gradients(zip(grads, model.trainable_variables))
    loss_metric.update_state(loss)
    accuracy_metric.update_state(y, logits)
    return loss
"""

VALIDATES_WITH_TRAIN_STEP = """
def fit_loop(model, optimizer, loss_fn, train_ds, val_ds, epochs, train_step=train_step,
             test_step=test_step, verbose=1):
    loss_metric, accuracy = keras.metrics.Mean(), keras.metrics.SparseCategoricalAccuracy()
    val_loss, val_accuracy = keras.metrics.Mean(), keras.metrics.SparseCategoricalAccuracy()
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    for epoch in range(epochs):
        for metric in (loss_metric, accuracy, val_loss, val_accuracy):
            metric.reset_state()
        bar = keras.utils.Progbar(len(train_ds), verbose=verbose)
        for step, (x, y) in enumerate(train_ds, start=1):
            loss = train_step(model, optimizer, loss_fn, x, y, loss_metric, accuracy)
            bar.update(step, [("loss", float(loss))])
        for x, y in val_ds:  # copied from the training loop: trains on the validation data
            train_step(model, optimizer, loss_fn, x, y, val_loss, val_accuracy)
        for name, metric in zip(history, (loss_metric, accuracy, val_loss, val_accuracy)):
            history[name].append(float(metric.result()))
    return history
"""


WRONG = [
    # train_step (3 points: 1 for one right step, 1 for three steps with momentum, 1 compiled)
    WrongAnswer("train_step", "loss-outside-tape", _train_step(loss_outside=True),
                ("inside the `with",)),
    WrongAnswer("train_step", "loss-summed", _train_step(loss="sum"), ("summed over the batch",)),
    WrongAnswer("train_step", "per-example-losses", _train_step(loss="vector"),
                ("summed over the batch",)),
    WrongAnswer("train_step", "numpy-in-step", _train_step(numpy=True), ("calls .numpy()",), 2),
    WrongAnswer("train_step", "never-applied", _train_step(apply=False), ("did not change",)),
    WrongAnswer("train_step", "gradient-ascent", _train_step(sign=-1.0), ("up the gradient",)),
    WrongAnswer("train_step", "no-training-flag", _train_step(training=False),
                ("training=True",)),
    WrongAnswer("train_step", "loss-metric-not-updated", _train_step(update_loss=False),
                ("loss_metric was not updated",)),
    WrongAnswer("train_step", "accuracy-not-updated", _train_step(update_accuracy=False),
                ("accuracy_metric was not",)),
    WrongAnswer("train_step", "metrics-reset-in-step", _train_step(reset=True),
                ("do not reset",), 1),
    WrongAnswer("train_step", "new-optimizer-every-step", _train_step(new_optimizer=True),
                ("the optimizer you are given",), 1),
    WrongAnswer("train_step", "forgot-return", _train_step(returns=False),
                ("your train_step returns None",)),
    WrongAnswer("train_step", "swapped-zip", _swapped_pairs, ("pairs are swapped",
                                                               "zip(grads, model")),
    WrongAnswer("train_step", "returns-running-mean", _returns_running_mean,
                ("first step only", "this batch's loss"), 1),
    WrongAnswer("train_step", "not-done", NOT_DONE.format(name="train_step"), ("not done yet",)),
    # test_step (2 points: 1 for one batch, 1 for three compiled batches)
    WrongAnswer("test_step", "training-true", _test_step(training=True), ("training=False",)),
    WrongAnswer("test_step", "loss-summed", _test_step(loss="sum"), ("summed",)),
    WrongAnswer("test_step", "metrics-not-updated", _test_step(update=False), ("not updated",)),
    WrongAnswer("test_step", "metrics-reset-in-step", _test_step(reset=True),
                ("do not reset",), 1),
    WrongAnswer("test_step", "numpy-in-step", _test_step(numpy=True), ("calls .numpy()",), 1),
    WrongAnswer("test_step", "forgot-return", _test_step(returns=False),
                ("your test_step returns None",)),
    WrongAnswer("test_step", "also-trains", ALSO_TRAINS, ("changed the weights",)),
    WrongAnswer("test_step", "returns-running-mean", _test_returns_running_mean,
                ("first batch only",), 1),
    WrongAnswer("test_step", "loss-of-probabilities", _loss_of_probabilities,
                ("returned loss differs",)),
    WrongAnswer("test_step", "not-done", NOT_DONE.format(name="test_step"), ("not done yet",)),
    # fit_loop (3 points: 1 for the history's shape, 1 for training, 1 for validation)
    WrongAnswer("fit_loop", "metrics-never-reset", _fit_loop(reset=False),
                ("reset the metrics",), 1),
    WrongAnswer("fit_loop", "last-batch-loss", _fit_loop(record="last"),
                ("last batch's loss",), 1),
    WrongAnswer("fit_loop", "validated-on-training-data", _fit_loop(validate_on="train"),
                ("test_step never saw a batch of val_ds",), 1),
    WrongAnswer("fit_loop", "validated-before-training", _fit_loop(validate="before"),
                ("before the epoch's training",), 2),
    WrongAnswer("fit_loop", "progress-bar-ignores-verbose", _fit_loop(bar="always"),
                ("verbose=0",), 2),
    WrongAnswer("fit_loop", "no-progress-bar", _fit_loop(bar="never"), ("show progress",), 2),
    WrongAnswer("fit_loop", "a-value-per-batch", _fit_loop(per_batch=True), ("one per epoch",)),
    WrongAnswer("fit_loop", "no-validation-history", _fit_loop(keys=("loss", "accuracy")),
                ("has no ['val_loss'",)),
    WrongAnswer("fit_loop", "forgot-return", lambda *args, **kwargs: None,
                ("your fit_loop returns None",)),
    WrongAnswer("fit_loop", "validates-with-train-step", VALIDATES_WITH_TRAIN_STEP,
                ("validation loop calls train_step",), 1),
    WrongAnswer("fit_loop", "not-done", NOT_DONE.format(name="fit_loop"), ("not done yet",)),
]
