"""``course.devices``: ``make_strategy`` on CPU (1, 2, 4 replicas), its GPU branch with mocked
device lists, the too-late error, and single-device vs mirrored equivalence.

TensorFlow splits the CPU into logical devices only before it initialises them, once per
process — and this pytest process has initialised them long ago. So everything that needs a
fresh TensorFlow runs in a subprocess (``_fresh``), which prints one JSON line of results.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from course import devices
from course.devices import DevicePlan, StrategyError, plan_devices

ROOT = Path(__file__).resolve().parents[1]


def _fresh(code: str, timeout: float = 300) -> dict:
    """Run ``code`` in a new Python process; it must end with ``emit(dict)``."""
    prelude = ("import json, sys\n"
               "def emit(result):\n"
               "    print('RESULT' + json.dumps(result)); sys.stdout.flush()\n")
    done = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
    assert done.returncode == 0 and lines, (done.stdout[-2000:], done.stderr[-3000:])
    return json.loads(lines[-1][len("RESULT"):])


# --- the plan (pure) and the GPU branch, mocked ---------------------------------------------------

def test_plan_uses_gpus_when_there_are_enough():
    plan = plan_devices(2, ["gpu0", "gpu1", "gpu2"])
    assert plan == DevicePlan(2, "gpu", ("/gpu:0", "/gpu:1"), 3)
    assert "2 GPUs" in plan.describe() and "NCCL" in plan.describe()


@pytest.mark.parametrize("gpus", [0, 1])
def test_plan_falls_back_to_simulated_cpus(gpus):
    plan = plan_devices(2, ["gpu"] * gpus)
    assert plan.kind == "cpu" and plan.devices == ("/cpu:0", "/cpu:1")
    line = plan.describe()
    assert line.startswith("Devices: ")  # nbval_sanitize.cfg hides this line
    assert "simulated CPU" in line and "ReductionToOneDevice" in line
    assert ("no GPU visible" if gpus == 0 else "1 GPU visible") in line


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None])
def test_plan_rejects_bad_counts(bad):
    with pytest.raises(ValueError, match="whole number"):
        plan_devices(bad, [])


class FakeStrategy:
    """Stands in for tf.distribute.MirroredStrategy: records how it was made."""

    def __init__(self, devices=None, cross_device_ops=None):
        self.devices, self.cross_device_ops = list(devices), cross_device_ops
        self.num_replicas_in_sync = len(self.devices)


def _mock_gpus(n: int):
    import tensorflow as tf

    real = tf.config.list_physical_devices

    def listing(kind=None):
        if kind == "GPU":
            return [tf.config.PhysicalDevice(f"/physical_device:GPU:{i}", "GPU")
                    for i in range(n)]
        return real(kind)

    return listing


@pytest.mark.parametrize(("n_gpus", "n_replicas"), [(2, 2), (4, 2), (4, 4), (1, 1)])
def test_make_strategy_mirrors_real_gpus_without_touching_the_cpu(n_gpus, n_replicas, capsys):
    import tensorflow as tf

    with mock.patch.object(tf.config, "list_physical_devices", _mock_gpus(n_gpus)), \
            mock.patch.object(tf.distribute, "MirroredStrategy", FakeStrategy), \
            mock.patch.object(tf.config, "set_logical_device_configuration",
                              side_effect=AssertionError("the CPU must not be split")):
        strategy = devices.make_strategy(n_replicas)
    assert strategy.devices == [f"/gpu:{i}" for i in range(n_replicas)]
    assert strategy.cross_device_ops is None  # TensorFlow's default: NCCL across GPUs
    assert strategy.course_plan.kind == "gpu"
    out = capsys.readouterr().out
    assert out.startswith("Devices: MirroredStrategy with") and f"{n_replicas} GPU" in out


def test_make_strategy_with_too_few_gpus_simulates_replicas_on_the_cpu():
    import tensorflow as tf

    with mock.patch.object(tf.config, "list_physical_devices", _mock_gpus(1)), \
            mock.patch.object(tf.distribute, "MirroredStrategy", FakeStrategy), \
            mock.patch.object(devices, "split_cpu", return_value=4) as split:
        strategy = devices.make_strategy(2, verbose=False)
    split.assert_called_once_with(2)
    assert strategy.devices == ["/cpu:0", "/cpu:1"]
    assert isinstance(strategy.cross_device_ops, tf.distribute.ReductionToOneDevice)


def test_make_strategy_quiets_tensorflow_info_lines():
    import logging

    import tensorflow as tf

    logger = tf.get_logger()
    before = logger.level
    try:
        logger.setLevel(logging.INFO)  # what TensorFlow does in a notebook
        with mock.patch.object(tf.distribute, "MirroredStrategy", FakeStrategy), \
                mock.patch.object(devices, "split_cpu", return_value=4):
            devices.make_strategy(2, verbose=False)
        assert logger.getEffectiveLevel() == logging.WARNING
        logger.setLevel(logging.ERROR)  # a stricter choice is kept
        devices.quiet_tensorflow_info()
        assert logger.getEffectiveLevel() == logging.ERROR
    finally:
        logger.setLevel(before)


def test_max_weight_difference():
    a = [np.zeros((2, 3), "float32"), np.ones(3, "float32")]
    b = [np.full((2, 3), 1e-7, "float32"), np.ones(3, "float32") - 0.25]
    assert devices.max_weight_difference(a, a) == 0.0
    assert devices.max_weight_difference(a, b) == 0.25
    with pytest.raises(ValueError, match="weight arrays"):
        devices.max_weight_difference(a, a[:1])
    with pytest.raises(ValueError, match="shapes differ"):
        devices.max_weight_difference(a, [np.zeros((3, 2)), np.ones(3)])


# --- real strategies, each in a fresh process ----------------------------------------------------

@pytest.mark.parametrize("first", [1, 2, 4])
def test_first_call_splits_the_cpu_once_for_1_2_and_4_replicas(first):
    """Any first count works; later calls with the other counts still work in that process."""
    result = _fresh(f"""
        import tensorflow as tf
        from course import devices
        made = {{}}
        strategy = devices.make_strategy({first}, verbose=False)
        assert tf.constant(1.0) is not None  # TensorFlow's devices are initialised from here on
        for n in [{first}, 1, 2, 4]:
            s = devices.make_strategy(n, verbose=False)
            ones = s.run(lambda: tf.constant(1.0))
            made[n] = [s.num_replicas_in_sync, float(s.reduce("SUM", ones, axis=None)),
                       list(s.extended.worker_devices)]
        emit({{"made": made, "cpus": len(tf.config.list_logical_devices("CPU")),
               "kind": strategy.course_plan.kind}})
    """)
    assert result["kind"] == "cpu" and result["cpus"] == 4  # split once into CPU_SPLIT devices
    for n in ("1", "2", "4"):
        replicas, total, names = result["made"][n]
        assert replicas == int(n) and total == float(n)
        assert [name.rsplit(":", 1)[-1] for name in names] == [str(i) for i in range(int(n))]


def test_lab_setup_cell_leaves_the_split_possible_and_too_late_is_explained():
    """Lab 01's setup (check_setup + load_mnist) may run before make_strategy; a tensor may not."""
    result = _fresh("""
        from course import data, devices
        from course.env import check_setup
        check_setup(seed=42)
        data.load_mnist()
        strategy = devices.make_strategy(2)
        import tensorflow as tf
        tf.constant(0)
        try:
            devices.make_strategy(8, verbose=False)
            error = ""
        except devices.StrategyError as exc:
            error = str(exc)
        emit({"replicas": strategy.num_replicas_in_sync, "error": error})
    """)
    assert result["replicas"] == 2
    assert "restart the kernel and call make_strategy(8)" in result["error"]
    assert "4 CPU device(s)" in result["error"]


def test_calling_make_strategy_too_late_raises_a_clear_error():
    result = _fresh("""
        import tensorflow as tf
        from course import devices
        tf.data.Dataset.range(3)  # a dataset initialises the devices
        try:
            devices.make_strategy(2)
            error, kind = "", ""
        except devices.StrategyError as exc:
            error, kind = str(exc), type(exc).__mro__[1].__name__
        one = devices.make_strategy(1, verbose=False)  # one replica needs no split
        emit({"error": error, "kind": kind, "one": one.num_replicas_in_sync})
    """)
    assert result["kind"] == "RuntimeError"
    assert "restart the kernel and call make_strategy(2) before anything touches TensorFlow " \
           "devices" in result["error"]
    assert result["one"] == 1
    assert StrategyError.__mro__[1] is RuntimeError


def test_two_and_four_replicas_give_one_device_s_weights_and_the_bug_does_not():
    """The lesson of Lab 05 as a unit test: same weights within 1e-6; per-replica mean ≠."""
    result = _fresh("""
        import keras, numpy as np, tensorflow as tf
        from course import devices
        devices.make_strategy(4, verbose=False)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((640, 20)).astype("float32")
        y = (x[:, :5].argmax(axis=1)).astype("int32")
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(64, drop_remainder=True)
        def build():
            m = keras.Sequential([keras.Input((20,)), keras.layers.Dense(32, activation="relu"),
                                  keras.layers.Dense(5)])
            m.set_weights([np.random.default_rng(1).normal(0, 0.3, w.shape).astype("float32")
                           for w in m.get_weights()])
            return m
        per_example = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
        def one_device():
            m, opt = build(), keras.optimizers.SGD(0.05, momentum=0.9)
            for xb, yb in ds:
                with tf.GradientTape() as tape:
                    loss = tf.reduce_mean(per_example(yb, m(xb, training=True)))
                g = tape.gradient(loss, m.trainable_variables)
                opt.apply_gradients(zip(g, m.trainable_variables))
            return m.get_weights()
        def mirrored(n, bug=False):
            s = devices.make_strategy(n, verbose=False)
            with s.scope():
                m, opt = build(), keras.optimizers.SGD(0.05, momentum=0.9)
            def replica(xb, yb):
                with tf.GradientTape() as tape:
                    pe = per_example(yb, m(xb, training=True))
                    loss = tf.reduce_mean(pe) if bug else tf.nn.compute_average_loss(
                        pe, global_batch_size=64)
                g = tape.gradient(loss, m.trainable_variables)
                opt.apply_gradients(zip(g, m.trainable_variables))
                return loss
            @tf.function
            def step(xb, yb):
                return s.reduce("SUM", s.run(replica, args=(xb, yb)), axis=None)
            for xb, yb in s.experimental_distribute_dataset(ds):
                step(xb, yb)
            return m.get_weights()
        ref = one_device()
        emit({"two": devices.max_weight_difference(mirrored(2), ref),
              "four": devices.max_weight_difference(mirrored(4), ref),
              "bug": devices.max_weight_difference(mirrored(2, bug=True), ref)})
    """)
    assert result["two"] < 1e-6 and result["four"] < 1e-6, result
    assert result["bug"] > 1e-3, result


def test_fit_with_steps_per_execution_and_a_second_strategy_size():
    """ReductionToOneDevice: fit works with steps_per_execution > 1, and after a 2-replica
    strategy a 4-replica one still trains in the same process."""
    result = _fresh("""
        import keras, numpy as np, tensorflow as tf
        from course import devices
        losses = {}
        for n in (2, 4):
            s = devices.make_strategy(n, verbose=False)
            with s.scope():
                m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)])
                m.compile(optimizer="sgd", steps_per_execution=2,
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
            rng = np.random.default_rng(0)
            x = rng.standard_normal((256, 8)).astype("float32")
            y = rng.integers(0, 3, 256).astype("int32")
            ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32, drop_remainder=True)
            history = m.fit(ds.repeat(), epochs=2, steps_per_epoch=8, verbose=0, shuffle=False)
            losses[n] = history.history["loss"]
        emit(losses)
    """)
    assert all(len(v) == 2 and np.isfinite(v).all() for v in result.values()), result
