"""The Dense ``Layer`` of the blog (weights, bias, activation) and ``Dropout``.

``Layer`` takes ``(N, input_size)`` rows, or any ``(..., input_size)`` batch such as a
sequence's ``(N, T, E)``: the leading axes are flattened into rows for one matrix product
(PyTorch's ``Linear`` on the last axis). Both are also importable from
:mod:`nnscratch.layers`, with every other layer.

A layer's ``forward`` keeps only what its ``backward`` needs. ``backward(d_output)`` returns
the gradient of the loss with respect to the layer's input and *stores* the gradients of its
parameters in ``grad_weights`` and ``grad_bias``; an optimizer then applies them in place.
The blog's ``backward(d_output, learning_rate)`` still works: it is ``backward`` followed by
one plain SGD step.
"""

import numpy as np

from .activations import get_activation
from .initializers import get_initializer


class Layer:
    """Fully connected layer ``a = activation(x @ W + b)``.

    Parameters
    ----------
    input_size, output_size : int
        ``fan_in`` and ``fan_out``; the weights have shape ``(input_size, output_size)``.
    activation : str, Activation class or instance, or None
        ``None`` (the default, as in the blog) means no activation.
    init : {"normal", "he", "glorot"} or callable
        Weight initialiser; ``"normal"`` is the blog's ``N(0, 1 / input_size)``.
    rng : numpy.random.Generator or int, optional
        Source of the initial weights (a seed is turned into a Generator).
    dtype : numpy dtype
        ``float32`` (default) or ``float64``; every array of the layer has it.
    """

    def __init__(self, input_size, output_size, activation=None, *, init="normal",
                 rng=None, dtype=np.float32):
        rng = np.random.default_rng(rng)
        self.weights = get_initializer(init)(input_size, output_size, rng, dtype)  # (in, out)
        self.bias = np.zeros((1, output_size), dtype=dtype)                        # (1, out)
        self.activation = get_activation(activation)
        self.grad_weights = np.zeros_like(self.weights)
        self.grad_bias = np.zeros_like(self.bias)

    @property
    def input_size(self):
        return self.weights.shape[0]

    @property
    def output_size(self):
        return self.weights.shape[1]

    def forward(self, x, training=False):
        """``(N, input_size) -> (N, output_size)``, or ``(..., input_size) -> (...,
        output_size)`` for any leading axes; ``training`` is unused (no randomness)."""
        if x.ndim != 2:
            return self._forward_nd(x)
        self.input = x
        self.z = x @ self.weights  # pre-activation, (N, out)
        self.z += self.bias        # in place: no second (N, out) temporary
        return self.activation.forward(self.z)

    def _forward_nd(self, x):
        """``(..., in) -> (..., out)``: the rows of every leading axis through one product."""
        if x.ndim < 1 or x.shape[-1] != self.input_size:
            raise ValueError(f"{self!r} expects inputs of shape (..., {self.input_size}), got "
                             f"{x.shape}")
        self.lead_shape = x.shape[:-1]
        self.input = x.reshape(-1, self.input_size)   # (rows, in): a view when contiguous
        self.z = self.input @ self.weights
        self.z += self.bias
        return self.activation.forward(self.z).reshape(*self.lead_shape, self.output_size)

    def backward(self, d_output, learning_rate=None, *, input_grad=True):
        """Back-propagate ``d_output = dL/da`` (N, out); return ``dL/dx`` (N, in) or None.

        ``input_grad=False`` skips ``dL/dx``: the first layer's is never needed in training.
        With ``learning_rate``, also take one plain SGD step (the blog's behaviour).
        After an ``(..., in)`` forward, ``d_output`` is ``(..., out)`` and ``dL/dx``
        ``(..., in)``.
        """
        if d_output.ndim != 2:
            d_z = self.activation.backward(d_output.reshape(-1, self.output_size))
            d_input = self.backward_z(d_z, learning_rate, input_grad=input_grad)
            return None if d_input is None else d_input.reshape(*self.lead_shape,
                                                                 self.input_size)
        return self.backward_z(self.activation.backward(d_output), learning_rate,
                               input_grad=input_grad)

    def backward_z(self, d_z, learning_rate=None, *, input_grad=True):
        """Like :meth:`backward`, but given ``dL/dz``, the gradient at the pre-activation."""
        np.matmul(self.input.T, d_z, out=self.grad_weights)             # (in, N) @ (N, out)
        np.add.reduce(d_z, axis=0, keepdims=True, out=self.grad_bias)   # (1, out)
        d_input = d_z @ self.weights.T if input_grad else None    # (N, out) @ (out, in)
        if learning_rate is not None:
            self.weights -= learning_rate * self.grad_weights
            self.bias -= learning_rate * self.grad_bias
        return d_input

    def __getstate__(self):
        """Pickle and copy without the forward pass's cached ``input`` and ``z``."""
        return {k: v for k, v in vars(self).items() if k not in ("input", "z")}

    def config(self):
        """The constructor's arguments, for a model file (see :mod:`nnscratch.layers`)."""
        return {"input_size": int(self.input_size), "output_size": int(self.output_size),
                "activation": self.activation.name}

    def named_parameters(self):
        """``[("weights", weights), ("bias", bias)]``, the order of :meth:`parameters`."""
        return [("weights", self.weights), ("bias", self.bias)]

    def parameters(self):
        """The learned arrays, ``[weights, bias]``; optimizers update them in place."""
        return [self.weights, self.bias]

    def gradients(self):
        """The gradients of :meth:`parameters`, in the same order."""
        return [self.grad_weights, self.grad_bias]

    def __repr__(self):
        return (f"Layer({self.input_size}, {self.output_size}, "
                f"activation={self.activation.name!r}, dtype={self.weights.dtype.name})")


class Dropout:
    """Inverted dropout: in training, zero each input with probability ``rate`` and scale
    the survivors by ``1 / (1 - rate)``, so the expected output equals the input and the
    layer is the identity at evaluation time.

    Parameters
    ----------
    rate : float in [0, 1)
        Probability of dropping a unit.
    rng : numpy.random.Generator or int, optional
        Source of the masks; :class:`~nnscratch.network.NeuralNetwork` passes its own.
    dtype : ignored
        Accepted as every layer's constructor accepts it (the masks take the input's dtype).
    """

    def __init__(self, rate, *, rng=None, dtype=None):
        if not 0 <= rate < 1:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.rng = np.random.default_rng(rng)
        self.mask = None
        self.frozen = False  # reuse the current mask (for gradient checks)

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self.mask = None
            return x
        if not self.frozen or self.mask is None or self.mask.shape != x.shape:
            keep = self.rng.random(x.shape, dtype=x.dtype) >= self.rate
            self.mask = keep * x.dtype.type(1 / (1 - self.rate))
        return x * self.mask

    def backward(self, d_output, learning_rate=None, *, input_grad=True):
        return d_output if self.mask is None else d_output * self.mask

    def __getstate__(self):
        """Pickle and copy without the last mask, unless it is frozen."""
        state = dict(vars(self))
        if not self.frozen:
            state["mask"] = None
        return state

    def config(self):
        return {"rate": self.rate}

    def named_parameters(self):
        return []

    def parameters(self):
        return []

    def gradients(self):
        return []

    def __repr__(self):
        return f"Dropout({self.rate})"
