"""The lab's recipe: what every worker trains, and the same training on one device.

Lab 06 teaches :func:`tf_config`, :func:`worker_dataset` and :func:`newest_common_step`
(its checks grade these copies too); :func:`make_train_step` is Lab 05's distributed step.
TensorFlow and Keras are imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

DEFAULTS: dict[str, Any] = {
    "epochs": 2,
    "global_batch_size": 64,
    "learning_rate": 0.01,
    "momentum": 0.9,
    "seed": 42,
    "save_every": 25,
    "train_examples": 0,  # 0: every training example of the source
    "hidden_units": 512,
    "source": "sample",  # course.data.load_mnist's source: "sample" (offline) or "full"
}
"""The training recipe every worker (and :func:`train_single_device`) follows."""


def tf_config(workers: Sequence[str], index: int) -> str:
    """Return the ``TF_CONFIG`` JSON for worker ``index`` of the cluster ``workers``.

    Every worker gets the same ``cluster`` (the list of ``host:port`` addresses, in the same
    order) and its own ``task``; worker 0 is the chief.
    """
    if not 0 <= index < len(workers):
        raise ValueError(f"index {index} is not a worker of a {len(workers)}-worker cluster")
    return json.dumps({"cluster": {"worker": list(workers)},
                       "task": {"type": "worker", "index": index}})


def build_mlp(hidden_units: int = 512, seed: int = 42) -> Any:
    """The MNIST MLP 784 → hidden (ReLU) → 10, with initial weights fixed by ``seed``."""
    import keras

    return keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(hidden_units, activation="relu", name="hidden",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=seed)),
        keras.layers.Dense(10, name="logits",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1)),
    ], name="mlp")


def build_optimizer(opts: dict[str, Any], model: Any) -> Any:
    """The recipe's optimizer for ``model``: SGD with its learning rate and momentum.

    Its momentum variables are created now (under the caller's strategy scope, if any), so
    that the step's first call traces once instead of twice, and a checkpoint can restore them.
    """
    import keras

    optimizer = keras.optimizers.SGD(opts["learning_rate"], momentum=opts["momentum"])
    optimizer.build(model.trainable_variables)
    return optimizer


def load_data(opts: dict[str, Any]) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """The recipe's ``(x_train, y_train), (x_test, y_test)``, the training set cut to
    ``train_examples`` when it is set."""
    from course.data import load_mnist

    (x_train, y_train), test = load_mnist(opts["source"])
    if opts["train_examples"]:
        x_train, y_train = x_train[: opts["train_examples"]], y_train[: opts["train_examples"]]
    return (x_train, y_train), test


def worker_dataset(input_context: Any, images: Any, labels: Any, global_batch_size: int,
                   seed: int = 0) -> Any:
    """One worker's share of one epoch: its slice of every global batch.

    The global batches are those of ``data.make_pipeline(images, labels, global_batch_size,
    shuffle=True, seed=seed, drop_remainder=True)`` (what one device would train on); input
    pipeline ``i`` of ``n`` keeps examples ``[i·b, (i+1)·b)`` of each, ``b`` being the
    per-replica batch size (one replica per worker). Pass it, bound to the data, to
    ``strategy.distribute_datasets_from_function``.
    """
    from course.data import make_pipeline

    per_replica = input_context.get_per_replica_batch_size(global_batch_size)
    start = input_context.input_pipeline_id * per_replica
    ds = make_pipeline(images, labels, batch_size=global_batch_size, shuffle=True, seed=seed,
                       drop_remainder=True)
    return ds.map(lambda x, y: (x[start:start + per_replica], y[start:start + per_replica]))


def newest_common_step(steps_by_worker: Sequence[Sequence[int]]) -> int | None:
    """Return the newest checkpoint step present for every worker, or None.

    With one checkpoint directory per worker, a worker stopped while saving can be one
    checkpoint behind the others: all must restore the same step.
    """
    if not steps_by_worker:
        return None
    common = set(steps_by_worker[0]).intersection(*map(set, steps_by_worker[1:]))
    return max(common) if common else None


def make_train_step(strategy: Any, model: Any, optimizer: Any, global_batch_size: int) -> Any:
    """The distributed custom step of Lab 05: returns ``train_step(x, y)`` → global mean loss."""
    import keras
    import tensorflow as tf

    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)

    def replica_step(x: Any, y: Any) -> Any:
        with tf.GradientTape() as tape:
            per_example = loss_fn(y, model(x, training=True))
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    @tf.function
    def train_step(x: Any, y: Any) -> Any:
        per_replica = strategy.run(replica_step, args=(x, y))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    return train_step


def evaluate(weights: Sequence[Any], images: Any, labels: Any) -> tuple[float, float]:
    """Return the mean cross-entropy and the accuracy of the MLP ``weights`` on uint8 images.

    Computed in NumPy (float64) from ``model.get_weights()``, so every process, with or
    without a strategy, gets the same numbers from the same weights.
    """
    import numpy as np

    from course.data import preprocess
    from course.maths import cross_entropy

    w1, b1, w2, b2 = (np.asarray(w, dtype="float64") for w in weights)
    logits = np.maximum(preprocess(images).astype("float64") @ w1 + b1, 0.0) @ w2 + b2
    labels = np.asarray(labels).astype(int)
    loss = cross_entropy(logits, labels).mean()
    return float(loss), float(np.mean(np.argmax(logits, axis=1) == labels))


def train_single_device(epochs: int | None = None, **options: Any) -> dict[str, float]:
    """Train the same recipe on one device, in this process; return its final test results.

    Each epoch runs over the same global batches the workers share out, so by the lesson
    of Lab 05 the result matches the multi-worker run up to rounding.
    """
    import keras
    import tensorflow as tf

    from course.data import make_pipeline
    from course.loops import optimizer_step

    opts = {**DEFAULTS, **options}
    if epochs is not None:
        opts["epochs"] = epochs
    keras.utils.set_random_seed(opts["seed"])  # as the workers do: same shuffles
    (x_train, y_train), (x_test, y_test) = load_data(opts)
    model = build_mlp(opts["hidden_units"], opts["seed"])
    optimizer = build_optimizer(opts, model)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(x: Any, y: Any) -> Any:
        return optimizer_step(model, optimizer, loss_fn, x, y)

    losses = []
    for epoch in range(opts["epochs"]):
        ds = make_pipeline(x_train, y_train, opts["global_batch_size"], shuffle=True,
                           seed=opts["seed"] + epoch, drop_remainder=True)
        losses.extend(float(step(x, y)) for x, y in ds)
    test_loss, test_accuracy = evaluate(model.get_weights(), x_test, y_test)
    return {"test_loss": test_loss, "test_accuracy": test_accuracy,
            "last_loss": losses[-1], "steps": len(losses)}


def close(a: float, b: float, tolerance: float) -> bool:
    """``|a − b| <= tolerance`` (False when either is missing or not finite)."""
    return (a is not None and b is not None and math.isfinite(a) and math.isfinite(b)
            and abs(a - b) <= tolerance)
