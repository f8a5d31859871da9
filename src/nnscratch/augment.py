"""On-the-fly data augmentation: a fresh random distortion of every image of a batch.

:func:`make_augmenter` builds one of these distortions of flattened images (MNIST layout:
rows of ``H * W`` pixels in [0, 1], ink bright on black), each a callable that maps a batch
``(B, H*W)`` to a distorted batch of the same shape and dtype, drawing its randomness from a
:class:`numpy.random.Generator` (the same seed gives the same distortions):

``"shift"`` (:class:`Shift`)
    Whole-pixel translations, up to ``max_shift = 2`` pixels in each direction; zero fill.
``"affine"`` (:class:`Affine`)
    Rotation, horizontal shear, separate horizontal and vertical scaling and a translation
    about the image centre, with the ranges of Ciresan et al. (2010) for MNIST
    (rotation and shear ±7.5°, scaling 1 ± 15 %) plus ±2 pixels of translation; bilinear
    interpolation, zero fill.
``"elastic"`` (:class:`Elastic`)
    Simard, Steinkraus and Platt (2003): a displacement field drawn uniformly in [-1, 1] per
    pixel and direction, smoothed by a Gaussian of ``sigma = 4`` pixels and scaled by
    ``alpha = 34``; bilinear interpolation, zero fill.

``"flip"`` (:class:`Flip`) and ``"jitter"`` (:class:`Jitter`)
    For photos: a left-right mirror (half the images), and a random brightness (±0.2) and
    contrast (×1 ± 0.2).

Colour images are channels-last rows (``image_shape`` ``(H, W, C)``): every channel of an
image gets the same draw. The whole batch is distorted at once: the parameters are drawn as
arrays, the Gaussian smoothing is two batched matrix products, and the resampling is one
vectorised bilinear gather (:func:`_bilinear`); there is no Python loop over images.

:class:`Prefetcher` runs the batches and their distortion in a background thread, ``depth``
batches ahead of the training step, in the same order and with the same random draws as
without it, and stops its thread when its ``with`` block ends (normally, on an exception or
on Ctrl-C).
"""

import inspect
import math
import queue
import threading

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import gaussian_filter1d

from .layerbase import Workspace
from .validation import check_choice, check_int, check_number

#: The ``kind`` names :func:`make_augmenter` accepts ("none" means no augmentation).
AUGMENTATIONS = ("none", "shift", "affine", "elastic", "flip", "jitter")


def make_augmenter(kind, image_shape, rng, **params):
    """The augmenter ``kind`` for flattened images of ``image_shape``, drawing from ``rng``.

    Parameters
    ----------
    kind : {"none", "shift", "affine", "elastic", "flip", "jitter"}
    image_shape : tuple of two or three ints
        ``(H, W)``, e.g. ``(28, 28)`` for MNIST; batches have ``H * W`` columns. Or
        ``(H, W, C)`` for colour images as channels-last rows of ``H * W * C`` numbers:
        every channel of an image gets the same distortion.
    rng : numpy.random.Generator
        The source of every random draw. Give the augmenter its own Generator (e.g.
        ``rng.spawn(1)[0]`` of the run's), so that it draws the same distortions whatever
        else draws from the run's Generator and whether or not a :class:`Prefetcher` runs.
    **params
        The distortion's parameters, see :class:`Shift`, :class:`Affine`, :class:`Elastic`.

    Returns
    -------
    Shift, Affine, Elastic or None
        None for ``"none"``. Call it as ``augment(x)`` or ``augment(x, out=buffer)``.

    Raises
    ------
    ValueError
        If ``kind``, ``image_shape``, ``rng`` or a parameter is not valid.
    """
    kind = check_choice(kind, "kind", AUGMENTATIONS)
    if kind == "none":
        if params:
            raise ValueError(f"augmentation 'none' takes no parameters, got {sorted(params)}")
        return None
    cls = _KINDS[kind]
    accepted = [name for name, p in inspect.signature(cls).parameters.items()
                if p.kind is p.KEYWORD_ONLY]
    for name in params:
        if name not in accepted:
            raise ValueError(f"augmentation {kind!r} takes the parameters {accepted}, "
                             f"got {name!r}")
    return cls(image_shape, rng, **params)


class _Augmenter:
    """What the distortions share: argument checks and the batch plumbing."""

    kind = None
    #: Whether training gives the prefetching thread a core of its own, one fewer for BLAS
    #: (see :func:`nnscratch.training.train`). Only the elastic distortion, whose smoothing
    #: is itself matrix products, pays for it; shift, affine, flip and jitter overlap the
    #: training step without it (benchmarks/RESULTS.md, "Accuracy per second, measured again").
    needs_a_core = False
    #: Whether :meth:`_distort` only moves whole pixels (all of a pixel's channels
    #: together), so that it takes colour images as they are, ``(B, H*W*C)``
    #: channels-last, instead of one plane per channel.
    moves_whole_pixels = False

    def __init__(self, image_shape, rng):
        *self.image_shape, self.channels = _check_image_shape(image_shape)
        self.image_shape = tuple(self.image_shape)
        if not isinstance(rng, np.random.Generator):
            raise ValueError("rng must be a numpy.random.Generator (e.g. "
                             f"numpy.random.default_rng(seed)), got {type(rng).__name__}")
        self.rng = rng
        self._work = Workspace()

    def __call__(self, x, out=None):
        """Distort every image of ``x``.

        Parameters
        ----------
        x : ndarray, shape (B, H*W), float32 or float64
            Pixels in [0, 1].
        out : ndarray, shape (B, H*W), same dtype as ``x``, optional
            Where to write the result; may be ``x`` itself (the input is read first).

        Returns
        -------
        ndarray, shape (B, H*W), dtype of ``x``
            A new array (or ``out``), pixels in [0, 1].

        Notes
        -----
        The intermediate arrays live in buffers of the augmenter, allocated for the largest
        batch seen and reused: one call at a time (a :class:`Prefetcher` makes every call
        from its one thread).
        """
        x = self._check_batch(x)
        if out is None:
            out = np.empty_like(x)
        elif not (isinstance(out, np.ndarray) and out.shape == x.shape
                  and out.dtype == x.dtype and out.flags.c_contiguous):
            raise ValueError(f"out must be a C-contiguous {x.dtype} array of shape {x.shape}, "
                             f"got {_describe(out)}")
        if not len(x):
            return out
        C = self.channels
        if C == 1 or self.moves_whole_pixels:
            self._distort(x, out)
            return out
        # Colour: each channel as an image of its own, the channels of one image drawn alike
        B, (H, W) = len(x), self.image_shape
        planes = np.ascontiguousarray(x.reshape(B, H * W, C).transpose(0, 2, 1))
        planes = planes.reshape(B * C, H * W)
        self._distort(planes, planes, copies=C)
        out.reshape(B, H * W, C)[...] = planes.reshape(B, C, H * W).transpose(0, 2, 1)
        return out

    def _check_batch(self, x):
        """``x`` as a C-contiguous float array ``(B, H*W*C)``, else a ValueError."""
        H, W = self.image_shape
        n = H * W * self.channels
        if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != n \
                or x.dtype.type not in (np.float32, np.float64):
            shape = (*self.image_shape, self.channels) if self.channels > 1 else self.image_shape
            raise ValueError(f"x must be a float32 or float64 array of shape (B, {n}) "
                             f"for images of shape {shape}, got {_describe(x)}")
        return np.ascontiguousarray(x)

    def _distort(self, x, out, copies=1):
        """Distort ``x`` ``(B, H*W)`` into ``out``; each ``copies`` consecutive images are
        the channels of one picture and get the same draw. With ``moves_whole_pixels``,
        ``x`` is ``(B, H*W*C)`` channels-last instead, one draw an image (no ``copies``)."""
        raise NotImplementedError

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({params})"


class Shift(_Augmenter):
    """Translate each image by a random whole number of pixels; zero fill.

    Parameters
    ----------
    image_shape : tuple of two ints
    rng : numpy.random.Generator
    max_shift : int, default 2
        Each image moves by ``dy, dx`` drawn uniformly from the integers in
        ``[-max_shift, max_shift]``: ``out[i, j] = x[i - dy, j - dx]`` (0 outside).
    """

    kind = "shift"
    moves_whole_pixels = True

    def __init__(self, image_shape, rng, *, max_shift=2):
        super().__init__(image_shape, rng)
        self.max_shift = check_int(max_shift, "max_shift", minimum=0)

    def params(self):
        """The distortion's parameters, as given to the constructor."""
        return {"max_shift": self.max_shift}

    def draw(self, n):
        """The shifts of ``n`` images, ``(n, 2)`` ints: ``dy`` (down), ``dx`` (right)."""
        return self.rng.integers(-self.max_shift, self.max_shift, size=(n, 2), endpoint=True)

    def _distort(self, x, out):
        dy, dx = self.draw(len(x)).T
        (H, W), m, B = self.image_shape, self.max_shift, len(x)
        # zero-padded by max_shift on every side: the border is never written, stays 0
        padded = self._work.get("padded", (B, H + 2 * m, W + 2 * m, self.channels), x.dtype,
                                zeros=True)
        padded[:, m:m + H, m:m + W] = x.reshape(B, H, W, self.channels)
        # out[b, i, j] = x[b, i - dy, j - dx] = padded[b, m - dy + i, m - dx + j]: each
        # image's window at its own offset, gathered from a view of every window; one copy,
        # rows of W pixels at a time (an index per pixel took 3x longer)
        windows = sliding_window_view(padded, (H, W), axis=(1, 2))  # (B, 2m+1, 2m+1, C, H, W)
        out.reshape(B, H, W, self.channels)[...] = \
            windows.transpose(0, 1, 2, 4, 5, 3)[np.arange(B), m - dy, m - dx]


class Affine(_Augmenter):
    """A random affine map of each image about its centre; bilinear interpolation, zero fill.

    An output pixel at ``p = (x, y)`` (column, row; y down) shows the input at
    ``c + A^-1 (p - c - t)``, where ``c`` is the image centre, ``t`` the translation and
    ``A = R(rotation) @ Shear(shear) @ diag(scale_x, scale_y)``: the ink is scaled, then
    sheared horizontally (``x += tan(shear) * y``), then rotated anticlockwise as seen on the
    screen, then moved. Each quantity is drawn uniformly from its ``(low, high)`` range,
    independently per image. The default ranges are those of Ciresan, Meier, Gambardella and
    Schmidhuber (2010, "Deep, big, simple neural nets for handwritten digit recognition"):
    rotation and shear ±7.5°, each axis scaled by 1 ± 15 %; plus a translation of ±2 pixels.

    Parameters
    ----------
    image_shape : tuple of two ints
    rng : numpy.random.Generator
    rotation : (float, float), default (-7.5, 7.5)
        Degrees, anticlockwise on the screen.
    shear : (float, float), default (-7.5, 7.5)
        Degrees from the vertical, in (-90, 90).
    scale : (float, float), default (0.85, 1.15)
        Factor, drawn separately for the width and the height; positive.
    translation : (float, float), default (-2.0, 2.0)
        Pixels, drawn separately for x and y.
    """

    kind = "affine"

    def __init__(self, image_shape, rng, *, rotation=(-7.5, 7.5), shear=(-7.5, 7.5),
                 scale=(0.85, 1.15), translation=(-2.0, 2.0)):
        super().__init__(image_shape, rng)
        self.rotation = _check_range(rotation, "rotation")
        self.shear = _check_range(shear, "shear", -90, 90, open_=True)
        self.scale = _check_range(scale, "scale", 0, math.inf, open_=True)
        self.translation = _check_range(translation, "translation")

    def params(self):
        """The distortion's parameters, as given to the constructor."""
        return {"rotation": self.rotation, "shear": self.shear, "scale": self.scale,
                "translation": self.translation}

    def draw(self, n):
        """The maps of ``n`` images: ``(A_inv, t)``, shapes ``(n, 2, 2)`` and ``(n, 2)``,
        in (x, y) order; an output pixel ``p`` reads the input at ``c + A_inv (p - c - t)``."""
        u = self.rng.random((n, 6))
        lo = np.array([self.rotation[0], self.shear[0], self.scale[0], self.scale[0],
                       self.translation[0], self.translation[0]])
        hi = np.array([self.rotation[1], self.shear[1], self.scale[1], self.scale[1],
                       self.translation[1], self.translation[1]])
        theta, shear, sx, sy, tx, ty = (lo + (hi - lo) * u).T
        theta, k = np.radians(theta), np.tan(np.radians(shear))
        cos, sin = np.cos(theta), np.sin(theta)
        # A = R @ K @ S with R = [[cos, sin], [-sin, cos]] (y down: anticlockwise on screen),
        # K = [[1, k], [0, 1]], S = diag(sx, sy); so A_inv = S^-1 @ K^-1 @ R^-1 =
        # diag(1/sx, 1/sy) @ [[cos - k sin, -sin - k cos], [sin, cos]].
        A_inv = np.empty((n, 2, 2))
        A_inv[:, 0, 0] = (cos - k * sin) / sx
        A_inv[:, 0, 1] = (-sin - k * cos) / sx
        A_inv[:, 1, 0] = sin / sy
        A_inv[:, 1, 1] = cos / sy
        return A_inv, np.stack([tx, ty], axis=1)

    def _distort(self, x, out, copies=1):
        B, (H, W) = len(x), self.image_shape
        A_inv, t = (np.repeat(a, copies, axis=0) for a in self.draw(B // copies))
        # (x, y) of every output pixel relative to the centre, less the translation
        px = (np.arange(W) - (W - 1) / 2)[None, None, :] - t[:, 0, None, None]  # (B, 1, W)
        py = (np.arange(H) - (H - 1) / 2)[None, :, None] - t[:, 1, None, None]  # (B, H, 1)
        rows = self._work.get("rows", (B, H, W), x.dtype)
        cols = self._work.get("cols", (B, H, W), x.dtype)
        tmp = self._work.get("tmp", (B, H, W), x.dtype)
        # cols = c_x + A_inv[0, 0] px + A_inv[0, 1] py; rows likewise with the second row
        for target, i, centre in ((cols, 0, (W - 1) / 2), (rows, 1, (H - 1) / 2)):
            np.multiply(A_inv[:, i, 0, None, None], px, out=target)
            np.multiply(A_inv[:, i, 1, None, None], py, out=tmp)
            target += tmp
            target += centre
        _bilinear(x, self.image_shape, rows, cols, out, self._work)


class Elastic(_Augmenter):
    """Simard et al. (2003)'s elastic distortion; bilinear interpolation, zero fill.

    Each image gets its own displacement field: two arrays ``(H, W)`` (rows and columns) of
    independent uniform draws in [-1, 1], each smoothed by a Gaussian of standard deviation
    ``sigma`` pixels (scipy.ndimage's ``gaussian_filter`` with its default "reflect" edges,
    applied as two matrix products) and multiplied by ``alpha``; the output pixel at
    ``(i, j)`` shows the input at ``(i + dy[i, j], j + dx[i, j])``. Simard et al. found
    ``sigma = 4`` and ``alpha = 34`` best on MNIST: a field smooth over a third of a digit.
    Each component of a smoothed field has the standard deviation ``alpha * sqrt(1/3) /
    (2 sqrt(pi) sigma)`` = 1.38 pixels away from the edges (the variance 1/3 of the uniform
    draws times the sum of the squared Gaussian weights, ``1 / (4 pi sigma^2)``), so a pixel
    moves by 1.73 pixels on average there; on a 28x28 image the reflected edges repeat draws
    and the mean over all pixels is 2.2 (measured). :meth:`displacements` draws the fields.

    Parameters
    ----------
    image_shape : tuple of two ints
    rng : numpy.random.Generator
    sigma : float, default 4.0
        Pixels; positive.
    alpha : float, default 34.0
        Pixels per unit of smoothed field; >= 0 (0 is the identity).
    """

    needs_a_core = True

    kind = "elastic"

    def __init__(self, image_shape, rng, *, sigma=4.0, alpha=34.0):
        super().__init__(image_shape, rng)
        self.sigma = check_number(sigma, "sigma", 0, low_open=True)
        self.alpha = check_number(alpha, "alpha", 0)
        H, W = self.image_shape
        # gaussian_filter1d is linear: filtering the identity gives its matrix, so smoothing
        # a field U (H, W) along both axes is G_H @ U @ G_W.T, exactly as gaussian_filter.
        self._g_rows = gaussian_filter1d(np.eye(H), self.sigma, axis=0)
        self._g_cols_t = gaussian_filter1d(np.eye(W), self.sigma, axis=0).T

    def params(self):
        """The distortion's parameters, as given to the constructor."""
        return {"sigma": self.sigma, "alpha": self.alpha}

    def displacements(self, n, dtype=np.float64):
        """The displacement fields of ``n`` images, ``(n, 2, H, W)``: rows (dy), columns (dx)."""
        return self._fields(n, np.dtype(dtype)).copy()

    def _fields(self, n, dtype):
        """:meth:`displacements`, in the augmenter's buffer."""
        H, W = self.image_shape
        u = self._work.get("uniform", (n, 2, H, W), dtype)
        self.rng.random(out=u, dtype=dtype)  # [0, 1)
        u *= 2 * self.alpha
        u -= self.alpha  # alpha * uniform in [-1, 1): alpha commutes with the smoothing
        # 2n small products (BLAS does not thread them): one big product (H n 2, W) @ (W, W)
        # is no faster here and, threaded, fights the training step for the cores.
        half = self._work.get("half_smoothed", (n, 2, H, W), dtype)
        np.matmul(self._g_rows.astype(dtype), u, out=half)
        return np.matmul(half, self._g_cols_t.astype(dtype), out=u)

    def _distort(self, x, out, copies=1):
        H, W = self.image_shape
        d = self._fields(len(x) // copies, x.dtype)  # (B, 2, H, W)
        if copies > 1:
            d = np.repeat(d, copies, axis=0)
        d[:, 0] += np.arange(H, dtype=x.dtype)[:, None]
        d[:, 1] += np.arange(W, dtype=x.dtype)
        _bilinear(x, self.image_shape, d[:, 0], d[:, 1], out, self._work)


class Flip(_Augmenter):
    """Mirror each image left to right with probability ``p`` (photos; not for digits).

    Parameters
    ----------
    image_shape : tuple of two or three ints
    rng : numpy.random.Generator
    p : float, default 0.5
        Probability that an image is mirrored.
    """

    kind = "flip"
    moves_whole_pixels = True

    def __init__(self, image_shape, rng, *, p=0.5):
        super().__init__(image_shape, rng)
        self.p = check_number(p, "p", 0, 1)

    def params(self):
        """The distortion's parameters, as given to the constructor."""
        return {"p": self.p}

    def draw(self, n):
        """Which of ``n`` images are mirrored, ``(n,)`` bool."""
        return self.rng.random(n) < self.p

    def _distort(self, x, out):
        H, W = self.image_shape
        flip = self.draw(len(x))
        images, target = x.reshape(-1, H, W, self.channels), out.reshape(-1, H, W, self.channels)
        target[...] = images
        target[flip] = images[flip, :, ::-1]


class Jitter(_Augmenter):
    """Random brightness and contrast: ``clip(m + c (x - m) + b, 0, 1)`` per image, ``m``
    being the image's mean (over its pixels and channels), ``c`` and ``b`` drawn uniformly.

    Parameters
    ----------
    image_shape : tuple of two or three ints
    rng : numpy.random.Generator
    brightness : float, default 0.2
        ``b`` in ``[-brightness, brightness]`` (pixels are in [0, 1]).
    contrast : float, default 0.2
        ``c`` in ``[1 - contrast, 1 + contrast]``.
    """

    kind = "jitter"

    def __init__(self, image_shape, rng, *, brightness=0.2, contrast=0.2):
        super().__init__(image_shape, rng)
        self.brightness = check_number(brightness, "brightness", 0)
        self.contrast = check_number(contrast, "contrast", 0, 1)

    def params(self):
        """The distortion's parameters, as given to the constructor."""
        return {"brightness": self.brightness, "contrast": self.contrast}

    def draw(self, n):
        """``(c, b)`` of ``n`` images, each ``(n,)``."""
        u = self.rng.random((n, 2))
        return 1 + self.contrast * (2 * u[:, 0] - 1), self.brightness * (2 * u[:, 1] - 1)

    def __call__(self, x, out=None):
        """As the other augmenters; the channels are jittered together (one mean)."""
        x = self._check_batch(x)
        if out is None:
            out = np.empty_like(x)
        elif not (isinstance(out, np.ndarray) and out.shape == x.shape
                  and out.dtype == x.dtype and out.flags.c_contiguous):
            raise ValueError(f"out must be a C-contiguous {x.dtype} array of shape {x.shape}, "
                             f"got {_describe(out)}")
        if len(x):
            c, b = (v.astype(x.dtype)[:, None] for v in self.draw(len(x)))
            m = x.mean(axis=1, keepdims=True)
            np.subtract(x, m, out=out)
            out *= c
            out += m + b
            np.clip(out, 0, 1, out=out)
        return out


_KINDS = {"shift": Shift, "affine": Affine, "elastic": Elastic, "flip": Flip, "jitter": Jitter}


# --- resampling -----------------------------------------------------------------------------
def _padded(x, image_shape, work):
    """The batch as images ``(B, H + 2, W + 2)`` with a one-pixel border of zeros."""
    H, W = image_shape
    padded = work.get("padded", (len(x), H + 2, W + 2), x.dtype, zeros=True)
    padded[:, 1:-1, 1:-1] = x.reshape(-1, H, W)  # the border is never written: stays 0
    return padded


def _bilinear(x, image_shape, rows, cols, out, work):
    """Bilinear interpolation of each image of ``x`` at fractional ``rows, cols`` ``(B, H, W)``
    (0 outside the image, fading linearly over its last pixel), written into ``out``;
    ``rows`` and ``cols`` are overwritten.

    The same values as ``scipy.ndimage.map_coordinates(x.reshape(B, H, W), [b, rows, cols],
    order=1, mode="grid-constant")`` (tested), as one gather of the four neighbours of every
    output pixel from the zero-padded batch, faster than map_coordinates (see
    benchmarks/bench_augment.py).
    """
    B, (H, W) = len(x), image_shape
    padded = _padded(x, image_shape, work).reshape(-1)
    shape = (B, H, W)
    r0 = work.get("r0", shape, rows.dtype)
    c0 = work.get("c0", shape, cols.dtype)
    index = work.get("index", shape, np.intp)
    step = work.get("index_step", shape, np.intp)
    # Clipped to [-1, H] (resp. W): beyond that everything reads the zero border anyway;
    # r0 <= H - 1 so that r0 + 1 is still in the padded image.
    for f, f0, size in ((rows, r0, H), (cols, c0, W)):
        np.clip(f, -1, size, out=f)
        np.floor(f, out=f0)
        np.minimum(f0, size - 1, out=f0)
        f -= f0  # the fraction, in [0, 1]
    # flat index of the top-left neighbour: (b (H + 2) + r0 + 1) (W + 2) + c0 + 1
    np.copyto(index, r0, casting="unsafe")
    index *= W + 2
    np.copyto(step, c0, casting="unsafe")
    index += step
    index += (np.arange(B) * ((H + 2) * (W + 2)) + (W + 3))[:, None, None]
    a, b, c, d = (work.get(name, shape, x.dtype) for name in "abcd")
    for corner, offset in ((a, 0), (b, 1), (c, W + 1), (d, 1)):
        index += offset  # top-left, top-right, bottom-left, bottom-right
        padded.take(index, out=corner, mode="clip")  # in range; "raise" would buffer
    fr, fc = rows, cols
    b -= a
    b *= fc
    a += b  # top row: a + fc (b - a)
    d -= c
    d *= fc
    c += d  # bottom row
    c -= a
    c *= fr
    a += c  # top + fr (bottom - top)
    np.clip(a.reshape(B, -1), 0, 1, out=out)


# --- checks ---------------------------------------------------------------------------------
def _check_image_shape(image_shape):
    """``image_shape`` as ``(H, W, C)`` (``C = 1`` when two are given), positive ints, else
    a ValueError."""
    if (not isinstance(image_shape, (tuple, list)) or len(image_shape) not in (2, 3)
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0
                       for s in image_shape)):
        raise ValueError("image_shape must be two positive integers (height, width), or "
                         f"three (height, width, channels), got {image_shape!r}")
    return int(image_shape[0]), int(image_shape[1]), int((*image_shape, 1)[2])


def _check_range(value, name, low=-math.inf, high=math.inf, *, open_=False):
    """``value`` as a ``(low, high)`` pair of floats with ``low <= high``, else a ValueError."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{name} must be a (low, high) pair of numbers, got {value!r}")
    pair = tuple(check_number(v, name, low, high, low_open=open_, high_open=open_)
                 for v in value)
    if pair[0] > pair[1]:
        raise ValueError(f"{name} must be a (low, high) pair with low <= high, got {value!r}")
    return pair


def _describe(a):
    """A short description of an argument for error messages."""
    if isinstance(a, np.ndarray):
        return f"a {a.dtype} array of shape {a.shape}"
    return f"{type(a).__name__} {a!r}"[:80]


# --- prefetching ----------------------------------------------------------------------------
class Prefetcher:
    """Draw batches and distort them in a background thread, ``depth`` batches ahead.

    Iterating yields ``(augment(x), y)`` for each ``(x, y)`` of ``batches``: the same batches,
    in the same order, with the same random distortions as a plain loop (the thread makes
    every draw, in order), each batch in a buffer of the prefetcher's own that stays valid
    until the next one is requested. NumPy and scipy release the GIL in their kernels, so
    the distortion of the next batches overlaps the training step on the current one.

    With a costly distortion on a machine with few cores, limit BLAS to one thread fewer
    while it runs (``threadpoolctl.threadpool_limits(1, user_api="blas")`` on 2 cores): the
    training step then keeps one core and the distortions get the other. On this project's
    2-core machine (benchmarks/bench_augment.py, 784-800-10, batch 128) an epoch took 0.72 s
    plain, and with the elastic distortion 1.30 s inline, 1.38 s prefetched with BLAS on
    both cores, 0.86 s (+20 %) prefetched with one BLAS thread. A cheap one is better off
    without the limit: the best recipe's epoch with shifted images took 4.5-5.2 s with BLAS
    on both cores, 6.2-6.5 s on one (2026-12-06, benchmarks/RESULTS.md). Each augmenter's
    ``needs_a_core`` says which; :func:`~nnscratch.training.train` follows it.

    The thread makes every random draw of ``batches`` and ``augment``; the consuming thread
    must not draw from the same Generators meanwhile.

    Use it as a context manager: leaving the ``with`` block (at the end, on ``break``, on an
    exception or on Ctrl-C) stops and joins the thread. An exception raised in the thread
    (by ``batches`` or ``augment``) is raised again by the iteration.

    Parameters
    ----------
    batches : iterable of (ndarray, ndarray)
        ``(x, y)`` pairs, ``x`` of shape ``(B, H*W)``; each may be a view into a buffer that
        the iterable reuses (as :func:`~nnscratch.training.train`'s batches are): it is read
        before the next pair is requested.
    augment : callable or None
        ``augment(x, out=buffer)``, e.g. from :func:`make_augmenter`; None copies ``x``.
    depth : int, default 2
        How many batches are prepared ahead.

    Examples
    --------
    >>> with Prefetcher(batches, augment) as prefetched:          # doctest: +SKIP
    ...     for x, y in prefetched:
    ...         model.train_batch(x, y, loss)
    """

    def __init__(self, batches, augment, depth=2):
        self.depth = check_int(depth, "depth", minimum=1)
        if augment is not None and not callable(augment):
            raise ValueError(f"augment must be callable or None, got {type(augment).__name__}")
        self._batches, self._augment = batches, augment
        self._queue = queue.Queue(maxsize=self.depth)
        self._stop = threading.Event()
        self._thread = None
        self._slots = []  # depth + 2 buffers: being filled, queued (depth), being trained

    def __enter__(self):
        self._thread = threading.Thread(target=self._work, name="nnscratch-prefetch",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stop the thread and wait for it (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            while self._thread.is_alive():
                try:  # unblock a put() waiting for room
                    self._queue.get_nowait()
                except queue.Empty:
                    self._thread.join(timeout=0.05)
            self._thread = None

    def __iter__(self):
        if self._thread is None:
            raise RuntimeError("iterate over a Prefetcher inside its with block")
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    def _put(self, item):
        """Queue ``item`` unless asked to stop; False when stopped."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _work(self):
        try:
            for n, (x, y) in enumerate(self._batches):
                if self._stop.is_set():
                    return
                x_out, y_out = self._slot(n, x, y)
                if self._augment is None:
                    np.copyto(x_out, x)
                else:
                    self._augment(x, out=x_out)
                np.copyto(y_out, y)
                if not self._put((x_out, y_out)):
                    return
            self._put(_DONE)
        except BaseException as error:  # handed to the consuming thread
            self._put(_Failure(error))

    def _slot(self, n, x, y):
        """Buffers for the ``n``-th batch: one of ``depth + 2`` in turn, cut to its rows."""
        if len(self._slots) < self.depth + 2:
            self._slots.append((np.empty_like(x), np.empty_like(y)))
        x_buf, y_buf = self._slots[n % (self.depth + 2)]
        if x_buf.shape[1:] != x.shape[1:] or len(x_buf) < len(x) or \
                y_buf.shape[1:] != y.shape[1:] or len(y_buf) < len(y):
            x_buf, y_buf = np.empty_like(x), np.empty_like(y)
            self._slots[n % (self.depth + 2)] = (x_buf, y_buf)
        return x_buf[:len(x)], y_buf[:len(y)]


class _Failure:
    """An exception raised in the prefetching thread, on its way to the consumer."""

    def __init__(self, error):
        self.error = error


_DONE = object()
