"""TROUBLESHOOTING.md quotes the messages learners actually see: reproduce them, find them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from course import data

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "TROUBLESHOOTING.md").read_text()


def _message(call) -> str:
    with pytest.raises(Exception) as info:
        call()
    return f"{type(info.value).__name__}: {info.value}"


def test_the_offline_full_mnist_sentence_is_quoted_exactly(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_reachable", lambda url, timeout: False)
    with pytest.raises(data.DataError) as info:
        data.fetch_full(tmp_path)
    sentence = str(info.value).replace(str(tmp_path / "mnist.npz"),
                                       "/home/you/.keras/datasets/mnist.npz")
    assert f"course.data.DataError: {sentence}\n" in GUIDE


def test_tensorflow_1_and_keras_2_messages_are_quoted_exactly():
    import keras
    import tensorflow as tf

    messages = [
        _message(lambda: tf.placeholder(tf.float32, [None, 784])),
        _message(lambda: tf.Session()),
        _message(lambda: tf.compat.v1.placeholder(tf.float32, [None, 784])),
        _message(lambda: keras.optimizers.SGD(lr=0.01)),
        _message(lambda: exec("from keras.src.engine.base_layer import Layer")),
        _message(lambda: exec("from keras.layers.core import Dense")),
        _message(lambda: keras.Sequential([keras.Input((2,))]).fit_generator),
    ]
    for message in messages:
        assert message in GUIDE, message
    kerastensor = _message(lambda: tf.nn.relu(keras.Input((4,))))
    assert kerastensor.split(" You are likely")[0] in GUIDE


def test_the_virtual_devices_message_is_quoted_exactly():
    import tensorflow as tf

    tf.constant(1.0)  # devices initialised: the call below can only fail, never split them
    cpu = tf.config.list_physical_devices("CPU")[0]
    message = _message(lambda: tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 3))
    assert message == "RuntimeError: Virtual devices cannot be modified after being initialized"
    assert message in GUIDE


def test_the_tensorboard_helper_message_is_quoted_exactly(tmp_path, monkeypatch):
    import builtins

    from course import tensorboard

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name == "tensorboard":
            raise ModuleNotFoundError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    assert _message(lambda: tensorboard.callback("lab", root=tmp_path)) in GUIDE


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_jupyterlab_as_root_message_is_quoted(tmp_path):
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "JUPYTER_DATA_DIR": str(tmp_path / "d")}
    result = subprocess.run([sys.executable, "-m", "jupyter", "lab", "--no-browser",
                             "--ServerApp.ip=127.0.0.1", "--port=0"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    line = "Running as root is not recommended. Use --allow-root to bypass."
    assert line in result.stderr + result.stdout
    assert f"ServerApp] {line}" in GUIDE


def test_every_section_the_index_links_to_exists():
    import re

    anchors = set(re.findall(r"\]\(#([a-z0-9-]+)\)", GUIDE))
    headings = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
                for h in re.findall(r"^## (.+)$", GUIDE, re.M)}
    assert anchors and anchors <= headings, anchors - headings
