"""Checks for Lab 06, several workers with ``MultiWorkerMirroredStrategy`` and fault tolerance.

None of them starts a worker: they call the learner's function in the notebook's process
(``TF_CONFIG`` text, a worker's input pipeline through a ``tf.distribute.InputContext``, a
checkpoint saved and restored in a temporary folder, the choice of the step to resume from).
"""

from __future__ import annotations

import json
import tempfile
from typing import Any

import numpy as np

from course.checks import award, check, common, expect

index_of = common.decode_index

WORKERS = ["10.1.2.3:2222", "10.1.2.4:2222", "10.1.2.5:2222"]


# --- exercise 1 ---------------------------------------------------------------------------------


@check(points=1)
def make_tf_config(make_fn: Any) -> None:
    """Check ``make_tf_config(workers, index)`` → the TF_CONFIG JSON text of one worker."""
    text = make_fn(WORKERS[:2], 1)
    common.expect_returned(text, "make_tf_config", "json.dumps(config)")
    expect(not isinstance(text, dict), "return the JSON text, json.dumps(config): environment "
           "variables such as TF_CONFIG hold strings, not dicts")
    expect(isinstance(text, str), f"return a str (got {type(text).__name__})")
    try:
        config = json.loads(text)
    except json.JSONDecodeError:
        config = None
    expect(isinstance(config, dict), "the text is not valid JSON: build a dict and "
           "json.dumps it (str(dict) uses single quotes)")
    expect(set(config) == {"cluster", "task"},
           f"TF_CONFIG has exactly two keys, 'cluster' and 'task'; got {sorted(config)}")
    cluster, task = config["cluster"], config["task"]
    expect(isinstance(cluster, dict) and list(cluster) == ["worker"],
           "'cluster' maps the job name 'worker' to the list of addresses: "
           "{'worker': workers}")
    expect(cluster["worker"] == WORKERS[:2],
           f"'cluster' must list every worker, in the same order on every machine; got "
           f"{cluster['worker']}")
    expect(isinstance(task, dict) and task.get("type") == "worker",
           "'task' says which job this process runs: {'type': 'worker', 'index': index}")
    expect(task.get("index") == 1 and not isinstance(task.get("index"), str),
           f"'task' index must be the integer index (1 here); got {task.get('index')!r}")
    again = json.loads(make_fn(WORKERS, 0))
    expect(again["cluster"]["worker"] == WORKERS and again["task"]["index"] == 0,
           "use the workers and index arguments (a 3-worker cluster, index 0, was wrong)")


# --- exercise 2 ---------------------------------------------------------------------------------


def _worker_batches(fn: Any, images: np.ndarray, labels: np.ndarray, index: int,
                    n_workers: int = 2, global_batch: int = 64, seed: int = 0,
                    second: list[Any] | None = None) -> list[Any]:
    """One epoch of one worker's batches; the next epoch's go into ``second`` if given."""
    import tensorflow as tf

    ctx = tf.distribute.InputContext(num_input_pipelines=n_workers, input_pipeline_id=index,
                                     num_replicas_in_sync=n_workers)
    ds = fn(ctx, images, labels, global_batch, seed=seed)
    common.expect_returned(ds, "worker_dataset", "this worker's tf.data.Dataset")
    expect(isinstance(ds, tf.data.Dataset),
           f"return a tf.data.Dataset (got {type(ds).__name__})")
    expect(int(ds.cardinality()) != int(tf.data.INFINITE_CARDINALITY),
           "the data set never ends: one epoch, no .repeat()")
    first = [(np.asarray(x), np.asarray(y)) for x, y in ds.take(100)]
    if second is not None:
        second.extend(np.asarray(x) for x, _ in ds.take(100))
    return first


@check(points=3, judged="kernel")
def worker_dataset(worker_dataset_fn: Any) -> None:
    """Check ``worker_dataset(input_context, images, labels, global_batch_size, seed)``."""
    from course.data import make_pipeline

    images, labels = common.synthetic_digits(1_200, seed=13)  # > the usual shuffle(1000)
    later: list[Any] = []
    parts = [_worker_batches(worker_dataset_fn, images, labels, i, second=later if i else None)
             for i in range(2)]
    expect(all(parts), "a worker gets no batches at all")
    sizes = [len(part[0][0]) for part in parts]
    expect(sizes != [64, 64], "each worker yields 64 examples per step, so a step trains on "
           "128: a worker's batches hold global_batch_size / number of replicas examples "
           "(input_context.get_per_replica_batch_size)")
    expect(sizes == [32, 32], f"with 2 workers and a global batch of 64, each worker's "
           f"batches hold 32 examples; got {sizes}")
    expect(parts[0][0][0].shape[1:] == (784,),
           "the examples must be preprocessed rows of 784 values (data.make_pipeline does it)")
    award(1)
    first = [index_of(part[0][0]) for part in parts]
    expect(not np.array_equal(first[0], first[1]),
           "both workers get the same examples: use input_context.input_pipeline_id to take "
           "this worker's own slice")
    expect(not all(np.array_equal(index_of(a), index_of(b[0]))
                   for a, b in zip(later, parts[1], strict=False)),
           "worker 1's second epoch comes in the same order as its first: the pipeline must "
           "reshuffle every epoch (data.make_pipeline(..., shuffle=True, seed=seed) does)")
    reference = make_pipeline(images, labels, 64, shuffle=True, seed=0, drop_remainder=True)
    want = [np.asarray(x) for x, _ in reference]
    expect(len(parts[0]) == len(want) and len(parts[1]) == len(want),
           f"a worker yields {len(parts[0])} batches; {len(images)} examples make {len(want)} "
           "full global batches of 64: build the global batches with drop_remainder=True")
    together = [np.concatenate([index_of(a[0]), index_of(b[0])])
                for a, b in zip(parts[0], parts[1], strict=True)]
    reach = common.displacement(np.concatenate(together))
    expect(reach > 9 * len(images) // 10,
           f"the shuffle buffer is too small: with {len(images):,} examples none moved more "
           f"than {reach + 1:,} places ahead; shuffle the whole data set "
           "(data.make_pipeline(..., shuffle=True, seed=seed) does)")
    same_sets = all(set(t) == set(index_of(w)) for t, w in zip(together, want, strict=True))
    expect(same_sets, "the two workers' batches of a step do not make up the global batch one "
           "device would train on (data.make_pipeline(images, labels, global_batch_size, "
           "shuffle=True, seed=seed, drop_remainder=True)): slice each global batch; "
           ".shard() before batching hands out other examples")
    expect(all(np.array_equal(t, index_of(w)) for t, w in zip(together, want, strict=True)),
           "worker i must take examples [i·b, (i+1)·b) of each global batch, b being the "
           "per-replica batch size: worker 0 the first half, worker 1 the second")
    second_epoch = [index_of(x) for x, _ in reference]
    expect(len(second_epoch) == len(later) and all(
        np.array_equal(index_of(a), w[32:]) for a, w in zip(later, second_epoch, strict=True)),
           "worker 1's second epoch is not the second half of data.make_pipeline's second "
           "epoch: build the global batches with data.make_pipeline and slice each of them")
    award(1)
    _expect_seed_and_workers_used(worker_dataset_fn, images, labels, first[0], want[0])


def _expect_seed_and_workers_used(worker_dataset_fn: Any, images: Any, labels: Any,
                                  first: Any, global_batch: Any) -> None:
    """Another seed changes the batches; 4 workers share each global batch in quarters."""
    other = _worker_batches(worker_dataset_fn, images, labels, 0, seed=1)
    expect(not np.array_equal(index_of(other[0][0]), first),
           "seed=1 gives the same batches as seed=0: pass the seed on to the shuffle")
    three = [_worker_batches(worker_dataset_fn, images, labels, i, n_workers=4,
                             global_batch=64) for i in range(4)]
    expect([len(t[0][0]) for t in three] == [16] * 4 and np.array_equal(
        np.concatenate([index_of(t[0][0]) for t in three]), index_of(global_batch)),
           "with 4 workers each must take 16 examples: use the input context instead of "
           "assuming 2 workers")


# --- exercise 3 ---------------------------------------------------------------------------------


def _model_and_optimizer() -> tuple[Any, Any]:
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="dense")],
                             name="check_model")
    rng = np.random.default_rng(2)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    optimizer = keras.optimizers.SGD(0.1, momentum=0.9)
    return model, optimizer


def _train(model: Any, optimizer: Any, steps: int) -> None:
    import tensorflow as tf

    rng = np.random.default_rng(9)
    for _ in range(steps):
        x = rng.normal(size=(8, 4)).astype("float32")
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x)))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))


@check(points=2, judged="kernel")
def make_checkpoint(make_fn: Any) -> None:
    """Check ``make_checkpoint(model, optimizer, step, directory)`` → (checkpoint, manager)."""
    import tensorflow as tf

    model, optimizer = _model_and_optimizer()
    step = tf.Variable(0, dtype=tf.int64)
    _train(model, optimizer, 2)
    step.assign(2)
    with tempfile.TemporaryDirectory() as directory:
        got = make_fn(model, optimizer, step, directory)
        common.expect_returned(got, "make_checkpoint", "(checkpoint, manager)")
        expect(isinstance(got, tuple | list) and len(got) == 2,
               "return the pair (checkpoint, manager)")
        checkpoint, manager = got
        expect(isinstance(checkpoint, tf.train.Checkpoint),
               f"the first item must be a tf.train.Checkpoint (got "
               f"{type(checkpoint).__name__})")
        expect(isinstance(manager, tf.train.CheckpointManager),
               f"the second item must be a tf.train.CheckpointManager (got "
               f"{type(manager).__name__})")
        expect(str(manager.directory).rstrip("/") == str(directory).rstrip("/"),
               "the manager must write into the `directory` argument (one folder per worker)")
        award(1)
        path = manager.save(checkpoint_number=2)
        saved = [np.copy(w) for w in model.get_weights()]
        saved_slots = [np.copy(np.asarray(v)) for v in optimizer.variables]
        _train(model, optimizer, 3)
        step.assign(5)
        checkpoint.restore(path)
        expect(int(step.numpy()) == 2, "restoring did not bring the step back: put step=step "
               "in the tf.train.Checkpoint (it is also the data position)")
        expect(all(np.array_equal(a, b) for a, b in zip(model.get_weights(), saved,
                                                        strict=True)),
               "restoring did not bring the weights back: put model=model in the checkpoint")
        slots = [np.asarray(v) for v in optimizer.variables]
        expect(len(slots) == len(saved_slots) and all(
            np.array_equal(a, b) for a, b in zip(slots, saved_slots, strict=True)),
               "restoring did not bring the optimizer's momentum and iteration count back: "
               "put optimizer=optimizer in the checkpoint, or training resumes differently")
        for number in (3, 4, 5, 6):
            manager.save(checkpoint_number=number)
        kept = len(manager.checkpoints)
        expect(kept == 3, f"the manager keeps {kept} checkpoints; keep the last 3 "
               "(max_to_keep=3): a worker stopped while saving can be one checkpoint behind "
               "the others, so every worker must still have an older common one")


# --- exercise 4 ---------------------------------------------------------------------------------


@check(points=2)
def newest_common_step(common_fn: Any) -> None:
    """Check ``newest_common_step(steps_by_worker)`` → the newest step every worker has."""
    cases = [
        ([[25, 50, 75], [25, 50, 75]], 75, ""),
        ([[50, 75, 100], [25, 50, 75]], 75,
         "worker 0 saved step 100 but worker 1 was stopped before it did: restore the newest "
         "step present for EVERY worker (75 here), not the newest of all"),
        ([[25, 50, 75], [50, 75, 100]], 75, "the workers may be listed in any order"),
        ([[75, 25, 50], [50, 75]], 75, "the lists are not always sorted"),
    ]
    for steps, want, hint in cases:
        got = common_fn([list(s) for s in steps])
        common.expect_returned(got, "newest_common_step", "the newest common step")
        expect(not isinstance(got, list | tuple | set),
               f"return one step (an int), not {got!r}")
        expect(got != 25 or want == 25, "restore the NEWEST common step (75), not the oldest: "
               "you would redo more training than needed")
        expect(got == want, hint or f"for {steps} the newest common step is {want}, got {got}")
    award(1)
    expect(common_fn([[10, 20, 30], [20, 30, 40], [30, 40]]) == 30,
           "with three workers ([10, 20, 30], [20, 30, 40], [30, 40]) the answer is 30: "
           "intersect every worker's steps")
    expect(common_fn([[], []]) is None,
           "when no worker has a checkpoint yet, return None (train from scratch)")
    expect(common_fn([[10, 20], [30, 40]]) is None,
           "when the workers share no step ([10, 20] and [30, 40]), return None")
