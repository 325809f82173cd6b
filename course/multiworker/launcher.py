"""Several worker processes training one model: ``MultiWorkerMirroredStrategy`` on loopback.

Two halves:

- **The worker** (``python -m course.multiworker --workdir DIR ...``), one process per
  worker, reads its role from ``TF_CONFIG``, builds a ``MultiWorkerMirroredStrategy`` and
  trains the MNIST MLP with the custom loop of Labs 04/05 (``strategy.run``,
  ``tf.nn.compute_average_loss`` over the global batch, ``strategy.reduce``). It checkpoints
  with ``tf.train.Checkpoint`` + ``tf.train.CheckpointManager`` (step, weights, optimizer
  state; the step is also the data position) into its *own* directory, resumes from the
  newest checkpoint that every worker has, and writes one JSON line per event to its log.
  Optionally it first re-checks whether ``model.fit`` works under the strategy (it does not
  with Keras 3.15: keras-team/keras issue 20585).
- **The launcher** (:class:`Cluster`, :func:`train`), used by the notebook: starts the
  workers on ``127.0.0.1`` with free ports, their output redirected to files, can stop one
  by its PID mid-training, and always stops every worker it started (bounded time, cleanup
  in ``finally``; each worker also exits by itself when its parent goes away or its deadline
  passes).

Only the launcher half runs in the notebook; TensorFlow is imported inside functions, so
importing this module is cheap.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
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

START_TIMEOUT_S = 120.0
"""How long the launcher waits for a worker's first training step."""

RUN_TIMEOUT_S = 240.0
"""Upper bound for one whole multi-worker run (each worker's own deadline is a bit longer)."""

FIT_ISSUE = "keras-team/keras#20585"


# ---------------------------------------------------------------------------------------------
# Pieces shared by the worker, the launcher and the notebook
# ---------------------------------------------------------------------------------------------


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """Return ``n`` distinct TCP ports that are free on ``host`` right now."""
    sockets, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket()
            s.bind((host, 0))
            sockets.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in sockets:
            s.close()
    return ports


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


# ---------------------------------------------------------------------------------------------
# The worker process
# ---------------------------------------------------------------------------------------------


class EventLog:
    """Append-only JSON-lines log: one event per line, flushed at once (others read it live)."""

    def __init__(self, path: str | os.PathLike, worker: int) -> None:
        self.path, self.worker = Path(path), worker
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        self._lock = threading.Lock()

    def __call__(self, event: str, **fields: Any) -> None:
        record = {"event": event, "worker": self.worker, "time": round(time.time(), 3), **fields}
        with self._lock:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()

    def close(self) -> None:
        self._file.close()


def _watchdog(deadline_s: float, with_parent: bool, log_path: Path, index: int) -> None:
    """Start a small process that stops this worker when its launcher goes away
    (``with_parent``) or its deadline passes.

    It is a separate process, not a thread, because a worker waiting for its peers sits in
    TensorFlow C++ code that holds the GIL and ignores SIGTERM: a watchdog thread would
    never wake up (seen on a loaded CI machine). The launcher asks for both; a worker
    started by hand on a real machine has neither (``deadline_s`` 0).
    """
    if deadline_s <= 0 and not with_parent:
        return
    code = "import sys; from course.multiworker import _watch; sys.exit(_watch(sys.argv[1:]))"
    subprocess.Popen([sys.executable, "-c", code, str(os.getpid()),  # noqa: S603
                      str(os.getppid() if with_parent else 0), str(deadline_s),
                      str(log_path), str(index)],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)


def _watch(argv: Sequence[str], poll_s: float = 0.25) -> int:
    """The watchdog process: log ``stopped`` and SIGKILL the worker when it must stop.

    ``argv``: worker PID, launcher PID (0: not watched), deadline in s (0: none), log path,
    worker index. Returns when the worker has exited, whichever way.
    """
    worker, launcher = int(argv[0]), int(argv[1])
    deadline_s, log_path, index = float(argv[2]), Path(argv[3]), int(argv[4])
    end = time.monotonic() + deadline_s
    while alive(worker):
        time.sleep(poll_s)
        if launcher and not alive(launcher):
            reason = "launcher gone"
        elif deadline_s > 0 and time.monotonic() > end:
            reason = f"deadline of {deadline_s:g} s passed"
        else:
            continue
        log = EventLog(log_path, index)
        log("stopped", reason=reason)
        log.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, getattr(signal, "SIGKILL", signal.SIGTERM))
        return 1
    return 0


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

    w1, b1, w2, b2 = (np.asarray(w, dtype="float64") for w in weights)
    logits = np.maximum(preprocess(images).astype("float64") @ w1 + b1, 0.0) @ w2 + b2
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    labels = np.asarray(labels).astype(int)
    loss = -log_p[np.arange(len(labels)), labels].mean()
    return float(loss), float(np.mean(np.argmax(logits, axis=1) == labels))


def _agree_on_step(strategy: Any, local_steps: list[int]) -> int | None:
    """All workers gather each other's checkpoint steps and pick the newest common one."""
    import tensorflow as tf

    known = sorted(local_steps)[-8:]
    padded = tf.constant([known + [-1] * (8 - len(known))], dtype=tf.int64)
    values = strategy.experimental_distribute_values_from_function(lambda _: padded)
    everyone = strategy.gather(values, axis=0).numpy().tolist()
    return newest_common_step([[s for s in row if s >= 0] for row in everyone])


def run_worker(workdir: Path, log: EventLog, check_fit_first: bool = False,
               **options: Any) -> None:
    """Train as one worker of the cluster in ``TF_CONFIG`` (see the module docstring)."""
    opts = {**DEFAULTS, **options}
    import keras
    import numpy as np
    import tensorflow as tf

    from course.data import load_mnist

    implementation = tf.distribute.experimental.CommunicationImplementation.RING
    strategy = tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(
            implementation=implementation))
    resolver = strategy.cluster_resolver
    index = resolver.task_id
    log("strategy", replicas=strategy.num_replicas_in_sync, is_chief=index == 0)

    if check_fit_first:
        works, error = check_fit(strategy, opts["global_batch_size"])
        log("fit", works=works, error=error)

    keras.utils.set_random_seed(opts["seed"])  # the global seed also fixes tf.data's shuffles
    (x_train, y_train), (x_test, y_test) = load_mnist(opts["source"])
    if opts["train_examples"]:
        x_train, y_train = x_train[: opts["train_examples"]], y_train[: opts["train_examples"]]
    batch = opts["global_batch_size"]
    steps_per_epoch = len(x_train) // batch
    total_steps = steps_per_epoch * opts["epochs"]

    with strategy.scope():
        model = build_mlp(opts["hidden_units"], opts["seed"])
        optimizer = keras.optimizers.SGD(opts["learning_rate"], momentum=opts["momentum"])
        optimizer.build(model.trainable_variables)
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    checkpoint = tf.train.Checkpoint(step=step, model=model, optimizer=optimizer)
    directory = workdir / "checkpoints" / f"worker{index}"
    manager = tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=3)

    local = checkpoint_steps(directory)
    agreed = _agree_on_step(strategy, local)
    if agreed is None:
        log("fresh", local_checkpoints=local)
    else:
        checkpoint.restore(str(directory / f"ckpt-{agreed}")).assert_existing_objects_matched()
        log("restored", step=int(step.numpy()), local_checkpoints=local)

    first_epoch, position = divmod(int(step.numpy()), steps_per_epoch)

    def remaining(ctx: Any) -> Any:
        """This worker's batches from the restored data position to the end of training."""
        epochs = [worker_dataset(ctx, x_train, y_train, batch, seed=opts["seed"] + epoch)
                  for epoch in range(first_epoch, opts["epochs"])]
        ds = epochs[0]
        for more in epochs[1:]:
            ds = ds.concatenate(more)
        return ds.skip(position)

    train_step = make_train_step(strategy, model, optimizer, batch)
    if first_epoch < opts["epochs"]:
        for x, y in strategy.distribute_datasets_from_function(remaining):
            loss = float(train_step(x, y))
            step.assign_add(1)
            done = int(step.numpy())
            log("step", step=done, epoch=(done - 1) // steps_per_epoch + 1, loss=loss)
            if done % opts["save_every"] == 0 or done == total_steps:
                manager.save(checkpoint_number=done)
                log("saved", step=done)
    final = model.get_weights()
    test_loss, test_accuracy = evaluate(final, x_test, y_test)
    weights = np.concatenate([w.ravel() for w in final]).astype("float64")
    log("done", step=int(step.numpy()), test_loss=test_loss, test_accuracy=test_accuracy,
        weights_sum=float(weights.sum()), weights_abs_sum=float(np.abs(weights).sum()))


def worker_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m course.multiworker`` (one worker process)."""
    parser = argparse.ArgumentParser(prog="python -m course.multiworker",
                                     description="One worker of a multi-worker training run "
                                     "(its role comes from TF_CONFIG).")
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--log", required=True, type=Path)
    parser.add_argument("--deadline", type=float, default=0.0,
                        help="exit after this many seconds (0: never)")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="exit when the process that started this one goes away")
    parser.add_argument("--check-fit", action="store_true")
    for key, value in DEFAULTS.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=value)
    args = parser.parse_args(argv)
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    index = int(config.get("task", {}).get("index", 0))
    log = EventLog(args.log, index)
    _watchdog(args.deadline, args.exit_with_parent, args.log, index)
    log("started", pid=os.getpid(), workers=len(config.get("cluster", {}).get("worker", [])))
    options = {key: getattr(args, key) for key in DEFAULTS}
    try:
        run_worker(args.workdir, log, check_fit_first=args.check_fit, **options)
    except BaseException as exc:
        log("error", error=_one_line(exc))
        raise
    finally:
        log.close()
    return 0


# ---------------------------------------------------------------------------------------------
# The launcher (runs in the notebook)
# ---------------------------------------------------------------------------------------------


def read_log(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Return the events of a worker log (a line cut short by a kill is skipped)."""
    events = []
    path = Path(path)
    if not path.is_file():
        return events
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            events.append(json.loads(line))
    return events


@dataclass
class WorkerRun:
    """One worker process of one run: its PID, exit code and logged events."""

    index: int
    pid: int
    exit_code: int | None
    events: list[dict[str, Any]]
    killed: bool = False
    stopped_by_launcher: bool = False

    def of(self, kind: str) -> list[dict[str, Any]]:
        """The events of one kind, in order."""
        return [e for e in self.events if e.get("event") == kind]

    @property
    def finished(self) -> bool:
        """True when the worker trained to the end and exited with status 0."""
        return self.exit_code == 0 and bool(self.of("done"))

    @property
    def first_step(self) -> int | None:
        """The first step this run trained (1 when it started from scratch)."""
        steps = self.of("step")
        return steps[0]["step"] if steps else None

    @property
    def last_step(self) -> int:
        """The last step this run completed (0 when none)."""
        steps = self.of("step")
        return steps[-1]["step"] if steps else 0

    @property
    def restored_step(self) -> int | None:
        """The checkpoint step it resumed from, or None when it started fresh."""
        restored = self.of("restored")
        return restored[0]["step"] if restored else None

    @property
    def error(self) -> str:
        """The error this worker logged before it stopped ('' when none)."""
        errors = self.of("error")
        return errors[-1]["error"] if errors else ""

    @property
    def local_checkpoints(self) -> list[int] | None:
        """The checkpoint steps this worker found in its own folder when it started."""
        found = self.of("restored") or self.of("fresh")
        return found[0]["local_checkpoints"] if found else None

    @property
    def saved_steps(self) -> list[int]:
        """The steps this run checkpointed."""
        return [e["step"] for e in self.of("saved")]

    @property
    def result(self) -> dict[str, Any] | None:
        """The ``done`` event: final step, test loss and accuracy, weight sums."""
        done = self.of("done")
        return done[-1] if done else None


@dataclass
class RunReport:
    """What one multi-worker run did, read from its workers' logs."""

    workdir: Path
    workers: list[WorkerRun] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def finished(self) -> bool:
        """True when every worker trained to the end."""
        return bool(self.workers) and all(w.finished for w in self.workers)

    def fit_check(self) -> tuple[bool, str] | None:
        """``(works, error)`` of the ``model.fit`` re-check (every worker agrees), or None."""
        found = [w.of("fit")[0] for w in self.workers if w.of("fit")]
        if not found:
            return None
        return all(e["works"] for e in found), found[0].get("error", "")

    def losses(self, index: int = 0) -> dict[int, float]:
        """``{step: global mean loss}`` as worker ``index`` logged it."""
        return {e["step"]: e["loss"] for e in self.workers[index].of("step")}


class ClusterError(RuntimeError):
    """The workers did not start, hung or failed; the message quotes their logs."""


class Cluster:
    """Worker processes on 127.0.0.1 that are always stopped (use it in a ``with`` block).

    Args:
        workdir: the run's folder: checkpoints in ``checkpoints/worker<i>/``, logs in
            ``logs/<run>-worker<i>.jsonl`` and the processes' own output in
            ``logs/<run>-worker<i>.out``.
        n_workers: processes to start.
        run: a name for this run's log files.
        check_fit: the workers first re-check ``model.fit`` under the strategy.
        **options: the training recipe (see :data:`DEFAULTS`).
    """

    def __init__(self, workdir: str | os.PathLike, n_workers: int = 2, run: str = "run",
                 check_fit: bool = False, deadline_s: float = RUN_TIMEOUT_S + 60,
                 **options: Any) -> None:
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown training options: {sorted(unknown)}")
        self.workdir, self.n_workers, self.run = Path(workdir).resolve(), n_workers, run
        self.check_fit, self.deadline_s, self.options = check_fit, deadline_s, options
        self.processes: list[subprocess.Popen] = []
        self.killed: set[int] = set()
        self.stopped: set[int] = set()
        self._files: list[Any] = []
        self._started = 0.0

    def log_path(self, index: int) -> Path:
        """Worker ``index``'s JSON-lines event log."""
        return self.workdir / "logs" / f"{self.run}-worker{index}.jsonl"

    def output_path(self, index: int) -> Path:
        """Worker ``index``'s stdout and stderr (TensorFlow's own messages)."""
        return self.workdir / "logs" / f"{self.run}-worker{index}.out"

    @property
    def pids(self) -> list[int]:
        """The workers' process ids."""
        return [p.pid for p in self.processes]

    def start(self) -> Cluster:
        """Start the workers with a fresh TF_CONFIG each, on free loopback ports."""
        if self.processes:
            raise ClusterError("this cluster was already started")
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        addresses = [f"127.0.0.1:{port}" for port in free_ports(self.n_workers)]
        args = [sys.executable, "-m", "course.multiworker", "--workdir", str(self.workdir),
                "--deadline", str(self.deadline_s), "--exit-with-parent"]
        if self.check_fit:
            args.append("--check-fit")
        for key, value in self.options.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        self._started = time.monotonic()
        for index in range(self.n_workers):
            for path in (self.log_path(index), self.output_path(index)):
                path.unlink(missing_ok=True)
            env = {**os.environ, "TF_CONFIG": tf_config(addresses, index),
                   "CUDA_VISIBLE_DEVICES": "-1",  # one machine: the workers share its CPU
                   "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
                   "PYTHONUNBUFFERED": "1"}
            out = open(self.output_path(index), "wb")  # noqa: SIM115
            self._files.append(out)
            self.processes.append(subprocess.Popen(
                [*args, "--log", str(self.log_path(index))], env=env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir))
        return self

    def events(self, index: int) -> list[dict[str, Any]]:
        """Worker ``index``'s events so far."""
        return read_log(self.log_path(index))

    def _raise(self, what: str) -> None:
        tails = []
        for index in range(len(self.processes)):
            text = self.output_path(index).read_text(errors="replace") \
                if self.output_path(index).is_file() else ""
            lines = [line for line in text.splitlines() if line.strip()][-6:]
            events = self.events(index)[-3:]
            tails.append(f"worker {index}: events {events}; output: " + " | ".join(lines))
        raise ClusterError(what + "\n" + "\n".join(tails))

    def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``predicate`` until it holds; raise :class:`ClusterError` on timeout or exit."""
        end = time.monotonic() + timeout
        while not predicate():
            failed = [i for i, p in enumerate(self.processes)
                      if p.poll() not in (None, 0) and i not in self.killed | self.stopped]
            if failed:
                self._raise(f"worker {failed[0]} exited with status "
                            f"{self.processes[failed[0]].returncode} while waiting for {what}")
            if time.monotonic() > end:
                self._raise(f"timed out after {timeout:g} s waiting for {what}")
            time.sleep(0.05)

    def wait_for_step(self, index: int, step: int, timeout: float = START_TIMEOUT_S) -> None:
        """Block until worker ``index`` has logged training step ``step`` (or later)."""
        def reached() -> bool:
            return any(e.get("event") == "step" and e["step"] >= step
                       for e in self.events(index))
        self.wait_until(reached, timeout, f"worker {index} to reach step {step}")

    def kill(self, index: int) -> int:
        """Stop worker ``index`` at once by its PID (SIGKILL: no clean-up, like a crash)."""
        pid = self.processes[index].pid
        os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        self.processes[index].wait(timeout=30)
        self.killed.add(index)
        return pid

    def exited(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every worker to exit; True when they all did."""
        end = time.monotonic() + timeout
        while any(p.poll() is None for p in self.processes):
            if time.monotonic() > end:
                return False
            time.sleep(0.05)
        return True

    def wait(self, timeout: float = RUN_TIMEOUT_S) -> list[int | None]:
        """Wait for every worker to exit; raise :class:`ClusterError` on timeout or failure."""
        self.wait_until(lambda: all(p.poll() is not None for p in self.processes), timeout,
                        "the workers to finish")
        return [p.returncode for p in self.processes]

    def stop(self, grace_s: float = 2.0) -> None:
        """Terminate the workers still running (kill them after ``grace_s``); reap them all.

        A worker blocked inside a TensorFlow collective does not react to SIGTERM, hence
        the short grace.
        """
        for index, process in enumerate(self.processes):
            if process.poll() is None:
                self.stopped.add(index)
                process.terminate()
        end = time.monotonic() + grace_s
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.05, end - time.monotonic()))
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
        for file in self._files:
            file.close()
        self._files.clear()

    def report(self) -> RunReport:
        """The run as its logs tell it (call after :meth:`wait` or :meth:`stop`)."""
        workers = [
            WorkerRun(index, p.pid, p.poll(), self.events(index), index in self.killed,
                      index in self.stopped)
            for index, p in enumerate(self.processes)
        ]
        return RunReport(self.workdir, workers, time.monotonic() - self._started)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def train(workdir: str | os.PathLike, n_workers: int = 2, run: str = "run",
          kill_worker: int | None = None, kill_at_step: int | None = None,
          check_fit: bool = False, timeout: float = RUN_TIMEOUT_S, survivor_grace_s: float = 20.0,
          **options: Any) -> RunReport:
    """Run one multi-worker training on loopback and return what the logs say.

    Without ``kill_worker``: wait until every worker has finished. With it: stop worker
    ``kill_worker`` by its PID once it has logged step ``kill_at_step``; the others fail at
    their next all-reduce (their peer is gone) and exit, or are stopped after
    ``survivor_grace_s`` seconds, as a cluster manager would before restarting the job.
    Every worker is stopped before this returns, whatever happens.

    Raises:
        ClusterError: a worker failed or the run exceeded ``timeout`` seconds.
    """
    with Cluster(workdir, n_workers, run=run, check_fit=check_fit, deadline_s=timeout + 60,
                 **options) as cluster:
        cluster.start()
        if kill_worker is None:
            cluster.wait(timeout)
        else:
            cluster.wait_for_step(kill_worker, kill_at_step or 1, timeout)
            cluster.kill(kill_worker)
            cluster.exited(survivor_grace_s)
            cluster.stop()
        return cluster.report()


def train_single_device(epochs: int | None = None, **options: Any) -> dict[str, float]:
    """Train the same recipe on one device, in this process; return its final test results.

    Each epoch runs over the same global batches the workers share out, so by the lesson
    of Lab 05 the result matches the multi-worker run up to rounding.
    """
    import keras
    import tensorflow as tf

    from course.data import load_mnist, make_pipeline

    opts = {**DEFAULTS, **options}
    if epochs is not None:
        opts["epochs"] = epochs
    keras.utils.set_random_seed(opts["seed"])  # as the workers do: same shuffles
    (x_train, y_train), (x_test, y_test) = load_mnist(opts["source"])
    if opts["train_examples"]:
        x_train, y_train = x_train[: opts["train_examples"]], y_train[: opts["train_examples"]]
    model = build_mlp(opts["hidden_units"], opts["seed"])
    optimizer = keras.optimizers.SGD(opts["learning_rate"], momentum=opts["momentum"])
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(x: Any, y: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    losses = []
    for epoch in range(opts["epochs"]):
        ds = make_pipeline(x_train, y_train, opts["global_batch_size"], shuffle=True,
                           seed=opts["seed"] + epoch, drop_remainder=True)
        losses.extend(float(step(x, y)) for x, y in ds)
    test_loss, test_accuracy = evaluate(model.get_weights(), x_test, y_test)
    return {"test_loss": test_loss, "test_accuracy": test_accuracy,
            "last_loss": losses[-1], "steps": len(losses)}


def alive(pid: int) -> bool:
    """True when a process with this PID still exists (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    return True


def _iter_all(reports: Sequence[RunReport]) -> Iterator[WorkerRun]:
    for report in reports:
        yield from report.workers


def stray_workers(*reports: RunReport) -> list[int]:
    """The PIDs of the runs' worker processes that are still alive (should be none)."""
    return [w.pid for w in _iter_all(reports) if alive(w.pid)]


def close(a: float, b: float, tolerance: float) -> bool:
    """``|a − b| <= tolerance`` (False when either is missing or not finite)."""
    return (a is not None and b is not None and math.isfinite(a) and math.isfinite(b)
            and abs(a - b) <= tolerance)


if __name__ == "__main__":
    sys.exit(worker_main())
