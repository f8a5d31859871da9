"""What a configuration builds: the network, its optimizer, its learning-rate schedule and
the distortion of its training images.

A configuration is a dict with one value per row of :data:`nnscratch.params.PARAMS`, as
:func:`nnscratch.recipes.make_config` and the estimators produce it; ``nnscratch train``,
the estimators and the sweeps all build through these three functions.
"""

import numpy as np

from .architecture import parse_arch
from .augment import make_augmenter
from .network import NeuralNetwork
from .optimizers import get_optimizer
from .schedules import get_schedule


def build_network(config, n_inputs, n_outputs, *, head=None, rng=None, input_shape=None):
    """The network ``n_inputs -> config["hidden"] -> n_outputs`` with ``head`` on the output,
    or the layers of ``config["arch"]`` for inputs of ``input_shape`` (e.g. ``(1, 28, 28)``).

    ``rng`` (a Generator) defaults to one seeded with ``config["seed"]``.
    """
    if rng is None:
        rng = np.random.default_rng(config["seed"])
    if config.get("arch"):
        return NeuralNetwork.from_architecture(
            parse_arch(config["arch"]), input_shape or (n_inputs,), n_outputs,
            hidden_activation=config["activation"], head_activation=head,
            dtype=config["dtype"], rng=rng, init=config["init"])
    return NeuralNetwork.from_sizes(
        [n_inputs, *config["hidden"], n_outputs], hidden_activation=config["activation"],
        head_activation=head, dtype=config["dtype"], rng=rng, init=config["init"],
        dropout=config["dropout"])


def build_augmenter(config, image_shape):
    """The configured distortion of training images of ``image_shape`` ``(H, W)`` or
    ``(H, W, C)`` (channels-last rows) (None for
    ``"none"``), drawing from its own Generator spawned from the run's seed."""
    if config["augment"] == "none":
        return None
    if image_shape is None:
        raise ValueError(f"augment {config['augment']!r} distorts images; this data has no "
                         "image shape (a table)")
    rng = np.random.default_rng(config["seed"]).spawn(1)[0]
    return make_augmenter(config["augment"], tuple(image_shape), rng)


def build_optimizer(config):
    """The configured optimizer, with PyTorch's names and defaults."""
    kwargs = {"weight_decay": float(config["weight_decay"])}
    if config["optimizer"] == "sgd":
        kwargs.update(momentum=config["momentum"],
                      nesterov=config["nesterov"] and config["momentum"] > 0)
    elif config["optimizer"] == "rmsprop":
        kwargs.update(momentum=config["momentum"])
    return get_optimizer(config["optimizer"], lr=config["lr"], **kwargs)


def build_schedule(config):
    """The configured learning rate per epoch."""
    return get_schedule(config["schedule"], epochs=max(config["epochs"], 1),
                        warmup=config["warmup"])
