"""The :class:`Dataset` container (a training and a test part) and :func:`one_hot`."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Dataset:
    """A data set split into a training and a test part.

    Parameters
    ----------
    X_train : ndarray, shape (n_train, n_features)
    y_train : ndarray, shape (n_train,) of int64 (classification) or (n_train, 1) of float
    X_test : ndarray, shape (n_test, n_features)
    y_test : ndarray, shape (n_test,) or (n_test, 1)
    name : str
        E.g. ``"mnist"``, ``"digits"``.
    split : str
        How train and test were made, e.g. ``"blog"`` or ``"standard"``.
    n_classes : int or None
        Number of classes; ``None`` for regression.
    feature_shape : tuple of int or None
        Shape of one sample as an image, e.g. ``(28, 28)``; ``None`` if not an image.
    feature_names : tuple of str or None
        Name of each feature column (a user's CSV table); ``None`` if the columns are unnamed.
    classes : tuple or None
        The original label of each class index ``0..n_classes-1`` (str, int, float or bool),
        so predictions can be written back in the user's labels; ``None`` when the labels
        are the class indices themselves (MNIST, digits) or for regression.
    target : str or None
        Name of the target column a table was loaded with; ``None`` otherwise.
    pipeline : TablePipeline or None
        A table's input pipeline, fitted on ``X_train``'s rows, which made ``X_*`` from the
        table's columns (:mod:`nnscratch.data.pipeline`); ``None`` for other data.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str
    split: str
    n_classes: int | None = None
    feature_shape: tuple | None = None
    feature_names: tuple | None = None
    classes: tuple | None = None
    target: str | None = None
    pipeline: object = None

    def __post_init__(self):
        for part in ("train", "test"):
            X, y = getattr(self, f"X_{part}"), getattr(self, f"y_{part}")
            if X.ndim != 2:
                raise ValueError(
                    f"X_{part} must be 2-D (n_samples, n_features), got shape {X.shape}"
                )
            if len(X) != len(y):
                raise ValueError(f"X_{part} has {len(X)} rows but y_{part} has {len(y)}")
        if self.X_train.shape[1] != self.X_test.shape[1]:
            raise ValueError(
                f"X_train has {self.X_train.shape[1]} features but X_test has "
                f"{self.X_test.shape[1]}"
            )
        if self.feature_names is not None and len(self.feature_names) != self.n_features:
            raise ValueError(f"feature_names has {len(self.feature_names)} names but X has "
                             f"{self.n_features} features")
        if self.classes is not None and len(self.classes) != self.n_classes:
            raise ValueError(f"classes has {len(self.classes)} labels but n_classes is "
                             f"{self.n_classes}")

    @property
    def task(self):
        """``"classification"`` if the data set has classes, else ``"regression"``."""
        return "regression" if self.n_classes is None else "classification"

    @property
    def n_features(self):
        """Number of input features (columns of ``X_train``)."""
        return self.X_train.shape[1]

    @property
    def sizes(self):
        """Split sizes, e.g. ``{"train": 56000, "test": 14000}``."""
        return {"train": len(self.X_train), "test": len(self.X_test)}

    def summary(self):
        """One line describing the data set, e.g. for a log (and a second saying what the
        input pipeline does, for a table)."""
        kind = "regression" if self.n_classes is None else f"{self.n_classes} classes"
        line = (f"{self.name} ({self.split} split): {len(self.X_train):,} train / "
                f"{len(self.X_test):,} test samples, {self.n_features} features, {kind}, "
                f"{self.X_train.dtype}")
        return line if self.pipeline is None else f"{line}\n{self.pipeline.summary()}"

    def __repr__(self):
        return (
            f"Dataset(name={self.name!r}, split={self.split!r}, train={len(self.X_train)}, "
            f"test={len(self.X_test)}, n_features={self.n_features}, "
            f"n_classes={self.n_classes}, dtype={self.X_train.dtype})"
        )


def one_hot(y, n_classes, dtype=np.float32):
    """Encode integer labels as one-hot rows.

    Parameters
    ----------
    y : array_like of int, shape (n,)
        Labels in ``[0, n_classes - 1]``.
    n_classes : int
        Number of classes (columns).
    dtype : dtype, default float32
        Dtype of the result.

    Returns
    -------
    ndarray, shape (n, n_classes)
        Row ``i`` is 1 in column ``y[i]`` and 0 elsewhere.

    Raises
    ------
    ValueError
        If ``y`` is not a 1-D array of integers in range, or ``n_classes`` is not a
        positive integer.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) \
            or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (n_samples,), got shape {y.shape}")
    if y.size and y.dtype.kind not in "iu":
        raise ValueError(f"y must hold integer labels, got dtype {y.dtype}")
    if y.size:
        lo, hi = int(y.min()), int(y.max())
        bad = lo if lo < 0 else hi
        if lo < 0 or hi >= n_classes:
            raise ValueError(
                f"y has label {bad}; expected integers in [0, {n_classes - 1}]"
            )
    out = np.zeros((len(y), int(n_classes)), dtype=dtype)
    out[np.arange(len(y)), y.astype(np.intp, copy=False)] = 1
    return out
