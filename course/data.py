"""MNIST for the labs: the bundled offline sample, the checked full set, tf.data pipelines.

Full MNIST is Keras' ``mnist.npz`` (60,000/10,000), fetched once into Keras' cache by
:func:`fetch_full` and checked against :data:`FULL_SHA256`. Where Google's storage is slow or
blocked (mainland China, some campus networks), set the environment variable
``COURSE_MNIST_URL`` to a mirror of that same file: an ``http(s)://`` URL, a ``file://`` URL
or a plain local path (for example a copy made on another machine). ``load_mnist("full")``,
``course data --full`` and :mod:`course.tfds_data`'s ``load("full")`` then fetch from the
mirror instead: an http(s) mirror's host is probed first with the same short timeout, a local
file is copied into the cache, and the SHA-256 is checked exactly as for Google's copy, so a
mirror serving any other bytes is refused with one sentence and nothing is cached.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import urllib.parse
import urllib.request
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf

SAMPLE_FILE = "mnist_sample.npz"
SAMPLE_SHA256 = "36aefe3487182c5e30999c747fa01a94b85a714b6245133bac88d9eed48c45d4"
FULL_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
FULL_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MIRROR_ENV = "COURSE_MNIST_URL"  # a mirror of FULL_URL: http(s) URL, file:// URL or local path
NETWORK_TIMEOUT_S = 5.0
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # PyTorch's transforms.Normalize((0.1307,), (0.3081,))

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class DataError(RuntimeError):
    """A data set is missing, corrupt or unreachable; the message says what to do."""


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sample_path() -> Path:
    """Return the path of the bundled 10,000-digit sample inside the package."""
    return Path(str(resources.files("course") / "resources" / SAMPLE_FILE))


def full_cache_path(cache_dir: str | os.PathLike | None = None) -> Path:
    """Return where Keras caches full MNIST (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``)."""
    if cache_dir is None:
        cache_dir = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"
    return Path(cache_dir) / "mnist.npz"


def _read_npz(path: Path, sha256: str, what: str, remedy: str) -> Arrays:
    """Verify ``path`` against ``sha256`` and return its four arrays, or raise DataError."""
    if not path.is_file():
        raise DataError(f"The {what} is missing ({path}); {remedy}.")
    if sha256_of(path) != sha256:
        raise DataError(f"The {what} at {path} is corrupt (its SHA-256 does not match); {remedy}.")
    with np.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def _reachable(url: str, timeout: float) -> bool:
    """Return True when a TCP connection to ``url``'s host opens within ``timeout`` seconds."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def full_url() -> str:
    """Return where full MNIST is fetched from: ``$COURSE_MNIST_URL`` when set, else FULL_URL."""
    return os.environ.get(MIRROR_ENV, "").strip() or FULL_URL


def _local_source(url: str) -> Path | None:
    """Return the local file ``url`` names (a ``file://`` URL or a plain path), None for http(s).

    Raises:
        DataError: for another scheme (``ftp://``…) or a ``file://`` URL on another host.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("http", "https"):
        return None
    if parts.scheme == "file" and parts.netloc in ("", "localhost"):
        return Path(urllib.request.url2pathname(parts.path))
    if parts.scheme and len(parts.scheme) > 1:  # one letter is a Windows drive: a plain path
        raise DataError(
            f"The MNIST mirror {url} is neither an http(s) URL, a file:// URL on this machine "
            f"nor a local path; fix {MIRROR_ENV} or unset it to download from "
            f"{urllib.parse.urlsplit(FULL_URL).hostname}."
        )
    return Path(url).expanduser()


def _mismatch(url: str, path: Path, sha256: str) -> DataError:
    """Delete ``path`` (bytes that are not MNIST); return the one-sentence error naming ``url``."""
    path.unlink(missing_ok=True)
    if url == FULL_URL:
        return DataError(
            f"The file downloaded from {url} does not match MNIST's SHA-256, so nothing was "
            'cached; run `course data --full` again, or use load_mnist(source="sample").'
        )
    return DataError(
        f"The MNIST mirror {url} serves a file that does not match MNIST's SHA-256 "
        f"({sha256[:12]}…), so nothing was cached; point {MIRROR_ENV} at a copy of Keras' "
        'mnist.npz or unset it, or use load_mnist(source="sample"), which works offline.'
    )


def _copy_local(source: Path, url: str, path: Path, sha256: str) -> None:
    """Copy a local mirror into the cache at ``path``: in full and verified, or not at all."""
    if not source.is_file():
        raise DataError(
            f"The MNIST mirror {url} is not a file; point {MIRROR_ENV} at a copy of Keras' "
            'mnist.npz or unset it, or use load_mnist(source="sample"), which works offline.'
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        shutil.copyfile(source, partial)
        if sha256_of(partial) != sha256:
            raise _mismatch(url, partial, sha256)
        os.replace(partial, path)
    except OSError as exc:
        raise DataError(
            f"Copying full MNIST from the mirror {url} into {path.parent} failed "
            f'({type(exc).__name__}: {exc}); fix {MIRROR_ENV} or use load_mnist(source="sample").'
        ) from exc
    finally:
        partial.unlink(missing_ok=True)


def _download(url: str, path: Path, sha256: str, timeout: float) -> None:
    """Download ``url`` into the cache at ``path`` with Keras, checking ``sha256`` as it does."""
    import keras

    path.parent.mkdir(parents=True, exist_ok=True)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        keras.utils.get_file(
            fname=path.name, origin=url, file_hash=sha256, cache_dir=str(path.parent.parent),
            cache_subdir=path.parent.name, force_download=path.is_file(),
        )
    except Exception as exc:  # network errors come as many types; one sentence for all
        if path.is_file() and sha256_of(path) != sha256:  # Keras keeps the bytes it refused
            raise _mismatch(url, path, sha256) from exc
        raise DataError(
            f"Downloading full MNIST from {url} failed ({type(exc).__name__}: {exc}); "
            'check your connection and retry, or use load_mnist(source="sample").'
        ) from exc
    finally:
        socket.setdefaulttimeout(previous)
    if sha256_of(path) != sha256:
        raise _mismatch(url, path, sha256)


def fetch_full(
    cache_dir: str | os.PathLike | None = None,
    url: str | None = None,
    sha256: str | None = None,
    timeout: float = NETWORK_TIMEOUT_S,
) -> Path:
    """Return the path of the verified full-MNIST file, fetching it into the cache if needed.

    Args:
        cache_dir: where full MNIST is cached (default: Keras' ``~/.keras/datasets``).
        url: where to fetch it from (default :func:`full_url`: ``$COURSE_MNIST_URL``, a mirror
            given as an http(s) URL, a ``file://`` URL or a local path, else FULL_URL).
        sha256: the SHA-256 the file must have (default FULL_SHA256, whatever the source).
        timeout: seconds an http(s) host may take to answer.

    Raises:
        DataError: in one sentence, when the source is unreachable or missing, or serves a
            file that is not MNIST (nothing is then cached).
    """
    url = url or full_url()
    sha256 = sha256 or FULL_SHA256
    path = full_cache_path(cache_dir)
    if path.is_file() and sha256_of(path) == sha256:
        return path
    source = _local_source(url)
    if source is not None:
        _copy_local(source, url, path, sha256)
        return path
    state = "corrupt" if path.is_file() else "not cached"
    if not _reachable(url, timeout):
        host = urllib.parse.urlsplit(url).hostname
        where = host if url == FULL_URL else f"the MNIST mirror {url}"
        fix = "" if url == FULL_URL else f"check the mirror or unset {MIRROR_ENV}, then "
        raise DataError(
            f"Full MNIST is {state} at {path} and {where} cannot be reached within "
            f"{timeout:g} s; {fix or 'connect to the internet and '}run `course data --full`, "
            'or use load_mnist(source="sample"), which works offline.'
        )
    _download(url, path, sha256, timeout)
    return path


def load_mnist(
    source: Literal["sample", "full"] = "sample", cache_dir: str | os.PathLike | None = None
) -> Arrays:
    """Load MNIST as uint8 arrays ``(x_train, y_train), (x_test, y_test)``.

    Args:
        source: ``"sample"`` (default) is the bundled, offline 8,000/2,000 stratified split
            of 10,000 real digits; ``"full"`` is the standard 60,000/10,000 set, downloaded
            once into Keras' cache (from the mirror in ``$COURSE_MNIST_URL`` when set) and
            verified by SHA-256.
        cache_dir: where the full set is cached (default: Keras' ``~/.keras/datasets``).

    Returns:
        Images ``(n, 28, 28)`` and labels ``(n,)``, all ``uint8``.

    Raises:
        DataError: one sentence saying what is wrong and what to do.
    """
    if source == "sample":
        return _read_npz(sample_path(), SAMPLE_SHA256, "bundled MNIST sample",
                         "reinstall the kit (`pip install -e .` from the repository)")
    if source == "full":
        path = fetch_full(cache_dir)
        return _read_npz(path, FULL_SHA256, "cached full MNIST",
                         "delete it and run `course data --full` again")
    raise ValueError(f'source must be "sample" or "full", not {source!r}')


def preprocess(images: np.ndarray) -> np.ndarray:
    """Flatten uint8 images to float32 ``(n, 784)``, scale to [0, 1] and standardize.

    Article A feeds ``ToTensor()`` alone (pixels in [0, 1]) and flattens with
    ``x.view(-1, 784)``; Article B also uses ``ToTensor()`` alone; no article normalises.
    Standardising with MNIST's mean and standard
    deviation (``MNIST_MEAN``, ``MNIST_STD``, the values of PyTorch's customary
    ``Normalize((0.1307,), (0.3081,))``) is the kit's own choice; Lab 01 §5 measures it
    against plain [0, 1] scaling.
    """
    x = np.asarray(images).reshape(len(images), -1).astype("float32") / 255.0
    return (x - MNIST_MEAN) / MNIST_STD


def make_pipeline(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int = 64,
    shuffle: bool = True,
    seed: int = 0,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """Build the input pipeline: :func:`preprocess`, cache, shuffle, batch, prefetch.

    Args:
        images: uint8 images ``(n, 28, 28)`` (or already flat ``(n, 784)``).
        labels: integer labels ``(n,)``.
        batch_size: examples per batch (the articles use 64).
        shuffle: reshuffle every epoch with ``seed`` (same order on every run).
        seed: the shuffle seed.
        drop_remainder: drop the last, smaller batch (needed for equal replica batches).

    Returns:
        A ``tf.data.Dataset`` of ``(float32 (batch, 784), int32 (batch,))``.
    """
    import tensorflow as tf

    x = preprocess(images)
    ds = tf.data.Dataset.from_tensor_slices((x, np.asarray(labels).astype("int32"))).cache()
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def train_val_split(
    images: np.ndarray, labels: np.ndarray, val_fraction: float = 0.2, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Carve a validation split out of a training set: stratified, seeded, shuffled.

    Every digit gives the same share of its examples to validation (largest-remainder
    rounding, so the validation part has exactly ``round(val_fraction · n)`` examples),
    chosen by a seeded permutation; both parts come back in a seeded random order, never
    sorted by label. Use it instead of Keras' ``validation_split=``, which takes the *last*
    fraction of the arrays as they are — on data sorted by label, only the last digits.

    Args:
        images: the training images ``(n, ...)``.
        labels: their integer labels ``(n,)``.
        val_fraction: the share of examples for validation, strictly between 0 and 1.
        seed: the seed of the permutations (the same seed gives the same split).

    Returns:
        ``(x_train, y_train), (x_val, y_val)``.

    Raises:
        ValueError: when ``val_fraction`` is not strictly between 0 and 1, or the arrays
            differ in length.
    """
    labels = np.asarray(labels)
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be strictly between 0 and 1, not {val_fraction!r}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    exact = val_fraction * counts
    quotas = np.floor(exact).astype(int)
    missing = int(round(val_fraction * len(labels))) - int(quotas.sum())
    quotas[np.argsort(-(exact - quotas), kind="stable")[:missing]] += 1
    val_parts = [rng.permutation(np.flatnonzero(labels == c))[:q]
                 for c, q in zip(classes, quotas, strict=True)]
    is_val = np.zeros(len(labels), dtype=bool)
    is_val[np.concatenate(val_parts)] = True
    train_idx = rng.permutation(np.flatnonzero(~is_val))
    val_idx = rng.permutation(np.flatnonzero(is_val))
    return (images[train_idx], labels[train_idx]), (images[val_idx], labels[val_idx])


def shift_digits(images: np.ndarray, max_shift: int = 2, seed: int = 0) -> np.ndarray:
    """Move every digit by a seeded random whole number of pixels, as a camera would frame it.

    Each image is shifted by ``(dy, dx)``, both drawn uniformly from ``-max_shift … max_shift``
    (one draw per image from ``np.random.default_rng(seed)``); pixels shifted in are 0 (the
    background). MNIST centres every digit in a 20×20 box inside 28×28, so shifts of up to 4
    pixels never cut a digit.

    Args:
        images: uint8 images ``(n, 28, 28)``.
        max_shift: the largest shift in each direction, in pixels (0 returns a copy).
        seed: the seed of the draws (the same seed moves the same image the same way).

    Returns:
        The shifted images, same shape and dtype.
    """
    images = np.asarray(images)
    s = int(max_shift)
    if s < 0:
        raise ValueError(f"max_shift must be >= 0, not {max_shift!r}")
    rng = np.random.default_rng(seed)
    dy, dx = rng.integers(-s, s + 1, size=(2, len(images)))
    padded = np.pad(images, ((0, 0), (s, s), (s, s)))
    out = np.empty_like(images)
    height, width = images.shape[1:3]
    for oy in range(-s, s + 1):
        for ox in range(-s, s + 1):
            chosen = (dy == oy) & (dx == ox)
            out[chosen] = padded[chosen, s - oy:s - oy + height, s - ox:s - ox + width]
    return out
