"""Checks for Lab 05, data parallelism on one machine with ``tf.distribute.MirroredStrategy``.

The checks that need replicas make their own 2-replica strategy with
``course.devices.make_strategy(2)``, so they work in any kernel where the lab's setup cell
ran (it splits the CPU before TensorFlow initialises its devices). The equivalence check
compares the learner's distributed step with a plain one-device step on a tiny model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course.checks import award, check, common, expect

N_REPLICAS = 2
STEP_BATCH = 16  # global batch of the train-step check: 8 examples per replica
STEP_LR = 0.1
STEP_MOMENTUM = 0.9
TOLERANCE = 1e-5  # per weight, after 3 steps of a 6 → 8 → 3 model (measured ≈ 1e-7)


def _strategy() -> Any:
    from course.devices import make_strategy

    return make_strategy(N_REPLICAS, verbose=False)


# --- exercise 1 ---------------------------------------------------------------------------------


@check(points=1)
def scale_batch_and_lr(scale_fn: Any) -> None:
    """Check ``scale_batch_and_lr(per_replica_batch, n_replicas, base_lr, base_batch)``."""
    got = scale_fn(32, 2, base_lr=0.01, base_batch=64)
    common.expect_returned(got, "scale_batch_and_lr", "(global_batch, learning_rate)")
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


@check(points=2, judged="kernel")
def build_compiled_mlp(build_fn: Any) -> None:
    """Check ``build_compiled_mlp(strategy, learning_rate, momentum)`` → model made in scope."""
    import keras
    import tensorflow as tf

    strategy = _strategy()
    model = build_fn(strategy, learning_rate=0.02, momentum=0.9)
    common.expect_returned(model, "build_compiled_mlp", "the compiled model")
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
    hint = common.optimizer_mismatch(opt, keras.optimizers.SGD(0.02, momentum=0.9),
                                     "SGD(learning_rate, momentum=momentum)")
    expect(not hint, hint)
    expect(strategy.extended.variable_created_in_scope(opt.iterations.value),
           "the optimizer was created outside `with strategy.scope():`, so its state (step "
           "count, momentum) is not mirrored on the replicas: create the optimizer and call "
           "compile inside the scope too")
    common.expect_classification_loss(model.loss)
    expect(common.has_accuracy(model), "add metrics=['accuracy']")


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


@check(points=2, judged="kernel")
def distribute_batches(distribute_fn: Any) -> None:
    """Check ``distribute_batches(strategy, images, labels, global_batch_size, seed)``."""
    import tensorflow as tf

    from course.data import make_pipeline

    strategy = _strategy()
    images, labels = common.synthetic_digits(1_200, seed=11)  # > the usual shuffle(1000)
    dist = distribute_fn(strategy, images, labels, global_batch_size=64, seed=0)
    common.expect_returned(dist, "distribute_batches", "the distributed data set")
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
           f"one pass gives {len(steps)} steps; {len(images)} examples make "
           f"{len(images) // 64} full global batches of 64: use drop_remainder=True so that "
           "every replica gets equal, full batches")
    reference = make_pipeline(images, labels, 64, shuffle=True, seed=0, drop_remainder=True)
    want = [common.decode_index(x) for x, _ in reference]
    got = [np.concatenate([common.decode_index(x) for x, _ in step]) for step in steps]
    expect(not all(np.array_equal(g, np.arange(64 * i, 64 * (i + 1))) for i, g in enumerate(got)),
           "the examples come in their original order: shuffle with the seed "
           "(data.make_pipeline(..., shuffle=True, seed=seed))")
    second = [np.concatenate([common.decode_index(x) for x, _ in step])
              for step in _steps(dist, strategy)]
    expect(not all(np.array_equal(a, b) for a, b in zip(second, got, strict=False)),
           "the second epoch comes in the same order as the first: let the pipeline reshuffle "
           "every epoch (data.make_pipeline(..., shuffle=True, seed=seed) does)")
    expect(all(np.array_equal(g, w) for g, w in zip(got, want, strict=True)),
           "the global batches differ from data.make_pipeline(images, labels, "
           "global_batch_size, shuffle=True, seed=seed, drop_remainder=True): the replicas "
           f"must see exactly what one device would (with {len(images):,} examples, a shuffle "
           "buffer smaller than the data set shows too)")
    want_second = [common.decode_index(x) for x, _ in reference]
    expect(all(np.array_equal(g, w) for g, w in zip(second, want_second, strict=True)),
           "the second epoch's global batches differ from data.make_pipeline's second epoch: "
           "build the pipeline with data.make_pipeline and distribute it as it is")
    other = distribute_fn(strategy, images, labels, global_batch_size=64, seed=1)
    first = np.concatenate([common.decode_index(x) for x, _ in _steps(other, strategy, 1)[0]])
    expect(not np.array_equal(first, got[0]), "seed=1 gives the same order as seed=0: pass "
           "the seed argument on")


# --- exercise 4 ---------------------------------------------------------------------------------


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
    per_example = common.cross_entropy(logits, labels)
    value = loss_fn(labels, logits, 16)
    common.expect_returned(value, "replica_loss", "the loss")
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
    squared = np.mean((labels[:, None] - logits.astype("float64")) ** 2, axis=1)
    expect(not np.isclose(value, squared.sum() / 16, rtol=1e-4)
           and not np.isclose(value, squared.mean(), rtol=1e-4),
           "the loss is the mean squared error, a regression loss: classifying digits takes "
           "SparseCategoricalCrossentropy(from_logits=True, reduction=None) per example")
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

    x, y = common.task()
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

    x, y = common.task()
    with strategy.scope():
        model = _small_model()
        opt = keras.optimizers.SGD(STEP_LR, momentum=STEP_MOMENTUM)
        opt.build(model.trainable_variables)  # slots now, so a tf.function step traces once
    kwargs = {} if loss_fn is None else {"loss_fn": loss_fn}
    step = make_step_fn(strategy, model, opt, STEP_BATCH, **kwargs)
    expect(callable(step), f"make_train_step must return the step function train_step (got "
           f"{type(step).__name__})")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(STEP_BATCH, drop_remainder=True)
    results = []
    for xb, yb in strategy.experimental_distribute_dataset(ds.take(steps)):
        try:
            results.append(step(xb, yb))
        except AttributeError as exc:
            expect(not common.swapped_pairs(exc),
                   "the (gradient, variable) pairs are swapped: apply_gradients takes "
                   "zip(grads, model.trainable_variables), the gradient first")
            raise
    return step, results, model.get_weights()


def _max_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(np.asarray(p, "float64") - q))) for p, q in
               zip(a, b, strict=True))


@check(points=3, judged="kernel")
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
    values = [float(np.asarray(r)) for r in results]
    expect(np.allclose(values, ref_losses, rtol=1e-4),
           f"over 3 steps train_step returned {np.round(values, 5).tolist()}; the global mean "
           f"losses are {np.round(ref_losses, 5).tolist()}: return each step's own loss")
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
