"""Keras callbacks the labs share."""

from __future__ import annotations

from typing import Any

import keras


class RunningLoss(keras.callbacks.Callback):
    """Print ``[epoch, batch] loss: x.xxx`` every ``every`` batches, as the articles' loop does.

    Keras reports in ``logs["loss"]`` the mean loss since the start of the epoch; this
    callback recovers each batch's own loss from it and prints the mean of the last
    ``every`` of them — exactly PyTorch's ``running_loss / 100``.

    Args:
        every: print after every ``every`` batches (the original uses 100).
    """

    def __init__(self, every: int = 100) -> None:
        super().__init__()
        self.every = every

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Reset the window at the start of each epoch."""
        self.epoch, self.window, self.previous_mean = epoch, 0.0, 0.0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Accumulate this batch's loss and print when the window is full."""
        mean = float((logs or {})["loss"])
        self.window += (batch + 1) * mean - batch * self.previous_mean
        self.previous_mean = mean
        if (batch + 1) % self.every == 0:
            print("[%d, %5d] loss: %.3f" % (self.epoch + 1, batch + 1, self.window / self.every))
            self.window = 0.0
