"""Same algorithm, same results: nnscratch (float64) follows the plain NumPy version of the
blog's algorithm (``benchmarks/plain_numpy.py``) epoch by epoch."""

import numpy as np
import pytest

from nnscratch import CrossEntropyLoss, NeuralNetwork, Softmax, train
from nnscratch.data import load_mnist, one_hot


@pytest.mark.parametrize("sizes", [[784, 32, 32, 10], [784, 64, 10]])
def test_nnscratch_follows_the_plain_blog_algorithm(sizes, benchmark_module):
    """Same initial weights and batch order: per-epoch losses agree to a relative 1e-9."""
    plain = benchmark_module("plain_numpy")
    data = load_mnist(split="standard", dtype=np.float64, progress=False)
    X, y = data.X_train[:6000], data.y_train[:6000]
    X_test, y_test = data.X_test[:2000], data.y_test[:2000]
    seed, epochs = 3, 3

    reference = plain.PlainNetwork(sizes, seed=seed, dtype=np.float64)
    ref_train, ref_eval = plain.train(reference, X, one_hot(y, 10, np.float64), epochs, 64,
                                      0.05, np.random.default_rng(11), X_test,
                                      one_hot(y_test, 10, np.float64))

    model = NeuralNetwork.from_sizes(sizes, head_activation=Softmax, dtype=np.float64,
                                     seed=seed)
    initial = plain.initial_weights(sizes, seed, np.float64)
    for layer, (weights, _) in zip(model.dense_layers, initial, strict=True):
        assert np.array_equal(layer.weights, weights)  # same seed, same initial weights
    ours_train, ours_eval = train(model, X, y, CrossEntropyLoss, epochs, 64, 0.05,
                                  X_test=X_test, y_test=y_test, bar=False,
                                  rng=np.random.default_rng(11))
    np.testing.assert_allclose(ours_train, ref_train, rtol=1e-9, atol=0)
    np.testing.assert_allclose(ours_eval, ref_eval, rtol=1e-9, atol=0)
    for layer, ref_layer in zip(model.dense_layers, reference.layers, strict=True):
        np.testing.assert_allclose(layer.weights, ref_layer.weights, rtol=1e-9, atol=1e-12)


def test_the_tight_benchmark_loop_is_the_same_algorithm(benchmark_module):
    """``benchmarks/tight_numpy.py`` (the speed bound in the benchmark) trains exactly as
    nnscratch does: same per-epoch losses and final weights in float64."""
    tight = benchmark_module("tight_numpy")
    sizes, seed, epochs = [784, 32, 32, 10], 5, 2
    data = load_mnist(split="standard", dtype=np.float64, progress=False)
    X, y = data.X_train[:6400], data.y_train[:6400]  # 100 full batches of 64

    initial = benchmark_module("plain_numpy").initial_weights(sizes, seed, np.float64)
    layers, losses, seconds = tight.train(initial, X, y, epochs, 64, 0.05,
                                          np.random.default_rng(2))
    model = NeuralNetwork.from_sizes(sizes, head_activation=Softmax, dtype=np.float64,
                                     seed=seed)
    history = train(model, X, y, CrossEntropyLoss, epochs, 64, 0.05, bar=False,
                    rng=np.random.default_rng(2))
    assert len(seconds) == epochs
    np.testing.assert_allclose(losses, history.train_losses, rtol=1e-9, atol=0)
    for layer, (weights, bias) in zip(model.dense_layers, layers, strict=True):
        np.testing.assert_allclose(layer.weights, weights, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.bias, bias, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="divisible by batch_size"):
        tight.train(initial, X[:100], y[:100], 1, 64, 0.05, np.random.default_rng(2))
