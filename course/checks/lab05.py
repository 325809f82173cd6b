"""Checks for Lab 05, data parallelism on one machine with ``tf.distribute.MirroredStrategy``.

The checks that need replicas make their own 2-replica strategy with
``course.devices.make_strategy(2)``, so they work in any kernel where the lab's setup cell
ran (it splits the CPU before TensorFlow initialises its devices). The equivalence check
compares the learner's distributed step with a plain one-device step on a tiny model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course.checks import award, check, expect

N_REPLICAS = 2
STEP_BATCH = 16  # global batch of the train-step check: 8 examples per replica
STEP_LR = 0.1
STEP_MOMENTUM = 0.9
TOLERANCE = 1e-5  # per weight, after 3 steps of a 6 → 8 → 3 model (measured ≈ 1e-7)


def _strategy() -> Any:
    from course.devices import make_strategy

    return make_strategy(N_REPLICAS, verbose=False)


def _synthetic_digits(n: int = 300, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """uint8 'images' whose pixels 0 and 1 encode the example's index."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28)).astype("uint8")
    images[:, 0, 0] = np.arange(n) % 256
    images[:, 0, 1] = np.arange(n) // 256
    labels = rng.integers(0, 10, n).astype("uint8")
    return images, labels


def _index_of(x: np.ndarray) -> np.ndarray:
    """Recover each synthetic example's index from its preprocessed pixels 0 and 1."""
    from course.data import MNIST_MEAN, MNIST_STD

    pixels = np.rint((np.asarray(x)[:, :2] * MNIST_STD + MNIST_MEAN) * 255).astype(int)
    return pixels[:, 0] + 256 * pixels[:, 1]


# --- exercise 1 ---------------------------------------------------------------------------------


@check(points=1)
def scale_batch_and_lr(scale_fn: Any) -> None:
    """Check ``scale_batch_and_lr(per_replica_batch, n_replicas, base_lr, base_batch)``."""
    got = scale_fn(32, 2, base_lr=0.01, base_batch=64)
    expect(got is not None, "scale_batch_and_lr returned None: return (global_batch, "
           "learning_rate)")
    expect(isinstance(got, tuple | list) and len(got) == 2,
           f"return a pair (global_batch, learning_rate); got {got!r}")
    global_batch, lr = got
    expect(isinstance(global_batch, int | np.integer) and not isinstance(global_batch, bool),
           f"the global batch must be a whole number (got {global_batch!r})")
    expect(global_batch != 32, "the global batch is per_replica_batch × n_replicas (32 × 2 = "
           "64): every replica takes its own 32 examples per step")
    expect(global_batch == 64, f"32 examples on each of 2 replicas make a global batch of 64, "
           f"not {global_batch}")
    expect(np.isclose(float(lr), 0.01),
           f"with a global batch of 64, equal to base_batch, the learning rate stays 0.01; got "
           f"{float(lr):g}: scale by global_batch / base_batch, not by the number of replicas")
    more = scale_fn(64, 4, base_lr=0.01, base_batch=64)
    expect(tuple(more)[0] == 256, f"64 per replica on 4 replicas is 256 per step; got "
           f"{tuple(more)[0]}")
    expect(np.isclose(float(more[1]), 0.04),
           f"a 4× larger global batch (256 instead of 64) takes a 4× larger learning rate "
           f"(0.04, the linear scaling rule); got {float(more[1]):g}")
    other = scale_fn(16, 2, base_lr=0.1, base_batch=32)
    expect(tuple(other)[0] == 32 and np.isclose(float(other[1]), 0.1),
           "use the base_lr and base_batch arguments instead of fixed numbers")


# --- exercise 2 ---------------------------------------------------------------------------------


def _number(value: Any) -> float:
    """A float from a number, a Keras variable or a (mirrored) TensorFlow variable."""
    import keras

    return float(np.asarray(keras.ops.convert_to_numpy(value)))


@check(points=2)
def build_compiled_mlp(build_fn: Any) -> None:
    """Check ``build_compiled_mlp(strategy, learning_rate, momentum)`` → model made in scope."""
    import keras
    import tensorflow as tf

    strategy = _strategy()
    model = build_fn(strategy, learning_rate=0.02, momentum=0.9)
    expect(isinstance(model, keras.Model),
           f"return the Keras model (got {type(model).__name__})")
    expect(model.built and model.weights, "the model has no weights yet: start it with "
           "keras.Input(shape=(784,))")
    values = [w.value for w in model.weights]
    expect(all(isinstance(v, tf.distribute.DistributedValues) for v in values),
           "the model's weights are ordinary variables: build the model inside "
           "`with strategy.scope():` so that every replica gets a mirrored copy")
    expect(all(strategy.extended.variable_created_in_scope(v) for v in values),
           "the weights belong to another strategy: build the model under the `strategy` "
           "argument's scope, not a global one")
    expect(model.count_params() == 407_050, f"the model has {model.count_params():,} "
           "parameters; the 784→512→10 MLP has 407,050")
    award(1)
    expect(model.compiled, "compile the model (inside the scope) before returning it")
    opt = model.optimizer
    expect(isinstance(opt, keras.optimizers.SGD), f"use SGD, got {type(opt).__name__}")
    lr, momentum = _number(opt.learning_rate), _number(opt.momentum)
    expect(np.isclose(lr, 0.02) and np.isclose(momentum, 0.9),
           "pass learning_rate and momentum to keras.optimizers.SGD (got "
           f"{lr:g}, {momentum:g} for 0.02, 0.9)")
    loss = model.loss if isinstance(model.loss, keras.losses.Loss) else keras.losses.get(
        model.loss)
    logits = np.array([[2.0, 1.0, 0.1]], "float32")
    value = float(np.asarray(loss(np.array([0]), logits)).mean()) if callable(loss) else np.nan
    expect(np.isclose(value, 0.4170300, atol=1e-5), "use the loss "
           "SparseCategoricalCrossentropy(from_logits=True): the model outputs logits")
    metrics = str((model.get_compile_config() or {}).get("metrics"))
    expect("acc" in metrics.lower(), "add metrics=['accuracy']")


# --- exercise 3 ---------------------------------------------------------------------------------


def _steps(dist: Any, strategy: Any, limit: int = 50) -> list[list[tuple[np.ndarray, ...]]]:
    """For each step: per replica, (x, y) as NumPy."""
    steps = []
    for x, y in dist:
        xs, ys = strategy.experimental_local_results(x), strategy.experimental_local_results(y)
        steps.append([(np.asarray(a), np.asarray(b)) for a, b in zip(xs, ys, strict=True)])
        if len(steps) >= limit:
            break
    return steps


@check(points=2)
def distribute_batches(distribute_fn: Any) -> None:
    """Check ``distribute_batches(strategy, images, labels, global_batch_size, seed)``."""
    import tensorflow as tf

    from course.data import make_pipeline

    strategy = _strategy()
    images, labels = _synthetic_digits()
    dist = distribute_fn(strategy, images, labels, global_batch_size=64, seed=0)
    expect(dist is not None, "distribute_batches returned None")
    expect(isinstance(dist, tf.distribute.DistributedDataset),
           f"return strategy.experimental_distribute_dataset(...) (got {type(dist).__name__}): "
           "the strategy must split each global batch between its replicas")
    steps = _steps(dist, strategy)
    expect(steps, "the distributed data set is empty")
    sizes = [len(replica[0]) for replica in steps[0]]
    expect(len(sizes) == N_REPLICAS, f"each step has {len(sizes)} parts; expected one per "
           f"replica ({N_REPLICAS})")
    expect(sizes != [16, 16], "each replica gets 16 examples: batch the data with the global "
           "batch size (64); the strategy divides it by the number of replicas")
    expect(sizes == [32, 32], f"each replica should get 64 / 2 = 32 examples per step; got "
           f"{sizes}")
    expect(steps[0][0][0].shape[1:] == (784,), "the examples must be preprocessed rows of 784 "
           "values: build the pipeline with data.make_pipeline")
    award(1)
    expect(len(steps) == len(images) // 64,
           f"one pass gives {len(steps)} steps; 300 examples make {len(images) // 64} full "
           "global batches of 64: use drop_remainder=True so that every replica gets equal, "
           "full batches")
    want = [(np.asarray(x), np.asarray(y)) for x, y in make_pipeline(
        images, labels, 64, shuffle=True, seed=0, drop_remainder=True)]
    got = [np.concatenate([_index_of(x) for x, _ in step]) for step in steps]
    expect(not all(np.array_equal(g, np.arange(64 * i, 64 * (i + 1))) for i, g in enumerate(got)),
           "the examples come in their original order: shuffle with the seed "
           "(data.make_pipeline(..., shuffle=True, seed=seed))")
    expect(all(np.array_equal(g, _index_of(w[0])) for g, (w) in zip(got, want, strict=True)),
           "the global batches differ from data.make_pipeline(images, labels, "
           "global_batch_size, shuffle=True, seed=seed, drop_remainder=True): the replicas "
           "must see exactly what one device would")
    other = distribute_fn(strategy, images, labels, global_batch_size=64, seed=1)
    first = np.concatenate([_index_of(x) for x, _ in _steps(other, strategy, 1)[0]])
    expect(not np.array_equal(first, got[0]), "seed=1 gives the same order as seed=0: pass "
           "the seed argument on")


# --- exercise 4 ---------------------------------------------------------------------------------


def _ce(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels]


def reference_replica_loss(labels: Any, logits: Any, global_batch_size: int) -> Any:
    """The expected ``replica_loss``: per-example cross-entropy summed / global batch."""
    import keras
    import tensorflow as tf

    per_example = keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction=None)(labels, logits)
    return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)


@check(points=2)
def replica_loss(loss_fn: Any) -> None:
    """Check ``replica_loss(labels, logits, global_batch_size)`` → sum of losses / global."""
    rng = np.random.default_rng(5)
    logits = rng.normal(0, 2, (8, 10)).astype("float32")
    labels = rng.integers(0, 10, 8).astype("int32")
    per_example = _ce(labels, logits.astype("float64"))
    value = loss_fn(labels, logits, 16)
    expect(value is not None, "replica_loss returned None")
    value = np.asarray(value)
    expect(value.shape == (), f"return one number (a scalar tensor), got shape {value.shape}: "
           "reduce the per-example losses")
    value = float(value)
    expect(not np.isclose(value, per_example.mean(), rtol=1e-4),
           "you averaged over this replica's 8 examples (the classic bug): divide the sum by "
           "the GLOBAL batch size, tf.nn.compute_average_loss(per_example, "
           "global_batch_size=global_batch_size)")
    expect(not np.isclose(value, per_example.sum(), rtol=1e-4),
           "you return the sum of the losses: divide it by the global batch size "
           "(tf.nn.compute_average_loss)")
    expect(not np.isclose(value, _as_probabilities_loss(labels, logits) / 16, rtol=1e-4),
           "the loss treats the outputs as probabilities: the model returns logits, so use "
           "SparseCategoricalCrossentropy(from_logits=True, reduction=None)")
    expect(np.isclose(value, per_example.sum() / 16, rtol=1e-4),
           "the value differs from sum(cross-entropy) / global_batch_size; use "
           "SparseCategoricalCrossentropy(from_logits=True, reduction=None) for the "
           f"per-example losses (got {value:.4f}, expected {per_example.sum() / 16:.4f})")
    award(1)
    again = float(np.asarray(loss_fn(labels, logits, 64)))
    expect(np.isclose(again, per_example.sum() / 64, rtol=1e-4),
           "use the global_batch_size argument instead of a fixed number")


def _as_probabilities_loss(labels: np.ndarray, logits: np.ndarray) -> float:
    """The summed loss a learner gets with from_logits=False (the mix-up)."""
    import keras

    values = keras.losses.SparseCategoricalCrossentropy(reduction=None)(labels, logits)
    return float(np.sum(np.asarray(values)))


# --- exercise 5 ---------------------------------------------------------------------------------


def _task(n: int = 48, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype("float32")
    y = np.argmax(x[:, :3] + 0.5 * x[:, 3:], axis=1).astype("int32")
    return x, y


def _initial_weights(seed: int = 4) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = [(6, 8), (8,), (8, 3), (3,)]
    return [rng.normal(0.0, 0.5, s).astype("float32") for s in shapes]


def _small_model() -> Any:
    import keras

    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3)], name="check_model")
    model.set_weights(_initial_weights())
    return model


def _one_device(steps: int, lr: float = STEP_LR, loss_scale: float = 1.0
                ) -> tuple[list[np.ndarray], list[float]]:
    """Reference: the same steps on one device, loss = mean over the global batch."""
    import keras
    import tensorflow as tf

    x, y = _task()
    model = _small_model()
    opt = keras.optimizers.SGD(lr, momentum=STEP_MOMENTUM)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    losses = []
    for i in range(steps):
        xb, yb = x[i * STEP_BATCH:(i + 1) * STEP_BATCH], y[i * STEP_BATCH:(i + 1) * STEP_BATCH]
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
            scaled = loss * loss_scale
        grads = tape.gradient(scaled, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        losses.append(float(loss))
    return model.get_weights(), losses


def _distributed(make_step_fn: Any, strategy: Any, steps: int, loss_fn: Any | None = None
                 ) -> tuple[Any, list[Any], list[np.ndarray]]:
    import keras
    import tensorflow as tf

    x, y = _task()
    with strategy.scope():
        model = _small_model()
        opt = keras.optimizers.SGD(STEP_LR, momentum=STEP_MOMENTUM)
    kwargs = {} if loss_fn is None else {"loss_fn": loss_fn}
    step = make_step_fn(strategy, model, opt, STEP_BATCH, **kwargs)
    expect(callable(step), f"make_train_step must return the step function train_step (got "
           f"{type(step).__name__})")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(STEP_BATCH, drop_remainder=True)
    results = []
    for xb, yb in strategy.experimental_distribute_dataset(ds.take(steps)):
        results.append(step(xb, yb))
    return step, results, model.get_weights()


def _max_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(np.asarray(p, "float64") - q))) for p, q in
               zip(a, b, strict=True))


@check(points=3)
def make_train_step(make_step_fn: Any) -> None:
    """Check ``make_train_step(strategy, model, optimizer, global_batch_size, loss_fn)``.

    Two replicas, global batch 16, three steps: the weights must equal one device's on the
    same batches (within ``TOLERANCE``) and each step must return the global mean loss.
    """
    import tensorflow as tf

    strategy = _strategy()
    step, results, weights = _distributed(make_step_fn, strategy, 3,
                                          loss_fn=reference_replica_loss)
    first = results[0]
    expect(first is not None, "train_step returned None: return the loss, "
           "strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_losses, axis=None)")
    expect(not isinstance(first, tf.distribute.DistributedValues),
           "train_step returns one loss per replica: combine them with "
           "strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_losses, axis=None)")
    ref_weights, ref_losses = _one_device(3)
    expect(_max_diff(weights, _initial_weights()) > 0, "the weights did not change: apply the "
           "gradients with optimizer.apply_gradients(zip(grads, model.trainable_variables)) "
           "inside the replica step")
    doubled, _ = _one_device(3, lr=STEP_LR * N_REPLICAS)
    expect(_max_diff(weights, doubled) > TOLERANCE or _max_diff(weights, ref_weights)
           <= TOLERANCE, "each step is 2× too large: the loss was averaged per replica "
           "(the classic bug); call loss_fn(labels, logits, global_batch_size), which "
           "divides by the global batch")
    diff = _max_diff(weights, ref_weights)
    expect(diff <= TOLERANCE, f"after 3 steps the weights differ from one device's on the same "
           f"batches by up to {diff:.1e} (allowed {TOLERANCE:g}): compute the loss with "
           "loss_fn under a GradientTape in each replica, then apply_gradients")
    award(1)
    value = float(np.asarray(first))
    expect(not np.isclose(value, ref_losses[0] / N_REPLICAS, rtol=1e-4),
           "the returned loss is half the global mean: each replica's loss is already divided "
           "by the global batch, so reduce with ReduceOp.SUM, not MEAN")
    expect(np.isclose(value, ref_losses[0], rtol=1e-4),
           f"train_step returned {value:.4f}; the mean loss over the global batch is "
           f"{ref_losses[0]:.4f}: return strategy.reduce(SUM, per-replica losses, axis=None)")
    award(1)
    expect(hasattr(step, "get_concrete_function"),
           "decorate the step with @tf.function: strategy.run called eagerly is slow and "
           "TensorFlow warns about it")
    half = _distributed(make_step_fn, strategy, 1,
                        loss_fn=lambda y, z, b: 0.5 * reference_replica_loss(y, z, b))[2]
    half_ref, _ = _one_device(1, loss_scale=0.5)
    expect(_max_diff(half, half_ref) <= TOLERANCE,
           "train_step ignores its loss_fn argument: compute each replica's loss with "
           "loss_fn(labels, logits, global_batch_size)")
