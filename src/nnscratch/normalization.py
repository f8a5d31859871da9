"""Batch normalisation (Ioffe & Szegedy, 2015), for dense and convolutional layers, and layer
normalisation (Ba et al., 2016), for sequences.

In training, each channel is standardised with the mean and variance of the batch, then
scaled and shifted by the learned ``gamma`` and ``beta``; running averages of the batch
statistics, kept as PyTorch keeps them, replace the batch's at evaluation. The backward pass
is CS231n's ``batchnorm_backward_alt``: with ``x_hat`` the standardised input and ``m`` the
values per channel,

    dL/dx = (gamma / sigma) * (dL/dy - mean(dL/dy) - x_hat * mean(dL/dy * x_hat))

where the means run over the same axes as the statistics: the batch for a dense layer, the
batch and every pixel for a convolution ("spatial" batchnorm). Layer normalisation takes the
statistics over each vector's own features instead (the last axis), the same in training and
at evaluation, and its backward is the same formula with the means over that axis.
"""

import numpy as np

from .activations import Identity, Relu, get_activation
from .layerbase import ParamLayer, Workspace, check_input, column_sums, row_sums, setup
from .validation import check_float_dtype, check_int

#: The activations the rows path of :class:`BatchNorm` applies itself (exactly these
#: classes: a subclass may compute something else).
_FUSED = (Identity, Relu)


def _channels_last_rows(a):
    """The ``(N*H*W, C)`` rows of an ``(N, C, H, W)`` array stored channels-last, or an
    ``(N, C)`` array's own rows, as a view; None for any other layout."""
    if a.ndim == 2:
        return a if a.flags.c_contiguous else None
    if a.ndim != 4:
        return None
    t = a.transpose(0, 2, 3, 1)
    return t.reshape(-1, a.shape[1]) if t.flags.c_contiguous else None


class BatchNorm:
    """``a = activation(gamma * (x - mean) / sqrt(var + eps) + beta)``, per channel.

    Parameters
    ----------
    channels : int
        Features of a dense input ``(N, channels)``, or channels of an image batch
        ``(N, channels, H, W)``.
    activation : str, Activation class or instance, or None
        Applied after the normalisation (an architecture's ``conv32k3,bn`` is conv, then
        batchnorm, then the activation).
    momentum : float in (0, 1]
        Weight of the newest batch in the running averages (PyTorch's ``momentum=0.1``).
    eps : float
        Added to the variance before its square root.
    dtype : {"float32", "float64"}

    Attributes
    ----------
    weights, bias : ndarray, shape (channels,)
        ``gamma`` (starts at 1) and ``beta`` (starts at 0): the learned parameters, named
        as every layer's so that optimizers, model files and checkpoints treat them alike.
    running_mean, running_var : ndarray, shape (channels,)
        The statistics used at evaluation; the variance's is unbiased, as PyTorch's.
    """

    def __init__(self, channels, activation=None, *, momentum=0.1, eps=1e-5,
                 dtype=np.float32):
        channels = check_int(channels, "channels", minimum=1)
        if not 0 < momentum <= 1:
            raise ValueError(f"momentum must be in (0, 1], got {momentum!r}")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        dtype = check_float_dtype(dtype)
        self.momentum, self.eps = float(momentum), float(eps)
        self.weights = np.ones(channels, dtype=dtype)   # gamma, (C,)
        self.bias = np.zeros(channels, dtype=dtype)     # beta, (C,)
        self.grad_weights = np.zeros_like(self.weights)
        self.grad_bias = np.zeros_like(self.bias)
        self.running_mean = np.zeros(channels, dtype=dtype)
        self.running_var = np.ones(channels, dtype=dtype)
        self.activation = get_activation(activation)

    @property
    def channels(self):
        return self.weights.shape[0]

    def output_shape(self, input_shape):
        """The input's shape, ``(channels,)`` or ``(channels, H, W)``; ValueError otherwise."""
        input_shape = tuple(input_shape)
        if len(input_shape) not in (1, 3) or input_shape[0] != self.channels:
            raise ValueError(f"BatchNorm of {self.channels} channels expects inputs of shape "
                             f"({self.channels},) or ({self.channels}, H, W), the previous "
                             f"layer gives {input_shape}")
        return input_shape

    def _axes(self, x):
        """The axes the statistics run over, and the shape that broadcasts a (C,) array."""
        if x.ndim == 2:
            return (0,), (1, -1)
        return (0, 2, 3), (1, -1, 1, 1)

    def forward(self, x, training=False):
        """``(N, C)`` or ``(N, C, H, W)`` in, the same shape out."""
        rows = _channels_last_rows(x) if type(self.activation) in _FUSED else None
        self._rows = rows is not None
        if self._rows:
            return self._forward_rows(x, rows, training)
        axes, shape = self._axes(x)
        if training:
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            m = x.size // self.channels
            self.running_mean *= 1 - self.momentum
            self.running_mean += self.momentum * mean
            self.running_var *= 1 - self.momentum
            self.running_var += self.momentum * var * (m / max(m - 1, 1))
        else:
            mean, var = self.running_mean, self.running_var
        self.inv_std = (1 / np.sqrt(var + self.eps)).astype(x.dtype)   # (C,)
        self.x_hat = (x - mean.reshape(shape)) * self.inv_std.reshape(shape)
        z = self.x_hat * self.weights.reshape(shape)
        z += self.bias.reshape(shape)
        self.training = training
        return self.activation.forward(z)

    def backward(self, d_output, learning_rate=None, *, input_grad=True):
        """Back-propagate ``dL/da``; return ``dL/dx`` (None with ``input_grad=False``)."""
        if self.__dict__.get("_rows"):
            return self._backward_rows(d_output, learning_rate, input_grad, at_z=False)
        return self.backward_z(self.activation.backward(d_output), learning_rate,
                               input_grad=input_grad)

    # --- rows: dense inputs, and images stored channels-last (a convolution's output) -----
    # The general path above reduces over axes (0, 2, 3) and makes about 12 passes over the
    # map forward and 9 backward, each allocating a new array: 25.9 and 22.2 ms on a
    # 256x32x26x26 float32 map stored channels-last, 12.5 and 16.2 ms this way
    # (benchmarks/bench_batchnorm.py). Here the map is read as its (N*H*W, C) rows: the
    # per-channel sums are a matrix-vector product and row-wise dot products, the output is
    # ``x_c * scale + shift`` with ``x_c = x - mean`` kept for the backward pass, and
    # ``x_hat = x_c * inv_std`` is never stored. Only a ReLU (or no activation) is fused.

    def _scratch(self, name, shape, dtype):
        """A work array kept from one batch to the next (a fresh array of a convolution's
        map size costs its page faults and zeroing every time); never returned."""
        work = self.__dict__.get("_work")
        if work is None:  # made on first use: a copied or unpickled layer has none
            work = self._work = Workspace()
        return work.get(name, shape, dtype)

    def _forward_rows(self, x, rows, training):
        m, c = rows.shape
        dtype = rows.dtype
        if training:
            mean = column_sums(rows) / dtype.type(m)
            centred = np.subtract(rows, mean, out=self._scratch("centred", rows.shape, dtype))
            var = np.einsum("ij,ij->j", centred, centred) / dtype.type(m)
            self.running_mean *= 1 - self.momentum
            self.running_mean += self.momentum * mean
            self.running_var *= 1 - self.momentum
            self.running_var += self.momentum * var * (m / max(m - 1, 1))
            self.inv_std = (1 / np.sqrt(var + self.eps)).astype(dtype)   # (C,)
            out = centred * (self.weights * self.inv_std)
            out += self.bias
        else:  # x * scale + shift; x - mean is made only if a backward pass asks for it
            centred = None
            self.inv_std = (1 / np.sqrt(self.running_var + self.eps)).astype(dtype)
            scale = self.weights * self.inv_std
            out = rows * scale
            out += self.bias - self.running_mean * scale
        if type(self.activation) is Relu:
            np.maximum(out, 0, out=out)
        self._rows_in, self._centred, self._out_rows = rows, centred, out
        self.training = training
        return out if x.ndim == 2 else out.reshape(x.shape[0], *x.shape[2:], c).transpose(
            0, 3, 1, 2)

    def _backward_rows(self, d_output, learning_rate, input_grad, *, at_z):
        """:meth:`backward` (or, ``at_z``, :meth:`backward_z`) after :meth:`_forward_rows`."""
        d_input = self._input_grad_rows(d_output, input_grad, at_z)
        if learning_rate is not None:
            self.weights -= learning_rate * self.grad_weights
            self.bias -= learning_rate * self.grad_bias
        return d_input

    def _input_grad_rows(self, d_output, input_grad, at_z):
        centred = self._centred
        if centred is None:  # after an evaluation-mode forward pass
            centred = self._rows_in - self.running_mean.astype(self._rows_in.dtype)
        m, c = centred.shape
        g = _channels_last_rows(d_output)
        if g is None:
            g = np.ascontiguousarray(d_output if d_output.ndim == 2
                                     else d_output.transpose(0, 2, 3, 1)).reshape(m, c)
        d_z = g
        if type(self.activation) is Relu and not at_z:
            mask = np.greater(self._out_rows, 0, out=self._scratch("mask", (m, c), bool))
            d_z = np.multiply(g, mask, out=self._scratch("d_z", (m, c), g.dtype))
        self.grad_bias[...] = column_sums(d_z)
        self.grad_weights[...] = np.einsum("ij,ij->j", d_z, centred) * self.inv_std  # dz x_hat
        if not input_grad:
            return None
        scale = self.weights * self.inv_std
        d_input = d_z * scale
        if self.training:  # scale * (dz - mean(dz) - x_hat * mean(dz x_hat)), as above
            work = self._scratch("d_z", (m, c), d_input.dtype)  # d_z is not needed any more
            d_input -= np.multiply(centred, scale * self.inv_std * self.grad_weights / m,
                                   out=work)
            d_input -= scale * self.grad_bias / m
        if d_output.ndim == 2:
            return d_input
        n, _, h, w = d_output.shape
        return d_input.reshape(n, h, w, c).transpose(0, 3, 1, 2)

    def backward_z(self, d_z, learning_rate=None, *, input_grad=True):
        """Like :meth:`backward`, given ``dL/dz`` (after the normalisation and the shift)."""
        if self.__dict__.get("_rows"):
            return self._backward_rows(d_z, learning_rate, input_grad, at_z=True)
        axes, shape = self._axes(d_z)
        np.add.reduce(d_z * self.x_hat, axis=axes, out=self.grad_weights)
        np.add.reduce(d_z, axis=axes, out=self.grad_bias)
        d_input = None
        if input_grad:
            m = d_z.size // self.channels
            scale = (self.weights * self.inv_std).reshape(shape)
            if self.training:  # the batch's mean and variance depend on x too
                d_input = scale * (d_z - (self.grad_bias / m).reshape(shape)
                                   - self.x_hat * (self.grad_weights / m).reshape(shape))
            else:  # fixed statistics: an affine map
                d_input = scale * d_z
        if learning_rate is not None:
            self.weights -= learning_rate * self.grad_weights
            self.bias -= learning_rate * self.grad_bias
        return d_input

    def fold(self):
        """The evaluation-time map as ``(scale, shift)`` per channel: ``z = x * scale +
        shift``, for folding into the layer before (an exported graph needs no BatchNorm)."""
        scale = self.weights / np.sqrt(self.running_var + self.eps)
        return scale, self.bias - self.running_mean * scale

    def buffers(self):
        """The running statistics: saved with the model and in checkpoints, not learned."""
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def __getstate__(self):
        """Pickle and copy without the forward pass's cached arrays."""
        return {k: v for k, v in vars(self).items()
                if k not in ("x_hat", "inv_std", "_centred", "_out_rows", "_rows_in",
                             "_work")}

    def parameters(self):
        """``[gamma, beta]``; optimizers update them in place."""
        return [self.weights, self.bias]

    def gradients(self):
        return [self.grad_weights, self.grad_bias]

    def __repr__(self):
        return (f"BatchNorm({self.channels}, activation={self.activation.name!r}, "
                f"dtype={self.weights.dtype.name})")


class LayerNorm(ParamLayer):
    """``y = weights * (x - mean) / sqrt(var + eps) + bias``, each vector over its last axis.

    Parameters
    ----------
    normalized_shape : int or (int,)
        Size ``C`` of the last axis (only the last axis is normalised).
    eps : float
        Added to the variance before its square root (PyTorch's ``1e-5``).
    elementwise_affine : bool
        Learn ``weights`` (starts at 1) and ``bias`` (starts at 0), shape ``(C,)``; without,
        the layer has no parameters.
    rng : ignored
        Accepted as every layer's constructor accepts it (nothing is random).
    dtype : {"float32", "float64"}

    Any ``(..., C)`` batch goes in and comes out the same shape.
    """

    cache_names = ("x_hat", "inv_std")

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, *, rng=None,
                 dtype=np.float32):
        if isinstance(normalized_shape, (tuple, list)):
            if len(normalized_shape) != 1:
                raise ValueError("LayerNorm normalises the last axis only: normalized_shape "
                                 f"must be an int or (int,), got {normalized_shape!r}")
            normalized_shape = normalized_shape[0]
        size = check_int(normalized_shape, "normalized_shape", minimum=1)
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        _, self.dtype = setup(rng, dtype)
        self.size, self.eps = size, float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        if self.elementwise_affine:
            self.param_names = ("weights", "bias")
            self._new_param("weights", np.ones(size, dtype=self.dtype))   # gamma, (C,)
            self._new_param("bias", np.zeros(size, dtype=self.dtype))     # beta, (C,)

    def config(self):
        return {"normalized_shape": self.size, "eps": self.eps,
                "elementwise_affine": self.elementwise_affine}

    def forward(self, x, training=False):
        """``(..., C) -> (..., C)``; the same in training and evaluation."""
        if x.ndim < 1 or x.shape[-1] != self.size:
            check_input(self, x, -1, self.size)
        c = x.dtype.type(1 / self.size)
        centred = x - row_sums(x) * c                               # x - mean, (..., C)
        var = row_sums(centred * centred)                           # (..., 1)
        var *= c
        var += x.dtype.type(self.eps)
        self.inv_std = 1 / np.sqrt(var)                             # (..., 1)
        self.x_hat = centred
        self.x_hat *= self.inv_std                                  # (..., C), in place
        if not self.elementwise_affine:
            return self.x_hat.copy()
        return self.x_hat * self.weights + self.bias

    def _backward(self, d_output, input_grad):
        """Why this form: ``x_hat`` is centred and scaled by ``inv_std``, both functions of
        the whole vector; the chain rule through them gives
        ``dx = inv_std * (g - mean(g) - x_hat * mean(g * x_hat))`` with ``g = dL/dx_hat``."""
        x_hat = self.x_hat
        rows = d_output.reshape(-1, self.size)                      # (rows, C)
        if self.elementwise_affine:
            np.add.reduce(rows * x_hat.reshape(-1, self.size), axis=0, out=self.grad_weights)
            np.add.reduce(rows, axis=0, out=self.grad_bias)
            g = d_output * self.weights                             # dL/dx_hat
        else:
            g = d_output
        if not input_grad:
            return None
        c = x_hat.dtype.type(1 / self.size)
        mean_gx = row_sums(g * x_hat)
        mean_gx *= c
        d_input = g - row_sums(g) * c                               # g - mean(g)
        d_input -= x_hat * mean_gx
        d_input *= self.inv_std
        return d_input

    def __repr__(self):
        return f"LayerNorm({self.size}, dtype={self.dtype.name})"
