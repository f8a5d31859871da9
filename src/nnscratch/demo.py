"""``make demo``: the blog's regression experiment, printing each fit's MSE."""

import numpy as np

from .activations import Tanh
from .losses import MeanSquaredErrorLoss
from .network import NeuralNetwork
from .training import train

FUNCTIONS = {"x^2": lambda x: x**2, "|x|": np.abs, "3 sin x": lambda x: 3 * np.sin(x)}


def main():
    X = np.linspace(-3, 3, 100).reshape(-1, 1)
    for name, fn in FUNCTIONS.items():
        y = fn(X)
        model = NeuralNetwork(1, 1, 32, 2, hidden_activation=Tanh, seed=0)
        train(model, X, y, MeanSquaredErrorLoss, epochs=400, batch_size=64,
              learning_rate=0.05, bar=False)
        print(f"{name:>8}: MSE {MeanSquaredErrorLoss.loss(model.forward(X), y):.4f}")


if __name__ == "__main__":
    main()
