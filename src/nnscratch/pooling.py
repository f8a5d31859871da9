"""Average pooling: ``AvgPool2D`` over windows and ``GlobalAvgPool`` over the whole image;
and ``SubtractImageMean``, which takes each image's own mean colour away from its pixels.

They follow the interface of :class:`~nnscratch.conv.MaxPool2D` (``output_shape``,
``forward``, ``backward``, no parameters). An average spreads its gradient evenly: each input
of a window gets ``1 / (p * p)`` of the window's gradient, each pixel of a global average
``1 / (H * W)`` of its channel's.
"""

import numpy as np

from .validation import check_int


def _image_shape(name, input_shape):
    """``input_shape`` as ``(C, H, W)``; ValueError naming the layer otherwise."""
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"{name} expects (channels, height, width) inputs, the previous "
                         f"layer gives shape {input_shape}")
    return input_shape


class AvgPool2D:
    """Average pooling over non-overlapping ``pool_size x pool_size`` windows,
    ``(N, C, H, W) -> (N, C, H // p, W // p)``; rows and columns that do not fill a window
    are dropped (PyTorch's ``avg_pool2d`` default).
    """

    def __init__(self, pool_size):
        self.pool_size = check_int(pool_size, "pool_size", minimum=1)

    def output_shape(self, input_shape):
        c, h, w = _image_shape("AvgPool2D", input_shape)
        p = self.pool_size
        if h < p or w < p:
            raise ValueError(f"AvgPool2D pool {p}x{p} does not fit the input {h}x{w} "
                             f"(input {tuple(input_shape)})")
        return (c, h // p, w // p)

    def forward(self, x, training=False):
        n, c, h, w = x.shape
        p = self.pool_size
        ho, wo = h // p, w // p
        self._input_shape = x.shape
        windows = x[:, :, :ho * p, :wo * p].reshape(n, c, ho, p, wo, p)  # (N, C, Ho, p, Wo, p)
        return windows.mean(axis=(3, 5))

    def backward(self, d_output, learning_rate=None, *, input_grad=True):
        if not input_grad:
            return None
        p = self.pool_size
        ho, wo = d_output.shape[2:]
        d_x = np.zeros(self._input_shape, dtype=d_output.dtype)
        share = d_output / (p * p)  # (N, C, Ho, Wo)
        for i in range(p):  # one strided view per window offset
            for j in range(p):
                d_x[:, :, i:ho * p:p, j:wo * p:p] = share
        return d_x

    def parameters(self):
        return []

    def gradients(self):
        return []

    def __repr__(self):
        return f"AvgPool2D({self.pool_size})"


class GlobalAvgPool:
    """The mean of each channel over the whole image, ``(N, C, H, W) -> (N, C)`` (as
    PyTorch's ``adaptive_avg_pool2d(x, 1).flatten(1)``): the usual last step of a
    convolutional network before its output layer."""

    def output_shape(self, input_shape):
        c, _, _ = _image_shape("GlobalAvgPool", input_shape)
        return (c,)

    def forward(self, x, training=False):
        self._input_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, d_output, learning_rate=None, *, input_grad=True):
        if not input_grad:
            return None
        h, w = self._input_shape[2:]
        share = (d_output / (h * w))[:, :, None, None]  # (N, C, 1, 1)
        return np.broadcast_to(share, self._input_shape).copy()

    def parameters(self):
        return []

    def gradients(self):
        return []

    def __repr__(self):
        return "GlobalAvgPool()"


class SubtractImageMean:
    """Each image minus its own mean colour, per channel: ``(N, C, H, W) -> (N, C, H, W)``
    with ``y[n, c] = x[n, c] - mean(x[n, c])`` (the ``center`` token).

    Why: on a photo the background's colour is most of every pixel, and it says nothing of
    the class; taken away, the first convolutions see the shapes from the first step. On
    the tinted digits a network stalls at chance for epochs without it (benchmarks/
    RESULTS.md). Being a layer, it runs after the augmentations and goes with the model
    to ``predict``, ``serve`` and ONNX. The gradient takes the mean away too:
    ``dL/dx[n, c] = dL/dy[n, c] - mean(dL/dy[n, c])``.
    """

    def output_shape(self, input_shape):
        return _image_shape("SubtractImageMean", input_shape)

    def forward(self, x, training=False):
        n, c, h, w = x.shape
        pixels = x.transpose(0, 2, 3, 1)  # the rows of an image folder: channels-last memory
        if not pixels.flags.c_contiguous:
            return x - x.mean(axis=(2, 3), keepdims=True)
        # The sums as a product with a vector of ones: 3.5x faster than NumPy's mean over
        # the two strided axes (measured on 64 32x32 colour images).
        pixels = pixels.reshape(n, h * w, c)
        mean = np.matmul(np.ones(h * w, dtype=x.dtype), pixels) / (h * w)  # (N, C)
        return (pixels - mean[:, None, :]).reshape(n, h, w, c).transpose(0, 3, 1, 2)

    def backward(self, d_output, learning_rate=None, *, input_grad=True):
        if not input_grad:
            return None
        return d_output - d_output.mean(axis=(2, 3), keepdims=True)

    def parameters(self):
        return []

    def gradients(self):
        return []

    def __repr__(self):
        return "SubtractImageMean()"
