"""Reading IDX files, the format the MNIST database ships in.

An IDX file is a 4-byte magic number (``0x00 0x00``, a type code, the number of
dimensions), one big-endian ``uint32`` per dimension, then the values in C order. Only
type code ``0x08`` (unsigned byte) is supported, which is all MNIST uses. Files may be
gzip-compressed; compression is recognised by its magic bytes ``1f 8b``.

Every way a file can be corrupt raises :class:`~nnscratch.errors.DataFormatError` with
a message naming the file and what was wrong; no low-level ``struct``, ``zlib``, ``gzip``
or ``EOFError`` leaks out.
"""

import gzip
import hashlib
import os
import zlib
from pathlib import Path

import numpy as np

from nnscratch.errors import ChecksumError, DataFormatError

GZIP_MAGIC = b"\x1f\x8b"
UBYTE = 0x08
MAX_NDIM = 4
_TYPE_NAMES = {0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "short", 0x0C: "int",
               0x0D: "float", 0x0E: "double"}


def decompress(raw, name="<bytes>"):
    """Return the gzip-decompressed ``raw`` bytes; raise DataFormatError if the stream is corrupt.

    Parameters
    ----------
    raw : bytes
        A complete gzip stream (one or more members).
    name : str
        The file name used in error messages.

    Returns
    -------
    bytes
    """
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        # OSError covers gzip.BadGzipFile; EOFError is a truncated stream.
        raise DataFormatError(f"{name}: corrupt gzip stream ({exc})") from None


def read_bytes(path):
    """Return the content of the file at ``path``, decompressed if it is gzip.

    Parameters
    ----------
    path : str or os.PathLike
        An IDX file, raw or gzip-compressed.

    Returns
    -------
    bytes
        The decompressed content (what :func:`parse_idx` reads and what the
        canonical checksums are computed on).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    DataFormatError
        If the file is empty, is named ``*.gz`` but is not gzip, or its gzip stream is corrupt.
    """
    path = Path(os.fspath(path))
    raw = path.read_bytes()  # FileNotFoundError names the path
    name = str(path)
    if not raw:
        raise DataFormatError(f"{name}: file is empty (0 bytes)")
    if raw[:2] == GZIP_MAGIC:
        return decompress(raw, name)
    if path.suffix == ".gz":
        raise DataFormatError(
            f"{name}: named .gz but is not gzip-compressed "
            f"(starts with {raw[:2].hex(' ')}, expected 1f 8b)"
        )
    return raw


def check_md5(data, expected, name="<bytes>"):
    """Raise ChecksumError unless the MD5 hex digest of ``data`` is ``expected``.

    Parameters
    ----------
    data : bytes
        Decompressed file content.
    expected : str
        Expected MD5 hex digest (case-insensitive).
    name : str
        The file name used in the error message.
    """
    actual = hashlib.md5(data, usedforsecurity=False).hexdigest()
    if actual != expected.lower():
        raise ChecksumError(
            f"{name}: MD5 of the decompressed bytes is {actual}, expected {expected.lower()} "
            "(the file is corrupt or not the canonical one)"
        )


def parse_idx(data, name="<bytes>"):
    """Parse the (decompressed) bytes of an unsigned-byte IDX file.

    Parameters
    ----------
    data : bytes, bytearray or memoryview
        The whole file content, already decompressed.
    name : str
        The file name used in error messages.

    Returns
    -------
    ndarray of uint8, shape given by the header
        E.g. ``(n, 28, 28)`` for images, ``(n,)`` for labels. A fresh, writable array.

    Raises
    ------
    DataFormatError
        If the header is truncated, the magic number or type code is wrong, there are not
        1 to 4 dimensions, a dimension is 0, or the number of data bytes is not exactly the
        product of the dimensions.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data = memoryview(data).cast("B")
    size = len(data)
    if size == 0:
        raise DataFormatError(f"{name}: no IDX header (0 bytes of content)")
    if size < 4:
        raise DataFormatError(
            f"{name}: truncated header: expected at least 4 bytes, found {size}"
        )
    magic = bytes(data[:4])
    if magic[:2] != b"\x00\x00":
        raise DataFormatError(
            f"{name}: wrong magic number {magic.hex(' ')}; an IDX file starts with 00 00"
        )
    type_code, ndim = magic[2], magic[3]
    if type_code != UBYTE:
        kind = _TYPE_NAMES.get(type_code, "unknown")
        raise DataFormatError(
            f"{name}: data type code 0x{type_code:02x} ({kind}) is not supported; "
            "expected 0x08 (unsigned byte)"
        )
    if not 1 <= ndim <= MAX_NDIM:
        raise DataFormatError(
            f"{name}: header gives {ndim} dimensions; expected 1 to {MAX_NDIM}"
        )
    header_size = 4 + 4 * ndim
    if size < header_size:
        raise DataFormatError(
            f"{name}: truncated header: expected {header_size} bytes for {ndim} "
            f"dimensions, found {size}"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    if 0 in dims:
        raise DataFormatError(f"{name}: dimensions {dims} contain a 0")
    expected = 1
    for d in dims:
        expected *= d  # Python int: no overflow, however absurd the header
    found = size - header_size
    if found != expected:
        raise DataFormatError(
            f"{name}: expected {expected} data bytes for dimensions {dims}, found {found}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(dims).copy()


def read_idx(path, *, md5=None):
    """Read an unsigned-byte IDX file, raw or gzip-compressed.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Gzip is detected by its magic bytes; a ``.gz`` name that is not gzip
        is an error.
    md5 : str, optional
        If given, the expected MD5 hex digest of the decompressed bytes.

    Returns
    -------
    ndarray of uint8, shape given by the header
        E.g. ``(60000, 28, 28)`` for MNIST's training images, ``(60000,)`` for its labels.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    DataFormatError
        If the file is empty, not valid gzip, or not a valid unsigned-byte IDX file;
        the message names the file and what was wrong.
    ChecksumError
        If ``md5`` is given and does not match.
    """
    data = read_bytes(path)
    name = str(path)
    if md5 is not None:
        check_md5(data, md5, name)
    return parse_idx(data, name)
