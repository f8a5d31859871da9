"""Weight initialisers: how a Dense layer's ``(fan_in, fan_out)`` weight matrix starts.

Why it matters: the scale of the initial weights decides whether activations and gradients
keep a useful size as they pass through many layers. Each initialiser draws from the
``numpy.random.Generator`` it is given, so the same seed gives the same network.
"""

import numpy as np


def normal(fan_in, fan_out, rng, dtype):
    """The blog's initialiser: ``N(0, 1 / fan_in)`` (standard deviation ``sqrt(1 / fan_in)``)."""
    return rng.normal(scale=np.sqrt(1 / fan_in), size=(fan_in, fan_out)).astype(dtype)


def he(fan_in, fan_out, rng, dtype):
    """He et al. (2015): ``N(0, 2 / fan_in)``, which keeps the variance through ReLU layers."""
    return rng.normal(scale=np.sqrt(2 / fan_in), size=(fan_in, fan_out)).astype(dtype)


def glorot(fan_in, fan_out, rng, dtype):
    """Glorot & Bengio (2010): ``U(-a, a)`` with ``a = sqrt(6 / (fan_in + fan_out))``."""
    limit = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(dtype)


INITIALIZERS = {"normal": normal, "he": he, "glorot": glorot}


def get_initializer(init):
    """Return the initialiser function for a name in :data:`INITIALIZERS`, or a callable."""
    if callable(init):
        return init
    if init not in INITIALIZERS:
        raise ValueError(f"init must be one of {sorted(INITIALIZERS)}, got {init!r}")
    return INITIALIZERS[init]
