"""Checks of user input, run once at the public entry points (never inside the batch loop).

Every failure is a ``ValueError`` (or ``TypeError`` for a wrong type) whose message names the
argument, what was expected and what was given.
"""

import math
import numbers

import numpy as np


def check_array(X, name, *, ndim=None, dtype=None, finite=True):
    """Return ``X`` as a non-empty numeric ndarray (cast to ``dtype`` if given), C-ordered.

    Whatever array-like arrives (a DataFrame, a Fortran-ordered array, a strided view, a
    list) leaves in the layout the batch gathers want: rows contiguous in memory. An array
    that already is C-ordered with that dtype is returned as it is, without a copy.
    """
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
    arr = np.asarray(arr, dtype=dtype, order="C")
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


def describe_range(low=-math.inf, high=math.inf, *, low_open=False, high_open=False,
                   integer=False):
    """What a number must be, in words: ``"a positive finite number"``, ``"a number in [0, 1)"``."""
    if integer:
        return f"an integer >= {low}" if high == math.inf else f"an integer in [{low}, {high}]"
    if high == math.inf:
        if low == 0:
            return "a positive finite number" if low_open else "a finite number >= 0"
        if low == -math.inf:
            return "a finite number"
        return f"a finite number {'>' if low_open else '>='} {low:g}"
    return f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def in_range(value, low=-math.inf, high=math.inf, *, low_open=False, high_open=False,
             integer=False):
    """True when ``value`` is a number (an integer if ``integer``; never a bool) in the range."""
    kind = numbers.Integral if integer else numbers.Real
    if not isinstance(value, kind) or isinstance(value, (bool, np.bool_)):
        return False
    if not math.isfinite(value):
        return False
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    return bool(above and below)


def check_number(value, name, low=-math.inf, high=math.inf, *, low_open=False,
                 high_open=False, integer=False):
    """``value`` as an int or float in the given range, else a ValueError naming ``name``."""
    if not in_range(value, low, high, low_open=low_open, high_open=high_open,
                    integer=integer):
        expected = describe_range(low, high, low_open=low_open, high_open=high_open,
                                  integer=integer)
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value) if integer else float(value)


def check_int(value, name, *, minimum):
    """An integer ``>= minimum`` (bools refused)."""
    return check_number(value, name, minimum, integer=True)


def check_positive(value, name):
    """A positive finite number."""
    return check_number(value, name, 0, low_open=True)


def check_fraction(value, name):
    """A number in [0, 1)."""
    return check_number(value, name, 0, 1, high_open=True)


def check_choice(value, name, choices):
    """One of ``choices`` (compared as given; the message lists them in their order)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_float_dtype(dtype, name="dtype"):
    """``np.dtype(dtype)`` when it is float32 or float64, else a ValueError naming ``name``."""
    try:
        # np.dtype(None) is float64: refuse None explicitly.
        dt = None if dtype is None else np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.type not in (np.float32, np.float64):
        raise ValueError(f"{name} must be float32 or float64, got {dtype!r}")
    return dt
