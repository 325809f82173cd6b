"""MNIST through TensorFlow Datasets' own API: the bundled sample as a TFDS dataset, full MNIST.

``load("sample")`` is ``tfds.load`` on the kit's bundled 8,000/2,000 digits: the first call
stores the arrays of :func:`course.data.load_mnist` as a TFDS dataset with a
``tfds.core.GeneratorBasedBuilder`` (TFDS writes the files and the ``DatasetInfo``: features,
split sizes, citation), reads it back, checks that it holds exactly the same examples (the
SHA-256 of the arrays), and records the SHA-256 of every file it wrote. Every later call
re-checks those files and rebuilds a cache that is corrupt or incomplete, offline. Checking
and building hold a lock file in the cache, so processes that start at once (a grader and a
test run) build it once instead of replacing each other's files.

``load("full")`` is ``tfds.load("mnist")``, TFDS' real builder, downloaded once into the same
cache. Offline it fails within seconds with one sentence, because the download host is probed
with :func:`course.data._reachable` (a short TCP connect) before TFDS is allowed to retry.
When the environment variable ``COURSE_MNIST_URL`` names a mirror of Keras' ``mnist.npz`` (an
http(s) URL, a ``file://`` URL or a local path; see :mod:`course.data`), TFDS' download is not
used at all: :func:`course.data.fetch_full` fetches the file from the mirror and checks its
SHA-256, and TFDS' own ``mnist`` builder, fed those arrays, writes the dataset (same name,
version and features, so ``tfds.load("mnist")`` reads it as its own).

The cache is ``$KERAS_HOME/datasets/tfds`` (default ``~/.keras/datasets/tfds``), next to the
file :func:`course.data.load_mnist` caches full MNIST in; never inside the repository.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import shutil
import tempfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from course import data
from course.data import DataError

try:
    import fcntl
except ImportError:  # Windows: see _exclusive_lock
    fcntl = None

if TYPE_CHECKING:
    import tensorflow as tf

SAMPLE_NAME = "course_mnist_sample"
SAMPLE_VERSION = "1.0.0"
STAMP_FILE = "course-sha256.json"  # next to the version folder, inside the dataset folder
LOCK_FILE = f".{SAMPLE_NAME}.lock"  # in the cache folder: one build at a time
FULL_NAME = "mnist"
# Where TFDS' mnist builder downloads from (tensorflow_datasets/image_classification/mnist.py).
FULL_PROBE_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
MNIST_HOMEPAGE = "http://yann.lecun.com/exdb/mnist/"
MNIST_CITATION = """@article{lecun2010mnist,
  title={MNIST handwritten digit database},
  author={LeCun, Yann and Cortes, Corinna and Burges, CJ},
  journal={ATT Labs [Online]. Available: http://yann.lecun.com/exdb/mnist},
  volume={2},
  year={2010}
}"""


def tfds_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Return the kit's TFDS cache: ``data_dir``, else ``$KERAS_HOME/datasets/tfds``.

    Args:
        data_dir: an explicit folder (tests use a temporary one).

    Returns:
        The folder TFDS datasets are stored in (``~/.keras/datasets/tfds`` by default).
    """
    if data_dir is not None:
        return Path(data_dir)
    return data.full_cache_path().parent / "tfds"


def arrays_sha256(arrays: data.Arrays) -> str:
    """Return the SHA-256 of ``(x_train, y_train), (x_test, y_test)``'s bytes, in that order.

    Images are hashed as uint8 ``(n, 28, 28)`` and labels as uint8, so the digest depends on
    the examples and their order only, not on how a loader shapes or types them.
    """
    digest = hashlib.sha256()
    for images, labels in arrays:
        digest.update(np.ascontiguousarray(images, dtype=np.uint8).reshape(-1, 28, 28).tobytes())
        digest.update(np.ascontiguousarray(labels, dtype=np.uint8).tobytes())
    return digest.hexdigest()


def as_arrays(ds: tf.data.Dataset, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Read a supervised MNIST ``tf.data.Dataset`` into ``load_mnist``'s layout.

    Args:
        ds: ``(image uint8 (28, 28, 1), label int)`` pairs, as ``tfds.load(...,
            as_supervised=True)`` yields them.
        batch_size: examples read per batch.

    Returns:
        Images uint8 ``(n, 28, 28)`` and labels uint8 ``(n,)``, in the data set's order.
    """
    import tensorflow_datasets as tfds

    images, labels = [], []
    for x, y in tfds.as_numpy(ds.batch(batch_size)):
        images.append(x.reshape(len(x), 28, 28).astype(np.uint8))
        labels.append(y.astype(np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def _examples(images: np.ndarray, labels: np.ndarray) -> Iterator[tuple[int, dict]]:
    """TFDS examples, each keyed by its index in the arrays' order (as TFDS' builders key them)."""
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        yield i, {"image": image[..., None], "label": int(label)}


def _splits(arrays: data.Arrays) -> dict[str, Iterator[tuple[int, dict]]]:
    """The train and test examples of ``((x_train, y_train), (x_test, y_test))``."""
    (x_train, y_train), (x_test, y_test) = arrays
    return {"train": _examples(x_train, y_train), "test": _examples(x_test, y_test)}


@functools.cache
def _sample_builder_class() -> type:
    """The TFDS builder of the bundled sample (defined on first use: TFDS imports TensorFlow)."""
    import tensorflow_datasets as tfds

    class CourseMnistSample(tfds.core.GeneratorBasedBuilder, skip_registration=True):
        """The kit's bundled 10,000 real MNIST digits (8,000 train / 2,000 test)."""

        VERSION = tfds.core.Version(SAMPLE_VERSION)
        RELEASE_NOTES = {SAMPLE_VERSION: "The bundled sample of course.data.load_mnist()."}

        def _info(self) -> tfds.core.DatasetInfo:
            return tfds.core.DatasetInfo(
                builder=self,
                description=(
                    "10,000 real MNIST digits bundled with the Keras Course Kit: a stratified "
                    "8,000/2,000 train/test split, the same examples in the same order as "
                    'course.data.load_mnist("sample") (provenance: course/resources/'
                    "MNIST_SAMPLE.md)."
                ),
                features=tfds.features.FeaturesDict({
                    "image": tfds.features.Image(shape=(28, 28, 1)),
                    "label": tfds.features.ClassLabel(num_classes=10),
                }),
                supervised_keys=("image", "label"),
                homepage=MNIST_HOMEPAGE,
                citation=MNIST_CITATION,
                license="CC BY-SA 3.0",
                disable_shuffling=True,  # keep load_mnist's order, example for example
            )

        def _split_generators(self, dl_manager: Any) -> dict[str, Iterator]:
            del dl_manager  # nothing to download: the arrays ship with the kit
            return _splits(data.load_mnist("sample"))

        def _generate_examples(self, images: np.ndarray,
                               labels: np.ndarray) -> Iterator[tuple[int, dict]]:
            return _examples(images, labels)

    return CourseMnistSample


@contextlib.contextmanager
def _quiet_tfds() -> Iterator[None]:
    """Hide TFDS' progress bars, its printed banners and its absl INFO/WARNING lines."""
    import logging

    import tensorflow_datasets as tfds

    absl_logger = logging.getLogger("absl")
    level = absl_logger.level
    absl_logger.setLevel(logging.ERROR)
    tfds.disable_progress_bar()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        tfds.enable_progress_bar()
        absl_logger.setLevel(level)


def _file_digests(dataset_dir: Path) -> dict[str, str]:
    """SHA-256 of every file under ``dataset_dir`` (except the stamp), by relative path."""
    return {
        path.relative_to(dataset_dir).as_posix(): data.sha256_of(path)
        for path in sorted(dataset_dir.rglob("*"))
        if path.is_file() and path.name != STAMP_FILE
    }


def _read_split_arrays(version_dir: Path) -> data.Arrays:
    """Read the stored sample back through TFDS, as ``load_mnist``-style arrays."""
    import tensorflow_datasets as tfds

    builder = tfds.builder_from_directory(str(version_dir))
    train, test = builder.as_dataset(split=["train", "test"], as_supervised=True,
                                     shuffle_files=False)
    return as_arrays(train), as_arrays(test)


def sample_is_valid(data_dir: str | os.PathLike | None = None) -> bool:
    """True when the cached TFDS sample exists and every file matches its recorded SHA-256.

    The stamp also records the SHA-256 of the arrays the dataset was built from, so a cache
    built from another version of the bundled sample counts as invalid too.
    """
    dataset_dir = tfds_dir(data_dir) / SAMPLE_NAME
    try:
        stamp = json.loads((dataset_dir / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if stamp.get("arrays_sha256") != arrays_sha256(data.load_mnist("sample")):
        return False
    files = stamp.get("files")
    return bool(files) and _file_digests(dataset_dir) == files


@contextlib.contextmanager
def _exclusive_lock(root: Path) -> Iterator[None]:
    """Hold the cache's build lock (``root/LOCK_FILE``), waiting for another process's.

    POSIX: ``fcntl.flock``, released by the kernel if the holder dies. Windows has no
    ``fcntl``: ``msvcrt.locking`` on the file's first byte, retried until free (it gives up
    after 10 s on its own, less than a build takes).
    """
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        else:  # pragma: no cover - Windows
            import msvcrt

            handle.seek(0)
            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    continue
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            else:  # pragma: no cover - Windows
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)


def _build_sample(root: Path) -> None:
    """Write the sample with TFDS into a staging folder, verify it, rename it into place.

    Called with the build lock held: staging folders left by a build that died are removed,
    and an invalid dataset is moved aside and replaced by two renames, never rewritten.
    """
    expected = arrays_sha256(data.load_mnist("sample"))  # raises DataError if the npz is bad
    dataset_dir = root / SAMPLE_NAME
    for stale in root.glob(f".{SAMPLE_NAME}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{SAMPLE_NAME}-", dir=root))
    try:
        with _quiet_tfds():
            _sample_builder_class()(data_dir=str(staging)).download_and_prepare()
        built = staging / SAMPLE_NAME
        if arrays_sha256(_read_split_arrays(built / SAMPLE_VERSION)) != expected:
            raise DataError(
                f"TFDS stored other examples than the bundled sample in {built}; delete "
                f"{root} and try again, or use course.data.load_mnist(), which works offline."
            )
        stamp = {"arrays_sha256": expected, "files": _file_digests(built)}
        (built / STAMP_FILE).write_text(json.dumps(stamp, indent=1), encoding="utf-8")
        if dataset_dir.exists():
            dataset_dir.rename(staging / "invalid")
        built.rename(dataset_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def prepare_sample(data_dir: str | os.PathLike | None = None) -> Path:
    """Store the bundled sample as a verified TFDS dataset in the cache, if not there already.

    A missing, incomplete or corrupt cache is rebuilt: the dataset is written by TFDS into a
    temporary folder beside the cache, read back and compared with the arrays' SHA-256, then
    moved into place in one rename. An invalid cache is checked again and rebuilt under an
    inter-process lock (a file in the cache), so processes preparing at once build it once:
    the first builds, the others wait, then find it valid.

    Args:
        data_dir: the TFDS cache (default :func:`tfds_dir`).

    Returns:
        The dataset's version folder, e.g. ``~/.keras/datasets/tfds/course_mnist_sample/1.0.0``.

    Raises:
        DataError: when the bundled sample itself is missing or corrupt, or TFDS stored
            something else than the arrays.
    """
    root = tfds_dir(data_dir)
    if not sample_is_valid(root):  # a valid cache is never replaced: no lock (it may be read-only)
        with _exclusive_lock(root):
            if not sample_is_valid(root):  # else another process built it while this one waited
                _build_sample(root)
    return root / SAMPLE_NAME / SAMPLE_VERSION


def examples_sha256(arrays: data.Arrays) -> str:
    """Return the SHA-256 of each split's examples as a multiset (their order does not count).

    TFDS shuffles the examples of ``mnist`` when it writes them; this digest still says whether
    a stored split holds exactly the arrays' examples, each as often.
    """
    digest = hashlib.sha256()
    for images, labels in arrays:
        rows = np.concatenate([np.asarray(images, dtype=np.uint8).reshape(len(images), 784),
                               np.asarray(labels, dtype=np.uint8).reshape(-1, 1)], axis=1)
        digest.update(np.sort(np.ascontiguousarray(rows).view(np.dtype((np.void, 785))).ravel(),
                              kind="stable").tobytes())
    return digest.hexdigest()


@functools.cache
def _npz_builder_class() -> type:
    """TFDS' own ``mnist`` builder, fed Keras' verified ``mnist.npz`` instead of downloading."""
    import tensorflow_datasets as tfds

    class MnistFromNpz(tfds.builder_cls(FULL_NAME), skip_registration=True):
        """TFDS' ``mnist`` (its name, version, features and info), examples from given arrays."""

        name = FULL_NAME

        def __init__(self, *, arrays: data.Arrays, **kwargs: Any) -> None:
            self._arrays = arrays
            super().__init__(**kwargs)

        def _split_generators(self, dl_manager: Any) -> dict[str, Iterator]:
            del dl_manager  # nothing to download: course.data fetched and verified the arrays
            return _splits(self._arrays)

        def _generate_examples(self, images: np.ndarray,
                               labels: np.ndarray) -> Iterator[tuple[int, dict]]:
            return _examples(images, labels)

    return MnistFromNpz


def _prepare_full_from_mirror(root: Path, timeout: float) -> None:
    """Store full MNIST for TFDS from the mirror in ``$COURSE_MNIST_URL`` (see course.data).

    :func:`course.data.fetch_full` copies or downloads ``mnist.npz`` into Keras' cache and
    checks its SHA-256; TFDS' ``mnist`` builder writes those arrays into a staging folder
    beside the cache; the examples read back are compared with the arrays (as a multiset:
    TFDS shuffles them), then the version folder is renamed into place.
    """
    data.fetch_full(timeout=timeout)  # raises DataError: mirror unreachable, not MNIST…
    arrays = data.load_mnist("full")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{FULL_NAME}-", dir=root))
    try:
        with _quiet_tfds():
            builder = _npz_builder_class()(arrays=arrays, data_dir=str(staging))
            builder.download_and_prepare()
        built = Path(builder.data_dir)
        if examples_sha256(_read_split_arrays(built)) != examples_sha256(arrays):
            raise DataError(
                f"TFDS stored other examples than the verified mnist.npz in {built}; delete "
                f'{root / FULL_NAME} and try again, or use course.data.load_mnist("full").'
            )
        target = root / FULL_NAME / built.name
        if (target / "dataset_info.json").is_file():
            return  # another process stored it meanwhile
        target.parent.mkdir(exist_ok=True)
        if target.exists():
            target.rename(staging / "invalid")
        built.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _prepare_full(root: Path, timeout: float) -> None:
    """Download full MNIST with TFDS' ``mnist`` builder into ``root`` unless already there.

    With ``$COURSE_MNIST_URL`` set, build it from that mirror of ``mnist.npz`` instead.
    """
    import tensorflow_datasets as tfds

    builder = tfds.builder(FULL_NAME, data_dir=str(root))
    if builder.is_prepared():
        return
    if data.full_url() != data.FULL_URL:
        _prepare_full_from_mirror(root, timeout)
        return
    host = urllib.parse.urlsplit(FULL_PROBE_URL).hostname
    if not data._reachable(FULL_PROBE_URL, timeout):
        raise DataError(
            f"Full MNIST is not in the TFDS cache at {root} and {host} cannot be reached within "
            f'{timeout:g} s; connect to the internet and call tfds_data.load("full") again, or '
            'use tfds_data.load("sample"), which works offline.'
        )
    try:
        with _quiet_tfds():
            builder.download_and_prepare()
    except Exception as exc:  # network errors come as many types; one sentence for all
        raise DataError(
            f"Downloading full MNIST with TFDS from {host} failed ({type(exc).__name__}); "
            'check your connection and retry, or use tfds_data.load("sample").'
        ) from exc


def load(
    source: Literal["sample", "full"] = "sample",
    split: str | list[str] | None = None,
    as_supervised: bool = False,
    with_info: bool = False,
    data_dir: str | os.PathLike | None = None,
    timeout: float = data.NETWORK_TIMEOUT_S,
    **kwargs: Any,
) -> Any:
    """``tfds.load`` for the kit: the bundled sample offline, or TFDS' full ``mnist``.

    Args:
        source: ``"sample"`` (default), the bundled digits as the TFDS dataset
            ``course_mnist_sample`` (built into the cache on first use, offline, verified);
            ``"full"``, TFDS' ``mnist`` (60,000/10,000), downloaded once (built from the
            verified ``mnist.npz`` of ``$COURSE_MNIST_URL`` when that mirror is set).
        split: as in ``tfds.load``: ``"train"``, ``"test"``, a list of both, a slice such as
            ``"train[:10%]"``, or None for a dict of every split.
        as_supervised: yield ``(image, label)`` pairs instead of feature dicts.
        with_info: also return the ``tfds.core.DatasetInfo``.
        data_dir: the TFDS cache (default :func:`tfds_dir`).
        timeout: seconds the download host (or mirror) may take to answer before ``"full"``
            gives up.
        **kwargs: passed on to ``tfds.load`` (e.g. ``shuffle_files``, ``batch_size``).

    Returns:
        What ``tfds.load`` returns: the data set(s), and the info when ``with_info``.

    Raises:
        DataError: one sentence saying what is wrong and what to do.
    """
    import tensorflow_datasets as tfds

    root = tfds_dir(data_dir)
    if source == "sample":
        prepare_sample(root)
        name = SAMPLE_NAME
    elif source == "full":
        _prepare_full(root, timeout)
        name = FULL_NAME
    else:
        raise ValueError(f'source must be "sample" or "full", not {source!r}')
    with _quiet_tfds():
        return tfds.load(name, split=split, data_dir=str(root), download=False,
                         as_supervised=as_supervised, with_info=with_info, **kwargs)
