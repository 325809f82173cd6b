"""``course.tracing``: a fresh model's training step is traced once, and trains the same."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras.src.backend.tensorflow import trainer  # noqa: E402

from course import tracing  # noqa: E402
from course.repro import set_seed  # noqa: E402

if tracing.keras_trainer() is None:
    pytest.skip(f"Keras {keras.__version__} has no symbolic build step to move: the change is "
                "not installed there", allow_module_level=True)


@pytest.fixture
def keras_own(monkeypatch):
    """Start from Keras' own build (whatever an earlier test installed) and restore it after."""
    original = trainer.TensorFlowTrainer._maybe_symbolic_build
    while getattr(original, tracing._MARK, False):
        original = original.__wrapped__
    monkeypatch.setattr(trainer.TensorFlowTrainer, "_maybe_symbolic_build", original)
    return original


def train(epochs: int = 2) -> tuple[np.ndarray, int, list[float]]:
    """Train a fresh model on a shuffled dataset; return its weights, traces and losses."""
    set_seed(7)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 12)).astype("float32")
    y = rng.integers(0, 3, size=200).astype("int32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(200, seed=1).batch(32)
    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dropout(0.3), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    traces = []
    keras_step = model.train_step
    model.train_step = lambda data: traces.append(1) or keras_step(data)  # runs only when traced
    history = model.fit(ds, epochs=epochs, verbose=0, shuffle=False)
    weights = np.concatenate([w.ravel() for w in model.get_weights()])
    return weights, len(traces), history.history["loss"]


def test_fresh_fit_traces_once_and_trains_identically(keras_own):
    weights, traces, losses = train()
    assert traces == 2  # Keras alone: the first trace creates the optimizer's slots
    assert tracing.build_before_tracing() is True
    weights_now, traces_now, losses_now = train()
    assert traces_now == 1
    assert losses_now == losses
    np.testing.assert_array_equal(weights_now, weights)


def test_installing_twice_is_a_no_op(keras_own):
    assert tracing.build_before_tracing() is True
    installed = trainer.TensorFlowTrainer._maybe_symbolic_build
    assert tracing.build_before_tracing() is False
    assert trainer.TensorFlowTrainer._maybe_symbolic_build is installed


def test_a_wrong_model_fails_in_fit_as_it_does_without_the_change(keras_own):
    def fit_wrong_labels() -> str:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        model.compile(optimizer="sgd", loss="mse")
        with pytest.raises(ValueError) as raised:  # labels (8, 5) against outputs (8, 3)
            model.fit(np.ones((8, 4), "float32"), np.ones((8, 5), "float32"), verbose=0)
        return type(raised.value).__name__

    keras_error = fit_wrong_labels()
    tracing.build_before_tracing()
    assert fit_wrong_labels() == keras_error


def test_when_the_symbolic_build_fails_keras_builds_in_the_trace(keras_own, monkeypatch):
    tracing.build_before_tracing()

    def cannot(self, **kwargs):
        raise RuntimeError("cannot build from shapes")

    monkeypatch.setattr(trainer.TensorFlowTrainer, "_symbolic_build", cannot)
    weights, traces, _ = train(epochs=1)
    assert traces == 2 and np.isfinite(weights).all()


def test_a_distribution_strategy_keeps_keras_own_build(keras_own, monkeypatch):
    calls = []
    monkeypatch.setattr(trainer.TensorFlowTrainer, "_maybe_symbolic_build",
                        lambda self, iterator=None, data_batch=None: calls.append(self))
    tracing.build_before_tracing()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model._distribute_strategy = tf.distribute.get_strategy()
    model._maybe_symbolic_build(data_batch=(np.ones((2, 4), "float32"),))
    assert calls == [model]
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    plain._maybe_symbolic_build(data_batch=(np.ones((2, 4), "float32"),))
    assert calls == [model]


def test_a_keras_without_the_build_step_is_left_alone(keras_own, monkeypatch):
    def keras_build(self, iterator=None, data_batch=None):
        return None

    older = type("OlderTrainer", (), {"_maybe_symbolic_build": keras_build})  # no _symbolic_build
    monkeypatch.setattr(trainer, "TensorFlowTrainer", older)
    assert tracing.keras_trainer() is None
    assert tracing.build_before_tracing() is False
    assert older._maybe_symbolic_build is keras_build


def test_check_setup_installs_it(keras_own, capsys):
    from course.env import check_setup

    check_setup(seed=None)
    assert getattr(trainer.TensorFlowTrainer._maybe_symbolic_build, tracing._MARK, False)


def test_the_benchmark_measures_both_builds_in_fresh_processes():
    from benchmarks import tracing as benchmark

    result = benchmark.measure("fit", "course", repeats=1)  # no speed is asserted here
    assert len(result["all"]) == 1 and result["median"] > 0
