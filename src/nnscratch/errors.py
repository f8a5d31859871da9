"""The exceptions nnscratch raises on purpose, one class per thing that can go wrong.

Each subclasses the built-in exception a caller would already catch (``ValueError``,
``FileNotFoundError``, ...), so ``except ValueError`` keeps working, and also
:class:`NNScratchError`, so the command line can catch every expected failure in one place.
"""


class NNScratchError(Exception):
    """Base class of every error nnscratch raises on purpose."""


class DataFormatError(NNScratchError, ValueError):
    """A data file is corrupt or unusable: wrong magic number, dimensions, size or
    compression of an IDX file; a user's table with a missing column, a non-numeric or empty
    cell, ragged rows, one class only, or too few rows to split."""


class ChecksumError(DataFormatError):
    """A data file decompressed fine but its MD5 is not the canonical one."""


class DataUnavailableError(NNScratchError, FileNotFoundError):
    """A data set is neither on disk nor downloadable (e.g. offline)."""


class ModelFormatError(NNScratchError, ValueError):
    """A file is not a valid nnscratch model (or was written by an incompatible version)."""


class CheckpointError(NNScratchError, ValueError):
    """A training checkpoint cannot be resumed from: damaged, truncated, not a checkpoint, or
    written by another training (another network, optimizer, data or setting)."""


class CheckpointWarning(UserWarning):
    """A checkpoint was refused and training resumed from the previous one instead."""


class DegenerateDataError(NNScratchError, ValueError):
    """The data cannot make a figure: a t-SNE of points that are all the same, or the
    predictions of a network whose output is not finite (its forward pass overflows)."""


class DivergenceError(NNScratchError, FloatingPointError):
    """Training produced a non-finite loss; ``history`` holds the epochs completed so far."""

    def __init__(self, message, history=None, epoch=None, batch=None):
        super().__init__(message)
        self.history = history
        self.epoch = epoch
        self.batch = batch


class DivergenceWarning(RuntimeWarning):
    """Training is blowing up: the loss grew far past its start (but is still finite)."""


class ExportError(NNScratchError, ValueError):
    """A model cannot be exported: a layer or an activation the target format cannot express
    (the message names it)."""


class MissingDependencyError(NNScratchError, ImportError):
    """An optional package a feature needs is not installed (the message says how to get
    it, e.g. ``pip install 'nnscratch[onnx]'``)."""
