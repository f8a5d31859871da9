"""Back-propagation agrees with central finite differences (float64) everywhere."""

import numpy as np
import pytest

from nnscratch import (
    BinaryCrossEntropyLoss,
    CrossEntropyLoss,
    Dropout,
    MeanSquaredErrorLoss,
    NeuralNetwork,
    check_gradients,
)

ACTIVATIONS = ["identity", "relu", "tanh", "sigmoid", "softmax", "leaky_relu", "elu", "selu",
               "gelu", "silu", "softplus"]
HEAD_FOR_LOSS = {CrossEntropyLoss: "softmax", BinaryCrossEntropyLoss: "sigmoid"}
ARCHITECTURES = [[3, 4, 2], [5, 3, 4, 3], [2, 6, 5, 4, 3]]


def _targets(loss_fn, n, k, rng, labels=False):
    if loss_fn is CrossEntropyLoss:
        y = rng.integers(0, k, n)
        return y if labels else np.eye(k)[y]
    if loss_fn is BinaryCrossEntropyLoss:
        return rng.integers(0, 2, (n, k)).astype(float)
    return rng.normal(size=(n, k))


def _random_biases(model, rng):
    """Non-zero biases: zero biases put ReLU exactly at its kink for an all-dead row."""
    for layer in model.dense_layers:
        layer.bias[...] = rng.normal(scale=0.5, size=layer.bias.shape)
    return model


def _assert_close(errors):
    worst = max(errors, key=errors.get)
    assert errors[worst] < 1e-6, f"{worst}: relative error {errors[worst]:.2e}"


@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize("loss_fn", [MeanSquaredErrorLoss, CrossEntropyLoss,
                                     BinaryCrossEntropyLoss])
@pytest.mark.parametrize("hidden", ACTIVATIONS)
def test_hidden_activation_gradients(sizes, loss_fn, hidden, rng):
    """Every activation in the hidden position, with every loss (and the head it needs)."""
    head = HEAD_FOR_LOSS.get(loss_fn)
    model = NeuralNetwork.from_sizes(sizes, hidden_activation=hidden, head_activation=head,
                                     dtype=np.float64, seed=int(rng.integers(1000)))
    _random_biases(model, rng)
    X = rng.normal(size=(7, sizes[0]))
    _assert_close(check_gradients(model, loss_fn, X, _targets(loss_fn, 7, sizes[-1], rng)))


@pytest.mark.parametrize("head", ACTIVATIONS)
@pytest.mark.parametrize("hidden", ["relu", "tanh"])
def test_head_activation_gradients_with_mse(head, hidden, rng):
    """Every activation in the head position under MSE (softmax + MSE uses the true VJP)."""
    model = NeuralNetwork.from_sizes([4, 6, 3], hidden_activation=hidden,
                                     head_activation=head, seed=3)
    _random_biases(model, rng)
    X = rng.normal(size=(9, 4))
    _assert_close(check_gradients(model, MeanSquaredErrorLoss, X, rng.normal(size=(9, 3))))


def test_cross_entropy_with_integer_labels(rng):
    """Integer labels give the same gradients as one-hot targets."""
    model = NeuralNetwork.from_sizes([4, 5, 3], head_activation="softmax", seed=0)
    X = rng.normal(size=(8, 4))
    y = rng.integers(0, 3, 8)
    _assert_close(check_gradients(model, CrossEntropyLoss, X, y))
    net = model.astype(np.float64)
    loss_labels, _ = net.backprop(CrossEntropyLoss, net.forward(X), y)
    grads_labels = [g.copy() for g in net.gradients()]
    loss_onehot, _ = net.backprop(CrossEntropyLoss, net.forward(X), np.eye(3)[y])
    assert loss_labels == pytest.approx(loss_onehot, rel=1e-12)
    for a, b in zip(grads_labels, net.gradients(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_dropout_gradients_with_fixed_mask(rng):
    """Dropout in training mode, mask frozen, passes the gradient check."""
    model = NeuralNetwork.from_sizes([4, 8, 6, 3], head_activation="softmax", dropout=0.3,
                                     seed=5)
    X = rng.normal(size=(10, 4))
    net = model.astype(np.float64)
    net.forward(X, training=True)
    dropouts = [layer for layer in net.layers if isinstance(layer, Dropout)]
    assert len(dropouts) == 2
    for layer in dropouts:
        layer.frozen = True
        assert 0 < (layer.mask == 0).mean() < 1  # the mask really drops something
    _assert_close(check_gradients(net, CrossEntropyLoss, X, rng.integers(0, 3, 10),
                                  training=True))


def test_check_gradients_catches_a_wrong_gradient(rng, monkeypatch):
    """The checker fails when back-propagation is wrong (here: ReLU's mask inverted)."""
    from nnscratch import activations

    model = NeuralNetwork.from_sizes([3, 5, 2], head_activation="softmax", seed=1)
    X = rng.normal(size=(6, 3))
    y = rng.integers(0, 2, 6)
    monkeypatch.setattr(activations.Relu, "backward",
                        lambda self, d: d * (self.input <= 0))
    errors = check_gradients(model, CrossEntropyLoss, X, y)
    assert errors["layers[0].weights"] > 1e-2
    assert errors["layers[1].weights"] < 1e-6  # the head is unaffected


def test_check_gradients_reports_every_array(rng):
    """One entry per weight, per bias, and the input."""
    model = NeuralNetwork.from_sizes([3, 4, 4, 2], seed=0)
    errors = check_gradients(model, "mse", rng.normal(size=(5, 3)), rng.normal(size=(5, 2)))
    assert list(errors) == ["layers[0].weights", "layers[0].bias", "layers[1].weights",
                            "layers[1].bias", "layers[2].weights", "layers[2].bias", "input"]
    assert model.dtype == np.float32  # the caller's model is untouched
