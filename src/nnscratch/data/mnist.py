"""MNIST: finding the four files, checking them, downloading them, and splitting them.

Where the files come from, in this order:

1. an explicit ``data_dir`` argument (the CLI's ``--data-dir``);
2. the ``NNSCRATCH_DATA`` environment variable;
3. the repository's vendored ``data/mnist/`` when running from a source checkout;
4. the user cache, ``$XDG_CACHE_HOME/nnscratch/mnist`` (default ``~/.cache/nnscratch/mnist``);
5. a download from the public mirrors into that cache.

A folder named in 1. or 2. that lacks the files is an error, not a reason to look
elsewhere. Every file's MD5 is checked on the *decompressed* bytes, so ``.gz`` files
re-compressed locally and raw files pass alike.
"""

import functools
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..errors import DataFormatError, DataUnavailableError
from ..files import write_bytes
from ..validation import check_float_dtype
from .datasets import Dataset
from .idx import GZIP_MAGIC, check_md5, decompress, parse_idx, read_bytes

#: The four MNIST files, by base name (without ``.gz``): train images, train labels,
#: test images, test labels.
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

#: Canonical MD5 of each file's decompressed bytes.
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

#: Public mirrors serving ``<base>.gz``, tried in turn.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: Environment variable naming a folder that holds the four files.
ENV_VAR = "NNSCRATCH_DATA"

#: The repository's vendored copy (exists only in a source checkout, never in the wheel).
VENDORED_DIR = Path(__file__).resolve().parents[3] / "data" / "mnist"

SPLITS = ("blog", "standard")
N_TRAIN, N_TEST = 60_000, 10_000
IMAGE_SHAPE = (28, 28)
#: The largest pixel value (white ink): the images are scaled by 1 / PIXEL_MAX into [0, 1].
PIXEL_MAX = 255
# The largest .gz is under 10 MiB; refuse a mirror that streams far more than that.
_MAX_DOWNLOAD_BYTES = 64 * 2**20


def mnist_cache_dir():
    """The user cache folder for MNIST: ``$XDG_CACHE_HOME/nnscratch/mnist``.

    Returns
    -------
    Path
        ``~/.cache/nnscratch/mnist`` when ``XDG_CACHE_HOME`` is unset or not absolute.
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "nnscratch" / "mnist"


def _mnist_paths(folder):
    """Map each base name to its file in ``folder`` (``.gz`` preferred); list the missing ones."""
    found, missing = {}, []
    for base in MNIST_FILES:
        for candidate in (folder / f"{base}.gz", folder / base):
            if candidate.is_file():
                found[base] = candidate
                break
        else:
            missing.append(base)
    return found, missing


def _file_list(bases=MNIST_FILES):
    """'a.gz, b.gz and c.gz'."""
    names = [f"{b}.gz" for b in bases]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _unavailable_message(reason, dest, attempts, download=True):
    """The one-paragraph explanation of how to supply MNIST by hand."""
    text = (
        f"MNIST is not available: {reason}. To supply it, get the four files {_file_list()} "
        "(gzip-compressed, or decompressed under the same names without .gz; their MD5 is "
        "checked) into one folder, then pass that folder with --data-dir DIR (data_dir=DIR "
        f"in Python), or set the {ENV_VAR} environment variable to it, or copy the files into "
        f"the cache folder {dest}."
    )
    if attempts:
        text += " Mirrors tried: " + "; ".join(f"{url} ({why})" for url, why in attempts) + "."
    elif not download:
        text += " No mirror was tried (download=False)."
    return text


def _check_mirrors(mirrors):
    """Return ``mirrors`` as a tuple of base URLs ending in '/'."""
    if mirrors is None:
        mirrors = MNIST_MIRRORS
    if isinstance(mirrors, str):
        mirrors = (mirrors,)
    mirrors = tuple(mirrors)
    if not mirrors or not all(isinstance(m, str) and m for m in mirrors):
        raise ValueError(f"mirrors must be a non-empty list of base URLs, got {mirrors!r}")
    return tuple(m if m.endswith("/") else m + "/" for m in mirrors)


def _fetch(url, timeout, progress, desc):
    """Return the body served at ``url``, with a progress bar."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        length = resp.headers.get("Content-Length", "")
        total = int(length) if length.isdigit() else None
        if total is not None and total > _MAX_DOWNLOAD_BYTES:
            raise DataFormatError(f"serves {total} bytes, more than any MNIST file")
        body = bytearray()
        with tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                  leave=False, disable=not progress) as bar:
            while chunk := resp.read(1 << 16):
                body += chunk
                bar.update(len(chunk))
                if len(body) > _MAX_DOWNLOAD_BYTES:
                    raise DataFormatError("serves more bytes than any MNIST file")
    if total is not None and len(body) != total:
        raise DataFormatError(f"sent {len(body)} of {total} bytes")
    return bytes(body)


def _valid_local(folder, base, md5):
    """True if ``folder`` already holds ``base`` (or ``base.gz``) with the right checksum."""
    for path in (folder / f"{base}.gz", folder / base):
        if path.is_file():
            try:
                check_md5(read_bytes(path), md5, str(path))
            except DataFormatError:
                return False
            return True
    return False


def _download(dest, mirrors, checksums, timeout, progress):
    """Fetch each missing file from the first good mirror; return (missing bases, attempts)."""
    attempts, dead, missing = [], set(), []
    for base in MNIST_FILES:
        if _valid_local(dest, base, checksums[base]):
            continue
        for mirror in mirrors:
            if mirror in dead:
                continue
            url = f"{mirror}{base}.gz"
            try:
                raw = _fetch(url, timeout, progress, f"{base}.gz")
                if raw[:2] != GZIP_MAGIC:
                    raise DataFormatError("not gzip-compressed")
                check_md5(decompress(raw, url), checksums[base], url)
            except urllib.error.HTTPError as exc:
                exc.close()
                attempts.append((url, f"HTTP error {exc.code} {exc.reason}"))
            except DataFormatError as exc:  # wrong bytes: bad gzip, checksum or size
                attempts.append((url, str(exc).removeprefix(f"{url}: ")))
            except TimeoutError:
                dead.add(mirror)
                attempts.append((url, f"timed out after {timeout} s"))
            except urllib.error.URLError as exc:
                dead.add(mirror)
                timed_out = isinstance(exc.reason, TimeoutError)
                attempts.append((url, f"timed out after {timeout} s" if timed_out
                                 else str(exc.reason)))
            except (OSError, http.client.HTTPException, ValueError) as exc:
                dead.add(mirror)
                attempts.append((url, f"{type(exc).__name__}: {exc}"))
            else:
                write_bytes(dest / f"{base}.gz", raw)
                break
        else:
            missing.append(base)
    return missing, attempts


def download_mnist(dest_dir, *, mirrors=None, checksums=None, timeout=30, progress=True):
    """Download the four MNIST ``.gz`` files into ``dest_dir``.

    Each file comes from the first mirror that serves it with the right checksum; a
    mirror that fails (HTTP error, refused connection, timeout) or serves wrong bytes
    (not gzip, bad checksum) is skipped and the reason kept for the error message. A
    mirror that cannot be reached is not tried again for the remaining files. Files
    already in ``dest_dir`` with the right checksum are kept. Each file is written
    atomically, so an interrupted download never leaves a partial file.

    Parameters
    ----------
    dest_dir : str or os.PathLike
        Destination folder, created if missing.
    mirrors : sequence of str, optional
        Base URLs (``<mirror>/<name>.gz`` is fetched). Default :data:`MNIST_MIRRORS`.
    checksums : dict, optional
        Base name -> MD5 of the decompressed bytes. Default :data:`MNIST_MD5`.
    timeout : float, default 30
        Seconds to wait on a connection before giving up on a mirror.
    progress : bool, default True
        Show a tqdm progress bar per file.

    Returns
    -------
    Path
        ``dest_dir``.

    Raises
    ------
    DataUnavailableError
        If some file could not be obtained from any mirror; the message lists every
        mirror tried with its error and says how to supply the files by hand.
    ValueError
        If ``mirrors``, ``checksums`` or ``timeout`` is invalid.
    """
    dest = Path(dest_dir).expanduser()
    mirrors = _check_mirrors(mirrors)
    checksums = MNIST_MD5 if checksums is None else dict(checksums)
    lacking = [b for b in MNIST_FILES if b not in checksums]
    if lacking:
        raise ValueError(f"checksums must have an MD5 for every file; missing {lacking}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    dest.mkdir(parents=True, exist_ok=True)
    missing, attempts = _download(dest, mirrors, checksums, timeout, progress)
    if missing:
        reason = f"could not download {_file_list(missing)} from any mirror"
        raise DataUnavailableError(_unavailable_message(reason, dest, attempts))
    return dest


def _explicit_folder(folder, label):
    """Return ``folder`` if it holds the four files, else raise naming it and what is missing."""
    if not folder.is_dir():
        problem = f"does not exist; it must be a folder holding the MNIST files {_file_list()}"
    else:
        _, missing = _mnist_paths(folder)
        if not missing:
            return folder
        if len(missing) == len(MNIST_FILES):
            problem = f"holds none of the four MNIST files {_file_list()}"
        else:
            problem = f"lacks {_file_list(missing)} of the four MNIST files"
    raise DataUnavailableError(
        f"{label} {folder} {problem} (gzip-compressed, or raw under the same names without "
        f".gz). Put them there, or leave {label} unset to use the cache folder "
        f"{mnist_cache_dir()} (filled by a download when online)."
    )


def find_mnist(data_dir=None, *, download=True, mirrors=None, progress=True):
    """Return the folder holding the four MNIST files, downloading them if need be.

    Looks, in order, at ``data_dir``, the ``NNSCRATCH_DATA`` environment variable, the
    repository's vendored ``data/mnist/``, and the user cache (see
    :func:`mnist_cache_dir`); if none has the files and ``download`` is true, downloads
    them into the cache.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Folder holding the files. If given, it is used or it is an error.
    download : bool, default True
        Whether to download when no folder has the files.
    mirrors : sequence of str, optional
        Base URLs to download from; default :data:`MNIST_MIRRORS`.
    progress : bool, default True
        Show a download progress bar.

    Returns
    -------
    Path
        The folder. Only the presence of the files is checked here; checksums are
        checked when they are read (:func:`load_mnist`).

    Raises
    ------
    DataUnavailableError
        If ``data_dir`` or ``NNSCRATCH_DATA`` lacks the files (naming the folder and the
        missing files), or if nothing holds them and the download is off or fails (one
        paragraph saying how to supply them and which mirrors failed how).
    """
    if data_dir is not None:
        return _explicit_folder(Path(data_dir).expanduser(), "data_dir")
    env = os.environ.get(ENV_VAR, "")
    if env:
        return _explicit_folder(Path(env).expanduser(), f"the {ENV_VAR} folder")
    vendored = Path(VENDORED_DIR)
    if vendored.is_dir() and not _mnist_paths(vendored)[1]:
        return vendored
    cache = mnist_cache_dir()
    if not _mnist_paths(cache)[1]:
        return cache
    where = (f"{ENV_VAR} is not set and the files are neither in the repository folder "
             f"{vendored} nor in the cache folder {cache}")
    if not download:
        reason = where + ", and downloading is off"
        raise DataUnavailableError(_unavailable_message(reason, cache, [], download=False))
    mirrors = _check_mirrors(mirrors)
    cache.mkdir(parents=True, exist_ok=True)
    missing, attempts = _download(cache, mirrors, MNIST_MD5, 30, progress)
    if missing:
        what = "them" if len(missing) == len(MNIST_FILES) else _file_list(missing)
        reason = f"{where}, and downloading {what} failed"
        raise DataUnavailableError(_unavailable_message(reason, cache, attempts))
    return cache


@functools.lru_cache(maxsize=2)
def _load_arrays(key):
    """Read, check and concatenate the four files; ``key`` holds (path, mtime, size) of each.

    Returns read-only ``images`` (70000, 784) uint8 and ``labels`` (70000,) uint8, the
    60,000 training samples first.
    """
    # Each file is copied straight into its rows of the result and its bytes dropped at
    # once, so no more than one decompressed file is held beside the final arrays.
    images = np.empty((N_TRAIN + N_TEST, IMAGE_SHAPE[0] * IMAGE_SHAPE[1]), dtype=np.uint8)
    labels = np.empty(N_TRAIN + N_TEST, dtype=np.uint8)
    rows = {"train": slice(0, N_TRAIN), "t10k": slice(N_TRAIN, None)}
    for base, (path, _, _) in zip(MNIST_FILES, key, strict=True):
        data = read_bytes(path)
        check_md5(data, MNIST_MD5[base], path)
        array = parse_idx(data, path)
        del data
        part = rows[base.split("-")[0]]
        if "images" in base:
            images[part] = array.reshape(len(array), -1)  # (n, 28, 28) -> (n, 784)
        else:
            labels[part] = array
        del array
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def clear_cache():
    """Free the parsed files kept in memory for repeated :func:`load_mnist` calls (52 MiB).

    A one-shot run (``nnscratch train``) calls it once the data set is built.
    """
    _load_arrays.cache_clear()


def _scaled(pixels, rows, dtype, chunk=8192):
    """``pixels[rows]`` (uint8) as ``dtype`` in [0, 1], gathered chunk by chunk so that no
    uint8 copy of the selection is made beside the float result."""
    index = np.arange(len(pixels))[rows]
    out = np.empty((len(index), pixels.shape[1]), dtype=dtype)
    for start in range(0, len(index), chunk):
        out[start:start + chunk] = pixels[index[start:start + chunk]]
    out /= dtype.type(PIXEL_MAX)
    return out


def blog_split_indices(n_samples=N_TRAIN + N_TEST, test_size=0.2, random_state=42):
    """Row indices of the blog's split: ``train_test_split(X, y, test_size=0.2, random_state=42)``.

    Splitting ``np.arange(n_samples)`` gives exactly the rows that splitting the full
    arrays would, because the shuffle depends only on the number of rows.

    Returns
    -------
    train_idx : ndarray of int, shape (n_samples - n_test,)
    test_idx : ndarray of int, shape (n_test,)
    """
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(n_samples), test_size=test_size, random_state=random_state)


def load_mnist(split="blog", *, data_dir=None, dtype=np.float32, download=True, progress=True):
    """Load MNIST as flattened pixels in [0, 1] and integer labels.

    Parameters
    ----------
    split : {"blog", "standard"}, default "blog"
        ``"blog"``: all 70,000 images (the 60,000 training images first, as OpenML's
        ``mnist_784`` orders them) split by
        ``train_test_split(X, y, test_size=0.2, random_state=42)`` into 56,000/14,000.
        ``"standard"``: the canonical 60,000/10,000.
    data_dir : str or os.PathLike, optional
        Folder holding the four files; see :func:`find_mnist` for where else they are found.
    dtype : {float32, float64}, default float32
        Dtype of the pixels.
    download : bool, default True
        Whether to download the files if no folder has them.
    progress : bool, default True
        Show a download progress bar.

    Returns
    -------
    Dataset
        ``X_train`` (n_train, 784) and ``X_test`` (n_test, 784) in ``dtype``;
        ``y_train``, ``y_test`` int64 in 0..9; ``feature_shape=(28, 28)``.

    Raises
    ------
    ValueError
        If ``split`` or ``dtype`` is not one of the allowed values.
    DataUnavailableError
        If the files cannot be found or downloaded.
    DataFormatError, ChecksumError
        If a file is corrupt or not the canonical one.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, SPLITS))}, got {split!r}")
    dt = check_float_dtype(dtype)
    folder = find_mnist(data_dir, download=download, progress=progress)
    paths, _ = _mnist_paths(folder)
    key = []
    for base in MNIST_FILES:
        path = paths[base].resolve()
        stat = path.stat()
        key.append((str(path), stat.st_mtime_ns, stat.st_size))
    images, labels = _load_arrays(tuple(key))
    if split == "standard":
        train, test = slice(0, N_TRAIN), slice(N_TRAIN, None)
    else:
        train, test = blog_split_indices()
    return Dataset(
        X_train=_scaled(images, train, dt),
        y_train=labels[train].astype(np.int64),
        X_test=_scaled(images, test, dt),
        y_test=labels[test].astype(np.int64),
        name="mnist",
        split=split,
        n_classes=10,
        feature_shape=IMAGE_SHAPE,
    )
