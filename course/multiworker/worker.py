"""The worker process: ``python -m course.multiworker --workdir DIR --log FILE ...``.

One process per worker reads its role from ``TF_CONFIG``, builds a
``MultiWorkerMirroredStrategy`` and trains the recipe's MLP with the custom loop of Labs 04/05
(``strategy.run``, ``tf.nn.compute_average_loss`` over the global batch, ``strategy.reduce``).
It checkpoints with ``tf.train.Checkpoint`` + ``tf.train.CheckpointManager`` (step, weights,
optimizer state; the step is also the data position) into its *own* directory, resumes from
the newest checkpoint that every worker has, and writes one JSON line per event to its log.
Optionally it first re-checks whether ``model.fit`` works under the strategy (it does not
with Keras 3.15: keras-team/keras issue 20585).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from course.multiworker.events import EventLog
from course.multiworker.recipe import (
    DEFAULTS,
    build_mlp,
    build_optimizer,
    evaluate,
    load_data,
    make_train_step,
    newest_common_step,
    worker_dataset,
)
from course.multiworker.watchdog import start_watchdog


def checkpoint_steps(directory: str | os.PathLike) -> list[int]:
    """Return the steps of the checkpoints ``tf.train.CheckpointManager`` lists in a folder."""
    import tensorflow as tf

    state = tf.train.get_checkpoint_state(str(directory))
    paths = list(state.all_model_checkpoint_paths) if state else []
    steps = []
    for path in paths:
        suffix = Path(path).name.rsplit("-", 1)[-1]
        if suffix.isdigit() and tf.io.gfile.exists(f"{path}.index"):
            steps.append(int(suffix))
    return sorted(steps)


def _one_line(exc: BaseException, limit: int = 300) -> str:
    """``Type: message`` on one line; a value dumped into the message is cut out."""
    text = " ".join(str(exc).split())
    prefix, marker = "Attempt to convert a value (", " with an unsupported type"
    if text.startswith(prefix) and marker in text:
        kind = text[len(prefix):].split(":", 1)[0]
        text = f"{prefix}{kind}:{{…}}){text[text.rindex(marker):]}"
    return f"{type(exc).__name__}: {text[:limit]}"


def check_fit(strategy: Any, global_batch_size: int = 64) -> tuple[bool, str]:
    """Try two steps of ``model.fit`` under ``strategy``; return ``(works, error)``.

    Keras 3.15 fails under ``MultiWorkerMirroredStrategy`` with ``ValueError: Attempt to
    convert a value (PerReplica:{...}) with an unsupported type`` (keras-team/keras issue
    20585), on every worker at the same point, so the workers can go on afterwards.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4 * global_batch_size, 8)).astype("float32")
    y = rng.integers(0, 3, len(x)).astype("int32")
    with strategy.scope():
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)], name="fit_check")
        model.compile(optimizer=keras.optimizers.SGD(0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch_size).repeat()
    try:
        model.fit(ds, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
    except Exception as exc:  # the upstream failure, whatever its type becomes
        return False, _one_line(exc)
    return True, ""


def _agree_on_step(strategy: Any, local_steps: list[int]) -> int | None:
    """All workers gather each other's checkpoint steps and pick the newest common one."""
    import tensorflow as tf

    known = sorted(local_steps)[-8:]
    padded = tf.constant([known + [-1] * (8 - len(known))], dtype=tf.int64)
    values = strategy.experimental_distribute_values_from_function(lambda _: padded)
    everyone = strategy.gather(values, axis=0).numpy().tolist()
    return newest_common_step([[s for s in row if s >= 0] for row in everyone])


HEARTBEAT_TIMEOUT_MS = 3000
"""How long the coordination service waits for a silent worker before it fails the others.

TensorFlow's default is 10 s: a killed worker's peer then sat idle about 8 s in its next
all-reduce before failing (benchmarks/README.md). On loopback 3 s is ample."""


def _configure_coordination(tf: Any, heartbeat_timeout_ms: int = HEARTBEAT_TIMEOUT_MS) -> None:
    """Set up the coordination service as the strategy would, with a shorter heartbeat timeout.

    ``MultiWorkerMirroredStrategy`` configures the service only when nothing has, with the
    same jobs and leader as here; no public API sets the heartbeat timeout, hence the
    internal modules. Call it before the strategy is created.
    """
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.eager import context

    spec = tf.distribute.cluster_resolver.TFConfigClusterResolver().cluster_spec()
    jobs = [coordination_config_pb2.CoordinatedJob(name=job, num_tasks=spec.num_tasks(job))
            for job in ("chief", "worker") if job in spec.jobs]
    context.context().configure_coordination_service(
        service_type="standalone", service_leader=multi_worker_util.coordination_leader(spec),
        coordinated_jobs=jobs, heartbeat_timeout_in_ms=heartbeat_timeout_ms)


def _strategy() -> Any:
    """A ``MultiWorkerMirroredStrategy`` for the cluster in ``TF_CONFIG`` (ring all-reduce)."""
    import tensorflow as tf

    _configure_coordination(tf)
    implementation = tf.distribute.experimental.CommunicationImplementation.RING
    return tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(
            implementation=implementation))


@dataclass
class _Training:
    """One worker's model, optimizer and step counter, checkpointed in its own folder."""

    model: Any
    optimizer: Any
    step: Any  # a tf.Variable: the steps trained so far, which is also the data position
    checkpoint: Any
    manager: Any
    directory: Path

    @classmethod
    def create(cls, strategy: Any, opts: dict[str, Any], directory: Path) -> _Training:
        import tensorflow as tf

        with strategy.scope():
            model = build_mlp(opts["hidden_units"], opts["seed"])
            optimizer = build_optimizer(opts, model)
            step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        checkpoint = tf.train.Checkpoint(step=step, model=model, optimizer=optimizer)
        manager = tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=3)
        return cls(model, optimizer, step, checkpoint, manager, directory)

    @property
    def done(self) -> int:
        return int(self.step.numpy())

    def resume(self, strategy: Any, log: EventLog) -> None:
        """Restore the newest checkpoint every worker has (none: start fresh)."""
        local = checkpoint_steps(self.directory)
        agreed = _agree_on_step(strategy, local)
        if agreed is None:
            log("fresh", local_checkpoints=local)
            return
        path = str(self.directory / f"ckpt-{agreed}")
        self.checkpoint.restore(path).assert_existing_objects_matched()
        log("restored", step=self.done, local_checkpoints=local)


def _remaining(train: tuple[Any, Any], opts: dict[str, Any], first_epoch: int,
               position: int) -> Callable[[Any], Any]:
    """The dataset function of this worker's batches from the data position to the end."""
    def dataset_fn(ctx: Any) -> Any:
        epochs = [worker_dataset(ctx, *train, opts["global_batch_size"], seed=opts["seed"] + e)
                  for e in range(first_epoch, opts["epochs"])]
        ds = epochs[0]
        for more in epochs[1:]:
            ds = ds.concatenate(more)
        return ds.skip(position)

    return dataset_fn


def _train(strategy: Any, training: _Training, train: tuple[Any, Any], opts: dict[str, Any],
           log: EventLog) -> Any:
    """Train from the restored step to the end, logging every step and checkpoint.

    Returns the distributed iterator (None when nothing was left to train): the caller
    keeps it until the process ends, because deleting a multi-worker iterator can stall
    its worker for about 10 s while it cancels a prefetch that waits on its peer.
    """
    steps_per_epoch = len(train[0]) // opts["global_batch_size"]
    total_steps = steps_per_epoch * opts["epochs"]
    first_epoch, position = divmod(training.done, steps_per_epoch)
    if first_epoch >= opts["epochs"]:
        return None
    train_step = make_train_step(strategy, training.model, training.optimizer,
                                 opts["global_batch_size"])
    batches = iter(strategy.distribute_datasets_from_function(
        _remaining(train, opts, first_epoch, position)))
    # A counted loop: exhausting a multi-worker iterator costs one worker a ~10 s wait
    # at the end (the workers agree that no data is left); the step count is known.
    for _ in range(total_steps - training.done):
        x, y = next(batches)
        loss = float(train_step(x, y))
        training.step.assign_add(1)
        done = training.done
        log("step", step=done, epoch=(done - 1) // steps_per_epoch + 1, loss=loss)
        if done % opts["save_every"] == 0 or done == total_steps:
            training.manager.save(checkpoint_number=done)
            log("saved", step=done)
    return batches


def _log_result(log: EventLog, training: _Training, test: tuple[Any, Any]) -> None:
    """Log ``done``: the final step, test loss and accuracy, and two sums of the weights."""
    import numpy as np

    final = training.model.get_weights()
    test_loss, test_accuracy = evaluate(final, *test)
    weights = np.concatenate([w.ravel() for w in final]).astype("float64")
    log("done", step=training.done, test_loss=test_loss, test_accuracy=test_accuracy,
        weights_sum=float(weights.sum()), weights_abs_sum=float(np.abs(weights).sum()))


def run_worker(workdir: Path, log: EventLog, check_fit_first: bool = False,
               **options: Any) -> Any:
    """Train as one worker of the cluster in ``TF_CONFIG`` (see the module docstring).

    Returns the training's distributed iterator, to be kept until the process ends (see
    :func:`_train`).
    """
    import keras

    opts = {**DEFAULTS, **options}
    strategy = _strategy()
    index = strategy.cluster_resolver.task_id
    log("strategy", replicas=strategy.num_replicas_in_sync, is_chief=index == 0)
    if check_fit_first:
        works, error = check_fit(strategy, opts["global_batch_size"])
        log("fit", works=works, error=error)

    keras.utils.set_random_seed(opts["seed"])  # the global seed also fixes tf.data's shuffles
    train, test = load_data(opts)
    training = _Training.create(strategy, opts, workdir / "checkpoints" / f"worker{index}")
    training.resume(strategy, log)
    batches = _train(strategy, training, train, opts, log)
    _log_result(log, training, test)
    return batches


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course.multiworker",
                                     description="One worker of a multi-worker training run "
                                     "(its role comes from TF_CONFIG).")
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--log", required=True, type=Path)
    parser.add_argument("--deadline", type=float, default=0.0,
                        help="exit after this many seconds (0: never)")
    parser.add_argument("--launcher-pid", type=int, default=0,
                        help="exit when this process (the launcher) goes away (0: never)")
    parser.add_argument("--check-fit", action="store_true")
    for key, value in DEFAULTS.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=value)
    return parser


def skip_plotting() -> None:
    """Mark matplotlib as absent in this process: a worker never plots.

    ``import tensorflow`` imports Keras, whose image-gallery helper imports
    ``matplotlib.pyplot`` when it can: 0.5–1 CPU-s of each worker's start (benchmarks/README.md),
    six workers per Lab 06 run-through. Keras handles the ImportError as "not installed".
    """
    from course.lean_imports import skip_imports

    skip_imports("matplotlib")


def worker_main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point of ``python -m course.multiworker`` (one worker process).

    Exits the process once its log is complete: status 0 when training is logged, 1 after
    logging an error (its traceback goes to stderr).
    """
    skip_plotting()  # before anything imports TensorFlow
    args = _parser().parse_args(argv)
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    index = int(config.get("task", {}).get("index", 0))
    log = EventLog(args.log, index)
    start_watchdog(args.deadline, args.launcher_pid, args.log, index)
    log("started", pid=os.getpid(), workers=len(config.get("cluster", {}).get("worker", [])))
    options = {key: getattr(args, key) for key in DEFAULTS}
    status = 0
    try:
        batches = run_worker(args.workdir, log, check_fit_first=args.check_fit, **options)  # noqa: F841
    except BaseException as exc:
        log("error", error=_one_line(exc))
        traceback.print_exc()
        status = 1
    finally:
        log.close()
    # The log is complete and every checkpoint written. Leave now, without Python's
    # finalisation: tearing down the strategy and its iterator while the peer exits (or
    # has died) can stall this process 7–10 s (tensorflow/tensorflow#58434, the
    # coordination service waiting for a peer that has gone); the launcher would wait.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
