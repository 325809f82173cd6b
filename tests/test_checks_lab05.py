"""``course.checks.lab05``: each check passes the reference and rejects typical mistakes.

The checks need 2 replicas, and TensorFlow splits the CPU into logical devices only before
it initialises them — which other tests in this pytest process have long done. So every
check runs in ONE fresh Python process (``_grade_all``, started by the module fixture): it
calls ``make_strategy(2)`` first, executes the solution cells of
``solutions/05_mirrored_strategy.ipynb`` (never copied here), grades the reference and every
wrong answer below, and prints the results as JSON. The tests then assert, per answer, the
points earned and a phrase of the hint.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "solutions" / "05_mirrored_strategy.ipynb"
SETUP = ("import keras, numpy as np, tensorflow as tf\n"
         "from course import data, devices\n")

# check name -> (grade_id of the solution cell, name the cell defines)
EXERCISES = {
    "scale_batch_and_lr": ("lab05-scale_batch_and_lr", "scale_batch_and_lr"),
    "build_compiled_mlp": ("lab05-build_compiled_mlp", "build_compiled_mlp"),
    "distribute_batches": ("lab05-distribute_batches", "distribute_batches"),
    "replica_loss": ("lab05-replica_loss", "replica_loss"),
    "make_train_step": ("lab05-make_train_step", "make_train_step"),
}


# --- wrong answers (module-level so that the grading process can import them) -------------------

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


# check name -> [(answer name, points, phrase of the hint)]
WRONG = {
    "scale_batch_and_lr": [
        ("lr_no_multiply", 0, "per_replica_batch × n_replicas"),
        ("lr_times_replicas", 0, "not by the number of replicas"),
        ("lr_unscaled", 0, "linear scaling rule"),
        ("lr_float_batch", 0, "whole number"),
        ("lr_fixed_base", 0, "base_lr and base_batch arguments"),
    ],
    "build_compiled_mlp": [
        ("build_outside", 0, "ordinary variables"),
        ("build_other_strategy", 0, "another strategy"),
        ("build_small", 0, "407,050"),
        ("build_not_compiled", 1, "compile the model"),
        ("build_adam", 1, "use SGD"),
        ("build_fixed_lr", 1, "pass learning_rate and momentum"),
        ("build_probabilities", 1, "from_logits=True"),
        ("build_no_metrics", 1, "accuracy"),
    ],
    "distribute_batches": [
        ("dist_not_distributed", 0, "experimental_distribute_dataset"),
        ("dist_per_replica_batch", 0, "global batch size (64)"),
        ("dist_keep_remainder", 1, "drop_remainder=True"),
        ("dist_unshuffled", 1, "original order"),
        ("dist_fixed_seed", 1, "seed=1"),
    ],
    "replica_loss": [
        ("loss_replica_mean", 0, "classic bug"),
        ("loss_sum", 0, "sum of the losses"),
        ("loss_probabilities", 0, "probabilities"),
        ("loss_not_reduced", 0, "scalar"),
        ("loss_fixed_global", 1, "global_batch_size argument"),
    ],
    "make_train_step": [
        ("step_returns_none", 0, "must return the step function"),
        ("step_per_replica", 0, "one loss per replica"),
        ("step_no_apply", 0, "did not change"),
        ("step_classic_bug", 0, "2× too large"),
        ("step_reduce_mean", 1, "not MEAN"),
        ("step_eager", 2, "@tf.function"),
        ("step_ignores_loss_fn", 2, "ignores its loss_fn"),
    ],
}


def _grade_all() -> dict:
    """Run in a fresh process: grade the reference and every wrong answer; return results."""
    import nbformat

    from course import devices

    devices.make_strategy(2, verbose=False)  # before anything touches TensorFlow's devices
    from course.checks import LOG
    from course.checks import lab05 as checks

    answers = sys.modules[__name__]

    namespace: dict = {}
    exec(SETUP, namespace)
    grade_ids = []
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        grader = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and grader.get("solution"):
            exec(compile(cell.source, f"<{grader['grade_id']}>", "exec"), namespace)
            grade_ids.append(grader["grade_id"])

    def run(check_name, answer):
        result = getattr(checks, check_name)(answer, verbose=False)
        return {"points": result.points, "max_points": result.max_points, "hint": result.hint,
                "line": result.line()}

    results = {"grade_ids": grade_ids, "reference": {}, "wrong": {},
               "max_points": {name: getattr(checks, name).max_points for name in EXERCISES}}
    for check_name, (_, defined) in EXERCISES.items():
        results["reference"][check_name] = run(check_name, namespace[defined])
        for answer_name, _, _ in WRONG[check_name]:
            results["wrong"][answer_name] = run(check_name, getattr(answers, answer_name))
    results["public"] = sorted(name for name, value in vars(checks).items()
                               if callable(value) and hasattr(value, "max_points"))
    results["logged"] = len(LOG.results)
    return results


@pytest.fixture(scope="module")
def graded() -> dict:
    code = ("import json, sys; sys.path.insert(0, %r); import test_checks_lab05 as t; "
            "print('RESULTS' + json.dumps(t._grade_all()))" % str(Path(__file__).parent))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    marker = [line for line in done.stdout.splitlines() if line.startswith("RESULTS")]
    assert done.returncode == 0 and marker, done.stderr[-3000:]
    return json.loads(marker[-1][len("RESULTS"):])


def test_notebook_has_exactly_the_five_solution_cells(graded):
    assert graded["grade_ids"] == [grade_id for grade_id, _ in EXERCISES.values()]


def test_every_public_check_is_covered(graded):
    assert graded["public"] == sorted(EXERCISES)


def test_points_add_up_to_the_labs_ten(graded):
    assert sum(graded["max_points"].values()) == 10


@pytest.mark.parametrize("check_name", list(EXERCISES))
def test_reference_earns_full_points(graded, check_name):
    result = graded["reference"][check_name]
    assert result["hint"] == "", result
    assert result["points"] == result["max_points"]
    points = f"{result['max_points']:g}"
    assert result["line"] == f"✔ {check_name}: {points}/{points} points"  # the promised output


@pytest.mark.parametrize(("check_name", "answer", "points", "phrase"),
                         [(c, a, p, h) for c, rows in WRONG.items() for a, p, h in rows],
                         ids=[a for rows in WRONG.values() for a, _, _ in rows])
def test_wrong_answer_is_rejected_with_its_hint(graded, check_name, answer, points, phrase):
    result = graded["wrong"][answer]
    assert result["points"] == points, result
    assert result["points"] < result["max_points"]
    assert phrase in result["hint"], result["hint"]
    assert result["line"].startswith(f"✘ {check_name}: ")


def test_generated_lab_runs_until_its_first_gap():
    """The untouched lab executes up to its first gap, then NotImplementedError."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    lab = nbformat.read(ROOT / "labs" / NOTEBOOK.name, as_version=4)
    client = NotebookClient(lab, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(ROOT / "labs")}})
    with pytest.raises(CellExecutionError) as failure:
        client.execute()
    assert failure.value.ename == "NotImplementedError", failure.value.evalue
    printed = "".join(o.get("text", "") for c in lab.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert "replicas in sync: 2" in printed and "✘ scale_batch_and_lr: 0/1 points" in printed
