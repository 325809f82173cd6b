"""``course.plots`` (headless, Agg) and ``course.callbacks.RunningLoss`` on a real tiny fit."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from course import plots

LOGS = {"loss": [0.9, 0.5, 0.3], "accuracy": [0.7, 0.85, 0.9]}
VAL = {"val_loss": [1.0, 0.6, 0.5], "val_accuracy": [0.65, 0.8, 0.82]}


def render(fig: Figure) -> None:
    """Draw the figure off-screen, as a notebook would when displaying it."""
    fig.savefig(io.BytesIO(), format="png", dpi=30)


# --- plots ---------------------------------------------------------------------------------

def test_learning_curves_training_only():
    fig = plots.learning_curves(LOGS)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    for ax, name in zip(fig.axes, ("loss", "accuracy"), strict=True):
        (line,) = ax.get_lines()
        assert ax.get_ylabel() == name
        assert line.get_xdata().tolist() == [1, 2, 3]
        assert line.get_ydata().tolist() == LOGS[name]
    render(fig)


def test_learning_curves_with_validation_from_a_history_object():
    fig = plots.learning_curves(SimpleNamespace(history={**LOGS, **VAL}), metrics=("loss",),
                                title="run 1")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    training, validation = fig.axes[0].get_lines()
    assert training.get_ydata().tolist() == LOGS["loss"]
    assert validation.get_ydata().tolist() == VAL["val_loss"]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["training",
                                                                            "validation"]
    assert fig.get_suptitle() == "run 1"
    render(fig)


def test_compare_curves_one_line_per_run():
    runs = {"sgd": {"val_loss": [1.0, 0.8]}, "adam": SimpleNamespace(history={"val_loss": [
        0.7, 0.4]})}
    fig = plots.compare_curves(runs)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["sgd", "adam"]
    assert lines[1].get_ydata().tolist() == [0.7, 0.4]


def test_digit_grid_labels_and_red_mistakes():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 784), dtype=np.uint8)
    labels = [i % 10 for i in range(12)]
    predictions = list(labels)
    predictions[3] = 5
    fig = plots.digit_grid(images, labels, predictions, ncols=5)
    assert isinstance(fig, Figure) and len(fig.axes) == 15  # 3 rows of 5
    titles = [ax.title for ax in fig.axes]
    assert titles[3].get_text() == "3→5" and titles[4].get_text() == "4→4"
    assert to_rgba(titles[3].get_color()) == to_rgba("red")
    assert all(to_rgba(t.get_color()) == to_rgba("black") for i, t in enumerate(titles[:12])
               if i != 3)
    assert [len(ax.get_images()) for ax in fig.axes] == [1] * 12 + [0] * 3
    np.testing.assert_array_equal(fig.axes[0].get_images()[0].get_array(),
                                  images[0].reshape(28, 28))
    render(fig)


def test_digit_grid_without_predictions_shows_labels_in_black():
    images = np.zeros((3, 28, 28), np.uint8)
    fig = plots.digit_grid(images, [7, 1, 4])
    assert len(fig.axes) == 10
    assert [ax.title.get_text() for ax in fig.axes[:3]] == ["7", "1", "4"]
    assert all(to_rgba(ax.title.get_color()) == to_rgba("black") for ax in fig.axes[:3])


def test_confusion_matrix_counts():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 50)
    predictions = np.where(rng.random(50) < 0.7, labels, rng.integers(0, 10, 50))
    fig = plots.confusion_matrix(labels, predictions)
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # matrix and colour bar
    ax = fig.axes[0]
    counts = {(round(t.get_position()[1]), round(t.get_position()[0])): int(t.get_text())
              for t in ax.texts}
    assert sum(counts.values()) == 50
    for (row, col), count in counts.items():
        assert count == np.count_nonzero((labels == row) & (predictions == col))
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    render(fig)


# --- RunningLoss ---------------------------------------------------------------------------

LINE = re.compile(r"^\[(\d),\s+(\d+)\] loss: (\d\.\d{3})$")


def fit_and_capture(capsys, n_examples: int, batch_size: int, every: int, epochs: int):
    """Fit a tiny model with RunningLoss; return the printed lines and each batch's own loss.

    Each batch's loss is computed independently, from the weights at the start of the
    batch (the ones the training step uses) on that batch's examples (``shuffle=False``).
    """
    import keras

    from course.callbacks import RunningLoss

    rng = np.random.default_rng(0)
    x = rng.normal(size=(n_examples, 8)).astype("float32")
    x[-1] *= 20  # one example far from the others (its loss stands out)
    y = rng.integers(0, 3, n_examples)
    model = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(3, kernel_initializer=keras.initializers.GlorotUniform(seed=0)),
    ])
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=loss_fn)
    batch_losses: list[list[float]] = []

    def record(batch, logs=None):
        if batch == 0:
            batch_losses.append([])
        xb = x[batch * batch_size:(batch + 1) * batch_size]
        yb = y[batch * batch_size:(batch + 1) * batch_size]
        batch_losses[-1].append(float(loss_fn(yb, model(xb, training=False))))

    recorder = keras.callbacks.LambdaCallback(on_train_batch_begin=record)
    capsys.readouterr()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0,
              callbacks=[recorder, RunningLoss(every=every)])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    return lines, batch_losses


def check_printed_means(lines, batch_losses, every):
    expected = []
    for epoch, losses in enumerate(batch_losses, start=1):
        for end in range(every, len(losses) + 1, every):
            expected.append((epoch, end, np.mean(losses[end - every:end])))
    assert len(lines) == len(expected), lines
    for line, (epoch, end, mean) in zip(lines, expected, strict=True):
        match = LINE.match(line)
        assert match, line
        assert (int(match[1]), int(match[2])) == (epoch, end)
        assert abs(float(match[3]) - mean) <= 0.0005 + 1e-6, (line, mean)


def test_running_loss_prints_the_mean_of_each_window(capsys):
    lines, batch_losses = fit_and_capture(capsys, n_examples=40, batch_size=4, every=5,
                                          epochs=2)
    assert [len(losses) for losses in batch_losses] == [10, 10]
    assert re.fullmatch(r"\[1,     5\] loss: \d\.\d{3}", lines[0])
    assert lines[1].startswith("[1,    10] loss: ") and lines[2].startswith("[2,     5] loss: ")
    # the windows differ from Keras' running mean, so printing logs["loss"] would fail
    assert abs(np.mean(batch_losses[0][5:]) - np.mean(batch_losses[0])) > 0.002
    check_printed_means(lines, batch_losses, every=5)


def test_running_loss_window_ending_with_a_partial_batch(capsys):
    lines, batch_losses = fit_and_capture(capsys, n_examples=37, batch_size=4, every=5,
                                          epochs=1)
    assert [len(losses) for losses in batch_losses] == [10]
    check_printed_means(lines, batch_losses, every=5)


def test_figures_display_as_png_in_a_jupyter_kernel():
    """A plot left as a cell's last value shows as an image, not just '<Figure size ...>'."""
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(
        "from course import plots\nplots.confusion_matrix([0, 1, 1], [0, 1, 0], n_classes=2)")])
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    (output,) = nb.cells[0].outputs
    assert "image/png" in output["data"], output["data"].keys()
    assert output["data"]["text/plain"].startswith("<Figure size")
