"""Keras callbacks the labs share."""

from __future__ import annotations

from typing import Any

import keras


class RunningLoss(keras.callbacks.Callback):
    """Print ``[epoch, batch] loss: x.xxx`` every ``every`` batches, as the articles' loop does.

    The printed value is the mean of the last ``every`` batch losses — exactly PyTorch's
    ``running_loss / 100``. Keras only reports in ``logs["loss"]`` the mean since the start of
    the epoch, weighted by batch size, so each batch's own loss is read from the model's loss
    tracker (``total`` and ``count`` grow by ``loss · batch size`` and ``batch size``); that
    stays exact when the last batch of an epoch is smaller.

    Args:
        every: print after every ``every`` batches (the original uses 100).
    """

    def __init__(self, every: int = 100) -> None:
        super().__init__()
        self.every = every

    def _tracker_state(self) -> tuple[float, float]:
        tracker = next(m for m in self.model.metrics if m.name == "loss")
        return float(tracker.total), float(tracker.count)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Reset the window at the start of each epoch."""
        self.epoch, self.window, self.previous = epoch, 0.0, (0.0, 0.0)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Add this batch's own loss to the window and print when the window is full."""
        total, count = self._tracker_state()
        self.window += (total - self.previous[0]) / max(count - self.previous[1], 1e-12)
        self.previous = (total, count)
        if (batch + 1) % self.every == 0:
            print("[%d, %5d] loss: %.3f" % (self.epoch + 1, batch + 1, self.window / self.every))
            self.window = 0.0


class StepLosses(keras.callbacks.Callback):
    """Record the loss of every training step; optionally print it every ``every`` steps.

    Some articles print the loss after every optimizer step (``print(f"Epoch {epoch},
    Step {i}, Loss: {loss.item()}")``). Printing hundreds of lines hides the trend, so this
    callback keeps every step's loss in :attr:`losses` (for a plot) and prints only every
    ``every``-th step. Like :class:`RunningLoss`, it reads each batch's own loss from the
    model's loss tracker, not Keras' running mean in ``logs["loss"]``.

    Args:
        every: print ``Epoch e, Step s, Loss: x.xxx`` after every ``every`` steps of an
            epoch (counted from 1); ``0`` prints nothing.

    Attributes:
        losses: every step's loss, all epochs one after the other (reset by each ``fit``).
        steps_per_epoch: the steps of the last epoch seen (e.g. to mark epochs in a plot).
    """

    def __init__(self, every: int = 0) -> None:
        super().__init__()
        self.every = every
        self.losses: list[float] = []
        self.steps_per_epoch = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Start a new record."""
        self.losses = []

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Remember the epoch; the loss tracker restarts at zero."""
        self.epoch, self.previous = epoch, (0.0, 0.0)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Record this step's own loss and print it every ``every`` steps."""
        tracker = next(m for m in self.model.metrics if m.name == "loss")
        total, count = float(tracker.total), float(tracker.count)
        loss = (total - self.previous[0]) / max(count - self.previous[1], 1e-12)
        self.previous = (total, count)
        self.losses.append(loss)
        self.steps_per_epoch = batch + 1
        if self.every and (batch + 1) % self.every == 0:
            print("Epoch %d, Step %d, Loss: %.3f" % (self.epoch + 1, batch + 1, loss))
