"""The :class:`Dataset` container and the small, offline data sets.

Holds what every data set shares (:class:`Dataset`, :func:`one_hot`), scikit-learn's
bundled 8x8 ``digits``, the blog's three regression functions, and :func:`load_dataset`,
the one entry point that picks a data set by name. MNIST itself lives in
:mod:`nnscratch.data.mnist`.
"""

from dataclasses import dataclass

import numpy as np

#: Names accepted by :func:`load_dataset`.
DATASETS = ("mnist", "digits")


def check_float_dtype(dtype):
    """Return ``np.dtype(dtype)`` if float32 or float64, else raise ValueError naming ``dtype``."""
    try:
        # np.dtype(None) is float64: refuse None explicitly.
        dt = None if dtype is None else np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.type not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    return dt


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
        """One line describing the data set, e.g. for a log."""
        kind = "regression" if self.n_classes is None else f"{self.n_classes} classes"
        return (
            f"{self.name} ({self.split} split): {len(self.X_train):,} train / "
            f"{len(self.X_test):,} test samples, {self.n_features} features, {kind}, "
            f"{self.X_train.dtype}"
        )

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


def load_digits(*, dtype=np.float32, test_size=0.2, random_state=42):
    """Load scikit-learn's bundled 8x8 handwritten digits (1,797 images, no download).

    Parameters
    ----------
    dtype : {float32, float64}, default float32
        Dtype of the pixels.
    test_size : float or int, default 0.2
        Passed to ``sklearn.model_selection.train_test_split``.
    random_state : int, default 42
        Passed to ``train_test_split``.

    Returns
    -------
    Dataset
        ``X_*`` of shape (n, 64) scaled to [0, 1] (pixel values 0..16 divided by 16),
        ``y_*`` int64 in 0..9, ``name="digits"``, ``feature_shape=(8, 8)``,
        ``split="blog"`` for the default 80/20 split with seed 42.

    Raises
    ------
    ValueError
        If ``dtype`` is not float32 or float64, or ``test_size`` is invalid.
    """
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    dt = check_float_dtype(dtype)
    bunch = sk_load_digits()
    X = (bunch.data / 16.0).astype(dt)  # (1797, 64), values 0..16
    y = bunch.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state
    )
    if test_size == 0.2 and random_state == 42:
        split = "blog"
    else:
        split = f"random(test_size={test_size}, random_state={random_state})"
    return Dataset(X_train, y_train, X_test, y_test, name="digits", split=split,
                   n_classes=10, feature_shape=(8, 8))


def load_dataset(name, *, split="blog", data_dir=None, dtype=np.float32, download=True,
                 progress=True):
    """Load a classification data set by name.

    Parameters
    ----------
    name : {"mnist", "digits"}
    split : str, default "blog"
        For MNIST ``"blog"`` (80/20 of all 70,000 images, seed 42) or ``"standard"``
        (60,000/10,000); ``digits`` only has ``"blog"``.
    data_dir, download, progress
        Passed to :func:`nnscratch.data.load_mnist` (ignored for ``digits``).
    dtype : {float32, float64}, default float32

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        If ``name`` or ``split`` is not one of the choices.
    """
    if name == "mnist":
        from nnscratch.data.mnist import load_mnist

        return load_mnist(split, data_dir=data_dir, dtype=dtype, download=download,
                          progress=progress)
    if name == "digits":
        if split != "blog":
            raise ValueError(f"split for 'digits' must be 'blog', got {split!r}")
        return load_digits(dtype=dtype)
    raise ValueError(f"name must be one of {', '.join(map(repr, DATASETS))}, got {name!r}")


# The blog's regression targets. Named functions (not lambdas) so they pickle and print.
def square(x):
    """x**2."""
    return x**2


def absolute(x):
    """|x|."""
    return np.abs(x)


def three_sin(x):
    """3 sin x."""
    return 3 * np.sin(x)


#: The blog's three regression functions, in the blog's order: name -> vectorised callable.
REGRESSION_FUNCTIONS = {"x^2": square, "|x|": absolute, "3 sin x": three_sin}


def regression_data(name_or_fn, n=100, low=-3.0, high=3.0, dtype=np.float64):
    """Sample one of the blog's regression functions on an even grid.

    Parameters
    ----------
    name_or_fn : str or callable
        A key of :data:`REGRESSION_FUNCTIONS` (``"x^2"``, ``"|x|"``, ``"3 sin x"``) or a
        vectorised callable mapping an array to an array of the same shape.
    n : int, default 100
        Number of points.
    low, high : float, default -3.0, 3.0
        Interval, both ends included (``np.linspace(low, high, n)`` as in the blog).
    dtype : {float32, float64}, default float64

    Returns
    -------
    X : ndarray, shape (n, 1)
    y : ndarray, shape (n, 1)
        ``f(X)``.

    Raises
    ------
    ValueError
        If the name is unknown, ``n`` is not a positive integer, ``low >= high``, or the
        callable does not return one value per point.
    """
    if isinstance(name_or_fn, str):
        if name_or_fn not in REGRESSION_FUNCTIONS:
            choices = ", ".join(map(repr, REGRESSION_FUNCTIONS))
            raise ValueError(f"name_or_fn must be one of {choices}, got {name_or_fn!r}")
        fn = REGRESSION_FUNCTIONS[name_or_fn]
    elif callable(name_or_fn):
        fn = name_or_fn
    else:
        raise ValueError(f"name_or_fn must be a function name or a callable, got {name_or_fn!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"low must be less than high (both finite), got low={low}, high={high}")
    dt = check_float_dtype(dtype)
    X = np.linspace(low, high, int(n), dtype=dt).reshape(-1, 1)  # (n, 1)
    y = np.asarray(fn(X), dtype=dt)
    if y.size != X.size:
        raise ValueError(f"name_or_fn returned shape {y.shape} for input of shape {X.shape}")
    return X, y.reshape(X.shape)
