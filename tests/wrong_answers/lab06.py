"""Lab 06's wrong answers: what learners write for each exercise, and what the hint must say.

Besides the classic mistakes: a worker's pipeline that never reshuffles (seen in its second
epoch), a shuffle buffer smaller than the data, forgotten returns.
"""

from __future__ import annotations

import json
from pathlib import Path

import tensorflow as tf

from course import data
from wrong_answers import Lab, WrongAnswer

LAB = Lab(
    notebook="06_multi_worker_training.ipynb",
    checks="course.checks.lab06",
    exercises={name: name for name in ("make_tf_config", "worker_dataset", "make_checkpoint",
                                       "newest_common_step")},
    points=8,
    setup="import json\nimport numpy as np, tensorflow as tf\nfrom course import data\n",
)
NOT_DONE = "def {name}(*args, **kwargs):\n    raise NotImplementedError()\n"


def config_dict(workers, index):
    return {"cluster": {"worker": list(workers)}, "task": {"type": "worker", "index": index}}


def config_repr(workers, index):
    return str(config_dict(workers, index))


def config_index_text(workers, index):
    return json.dumps({"cluster": {"worker": list(workers)},
                       "task": {"type": "worker", "index": str(index)}})


def config_chief(workers, index):
    return json.dumps({"cluster": {"worker": list(workers)},
                       "task": {"type": "chief", "index": index}})


def config_own_address(workers, index):
    return json.dumps({"cluster": {"worker": [workers[index]]},
                       "task": {"type": "worker", "index": index}})


def config_fixed(workers, index):
    return json.dumps({"cluster": {"worker": list(workers[:2])},
                       "task": {"type": "worker", "index": 1}})


def config_extra_key(workers, index):
    return json.dumps({**config_dict(workers, index), "environment": "cloud"})


def _global(images, labels, batch, seed, **kwargs):
    options = {"shuffle": True, "seed": seed, "drop_remainder": True, **kwargs}
    return data.make_pipeline(images, labels, batch, **options)


def ds_whole_batch(ctx, images, labels, global_batch_size, seed=0):
    return _global(images, labels, global_batch_size, seed)


def ds_same_slice(ctx, images, labels, global_batch_size, seed=0):
    b = ctx.get_per_replica_batch_size(global_batch_size)
    return _global(images, labels, global_batch_size, seed).map(lambda x, y: (x[:b], y[:b]))


def ds_shard_first(ctx, images, labels, global_batch_size, seed=0):
    i, n = ctx.input_pipeline_id, ctx.num_input_pipelines
    return _global(images[i::n], labels[i::n], ctx.get_per_replica_batch_size(global_batch_size),
                   seed)


def ds_swapped(ctx, images, labels, global_batch_size, seed=0):
    b = ctx.get_per_replica_batch_size(global_batch_size)
    i = ctx.num_input_pipelines - 1 - ctx.input_pipeline_id
    return _global(images, labels, global_batch_size, seed).map(
        lambda x, y: (x[i * b:(i + 1) * b], y[i * b:(i + 1) * b]))


def ds_keep_remainder(ctx, images, labels, global_batch_size, seed=0):
    b = ctx.get_per_replica_batch_size(global_batch_size)
    i = ctx.input_pipeline_id
    return _global(images, labels, global_batch_size, seed, drop_remainder=False).map(
        lambda x, y: (x[i * b:(i + 1) * b], y[i * b:(i + 1) * b]))


def ds_fixed_seed(ctx, images, labels, global_batch_size, seed=0):
    b = ctx.get_per_replica_batch_size(global_batch_size)
    i = ctx.input_pipeline_id
    return _global(images, labels, global_batch_size, 0).map(
        lambda x, y: (x[i * b:(i + 1) * b], y[i * b:(i + 1) * b]))


def ds_two_workers_only(ctx, images, labels, global_batch_size, seed=0):
    b = global_batch_size // 2
    i = ctx.input_pipeline_id
    return _global(images, labels, global_batch_size, seed).map(
        lambda x, y: (x[i * b:(i + 1) * b], y[i * b:(i + 1) * b]))


def ds_repeated(ctx, images, labels, global_batch_size, seed=0):
    b = ctx.get_per_replica_batch_size(global_batch_size)
    i = ctx.input_pipeline_id
    return _global(images, labels, global_batch_size, seed).map(
        lambda x, y: (x[i * b:(i + 1) * b], y[i * b:(i + 1) * b])).repeat()


def ckpt_no_optimizer(model, optimizer, step, directory):
    checkpoint = tf.train.Checkpoint(step=step, model=model)
    return checkpoint, tf.train.CheckpointManager(checkpoint, directory, max_to_keep=3)


def ckpt_no_step(model, optimizer, step, directory):
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    return checkpoint, tf.train.CheckpointManager(checkpoint, directory, max_to_keep=3)


def ckpt_keep_one(model, optimizer, step, directory):
    checkpoint = tf.train.Checkpoint(step=step, model=model, optimizer=optimizer)
    return checkpoint, tf.train.CheckpointManager(checkpoint, directory, max_to_keep=1)


def ckpt_only_checkpoint(model, optimizer, step, directory):
    return tf.train.Checkpoint(step=step, model=model, optimizer=optimizer)


def ckpt_shared_folder(model, optimizer, step, directory):
    checkpoint = tf.train.Checkpoint(step=step, model=model, optimizer=optimizer)
    return checkpoint, tf.train.CheckpointManager(checkpoint, str(Path(directory).parent /
                                                                  "shared-ckpt"), max_to_keep=3)


def common_max_of_all(steps_by_worker):
    return max(max(steps) for steps in steps_by_worker)


def common_min_of_all(steps_by_worker):
    return min(min(steps) for steps in steps_by_worker)


def common_first_worker(steps_by_worker):
    return max(steps_by_worker[0])


def common_last_items(steps_by_worker):
    return min(steps[-1] for steps in steps_by_worker)


def common_min_of_latest(steps_by_worker):
    return min(max(steps) for steps in steps_by_worker)


def common_returns_set(steps_by_worker):
    return set(steps_by_worker[0]).intersection(*steps_by_worker[1:])


def common_zero_default(steps_by_worker):
    return max(set(steps_by_worker[0]).intersection(*steps_by_worker[1:]), default=0)




def config_forgot_return(workers, index):
    json.dumps({"cluster": {"worker": list(workers)}, "task": {"type": "worker", "index": index}})


def _sliced(ds, ctx, global_batch_size):
    per_replica = ctx.get_per_replica_batch_size(global_batch_size)
    start = ctx.input_pipeline_id * per_replica
    return ds.map(lambda x, y: (x[start:start + per_replica], y[start:start + per_replica]))


def ds_no_reshuffle(ctx, images, labels, global_batch_size, seed=0):
    x = data.preprocess(images)
    ds = tf.data.Dataset.from_tensor_slices((x, labels.astype("int32")))
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=False)
    return _sliced(ds.batch(global_batch_size, drop_remainder=True), ctx, global_batch_size)


def ds_buffer_1000(ctx, images, labels, global_batch_size, seed=0):
    x = data.preprocess(images)
    ds = tf.data.Dataset.from_tensor_slices((x, labels.astype("int32"))).shuffle(1000, seed=seed)
    return _sliced(ds.batch(global_batch_size, drop_remainder=True), ctx, global_batch_size)


def ds_forgot_return(ctx, images, labels, global_batch_size, seed=0):
    data.make_pipeline(images, labels, global_batch_size, shuffle=True, seed=seed,
                       drop_remainder=True)


def ckpt_keep_all(model, optimizer, step, directory):
    checkpoint = tf.train.Checkpoint(step=step, model=model, optimizer=optimizer)
    return checkpoint, tf.train.CheckpointManager(checkpoint, directory, max_to_keep=None)


def ckpt_forgot_return(model, optimizer, step, directory):
    checkpoint = tf.train.Checkpoint(step=step, model=model, optimizer=optimizer)
    tf.train.CheckpointManager(checkpoint, directory, max_to_keep=3)


def common_forgot_return(steps_by_worker):
    shared = set(steps_by_worker[0]).intersection(*steps_by_worker[1:])
    max(shared) if shared else None


def common_sorted_first_items(steps_by_worker):
    return max(min(steps) for steps in steps_by_worker)


WRONG = [
    WrongAnswer("make_tf_config", "config-dict", config_dict,
                ("hold strings",), 0),
    WrongAnswer("make_tf_config", "config-repr", config_repr,
                ("not valid JSON",), 0),
    WrongAnswer("make_tf_config", "config-index-text", config_index_text,
                ("integer index",), 0),
    WrongAnswer("make_tf_config", "config-chief", config_chief,
                ("'type': 'worker'",), 0),
    WrongAnswer("make_tf_config", "config-own-address", config_own_address,
                ("must list every worker",), 0),
    WrongAnswer("make_tf_config", "config-fixed", config_fixed,
                ("use the workers and index arguments",), 0),
    WrongAnswer("make_tf_config", "config-extra-key", config_extra_key,
                ("exactly two keys",), 0),
    WrongAnswer("worker_dataset", "ds-whole-batch", ds_whole_batch,
                ("trains on 128",), 0),
    WrongAnswer("worker_dataset", "ds-repeated", ds_repeated,
                ("never ends",), 0),
    WrongAnswer("worker_dataset", "ds-same-slice", ds_same_slice,
                ("both workers get the same examples",), 1),
    WrongAnswer("worker_dataset", "ds-shard-first", ds_shard_first,
                (".shard() before batching",), 1),
    WrongAnswer("worker_dataset", "ds-swapped", ds_swapped,
                ("worker 0 the first half",), 1),
    WrongAnswer("worker_dataset", "ds-keep-remainder", ds_keep_remainder,
                ("drop_remainder=True",), 1),
    WrongAnswer("worker_dataset", "ds-fixed-seed", ds_fixed_seed,
                ("seed=1",), 2),
    WrongAnswer("worker_dataset", "ds-two-workers-only", ds_two_workers_only,
                ("4 workers",), 2),
    WrongAnswer("make_checkpoint", "ckpt-only-checkpoint", ckpt_only_checkpoint,
                ("(checkpoint, manager)",), 0),
    WrongAnswer("make_checkpoint", "ckpt-shared-folder", ckpt_shared_folder,
                ("`directory` argument",), 0),
    WrongAnswer("make_checkpoint", "ckpt-no-step", ckpt_no_step,
                ("step=step",), 1),
    WrongAnswer("make_checkpoint", "ckpt-no-optimizer", ckpt_no_optimizer,
                ("optimizer=optimizer",), 1),
    WrongAnswer("make_checkpoint", "ckpt-keep-one", ckpt_keep_one,
                ("max_to_keep=3",), 1),
    WrongAnswer("newest_common_step", "common-max-of-all", common_max_of_all,
                ("EVERY worker",), 0),
    WrongAnswer("newest_common_step", "common-first-worker", common_first_worker,
                ("EVERY worker",), 0),
    WrongAnswer("newest_common_step", "common-min-of-all", common_min_of_all,
                ("NEWEST common step",), 0),
    WrongAnswer("newest_common_step", "common-last-items", common_last_items,
                ("not always sorted",), 0),
    WrongAnswer("newest_common_step", "common-returns-set", common_returns_set,
                ("return one step",), 0),
    WrongAnswer("newest_common_step", "common-min-of-latest", common_min_of_latest,
                ("raised ValueError",), 1),
    WrongAnswer("newest_common_step", "common-zero-default", common_zero_default,
                ("return None",), 1),
    WrongAnswer("make_tf_config", "config-forgot-return", config_forgot_return,
                ("your make_tf_config returns None", "`return`"), 0),
    WrongAnswer("make_tf_config", "not-done", NOT_DONE.format(name="make_tf_config"),
                ("not done yet",), 0),
    WrongAnswer("worker_dataset", "ds-no-reshuffle", ds_no_reshuffle,
                ("second epoch comes in the same order",), 1),
    WrongAnswer("worker_dataset", "ds-buffer-1000", ds_buffer_1000,
                ("shuffle buffer is too small",), 1),
    WrongAnswer("worker_dataset", "ds-forgot-return", ds_forgot_return,
                ("your worker_dataset returns None",), 0),
    WrongAnswer("worker_dataset", "not-done", NOT_DONE.format(name="worker_dataset"),
                ("not done yet",), 0),
    WrongAnswer("make_checkpoint", "ckpt-keep-all", ckpt_keep_all, ("max_to_keep=3",), 1),
    WrongAnswer("make_checkpoint", "ckpt-forgot-return", ckpt_forgot_return,
                ("your make_checkpoint returns None",), 0),
    WrongAnswer("make_checkpoint", "not-done", NOT_DONE.format(name="make_checkpoint"),
                ("not done yet",), 0),
    WrongAnswer("newest_common_step", "common-forgot-return", common_forgot_return,
                ("your newest_common_step returns None",), 0),
    WrongAnswer("newest_common_step", "common-newest-of-oldest", common_sorted_first_items,
                ("NEWEST common step",), 0),
    WrongAnswer("newest_common_step", "not-done", NOT_DONE.format(name="newest_common_step"),
                ("not done yet",), 0),
]
