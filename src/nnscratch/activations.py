"""Activation functions: the element-wise non-linearities between layers, and Softmax.

Each activation is a small object with ``forward(x)`` and ``backward(d_output)``, as in the
blog. ``forward`` keeps only what ``backward`` needs (the input for ReLU, the output for
Tanh, Sigmoid and Softmax); ``backward`` returns the gradient of the loss with respect to the
activation's input, given the gradient with respect to its output.

All of them keep the dtype of their input and stay finite and warning-free for inputs of any
magnitude (e.g. +-1e4).
"""

import numpy as np


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


ACTIVATIONS = {cls.name: cls for cls in (Identity, Relu, Tanh, Sigmoid, Softmax)}


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
