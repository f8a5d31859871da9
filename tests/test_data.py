"""Tests of nnscratch.data: IDX reader, MNIST location, download and splits, small data sets."""

import functools
import gzip
import hashlib
import http.server
import os
import re
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import train_test_split

from nnscratch.data import (
    MNIST_FILES,
    REGRESSION_FUNCTIONS,
    Dataset,
    download_mnist,
    find_mnist,
    load_dataset,
    load_digits,
    load_mnist,
    one_hot,
    parse_idx,
    read_idx,
    regression_data,
)
from nnscratch.data import mnist as mnist_module
from nnscratch.errors import ChecksumError, DataFormatError, DataUnavailableError

REAL_DIR = mnist_module.VENDORED_DIR
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# ---------------------------------------------------------------- synthetic IDX helpers


def idx_bytes(arr, type_code=0x08):
    """The (uncompressed) IDX encoding of a uint8 array."""
    arr = np.asarray(arr, dtype=np.uint8)
    header = bytes([0, 0, type_code, arr.ndim]) + b"".join(
        d.to_bytes(4, "big") for d in arr.shape
    )
    return header + arr.tobytes()


def write_file(path, data, compress):
    """Write ``data`` to ``path``, gzip-compressed if asked; return the path."""
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def md5(data):
    return hashlib.md5(data).hexdigest()


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """Keep every test away from the real home, the real cache and any proxy."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("NNSCRATCH_DATA", raising=False)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def synthetic():
    """Small IDX files under the MNIST names: base -> (array, decompressed bytes)."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 5, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 3, dtype=np.uint8),
    }
    return {base: (a, idx_bytes(a)) for base, a in arrays.items()}


@pytest.fixture
def checksums(synthetic):
    return {base: md5(data) for base, (_, data) in synthetic.items()}


def touch_mnist(folder):
    """Create placeholder files under the four MNIST names (location tests check presence)."""
    folder.mkdir(parents=True, exist_ok=True)
    for base in MNIST_FILES:
        (folder / f"{base}.gz").write_bytes(b"")
    return folder


# ---------------------------------------------------------------- IDX reader


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5), (2, 3, 1, 2)])
def test_read_idx_round_trips(tmp_path, compress, shape):
    """A well-formed file reads back as the array written, raw or gzip."""
    a = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    path = write_file(tmp_path / ("f.gz" if compress else "f"), idx_bytes(a), compress)
    out = read_idx(path)
    assert out.dtype == np.uint8 and out.shape == shape
    np.testing.assert_array_equal(out, a)
    assert out.flags.writeable


def test_read_idx_detects_gzip_by_magic_bytes(tmp_path):
    """A gzip file without the .gz extension is still decompressed."""
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = write_file(tmp_path / "labels-idx2-ubyte", idx_bytes(a), compress=True)
    np.testing.assert_array_equal(read_idx(path), a)


GOOD = idx_bytes(np.zeros((3, 4, 5), dtype=np.uint8))  # 16-byte header + 60 data bytes
CORRUPTIONS = {
    "truncated data": (
        GOOD[:-1], r"expected 60 data bytes for dimensions \(3, 4, 5\), found 59"
    ),
    "trailing bytes": (GOOD + b"\x00", r"expected 60 data bytes .* found 61"),
    "truncated header": (
        GOOD[:10], r"truncated header: expected 16 bytes for 3 dimensions, found 10"
    ),
    "header under 4 bytes": (GOOD[:3], r"truncated header: expected at least 4 bytes, found 3"),
    "wrong magic": (b"\x01\x02" + GOOD[2:], r"wrong magic number 01 02 08 03"),
    "ndim 0": (GOOD[:3] + b"\x00" + GOOD[4:], r"header gives 0 dimensions; expected 1 to 4"),
    "ndim 5": (GOOD[:3] + b"\x05" + GOOD[4:], r"header gives 5 dimensions; expected 1 to 4"),
    "float type code": (
        GOOD[:2] + b"\x0d" + GOOD[3:],
        r"data type code 0x0d \(float\) is not supported; expected 0x08",
    ),
    "zero dimension": (GOOD[:4] + bytes(4) + GOOD[8:], r"dimensions \(0, 4, 5\) contain a 0"),
    "absurd dimensions": (
        b"\x00\x00\x08\x03" + b"\xff" * 12 + GOOD[16:],
        r"expected 79228162458924105385300197375 data bytes .* found 60",
    ),
}


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_read_idx_rejects_corrupt_files(tmp_path, case, compress):
    """Every corruption is a DataFormatError naming the file and the problem."""
    data, message = CORRUPTIONS[case]
    path = write_file(tmp_path / ("bad-idx3-ubyte.gz" if compress else "bad-idx3-ubyte"),
                      data, compress)
    with pytest.raises(DataFormatError, match=re.escape(str(path)) + ": " + message):
        read_idx(path)


def test_read_idx_rejects_empty_file(tmp_path):
    """A 0-byte file, raw or named .gz, is a DataFormatError."""
    for name in ("empty", "empty.gz"):
        path = tmp_path / name
        path.write_bytes(b"")
        with pytest.raises(DataFormatError, match=re.escape(str(path)) + r": file is empty"):
            read_idx(path)
    path = write_file(tmp_path / "empty-content.gz", b"", compress=True)
    with pytest.raises(DataFormatError, match=r"empty-content.gz: no IDX header \(0 bytes"):
        read_idx(path)


@pytest.mark.parametrize(
    "data",
    [
        b"\x1f\x8b" + b"garbage after the gzip magic",
        gzip.compress(GOOD)[:-12],  # stream cut short
        gzip.compress(GOOD) + b"trailing junk",
        b"\x1f\x8b\x08",  # header cut short
    ],
    ids=["garbage", "truncated stream", "trailing junk", "truncated gzip header"],
)
def test_read_idx_rejects_bad_gzip(tmp_path, data):
    """A broken gzip stream is a DataFormatError, not a zlib/gzip/EOF error."""
    path = tmp_path / "bad.gz"
    path.write_bytes(data)
    with pytest.raises(DataFormatError, match=re.escape(str(path)) + r": corrupt gzip stream"):
        read_idx(path)


def test_read_idx_rejects_gz_name_without_gzip(tmp_path):
    """A file named .gz that is not gzip is a DataFormatError."""
    path = write_file(tmp_path / "x.gz", GOOD, compress=False)
    with pytest.raises(DataFormatError, match=r"x.gz: named .gz but is not gzip-compressed"):
        read_idx(path)


def test_read_idx_missing_file(tmp_path):
    """A missing file is FileNotFoundError naming the path."""
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nope.gz"))):
        read_idx(tmp_path / "nope.gz")


def test_read_idx_checks_md5_of_decompressed_bytes(tmp_path):
    """The MD5 is of the decompressed bytes; a mismatch names file, expected and actual."""
    path = write_file(tmp_path / "f.gz", GOOD, compress=True)
    assert read_idx(path, md5=md5(GOOD)).shape == (3, 4, 5)
    with pytest.raises(ChecksumError, match=rf"f.gz: MD5 .* is {md5(GOOD)}, expected 0{{32}}"):
        read_idx(path, md5="0" * 32)


def test_parse_idx_names_its_source():
    """parse_idx works on bytes and uses ``name`` in its messages."""
    np.testing.assert_array_equal(parse_idx(GOOD), np.zeros((3, 4, 5), np.uint8))
    with pytest.raises(DataFormatError, match=r"^<bytes>: wrong magic"):
        parse_idx(b"\x07" * 20)
    with pytest.raises(DataFormatError, match=r"^labels: truncated header"):
        parse_idx(GOOD[:9], name="labels")


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=64), gz=st.booleans())
def test_parse_random_bytes_raises_only_data_format_error(data, gz):
    """Random bytes (after an optional gzip magic) parse or raise DataFormatError."""
    from nnscratch.data.idx import decompress

    try:
        parse_idx(decompress(b"\x1f\x8b" + data) if gz else data)
    except DataFormatError:
        pass


@settings(max_examples=200, deadline=None)
@given(pos=st.integers(0, len(GOOD) - 1), byte=st.integers(0, 255), cut=st.integers(0, 80))
def test_parse_mutated_file_raises_only_data_format_error(pos, byte, cut):
    """A good .gz file with one byte changed and cut at a random length, read from disk by
    ``read_idx``: it parses or raises DataFormatError, nothing else."""
    import tempfile

    data = bytearray(gzip.compress(GOOD, mtime=0))
    data[pos % len(data)] = byte
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutated-idx3-ubyte.gz"
        path.write_bytes(bytes(data[:cut]))
        try:
            read_idx(path)
        except DataFormatError as exc:
            assert "mutated-idx3-ubyte.gz" in str(exc)


# ---------------------------------------------------------------- download (local HTTP)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves files from a folder, records each path, and stalls under /slow/."""

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path.startswith("/slow/"):
            self.server.release.wait(10)  # never answers before the client times out
            return
        super().do_GET()

    def log_message(self, format, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that timed out and hung up is expected here


@pytest.fixture
def mirror(tmp_path, synthetic):
    """A local HTTP server with mirrors good/, wrong/ (bad checksums) and raw/ (not gzip)."""
    root = tmp_path / "www"
    wrong = np.full((2, 2), 7, np.uint8)
    for sub in ("good", "wrong", "raw"):
        (root / sub).mkdir(parents=True)
    for base, (_, data) in synthetic.items():
        write_file(root / "good" / f"{base}.gz", data, compress=True)
        write_file(root / "wrong" / f"{base}.gz", idx_bytes(wrong), compress=True)
        write_file(root / "raw" / f"{base}.gz", data, compress=False)
    handler = functools.partial(_Handler, directory=str(root))
    server = _Server(("127.0.0.1", 0), handler)
    server.requests, server.release = [], threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/"
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def closed_port_url():
    """The URL of a loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def assert_downloaded(dest, synthetic):
    """dest holds exactly the four .gz files, each decoding to the synthetic array."""
    assert sorted(os.listdir(dest)) == sorted(f"{b}.gz" for b in MNIST_FILES)  # no temp files
    for base, (a, _) in synthetic.items():
        np.testing.assert_array_equal(read_idx(dest / f"{base}.gz"), a)


def test_download_into_cache(mirror, synthetic, checksums, tmp_path):
    """A good mirror fills the destination with the four verified files, atomically."""
    dest = download_mnist(tmp_path / "cache", mirrors=[mirror.url + "good"],
                          checksums=checksums, progress=False)
    assert dest == tmp_path / "cache"
    assert_downloaded(dest, synthetic)
    assert len(mirror.requests) == 4


def test_download_shows_progress(mirror, checksums, tmp_path, capsys):
    """progress=True draws a tqdm bar per file on stderr."""
    download_mnist(tmp_path / "cache", mirrors=[mirror.url + "good/"], checksums=checksums)
    assert "t10k-labels-idx1-ubyte.gz" in capsys.readouterr().err


def test_download_skips_failing_mirrors(mirror, synthetic, checksums, tmp_path,
                                        closed_port_url):
    """A refused connection and a 404 are skipped in favour of the next mirror."""
    mirrors = [closed_port_url, mirror.url + "missing/", mirror.url + "good/"]
    dest = download_mnist(tmp_path / "cache", mirrors=mirrors, checksums=checksums,
                          progress=False)
    assert_downloaded(dest, synthetic)


def test_download_skips_wrong_bytes(mirror, synthetic, checksums, tmp_path):
    """Mirrors serving a wrong checksum or non-gzip bytes are skipped."""
    mirrors = [mirror.url + "wrong/", mirror.url + "raw/", mirror.url + "good/"]
    dest = download_mnist(tmp_path / "cache", mirrors=mirrors, checksums=checksums,
                          progress=False)
    assert_downloaded(dest, synthetic)


def test_download_gives_up_on_a_mirror_that_times_out(mirror, synthetic, checksums, tmp_path):
    """A mirror that times out is skipped, and not tried again for the other files."""
    mirrors = [mirror.url + "slow/", mirror.url + "good/"]
    dest = download_mnist(tmp_path / "cache", mirrors=mirrors, checksums=checksums,
                          timeout=0.3, progress=False)
    assert_downloaded(dest, synthetic)
    assert sum(p.startswith("/slow/") for p in mirror.requests) == 1


def test_download_keeps_valid_files(mirror, synthetic, checksums, tmp_path):
    """Files already present with the right checksum are not fetched again."""
    dest = tmp_path / "cache"
    dest.mkdir()
    write_file(dest / "train-images-idx3-ubyte.gz", synthetic["train-images-idx3-ubyte"][1],
               True)
    download_mnist(dest, mirrors=[mirror.url + "good/"], checksums=checksums, progress=False)
    assert_downloaded(dest, synthetic)
    assert "/good/train-images-idx3-ubyte.gz" not in mirror.requests


def test_download_all_mirrors_bad(mirror, checksums, tmp_path, closed_port_url):
    """When no mirror works: DataUnavailableError naming the files, mirrors, errors, and folder."""
    dest = tmp_path / "cache"
    mirrors = [mirror.url + "wrong/", mirror.url + "missing/", closed_port_url]
    with pytest.raises(DataUnavailableError) as info:
        download_mnist(dest, mirrors=mirrors, checksums=checksums, progress=False)
    msg = str(info.value)
    assert "\n" not in msg
    for base in MNIST_FILES:
        assert f"{base}.gz" in msg
    for url in mirrors:
        assert url in msg
    assert "MD5" in msg and "HTTP error 404" in msg and "refused" in msg.lower()
    assert "--data-dir DIR" in msg and "NNSCRATCH_DATA" in msg and str(dest) in msg
    assert os.listdir(dest) == []  # nothing half-written


def test_download_validates_arguments(tmp_path, checksums):
    """Bad mirrors, checksums or timeout are ValueErrors naming the argument."""
    with pytest.raises(ValueError, match="mirrors must be a non-empty list"):
        download_mnist(tmp_path, mirrors=[], checksums=checksums)
    with pytest.raises(ValueError, match="checksums must have an MD5 for every file"):
        download_mnist(tmp_path, mirrors=["http://127.0.0.1:9/"], checksums={})
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        download_mnist(tmp_path, mirrors=["http://127.0.0.1:9/"], checksums=checksums,
                       timeout=0)


# ---------------------------------------------------------------- where the data comes from


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Four folders holding the files: explicit, env, vendored (patched) and cache."""
    explicit = touch_mnist(tmp_path / "explicit")
    env = touch_mnist(tmp_path / "env")
    vendored = touch_mnist(tmp_path / "vendored")
    cache = touch_mnist(tmp_path / "xdg-cache" / "nnscratch" / "mnist")
    monkeypatch.setattr(mnist_module, "VENDORED_DIR", vendored)
    monkeypatch.setenv("NNSCRATCH_DATA", str(env))
    return {"explicit": explicit, "env": env, "vendored": vendored, "cache": cache}


def test_location_order(places, monkeypatch):
    """Explicit dir beats NNSCRATCH_DATA beats the vendored folder beats the cache."""
    assert find_mnist(places["explicit"], download=False) == places["explicit"]
    assert find_mnist(download=False) == places["env"]
    monkeypatch.delenv("NNSCRATCH_DATA")
    assert find_mnist(download=False) == places["vendored"]
    (places["vendored"] / "t10k-labels-idx1-ubyte.gz").unlink()  # incomplete: skipped
    assert find_mnist(download=False) == places["cache"]


def test_explicit_folder_without_files_does_not_fall_through(places, tmp_path, monkeypatch):
    """A data_dir or NNSCRATCH_DATA lacking the files is an error naming folder and files."""
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "train-images-idx3-ubyte").write_bytes(b"")  # raw name counts
    with pytest.raises(DataUnavailableError,
                       match=rf"data_dir {re.escape(str(partial))} lacks "
                             r"train-labels-idx1-ubyte.gz, t10k-images.*"):
        find_mnist(partial)
    monkeypatch.setenv("NNSCRATCH_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataUnavailableError, match=r"NNSCRATCH_DATA folder .*nowhere does not"):
        find_mnist()
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("NNSCRATCH_DATA", str(tmp_path / "empty"))
    with pytest.raises(DataUnavailableError,
                       match=r"empty holds none of the four MNIST files train-images"):
        find_mnist()


def test_cache_is_used_and_nothing_found_offline(tmp_path, monkeypatch):
    """With download=False and no files anywhere, the error says how to supply them."""
    monkeypatch.setattr(mnist_module, "VENDORED_DIR", tmp_path / "no-vendored")
    cache = tmp_path / "xdg-cache" / "nnscratch" / "mnist"
    assert mnist_module.mnist_cache_dir() == cache
    with pytest.raises(DataUnavailableError) as info:
        find_mnist(download=False)
    msg = str(info.value)
    assert str(cache) in msg and "--data-dir DIR" in msg and "NNSCRATCH_DATA" in msg
    assert "download=False" in msg and "train-images-idx3-ubyte.gz" in msg
    touch_mnist(cache)
    assert find_mnist(download=False) == cache


def test_find_mnist_downloads_into_cache(mirror, synthetic, checksums, tmp_path, monkeypatch,
                                         closed_port_url):
    """With nothing on disk, find_mnist downloads into the cache (or explains why it cannot)."""
    monkeypatch.setattr(mnist_module, "VENDORED_DIR", tmp_path / "no-vendored")
    monkeypatch.setattr(mnist_module, "MNIST_MD5", checksums)
    with pytest.raises(DataUnavailableError, match=re.escape(closed_port_url)):
        find_mnist(mirrors=[closed_port_url], progress=False)
    cache = find_mnist(mirrors=[mirror.url + "good/"], progress=False)
    assert cache == tmp_path / "xdg-cache" / "nnscratch" / "mnist"
    assert_downloaded(cache, synthetic)


def test_load_mnist_checks_checksums(tmp_path, synthetic):
    """Valid IDX files that are not the canonical MNIST are a ChecksumError."""
    for base, (_, data) in synthetic.items():
        write_file(tmp_path / f"{base}.gz", data, compress=True)
    with pytest.raises(ChecksumError, match=r"train-images-idx3-ubyte.gz: MD5 .* expected "
                                            r"6bbc9ace898e44ae57da46a324031adb"):
        load_mnist(data_dir=tmp_path, download=False)


def test_load_mnist_validates_arguments():
    """Bad split or dtype: ValueError naming the argument, before any file is read."""
    with pytest.raises(ValueError, match=r"split must be one of 'blog', 'standard', got 'test'"):
        load_mnist("test")
    with pytest.raises(ValueError, match=r"dtype must be float32 or float64, got .*int"):
        load_mnist(dtype=np.int32)
    with pytest.raises(ValueError, match=r"dtype must be float32 or float64, got None"):
        load_mnist(dtype=None)


# ---------------------------------------------------------------- real MNIST (vendored)


@pytest.fixture(scope="module")
def real():
    """The vendored MNIST, loaded once: both splits and the raw 70,000 rows for reference."""
    if mnist_module._mnist_paths(REAL_DIR)[1]:
        pytest.skip(f"the vendored MNIST files are not in {REAL_DIR}")
    X_full = np.concatenate([read_idx(REAL_DIR / "train-images-idx3-ubyte.gz"),
                             read_idx(REAL_DIR / "t10k-images-idx3-ubyte.gz")])
    y_full = np.concatenate([read_idx(REAL_DIR / "train-labels-idx1-ubyte.gz"),
                             read_idx(REAL_DIR / "t10k-labels-idx1-ubyte.gz")])
    return {
        "blog": load_mnist(data_dir=REAL_DIR, download=False),
        "standard": load_mnist("standard", data_dir=REAL_DIR, dtype=np.float64,
                               download=False),
        "X_full": X_full.reshape(70_000, 784),
        "y_full": y_full,
    }


def as_pixels(X):
    """Floats in [0, 1] back to the uint8 pixels they came from."""
    return np.rint(X * 255).astype(np.uint8)


@pytest.mark.parametrize(("split", "dtype", "sizes"), [
    ("blog", np.float32, {"train": 56_000, "test": 14_000}),
    ("standard", np.float64, {"train": 60_000, "test": 10_000}),
])
def test_mnist_splits_shapes_range_dtype(real, split, dtype, sizes):
    """Both splits have the documented sizes, 784 columns in [0, 1], int64 labels 0..9."""
    ds = real[split]
    assert ds.sizes == sizes
    assert (ds.name, ds.split, ds.n_classes, ds.feature_shape) == ("mnist", split, 10, (28, 28))
    for X, y in ((ds.X_train, ds.y_train), (ds.X_test, ds.y_test)):
        assert X.dtype == dtype and X.shape[1] == 784
        assert X.min() == 0.0 and X.max() == 1.0
        assert y.dtype == np.int64 and y.min() == 0 and y.max() == 9


def test_mnist_standard_split_is_the_canonical_one(real):
    """The standard split's label counts match the README, and its rows are the files' rows."""
    ds = real["standard"]
    assert np.bincount(ds.y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(ds.y_test).tolist() == TEST_COUNTS
    np.testing.assert_array_equal(as_pixels(ds.X_train[::7]), real["X_full"][:60_000:7])
    np.testing.assert_array_equal(as_pixels(ds.X_test), real["X_full"][60_000:])


def test_mnist_blog_split_indices_are_disjoint(real):
    """The blog split's train and test rows are disjoint and cover all 70,000 rows."""
    train, test = mnist_module.blog_split_indices()
    assert (len(train), len(test)) == (56_000, 14_000)
    assert np.intersect1d(train, test).size == 0
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(70_000))
    np.testing.assert_array_equal(real["blog"].y_train, real["y_full"][train])


def test_mnist_blog_split_equals_train_test_split(real):
    """The blog split is train_test_split(X, y, test_size=0.2, random_state=42) on all rows."""
    X_tr, X_te, y_tr, y_te = train_test_split(real["X_full"], real["y_full"], test_size=0.2,
                                              random_state=42)
    ds = real["blog"]
    np.testing.assert_array_equal(ds.y_train, y_tr)
    np.testing.assert_array_equal(ds.y_test, y_te)
    assert md5(as_pixels(ds.X_train[:1000]).tobytes()) == md5(X_tr[:1000].tobytes())
    np.testing.assert_array_equal(as_pixels(ds.X_test), X_te)


def test_mnist_blog_split_is_stable_and_fresh(real):
    """Every call gives the same rows, in arrays the caller may modify freely."""
    again = load_mnist(data_dir=REAL_DIR, download=False)
    np.testing.assert_array_equal(again.y_test, real["blog"].y_test)
    np.testing.assert_array_equal(again.X_test[:500], real["blog"].X_test[:500])
    again.X_train[0] = 5.0  # must not reach the in-process cache
    assert load_mnist(data_dir=REAL_DIR, download=False).X_train[0].max() <= 1.0


def test_mnist_accepts_raw_files_and_prefers_gz(real, tmp_path):
    """A folder may mix .gz and raw files; when both exist the .gz one is read."""
    for base in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / f"{base}.gz").symlink_to(REAL_DIR / f"{base}.gz")
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"not used: the .gz wins")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(
        gzip.decompress((REAL_DIR / "train-labels-idx1-ubyte.gz").read_bytes())
    )
    ds = load_mnist("standard", data_dir=tmp_path, download=False)
    np.testing.assert_array_equal(ds.y_train, real["standard"].y_train)
    np.testing.assert_array_equal(ds.y_test, real["standard"].y_test)


def test_load_dataset_by_name(real):
    """load_dataset dispatches on the name and rejects unknown names."""
    ds = load_dataset("mnist", split="standard", data_dir=REAL_DIR, download=False)
    assert ds.sizes == {"train": 60_000, "test": 10_000} and ds.X_train.dtype == np.float32
    assert load_dataset("digits").name == "digits"
    with pytest.raises(ValueError, match=r"name must be one of 'mnist', 'digits', got 'cifar'"):
        load_dataset("cifar")
    digits = load_dataset("digits", split="standard")  # no published split: the same 80/20
    assert digits.split == "80/20" and np.array_equal(digits.X_test, load_digits().X_test)
    with pytest.raises(ValueError, match=r"split must be one of \['blog', 'standard'\], "
                                         r"got 'random'"):
        load_dataset("digits", split="random")


# ---------------------------------------------------------------- one_hot, digits, regression


def test_one_hot():
    """Each row has a single 1 at the label's column."""
    out = one_hot(np.array([0, 2, 1, 2]), 3)
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]])
    assert out.dtype == np.float32
    assert one_hot([1], 2, dtype=np.float64).dtype == np.float64
    assert one_hot(np.array([], dtype=np.int64), 4).shape == (0, 4)


@pytest.mark.parametrize(("y", "n_classes", "message"), [
    ([0, 10, 3], 10, r"y has label 10; expected integers in \[0, 9\]"),
    ([-1, 3], 10, r"y has label -1; expected integers in \[0, 9\]"),
    ([0.0, 1.5], 10, r"y must hold integer labels, got dtype float64"),
    ([[0, 1]], 10, r"y must be 1-D \(n_samples,\), got shape \(1, 2\)"),
    ([0], 0, r"n_classes must be a positive integer, got 0"),
])
def test_one_hot_rejects_bad_labels(y, n_classes, message):
    """Out-of-range, non-integer or non-1-D labels are ValueErrors naming y."""
    with pytest.raises(ValueError, match=message):
        one_hot(y, n_classes)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_load_digits(dtype):
    """The bundled 8x8 digits: 1,437/360 rows of 64 pixels in [0, 1], labels 0..9."""
    ds = load_digits(dtype=dtype)
    assert ds.sizes == {"train": 1437, "test": 360}
    assert (ds.name, ds.split, ds.n_classes, ds.feature_shape) == ("digits", "80/20", 10, (8, 8))
    assert ds.X_train.dtype == dtype and ds.X_train.shape == (1437, 64)
    assert ds.X_train.min() == 0.0 and ds.X_train.max() == 1.0
    assert ds.y_train.dtype == np.int64 and set(np.unique(ds.y_train)) == set(range(10))
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        load_digits(dtype="int8")


def test_dataset_container():
    """Dataset reports its sizes and rejects mismatched parts."""
    X, y = np.zeros((4, 3)), np.zeros(4, dtype=np.int64)
    ds = Dataset(X, y, X[:2], y[:2], name="toy", split="blog", n_classes=2)
    assert ds.sizes == {"train": 4, "test": 2} and ds.n_features == 3
    assert "toy (blog split): 4 train / 2 test" in ds.summary()
    assert repr(ds).startswith("Dataset(name='toy'")
    with pytest.raises(ValueError, match="X_train has 4 rows but y_train has 3"):
        Dataset(X, y[:3], X, y, name="toy", split="blog")


@pytest.mark.parametrize(("name", "fn"), [
    ("x^2", lambda x: x * x), ("|x|", np.abs), ("3 sin x", lambda x: 3 * np.sin(x)),
])
def test_regression_data(name, fn):
    """The blog's functions on np.linspace(-3, 3, 100), as (n, 1) columns."""
    X, y = regression_data(name)
    assert X.shape == y.shape == (100, 1) and X.dtype == y.dtype == np.float64
    np.testing.assert_array_equal(X[:, 0], np.linspace(-3.0, 3.0, 100))
    np.testing.assert_allclose(y, fn(X), rtol=1e-15)


def test_regression_data_options():
    """Order of the functions, a custom callable, n/low/high/dtype, and bad arguments."""
    assert list(REGRESSION_FUNCTIONS) == ["x^2", "|x|", "3 sin x"]
    X, y = regression_data(np.exp, n=5, low=0.0, high=1.0, dtype=np.float32)
    assert X.shape == (5, 1) and y.dtype == np.float32
    np.testing.assert_allclose(y[:, 0], np.exp(np.linspace(0, 1, 5)), rtol=1e-6)
    with pytest.raises(ValueError, match=r"name_or_fn must be one of 'x\^2', '\|x\|', '3 sin x'"):
        regression_data("x^3")
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        regression_data("x^2", n=0)
    with pytest.raises(ValueError, match="low must be less than high"):
        regression_data("x^2", low=1.0, high=-1.0)
