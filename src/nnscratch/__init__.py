"""nnscratch: neural networks from scratch in NumPy.

The blog's API (``Layer``, ``Relu``, ``Tanh``, ``Sigmoid``, ``Softmax``, ``NeuralNetwork``,
``MeanSquaredErrorLoss``, ``CrossEntropyLoss``, ``train``, ``accuracy``) plus what a real
library needs: any layer sizes, optimizers, schedules, gradient checking, saving and loading.
"""

from ._version import __version__
from .activations import Activation, Identity, Relu, Sigmoid, Softmax, Tanh, get_activation
from .errors import (
                     ChecksumError,
                     DataFormatError,
                     DataUnavailableError,
                     DegenerateDataError,
                     DivergenceError,
                     ModelFormatError,
                     NNScratchError,
)
from .gradcheck import check_gradients
from .language import LanguageModel
from .layers import Dropout, Layer
from .losses import BinaryCrossEntropyLoss, CrossEntropyLoss, Loss, MeanSquaredErrorLoss, get_loss
from .network import NeuralNetwork
from .optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop, get_optimizer
from .schedules import StepDecay, WarmupCosine, get_schedule
from .serialization import load, read_metadata, save
from .training import History, accuracy, clip_grad_norm, train

__all__ = [
    "SGD", "Activation", "Adagrad", "Adam", "AdamW", "BinaryCrossEntropyLoss", "ChecksumError",
    "CrossEntropyLoss", "DataFormatError", "DataUnavailableError", "DegenerateDataError",
    "DivergenceError", "Dropout", "History", "Identity", "LanguageModel", "Layer", "Loss",
    "MeanSquaredErrorLoss", "ModelFormatError", "NNScratchError", "NeuralNetwork", "Optimizer",
    "RMSprop", "Relu", "Sigmoid", "Softmax", "StepDecay", "Tanh", "WarmupCosine", "__version__",
    "accuracy", "check_gradients", "clip_grad_norm", "get_activation", "get_loss",
    "get_optimizer", "get_schedule", "load", "read_metadata", "save", "train",
]
