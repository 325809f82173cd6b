"""``course.checks.lab02``: what the shared wrong-answer table cannot express.

The reference answers and every wrong answer (``tests/wrong_answers/lab02.py``) are run by
``tests/test_check_contract.py``; here: a right answer written another way, the check's
synthetic task, the rules' agreement with the solution, and the two shared helpers Lab 02
added, ``course.callbacks.StepLosses`` and ``course.plots.step_losses``.
"""

from __future__ import annotations

import io
import re

import keras
import matplotlib
import numpy as np
import pytest
from reference import solution_namespace
from wrong_answers import lab02 as table

from course.checks import lab02 as checks

matplotlib.use("Agg")

LOSS = keras.losses.SparseCategoricalCrossentropy


@pytest.fixture(scope="module")
def solution() -> dict:
    """The notebook's solution cells, executed in order into one namespace."""
    return solution_namespace(table.LAB.path, table.LAB.setup)


def grade(check_name: str, answer):
    """Run one lab02 check quietly and return its CheckResult."""
    return getattr(checks, check_name)(answer, verbose=False)


# --- scenarios that the table cannot express ----------------------------------------------------

def test_relu_as_its_own_layer_is_accepted():
    result = grade("build_deep_mlp", table.bd_relu_layers)
    assert result.passed, result.hint


def test_the_early_stopping_task_overfits_early_and_clearly():
    """The check's synthetic task: best epoch early, then validation loss rising for good."""
    model, train, val = checks._overfitting_task()
    val_loss = model.fit(train, epochs=12, validation_data=val, verbose=0,
                         shuffle=False).history["val_loss"]
    best = int(np.argmin(val_loss))
    assert 1 <= best <= 5, val_loss
    assert all(later > val_loss[best] + 0.005 for later in val_loss[best + 1:]), val_loss


def test_reference_functions_agree_with_the_checks_own(solution):
    for sizes in ([784, 512, 10], [784, 128, 64, 10], [5]):
        assert solution["count_params"](sizes) == checks.reference_count_params(sizes)
    for history in (checks.TYPICAL, checks.OVERFIT):
        assert solution["best_epoch"](history) == checks.reference_best_epoch(history)
        assert solution["is_overfitting"](history) == checks.reference_is_overfitting(history)


@pytest.mark.parametrize(("rule", "truth"), [
    (table.io_still_falling, "last training loss below the best epoch's"),
    (table.io_consecutive_rises, "no improvement since the best epoch"),
    (table.io_compares_patience_ago, "no improvement since the best epoch"),
])
def test_the_rival_rules_agree_with_the_reference_on_the_old_histories(rule, truth):
    """Why the check needed new histories: each rival rule passes every old one."""
    old = [checks.OVERFIT, checks._history([1.0, 0.6, 0.45, 0.35, 0.3], [1.1, 0.75, 0.6, 0.52,
                                                                           0.48]),
           checks._history([1.0, 0.7, 0.5, 0.4, 0.3, 0.25], [1.0, 0.8, 0.65, 0.55, 0.5, 0.52])]
    assert [rule(h) for h in old] == [checks.reference_is_overfitting(h) for h in old], truth


# --- shared helpers added for Lab 02 ------------------------------------------------------------

STEP_LINE = re.compile(r"^Epoch (\d), Step (\d+), Loss: (\d+\.\d{3})$")


def test_step_losses_records_each_batch_own_loss(capsys):
    """Each recorded loss is the batch's own loss, computed from the weights the step used."""
    from course.callbacks import StepLosses

    rng = np.random.default_rng(0)
    x = rng.normal(size=(37, 8)).astype("float32")
    x[-1] *= 20
    y = rng.integers(0, 3, 37)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(
        3, kernel_initializer=keras.initializers.GlorotUniform(seed=0))])
    loss_fn = LOSS(from_logits=True)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=loss_fn)
    expected: list[float] = []

    def record(batch, logs=None):
        xb, yb = x[batch * 4:(batch + 1) * 4], y[batch * 4:(batch + 1) * 4]
        expected.append(float(loss_fn(yb, model(xb, training=False))))

    steps = StepLosses(every=4)
    capsys.readouterr()
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
              callbacks=[keras.callbacks.LambdaCallback(on_train_batch_begin=record), steps])
    lines = capsys.readouterr().out.splitlines()
    assert len(steps.losses) == 20 and steps.steps_per_epoch == 10  # 9 full batches + 1 of 1
    np.testing.assert_allclose(steps.losses, expected, rtol=1e-4, atol=1e-5)
    assert [STEP_LINE.match(line).groups()[:2] for line in lines] == [
        ("1", "4"), ("1", "8"), ("2", "4"), ("2", "8")]
    assert abs(float(STEP_LINE.match(lines[2])[3]) - expected[13]) <= 0.0005 + 1e-6
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[steps])
    assert len(steps.losses) == 10, "each fit starts a new record"


def test_step_losses_prints_nothing_by_default(capsys):
    from course.callbacks import StepLosses

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=LOSS(from_logits=True))
    steps = StepLosses()
    capsys.readouterr()
    model.fit(np.zeros((8, 2), "float32"), np.zeros(8, "int32"), batch_size=2, verbose=0,
              callbacks=[steps])
    assert capsys.readouterr().out == "" and len(steps.losses) == 4


def test_step_losses_plot_draws_steps_mean_and_epoch_marks():
    from matplotlib.figure import Figure

    from course import plots

    losses = np.linspace(2.0, 0.5, 30) + np.tile([0.1, -0.1], 15)
    fig = plots.step_losses(losses, window=5, steps_per_epoch=10, title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    raw, smooth, *marks = ax.get_lines()
    assert raw.get_xdata().tolist() == list(range(1, 31))
    np.testing.assert_allclose(smooth.get_ydata(), np.convolve(losses, np.ones(5) / 5, "valid"))
    assert smooth.get_xdata()[0] == 5
    assert [m.get_xdata()[0] for m in marks] == [10.5, 20.5]
    assert ax.get_xlabel() == "step" and ax.get_title() == "t"
    fig.savefig(io.BytesIO(), format="png", dpi=30)
    assert len(plots.step_losses([1.0, 0.5], window=20).axes[0].get_lines()) == 1
