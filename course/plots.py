"""Plots the labs share: learning curves, digit grids, a confusion matrix.

Every function builds and returns a ``matplotlib.figure.Figure`` without touching
pyplot's global state; a notebook displays it by leaving it as the cell's last value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from course.i18n import tr


def _show_figures_inline() -> None:
    """In IPython/Jupyter, display a returned ``Figure`` as a PNG (as ``%matplotlib inline`` does).

    The figures here are made without pyplot, so nothing else turns the inline display on;
    outside IPython this does nothing.
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    if Figure not in shell.display_formatter.formatters["image/png"].type_printers:
        select_figure_formats(shell, {"png"})


def _metric_label(name: str) -> str:
    """The axis label of a Keras metric name, in the course's language when the kit knows it."""
    known = {"loss": tr("loss"), "accuracy": tr("accuracy"), "val_loss": tr("validation loss"),
             "val_accuracy": tr("validation accuracy"), "test loss": tr("test loss"),
             "test accuracy": tr("test accuracy")}
    return known.get(name, name)


def _new_figure(**kwargs: Any) -> Figure:
    """Return a new ``Figure`` (constrained layout) that Jupyter will display as an image."""
    _show_figures_inline()
    return Figure(layout="constrained", **kwargs)


def learning_curves(
    history: Any, metrics: Sequence[str] = ("loss", "accuracy"), title: str = ""
) -> Figure:
    """Plot training (and validation, when present) curves per epoch.

    Args:
        history: a ``keras.callbacks.History`` or its ``.history`` dict.
        metrics: the metric names to plot, one panel each.
        title: an optional figure title.

    Returns:
        The figure.
    """
    logs: Mapping[str, Sequence[float]] = getattr(history, "history", history)
    fig = _new_figure(figsize=(4.5 * len(metrics), 3.2))
    for ax, name in zip(fig.subplots(1, len(metrics), squeeze=False)[0], metrics, strict=True):
        epochs = np.arange(1, len(logs[name]) + 1)
        ax.plot(epochs, logs[name], "o-", label=tr("training"))
        if f"val_{name}" in logs:
            ax.plot(epochs, logs[f"val_{name}"], "s--", label=tr("validation"))
        ax.set(xlabel=tr("epoch"), ylabel=_metric_label(name))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def compare_curves(histories: Mapping[str, Any], metric: str = "val_loss") -> Figure:
    """Plot one metric of several runs on one axis, labelled by the mapping's keys."""
    fig = _new_figure(figsize=(5.5, 3.5))
    ax = fig.subplots()
    for label, history in histories.items():
        values = getattr(history, "history", history)[metric]
        ax.plot(np.arange(1, len(values) + 1), values, "o-", label=label)
    ax.set(xlabel=tr("epoch"), ylabel=_metric_label(metric))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return fig


def digit_grid(
    images: np.ndarray,
    labels: Sequence[int],
    predictions: Sequence[int] | None = None,
    ncols: int = 10,
) -> Figure:
    """Show digits with their labels (and predictions, wrong ones in red).

    Args:
        images: ``(n, 28, 28)`` or ``(n, 784)`` pixel arrays.
        labels: the true labels.
        predictions: optional predicted labels, shown as ``label→prediction``.
        ncols: digits per row.

    Returns:
        The figure.
    """
    images = np.asarray(images).reshape(len(images), 28, 28)
    nrows = max(1, -(-len(images) // ncols))
    fig = _new_figure(figsize=(1.1 * ncols, 1.3 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i >= len(images):
            continue
        ax.imshow(images[i], cmap="gray_r")
        text, color = f"{labels[i]}", "black"
        if predictions is not None:
            text = f"{labels[i]}→{predictions[i]}"
            color = "black" if predictions[i] == labels[i] else "red"
        ax.set_title(text, color=color, fontsize=9)
    return fig


def confusion_matrix(labels: Sequence[int], predictions: Sequence[int], n_classes: int = 10
                     ) -> Figure:
    """Plot the confusion matrix (rows: true digit, columns: predicted digit) with counts."""
    counts = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(counts, (np.asarray(labels), np.asarray(predictions)), 1)
    fig = _new_figure(figsize=(5, 4.5))
    ax = fig.subplots()
    image = ax.imshow(counts, cmap="Blues")
    for (row, col), count in np.ndenumerate(counts):
        if count:
            ax.text(col, row, str(count), ha="center", va="center", fontsize=7,
                    color="white" if count > counts.max() / 2 else "black")
    ax.set(xlabel=tr("predicted"), ylabel=tr("true"), xticks=range(n_classes),
           yticks=range(n_classes))
    fig.colorbar(image, ax=ax)
    return fig


def step_losses(
    losses: Sequence[float], window: int = 20, steps_per_epoch: int | None = None,
    title: str = "",
) -> Figure:
    """Plot the loss of every training step, with its moving average over ``window`` steps.

    Args:
        losses: one loss per optimizer step (e.g. ``course.callbacks.StepLosses().losses``).
        window: the steps averaged by the smoothed line (1 draws no smoothed line).
        steps_per_epoch: when given, a dotted vertical line marks the end of each epoch.
        title: an optional axis title.

    Returns:
        The figure.
    """
    values = np.asarray(losses, dtype=float)
    steps = np.arange(1, len(values) + 1)
    fig = _new_figure(figsize=(6.5, 3.2))
    ax = fig.subplots()
    ax.plot(steps, values, color="tab:blue", alpha=0.35, linewidth=0.8, label=tr("each step"))
    if 1 < window <= len(values):
        smooth = np.convolve(values, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], smooth, color="tab:blue", linewidth=2,
                label=tr(f"mean of the last {window} steps"))
    if steps_per_epoch:
        for end in range(steps_per_epoch, len(values), steps_per_epoch):
            ax.axvline(end + 0.5, color="gray", linestyle=":", linewidth=1)
    ax.set(xlabel=tr("step"), ylabel=tr("loss"), title=title)
    ax.legend()
    return fig


def step_curves(
    curves: Mapping[str, Sequence[float]], ylabel: str = "loss", log: bool = True,
    title: str = "",
) -> Figure:
    """Plot per-step curves (e.g. the loss at each of 1000 steps) of several runs on one axis.

    Curves that coincide are drawn with different line styles so that each stays visible.

    Args:
        curves: label → the values at steps 1, 2, ….
        ylabel: the y-axis label.
        log: use a logarithmic y axis (losses that fall by orders of magnitude).
        title: an optional axis title.

    Returns:
        The figure.
    """
    fig = _new_figure(figsize=(5.5, 3.5))
    ax = fig.subplots()
    styles = ("-", "--", ":", "-.")
    for i, (label, values) in enumerate(curves.items()):
        values = np.asarray(values, dtype=float)
        ax.plot(np.arange(1, len(values) + 1), values, styles[i % len(styles)],
                linewidth=2.5 - 0.4 * (i % len(styles)), label=label)
    ax.set(xlabel=tr("step"), ylabel=_metric_label(ylabel), yscale="log" if log else "linear")
    if title:
        ax.set_title(title)
    ax.legend()
    return fig
