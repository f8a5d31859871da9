"""Writing files so that nothing a user saved is ever half-written.

Everything nnscratch writes goes through :func:`atomic_write`: the bytes go to a temporary
file in the destination's folder, are flushed to disk, and only then renamed over the
destination. A crash, a full disk or an exception midway leaves the previous file intact.
The one exception is a journal, which grows by whole lines (:func:`append_line`): a crash
can leave at most its last line incomplete, and its reader drops such a line.

Permissions are those any other program would give the file: a new file gets
``0o666 & ~umask`` (the kernel applies the umask, as for ``open(path, "w")``); a file that is
replaced keeps its permission bits, as ``cp`` onto an existing file, ``sed -i`` and editors that
save by renaming do. Owner and group are the writer's, as for any new file.
"""

import contextlib
import os
import secrets
import stat
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
        temporary file is removed. The file written has the permissions described in the
        module docstring (new: ``0o666 & ~umask``; replaced: the old file's).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    keep = _mode_to_keep(path)
    fd, tmp = _create_temporary(path)
    try:
        kwargs = {} if mode == "wb" else {"encoding": encoding or "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **kwargs) as f:
            if keep is not None:
                os.chmod(tmp, keep)
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _mode_to_keep(path):
    """The permission bits of the regular file at ``path``, or None if there is none."""
    try:
        st = os.stat(path)  # follows a symbolic link: the file the user sees
    except FileNotFoundError:
        return None
    # set-user/group-ID and sticky bits are not carried over to new contents
    return stat.S_IMODE(st.st_mode) & 0o777 if stat.S_ISREG(st.st_mode) else None


def _create_temporary(path):
    """A new, empty file ``.NAME.RANDOM.tmp`` next to ``path``: ``(fd, temporary path)``.

    Not ``tempfile.mkstemp``: it creates files with mode 0600 whatever the umask, and the
    rename hands that mode on to the destination.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp  # the kernel applies the umask
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue


def write_bytes(path, data):
    """Atomically write ``data`` (bytes) to ``path``."""
    with atomic_write(path, "wb") as f:
        f.write(data)


def write_text(path, text):
    """Atomically write ``text`` (UTF-8) to ``path``."""
    with atomic_write(path, "w") as f:
        f.write(text)


def append_line(path, text):
    """Append ``text`` and a newline to ``path`` (UTF-8) in one write, flushed to disk.

    For journals: every line is complete once this returns; a crash during the write can
    leave only the last line without its newline, which the reader must drop.
    """
    if "\n" in text:
        raise ValueError("text must be one line (no newline)")
    with open(path, "ab") as f:
        f.write(text.encode("utf-8") + b"\n")
        f.flush()
        os.fsync(f.fileno())
