"""``course.checks.lab06``: each check passes the reference and rejects typical mistakes.

The reference implementations are executed from ``solutions/06_multi_worker_training.ipynb``
(the ``nbgrader`` solution cells), never copied here. None of these checks needs replicas or
workers, so they run in this process.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from course import data
from course.checks import LOG
from course.checks import lab06 as checks

tf = pytest.importorskip("tensorflow")

NOTEBOOK = Path(__file__).resolve().parents[1] / "solutions" / "06_multi_worker_training.ipynb"
SETUP = "import json\nimport numpy as np, tensorflow as tf\nfrom course import data\n"

EXERCISES = {
    "make_tf_config": ("lab06-make_tf_config", "make_tf_config"),
    "worker_dataset": ("lab06-worker_dataset", "worker_dataset"),
    "make_checkpoint": ("lab06-make_checkpoint", "make_checkpoint"),
    "newest_common_step": ("lab06-newest_common_step", "newest_common_step"),
}


@pytest.fixture(scope="module")
def solution() -> dict:
    """The notebook's solution cells, executed in order into one namespace."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    namespace: dict = {}
    exec(SETUP, namespace)
    namespace["__grade_ids__"] = []
    for cell in nb.cells:
        grader = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and grader.get("solution"):
            exec(compile(cell.source, f"<{grader['grade_id']}>", "exec"), namespace)
            namespace["__grade_ids__"].append(grader["grade_id"])
    return namespace


@pytest.fixture(autouse=True)
def empty_log():
    LOG.clear()
    yield
    LOG.clear()


def grade(check_name: str, answer):
    return getattr(checks, check_name)(answer, verbose=False)


def test_notebook_has_exactly_the_four_solution_cells(solution):
    assert solution["__grade_ids__"] == [grade_id for grade_id, _ in EXERCISES.values()]


def test_every_public_check_is_covered():
    public = {name for name, value in vars(checks).items()
              if callable(value) and hasattr(value, "max_points")}
    assert public == set(EXERCISES)


def test_points_add_up_to_the_labs_eight():
    assert sum(getattr(checks, name).max_points for name in EXERCISES) == 8


@pytest.mark.parametrize("check_name", list(EXERCISES))
def test_reference_earns_full_points(solution, check_name, capsys):
    check = getattr(checks, check_name)
    result = check(solution[EXERCISES[check_name][1]])
    assert result.hint == "" and result.passed
    assert result.points == result.max_points == check.max_points
    points = f"{check.max_points:g}"
    assert capsys.readouterr().out == f"✔ {check_name}: {points}/{points} points\n"


def test_the_kit_s_own_versions_pass_too():
    """The workers run course.multiworker's copies: they must be what the lab teaches."""
    from course import multiworker

    assert grade("make_tf_config", multiworker.tf_config).passed
    assert grade("worker_dataset", multiworker.worker_dataset).passed
    assert grade("newest_common_step", multiworker.newest_common_step).passed


# --- wrong answers ------------------------------------------------------------------------------

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


WRONG = [
    ("make_tf_config", config_dict, 0, "hold strings"),
    ("make_tf_config", config_repr, 0, "not valid JSON"),
    ("make_tf_config", config_index_text, 0, "integer index"),
    ("make_tf_config", config_chief, 0, "'type': 'worker'"),
    ("make_tf_config", config_own_address, 0, "must list every worker"),
    ("make_tf_config", config_fixed, 0, "use the workers and index arguments"),
    ("make_tf_config", config_extra_key, 0, "exactly two keys"),
    ("worker_dataset", ds_whole_batch, 0, "trains on 128"),
    ("worker_dataset", ds_repeated, 0, "never ends"),
    ("worker_dataset", ds_same_slice, 1, "both workers get the same examples"),
    ("worker_dataset", ds_shard_first, 1, ".shard() before batching"),
    ("worker_dataset", ds_swapped, 1, "worker 0 the first half"),
    ("worker_dataset", ds_keep_remainder, 1, "drop_remainder=True"),
    ("worker_dataset", ds_fixed_seed, 2, "seed=1"),
    ("worker_dataset", ds_two_workers_only, 2, "4 workers"),
    ("make_checkpoint", ckpt_only_checkpoint, 0, "(checkpoint, manager)"),
    ("make_checkpoint", ckpt_shared_folder, 0, "`directory` argument"),
    ("make_checkpoint", ckpt_no_step, 1, "step=step"),
    ("make_checkpoint", ckpt_no_optimizer, 1, "optimizer=optimizer"),
    ("make_checkpoint", ckpt_keep_one, 1, "max_to_keep=3"),
    ("newest_common_step", common_max_of_all, 0, "EVERY worker"),
    ("newest_common_step", common_first_worker, 0, "EVERY worker"),
    ("newest_common_step", common_min_of_all, 0, "NEWEST common step"),
    ("newest_common_step", common_last_items, 0, "not always sorted"),
    ("newest_common_step", common_returns_set, 0, "return one step"),
    ("newest_common_step", common_min_of_latest, 1, "raised ValueError"),
    ("newest_common_step", common_zero_default, 1, "return None"),
]


@pytest.mark.parametrize(("check_name", "answer", "points", "phrase"), WRONG,
                         ids=[answer.__name__ for _, answer, _, _ in WRONG])
def test_wrong_answer_is_rejected_with_its_hint(check_name, answer, points, phrase):
    result = grade(check_name, answer)
    assert result.points == points, result
    assert not result.passed
    assert phrase in result.hint, result.hint


def test_generated_lab_runs_until_its_first_gap():
    """The untouched lab executes up to its first gap, then NotImplementedError (no worker
    has been started by then)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    root = NOTEBOOK.parents[1]
    lab = nbformat.read(root / "labs" / NOTEBOOK.name, as_version=4)
    client = NotebookClient(lab, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(root / "labs")}})
    with pytest.raises(CellExecutionError) as failure:
        client.execute()
    assert failure.value.ename == "NotImplementedError", failure.value.evalue
    printed = "".join(o.get("text", "") for c in lab.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert "✘ make_tf_config: 0/1 points" in printed
