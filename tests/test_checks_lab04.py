"""Lab 04's checks pass the solution notebook's answers and reject the wrong answers learners write.

The reference answers are executed from the solution notebook's ``nbgrader.solution`` cells
(with the setup cell's imports), never copied here.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from reference import solution_namespace  # noqa: E402

from course.checks import lab04 as checks  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "solutions" / "04_custom_training_loop.ipynb"
NAMES = ["loss", "accuracy", "val_loss", "val_accuracy"]


@pytest.fixture(scope="module")
def ref() -> dict:
    return solution_namespace(NOTEBOOK)


def _fails(result, fragment: str, points: float = 0) -> None:
    """The check failed with a hint containing ``fragment`` and earned exactly ``points``."""
    assert not result.passed, result.line()
    assert fragment in result.hint, result.line()
    assert result.points == points, result.line()


def test_every_check_passes_the_reference(ref, capsys):
    results = [checks.train_step(ref["train_step"]), checks.test_step(ref["test_step"]),
               checks.fit_loop(ref["fit_loop"])]
    assert [r.line() for r in results if not r.passed] == []
    assert sum(r.points for r in results) == 8
    assert capsys.readouterr().out.count("✔") == 3


def test_every_exercise_in_the_notebook_has_its_check():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    graded = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"].get("points")
              for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert graded == {"lab04-train_step-check": 3, "lab04-test_step-check": 2,
                      "lab04-fit_loop-check": 3}
    for grade_id, points in graded.items():
        name = grade_id.removeprefix("lab04-").removesuffix("-check")
        assert getattr(checks, name).max_points == points


def test_the_packaged_loop_passes_the_checks_too():
    from course import loops

    results = [checks.train_step(loops.train_step, verbose=False),
               checks.test_step(loops.test_step, verbose=False),
               checks.fit_loop(loops.fit_loop, verbose=False)]
    assert all(r.passed for r in results), [r.line() for r in results]


# ------------------------------------------------------------------------------ train_step


def _train_step(loss="mean", training=True, apply=True, sign=1.0, numpy=False,
                update_loss=True, update_accuracy=True, reset=False, new_optimizer=False,
                loss_outside=False, returns=True):
    """A train_step with one typical mistake switched on."""
    def step(model, optimizer, loss_fn, x, y, loss_metric, accuracy_metric):
        with tf.GradientTape() as tape:
            logits = model(x, training=True) if training else model(x)
            if not loss_outside:
                per_example = keras.losses.sparse_categorical_crossentropy(
                    y, logits, from_logits=True)
                value = {"mean": loss_fn(y, logits), "sum": tf.reduce_sum(per_example),
                         "vector": per_example}[loss]
        if loss_outside:
            value = loss_fn(y, logits)
        grads = tape.gradient(value, model.trainable_variables)
        if apply:
            opt = keras.optimizers.SGD(0.1, momentum=0.9) if new_optimizer else optimizer
            opt.apply_gradients(zip([sign * g for g in grads], model.trainable_variables,
                                    strict=True))
        if reset:
            loss_metric.reset_state()
            accuracy_metric.reset_state()
        mean = tf.reduce_mean(value)
        if update_loss:
            loss_metric.update_state(mean)
        if update_accuracy:
            accuracy_metric.update_state(y, logits)
        if not returns:
            return None
        return mean.numpy() if numpy else mean

    return step


TRAIN_STEP_MISTAKES = {
    "loss computed outside the tape": (_train_step(loss_outside=True), "inside the `with"),
    "loss summed over the batch": (_train_step(loss="sum"), "summed over the batch"),
    "per-example losses differentiated": (_train_step(loss="vector"), "summed over the batch"),
    ".numpy() inside the step": (_train_step(numpy=True), "calls .numpy()", 2),
    "gradients never applied": (_train_step(apply=False), "did not change"),
    "gradient ascent": (_train_step(sign=-1.0), "up the gradient"),
    "training flag missing": (_train_step(training=False), "training=True"),
    "loss metric not updated": (_train_step(update_loss=False), "loss_metric was not updated"),
    "accuracy not updated": (_train_step(update_accuracy=False), "accuracy_metric was not"),
    "metrics reset in the step": (_train_step(reset=True), "do not reset", 1),
    "a new optimizer every step": (_train_step(new_optimizer=True), "the optimizer you are given",
                                   1),
    "nothing returned": (_train_step(returns=False), "returned None"),
}


@pytest.mark.parametrize("mistake", TRAIN_STEP_MISTAKES)
def test_train_step_rejects_typical_mistakes(mistake):
    wrong, fragment, *points = TRAIN_STEP_MISTAKES[mistake]
    _fails(checks.train_step(wrong, verbose=False), fragment, *points)


def test_train_step_gives_partial_credit_for_an_eager_only_step():
    result = checks.train_step(_train_step(numpy=True), verbose=False)
    assert result.points == 2


# ------------------------------------------------------------------------------- test_step


def _test_step(training=False, loss="mean", update=True, reset=False, numpy=False,
               returns=True):
    def step(model, loss_fn, x, y, loss_metric, accuracy_metric):
        logits = model(x, training=training)
        value = loss_fn(y, logits)
        if loss == "sum":
            value = value * tf.cast(tf.shape(y)[0], value.dtype)
        if reset:
            loss_metric.reset_state()
            accuracy_metric.reset_state()
        if update:
            loss_metric.update_state(value)
            accuracy_metric.update_state(y, logits)
        if not returns:
            return None
        return value.numpy() if numpy else value

    return step


TEST_STEP_MISTAKES = {
    "training=True at evaluation": (_test_step(training=True), "training=False"),
    "loss summed": (_test_step(loss="sum"), "summed"),
    "metrics not updated": (_test_step(update=False), "not updated"),
    "metrics reset in the step": (_test_step(reset=True), "do not reset", 1),
    ".numpy() inside the step": (_test_step(numpy=True), "calls .numpy()", 1),
    "nothing returned": (_test_step(returns=False), "returned None"),
}


@pytest.mark.parametrize("mistake", TEST_STEP_MISTAKES)
def test_test_step_rejects_typical_mistakes(mistake):
    wrong, fragment, *points = TEST_STEP_MISTAKES[mistake]
    _fails(checks.test_step(wrong, verbose=False), fragment, *points)


def test_test_step_must_not_update_the_weights(ref):
    def also_trains(model, loss_fn, x, y, loss_metric, accuracy_metric):
        with tf.GradientTape() as tape:
            loss = ref["test_step"](model, loss_fn, x, y, loss_metric, accuracy_metric)
        grads = tape.gradient(loss, model.trainable_variables)
        keras.optimizers.SGD(0.1).apply_gradients(zip(grads, model.trainable_variables,
                                                      strict=True))
        return loss

    _fails(checks.test_step(also_trains, verbose=False), "changed the weights")


# -------------------------------------------------------------------------------- fit_loop


def _fit_loop(  # noqa: C901 — one switch per typical mistake, all in one loop to compare
        reset=True, record="mean", validate_on="val", validate="after", bar="verbose",
        per_batch=False, keys=tuple(NAMES)):
    """A fit_loop with one typical mistake switched on."""
    def loop(  # noqa: C901 — the switches of _fit_loop
            model, optimizer, loss_fn, train_ds, val_ds, epochs, train_step=None,
            test_step=None, verbose=1):
        metrics = [keras.metrics.Mean(), keras.metrics.SparseCategoricalAccuracy(),
                   keras.metrics.Mean(), keras.metrics.SparseCategoricalAccuracy()]
        history = {key: [] for key in keys}

        def run_validation():
            for metric in metrics[2:]:
                metric.reset_state()
            for x, y in (train_ds if validate_on == "train" else val_ds):
                test_step(model, loss_fn, x, y, *metrics[2:])

        for _ in range(epochs):
            if reset:
                for metric in metrics:
                    metric.reset_state()
            if validate == "before":
                run_validation()
            show = {"verbose": verbose, "always": 1, "never": 0}[bar]
            progbar = keras.utils.Progbar(len(train_ds), verbose=show)
            for step, (x, y) in enumerate(train_ds, start=1):
                loss = train_step(model, optimizer, loss_fn, x, y, *metrics[:2])
                progbar.update(step, [("loss", float(loss))])
                if per_batch:
                    history["loss"].append(float(loss))
            if validate == "after":
                run_validation()
            values = [float(loss) if record == "last" else float(metrics[0].result()),
                      *(float(m.result()) for m in metrics[1:])]
            for key, value in zip(NAMES, values, strict=True):
                if key in history and not (per_batch and key == "loss"):
                    history[key].append(value)
        return history

    return loop


FIT_LOOP_MISTAKES = {
    "metrics never reset": (_fit_loop(reset=False), "reset the metrics", 1),
    "last batch's loss recorded": (_fit_loop(record="last"), "last batch's loss", 1),
    "validated on the training data": (_fit_loop(validate_on="train"), "on the training data",
                                       2),
    "validated before training": (_fit_loop(validate="before"), "before the epoch's training",
                                  2),
    "progress bar ignores verbose": (_fit_loop(bar="always"), "verbose=0", 2),
    "no progress bar": (_fit_loop(bar="never"), "show progress", 2),
    "a value per batch": (_fit_loop(per_batch=True), "one per epoch"),
    "no validation history": (_fit_loop(keys=("loss", "accuracy")), "has no ['val_loss'"),
    "nothing returned": (lambda *args, **kwargs: None, "returned None"),
}


@pytest.mark.parametrize("mistake", FIT_LOOP_MISTAKES)
def test_fit_loop_rejects_typical_mistakes(mistake):
    wrong, fragment, *points = FIT_LOOP_MISTAKES[mistake]
    _fails(checks.fit_loop(wrong, verbose=False), fragment, *points)


def test_fit_loop_gives_partial_credit_when_only_validation_is_wrong():
    assert checks.fit_loop(_fit_loop(validate_on="train"), verbose=False).points == 2
    assert checks.fit_loop(_fit_loop(reset=False), verbose=False).points == 1
