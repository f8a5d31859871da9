"""Turning a user's picture of a digit into an MNIST-like input, the way MNIST was made.

:func:`load_image` reads any PNG/JPEG/... that Pillow reads as grey levels in [0, 1]
(:func:`decode_image` the same from bytes, e.g. an upload);
:func:`mnist_like` finds the digit in it (a photo of paper: uneven light, noise, JPEG, ruled
lines) and applies the MNIST recipe (light ink on black, the digit scaled into a 20x20 box
keeping its aspect ratio, its centre of mass at pixel (14, 14) of a 28x28 field);
:func:`preprocess` does both for a list of files, giving rows the trained networks accept;
:func:`save_prepared` writes those rows back as 28x28 PNGs to look at.
The image processing itself is scipy.ndimage's and scikit-image's.
"""

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage
from skimage.exposure import histogram
from skimage.filters import threshold_otsu
from skimage.transform import hough_line

from .errors import NNScratchError
from .files import write_bytes
from .validation import check_array

SIDE = 28  # MNIST images are SIDE x SIDE
BOX = 20  # the digit is scaled to fit a BOX x BOX square ...
CENTRE = 14.0  # ... and shifted so its centre of mass is at (CENTRE, CENTRE), as in MNIST
INK_FRACTION = 0.1  # a stroke pixel holds at least this fraction of the strongest ink

# Finding the digit in a photo (see mnist_like for how each is used)
WORK_SIDE = 1024  # larger pictures are averaged down to this longest side first
FIT_SIDE = 128  # the paper's lighting is fitted on a copy this small ...
DEGREE = 3  # ... as a polynomial surface of this degree, ...
LOCAL_SIGMA = 1 / 16  # ... then as a Gaussian average over this fraction of the copy's width
FIT_ROUNDS = 10  # refits, each leaving out the pixels far from the last fit
OUTLIER = 3.0  # "far": beyond this many robust standard deviations
FLAT = 1e-4  # spreads below this count as a flat (noise-free) picture; the fits' tolerance
DARKEST_PAPER = 0.05  # ink strength is relative to the paper's level, floored here
NOISY = 0.01  # pictures noisier than this are smoothed (Gaussian, sigma 1 pixel)
MIN_CONTRAST = 0.2  # ink takes at least this fraction of the paper's light (light ink: adds) ...
SIGNAL = 6.0  # ... and stands this many of the paper's robust deviations out of it
EDGE = 4.0  # the faintest stroke pixels kept stand this many deviations out
MAX_TILT = 2  # a ruled line is within this many degrees of horizontal or vertical, ...
LINE_SPAN = 0.8  # ... holds ink along this fraction of the page ...
THIN = 0.03  # ... and is at most this fraction of the page thick
MIN_EXTENT = 0.02  # a digit is at least this fraction of the picture's width or height
FRAME_CONTACT = 0.5  # ink along this fraction of a side of the frame is not the digit
EDGE_WEIGHT = 0.3  # ink touching the frame counts this much
NEAR = 0.3  # strokes within this fraction of the digit's size belong to it ...
SPECK = 0.02  # ... unless they hold less than this fraction of its ink


NO_INK = "no ink found: nothing stands out from the paper (blank paper, or noise)"


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
        return _decoded(path, path)
    except FileNotFoundError:  # removed between the check and the open
        raise FileNotFoundError(f"image file not found: {path}") from None


def decode_image(data, *, name="the image", max_pixels=None):
    """Read an image from its file's bytes (an upload) as grey levels in [0, 1].

    As :func:`load_image`, for bytes held in memory; with ``max_pixels`` the image's size is
    checked from its header, before anything is decoded.

    Parameters
    ----------
    data : bytes
        The whole file, in any format Pillow reads.
    name : str
        What the error messages call the image, e.g. ``"the upload"``.
    max_pixels : int, optional
        Refuse an image of more pixels (width x height) than this. Pillow refuses more than
        ``2 * PIL.Image.MAX_IMAGE_PIXELS`` (about 179 million) in any case.

    Returns
    -------
    ndarray of shape (height, width), float32
        0 is black, 1 is white.

    Raises
    ------
    TypeError
        If ``data`` is not bytes.
    ImageError
        (a ``ValueError``) If ``data`` is empty, is not an image Pillow reads, or holds more
        than ``max_pixels`` pixels (a decompression bomb: a small file of a huge picture).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    if not len(data):
        raise ImageError(f"cannot read {name} as an image: it is empty (0 bytes)")
    return _decoded(io.BytesIO(data), name, max_pixels)


def _decoded(source, name, max_pixels=None):
    """Open, check, decode and orient ``source`` (a path or a binary file) as grey levels."""
    try:
        with Image.open(source) as im:  # reads the header only
            if max_pixels is not None and im.width * im.height > max_pixels:
                raise ImageError(f"cannot read {name} as an image: it is {im.width} x "
                                 f"{im.height} pixels, more than the {max_pixels:,} allowed")
            im.load()
            im = ImageOps.exif_transpose(im)
            return _grey(im)
    except UnidentifiedImageError as exc:
        # from bytes, Pillow's message names a BytesIO object: say what it means instead
        reason = str(exc) if isinstance(source, Path) else "not an image format Pillow reads"
        raise ImageError(f"cannot read {name} as an image: {reason}") from None
    except (FileNotFoundError, ImageError):
        raise
    # Pillow reports bad files as any of these (DecompressionBombError is none of the others).
    except (Image.DecompressionBombError, OSError, SyntaxError, ValueError, EOFError) as exc:
        reason = str(exc) or type(exc).__name__
        raise ImageError(f"cannot read {name} as an image: {reason}") from None


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
    """Find the digit in a grey-level picture and apply the MNIST recipe to it.

    1. Average a picture longer than ``WORK_SIDE`` pixels down to that size (speed), and
       smooth a noisy one (a Gaussian of 1 pixel).
    2. Model the paper: on a ``FIT_SIDE`` copy, a polynomial surface for the overall
       lighting, then a Gaussian average that follows a soft shadow, both fitted robustly so
       that ink and ruled lines drop out. The ink lies on whichever side of the paper the
       outliers do: dark on light paper, or light on a dark ground (MNIST itself). A flat
       paper (one exact grey level, as in a drawing or MNIST) needs no fit.
    3. Ink strength: the fraction of the paper's light that dark ink absorbs (the lighting
       multiplies paper and ink alike), or how far light ink rises above its ground.
    4. Threshold it: stroke pixels hold at least ``INK_FRACTION`` of the strongest ink and
       stand out of the paper's spread, connected to pixels above Otsu's threshold (at least
       ``MIN_CONTRAST`` and ``SIGNAL`` spreads). Ruled lines are removed.
    5. Keep the digit: the connected strokes with the most ink and the strokes near them;
       specks, lines, the page's edge and border shadows go.
    6. Crop to the digit, scale it to fit a 20x20 box keeping its aspect ratio (Lanczos), and
       paste it into a 28x28 black field so that its centre of mass falls on pixel (14, 14)
       (the rounded offset, limited so that nothing is cut off); scale to a maximum of 1.

    A clean picture (one flat background, no noise) keeps every stroke and its exact pixel
    values, so an MNIST image comes back nearly as it was.

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
        (a ``ValueError``) "no ink found" if the image is blank (one flat level), or if no
        digit stands out from the paper (blank paper, noise, a page of ruled lines).
    """
    img = check_array(gray, "gray", ndim=2)  # converted to float64 once it is small
    lo, hi = float(img.min()), float(img.max())
    if lo < 0 or hi > 1:
        raise ValueError(f"gray must hold grey levels in [0, 1], got values from {lo:g} "
                         f"to {hi:g}")
    if lo == hi:
        raise ImageError("no ink found: the image is blank (a single grey level)")
    ink, spread = _ink_strength(_shrink(img, WORK_SIDE).astype(np.float64))
    strokes = _digit_strokes(ink, spread)
    rows, cols = np.flatnonzero(strokes.any(axis=1)), np.flatnonzero(strokes.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    # The strokes with a one-pixel margin (their anti-aliased edges), less the paper's spread
    keep = ndimage.binary_dilation(strokes[box], structure=np.ones((3, 3), bool))
    crop = np.where(keep, np.clip(ink[box] - 2 * spread, 0, None), 0)
    return _centred(crop / crop.max())


def _shrink(img, side):
    """``img`` averaged down (box filter) so that its longest side is at most ``side``."""
    h, w = img.shape
    if max(h, w) <= side:
        return img
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # Pillow's (width, height)
    small = Image.fromarray(np.asarray(img, dtype=np.float32)).resize(
        size, Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float64)


def _robust_sigma(values):
    """The spread of the bulk of ``values``: 1.4826 median absolute deviations (0 if flat)."""
    middle = _median(values, 0.0)
    return 1.4826 * _median(np.abs(values - middle), 0.0)


def _median(values, guess):
    """``np.median(values)``, found at once when more than half of the values equal
    ``guess``: it is then ``guess`` exactly (both middle values of the sorted ones are).

    Why: on a clean drawing most pixels are the paper's one level, and the ink's and the
    residuals' medians are 0; counting is ~10x quicker than the partial sort of a median.
    """
    if 2 * np.count_nonzero(values == guess) > values.size:
        return float(guess)
    return float(np.median(values))


def _paper(img):
    """The paper's level under every pixel (shape of ``img``), fitted on a small copy.

    Two robust fits, each refitted on the pixels within ``OUTLIER`` spreads of the last fit,
    so that ink and ruled lines drop out whichever their polarity (a plain least-squares fit
    would bend towards them): a polynomial surface for the overall lighting, then a Gaussian
    average of the paper's pixels alone, which follows a soft shadow the polynomial cannot.
    """
    small = _shrink(img, FIT_SIDE)
    values = small.ravel()
    level = _median(values, values[0])  # a corner: the paper, most likely
    if _is_flat(values, level):
        return np.full(img.shape, level)
    vy = np.polynomial.legendre.legvander(np.linspace(-1, 1, small.shape[0]), DEGREE)
    vx = np.polynomial.legendre.legvander(np.linspace(-1, 1, small.shape[1]), DEGREE)
    terms = [(i, j) for i in range(DEGREE + 1) for j in range(DEGREE + 1 - i)]
    design = np.stack([np.outer(vy[:, i], vx[:, j]).ravel() for i, j in terms], axis=1)
    fit = np.full_like(values, level)
    for _ in range(FIT_ROUNDS):
        near = _near(values, fit)
        a, b = design[near], values[near]  # least squares by its normal equations: (T, T)
        new = design @ np.linalg.lstsq(a.T @ a, a.T @ b, rcond=None)[0]
        done = np.allclose(new, fit, rtol=0, atol=FLAT)
        fit = new
        if done:
            break
    surface = fit = fit.reshape(small.shape)
    sigma = LOCAL_SIGMA * max(small.shape)
    for _ in range(FIT_ROUNDS):
        near = _near(small, fit).astype(np.float64)
        weight = ndimage.gaussian_filter(near, sigma)
        # the average departure of the nearby paper from the surface
        local = ndimage.gaussian_filter((small - surface) * near, sigma)
        new = surface + np.where(weight > FLAT, local / np.maximum(weight, FLAT), 0)
        done = np.allclose(new, fit, rtol=0, atol=FLAT)
        fit = new
        if done:
            break
    return _stretch(fit, img.shape)


def _is_flat(values, level):
    """Whether the paper is one exact grey ``level``: the values near it (within ``OUTLIER``
    robust spreads) all equal it, as on a drawing or a clean scan.

    Both fits of :func:`_paper` then keep exactly those pixels and return ``level``
    everywhere, so the paper is known without them (up to rounding, about 1e-16).
    """
    near = _near(values, level)
    return bool(near.any()) and bool((values[near] == level).all())


def _near(values, fit):
    """Which ``values`` lie within ``OUTLIER`` robust spreads of ``fit``."""
    residual = values - fit
    return np.abs(residual) <= OUTLIER * max(_robust_sigma(residual), FLAT)


def _stretch(small, shape):
    """``small`` interpolated (bilinear, pixel centres aligned) up to ``shape``."""
    def weights(n, m):  # (n, m): row k spreads full-size pixel k over the m small ones
        u = np.clip((np.arange(n) + 0.5) * m / n - 0.5, 0, m - 1)
        lo = np.minimum(np.floor(u).astype(int), m - 2) if m > 1 else np.zeros(n, int)
        t = u - lo
        out = np.zeros((n, m))
        out[np.arange(n), lo] = 1 - t
        if m > 1:
            out[np.arange(n), lo + 1] += t
        return out

    if small.shape == shape:
        return small
    return weights(shape[0], small.shape[0]) @ small @ weights(shape[1], small.shape[1]).T


def _ink_strength(img):
    """Ink strength >= 0 per pixel (about 0 on the paper) and its spread on the paper.

    The spread (a robust standard deviation) holds the sensor's noise, JPEG's blocks and
    whatever the paper's fit missed: ink must stand well out of it.
    """
    if _noise(img) > NOISY:  # average out sensor noise first
        img = ndimage.gaussian_filter(img, 1.0)
    paper = _paper(img)
    residual = img - paper
    cut = OUTLIER * _robust_sigma(residual)
    dark = np.clip(-residual - cut, 0, None).sum()
    light = np.clip(residual - cut, 0, None).sum()
    if dark > light:  # dark ink on light paper: the fraction of the light it absorbs
        ink = -residual / np.maximum(paper, DARKEST_PAPER)
    else:  # light ink on a dark ground (MNIST): how far it rises above it
        ink = residual
    return np.clip(ink, 0, None), _robust_sigma(ink)


def _noise(values):
    """The standard deviation of pixel noise in ``values``, from neighbours' differences."""
    steps = np.diff(values, axis=int(values.shape[1] > 1))  # along rows unless one column
    return _robust_sigma(steps) / np.sqrt(2)  # a difference of two holds twice the variance


def _digit_strokes(ink, spread):
    """Boolean mask of the digit's strokes in the ink strength map ``ink``."""
    peak = ink.max()
    floor = max(MIN_CONTRAST, SIGNAL * spread)
    if peak <= floor:
        raise ImageError(NO_INK)
    high = max(threshold_otsu(hist=_histogram(ink)), floor)
    low = min(max(INK_FRACTION * peak, EDGE * spread), high)
    strokes = _hysteresis(ink, low, high)
    lines, count, width = _ruled_lines(strokes)
    labels, n = ndimage.label(strokes & ~lines, structure=np.ones((3, 3), bool))
    if n == 0 and count == 1:  # a single stroke across the page is the digit (a 1), ...
        labels, n = ndimage.label(strokes, structure=np.ones((3, 3), bool))
        count = width = 0
    digit = _pick_digit(labels, n, ink, high)  # ... while a page of lines alone is blank
    if width:  # mend the strokes where they crossed a removed line
        span = 2 * width + 1
        for structure in (np.ones((span, 1), bool), np.ones((1, span), bool)):
            digit |= lines & ndimage.binary_closing(digit, structure=structure)
    return digit


def _histogram(ink):
    """``skimage.exposure.histogram(ink, 256)`` (Otsu's input), counted over the pixels that
    hold ink only when the rest are 0: on a drawing that is a few thousand of 78,400."""
    inked = ink[ink > 0]
    if inked.size in (0, ink.size):
        return histogram(ink, nbins=256, source_range="image")
    counts, centres = histogram(np.append(inked, 0.0), nbins=256, source_range="image")
    counts[0] += ink.size - inked.size - 1  # the 0s, all in the first bin
    return counts, centres


def _hysteresis(ink, low, high):
    """``skimage.filters.apply_hysteresis_threshold(ink, low, high)``: the pixels above
    ``low`` connected to one above ``high``; the components' counts by ``np.bincount``
    (quicker than ``ndimage.sum``'s search of the labels)."""
    labels, n = ndimage.label(ink > low)
    connected = np.bincount(labels[ink > high], minlength=n + 1) > 0
    connected[0] = False  # the background
    return connected[labels]


def _ruled_lines(mask):
    """The pixels of ``mask`` on ruled lines, how many lines, and the thickest one's width.

    A ruled line is a thin straight line, horizontal or vertical up to ``MAX_TILT`` degrees,
    holding ink along most of the page (``LINE_SPAN``): a Hough transform counts the ink on
    every such line. A digit's bar, however long, is thicker than ``THIN`` of the page.
    """
    lines = np.zeros_like(mask)
    count = width = 0
    rows, cols = np.nonzero(mask)
    tilts = np.deg2rad(np.linspace(-MAX_TILT, MAX_TILT, 4 * MAX_TILT + 1))
    for normal, length, across in ((np.pi / 2, mask.shape[1], mask.shape[0]),  # horizontal
                                   (0.0, mask.shape[0], mask.shape[1])):  # vertical
        ink, angles, dists = hough_line(mask, theta=normal + tilts)  # (n_dists, n_angles)
        best = int(np.argmax(ink.max(axis=0)))  # ruled lines are parallel: the best angle
        bands, n = ndimage.label(ink[:, best] >= LINE_SPAN * length)  # runs of distances
        thickness = np.bincount(bands.ravel(), minlength=n + 1)[1:]
        thin = np.flatnonzero(thickness <= max(2, THIN * across)) + 1
        if not thin.size:
            continue
        on = dists[np.isin(bands, thin)]
        # the ink within a pixel of those lines
        dist = np.rint(cols * np.cos(angles[best]) + rows * np.sin(angles[best]))
        near = np.isin(dist, on) | np.isin(dist - 1, on) | np.isin(dist + 1, on)
        lines[rows[near], cols[near]] = True
        count += thin.size
        width = max(width, int(thickness[thin - 1].max()) + 2)
    return lines, count, width


def _pick_digit(labels, n, ink, high):
    """The digit's components in ``labels``: the one with the most ink and those near it.

    Candidates hold ink above ``high`` and are not specks (``MIN_EXTENT``); components
    running along a side of the frame (the page's edge, the table, a shadow) are none. Ink
    touching the frame counts less.
    """
    if n == 0:
        raise ImageError(NO_INK)
    index = np.arange(1, n + 1)
    sides = (labels[0], labels[-1], labels[:, 0], labels[:, -1])
    contact = np.max([np.bincount(side, minlength=n + 1)[1:] / side.size for side in sides],
                     axis=0)  # (n,) the largest fraction of a side each component touches
    frame = contact >= FRAME_CONTACT
    boxes = np.array([(b[0].start, b[0].stop, b[1].start, b[1].stop)
                      for b in ndimage.find_objects(labels)])  # (n, 4) top, bottom, left, right
    extent = np.maximum(boxes[:, 1] - boxes[:, 0], boxes[:, 3] - boxes[:, 2])
    strong = np.bincount(labels[ink >= high], minlength=n + 1)[1:] > 0
    candidate = strong & ~frame & (extent >= MIN_EXTENT * max(labels.shape))
    if not candidate.any():
        raise ImageError(NO_INK)
    mass = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=n + 1)[1:]
    edge = contact > 0
    main = int(np.argmax(np.where(candidate, mass * np.where(edge, EDGE_WEIGHT, 1.0), -1.0)))
    reach = NEAR * extent[main]
    eligible = (mass >= SPECK * mass[main]) & ~frame & (~edge | edge[main])
    chosen = index == main + 1
    while True:  # grow the group by the eligible components within reach of its box
        group = (boxes[chosen, 0].min(), boxes[chosen, 1].max(),
                 boxes[chosen, 2].min(), boxes[chosen, 3].max())
        gap = np.maximum.reduce([group[0] - boxes[:, 1], boxes[:, 0] - group[1],
                                 group[2] - boxes[:, 3], boxes[:, 2] - group[3],
                                 np.zeros(n)])
        new = eligible & ~chosen & (gap <= reach)
        if not new.any():
            break
        chosen |= new
    return np.isin(labels, index[chosen])


def _centred(crop):
    """MNIST's step 3-4: ``crop`` scaled into a 20x20 box, centred by mass in 28x28."""
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


def save_prepared(rows, sources, folder):
    """Write prepared inputs as 28x28 PNGs (white ink on black, as the network sees them).

    Parameters
    ----------
    rows : array-like of shape (n_images, 784)
        Pixels in [0, 1], e.g. from :func:`preprocess`.
    sources : sequence of (str or os.PathLike), length n_images
        The images the rows were prepared from. Each PNG is named after its source,
        ``<stem>-28x28.png``, with a number added (``<stem>-2-28x28.png``) where two sources
        share a stem; a source is never overwritten.
    folder : str or os.PathLike
        Where to write the PNGs; created if missing. Each file is written atomically.

    Returns
    -------
    list of pathlib.Path
        The files written, one per row, in order.

    Raises
    ------
    ValueError
        If ``rows`` is not ``(n_images, 784)`` pixels in [0, 1], ``sources`` does not hold
        ``n_images`` paths, or ``folder`` is an existing file.
    """
    rows = check_array(rows, "rows", ndim=2)
    if rows.shape[1] != SIDE * SIDE:
        raise ValueError(f"rows must have {SIDE * SIDE} pixels (28x28) each, got "
                         f"{rows.shape[1]}")
    if rows.min() < 0 or rows.max() > 1:
        raise ValueError(f"rows must hold pixels in [0, 1], got values from {rows.min():g} "
                         f"to {rows.max():g}")
    sources = [Path(source) for source in sources]
    if len(sources) != len(rows):
        raise ValueError(f"sources names {len(sources)} images but rows holds {len(rows)}; "
                         "expected one source per row")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"folder must be a folder, got the file {folder}")
    taken = {source.resolve() for source in sources}
    written = []
    for row, source in zip(rows, sources, strict=True):
        path, number = folder / f"{source.stem}-28x28.png", 1
        while path.resolve() in taken:
            number += 1
            path = folder / f"{source.stem}-{number}-28x28.png"
        taken.add(path.resolve())
        pixels = np.round(row.reshape(SIDE, SIDE) * 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "PNG")
        write_bytes(path, buffer.getvalue())
        written.append(path)
    return written
