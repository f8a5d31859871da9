"""Turning a user's picture of a digit into an MNIST-like input, the way MNIST was made.

:func:`load_image` reads any PNG/JPEG/... that Pillow reads as grey levels in [0, 1];
:func:`mnist_like` applies the MNIST recipe (light ink on black, the digit scaled into a
20x20 box keeping its aspect ratio, its centre of mass at pixel (14, 14) of a 28x28 field);
:func:`preprocess` does both for a list of files, giving rows the trained networks accept.
"""

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import NNScratchError
from .validation import check_array

SIDE = 28  # MNIST images are SIDE x SIDE
BOX = 20  # the digit is scaled to fit a BOX x BOX square ...
CENTRE = 14.0  # ... and shifted so its centre of mass is at (CENTRE, CENTRE), as in MNIST
INK_FRACTION = 0.1  # a pixel is ink when above this fraction of the brightest one


class ImageError(NNScratchError, ValueError):
    """A file is not a readable image, or an image holds no digit."""


def load_image(path):
    """Read an image file as grey levels in [0, 1].

    Palette images are expanded, transparency is composited onto white, 16-bit images keep
    their precision and the EXIF orientation is applied (a phone photo comes out upright).

    Parameters
    ----------
    path : str or os.PathLike
        Any format Pillow reads (PNG, JPEG, GIF, BMP, TIFF, WebP, ...); the first frame of an
        animation.

    Returns
    -------
    ndarray of shape (height, width), float32
        0 is black, 1 is white.

    Raises
    ------
    TypeError
        If ``path`` is not a str or os.PathLike.
    FileNotFoundError
        If ``path`` does not exist.
    ImageError
        (a ``ValueError``) If the file cannot be read as an image; the message names the file
        and gives Pillow's reason.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"image file not found: {path}")
    if path.is_dir():
        raise ImageError(f"cannot read {path} as an image: it is a folder")
    try:
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            return _grey(im)
    except FileNotFoundError:  # removed between the check and the open
        raise FileNotFoundError(f"image file not found: {path}") from None
    # Pillow reports bad files as any of these (DecompressionBombError is none of the others).
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError,
            ValueError, EOFError) as exc:
        reason = str(exc) or type(exc).__name__
        raise ImageError(f"cannot read {path} as an image: {reason}") from None


def _grey(im):
    """A Pillow image of any mode as float32 grey levels in [0, 1], alpha composited on white."""
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit grey (Pillow opens 16-bit PNGs as "I;16", or "I" in older versions).
        return np.clip(np.asarray(im, dtype=np.float64) / 65535.0, 0, 1).astype(np.float32)
    if im.mode == "F":
        return np.clip(np.asarray(im, dtype=np.float32), 0, 1)
    if im.mode in ("P", "PA", "LA", "La", "RGBA", "RGBa") or "transparency" in im.info:
        im = im.convert("RGBA")
        alpha = np.asarray(im.getchannel("A"), dtype=np.float32) / 255
        grey = np.asarray(im.convert("L"), dtype=np.float32) / 255  # ignores alpha
        return grey * alpha + (1 - alpha)  # composited onto white
    return np.asarray(im.convert("L"), dtype=np.float32) / 255


def mnist_like(gray):
    """Apply the MNIST recipe to a grey-level image of one digit.

    1. Make the ink bright on black: invert when the border is light (median of the outermost
       rows and columns above 0.5), then subtract the border's median level.
    2. Crop to the bounding box of the ink (pixels above ``INK_FRACTION`` of the brightest).
    3. Scale the crop to fit a 20x20 box, keeping its aspect ratio (Lanczos, in float).
    4. Paste it into a 28x28 black field so that its centre of mass falls on pixel (14, 14)
       (the rounded offset, limited so that nothing is cut off) and scale to a maximum of 1.

    Parameters
    ----------
    gray : array-like of shape (height, width)
        Grey levels in [0, 1], e.g. from :func:`load_image`; either polarity.

    Returns
    -------
    ndarray of shape (784,), float32
        Pixels in [0, 1], row by row, like the rows of :func:`nnscratch.data.load_mnist`:
        background 0, the brightest ink 1.

    Raises
    ------
    ValueError
        If ``gray`` is not a 2-D array of finite numbers in [0, 1].
    ImageError
        (a ``ValueError``) "no ink found" if the image is blank (one flat level).
    """
    img = check_array(gray, "gray", ndim=2, dtype=np.float64)
    lo, hi = img.min(), img.max()
    if lo < 0 or hi > 1:
        raise ValueError(f"gray must hold grey levels in [0, 1], got values from {lo:g} "
                         f"to {hi:g}")
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    if np.median(border) > 0.5:
        img, border = 1 - img, 1 - border
    img = np.clip(img - np.median(border), 0, None)  # paper that is not quite white: 0
    peak = img.max()
    if peak <= 0:
        raise ImageError("no ink found: the image is blank (a single grey level)")
    ink = img > INK_FRACTION * peak
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = img[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] / peak

    h, w = crop.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # Pillow's (width, height)
    digit = Image.fromarray(crop.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    digit = np.clip(np.asarray(digit, dtype=np.float64), 0, None)  # Lanczos rings below 0
    h, w = digit.shape

    # Centre of mass of the digit placed at the top-left corner, then the shift that moves
    # it to (CENTRE, CENTRE), limited to the positions where the whole digit stays inside.
    mass = digit.sum()
    if mass <= 0:  # cannot happen for a crop that holds ink, but never divide by 0
        raise ImageError("no ink found: the digit vanished when scaled")
    cy = digit.sum(axis=1) @ np.arange(h) / mass
    cx = digit.sum(axis=0) @ np.arange(w) / mass
    top = int(np.clip(round(CENTRE - cy), 0, SIDE - h))
    left = int(np.clip(round(CENTRE - cx), 0, SIDE - w))
    out = np.zeros((SIDE, SIDE))
    out[top:top + h, left:left + w] = digit
    return (out / out.max()).astype(np.float32).ravel()


def preprocess(paths):
    """Load image files and make each MNIST-like, ready for ``model.predict``.

    Parameters
    ----------
    paths : sequence of (str or os.PathLike), or a single one
        The image files.

    Returns
    -------
    ndarray of shape (n_files, 784), float32
        One row per file, in order, pixels in [0, 1] (see :func:`mnist_like`).

    Raises
    ------
    TypeError
        If ``paths`` is not a path or an iterable of paths.
    FileNotFoundError
        If a file does not exist.
    ImageError
        (a ``ValueError``) If a file is not a readable image or holds no ink; the message
        names the file.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    try:
        paths = list(paths)
    except TypeError:
        raise TypeError("paths must be a path or a sequence of paths, got "
                        f"{type(paths).__name__}") from None
    rows = np.empty((len(paths), SIDE * SIDE), dtype=np.float32)
    for i, path in enumerate(paths):
        gray = load_image(path)
        try:
            rows[i] = mnist_like(gray)
        except ImageError as exc:
            raise ImageError(f"{path}: {exc}") from None
    return rows
