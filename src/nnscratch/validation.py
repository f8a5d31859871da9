"""Checks of user input, run once at the public entry points (never inside the batch loop).

Every failure is a ``ValueError`` (or ``TypeError`` for a wrong type) whose message names the
argument, what was expected and what was given.
"""

import math
import numbers

import numpy as np


def check_array(X, name, *, ndim=None, dtype=None, finite=True):
    """Return ``X`` as a non-empty numeric ndarray (cast to ``dtype`` if given)."""
    if isinstance(X, (str, bytes)) or X is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(X).__name__}")
    try:
        arr = np.asarray(X)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular array of numbers: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == np.bool_):
        raise TypeError(f"{name} must hold numbers, got an array of dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim not in np.atleast_1d(ndim):
        want = " or ".join(f"{d}-D" for d in np.atleast_1d(ndim))
        raise ValueError(f"{name} must be {want}, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); expected at least one sample")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    # min and max propagate NaN and show infinities, without a boolean copy of a big X
    if finite and np.issubdtype(arr.dtype, np.floating) \
            and not (np.isfinite(arr.min()) and np.isfinite(arr.max())):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(f"{name} contains NaN or infinity (first at index {bad})")
    return arr


def check_features(X, model, name="X"):
    """``X`` as a float array of the model's dtype with ``model.input_size`` columns."""
    X = check_array(X, name, ndim=2, dtype=model.dtype)
    if X.shape[1] != model.input_size:
        raise ValueError(f"{name} has {X.shape[1]} features; the network expects "
                         f"{model.input_size}")
    return X


def check_targets(y, model, loss_fn, n_samples, name="y"):
    """Validate targets against the network's output and the loss.

    Integer labels ``(N,)`` are accepted for the cross-entropy (and returned as int64);
    everything else must have the output's shape ``(N, output_size)``.
    """
    y = check_array(y, name, ndim=(1, 2))
    if len(y) != n_samples:
        raise ValueError(f"{name} has {len(y)} samples but X has {n_samples}; they must match")
    k = model.output_size
    if y.ndim == 1 and getattr(loss_fn, "name", "") == "cross_entropy":
        if not (np.issubdtype(y.dtype, np.integer)
                or np.array_equal(y, np.round(y))):
            raise ValueError(f"{name} as a 1-D array must hold integer class labels, "
                             f"got dtype {y.dtype}")
        y = y.astype(np.int64)
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= k:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{name} has label {bad}; expected integers in [0, {k - 1}] "
                             f"for a network with {k} outputs")
        return y
    if y.ndim == 1:
        if k != 1:
            raise ValueError(f"{name} has shape {y.shape}; the network has {k} outputs, so "
                             f"expected shape ({n_samples}, {k})")
        y = y.reshape(-1, 1)
    if y.shape[1] != k:
        what = "one-hot width" if getattr(loss_fn, "name", "") == "cross_entropy" else "width"
        raise ValueError(f"{name} has {what} {y.shape[1]}; the network has {k} outputs")
    return y.astype(model.dtype, copy=False)


def check_loss_fits_head(loss_fn, model):
    """Refuse loss/head pairs that cannot train: cross-entropy needs probabilities."""
    head = model.head_activation
    if loss_fn.name == "cross_entropy" and head != "softmax":
        raise ValueError(f"loss_fn cross_entropy needs a softmax head, but the network's "
                         f"head is {head!r}; use head_activation=Softmax (or the mse loss)")
    if loss_fn.name == "binary_cross_entropy" and head != "sigmoid":
        raise ValueError(f"loss_fn binary_cross_entropy needs a sigmoid head, but the "
                         f"network's head is {head!r}; use head_activation=Sigmoid")


def check_int(value, name, *, minimum):
    """An integer ``>= minimum`` (bools refused)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_positive(value, name):
    """A positive finite number."""
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not math.isfinite(value) or value <= 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def check_fraction(value, name):
    """A number in [0, 1)."""
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not 0 <= value < 1):
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)
