"""``course.tensorboard``: one new directory per run under logs/<lab>/, and a working callback."""

from __future__ import annotations

import builtins
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course import tensorboard

ROOT = Path(__file__).resolve().parent.parent
NOON = time.mktime((2026, 11, 1, 12, 30, 5, 0, 0, -1))


def test_log_dir_is_per_lab_and_stamped_with_the_time(tmp_path):
    path = tensorboard.log_dir("01_sequential_mlp", root=tmp_path, now=NOON)
    assert path == tmp_path / "01_sequential_mlp" / "20261101-123005"
    assert path.is_dir() and not any(path.iterdir())


def test_two_runs_in_the_same_second_never_share_a_directory(tmp_path):
    paths = [tensorboard.log_dir("lab", root=tmp_path, now=NOON) for _ in range(3)]
    assert [p.name for p in paths] == ["20261101-123005", "20261101-123005-2",
                                       "20261101-123005-3"]


def test_a_named_run_is_kept_and_made_safe(tmp_path):
    assert tensorboard.log_dir("lab", "momentum", root=tmp_path).name == "momentum"
    assert tensorboard.log_dir("lab", "momentum", root=tmp_path).name == "momentum-2"
    odd = tensorboard.log_dir("../lab 04", "784→512/sgd", root=tmp_path)
    assert odd.parent.parent == tmp_path, "a name cannot escape the logs root"
    assert odd.relative_to(tmp_path).as_posix() == "lab_04/784_512_sgd"
    with pytest.raises(ValueError, match="run must contain a letter or digit"):
        tensorboard.log_dir("lab", "///", root=tmp_path)


def test_the_default_root_is_logs_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tensorboard.log_dir("01_sequential_mlp", now=NOON)
    assert path == Path("logs/01_sequential_mlp/20261101-123005")
    assert (tmp_path / path).is_dir()


def test_logs_are_git_ignored():
    paths = ["labs/logs/01/x/events.out", "solutions/logs/01/x/events.out", "logs/01/x/e.out"]
    ignored = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True,
                             text=True)
    if ignored.returncode == 128:
        pytest.skip(f"not a git checkout: {ignored.stderr.strip()}")
    assert ignored.stdout.split() == paths, "logs/ must be in .gitignore"


def test_importing_the_helper_does_not_import_tensorflow():
    code = ("import sys, tempfile, course.tensorboard as t; t.log_dir('x', root=tempfile.mkdtemp())"
            "; print('tensorflow' in sys.modules or 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "False"


def test_the_callback_writes_train_and_validation_events_to_its_run(tmp_path):
    import keras
    import numpy as np

    board = tensorboard.callback("lab", root=tmp_path, histogram_freq=1)
    assert isinstance(board, keras.callbacks.TensorBoard)
    run = Path(board.log_dir)
    assert run.parent == tmp_path / "lab"
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="out")], name="tiny")
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((16, 4), "float32"), np.zeros((16, 2), "float32")
    model.fit(x, y, epochs=2, verbose=0, validation_data=(x, y), callbacks=[board])
    for part in ("train", "validation"):
        events = list((run / part).glob("events.out.tfevents.*"))
        assert events and events[0].stat().st_size > 0, part


def test_a_missing_tensorboard_package_is_one_clear_sentence(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name == "tensorboard":
            raise ModuleNotFoundError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(ModuleNotFoundError) as info:
        tensorboard.callback("lab", root=tmp_path)
    message = str(info.value)
    assert message.startswith("TensorBoard is not installed") and "pip install" in message
    assert not (tmp_path / "lab").exists(), "no empty run directory is left behind"
