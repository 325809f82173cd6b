"""``course.data``: the bundled sample, its integrity checks, the full-MNIST cache, pipelines.

Everything here is offline: the only URLs used point at a closed local port or at a
reserved, unresolvable name, and every network attempt is bounded by a short timeout.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from course import data
from course.data import DataError

# Recorded from the bundled file: any change of the file or of its split changes these.
FIRST_TRAIN_LABELS = [1, 0, 6, 9, 4, 4, 6, 1, 7, 0, 0, 0, 4, 3, 6, 0, 3, 5, 2, 6]
ARRAYS_DIGEST = "d651efc34198b37230477a4d7f5863180ef09f174f63c0fc9d182dcd75f19cc3"
CLASS_TOTALS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]  # MNIST_SAMPLE.md


def assert_one_sentence(message: str) -> None:
    """One sentence: ends with its only sentence-ending period, one line, no traceback."""
    assert message.endswith("."), message
    assert ". " not in message and "\n" not in message, message
    assert "Traceback" not in message, message


def free_port() -> int:
    """Return a local TCP port with nothing listening on it (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flip_byte(path: Path, offset: int | None = None) -> None:
    raw = bytearray(path.read_bytes())
    i = len(raw) // 2 if offset is None else offset
    raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


def write_fake_full(path: Path) -> str:
    """Write a tiny valid MNIST-like npz at ``path``; return its SHA-256."""
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    np.savez(buf, x_train=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
             y_train=np.arange(6, dtype=np.uint8), x_test=np.zeros((2, 28, 28), np.uint8),
             y_test=np.array([3, 4], np.uint8))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return hashlib.sha256(buf.getvalue()).hexdigest()


@pytest.fixture(scope="module")
def sample():
    return data.load_mnist()


# --- the bundled sample -------------------------------------------------------------------

def test_sample_file_exists_and_matches_its_recorded_hash():
    path = data.sample_path()
    assert path.is_file()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == data.SAMPLE_SHA256
    assert data.sha256_of(path) == data.SAMPLE_SHA256


def test_load_mnist_shapes_dtypes_and_labels(sample):
    (x_train, y_train), (x_test, y_test) = sample
    assert x_train.shape == (8000, 28, 28) and y_train.shape == (8000,)
    assert x_test.shape == (2000, 28, 28) and y_test.shape == (2000,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8
    assert set(np.unique(y_train)) == set(range(10)) == set(np.unique(y_test))
    assert x_train.max() == 255 and x_train.min() == 0  # real grey levels, not pre-scaled


def test_split_is_stratified(sample):
    (_, y_train), (_, y_test) = sample
    train, test = np.bincount(y_train, minlength=10), np.bincount(y_test, minlength=10)
    assert (train + test).tolist() == CLASS_TOTALS
    for digit in range(10):
        assert abs(test[digit] - 0.2 * (train[digit] + test[digit])) <= 1, digit


def test_train_and_test_share_no_image(sample):
    (x_train, _), (x_test, _) = sample
    train = {hashlib.sha1(row.tobytes()).digest() for row in x_train}
    test = {hashlib.sha1(row.tobytes()).digest() for row in x_test}
    assert len(train) == 8000 and len(test) == 2000  # no duplicates inside a part either
    assert not train & test


def test_training_order_is_shuffled(sample):
    (_, y_train), (_, y_test) = sample
    assert len(set(y_train[:100].tolist())) >= 8
    assert len(set(y_test[:100].tolist())) >= 8
    assert np.count_nonzero(np.diff(y_train.astype(int))) > 4000  # far from sorted


def test_sample_is_stable(sample):
    (x_train, y_train), (x_test, y_test) = sample
    assert y_train[:20].tolist() == FIRST_TRAIN_LABELS
    digest = hashlib.sha256()
    for array in (x_train, y_train, x_test, y_test):
        digest.update(array.tobytes())
    assert digest.hexdigest() == ARRAYS_DIGEST


def test_corrupt_sample_is_detected(tmp_path, monkeypatch):
    copy = tmp_path / data.SAMPLE_FILE
    shutil.copyfile(data.sample_path(), copy)
    flip_byte(copy)
    monkeypatch.setattr(data, "sample_path", lambda: copy)
    with pytest.raises(DataError) as info:
        data.load_mnist()
    message = str(info.value)
    assert "corrupt" in message and str(copy) in message
    assert "pip install -e ." in message  # says what to do
    assert_one_sentence(message)


def test_missing_sample_is_detected(tmp_path, monkeypatch):
    gone = tmp_path / "nowhere" / data.SAMPLE_FILE
    monkeypatch.setattr(data, "sample_path", lambda: gone)
    with pytest.raises(DataError) as info:
        data.load_mnist("sample")
    message = str(info.value)
    assert "missing" in message and "corrupt" not in message
    assert "pip install -e ." in message
    assert_one_sentence(message)


def test_unknown_source_is_a_value_error():
    with pytest.raises(ValueError, match="bogus"):
        data.load_mnist("bogus")


# --- full MNIST, offline ------------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "nonexistent.invalid"])
def test_fetch_full_fails_fast_and_says_what_to_do_when_offline(tmp_path, host):
    url = f"http://{host.format(port=free_port())}/mnist.npz"
    start = time.monotonic()
    with pytest.raises(DataError) as info:
        data.fetch_full(cache_dir=tmp_path, url=url, timeout=2)
    assert time.monotonic() - start < 5  # fail-fast bound, not a benchmark
    message = str(info.value)
    assert "`course data --full`" in message and 'source="sample"' in message
    assert "not cached" in message and host.split(":")[0] in message
    assert_one_sentence(message)
    assert not (tmp_path / "mnist.npz").exists()


def test_valid_cache_is_returned_without_touching_the_network(tmp_path, monkeypatch):
    digest = write_fake_full(tmp_path / "mnist.npz")

    def no_network(*args, **kwargs):
        raise AssertionError("fetch_full opened a connection although the cache is valid")

    monkeypatch.setattr(socket, "create_connection", no_network)
    url = f"http://127.0.0.1:{free_port()}/mnist.npz"
    path = data.fetch_full(cache_dir=tmp_path, url=url, sha256=digest, timeout=2)
    assert path == tmp_path / "mnist.npz"
    with np.load(path) as f:
        assert f["y_test"].tolist() == [3, 4]


def test_corrupt_cache_is_reported_as_corrupt(tmp_path):
    path = tmp_path / "mnist.npz"
    digest = write_fake_full(path)
    flip_byte(path)
    url = f"http://127.0.0.1:{free_port()}/mnist.npz"
    with pytest.raises(DataError) as info:
        data.fetch_full(cache_dir=tmp_path, url=url, sha256=digest, timeout=2)
    message = str(info.value)
    assert "corrupt" in message and "not cached" not in message
    assert "`course data --full`" in message
    assert_one_sentence(message)


def test_full_cache_path_honours_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert data.full_cache_path() == tmp_path / "kh" / "datasets" / "mnist.npz"
    assert data.full_cache_path(tmp_path / "c") == tmp_path / "c" / "mnist.npz"
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.full_cache_path() == tmp_path / "home" / ".keras" / "datasets" / "mnist.npz"


# --- full MNIST from a mirror ($COURSE_MNIST_URL), offline ---------------------------------

@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything opens a TCP connection."""
    def refuse(*args, **kwargs):
        raise AssertionError("a local mirror must not touch the network")

    monkeypatch.setattr(socket, "create_connection", refuse)


@contextlib.contextmanager
def serving(body: bytes):
    """A local HTTP server (127.0.0.1) answering every GET with ``body``; yields its URL."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/mirror/mnist.npz"
    finally:
        server.shutdown()
        server.server_close()


def mirror_url(path: Path, form: str) -> str:
    return path.as_uri() if form == "file-url" else str(path)


def test_full_url_is_the_mirror_when_set(monkeypatch):
    monkeypatch.delenv(data.MIRROR_ENV, raising=False)
    assert data.full_url() == data.FULL_URL
    monkeypatch.setenv(data.MIRROR_ENV, "  ")
    assert data.full_url() == data.FULL_URL
    monkeypatch.setenv(data.MIRROR_ENV, " https://mirror.example.cn/keras/mnist.npz ")
    assert data.full_url() == "https://mirror.example.cn/keras/mnist.npz"


@pytest.mark.parametrize("form", ["path", "file-url"])
def test_a_local_mirror_fills_the_cache_and_is_verified(tmp_path, monkeypatch, no_network, form):
    digest = write_fake_full(tmp_path / "usb" / "mnist.npz")
    monkeypatch.setattr(data, "FULL_SHA256", digest)
    monkeypatch.setenv(data.MIRROR_ENV, mirror_url(tmp_path / "usb" / "mnist.npz", form))
    cache = tmp_path / "cache"
    (x_train, y_train), (x_test, y_test) = data.load_mnist("full", cache_dir=cache)
    assert x_train.shape == (6, 28, 28) and y_test.tolist() == [3, 4]
    assert sorted(p.name for p in cache.iterdir()) == ["mnist.npz"]  # no partial copy left
    assert data.sha256_of(cache / "mnist.npz") == digest
    assert (tmp_path / "usb" / "mnist.npz").is_file()  # copied, not moved
    assert data.fetch_full(cache) == cache / "mnist.npz"  # now cached: the mirror is not read


def test_course_data_full_uses_the_mirror(tmp_path, monkeypatch, no_network, capsys):
    from course import cli

    digest = write_fake_full(tmp_path / "usb" / "mnist.npz")
    monkeypatch.setattr(data, "FULL_SHA256", digest)
    monkeypatch.setenv(data.MIRROR_ENV, str(tmp_path / "usb" / "mnist.npz"))
    assert cli.main(["data", "--full", "--cache-dir", str(tmp_path / "cache")]) == 0
    assert f"full MNIST: {tmp_path / 'cache' / 'mnist.npz'} (verified)" in capsys.readouterr().out


@pytest.mark.parametrize("form", ["path", "file-url"])
def test_a_local_mirror_with_other_bytes_is_refused_and_nothing_is_cached(
        tmp_path, monkeypatch, no_network, form):
    write_fake_full(tmp_path / "usb" / "mnist.npz")
    url = mirror_url(tmp_path / "usb" / "mnist.npz", form)
    monkeypatch.setenv(data.MIRROR_ENV, url)
    cache = tmp_path / "cache"
    with pytest.raises(DataError) as info:
        data.load_mnist("full", cache_dir=cache)  # the real MNIST SHA-256: the fake is refused
    message = str(info.value)
    assert f"mirror {url} " in message and "does not match MNIST's SHA-256" in message
    assert data.MIRROR_ENV in message
    assert_one_sentence(message)
    assert list(cache.iterdir()) == []


def test_a_missing_local_mirror_says_so(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv(data.MIRROR_ENV, str(tmp_path / "nowhere" / "mnist.npz"))
    with pytest.raises(DataError) as info:
        data.fetch_full(tmp_path / "cache")
    message = str(info.value)
    assert str(tmp_path / "nowhere" / "mnist.npz") in message and "not a file" in message
    assert_one_sentence(message)
    assert not (tmp_path / "cache" / "mnist.npz").exists()


def test_an_unsupported_mirror_scheme_says_so(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv(data.MIRROR_ENV, "ftp://mirror.example.cn/mnist.npz")
    with pytest.raises(DataError) as info:
        data.fetch_full(tmp_path)
    assert "ftp://mirror.example.cn/mnist.npz" in str(info.value)
    assert_one_sentence(str(info.value))


def test_an_unreachable_http_mirror_fails_fast_with_one_sentence(tmp_path, monkeypatch):
    url = f"http://127.0.0.1:{free_port()}/keras/mnist.npz"
    monkeypatch.setenv(data.MIRROR_ENV, url)
    start = time.monotonic()
    with pytest.raises(DataError) as info:
        data.load_mnist("full", cache_dir=tmp_path)
    assert time.monotonic() - start < 20  # fail-fast bound, not a benchmark
    message = str(info.value)
    assert f"mirror {url} cannot be reached" in message and data.MIRROR_ENV in message
    assert "not cached" in message and "`course data --full`" in message
    assert "storage.googleapis.com" not in message  # the mirror is probed, not Google
    assert_one_sentence(message)
    assert list(tmp_path.iterdir()) == []


def test_an_http_mirror_fills_the_cache_and_is_verified(tmp_path, monkeypatch):
    body = (tmp_path / "mnist.npz")
    digest = write_fake_full(body)
    monkeypatch.setattr(data, "FULL_SHA256", digest)
    cache = tmp_path / "cache"
    with serving(body.read_bytes()) as url:
        monkeypatch.setenv(data.MIRROR_ENV, url)
        (_, y_train), _ = data.load_mnist("full", cache_dir=cache)
    assert y_train.tolist() == list(range(6))
    assert sorted(p.name for p in cache.iterdir()) == ["mnist.npz"]


def test_an_http_mirror_with_other_bytes_is_refused_and_nothing_is_cached(tmp_path, monkeypatch):
    body = tmp_path / "mnist.npz"
    write_fake_full(body)
    cache = tmp_path / "cache"
    with serving(body.read_bytes()) as url:
        monkeypatch.setenv(data.MIRROR_ENV, url)
        with pytest.raises(DataError) as info:
            data.load_mnist("full", cache_dir=cache)  # the real MNIST SHA-256
    message = str(info.value)
    assert f"mirror {url} " in message and "does not match MNIST's SHA-256" in message
    assert_one_sentence(message)
    assert list(cache.iterdir()) == []


def test_troubleshooting_quotes_the_mirror_sentence_exactly(tmp_path, monkeypatch, no_network):
    write_fake_full(tmp_path / "mnist.npz")
    monkeypatch.setenv(data.MIRROR_ENV, str(tmp_path / "mnist.npz"))
    with pytest.raises(DataError) as info:
        data.fetch_full(tmp_path / "cache")
    sentence = str(info.value).replace(str(tmp_path / "mnist.npz"),
                                       "https://mirror.example.com/keras/mnist.npz")
    guide = (Path(__file__).resolve().parent.parent / "TROUBLESHOOTING.md").read_text()
    assert f"course.data.DataError: {sentence}\n" in guide
    assert f"export {data.MIRROR_ENV}=" in guide


# --- preprocessing and pipelines ----------------------------------------------------------

def test_preprocess_scales_and_standardizes_in_float32():
    images = np.array([np.zeros((28, 28)), np.full((28, 28), 255)], dtype=np.uint8)
    x = data.preprocess(images)
    assert x.dtype == np.float32 and x.shape == (2, 784)
    np.testing.assert_allclose(x[0], np.float32((0 - 0.1307) / 0.3081), rtol=1e-6)
    np.testing.assert_allclose(x[1], np.float32((1 - 0.1307) / 0.3081), rtol=1e-6)
    flat = data.preprocess(images.reshape(2, 784))
    np.testing.assert_array_equal(flat, x)


def _pipeline_data(n: int = 10):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = np.arange(n) % 10  # with n <= 10, a label identifies its example
    return images, labels


def _epoch(ds):
    xs, ys = zip(*((x.numpy(), y.numpy()) for x, y in ds), strict=True)
    return np.concatenate(xs), np.concatenate(ys)


def test_pipeline_element_spec_and_values():
    import tensorflow as tf

    images, labels = _pipeline_data()
    ds = data.make_pipeline(images, labels, batch_size=4, shuffle=False)
    x_spec, y_spec = ds.element_spec
    assert x_spec.dtype == tf.float32 and x_spec.shape.as_list() == [None, 784]
    assert y_spec.dtype == tf.int32 and y_spec.shape.as_list() == [None]
    x, y = _epoch(ds)
    np.testing.assert_array_equal(y, labels)  # unshuffled: input order
    np.testing.assert_allclose(x, data.preprocess(images), rtol=0, atol=0)


def test_pipeline_shuffle_is_seeded_and_reshuffles_each_epoch():
    images, labels = _pipeline_data()
    expected = data.preprocess(images)
    a = data.make_pipeline(images, labels, batch_size=3, seed=7)
    b = data.make_pipeline(images, labels, batch_size=3, seed=7)
    a1, a2 = _epoch(a), _epoch(a)
    b1, b2 = _epoch(b), _epoch(b)
    np.testing.assert_array_equal(a1[1], b1[1])  # same seed, same order, every epoch
    np.testing.assert_array_equal(a2[1], b2[1])
    assert sorted(a1[1].tolist()) == labels.tolist()  # a permutation of all examples
    assert a1[1].tolist() != labels.tolist()  # shuffled
    assert a1[1].tolist() != a2[1].tolist()  # reshuffled each epoch
    np.testing.assert_array_equal(a1[0], expected[a1[1]])  # images follow their labels
    others = [_epoch(data.make_pipeline(images, labels, seed=s))[1].tolist() for s in (8, 9)]
    assert any(order != a1[1].tolist() for order in others)  # the seed matters


def test_pipeline_drop_remainder():
    images, labels = _pipeline_data()
    kept = data.make_pipeline(images, labels, batch_size=4, shuffle=False)
    dropped = data.make_pipeline(images, labels, batch_size=4, shuffle=False,
                                 drop_remainder=True)
    assert [len(y) for _, y in kept] == [4, 4, 2]
    assert [len(y) for _, y in dropped] == [4, 4]
    assert dropped.element_spec[0].shape.as_list() == [4, 784]

