"""Loss functions: how far the network's output is from the target, and its gradient.

As in the blog, a loss has ``loss(y_pred, y_true)`` and ``grad(y_pred, y_true)``, both
static, so the class itself can be passed around (``loss_fn=CrossEntropyLoss``) as well as an
instance. ``grad`` is the gradient with respect to ``y_pred``, the network's output.

A classification loss is paired with the head activation that makes probabilities
(``head``). After that head the network uses the *fused* form instead: the loss is computed
from the logits ``z`` (log-softmax / log-sigmoid, so there is no ``log(0)`` and no clipping),
and the gradient with respect to ``z`` is simply ``(p - y) / N``.

Targets ``y_true`` have the output's shape ``(N, n_outputs)``; the cross-entropy also
accepts integer class labels of shape ``(N,)``.
"""

import numpy as np

from .activations import Sigmoid, Softmax, log_softmax


class Loss:
    """Base class. ``head`` is the activation whose fused gradient this loss provides."""

    name = "loss"
    head = None

    @classmethod
    def fuses_with(cls, activation):
        """True if the network may use the fused logit form after ``activation``."""
        return cls.head is not None and isinstance(activation, cls.head)

    def __repr__(self):
        return f"{type(self).__name__}()"


class MeanSquaredErrorLoss(Loss):
    """``L = mean((y_pred - y_true)^2)`` over every element; for regression."""

    name = "mse"

    @staticmethod
    def loss(y_pred, y_true):
        return float(np.mean(np.square(y_pred - y_true)))

    @staticmethod
    def grad(y_pred, y_true):
        # The blog divides by the number of rows only, which is the gradient of its loss only
        # for one output; dividing by the number of elements is right for any width.
        return 2 * (y_pred - y_true) / y_pred.size


def _label_mask(y_true, shape, dtype):
    """One-hot matrix for integer labels; one-hot targets are returned as they are."""
    if y_true.ndim == 2:
        return y_true
    one_hot = np.zeros(shape, dtype=dtype)
    one_hot[np.arange(shape[0]), y_true] = 1
    return one_hot


class CrossEntropyLoss(Loss):
    """``L = -mean_n sum_k y_nk log p_nk`` for probabilities ``p`` from a Softmax head.

    Why the fused gradient is so simple: with ``p = softmax(z)``, ``dL/dz = (p - y) / N``;
    the ``1 / p`` of the logarithm cancels against the softmax Jacobian.
    """

    name = "cross_entropy"
    head = Softmax

    @staticmethod
    def loss(y_pred, y_true):
        """Loss from probabilities; prefer :meth:`loss_from_logits`, which cannot hit log(0)."""
        y = _label_mask(y_true, y_pred.shape, y_pred.dtype)
        tiny = np.finfo(y_pred.dtype).tiny
        return float(-np.sum(y * np.log(np.maximum(y_pred, tiny))) / y_pred.shape[0])

    @staticmethod
    def grad(y_pred, y_true):
        """``dL/dp = -y / (N p)`` (``p`` floored at the dtype's smallest normal number)."""
        y = _label_mask(y_true, y_pred.shape, y_pred.dtype)
        return -y / (np.maximum(y_pred, np.finfo(y_pred.dtype).tiny) * y_pred.shape[0])

    @staticmethod
    def loss_from_logits(z, y_true):
        """Loss from the pre-softmax scores ``z`` (N, K) with a stable log-softmax."""
        return CrossEntropyLoss.loss_from_log_probs(log_softmax(z), y_true)

    @staticmethod
    def loss_from_log_probs(log_p, y_true):
        """Loss from log-probabilities ``log_p`` (N, K): ``-mean_n sum_k y_nk log_p_nk``."""
        if y_true.ndim == 1:
            picked = log_p[np.arange(len(log_p)), y_true]  # (N,), log p of each true class
            return float(-picked.sum() / len(log_p))
        return float(-np.vdot(y_true, log_p) / len(log_p))

    @staticmethod
    def grad_from_logits(p, y_true):
        """``dL/dz = (p - y) / N``, given the softmax output ``p`` (N, K)."""
        n = len(p)
        if y_true.ndim == 1:
            grad = p / n
            grad[np.arange(n), y_true] -= 1 / n
            return grad
        return (p - y_true) / n


class SmoothedCrossEntropyLoss(CrossEntropyLoss):
    """The cross-entropy against smoothed targets ``t = (1 - eps) y + eps / K`` (label
    smoothing: Szegedy et al., 2016; PyTorch's ``cross_entropy(label_smoothing=eps)``).

    Why: with one-hot targets the loss keeps pushing the true class's logit up long after
    the answer is right, and the network grows over-confident; a target of ``1 - eps + eps/K``
    for the true class and ``eps / K`` for the others has a finite best logit gap. The fused
    gradient keeps its form, ``dL/dz = (p - t) / N``. ``eps = 0`` is the plain cross-entropy.
    """

    # name stays "cross_entropy": it is one, and every check of the targets and the head
    # that a cross-entropy gets applies to it

    def __init__(self, label_smoothing=0.1):
        if not (isinstance(label_smoothing, (int, float)) and 0 <= label_smoothing < 1):
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)

    def targets(self, y_true, shape, dtype):
        """The smoothed target matrix ``(N, K)`` for labels ``(N,)`` or one-hot rows."""
        eps, k = self.label_smoothing, shape[1]
        return (1 - eps) * _label_mask(y_true, shape, dtype) + eps / k

    def loss(self, y_pred, y_true):
        return CrossEntropyLoss.loss(y_pred, self.targets(y_true, y_pred.shape, y_pred.dtype))

    def grad(self, y_pred, y_true):
        return CrossEntropyLoss.grad(y_pred, self.targets(y_true, y_pred.shape, y_pred.dtype))

    def loss_from_logits(self, z, y_true):
        return self.loss_from_log_probs(log_softmax(z), y_true)

    def loss_from_log_probs(self, log_p, y_true):
        return CrossEntropyLoss.loss_from_log_probs(
            log_p, self.targets(y_true, log_p.shape, log_p.dtype))

    def grad_from_logits(self, p, y_true):
        return CrossEntropyLoss.grad_from_logits(p, self.targets(y_true, p.shape, p.dtype))

    def __repr__(self):
        return f"SmoothedCrossEntropyLoss(label_smoothing={self.label_smoothing:g})"


class BinaryCrossEntropyLoss(Loss):
    """``L = -mean(y log p + (1 - y) log(1 - p))`` over every element, ``p`` from a Sigmoid.

    For binary (or multi-label) outputs, as the blog suggests for a sigmoid head.
    """

    name = "binary_cross_entropy"
    head = Sigmoid

    @staticmethod
    def loss(y_pred, y_true):
        tiny = np.finfo(y_pred.dtype).tiny
        log_p = np.log(np.maximum(y_pred, tiny))
        log_1mp = np.log(np.maximum(1 - y_pred, tiny))
        return float(-np.mean(y_true * log_p + (1 - y_true) * log_1mp))

    @staticmethod
    def grad(y_pred, y_true):
        tiny = np.finfo(y_pred.dtype).tiny
        p = np.clip(y_pred, tiny, 1 - np.finfo(y_pred.dtype).epsneg)
        return (p - y_true) / (p * (1 - p) * y_pred.size)

    @staticmethod
    def loss_from_logits(z, y_true):
        # -[y log s(z) + (1-y) log(1 - s(z))] = log(1 + exp(z)) - y z, and logaddexp is stable.
        return float(np.mean(np.logaddexp(0, z) - y_true * z))

    @staticmethod
    def grad_from_logits(p, y_true):
        return (p - y_true) / p.size


LOSSES = {cls.name: cls for cls in (MeanSquaredErrorLoss, CrossEntropyLoss,
                                    BinaryCrossEntropyLoss)}


def get_loss(loss_fn):
    """Return a loss instance from a name, a :class:`Loss` class or an instance."""
    if isinstance(loss_fn, str):
        key = loss_fn.lower()
        if key not in LOSSES:
            raise ValueError(f"loss_fn must be one of {sorted(LOSSES)}, got {loss_fn!r}")
        return LOSSES[key]()
    if isinstance(loss_fn, type) and issubclass(loss_fn, Loss):
        return loss_fn()
    if isinstance(loss_fn, Loss):
        return loss_fn
    raise TypeError(f"loss_fn must be a name, a Loss class or instance; got {loss_fn!r}")
