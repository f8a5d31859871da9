"""Convolutional layers: ``Conv2D``, ``MaxPool2D``, and ``Flatten`` / ``Reshape`` between
image-shaped and flat batches.

They follow the interface of :class:`~nnscratch.layers.Layer`: ``forward(x, training)`` keeps
only what ``backward`` needs; ``backward(d_output, learning_rate=None, *, input_grad=True)``
returns ``dL/dx`` and stores the parameter gradients in ``grad_weights`` / ``grad_bias``.
Each layer also has ``output_shape(input_shape)``, the per-sample shape it produces, which
raises a ``ValueError`` naming both shapes when the layer cannot take that input: a network
validates its architecture with it once, and the per-batch math checks nothing.

Batches are ``(N, C, H, W)`` as in PyTorch, and Conv2D's weights are ``(out_channels,
in_channels, k, k)``, PyTorch's layout. In memory, though, Conv2D writes its output
channels-last (``(N, H, W, C)``) and returns an ``(N, C, H, W)`` *view* of it. Why: with
im2col rows = output pixels and columns = ``(ki, kj, c)``, the im2col copy, the products and
col2im's strided adds all walk contiguous runs of channels, and the product's output needs no
transpose; this beat a ``(C*k*k, N*H*W)`` layout and a per-image batched product (measured,
see benchmarks/RESULTS.md). MaxPool2D's output keeps its input's memory order, and MaxPool2D
and Flatten give gradients back in the memory order of their forward input: NumPy's
element-wise operations are several times slower on operands laid out differently.
``Flatten`` returns the ``(c, h, w)``-ordered rows a Dense layer expects.
"""

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .activations import get_activation
from .initializers import get_initializer
from .validation import check_float_dtype, check_int

PADDINGS = ("valid", "same")

#: Bytes of input a pass over a big map takes at a time, so that a chain of element-wise
#: passes finds its operands still in the core's cache (measured best at 1 MiB here).
_CHUNK_BYTES = 1 << 20


def _axis_order(a):
    """The axes of ``a`` from the slowest-varying in memory to the fastest (those of size 1,
    whose stride means nothing, last)."""
    return tuple(sorted(range(a.ndim), key=lambda ax: (a.shape[ax] == 1, -abs(a.strides[ax]))))


def _new(shape, order, dtype, zero=False):
    """A new array of ``shape`` whose memory runs over the axes in ``order`` (see above)."""
    make = np.zeros if zero else np.empty
    return make([shape[axis] for axis in order], dtype=dtype).transpose(np.argsort(order))


def _in_order(a, order):
    """``a``, or a copy of it laid out in memory in ``order``.

    Why: NumPy's element-wise operations on operands whose memory orders differ fall back to
    short inner loops, several times slower than on operands laid out alike (measured).
    """
    if _axis_order(a) == order:
        return a
    out = _new(a.shape, order, a.dtype)
    out[...] = a
    return out


class Conv2D:
    """2-D convolution (cross-correlation, as in PyTorch) ``a = activation(conv(x, W) + b)``.

    Parameters
    ----------
    in_channels, out_channels : int
        ``C`` of the input and of the output.
    kernel_size : int
        ``k``: the kernels are ``k x k``.
    stride : int
        Step between windows, ``>= 1``.
    padding : {"valid", "same"} or int
        Zeros added around the input: ``"valid"`` (none), an int ``p >= 0`` (``p`` on every
        side), or ``"same"``, which keeps the size (``stride`` must be 1): ``(k - 1) // 2``
        before and ``k // 2`` after, so an even ``k`` pads one more at the bottom and right,
        as PyTorch does.
    activation : str, Activation class or instance, or None
        ``None`` (the default) means no activation.
    init : {"normal", "he", "glorot"} or callable
        Weight initialiser, called with ``fan_in = in_channels * k * k`` and ``fan_out =
        out_channels * k * k`` (PyTorch's and Keras's fans); the first ``out_channels``
        columns of the ``(fan_in, fan_out)`` matrix it returns become the kernels.
    rng : numpy.random.Generator or int, optional
        Source of the initial weights.
    dtype : numpy dtype
        ``float32`` (default) or ``float64``.

    Attributes
    ----------
    weights, grad_weights : ndarray, shape (out_channels, in_channels, k, k)
    bias, grad_bias : ndarray, shape (out_channels,)
    """

    def __init__(self, in_channels, out_channels, kernel_size, *, stride=1, padding="valid",
                 activation=None, init="he", rng=None, dtype=np.float32):
        in_channels = check_int(in_channels, "in_channels", minimum=1)
        out_channels = check_int(out_channels, "out_channels", minimum=1)
        k = check_int(kernel_size, "kernel_size", minimum=1)
        self.stride = check_int(stride, "stride", minimum=1)
        if isinstance(padding, str):
            if padding not in PADDINGS:
                raise ValueError(f"padding must be one of {list(PADDINGS)} or an integer >= 0, "
                                 f"got {padding!r}")
            if padding == "same" and self.stride != 1:
                raise ValueError("padding='same' needs stride=1 (as in PyTorch), "
                                 f"got stride={self.stride}; give the padding as an integer")
            self.pads = ((k - 1) // 2, k // 2) if padding == "same" else (0, 0)
        else:
            p = check_int(padding, "padding", minimum=0)
            self.pads = (p, p)
        self.padding = padding
        dtype = check_float_dtype(dtype)
        rng = np.random.default_rng(rng)
        fan_in = in_channels * k * k
        matrix = get_initializer(init)(fan_in, out_channels * k * k, rng, dtype)
        # Rows of the (fan_in, fan_out) matrix run over (c, ki, kj): PyTorch's weight layout.
        self.weights = np.ascontiguousarray(
            matrix[:, :out_channels].T.reshape(out_channels, in_channels, k, k), dtype=dtype)
        self.bias = np.zeros(out_channels, dtype=dtype)
        self.activation = get_activation(activation)
        self.grad_weights = np.zeros_like(self.weights)
        self.grad_bias = np.zeros_like(self.bias)

    @property
    def in_channels(self):
        return self.weights.shape[1]

    @property
    def out_channels(self):
        return self.weights.shape[0]

    @property
    def kernel_size(self):
        return self.weights.shape[2]

    def output_shape(self, input_shape):
        """Per-sample output shape ``(out_channels, H_out, W_out)`` for an input ``(C, H, W)``.

        ``H_out = (H + pad_before + pad_after - k) // stride + 1`` (the same for ``W``).
        Raises ``ValueError`` when the channels differ or the kernel does not fit.
        """
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(f"Conv2D expects (channels, height, width) inputs, "
                             f"the previous layer gives shape {input_shape}")
        c, h, w = input_shape
        if c != self.in_channels:
            raise ValueError(f"Conv2D expects {self.in_channels} input channels, "
                             f"the previous layer gives {c}")
        k, (before, after) = self.kernel_size, self.pads
        hp, wp = h + before + after, w + before + after
        if hp < k or wp < k:
            pad = before if before == after else self.pads
            raise ValueError(f"Conv2D kernel {k}x{k} does not fit the padded input {hp}x{wp} "
                             f"(input {input_shape}, padding {pad})")
        return (self.out_channels, (hp - k) // self.stride + 1, (wp - k) // self.stride + 1)

    def _scratch(self, name, shape, dtype):
        """A reusable work array, reallocated only when the shape or dtype changes."""
        buf = self.__dict__.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            # Zeros: the padded input's border is never written afterwards.
            buf = np.zeros(shape, dtype=dtype)
            setattr(self, name, buf)
        return buf

    def _columns(self, rows, width, dtype, *, transposed=False):
        """The reusable im2col matrix, ``(rows, width)``, its last column ones (the bias's,
        set once, when the array is allocated); ``transposed``: a view of a ``(width,
        rows)`` array."""
        name = "_cols_t" if transposed else "_cols_rows"
        shape = (width, rows) if transposed else (rows, width)
        buf = self.__dict__.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = np.empty(shape, dtype=dtype)
            setattr(self, name, buf)
            (buf.T if transposed else buf)[:, -1] = 1
        return buf.T if transposed else buf

    def forward(self, x, training=False):
        """``(N, C, H, W) -> (N, out_channels, H_out, W_out)``; ``training`` is unused.

        The result is a view of a new channels-last ``(N, H_out, W_out, out_channels)`` array
        (the work buffers reused from batch to batch are never returned).
        """
        return self.activation.forward(self.forward_z(x))

    def forward_z(self, x):
        """Like :meth:`forward`, but the pre-activation ``z``: the activation is left to the
        caller (a network pools a ReLU convolution's ``z`` before the ReLU; then
        :meth:`backward_z` takes the gradient at ``z``)."""
        n, c, h, w = x.shape
        k, s, (before, after) = self.kernel_size, self.stride, self.pads
        dtype = self.weights.dtype
        x = x.transpose(0, 2, 3, 1)  # (N, H, W, C) view
        if before or after:
            padded = self._scratch("_padded", (n, h + before + after, w + before + after, c),
                                   dtype)
            padded[:, before:before + h, before:before + w] = x
            x = padded
        ho, wo = (x.shape[1] - k) // s + 1, (x.shape[2] - k) // s + 1
        # im2col: one row per output pixel, columns (ki, kj, c), and a last column of ones
        # that carries the bias: the forward product then adds it and the weight-gradient
        # product returns its gradient, which saves two passes over the output.
        rows, width = n * ho * wo, k * k * c + 1
        if c == 1:
            # One input channel: the columns are built as their transpose, a row per kernel
            # offset, so that each offset's pixels are one contiguous copy of the shifted
            # images (28x28 digits, batches of 256: 0.4 ms against 2.7 ms for writing each
            # pixel's k*k numbers). The products read the transpose as it is, with the same
            # numbers: BLAS only packs it differently.
            cols = self._cols = self._columns(rows, width, dtype, transposed=True)
            offsets = cols.T[:-1].reshape(k, k, n, ho, wo)
            for i in range(k):
                for j in range(k):
                    offsets[i, j] = x[:, i:i + s * ho:s, j:j + s * wo:s, 0]
        else:
            cols = self._cols = self._columns(rows, width, dtype)
            np.copyto(cols[:, :-1].reshape(n, ho, wo, k, k, c),
                      sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s]
                      .transpose(0, 1, 2, 4, 5, 3))  # (N, Ho, Wo, C, k, k) -> (.., k, k, C)
        w_b = self._scratch("_w_b", (self.out_channels, k * k * c + 1), dtype)
        w_b[:, :-1] = self.weights.transpose(0, 2, 3, 1).reshape(self.out_channels, -1)
        w_b[:, -1] = self.bias
        z = cols @ w_b.T  # (N*Ho*Wo, k*k*C + 1) @ (k*k*C + 1, out)
        self._input_shape = (n, c, h, w)
        return z.reshape(n, ho, wo, -1).transpose(0, 3, 1, 2)  # (N, out, Ho, Wo) view

    def backward(self, d_output, learning_rate=None, *, input_grad=True):
        """Back-propagate ``d_output = dL/da`` (N, out, H_out, W_out); return ``dL/dx``.

        ``dL/dx`` has the input's shape (N, C, H, W) (channels-last in memory), or is None
        with ``input_grad=False``. With ``learning_rate``, also take one plain SGD step.
        """
        return self.backward_z(self.activation.backward(d_output), learning_rate,
                               input_grad=input_grad)

    def backward_z(self, d_z, learning_rate=None, *, input_grad=True):
        """Like :meth:`backward`, but given ``dL/dz``, the gradient at the pre-activation."""
        n, out, ho, wo = d_z.shape
        k, s, (before, after) = self.kernel_size, self.stride, self.pads
        d_z = d_z.transpose(0, 2, 3, 1).reshape(-1, out)  # (N*Ho*Wo, out); a view if ours
        d_w_b = d_z.T @ self._cols                           # (out, k*k*C + 1)
        self.grad_weights[...] = d_w_b[:, :-1].reshape(out, k, k, -1).transpose(0, 3, 1, 2)
        self.grad_bias[...] = d_w_b[:, -1]
        d_input = None
        if input_grad:
            _, c, h, w = self._input_shape
            # col2im, one kernel offset at a time: the offset's block of column gradients,
            # (N*Ho*Wo, out) @ (out, C), goes back to the pixels that offset read, and
            # overlapping windows add up. k*k products of one reused block, each added while
            # still in cache, beat one (N*Ho*Wo, k*k*C) product sliced k*k times (measured).
            w_kk = np.ascontiguousarray(self.weights.transpose(2, 3, 0, 1))  # (k, k, out, C)
            block = self._scratch("_block", (n * ho * wo, c), self._cols.dtype)
            pixels = block.reshape(n, ho, wo, c)
            d_x = np.zeros((n, h + before + after, w + before + after, c), dtype=block.dtype)
            for i in range(k):
                for j in range(k):
                    np.matmul(d_z, w_kk[i, j], out=block)
                    d_x[:, i:i + s * ho:s, j:j + s * wo:s] += pixels
            d_input = d_x[:, before:before + h, before:before + w].transpose(0, 3, 1, 2)
        if learning_rate is not None:
            self.weights -= learning_rate * self.grad_weights
            self.bias -= learning_rate * self.grad_bias
        return d_input

    def __getstate__(self):
        """Pickle and copy without the cached forward arrays and work buffers."""
        return {key: value for key, value in vars(self).items()
                if key not in ("_padded", "_cols", "_cols_t", "_cols_rows", "_w_b", "_block",
                               "_input_shape")}

    def parameters(self):
        """The learned arrays, ``[weights, bias]``; optimizers update them in place."""
        return [self.weights, self.bias]

    def gradients(self):
        """The gradients of :meth:`parameters`, in the same order."""
        return [self.grad_weights, self.grad_bias]

    def __repr__(self):
        return (f"Conv2D({self.in_channels}, {self.out_channels}, {self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding!r}, "
                f"activation={self.activation.name!r}, dtype={self.weights.dtype.name})")


class MaxPool2D:
    """Max pooling over ``pool_size x pool_size`` windows, ``(N, C, H, W) -> (N, C, Ho, Wo)``.

    ``Ho = (H - pool_size) // stride + 1``: rows and columns that do not fill a window are
    dropped (PyTorch's default ``ceil_mode=False``). The gradient of each window goes to its
    maximum; on ties, to the first in row-major order, as in PyTorch.

    Parameters
    ----------
    pool_size : int
        Window side, ``>= 1``.
    stride : int, optional
        Step between windows, ``>= 1``; defaults to ``pool_size`` (windows do not overlap).
    """

    def __init__(self, pool_size, *, stride=None):
        self.pool_size = check_int(pool_size, "pool_size", minimum=1)
        self.stride = self.pool_size if stride is None else check_int(stride, "stride",
                                                                      minimum=1)

    def output_shape(self, input_shape):
        """Per-sample output shape ``(C, Ho, Wo)`` for an input ``(C, H, W)``."""
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(f"MaxPool2D expects (channels, height, width) inputs, "
                             f"the previous layer gives shape {input_shape}")
        c, h, w = input_shape
        p, s = self.pool_size, self.stride
        if h < p or w < p:
            raise ValueError(f"MaxPool2D pool {p}x{p} does not fit the input {h}x{w} "
                             f"(input {input_shape})")
        return (c, (h - p) // s + 1, (w - p) // s + 1)

    def _offsets(self):
        """The window offsets ``(i, j)`` in row-major order."""
        return [(i, j) for i in range(self.pool_size) for j in range(self.pool_size)]

    def forward(self, x, training=False):
        """``(N, C, H, W) -> (N, C, Ho, Wo)``; the output keeps the input's memory order.

        A 2x2 pooling of a channels-last map out of training (``training=False``: predict,
        evaluate) computes the maxima only; which element won each window is worked out
        from the kept input if a backward pass follows (a gradient check, the blog's
        ``forward`` then ``backward``).
        """
        self._input_shape = x.shape
        self._order = _axis_order(x)
        if self.pool_size == self.stride == 2 and x.transpose(0, 2, 3, 1).flags.c_contiguous:
            self._argmax = None
            self._unrouted = None if training else x  # see _backward_2x2
            return self._forward_2x2(x.transpose(0, 2, 3, 1),
                                     routes=training).transpose(0, 3, 1, 2)
        h, w = x.shape[2:]
        p, s = self.pool_size, self.stride
        ho, wo = (h - p) // s + 1, (w - p) // s + 1
        # One strided view per window offset: p*p passes over output-sized arrays.
        views = [x[:, :, i:i + s * ho:s, j:j + s * wo:s] for i, j in self._offsets()]
        out = views[0].copy(order="K")  # keeps the input's memory order
        argmax = np.zeros_like(out, dtype=np.min_scalar_type(p * p - 1))  # offset of the max
        larger = np.empty_like(out, dtype=bool)
        candidate = np.empty_like(argmax)
        for offset, view in enumerate(views[1:], start=1):
            np.greater(view, out, out=larger)  # strict: the first maximum wins ties
            np.maximum(out, view, out=out)     # (a NaN propagates, as in PyTorch)
            # The offsets grow, so the winner is the last offset that was larger: a running
            # maximum of offset * larger (np.copyto with where= is 10x slower).
            np.multiply(larger.view(np.uint8), argmax.dtype.type(offset), out=candidate)
            np.maximum(argmax, candidate, out=argmax)
        self._argmax = argmax
        return out

    def forget_input(self):
        """Let go of the input an evaluation's forward pass kept for a backward pass (see
        :meth:`forward`); a backward pass then needs a new forward pass."""
        self._unrouted = None

    def _forward_2x2(self, x, routes=True):
        """The 2x2, stride 2 pooling of a channels-last ``(N, H, W, C)`` batch (a
        convolution's output): ``(N, H // 2, W // 2, C)``, in two halvings.

        First each pair of neighbours in a row (``right``: the right one is larger), then
        each pair of those maxima in a column (``lower``): the first maximum in row-major
        order wins ties, as in the general path. A few images at a time (``_CHUNK_BYTES``),
        so the halved map is still in cache for the second halving: 2x faster than the
        general path's 12 strided passes on the images recipe's maps (measured,
        benchmarks/RESULTS.md). ``routes=False`` leaves ``right`` and ``lower`` out: the
        maxima alone.
        """
        n, h, w, c = x.shape
        ho, wo = h // 2, w // 2
        out = np.empty((n, ho, wo, c), dtype=x.dtype)
        self._right = np.empty((n, 2 * ho, wo, c), dtype=bool) if routes else None
        self._lower = np.empty((n, ho, wo, c), dtype=bool) if routes else None
        step = max(1, _CHUNK_BYTES // max(1, x[:1].nbytes))
        rows = np.empty((min(step, n), 2 * ho, wo, c), dtype=x.dtype)
        for a in range(0, n, step):
            b = min(n, a + step)
            pairs = x[a:b, :2 * ho, :2 * wo].reshape(b - a, 2 * ho, wo, 2, c)
            row_max = rows[:b - a]
            if routes:
                np.greater(pairs[..., 1, :], pairs[..., 0, :], out=self._right[a:b])
            np.maximum(pairs[..., 0, :], pairs[..., 1, :], out=row_max)
            above, below = row_max.reshape(b - a, ho, 2, wo, c).transpose(2, 0, 1, 3, 4)
            if routes:
                np.greater(below, above, out=self._lower[a:b])
            np.maximum(above, below, out=out[a:b])
        return out

    def backward(self, d_output, learning_rate=None, *, input_grad=True):
        """Route ``d_output`` (N, C, Ho, Wo) to each window's maximum; ``dL/dx`` (N, C, H, W).

        The result has the memory order of the forward input. None with
        ``input_grad=False``; ``learning_rate`` is unused (no parameters).
        """
        if not input_grad:
            return None
        if self._argmax is None:
            d_output = np.ascontiguousarray(d_output.transpose(0, 2, 3, 1))
            return self._backward_2x2(d_output).transpose(0, 3, 1, 2)
        p, s = self.pool_size, self.stride
        ho, wo = d_output.shape[2:]
        d_output = _in_order(d_output, self._order)
        d_x = _new(self._input_shape, self._order, d_output.dtype, zero=True)
        chosen = np.empty_like(self._argmax, dtype=bool)
        for offset, (i, j) in enumerate(self._offsets()):
            np.equal(self._argmax, offset, out=chosen)
            target = d_x[:, :, i:i + s * ho:s, j:j + s * wo:s]
            if s >= p:  # windows do not overlap: each input gets at most one gradient
                np.multiply(d_output, chosen, out=target)
            else:
                target += d_output * chosen
        return d_x

    def _backward_2x2(self, d_output):
        """:meth:`_forward_2x2` backwards, channels-last: each gradient goes to the row of
        its window that won (``d * lower`` and ``d - d * lower``, exact: one of the two is
        ``d``, the other 0), then to the column that won in that row."""
        if self._unrouted is not None:  # an evaluation's forward: find the winners now
            self._forward_2x2(self._unrouted.transpose(0, 2, 3, 1))
            self._unrouted = None
        n, ho, wo, c = d_output.shape
        h, w = self._input_shape[2:]
        d_x = np.empty((n, h, w, c), dtype=d_output.dtype)
        if h % 2 or w % 2:  # a last row or column no window read gets no gradient
            d_x[:, 2 * ho:] = 0
            d_x[:, :, 2 * wo:] = 0
        step = max(1, _CHUNK_BYTES // max(1, d_x[:1].nbytes))
        rows = np.empty((min(step, n), 2 * ho, wo, c), dtype=d_output.dtype)
        for a in range(0, n, step):
            b = min(n, a + step)
            d_rows = rows[:b - a]
            above, below = d_rows.reshape(b - a, ho, 2, wo, c).transpose(2, 0, 1, 3, 4)
            np.multiply(d_output[a:b], self._lower[a:b], out=below)
            np.subtract(d_output[a:b], below, out=above)
            pairs = d_x[a:b, :2 * ho, :2 * wo].reshape(b - a, 2 * ho, wo, 2, c)
            np.multiply(d_rows, self._right[a:b], out=pairs[..., 1, :])
            np.subtract(d_rows, pairs[..., 1, :], out=pairs[..., 0, :])
        return d_x

    def __getstate__(self):
        """Pickle and copy without the cached argmax."""
        return {key: value for key, value in vars(self).items()
                if key not in ("_argmax", "_right", "_lower", "_input_shape", "_order",
                               "_unrouted")}

    def parameters(self):
        return []

    def gradients(self):
        return []

    def __repr__(self):
        return f"MaxPool2D({self.pool_size}, stride={self.stride})"


class Flatten:
    """``(N, C, H, W) -> (N, C*H*W)`` in ``(c, h, w)`` order (PyTorch's ``flatten(1)``)."""

    def output_shape(self, input_shape):
        """``(prod(input_shape),)``."""
        return (math.prod(input_shape),)

    def forward(self, x, training=False):
        """Rows in ``(c, h, w)`` order; a copy when ``x`` is channels-last in memory."""
        self._input_shape = x.shape
        self._order = _axis_order(x)
        return x.reshape(len(x), -1)

    def backward(self, d_output, learning_rate=None, *, input_grad=True):
        """``(N, C*H*W) -> (N, C, H, W)`` in the forward input's memory order (so the layer
        below works on operands laid out alike), or None with ``input_grad=False``."""
        if not input_grad:
            return None
        return _in_order(d_output.reshape(self._input_shape), self._order)

    def __getstate__(self):
        """Pickle and copy without the last input's shape and memory order."""
        return {key: value for key, value in vars(self).items()
                if key not in ("_input_shape", "_order")}

    def parameters(self):
        return []

    def gradients(self):
        return []

    def __repr__(self):
        return "Flatten()"


class Reshape:
    """View each sample with a new shape, e.g. a flat ``(N, 784)`` batch as ``(N, 1, 28, 28)``.

    Parameters
    ----------
    shape : tuple of int
        The per-sample output shape; its product must equal the input's feature count.
    """

    def __init__(self, shape):
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if not shape:
            raise ValueError("shape must hold at least one size, got ()")
        self.shape = tuple(check_int(d, "shape entries", minimum=1) for d in shape)

    def output_shape(self, input_shape):
        """``shape``, when ``prod(input_shape) == prod(shape)``."""
        size, needed = math.prod(input_shape), math.prod(self.shape)
        if size != needed:
            raise ValueError(f"input has {size} features; Reshape({self.shape}) needs {needed}")
        return self.shape

    def forward(self, x, training=False):
        """``(N, *input_shape) -> (N, *shape)`` (a view when ``x`` is contiguous)."""
        self._input_shape = x.shape
        return x.reshape(len(x), *self.shape)

    def backward(self, d_output, learning_rate=None, *, input_grad=True):
        """``(N, *shape) -> (N, *input_shape)``, or None with ``input_grad=False``."""
        return d_output.reshape(self._input_shape) if input_grad else None

    def __getstate__(self):
        """Pickle and copy without the last input's shape."""
        return {key: value for key, value in vars(self).items() if key != "_input_shape"}

    def parameters(self):
        return []

    def gradients(self):
        return []

    def __repr__(self):
        return f"Reshape({self.shape})"


class ChannelsLast:
    """View flat rows of channels-last pixels ``(N, H*W*C)`` as images ``(N, C, H, W)``.

    Image rows are stored as ``(h, w, c)``: a picture's pixels one after the other, each with
    its channels together (Pillow's, PyTorch's ``channels_last`` and Keras' layout). The
    result is a strided view whose memory is already the channels-last order Conv2D works
    in, so no copy is made; with one channel it is a plain reshape.

    Parameters
    ----------
    shape : tuple of int
        ``(C, H, W)``, the per-sample output shape.
    """

    def __init__(self, shape):
        shape = tuple(shape)
        if len(shape) != 3:
            raise ValueError(f"shape must be (channels, height, width), got {shape}")
        self.shape = tuple(check_int(d, "shape entries", minimum=1) for d in shape)

    def output_shape(self, input_shape):
        """``shape``, when ``prod(input_shape) == prod(shape)``."""
        size, needed = math.prod(input_shape), math.prod(self.shape)
        if size != needed:
            raise ValueError(f"input has {size} features; ChannelsLast({self.shape}) needs "
                             f"{needed}")
        return self.shape

    def forward(self, x, training=False):
        """``(N, H*W*C) -> (N, C, H, W)``, a view of ``x``."""
        c, h, w = self.shape
        self._n = len(x)
        return x.reshape(len(x), h, w, c).transpose(0, 3, 1, 2)

    def backward(self, d_output, learning_rate=None, *, input_grad=True):
        """``(N, C, H, W) -> (N, H*W*C)``, or None with ``input_grad=False``."""
        if not input_grad:
            return None
        return d_output.transpose(0, 2, 3, 1).reshape(self._n, -1)

    def __getstate__(self):
        """Pickle and copy without the last batch size."""
        return {key: value for key, value in vars(self).items() if key != "_n"}

    def parameters(self):
        return []

    def gradients(self):
        return []

    def __repr__(self):
        return f"ChannelsLast({self.shape})"
