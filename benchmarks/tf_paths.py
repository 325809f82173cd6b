"""TensorFlow / Keras paths: ``fit`` on NumPy and on ``tf.data``, GradientTape loops (eager,
``tf.function``, a whole epoch per compiled call), and workload C's TF1 / TF2 programs.

Every function takes the shared NumPy data and initial weights and returns a
:class:`~benchmarks.common.Run`; repetition 0 is the warm-up (tracing, XLA compilation,
filling the ``tf.data`` cache).
"""

from __future__ import annotations

import functools
import itertools
import time

import keras
import numpy as np
import tensorflow as tf

from course.data import make_pipeline
from course.loops import epoch_trainer, optimizer_step

from .common import SEED, THREADS, Data, Run, Workload

_threads = THREADS  # what setup() asked for; the TF1 Session is configured the same way


def setup(threads: int = THREADS) -> str:
    """Use ``threads`` intra-op and inter-op threads; return the TensorFlow version.

    Must run before TensorFlow executes anything (a benchmark worker calls it first); in a
    process where TensorFlow already runs (a test), the thread pools are left as they are."""
    global _threads
    _threads = threads
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # "cannot be modified after initialization"
        pass
    return tf.__version__


def build(workload: Workload, weights: list[np.ndarray]) -> keras.Sequential:
    """``keras.Sequential`` of Dense layers (ReLU but the last), initialised from ``weights``."""
    layers = workload.layers
    model = keras.Sequential(
        [keras.Input(shape=(layers[0],))]
        + [keras.layers.Dense(units, activation="relu", name=f"hidden{i}")
           for i, units in enumerate(layers[1:-1], start=1)]
        + [keras.layers.Dense(layers[-1], name="output")],
        name=f"workload_{workload.name}",
    )
    model.set_weights(weights)
    return model


def _loss(workload: Workload) -> keras.losses.Loss:
    if workload.loss == "xent":
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return keras.losses.MeanSquaredError()


def _optimizer(workload: Workload) -> keras.optimizers.Optimizer:
    return keras.optimizers.SGD(learning_rate=workload.learning_rate, momentum=workload.momentum)


def lab01_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool,
                  seed: int) -> tf.data.Dataset:
    """Lab 01's ``make_dataset`` as its solution writes it: shuffle, batch, prefetch, no cache."""
    from course.data import preprocess

    ds = tf.data.Dataset.from_tensor_slices((preprocess(images), labels.astype("int32")))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


class _EpochClock(keras.callbacks.Callback):
    """Wall time of each epoch of ``fit``."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def keras_fit(data: Data, workload: Workload, weights: list[np.ndarray], epochs: int,
              batch_size: int | None = None, shuffle: bool = True, seed: int = SEED,
              source: str = "numpy", jit_compile: bool = False,
              steps_per_execution: int = 1, rep_steps: int | None = None) -> Run:
    """``model.fit`` for ``epochs`` epochs, timed per epoch by a callback.

    ``source``: ``"numpy"`` (``fit(x, y, batch_size=...)``), ``"tf.data"``
    (``course.data.make_pipeline``: cache → shuffle → batch → prefetch) or ``"lab01"``
    (Lab 01 exactly: its ``make_dataset`` without cache, and ``metrics=["accuracy"]``).
    """
    batch_size = batch_size or workload.batch_size
    keras.utils.set_random_seed(seed)
    model = build(workload, weights)
    model.compile(optimizer=_optimizer(workload), loss=_loss(workload),
                  metrics=["accuracy"] if source == "lab01" else None,
                  jit_compile=jit_compile, steps_per_execution=steps_per_execution)
    clock = _EpochClock()
    if source == "numpy":
        inputs = dict(x=data.x, y=data.y.astype("int32"), batch_size=batch_size, shuffle=shuffle)
    else:
        make = make_pipeline if source == "tf.data" else lab01_dataset
        inputs = dict(x=make(data.images, data.y, batch_size=batch_size, shuffle=shuffle,
                             seed=seed), shuffle=False)
    # a whole warm-up epoch, then (with rep_steps) the timed epochs cut to rep_steps steps:
    # a second fit call reuses the compiled train function and continues one pass of the data
    plan = [(1, None), (epochs - 1, rep_steps)] if rep_steps else [(epochs, None)]
    losses = []
    for n_epochs, steps in plan:
        history = model.fit(**inputs, epochs=n_epochs, steps_per_epoch=steps, verbose=0,
                            callbacks=[clock])
        losses += [float(v) for v in history.history["loss"]]
    return Run(clock.seconds, losses, model.get_weights())


def _train_step_fn(model, optimizer, loss_fn):
    """The GradientTape step of Lab 04 (``course.loops.optimizer_step``) on ``(x, y)``."""
    return functools.partial(optimizer_step, model, optimizer, loss_fn)


def tape_loop(data: Data, workload: Workload, weights: list[np.ndarray], epochs: int,
              batch_size: int | None = None, shuffle: bool = True, seed: int = SEED,
              compiled: bool = True, jit_compile: bool = False,
              rep_steps: int | None = None) -> Run:
    """A Python loop over ``course.data.make_pipeline`` calling one GradientTape step per
    batch: eager (``compiled=False``) or ``@tf.function(jit_compile=...)``. The loss is
    averaged by a ``keras.metrics.Mean`` updated inside the step and reset every epoch."""
    batch_size = batch_size or workload.batch_size
    keras.utils.set_random_seed(seed)
    model, optimizer, loss_fn = build(workload, weights), _optimizer(workload), _loss(workload)
    optimizer.build(model.trainable_variables)
    mean_loss = keras.metrics.Mean()
    step = _train_step_fn(model, optimizer, loss_fn)

    def train_step(x, y):
        mean_loss.update_state(step(x, y))

    if compiled:
        train_step = tf.function(train_step, jit_compile=jit_compile)
    ds = make_pipeline(data.images, data.y, batch_size=batch_size, shuffle=shuffle, seed=seed)
    run, one_pass = Run(), None
    for epoch in range(epochs):
        start = time.perf_counter()
        mean_loss.reset_state()
        if rep_steps and epoch:  # timed repetitions: consecutive slices of one more pass
            one_pass = iter(ds) if one_pass is None else one_pass
        for x, y in itertools.islice(one_pass, rep_steps) if rep_steps and epoch else ds:
            train_step(x, y)
        run.losses.append(float(mean_loss.result()))
        run.seconds.append(time.perf_counter() - start)
    run.weights = model.get_weights()
    return run


def graph_epoch_loop(data: Data, workload: Workload, weights: list[np.ndarray], epochs: int,
                     batch_size: int | None = None, shuffle: bool = True, seed: int = SEED,
                     jit_compile: bool = True, rep_steps: int | None = None) -> Run:
    """Many steps per compiled call: the data live in memory as tensors; each epoch gathers
    one shuffled copy shaped ``(steps, batch, 784)`` and ONE call of Lab 04's
    ``course.loops.epoch_trainer`` runs every step in a ``tf.range`` loop (a ``while_loop``
    in the graph; with ``jit_compile`` the whole loop is one XLA program). The last, smaller
    batch is a second call (``course.loops.stacked_batches`` drops it instead).

    Gathering rows inside the compiled loop from a captured 60,000-row tensor is measured
    ~40× slower under XLA (the loop copies the captured tensor every iteration), hence the
    per-epoch gather outside the loop."""
    batch_size = batch_size or workload.batch_size
    keras.utils.set_random_seed(seed)
    model, optimizer, loss_fn = build(workload, weights), _optimizer(workload), _loss(workload)
    train_epoch = epoch_trainer(model, optimizer, loss_fn, jit_compile=jit_compile)
    tail_step = tf.function(_train_step_fn(model, optimizer, loss_fn), jit_compile=jit_compile)
    x_all, y_all = tf.constant(data.x), tf.constant(data.y.astype("int32"))
    n = len(data)
    full, tail = divmod(n, batch_size)
    rng = np.random.default_rng(seed)

    def batches(rows: np.ndarray, steps: int) -> tuple[tf.Tensor, tf.Tensor]:
        rows = rows[: steps * batch_size]
        return (tf.reshape(tf.gather(x_all, rows), (steps, batch_size, -1)),
                tf.reshape(tf.gather(y_all, rows), (steps, batch_size)))

    run, position = Run(), 0
    for epoch in range(epochs):
        cut = bool(rep_steps and epoch)  # timed repetitions: slices of one more pass, no tail
        if cut and epoch == 1:  # untimed: trace and compile for the shorter shape, then undo
            state = [v.numpy() for v in model.variables + optimizer.variables]
            float(train_epoch(*batches(np.arange(n), rep_steps)))
            for v, value in zip(model.variables + optimizer.variables, state, strict=True):
                v.assign(value)
        steps = rep_steps if cut else full
        start = time.perf_counter()
        if epoch <= 1 or not cut:  # a new pass
            order, position = (rng.permutation(n) if shuffle else np.arange(n)), 0
        rows, position = order[position:], position + steps * batch_size
        total = train_epoch(*batches(rows, steps)) * steps if steps else tf.constant(0.0)
        if tail and not cut:
            rest = order[full * batch_size:]
            total += tail_step(tf.gather(x_all, rest), tf.gather(y_all, rest))
        run.losses.append(float(total) / (steps + (1 if tail and not cut else 0)))
        run.seconds.append(time.perf_counter() - start)
    run.weights = model.get_weights()
    return run


# --- workload C: the 10→20→5 full-batch program -------------------------------------------

def _forward(x, params):
    w1, b1, w2, b2 = params
    return tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2) + b2


def tf1_graph(x: np.ndarray, y: np.ndarray, workload: Workload, weights: list[np.ndarray],
              reps: int, steps: int) -> Run:
    """The original TF1 program through ``tf.compat.v1``: placeholders, a graph, a Session
    (intra/inter-op threads as ``setup`` set them),
    ``GradientDescentOptimizer(0.01).minimize(loss)``, then
    ``steps`` × ``sess.run(optimizer, feed_dict=...)`` per repetition. Variables start from
    ``weights`` (the original draws them with ``tf.random_normal``)."""
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        x_in = v1.placeholder(tf.float32, [None, x.shape[1]])
        y_true = v1.placeholder(tf.float32, [None, y.shape[1]])
        params = [tf.Variable(w) for w in weights]
        loss = tf.reduce_mean(tf.square(_forward(x_in, params) - y_true))
        train = v1.train.GradientDescentOptimizer(workload.learning_rate).minimize(loss)
        init = v1.global_variables_initializer()
    config = v1.ConfigProto(intra_op_parallelism_threads=_threads,
                            inter_op_parallelism_threads=_threads)
    feed = {x_in: x, y_true: y}
    run = Run()
    with v1.Session(graph=graph, config=config) as sess:
        sess.run(init)
        for _ in range(reps):
            start = time.perf_counter()
            _, first = sess.run([train, loss], feed_dict=feed)
            for _ in range(steps - 1):
                sess.run(train, feed_dict=feed)
            run.seconds.append(time.perf_counter() - start)
            run.losses.append(float(first))
        run.weights = sess.run(params)
    return run


def tf2_full_batch(x: np.ndarray, y: np.ndarray, workload: Workload, weights: list[np.ndarray],
                   reps: int, steps: int, mode: str = "eager", jit_compile: bool = False) -> Run:
    """The TF2 rebuild of Lab 03: ``tf.Variable``s, a GradientTape step, ``assign_sub``.

    ``mode``: ``"eager"`` (plain Python calls), ``"function"`` (one ``tf.function`` call
    per step) or ``"loop"`` (one ``tf.function`` call runs all ``steps`` in a ``tf.range``
    loop). ``Run.losses`` holds the loss of the first step of each repetition."""
    params = [tf.Variable(w) for w in weights]
    x_t, y_t = tf.constant(x), tf.constant(y)
    lr = workload.learning_rate

    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(_forward(x_t, params) - y_t))
        for var, grad in zip(params, tape.gradient(loss, params), strict=True):
            var.assign_sub(lr * grad)
        return loss

    if mode == "loop":
        @tf.function(jit_compile=jit_compile)
        def run_steps(n):
            first = step()
            for _ in tf.range(n - 1):
                step()
            return first
    else:
        one = tf.function(step, jit_compile=jit_compile) if mode == "function" else step

        def run_steps(n):
            first = one()
            for _ in range(n - 1):
                one()
            return first

    run = Run()
    for _ in range(reps):
        start = time.perf_counter()
        first = float(run_steps(tf.constant(steps)) if mode == "loop" else run_steps(steps))
        run.seconds.append(time.perf_counter() - start)
        run.losses.append(first)
    run.weights = [p.numpy() for p in params]
    return run


def matmul_gflops(n: int, m: int, k: int, reps: int) -> float:
    """Best-of-``reps`` float32 ``(n, k) @ (k, m)`` rate in GFLOP/s (2·n·m·k per product)."""
    a, b = tf.random.normal((n, k)), tf.random.normal((k, m))
    inner = max(1, int(2e8 // (2 * n * m * k)))  # ≥ ~0.2 GFLOP per timed sample

    @tf.function
    def products():
        acc = tf.constant(0.0)
        for _ in tf.range(inner):
            acc += tf.linalg.matmul(a, b)[0, 0]
        return acc

    float(products())
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        float(products())
        best = min(best, (time.perf_counter() - start) / inner)
    return 2 * n * m * k / best / 1e9


# --- diagnostics: where a batch-64 step's time goes -----------------------------------------

def tfdata_iterate(data: Data, workload: Workload, weights: list[np.ndarray], epochs: int,
                   batch_size: int | None = None, shuffle: bool = True,
                   seed: int = SEED, rep_steps: int | None = None) -> Run:
    """Only iterate ``course.data.make_pipeline`` from Python, no training: the input cost."""
    ds = make_pipeline(data.images, data.y, batch_size=batch_size or workload.batch_size,
                       shuffle=shuffle, seed=seed)
    run, one_pass = Run(), None
    for epoch in range(epochs):
        start = time.perf_counter()
        if rep_steps and epoch:
            one_pass = iter(ds) if one_pass is None else one_pass
        for _batch in itertools.islice(one_pass, rep_steps) if rep_steps and epoch else ds:
            pass
        run.seconds.append(time.perf_counter() - start)
    return run


def step_on_one_batch(data: Data, workload: Workload, weights: list[np.ndarray], epochs: int,
                      batch_size: int | None = None, shuffle: bool = True, seed: int = SEED,
                      jit_compile: bool = False, in_graph: bool = False) -> Run:
    """Only the training steps, an epoch's worth, all on one batch already in memory: the
    compute + per-call cost. ``in_graph``: all steps in one ``tf.function`` call."""
    batch_size = batch_size or workload.batch_size
    model, optimizer, loss_fn = build(workload, weights), _optimizer(workload), _loss(workload)
    optimizer.build(model.trainable_variables)
    step = _train_step_fn(model, optimizer, loss_fn)
    x = tf.constant(data.x[:batch_size])
    y = tf.constant(data.y[:batch_size].astype("int32"))
    steps = -(-len(data) // batch_size)
    if in_graph:
        @tf.function(jit_compile=jit_compile)
        def many(n):
            total = tf.constant(0.0)
            for _ in tf.range(n):
                total += step(x, y)
            return total

        def epoch():
            return many(tf.constant(steps))
    else:
        one = tf.function(step, jit_compile=jit_compile)

        def epoch():
            for _ in range(steps - 1):
                one(x, y)
            return one(x, y)

    run = Run()
    for _ in range(epochs):
        start = time.perf_counter()
        float(epoch())
        run.seconds.append(time.perf_counter() - start)
    return run
