"""Picking a data set by name: :func:`load_dataset` over MNIST and the digits."""

import numpy as np

from . import digits, mnist
from .digits import load_digits
from .mnist import SPLITS, load_mnist

#: Names accepted by :func:`load_dataset`.
DATASETS = ("mnist", "digits")
#: What each data set's raw pixel values are divided by to make its inputs (in [0, 1]).
PIXEL_MAX = {"mnist": mnist.PIXEL_MAX, "digits": digits.PIXEL_MAX}


def load_dataset(name, *, split="blog", data_dir=None, dtype=np.float32, download=True,
                 progress=True):
    """Load a classification data set by name.

    Parameters
    ----------
    name : {"mnist", "digits"}
    split : str, default "blog"
        For MNIST ``"blog"`` (80/20 of all 70,000 images, seed 42) or ``"standard"``
        (60,000/10,000). The digits have no published split: both names give the same 80/20
        split (seed 42), labelled ``"80/20"``.
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
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
    if name == "mnist":
        return load_mnist(split, data_dir=data_dir, dtype=dtype, download=download,
                          progress=progress)
    if name == "digits":
        return load_digits(dtype=dtype)
    raise ValueError(f"name must be one of {', '.join(map(repr, DATASETS))}, got {name!r}")
