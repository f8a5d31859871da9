"""The blog's algorithm written plainly in NumPy, as the reference nnscratch is measured against.

This is the post's own code (Layer, Relu, Softmax, CrossEntropyLoss, the training loop),
with only what a fair comparison needs: the dtype is a parameter, the initial weights are
given, and the shuffling comes from a seeded Generator instead of the global state. Like the
post it copies the whole shuffled data set every epoch and computes every gradient,
including the first layer's unused input gradient. It is used by ``bench_train.py`` and by
``tests/test_reference.py``; it is not part of the package.
"""

import itertools

import numpy as np


class Relu:
    def forward(self, x):
        self.input = x
        return np.maximum(0, x)

    def backward(self, d_output):
        return d_output * (self.input > 0)


class Softmax:
    def forward(self, x):
        x_stable = x - np.max(x, axis=1, keepdims=True)
        exp_x = np.exp(x_stable)
        self.output = exp_x / np.sum(exp_x, axis=1, keepdims=True)
        return self.output

    def backward(self, d_output):
        return d_output  # the post's placeholder: the loss gives the fused gradient


class Layer:
    def __init__(self, weights, bias, activation):
        self.weights, self.bias, self.activation = weights, bias, activation

    def forward(self, x):
        self.input = x
        self.z = x @ self.weights + self.bias
        return self.activation.forward(self.z)

    def backward(self, d_output, learning_rate):
        d_output = self.activation.backward(d_output)
        d_weights = self.input.T @ d_output
        d_bias = np.sum(d_output, axis=0, keepdims=True)
        d_input = d_output @ self.weights.T
        self.weights -= learning_rate * d_weights
        self.bias -= learning_rate * d_bias
        return d_input


class CrossEntropyLoss:
    @staticmethod
    def loss(y_pred, y_true):
        y_pred = np.clip(y_pred, 1e-12, 1.0 - 1e-12)
        return -np.mean(np.sum(y_true * np.log(y_pred), axis=1))

    @staticmethod
    def grad(y_pred, y_true):
        return (y_pred - y_true) / y_true.shape[0]


def initial_weights(sizes, seed, dtype):
    """The post's N(0, 1/fan_in) weights and zero biases, drawn as nnscratch draws them."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        w = rng.normal(scale=np.sqrt(1 / fan_in), size=(fan_in, fan_out)).astype(dtype)
        params.append((w, np.zeros((1, fan_out), dtype=dtype)))
    return params


class PlainNetwork:
    def __init__(self, sizes, seed, dtype=np.float64):
        params = initial_weights(sizes, seed, dtype)
        self.layers = [Layer(w, b, Relu()) for w, b in params[:-1]]
        self.layers.append(Layer(*params[-1], Softmax()))

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, loss_grad, learning_rate):
        for layer in reversed(self.layers):
            loss_grad = layer.backward(loss_grad, learning_rate)


def train(model, X_train, y_train, epochs, batch_size, learning_rate, rng, X_test=None,
          y_test=None, on_epoch=None):
    """The post's loop; ``y`` one-hot. Returns (train_losses, eval_losses)."""
    train_losses, eval_losses = [], []
    for _ in range(epochs):
        permutation = rng.permutation(X_train.shape[0])
        X_shuffled = X_train[permutation]
        y_shuffled = y_train[permutation]
        losses = []
        for i in range(0, X_train.shape[0], batch_size):
            x_batch = X_shuffled[i:i + batch_size]
            y_batch = y_shuffled[i:i + batch_size]
            y_pred = model.forward(x_batch)
            losses.append(CrossEntropyLoss.loss(y_pred, y_batch))
            model.backward(CrossEntropyLoss.grad(y_pred, y_batch), learning_rate)
        train_losses.append(np.mean(losses))
        if X_test is not None:
            eval_losses.append(CrossEntropyLoss.loss(model.forward(X_test), y_test))
        if on_epoch is not None:
            on_epoch()
    return train_losses, eval_losses
