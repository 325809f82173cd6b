"""``course.repro.set_seed``: one call makes every generator the labs use repeat itself."""

from __future__ import annotations

import os
import random
from unittest import mock

import numpy as np
import pytest


def draw(seed: int) -> dict[str, np.ndarray]:
    """Seed, build a small model and draw from every generator; return what came out."""
    import keras
    import tensorflow as tf

    from course.repro import set_seed

    assert set_seed(seed) == seed
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
                              keras.layers.Dropout(0.5), keras.layers.Dense(2)])
    return {
        "weights": np.concatenate([w.ravel() for w in model.get_weights()]),
        "dropout": np.asarray(model(np.ones((2, 4), "float32"), training=True)),
        "numpy": np.random.rand(3),
        "python": np.array([random.random() for _ in range(3)]),
        "tensorflow": tf.random.uniform((3,)).numpy(),
        "keras": keras.random.uniform((3,)).numpy(),
    }


@pytest.fixture(autouse=True)
def _restore_hashseed(monkeypatch):
    monkeypatch.setenv("PYTHONHASHSEED", os.environ.get("PYTHONHASHSEED", "0"))


def test_same_seed_gives_identical_values():
    first, second = draw(3), draw(3)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    assert os.environ["PYTHONHASHSEED"] == "3"


def test_different_seeds_give_different_values():
    three, four = draw(3), draw(4)
    for name in three:
        assert not np.array_equal(three[name], four[name]), name


@pytest.mark.parametrize("deterministic", [True, False])
def test_deterministic_flag_controls_op_determinism(deterministic):
    import tensorflow as tf

    from course.repro import set_seed

    with mock.patch.object(tf.config.experimental, "enable_op_determinism") as enable:
        set_seed(5, deterministic=deterministic)
    assert enable.call_count == int(deterministic)
