"""Training checkpoints on disk: one ``.npz`` file per checkpoint, two generations kept.

A checkpoint is what :func:`~nnscratch.training.train` needs to continue a run exactly
where it stopped, after a completed epoch (``training.py`` decides what goes in; this module
stores it, finds it again and refuses what cannot be trusted). Like a model file it is a
NumPy ``.npz`` archive of arrays plus a ``metadata`` entry (UTF-8 JSON as ``uint8``), read
with ``allow_pickle=False``: opening one never runs code. The metadata carries a
*fingerprint* of the training it belongs to, so a checkpoint of another run is refused.

Each checkpoint is written atomically (:mod:`nnscratch.files`). Before a new one replaces
``checkpoint.npz``, the current one is renamed to ``checkpoint.prev.npz``; so a checkpoint
found damaged later (a disk error, a bad copy), or missing because the writer was killed
between that rename and the new file's, falls back on the previous one, with one warning.
"""

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._version import __version__
from .errors import CheckpointError, CheckpointWarning
from .files import atomic_write
from .jsonable import to_json

FORMAT = "nnscratch-checkpoint"
FORMAT_VERSION = 2  # 2: the callbacks' state under "callbacks" (1: early stopping's on top)
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class Checkpoint:
    """A checkpoint read back: ``meta`` (the JSON metadata) and ``arrays`` (name -> array)."""

    path: Path
    meta: dict
    arrays: dict

    @property
    def epoch(self):
        """Epochs completed when it was written."""
        return self.meta["epoch"]


def previous_path(path):
    """Where the previous generation of the checkpoint ``path`` is kept (``NAME.prev.npz``)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def write_checkpoint(path, meta, arrays):
    """Write one checkpoint file atomically.

    Parameters
    ----------
    path : path
    meta : dict
        JSON-compatible metadata (``epoch``, ``fingerprint``, ...); the format and version
        are added.
    arrays : dict of str -> ndarray
        Numeric arrays (written as they are: the caller must not change them meanwhile).
    """
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION,
            "nnscratch_version": __version__, **to_json(meta, "checkpoint metadata")}
    text = json.dumps(meta, allow_nan=False)
    with atomic_write(path) as f:
        _write_archive(f, {**arrays, "metadata": np.frombuffer(text.encode(), np.uint8)})


def _write_archive(f, arrays):
    """The archive's bytes into the open file ``f`` (a seam for the crash tests)."""
    np.savez(f, **arrays)


def read_checkpoint(path):
    """Read and check a checkpoint file.

    Returns
    -------
    Checkpoint

    Raises
    ------
    CheckpointError
        The file is empty, truncated, damaged (a CRC fails), not an nnscratch checkpoint,
        or of an unknown format version; the message names the file and the problem.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(len(_ZIP_MAGIC))
            f.seek(0)
            if head != _ZIP_MAGIC:
                raise _refused(path, "the file is empty" if not head else
                               "it is not an .npz archive (no zip signature)")
            arrays = _read_arrays(path, f)
    except OSError as exc:
        raise _refused(path, f"it cannot be read ({exc.strerror or exc})") from None
    raw = arrays.pop("metadata", None)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise _refused(path, "it is not an nnscratch checkpoint (no metadata entry)")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _refused(path, f"its metadata is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        what = meta.get("format") if isinstance(meta, dict) else None
        raise _refused(path, f"it is not an nnscratch checkpoint (format {what!r}; a model "
                             "file is not a checkpoint)")
    if meta.get("format_version") == 1:
        meta, arrays = _from_version_1(meta, arrays)
    if meta.get("format_version") != FORMAT_VERSION:
        raise _refused(path, f"it has checkpoint format version {meta.get('format_version')!r}"
                             f"; this nnscratch reads versions 1 and {FORMAT_VERSION}")
    if not isinstance(meta.get("epoch"), int) or meta["epoch"] < 1:
        raise _refused(path, f"its epoch must be an integer >= 1, got {meta.get('epoch')!r}")
    return Checkpoint(path, meta, arrays)


def _from_version_1(meta, arrays):
    """A version-1 checkpoint in version 2's layout: early stopping's state and the first
    batch's loss (the blow-up warning's) move under ``callbacks``."""
    meta = {**meta, "format_version": 2}
    callbacks = {"early_stopping": meta.pop("early_stopping", None),
                 "blow_up_warning": {"start_loss": meta.pop("start_loss", None)}}
    arrays = {("callbacks.early_stopping.best_params" if k == "best_params" else k): v
              for k, v in arrays.items()}
    return {**meta, "callbacks": callbacks}, arrays


def _read_arrays(path, f):
    """Every entry of the archive, each checked against its CRC."""
    # Past the signature the bytes are untrusted: numpy, zipfile and zlib raise many
    # exception types on damaged input; each becomes one CheckpointError.
    try:
        with np.load(f, allow_pickle=False) as npz:
            bad = npz.zip.testzip()
            if bad is not None:
                raise _refused(path, f"it is damaged (entry {bad!r} fails its CRC check)")
            return {name: npz[name] for name in npz.files}
    except CheckpointError:
        raise
    except Exception as exc:
        raise _refused(path, f"it is damaged or truncated ({type(exc).__name__}: "
                             f"{str(exc)[:120]})") from None


def _refused(path, problem):
    return CheckpointError(f"checkpoint {path} refused: {problem}")


class Checkpointer:
    """The checkpoints of one training: where they are, when one is due, and both
    generations (see the module docstring).

    Parameters
    ----------
    path : path
        The latest checkpoint, e.g. ``run/checkpoint.npz``; the previous one is
        :func:`previous_path`.
    every : int
        Write one after every ``every`` epochs and after the last (0: never).
    """

    def __init__(self, path, every=1):
        self.path, self.previous = Path(path), previous_path(path)
        self.every = every
        self._latest_is_good = True  # else a refused file: never rotate it into .prev

    def due(self, epochs_done, last):
        """Whether a checkpoint is written after ``epochs_done`` epochs (``last``: the final
        one, or early stopping)."""
        return self.every > 0 and (last or epochs_done % self.every == 0)

    def write(self, meta, arrays):
        """Keep the current checkpoint as the previous one, then write the new one."""
        if self._latest_is_good and self.path.exists():
            os.replace(self.path, self.previous)
        write_checkpoint(self.path, meta, arrays)
        self._latest_is_good = True

    def load(self, fingerprint, restore):
        """Resume from the latest usable checkpoint, if any.

        Parameters
        ----------
        fingerprint : dict
            What the training is (JSON-compatible); a checkpoint with another one is refused.
        restore : callable
            ``restore(checkpoint)`` puts its state into the training; it raises ValueError,
            TypeError or KeyError (before changing anything) when the state does not fit.

        Returns
        -------
        Checkpoint or None
            None when there is no checkpoint (a fresh start).

        Raises
        ------
        CheckpointError
            The checkpoint is refused and there is no usable previous one.

        Warns
        -----
        CheckpointWarning
            The latest checkpoint was missing or refused, and the previous one was used.
        """
        self._remove_temporaries()
        if not self.path.exists() and not self.previous.exists():
            return None
        fingerprint = to_json(fingerprint, "fingerprint")
        problems = []
        for path in (self.path, self.previous):
            if not path.exists():
                problems.append(f"checkpoint {path} is missing (the run was stopped while "
                                "replacing it)")
                continue
            try:
                found = read_checkpoint(path)
                _check_fingerprint(found, fingerprint)
                restore(found)
            except CheckpointError as exc:
                problems.append(str(exc))
                continue
            except (ValueError, TypeError, KeyError) as exc:
                problems.append(str(_refused(path, f"its state does not fit this training "
                                                   f"({exc})")))
                continue
            if path == self.previous:
                self._latest_is_good = False
                warnings.warn(f"{problems[0]}; resuming from the previous checkpoint, {path} "
                              f"(epoch {found.epoch})", CheckpointWarning, stacklevel=3)
            return found
        latest, previous = problems
        if not self.path.exists():
            raise CheckpointError(previous)
        if not self.previous.exists():
            raise CheckpointError(f"{latest}; there is no previous checkpoint "
                                  f"({self.previous.name}) to fall back on")
        raise CheckpointError(f"{latest}; the previous one, {self.previous.name}, too: "
                              f"{previous.split(' refused: ', 1)[-1]}")

    def _remove_temporaries(self):
        """Delete the half-written files of a writer that was killed (``.NAME.*.tmp``)."""
        for name in (self.path.name, self.previous.name):
            for stale in self.path.parent.glob(f".{name}.*.tmp"):
                stale.unlink(missing_ok=True)


def _check_fingerprint(found, fingerprint):
    """Refuse a checkpoint written by another training, naming the first difference."""
    theirs = found.meta.get("fingerprint")
    if not isinstance(theirs, dict):
        raise _refused(found.path, "it has no fingerprint of its training")
    for key, mine in fingerprint.items():
        other = theirs.get(key)
        if other != mine:
            if isinstance(other, dict) and isinstance(mine, dict):  # name the inner key
                key, other, mine = next((f"{key}'s {k}", other.get(k), mine.get(k))
                                        for k in {**other, **mine} if other.get(k) != mine.get(k))
            raise _refused(found.path, f"it belongs to another training: its {key} is "
                                       f"{_short(other)}, this one's is {_short(mine)}")
    extra = sorted(set(theirs) - set(fingerprint))
    if extra:
        raise _refused(found.path, f"it belongs to another training (it records {extra[0]!r})")


def _short(value, limit=80):
    text = json.dumps(value)
    return text if len(text) <= limit else f"{text[:limit - 3]}..."
