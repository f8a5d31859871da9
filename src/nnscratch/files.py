"""Writing files so that nothing a user saved is ever half-written.

Everything nnscratch writes goes through :func:`atomic_write`: the bytes go to a temporary
file in the destination's folder, are flushed to disk, and only then renamed over the
destination. A crash, a full disk or an exception midway leaves the previous file intact.
"""

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path, mode="wb", encoding=None):
    """Open a temporary file next to ``path``; on success rename it to ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        Destination. Its folder is created if missing.
    mode : {"wb", "w"}
        Binary or text.
    encoding : str, optional
        Text encoding (text mode only; defaults to UTF-8).

    Yields
    ------
    file object
        Write to it; if the ``with`` block raises, the destination is untouched and the
        temporary file is removed.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        kwargs = {} if mode == "wb" else {"encoding": encoding or "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes(path, data):
    """Atomically write ``data`` (bytes) to ``path``."""
    with atomic_write(path, "wb") as f:
        f.write(data)


def write_text(path, text):
    """Atomically write ``text`` (UTF-8) to ``path``."""
    with atomic_write(path, "w") as f:
        f.write(text)
