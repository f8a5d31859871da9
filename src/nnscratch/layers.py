"""Every layer, importable from one place, and the registry that rebuilds them from a file.

The layers themselves live in their own modules: the blog's Dense :class:`Layer` and
:class:`Dropout` (``dense.py``), ``Conv2D`` and friends (``conv.py``), the normalisations
(``normalization.py``), :class:`Embedding`, the recurrent layers (``recurrent.py``) and
:class:`MultiHeadAttention` (``attention.py``). This module adds :class:`Residual`, which
holds other layers, and the registry.

Every layer has ``forward(x, training)``, ``backward(d_output)`` (returns ``dL/dx`` and
stores the parameters' gradients in place), ``parameters()``, ``gradients()`` (same order)
and ``named_parameters()``; the layers of :data:`LAYERS` also have ``config()``, their
constructor's arguments as JSON-able values. A model file stores a stack of them as

    {"type": "LayerNorm", "config": {"normalized_shape": 64, ...}}     (JSON, per layer)
    "<i>.<name>" -> array                                               (npz, per parameter)

with :func:`layer_spec` and :func:`layer_state`, and rebuilds it with :func:`layer_from_spec`
(or :func:`layer_from_config`) and :func:`load_layer_state`. No pickle anywhere.
"""

import numpy as np

from .attention import MultiHeadAttention
from .dense import Dropout, Layer
from .embedding import Embedding
from .layerbase import ParamLayer
from .normalization import LayerNorm
from .recurrent import GRU, LSTM, RNN
from .validation import check_float_dtype

__all__ = ["GRU", "LAYERS", "LSTM", "RNN", "Dropout", "Embedding", "Layer", "LayerNorm",
           "MultiHeadAttention", "Residual", "layer_from_config", "layer_from_spec",
           "layer_spec", "layer_state", "load_layer_state"]


class Residual(ParamLayer):
    """``y = x + f(x)``, ``f`` the given layers applied in order (a skip connection).

    Why it helps: the gradient reaches ``x`` through the identity untouched, ``dL/dx =
    dL/dy + f'(x)^T dL/dy``, so a deep stack of blocks still trains (He et al., 2015).
    ``f`` must give back its input's shape.

    Parameters
    ----------
    *layers
        The layers of ``f``.
    rng, dtype : ignored
        Accepted as every layer's constructor accepts them (the inner layers have theirs).
    """

    def __init__(self, *layers, rng=None, dtype=None):
        if not layers:
            raise ValueError("Residual needs at least one layer")
        for layer in layers:
            if not all(hasattr(layer, m) for m in ("forward", "backward", "parameters")):
                raise TypeError(f"Residual takes layers, got {layer!r}")
        self.layers = list(layers)

    def config(self):
        """``{"layers": [spec, ...]}`` with each inner layer's :func:`layer_spec`."""
        return {"layers": [layer_spec(layer) for layer in self.layers]}

    def named_parameters(self):
        return [(f"layers.{i}.{name}", p) for i, layer in enumerate(self.layers)
                for name, p in layer.named_parameters()]

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def gradients(self):
        return [g for layer in self.layers for g in layer.gradients()]

    def forward(self, x, training=False):
        out = x
        for layer in self.layers:
            out = layer.forward(out, training)
        if out.shape != x.shape:
            raise ValueError(f"Residual: its layers turn {x.shape} into {out.shape}; they must "
                             "keep the shape to be added to their input")
        return x + out

    def _backward(self, d_output, input_grad):
        d = d_output
        for layer in reversed(self.layers):
            d = layer.backward(d)
        return d_output + d if input_grad else None

    def __repr__(self):
        return f"Residual({', '.join(map(repr, self.layers))})"


#: The layers a model file can name: ``{type name: class}``.
LAYERS = {cls.__name__: cls for cls in (Layer, Dropout, Embedding, LayerNorm, Residual, RNN,
                                        LSTM, GRU, MultiHeadAttention)}


def layer_spec(layer):
    """``{"type": name, "config": {...}}``: what a model file's JSON keeps of ``layer``.

    Raises
    ------
    ValueError
        The layer is not one of :data:`LAYERS` (it could not be rebuilt).
    """
    name = type(layer).__name__
    if LAYERS.get(name) is not type(layer):
        raise ValueError(f"a model file cannot store a {name} layer; it stores "
                         f"{', '.join(sorted(LAYERS))}")
    return {"type": name, "config": layer.config()}


def layer_from_config(name, config, dtype=np.float32, *, rng=None):
    """A new layer of type ``name`` built from its ``config()`` (fresh parameters: load the
    saved ones with :func:`load_layer_state`).

    Raises
    ------
    ValueError
        An unknown ``name``, or a ``config`` its constructor does not take.
    """
    if name not in LAYERS:
        raise ValueError(f"unknown layer type {name!r}; expected one of {sorted(LAYERS)}")
    if not isinstance(config, dict):
        raise ValueError(f"the config of a {name} layer must be a dict, got {config!r}")
    dtype = check_float_dtype(dtype)
    if name == "Residual":
        inner = config.get("layers")
        if not isinstance(inner, list) or set(config) != {"layers"}:
            raise ValueError(f"the config of a Residual layer must be {{'layers': [...]}}, "
                             f"got {config!r}")
        return Residual(*(layer_from_spec(spec, dtype, rng=rng) for spec in inner))
    try:
        return LAYERS[name](**config, rng=rng, dtype=dtype)
    except TypeError as error:
        raise ValueError(f"the config of a {name} layer does not fit it: {error}") from None


def layer_from_spec(spec, dtype=np.float32, *, rng=None):
    """:func:`layer_from_config` from a :func:`layer_spec` dict."""
    if not isinstance(spec, dict) or set(spec) != {"type", "config"}:
        raise ValueError(f"a layer spec must be {{'type': ..., 'config': ...}}, got {spec!r}")
    return layer_from_config(spec["type"], spec["config"], dtype, rng=rng)


def layer_state(layer, prefix=""):
    """``{prefix + name: array}`` for every learned array of ``layer`` (live arrays, not
    copies), e.g. ``{"3.in_proj_weight": ..., "3.out_proj.weights": ...}``."""
    return {f"{prefix}{name}": p for name, p in layer.named_parameters()}


def load_layer_state(layer, arrays, prefix=""):
    """Copy ``arrays[prefix + name]`` into each learned array of ``layer``, in place.

    Raises
    ------
    ValueError
        An array is missing, or has another shape than the layer's.
    """
    for name, p in layer.named_parameters():
        key = f"{prefix}{name}"
        if key not in arrays:
            raise ValueError(f"the saved arrays lack {key!r} (of {layer!r})")
        value = np.asarray(arrays[key])
        if value.shape != p.shape:
            raise ValueError(f"the saved array {key!r} has shape {value.shape}; {layer!r} "
                             f"needs {p.shape}")
        p[...] = value
