"""The blog's three regression functions, sampled on an even grid."""

import numpy as np

from ..validation import check_float_dtype


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
