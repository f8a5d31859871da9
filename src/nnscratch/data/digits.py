"""scikit-learn's bundled 8x8 handwritten digits as a :class:`Dataset` (no download)."""

import numpy as np

from ..validation import check_float_dtype
from .datasets import Dataset

#: The largest pixel value of the digits' images: they are scaled by 1 / PIXEL_MAX.
PIXEL_MAX = 16


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
        ``split="80/20"`` for the default split (seed 42).

    Raises
    ------
    ValueError
        If ``dtype`` is not float32 or float64, or ``test_size`` is invalid.
    """
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    dt = check_float_dtype(dtype)
    bunch = sk_load_digits()
    X = (bunch.data / float(PIXEL_MAX)).astype(dt)  # (1797, 64), values 0..16
    y = bunch.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state
    )
    if test_size == 0.2 and random_state == 42:
        split = "80/20"
    else:
        split = f"random(test_size={test_size}, random_state={random_state})"
    return Dataset(X_train, y_train, X_test, y_test, name="digits", split=split,
                   n_classes=10, feature_shape=(8, 8))
