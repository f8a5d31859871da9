"""What a prediction request may carry, made into the network's input, and the limits on it.

An image file's bytes (a drawing from the page's canvas, an upload) and a 28 x 28 array of
grey levels both go through :func:`nnscratch.images.mnist_like`, the preparation that
``nnscratch predict`` gives a picture: one implementation, on the server. A 28 x 28 array is
treated exactly as a 28 x 28 image file would be (either polarity; the digit is found,
scaled into 20 x 20 and centred by its mass), so an MNIST row comes back nearly unchanged
and a digit drawn off-centre is centred.
"""

import json

import numpy as np

from ..errors import NNScratchError
from ..images import SIDE, decode_image, mnist_like

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # a request body larger than this is refused (413)
# An image of more pixels is refused before it is decoded. Preparing one takes about 9 bytes
# per pixel at its peak (measured: 450 MiB for 49 MP): ~110 MiB for a 12 MP photo, ~230 MiB
# at this limit.
MAX_PIXELS = 25_000_000
JSON_KEYS = ("pixels", "model")


class RequestError(NNScratchError, ValueError):
    """A request the API cannot serve as it is; ``status`` is the HTTP status to answer."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def image_input(data, *, max_pixels=MAX_PIXELS):
    """The network's input for an image file's bytes.

    Parameters
    ----------
    data : bytes
        A PNG, JPEG, ... file (see :func:`nnscratch.images.decode_image`).
    max_pixels : int
        Larger images are refused before they are decoded.

    Returns
    -------
    ndarray of shape (784,), float32
        Pixels in [0, 1] (see :func:`nnscratch.images.mnist_like`).

    Raises
    ------
    ImageError
        (a ``ValueError``) The bytes are not an image, the image is too large, or it holds no
        digit (a blank canvas).
    """
    return mnist_like(decode_image(data, name="the upload", max_pixels=max_pixels))


def pixels_input(pixels):
    """The network's input for an array of grey levels, prepared as a 28 x 28 image file is.

    Parameters
    ----------
    pixels : list of 28 lists of 28 numbers, or of 784 numbers (as JSON gives them)
        Grey levels in [0, 1], row by row; either polarity (white ink on black as in MNIST,
        or black ink on white).

    Returns
    -------
    ndarray of shape (784,), float32

    Raises
    ------
    RequestError
        ``pixels`` is not 28 x 28 (or 784) numbers in [0, 1].
    ImageError
        (a ``ValueError``) The array holds no digit (one grey level everywhere).
    """
    expected = (f"a {SIDE} x {SIDE} array of grey levels in [0, 1] (a list of {SIDE} rows of "
                f"{SIDE} numbers, or {SIDE * SIDE} numbers)")
    if not isinstance(pixels, list):
        raise RequestError(f"pixels must be {expected}, got {_json_type(pixels)}")
    # The nesting and the lengths first, from the lists themselves: a body near the upload
    # limit holds a million numbers, which NumPy would take tens of ms (on the event loop)
    # to convert before its shape could be refused.
    shape = _outer_shape(pixels)
    if shape not in ((SIDE, SIDE), (SIDE * SIDE,)):
        raise RequestError(f"pixels must be {expected}, got an array of shape {shape}")
    array = None
    if len(shape) == 1 or all(isinstance(row, list) and len(row) == SIDE for row in pixels):
        try:
            array = np.asarray(pixels, dtype=np.float64)
        except (ValueError, TypeError):  # strings, nested objects
            pass
    if array is None or array.shape != shape:
        raise RequestError(f"pixels must be {expected}, got rows of different lengths or "
                           "values that are not numbers")
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
        raise RequestError(f"pixels must be {expected}, got values from {array.min():g} to "
                           f"{array.max():g}")
    return mnist_like(array.reshape(SIDE, SIDE))


def parse_json(body):
    """``(pixels, model)`` from a JSON request body ``{"pixels": [...], "model": "ID"}``.

    Raises
    ------
    RequestError
        The body is not valid UTF-8 JSON, not an object, has other keys, or lacks
        ``pixels``; ``model`` is not a string.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        reason = exc.msg if hasattr(exc, "msg") else "not UTF-8 text"
        raise RequestError(f"the body is not valid JSON: {reason}{where}") from None
    except RecursionError:  # [[[[...: Python's parser gives up on deep nesting
        raise RequestError("the body is not valid JSON: it is nested too deeply") from None
    if not isinstance(payload, dict):
        raise RequestError('the JSON body must be an object {"pixels": [[...], ...]}, got '
                           f"{_json_type(payload)}")
    unknown = [key for key in payload if key not in JSON_KEYS]
    if unknown:
        raise RequestError(f"the JSON body has the unknown key {unknown[0][:40]!r}; expected "
                           f"{list(JSON_KEYS)}")
    if "pixels" not in payload:
        raise RequestError('the JSON body has no "pixels": give a 28 x 28 array of grey '
                           "levels in [0, 1]")
    model = payload.get("model")
    if model is not None and not isinstance(model, str):
        raise RequestError(f"model must be a model id (a string), got {_json_type(model)}")
    return payload["pixels"], model


def _outer_shape(value):
    """The shape of nested lists as read along their first elements (a ragged list's is
    that of its first rows), without looking at the rest."""
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return tuple(shape)


def _json_type(value):
    """What a JSON value is, in JSON's words."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "true or false",
             type(None): "null", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)
