"""Activation functions: the element-wise non-linearities between layers, and Softmax.

Each activation is a small object with ``forward(x)`` and ``backward(d_output)``, as in the
blog. ``forward`` keeps only what ``backward`` needs (the input for ReLU, the output for
Tanh, Sigmoid and Softmax); ``backward`` returns the gradient of the loss with respect to the
activation's input, given the gradient with respect to its output.

All of them keep the dtype of their input and stay finite and warning-free for inputs of any
magnitude (e.g. +-1e4).
"""

import math

import numpy as np
from scipy.special import erf


class Activation:
    """Base class; subclasses set ``name`` and implement ``forward``/``backward``."""

    name = "activation"

    def forward(self, x):
        raise NotImplementedError

    def backward(self, d_output):
        raise NotImplementedError

    def derivative(self, x):
        """Element-wise derivative ``f'(x)`` (for plots and teaching; not used in training)."""
        self.forward(np.asarray(x))
        return self.backward(np.ones_like(x))

    def __getstate__(self):
        """Pickle and copy without the forward pass's cached arrays."""
        return {k: v for k, v in vars(self).items() if k not in ("input", "output", "log_output")}

    def __repr__(self):
        return f"{type(self).__name__}()"


class Identity(Activation):
    """``f(x) = x``: a layer with no non-linearity (the blog's ``activation=None``)."""

    name = "identity"

    def forward(self, x):
        return x

    def backward(self, d_output):
        return d_output


class Relu(Activation):
    """``f(x) = max(0, x)``; its derivative is 1 where ``x > 0`` and 0 elsewhere."""

    name = "relu"

    def forward(self, x):
        self.input = x
        return np.maximum(x, 0)

    def backward(self, d_output):
        return d_output * (self.input > 0)


class Tanh(Activation):
    """``f(x) = tanh(x)``; ``f'(x) = 1 - tanh(x)^2``, computed from the stored output."""

    name = "tanh"

    def forward(self, x):
        self.output = np.tanh(x)
        return self.output

    def backward(self, d_output):
        return d_output * (1 - self.output**2)


def _sigmoid(x):
    """Logistic function without overflow: ``exp`` only ever sees non-positive numbers."""
    e = np.exp(-np.abs(x))  # in (0, 1]; never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Activation):
    """``f(x) = 1 / (1 + exp(-x))``; ``f'(x) = f(x) (1 - f(x))``."""

    name = "sigmoid"

    def forward(self, x):
        self.output = _sigmoid(x)
        return self.output

    def backward(self, d_output):
        return d_output * (self.output * (1 - self.output))


def log_softmax(x):
    """Row-wise ``log softmax(x) = x - log(sum_j exp(x_j))``, finite for any finite input.

    Shifting by the row maximum first means ``exp`` only sees numbers <= 0 (no overflow) and
    the sum is at least 1 (no ``log(0)``).
    """
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class Softmax(Activation):
    """Row-wise ``softmax(x)_i = exp(x_i) / sum_j exp(x_j)``: turns scores into probabilities.

    ``backward`` is the true vector-Jacobian product. Why it has this form: the Jacobian is
    ``diag(p) - p p^T``, so ``J^T g = p * (g - <g, p>)`` row by row — no matrix is built.
    After a cross-entropy loss the network skips this step and uses the simpler fused
    gradient ``(p - y) / N`` (see :class:`nnscratch.losses.CrossEntropyLoss`).

    ``forward`` also keeps the log-probabilities, ``log_output``: the cross-entropy reads
    them instead of computing the same log-softmax a second time.
    """

    name = "softmax"

    def forward(self, x):
        self.log_output = log_softmax(x)
        self.output = np.exp(self.log_output)
        return self.output

    def backward(self, d_output):
        p = self.output
        return p * (d_output - np.sum(d_output * p, axis=1, keepdims=True))


class LeakyRelu(Activation):
    """``f(x) = x`` for ``x > 0``, ``negative_slope * x`` elsewhere (PyTorch's 0.01): a ReLU
    whose negative side still passes a small gradient, so no unit dies for good."""

    name = "leaky_relu"

    def __init__(self, negative_slope=0.01):
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        self.input = x
        return np.where(x > 0, x, x * self.negative_slope)

    def backward(self, d_output):
        return np.where(self.input > 0, d_output, d_output * self.negative_slope)

    def __repr__(self):
        return f"LeakyRelu(negative_slope={self.negative_slope})"


class Elu(Activation):
    """``f(x) = x`` for ``x > 0``, ``alpha (exp(x) - 1)`` elsewhere (Clevert et al., 2015);
    ``f'(x) = f(x) + alpha`` on the negative side, computed from the stored output."""

    name = "elu"
    alpha = 1.0
    scale = 1.0

    def forward(self, x):
        self.input = x
        # exp only sees x <= 0: no overflow for large positive inputs
        negative = self.alpha * np.expm1(np.minimum(x, 0))
        self.output = self.scale * np.where(x > 0, x, negative)
        return self.output

    def backward(self, d_output):
        # on the negative side f = scale * alpha * (e^x - 1), so f' = f + scale * alpha
        slope = np.where(self.input > 0, self.scale, self.output + self.scale * self.alpha)
        return d_output * slope


class Selu(Elu):
    """Scaled ELU (Klambauer et al., 2017): ``scale * elu(x, alpha)`` with the constants that
    keep activations' mean and variance near (0, 1) through many layers."""

    name = "selu"
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946


# Abramowitz & Stegun 7.1.26: erf(z) = 1 - t (a1 + t (a2 + ... + t a5)) exp(-z^2) with
# t = 1 / (1 + p z), z >= 0, absolute error <= 1.5e-7: as exact as float32 itself.
_AS_P = 0.3275911
_AS_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _normal_cdf_float32(x):
    """``(Phi(x), exp(-x^2 / 2))`` for a float32 ``x``, with the formula above.

    Why not ``scipy.special.erf``: it computes in float64, element by element, and was 8x
    slower than ``np.tanh`` (measured): GELU was the transformer's most expensive step.
    ``exp(-z^2)`` with ``z = |x| / sqrt(2)`` is also the normal density's ``exp(-x^2 / 2)``,
    which the backward pass needs; it is returned to be kept. With ``q = 1 - erf(z)``,
    ``Phi(|x|) - 1/2 = (1 - q) / 2``, and ``Phi(-x) = 1 - Phi(x)`` gives the sign.
    """
    z = np.abs(x)
    np.minimum(z, np.float32(9 * math.sqrt(2)), out=z)  # erf(9) = 1; keeps z * z finite
    gauss = z * z
    gauss *= np.float32(-0.5)
    np.exp(gauss, out=gauss)                   # exp(-x^2 / 2)
    t = z
    t *= np.float32(_AS_P / math.sqrt(2))
    t += np.float32(1)
    np.reciprocal(t, out=t)                    # 1 / (1 + p |x| / sqrt(2))
    a1, a2, a3, a4, a5 = (np.float32(-0.5 * a) for a in _AS_A)  # -q / 2 by Horner
    poly = t * a5
    for a in (a4, a3, a2, a1):
        poly += a
        poly *= t
    poly *= gauss                              # -q / 2
    poly += np.float32(0.5)                    # Phi(|x|) - 1/2
    cdf = np.copysign(poly, x, out=poly)       # Phi(x) - 1/2
    cdf += np.float32(0.5)
    return cdf, gauss


class Gelu(Activation):
    """``f(x) = x Phi(x)``, with ``Phi`` the standard normal CDF (Hendrycks & Gimpel, 2016):
    PyTorch's default, exact ``erf`` form (``scipy.special.erf`` in float64; a formula as
    exact as float32 in float32). ``f'(x) = Phi(x) + x phi(x)``, ``phi`` the normal
    density."""

    name = "gelu"

    def forward(self, x):
        self.input = x
        if x.dtype == np.float32:
            self.cdf, self.gauss = _normal_cdf_float32(x)
        else:
            self.cdf, self.gauss = 0.5 * (1.0 + erf(x * (1 / math.sqrt(2)))), None
        return x * self.cdf

    def backward(self, d_output):
        x = self.input
        gauss = self.gauss
        if gauss is None:
            # phi(x) underflows to 0 beyond |x| ~ 38; clipping keeps x * x finite for any x
            xc = np.clip(x, -40, 40)
            gauss = np.exp(-0.5 * xc * xc)
        slope = x * gauss
        slope *= x.dtype.type(1 / math.sqrt(2 * math.pi))
        slope += self.cdf
        slope *= d_output
        return slope

    def __getstate__(self):
        return {k: v for k, v in vars(self).items() if k not in ("input", "cdf", "gauss")}


class Silu(Activation):
    """``f(x) = x sigmoid(x)`` (the "swish"); ``f'(x) = s (1 + x (1 - s))`` with
    ``s = sigmoid(x)``."""

    name = "silu"

    def forward(self, x):
        self.input = x
        self.sig = _sigmoid(x)
        return x * self.sig

    def backward(self, d_output):
        s = self.sig
        return d_output * (s * (1 + self.input * (1 - s)))

    def __getstate__(self):
        return {k: v for k, v in vars(self).items() if k not in ("input", "sig")}


class Softplus(Activation):
    """``f(x) = log(1 + exp(x))``, a smooth ReLU; ``f'(x) = sigmoid(x)``.

    Computed as ``max(x, 0) + log1p(exp(-|x|))``, which never overflows. (PyTorch returns
    ``x`` itself above 20; the two differ there by less than ``exp(-20) = 2e-9``.)
    """

    name = "softplus"

    def forward(self, x):
        self.input = x
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def backward(self, d_output):
        return d_output * _sigmoid(self.input)


ACTIVATIONS = {cls.name: cls for cls in (Identity, Relu, Tanh, Sigmoid, Softmax, LeakyRelu,
                                         Elu, Selu, Gelu, Silu, Softplus)}


def get_activation(activation):
    """Return a fresh activation object from a name, a class, an instance or ``None``.

    ``None`` means :class:`Identity`, as in the blog's ``Layer(..., activation=None)``.
    """
    if activation is None:
        return Identity()
    if isinstance(activation, str):
        key = activation.lower()
        if key not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
            )
        return ACTIVATIONS[key]()
    if isinstance(activation, type) and issubclass(activation, Activation):
        return activation()
    if isinstance(activation, Activation):
        return type(activation)()
    raise TypeError(
        "activation must be a name, an Activation class or instance, or None; "
        f"got {activation!r}"
    )
