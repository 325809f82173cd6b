"""Lab 05's wrong answers: what learners write for each exercise, and what the hint must say.

Graded in a fresh process (``fresh_process``): the checks need 2 CPU replicas, made before
TensorFlow starts. Besides the classic per-replica-mean bug: an optimizer created outside
``strategy.scope()``, optimizer flags, an epoch order that never changes, a shuffle buffer
smaller than the data, swapped (gradient, variable) pairs.
"""

from __future__ import annotations

from wrong_answers import Lab, WrongAnswer

LAB = Lab(
    notebook="05_mirrored_strategy.ipynb",
    checks="course.checks.lab05",
    exercises={name: name for name in ("scale_batch_and_lr", "build_compiled_mlp",
                                       "distribute_batches", "replica_loss", "make_train_step")},
    points=10,
    setup="import keras, numpy as np, tensorflow as tf\nfrom course import data, devices\n",
    fresh_process=True,
)
NOT_DONE = "def {name}(*args, **kwargs):\n    raise NotImplementedError()\n"


def lr_no_multiply(per_replica_batch, n_replicas, base_lr=0.01, base_batch=64):
    return per_replica_batch, base_lr


def lr_times_replicas(per_replica_batch, n_replicas, base_lr=0.01, base_batch=64):
    return per_replica_batch * n_replicas, base_lr * n_replicas


def lr_unscaled(per_replica_batch, n_replicas, base_lr=0.01, base_batch=64):
    return per_replica_batch * n_replicas, base_lr


def lr_float_batch(per_replica_batch, n_replicas, base_lr=0.01, base_batch=64):
    b = per_replica_batch * n_replicas
    return float(b), base_lr * b / base_batch


def lr_fixed_base(per_replica_batch, n_replicas, base_lr=0.01, base_batch=64):
    b = per_replica_batch * n_replicas
    return b, 0.01 * b / 64


def _mlp(hidden=512):
    import keras

    return keras.Sequential([keras.Input((784,)), keras.layers.Dense(hidden, activation="relu"),
                             keras.layers.Dense(10)], name="mlp")


def _compile(model, learning_rate=0.01, momentum=0.9, **overrides):
    import keras

    options = dict(optimizer=keras.optimizers.SGD(learning_rate, momentum=momentum),
                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                   metrics=["accuracy"])
    options.update(overrides)
    model.compile(**options)
    return model


def build_outside(strategy, learning_rate=0.01, momentum=0.9):
    model = _mlp()
    with strategy.scope():
        return _compile(model, learning_rate, momentum)


def build_other_strategy(strategy, learning_rate=0.01, momentum=0.9):
    import tensorflow as tf

    other = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"],
                                           cross_device_ops=tf.distribute.ReductionToOneDevice())
    with other.scope():
        return _compile(_mlp(), learning_rate, momentum)


def build_not_compiled(strategy, learning_rate=0.01, momentum=0.9):
    with strategy.scope():
        return _mlp()


def build_adam(strategy, learning_rate=0.01, momentum=0.9):
    import keras

    with strategy.scope():
        return _compile(_mlp(), optimizer=keras.optimizers.Adam(learning_rate))


def build_fixed_lr(strategy, learning_rate=0.01, momentum=0.9):
    with strategy.scope():
        return _compile(_mlp(), 0.01, momentum)


def build_probabilities(strategy, learning_rate=0.01, momentum=0.9):
    import keras

    with strategy.scope():
        return _compile(_mlp(), learning_rate, momentum,
                        loss=keras.losses.SparseCategoricalCrossentropy())


def build_no_metrics(strategy, learning_rate=0.01, momentum=0.9):
    with strategy.scope():
        return _compile(_mlp(), learning_rate, momentum, metrics=None)


def build_small(strategy, learning_rate=0.01, momentum=0.9):
    with strategy.scope():
        return _compile(_mlp(256), learning_rate, momentum)


def dist_not_distributed(strategy, images, labels, global_batch_size, seed=0):
    from course import data

    return data.make_pipeline(images, labels, global_batch_size, shuffle=True, seed=seed,
                              drop_remainder=True)


def dist_per_replica_batch(strategy, images, labels, global_batch_size, seed=0):
    from course import data

    batch = global_batch_size // strategy.num_replicas_in_sync
    return strategy.experimental_distribute_dataset(data.make_pipeline(
        images, labels, batch, shuffle=True, seed=seed, drop_remainder=True))


def dist_keep_remainder(strategy, images, labels, global_batch_size, seed=0):
    from course import data

    return strategy.experimental_distribute_dataset(data.make_pipeline(
        images, labels, global_batch_size, shuffle=True, seed=seed))


def dist_unshuffled(strategy, images, labels, global_batch_size, seed=0):
    from course import data

    return strategy.experimental_distribute_dataset(data.make_pipeline(
        images, labels, global_batch_size, shuffle=False, drop_remainder=True))


def dist_fixed_seed(strategy, images, labels, global_batch_size, seed=0):
    from course import data

    return strategy.experimental_distribute_dataset(data.make_pipeline(
        images, labels, global_batch_size, shuffle=True, seed=0, drop_remainder=True))


def _per_example(labels, logits, from_logits=True):
    import keras

    return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits,
                                                      reduction=None)(labels, logits)


def loss_replica_mean(labels, logits, global_batch_size):
    import tensorflow as tf

    return tf.reduce_mean(_per_example(labels, logits))


def loss_sum(labels, logits, global_batch_size):
    import tensorflow as tf

    return tf.reduce_sum(_per_example(labels, logits))


def loss_probabilities(labels, logits, global_batch_size):
    import tensorflow as tf

    return tf.nn.compute_average_loss(_per_example(labels, logits, from_logits=False),
                                      global_batch_size=global_batch_size)


def loss_fixed_global(labels, logits, global_batch_size):
    import tensorflow as tf

    return tf.nn.compute_average_loss(_per_example(labels, logits), global_batch_size=16)


def loss_not_reduced(labels, logits, global_batch_size):
    return _per_example(labels, logits) / global_batch_size


def _step_factory(*, function=True, reduce="SUM", inline_loss=None, apply=True, reduced=True):
    """A make_train_step with one deliberate mistake."""

    def make_train_step(strategy, model, optimizer, global_batch_size, loss_fn=None):
        import tensorflow as tf

        def replica_step(x, y):
            with tf.GradientTape() as tape:
                logits = model(x, training=True)
                if inline_loss == "mean":
                    loss = tf.reduce_mean(_per_example(y, logits))
                elif inline_loss == "global":
                    loss = tf.nn.compute_average_loss(_per_example(y, logits),
                                                      global_batch_size=global_batch_size)
                else:
                    loss = loss_fn(y, logits, global_batch_size)
            grads = tape.gradient(loss, model.trainable_variables)
            if apply:
                optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return loss

        def train_step(x, y):
            per_replica = strategy.run(replica_step, args=(x, y))
            if not reduced:
                return per_replica
            return strategy.reduce(getattr(tf.distribute.ReduceOp, reduce), per_replica,
                                   axis=None)

        return tf.function(train_step) if function else train_step

    return make_train_step


step_eager = _step_factory(function=False)
step_reduce_mean = _step_factory(reduce="MEAN")
step_per_replica = _step_factory(reduced=False)
step_no_apply = _step_factory(apply=False)
step_classic_bug = _step_factory(inline_loss="mean")
step_ignores_loss_fn = _step_factory(inline_loss="global")


def step_returns_none(strategy, model, optimizer, global_batch_size, loss_fn=None):
    return None




def lr_sqrt_rule(per_replica_batch, n_replicas, base_lr=0.01, base_batch=64):
    b = per_replica_batch * n_replicas
    return b, base_lr * (b / base_batch) ** 0.5


def lr_swapped(per_replica_batch, n_replicas, base_lr=0.01, base_batch=64):
    b = per_replica_batch * n_replicas
    return base_lr * b / base_batch, b


def lr_dict(per_replica_batch, n_replicas, base_lr=0.01, base_batch=64):
    b = per_replica_batch * n_replicas
    return {"global_batch": b, "learning_rate": base_lr * b / base_batch}


def lr_forgot_return(per_replica_batch, n_replicas, base_lr=0.01, base_batch=64):
    global_batch = per_replica_batch * n_replicas
    learning_rate = base_lr * global_batch / base_batch  # noqa: F841 (the learner's mistake)


def build_optimizer_outside(strategy, learning_rate=0.01, momentum=0.9):
    import keras

    optimizer = keras.optimizers.SGD(learning_rate, momentum=momentum)
    with strategy.scope():
        model = _mlp()
    model.compile(optimizer=optimizer,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def build_compiled_outside(strategy, learning_rate=0.01, momentum=0.9):
    with strategy.scope():
        model = _mlp()
    return _compile(model, learning_rate, momentum)


def build_nesterov(strategy, learning_rate=0.01, momentum=0.9):
    import keras

    with strategy.scope():
        return _compile(_mlp(), optimizer=keras.optimizers.SGD(learning_rate, momentum=momentum,
                                                               nesterov=True))


def build_mse(strategy, learning_rate=0.01, momentum=0.9):
    with strategy.scope():
        return _compile(_mlp(), learning_rate, momentum, loss="mse")


def build_forgot_return(strategy, learning_rate=0.01, momentum=0.9):
    with strategy.scope():
        _compile(_mlp(), learning_rate, momentum)


def _own_pipeline(images, labels, global_batch_size, seed, buffer=None, reshuffle=True):
    import tensorflow as tf

    from course import data

    ds = tf.data.Dataset.from_tensor_slices((data.preprocess(images), labels.astype("int32")))
    ds = ds.shuffle(buffer or len(images), seed=seed, reshuffle_each_iteration=reshuffle)
    return ds.batch(global_batch_size, drop_remainder=True)


def dist_no_reshuffle(strategy, images, labels, global_batch_size, seed=0):
    return strategy.experimental_distribute_dataset(
        _own_pipeline(images, labels, global_batch_size, seed, reshuffle=False))


def dist_buffer_1000(strategy, images, labels, global_batch_size, seed=0):
    return strategy.experimental_distribute_dataset(
        _own_pipeline(images, labels, global_batch_size, seed, buffer=1000))


def dist_numpy_shuffle_once(strategy, images, labels, global_batch_size, seed=0):
    import numpy as np

    from course import data

    order = np.random.default_rng(seed).permutation(len(images))
    return strategy.experimental_distribute_dataset(data.make_pipeline(
        images[order], labels[order], global_batch_size, shuffle=False, drop_remainder=True))


def dist_forgot_return(strategy, images, labels, global_batch_size, seed=0):
    from course import data

    strategy.experimental_distribute_dataset(data.make_pipeline(
        images, labels, global_batch_size, shuffle=True, seed=seed, drop_remainder=True))


def loss_mse(labels, logits, global_batch_size):
    import tensorflow as tf

    squared = tf.reduce_mean(tf.square(tf.cast(labels[:, None], tf.float32) - logits), axis=1)
    return tf.reduce_sum(squared) / global_batch_size


def loss_mean_over_replicas(labels, logits, global_batch_size):
    import tensorflow as tf

    return tf.reduce_mean(_per_example(labels, logits)) / 2  # right for 2 replicas only


def loss_forgot_return(labels, logits, global_batch_size):
    import tensorflow as tf

    tf.nn.compute_average_loss(_per_example(labels, logits), global_batch_size=global_batch_size)


def step_swapped_zip(strategy, model, optimizer, global_batch_size, loss_fn=None):
    import tensorflow as tf

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True), global_batch_size)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(model.trainable_variables, grads, strict=True))
        return loss

    @tf.function
    def train_step(x, y):
        per_replica = strategy.run(replica_step, args=(x, y))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    return train_step


def step_returns_first_loss(strategy, model, optimizer, global_batch_size, loss_fn=None):
    """Returns the first step's loss on every call (a value kept from the first call)."""
    inner = _step_factory()(strategy, model, optimizer, global_batch_size, loss_fn)
    first = []

    def train_step(x, y):
        loss = inner(x, y)
        first.append(loss)
        return first[0]

    train_step.get_concrete_function = inner.get_concrete_function
    return train_step


WRONG = [
    WrongAnswer("scale_batch_and_lr", "lr-no-multiply", lr_no_multiply,
                ('per_replica_batch × n_replicas',), 0),
    WrongAnswer("scale_batch_and_lr", "lr-times-replicas", lr_times_replicas,
                ('not by the number of replicas',), 0),
    WrongAnswer("scale_batch_and_lr", "lr-unscaled", lr_unscaled, ('linear scaling rule',), 0),
    WrongAnswer("scale_batch_and_lr", "lr-float-batch", lr_float_batch, ('whole number',), 0),
    WrongAnswer("scale_batch_and_lr", "lr-fixed-base", lr_fixed_base,
                ('base_lr and base_batch arguments',), 0),
    WrongAnswer("build_compiled_mlp", "build-outside", build_outside, ('ordinary variables',), 0),
    WrongAnswer("build_compiled_mlp", "build-other-strategy", build_other_strategy,
                ('another strategy',), 0),
    WrongAnswer("build_compiled_mlp", "build-small", build_small, ('407,050',), 0),
    WrongAnswer("build_compiled_mlp", "build-not-compiled", build_not_compiled,
                ('compile the model',), 1),
    WrongAnswer("build_compiled_mlp", "build-adam", build_adam, ('the optimizer is Adam',), 1),
    WrongAnswer("build_compiled_mlp", "build-fixed-lr", build_fixed_lr,
                ('learning_rate=learning_rate',), 1),
    WrongAnswer("build_compiled_mlp", "build-probabilities", build_probabilities,
                ('from_logits=True',), 1),
    WrongAnswer("build_compiled_mlp", "build-no-metrics", build_no_metrics, ('accuracy',), 1),
    WrongAnswer("distribute_batches", "dist-not-distributed", dist_not_distributed,
                ('experimental_distribute_dataset',), 0),
    WrongAnswer("distribute_batches", "dist-per-replica-batch", dist_per_replica_batch,
                ('global batch size (64)',), 0),
    WrongAnswer("distribute_batches", "dist-keep-remainder", dist_keep_remainder,
                ('drop_remainder=True',), 1),
    WrongAnswer("distribute_batches", "dist-unshuffled", dist_unshuffled, ('original order',), 1),
    WrongAnswer("distribute_batches", "dist-fixed-seed", dist_fixed_seed, ('seed=1',), 1),
    WrongAnswer("replica_loss", "loss-replica-mean", loss_replica_mean, ('classic bug',), 0),
    WrongAnswer("replica_loss", "loss-sum", loss_sum, ('sum of the losses',), 0),
    WrongAnswer("replica_loss", "loss-probabilities", loss_probabilities, ('probabilities',), 0),
    WrongAnswer("replica_loss", "loss-not-reduced", loss_not_reduced, ('scalar',), 0),
    WrongAnswer("replica_loss", "loss-fixed-global", loss_fixed_global,
                ('global_batch_size argument',), 1),
    WrongAnswer("make_train_step", "step-returns-none", step_returns_none,
                ('must return the step function',), 0),
    WrongAnswer("make_train_step", "step-per-replica", step_per_replica,
                ('one loss per replica',), 0),
    WrongAnswer("make_train_step", "step-no-apply", step_no_apply, ('did not change',), 0),
    WrongAnswer("make_train_step", "step-classic-bug", step_classic_bug, ('2× too large',), 0),
    WrongAnswer("make_train_step", "step-reduce-mean", step_reduce_mean, ('not MEAN',), 1),
    WrongAnswer("make_train_step", "step-eager", step_eager, ('@tf.function',), 2),
    WrongAnswer("make_train_step", "step-ignores-loss-fn", step_ignores_loss_fn,
                ('ignores its loss_fn',), 2),
    WrongAnswer("scale_batch_and_lr", "lr-sqrt-rule", lr_sqrt_rule, ("linear scaling rule",), 0),
    WrongAnswer("scale_batch_and_lr", "lr-swapped", lr_swapped, ("whole number",), 0),
    WrongAnswer("scale_batch_and_lr", "lr-dict", lr_dict, ("return a pair",), 0),
    WrongAnswer("scale_batch_and_lr", "lr-forgot-return", lr_forgot_return,
                ("your scale_batch_and_lr returns None", "`return`"), 0),
    WrongAnswer("scale_batch_and_lr", "not-done", NOT_DONE.format(name="scale_batch_and_lr"),
                ("not done yet",), 0),
    WrongAnswer("build_compiled_mlp", "build-optimizer-outside", build_optimizer_outside,
                ("optimizer was created outside", "strategy.scope()"), 1),
    WrongAnswer("build_compiled_mlp", "build-compiled-outside", build_compiled_outside,
                ("optimizer was created outside",), 1),
    WrongAnswer("build_compiled_mlp", "build-nesterov", build_nesterov, ("nesterov=True",), 1),
    WrongAnswer("build_compiled_mlp", "build-mse", build_mse, ("mean squared error",), 1),
    WrongAnswer("build_compiled_mlp", "build-forgot-return", build_forgot_return,
                ("your build_compiled_mlp returns None",), 0),
    WrongAnswer("distribute_batches", "dist-no-reshuffle", dist_no_reshuffle,
                ("second epoch comes in the same order",), 1),
    WrongAnswer("distribute_batches", "dist-buffer-1000", dist_buffer_1000,
                ("shuffle buffer smaller than the data set",), 1),
    WrongAnswer("distribute_batches", "dist-numpy-shuffle-once", dist_numpy_shuffle_once,
                ("second epoch comes in the same order",), 1),
    WrongAnswer("distribute_batches", "dist-forgot-return", dist_forgot_return,
                ("your distribute_batches returns None",), 0),
    WrongAnswer("distribute_batches", "not-done", NOT_DONE.format(name="distribute_batches"),
                ("not done yet",), 0),
    WrongAnswer("replica_loss", "loss-mse", loss_mse, ("mean squared error",), 0),
    WrongAnswer("replica_loss", "loss-mean-over-2-replicas", loss_mean_over_replicas,
                ("global_batch_size argument",), 1),
    WrongAnswer("replica_loss", "loss-forgot-return", loss_forgot_return,
                ("your replica_loss returns None",), 0),
    WrongAnswer("make_train_step", "step-swapped-zip", step_swapped_zip, ("pairs are swapped",),
                0),
    WrongAnswer("make_train_step", "step-returns-first-loss", step_returns_first_loss,
                ("over 3 steps", "each step's own loss"), 1),
    WrongAnswer("make_train_step", "not-done", NOT_DONE.format(name="make_train_step"),
                ("not done yet",), 0),
]
