"""``course.env``: the version check, the TensorFlow-free version lookup, the device line."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from unittest import mock

import pytest

from course import env
from course.env import SetupError


def assert_one_sentence(message: str) -> None:
    assert message.endswith("."), message
    assert ". " not in message and "\n" not in message and "Traceback" not in message, message


def test_versions_reports_what_is_installed():
    found = env.versions()
    assert found["python"] == ".".join(map(str, sys.version_info[:3]))
    assert found["tensorflow"] == metadata.version("tensorflow")
    assert found["keras"] == metadata.version("keras")


def test_versions_does_not_import_tensorflow():
    code = "import course.env, sys; course.env.versions(); print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "False"


def test_check_versions_accepts_the_installed_versions():
    assert env.check_versions() == env.versions()
    good = {"python": "3.11.0", "tensorflow": "2.16.0rc0", "keras": "3.0.0"}
    assert env.check_versions(good) == good
    newer = {"python": "3.13.1", "tensorflow": "2.21.0", "keras": "3.15.1.dev2025"}
    assert env.check_versions(newer) == newer


@pytest.mark.parametrize(
    ("found", "name", "have", "need"),
    [
        ({"python": "3.11.0", "tensorflow": "2.15.1", "keras": "3.1"}, "tensorflow", "2.15.1",
         "2.16"),
        ({"python": "3.11.0", "tensorflow": "2.16.1", "keras": "2.15.0"}, "keras", "2.15.0",
         "3.0"),
        ({"python": "3.10.13", "tensorflow": "2.16.1", "keras": "3.1"}, "python", "3.10.13",
         "3.11"),
        ({"python": "3.11.0", "tensorflow": "missing", "keras": "3.1"}, "tensorflow", "missing",
         "2.16"),
        ({"python": "3.11.0", "tensorflow": "2.16.1"}, "keras", "missing", "3.0"),
    ],
)
def test_check_versions_names_the_package_and_the_minimum(found, name, have, need):
    with pytest.raises(SetupError) as info:
        env.check_versions(found)
    message = str(info.value)
    state = f"{name} is not installed" if have == "missing" else f"{name} {have} is installed"
    assert state in message and f"{name} >= {need}" in message
    assert "pip install -e ." in message
    assert_one_sentence(message)


def _fake_devices(n_gpus: int):
    def list_physical_devices(device_type=None):
        return [f"/physical_device:{device_type}:{i}" for i in range(
            {"CPU": 1, "GPU": n_gpus}[device_type])]
    return list_physical_devices


def test_devices_without_gpu():
    import tensorflow as tf

    with mock.patch.object(tf.config, "list_physical_devices", _fake_devices(0)):
        text = env.devices()
    assert text.startswith("1 CPU, no GPU") and "every lab runs on CPU" in text


def test_devices_with_two_gpus():
    import tensorflow as tf

    with mock.patch.object(tf.config, "list_physical_devices", _fake_devices(2)):
        text = env.devices()
    assert text == "1 CPU, 2 GPU"


def test_devices_on_this_machine_names_the_cpu():
    assert "CPU" in env.devices()


def test_the_minimum_python_is_pyproject_s_requires_python():
    import re
    from pathlib import Path

    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    floor = re.search(r'requires-python = ">=(\d+)\.(\d+)"', pyproject)
    assert floor and tuple(int(v) for v in floor.groups()) == env.MINIMUM["python"]
