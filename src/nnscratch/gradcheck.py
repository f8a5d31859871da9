"""Gradient checking: compare back-propagation with central finite differences.

For every parameter entry ``w`` the numerical derivative is
``(L(w + eps) - L(w - eps)) / (2 eps)``, whose error is ``O(eps^2)``; it is computed on a
float64 copy of the network so rounding does not swamp it.
"""

import numpy as np

from .losses import get_loss
from .validation import check_features, check_loss_fits_head, check_positive, check_targets


def _relative_error(analytic, numeric):
    """``||a - n|| / (||a|| + ||n||)``, 0 when both are zero."""
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return 0.0 if scale == 0 else float(np.linalg.norm(analytic - numeric) / scale)


def numeric_gradient(f, array, eps=1e-6):
    """Central differences of the scalar ``f()`` with respect to each entry of ``array``
    (changed in place and restored): ``(f(a + eps) - f(a - eps)) / (2 eps)``."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + eps
        up = f()
        array[index] = saved - eps
        down = f()
        array[index] = saved
        grad[index] = (up - down) / (2 * eps)
    return grad


def check_gradients(model, loss_fn, X, y, *, eps=1e-6, training=False):
    """Worst relative error of back-propagation against finite differences, per array.

    Parameters
    ----------
    model : NeuralNetwork
        Not modified: the check runs on a float64 copy.
    loss_fn : Loss class, instance or name
    X : array-like, shape (N, n_features)
    y : array-like, shape (N, n_outputs) or (N,) labels for cross-entropy
    eps : float
        Finite-difference step.
    training : bool
        Run the network in training mode (dropout on). Freeze each Dropout's mask first
        (``layer.frozen = True`` after one training forward) so every evaluation sees it.

    Returns
    -------
    dict
        ``{"layers[i].weights": err, "layers[i].bias": err, ..., "input": err}`` with
        ``err = ||analytic - numeric|| / (||analytic|| + ||numeric||)``; below ``1e-6``
        means the gradients agree.

    Notes
    -----
    ReLU has no derivative at 0. A freshly built network has zero biases, so a row whose
    previous layer is entirely switched off puts the next ReLUs exactly on that kink, and
    the finite difference there disagrees with any gradient. Give the biases small random
    values before checking (as the tests do) to stay off the kink.
    """
    loss_fn = get_loss(loss_fn)
    eps = check_positive(eps, "eps")
    check_loss_fits_head(loss_fn, model)
    net = model.astype(np.float64)
    X = check_features(X, net).copy()
    y = check_targets(y, net, loss_fn, len(X))

    def loss_at():
        return net._loss_of(loss_fn, net._forward(X, training), y)

    _, d_input = net.backprop(loss_fn, net._forward(X, training), y, input_grad=True)
    named = [(f"layers[{i}].{name}", array, grad)
             for i, layer in enumerate(net.layers) if layer.parameters()
             for name, array, grad in zip(("weights", "bias"), layer.parameters(),
                                          layer.gradients(), strict=True)]
    named = [(name, array, grad.copy()) for name, array, grad in named]
    named.append(("input", X, d_input))

    errors = {}
    for name, array, analytic in named:
        errors[name] = _relative_error(analytic, numeric_gradient(loss_at, array, eps))
    return errors


def check_layer_gradients(layer, x, *, eps=1e-6, training=False, seed=0):
    """Worst relative error of one layer's backward against finite differences, per array.

    The loss is ``sum(forward(x) * R)`` for a fixed random ``R``, so ``dL/d output = R``:
    every output entry gets a different weight and no error can cancel out.

    Parameters
    ----------
    layer : any layer with ``named_parameters()`` (its parameters must be float64)
        Its arrays are nudged in place and restored.
    x : ndarray
        The input (float64; integer indices for an Embedding, which has no input gradient).
    eps : float
        Finite-difference step.
    training : bool
        Passed to ``forward`` (a layer with dropout must reuse one mask to be checked).
    seed : int
        Seed of ``R``.

    Returns
    -------
    dict
        ``{name: error, ..., "input": error}`` for every named parameter (and the input when
        it is a float array), ``error = ||analytic - numeric|| / (||analytic|| + ||numeric||)``.
    """
    eps = check_positive(eps, "eps")
    weights = np.random.default_rng(seed).standard_normal(layer.forward(x, training).shape)

    def loss_at():
        return float(np.sum(layer.forward(x, training) * weights))

    layer.forward(x, training)
    d_input = layer.backward(weights)
    named = [(name, p, g.copy()) for (name, p), g in zip(layer.named_parameters(),
                                                          layer.gradients(), strict=True)]
    if np.issubdtype(np.asarray(x).dtype, np.floating):
        named.append(("input", x, d_input))
    return {name: _relative_error(analytic, numeric_gradient(loss_at, array, eps))
            for name, array, analytic in named}
