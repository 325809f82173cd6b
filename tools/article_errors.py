"""Run a minimal snippet of our own for each way an article's code cannot run as written.

Each snippet does the same thing as the article's code (no flatten before the first linear
layer, a name used but never defined, a module used but never imported, TF1 API under TF2) and
the last line of the error it raises is what the labs quote. ``tests/test_articles.py`` runs
them (the PyTorch ones only where PyTorch is installed: ``pip install -e ".[bench]"``) and
checks the labs' quotes against them.

    python tools/article_errors.py        # prints "key: error line" for each snippet
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

# Article B's network applied to one batch as ToTensor() + DataLoader(batch_size=64) give it.
NO_FLATTEN = """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)

Net()(torch.rand(64, 1, 28, 28))
"""

SNIPPETS: dict[str, tuple[str | None, str]] = {
    # key: (module the snippet needs, code)
    "B-no-flatten": ("torch", NO_FLATTEN),
    "B-torchvision": ("torch", "import torch\ntorchvision.datasets.MNIST\n"),
    "C-X_train": (None, "feed_dict = {'x': X_train}\n"),
    "C-placeholder": ("tensorflow",
                      "import tensorflow as tf\ntf.placeholder(tf.float32, [None, 10])\n"),
    "D-train_loader": (None, "for data, target in train_loader:\n    pass\n"),
    "E-trainloader": (None, "for i, (inputs, labels) in enumerate(trainloader):\n    pass\n"),
}


def available(module: str | None) -> bool:
    """Return True when the snippet's module can be imported here (or it needs none)."""
    return module is None or importlib.util.find_spec(module) is not None


def error_line(key: str, timeout: float = 120.0) -> str:
    """Run snippet ``key`` in a fresh interpreter and return the last line of its error."""
    env_quiet = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [sys.executable, "-c", SNIPPETS[key][1]], capture_output=True, text=True,
        timeout=timeout, env={**os.environ, **env_quiet}, check=False,
    )
    if result.returncode == 0:
        raise AssertionError(f"snippet {key} ran without error")
    return result.stderr.strip().splitlines()[-1]


def main() -> int:
    """Print each snippet's error line, or why it was skipped."""
    for key, (module, _) in SNIPPETS.items():
        line = error_line(key) if available(module) else f"(skipped: {module} not installed)"
        print(f"{key}: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
