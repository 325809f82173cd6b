"""Reproducibility: one call seeds every random number generator the labs use."""

from __future__ import annotations

import os
import random

import numpy as np

DEFAULT_SEED = 42


def set_seed(seed: int = DEFAULT_SEED, deterministic: bool = True) -> int:
    """Seed Python, NumPy, TensorFlow and Keras, and optionally turn on op determinism.

    Args:
        seed: the seed for every generator.
        deterministic: also call ``tf.config.experimental.enable_op_determinism()``
            so that GPU kernels and parallel reductions give the same bits each run.

    Returns:
        The seed, so a notebook can print what it used.
    """
    import keras
    import tensorflow as tf

    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)  # seeds Python, NumPy and the backend again
    tf.random.set_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    return seed
