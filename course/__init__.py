"""Keras Course Kit: the helpers every lab and tool shares.

Importing ``course`` is cheap: it never imports TensorFlow. Submodules that need
TensorFlow (``course.data`` pipelines, ``course.callbacks``, ``course.plots``)
import it when they are used.
"""

from __future__ import annotations

import os

__version__ = "0.1.0"

# Quiet TensorFlow's C++ start-up lines before anything imports it. The oneDNN notice
# ignores TF_CPP_MIN_LOG_LEVEL in TF 2.21, so its ops are switched off too (measured in
# benchmarks/README.md). A learner's own setting always wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
