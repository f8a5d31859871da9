"""Architectures as short text: ``conv32k3,pool2,conv64k3,pool2,drop0.25,dense128,drop0.5``.

One token per layer, comma-separated, read left to right from the input; the output layer
(as many units as classes or targets) is always added at the end:

========================  ================================================================
``conv32k3``              a 3x3 convolution with 32 output channels (stride 1, no padding)
``conv32k3s2``            ... with stride 2
``conv32k5p2``            ... with 2 pixels of zero padding (``same``: keep the size)
``pool2``                 2x2 max pooling (stride 2)
``avgpool2``              2x2 average pooling (stride 2)
``gap``                   global average pooling: each channel's mean over the image
``center``                each image minus its own mean colour (per channel)
``drop0.25``              dropout with rate 0.25
``dense128``              a fully connected layer of 128 units (the first flattens)
``bn``                    batch normalisation of the layer before, per channel or unit
========================  ================================================================

Convolutions and dense layers use the run's ``--activation``; one followed by ``bn`` passes
its output to the batch normalisation, which applies the activation after it (``conv32k3,bn``
is convolution, normalisation, ReLU, as in ResNet). :func:`parse_arch` turns the
text into a list of plain dicts (stored in the run's configuration and model files);
:func:`format_arch` turns it back; :func:`format_network` describes a whole network.
"""

import re

_TOKENS = {
    "conv": re.compile(r"conv(?P<out>\d+)k(?P<kernel>\d+)(?:s(?P<stride>\d+))?"
                       r"(?:p(?P<padding>\d+)|(?P<same>same))?"),
    "pool": re.compile(r"pool(?P<size>\d+)"),
    "avgpool": re.compile(r"avgpool(?P<size>\d+)"),
    "gap": re.compile(r"gap"),
    "center": re.compile(r"center"),
    "drop": re.compile(r"drop(?P<rate>0?\.\d+|0)"),
    "dense": re.compile(r"dense(?P<units>\d+)"),
    "bn": re.compile(r"bn"),
}
EXAMPLE = "conv32k3,pool2,conv64k3,pool2,drop0.25,dense128,drop0.5"
IMAGE_LAYERS = ("conv2d", "maxpool2d", "avgpool2d", "globalavgpool", "center")  # need image input


def parse_arch(text, name="--arch"):
    """The layers a text describes, as dicts: ``[{"type": "conv2d", "out": 32, ...}, ...]``.

    Raises
    ------
    ValueError
        An unknown or malformed token, a zero size, or a convolution or pooling after a
        dense layer; naming the token and its position.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{name} must be comma-separated layers like {EXAMPLE}, got {text!r}")
    layers, dense_seen = [], False
    for position, token in enumerate(text.replace(" ", "").lower().split(","), start=1):
        layer = _layer(token)
        where = f"{name}: layer {position}, {token!r}"
        if layer is None:
            raise ValueError(f"{where} is not a layer; write convCkK[sS][pP|same], poolP, "
                             f"avgpoolP, gap, center, dropR, denseN or bn, e.g. {EXAMPLE}")
        sizes = [v for k, v in layer.items() if k in ("out", "kernel", "stride", "size",
                                                      "units")]
        if any(v < 1 for v in sizes):
            raise ValueError(f"{where}: sizes must be >= 1")
        if layer["type"] in IMAGE_LAYERS and dense_seen:
            raise ValueError(f"{where}: a {layer['type']} layer cannot follow a dense layer "
                             "(put the convolutions and poolings first)")
        dense_seen = dense_seen or layer["type"] == "dense"
        layers.append(layer)
    return layers


def _layer(token):
    """One token as a layer dict, or None."""
    for kind, pattern in _TOKENS.items():
        match = pattern.fullmatch(token)
        if not match:
            continue
        g = match.groupdict()
        if kind == "conv":
            padding = "same" if g["same"] else int(g["padding"] or 0)
            return {"type": "conv2d", "out": int(g["out"]), "kernel": int(g["kernel"]),
                    "stride": int(g["stride"] or 1), "padding": padding}
        if kind == "pool":
            return {"type": "maxpool2d", "size": int(g["size"])}
        if kind == "avgpool":
            return {"type": "avgpool2d", "size": int(g["size"])}
        if kind == "gap":
            return {"type": "globalavgpool"}
        if kind == "center":
            return {"type": "center"}
        if kind == "drop":
            return {"type": "dropout", "rate": float(g["rate"])}
        if kind == "bn":
            return {"type": "batchnorm"}
        return {"type": "dense", "units": int(g["units"])}
    return None


def format_arch(layers):
    """The text of a list of layer dicts (the inverse of :func:`parse_arch`)."""
    tokens = []
    for layer in layers:
        if layer["type"] == "conv2d":
            token = f"conv{layer['out']}k{layer['kernel']}"
            token += f"s{layer['stride']}" if layer["stride"] != 1 else ""
            padding = layer["padding"]
            token += "same" if padding == "same" else (f"p{padding}" if padding else "")
        elif layer["type"] == "maxpool2d":
            token = f"pool{layer['size']}"
        elif layer["type"] == "avgpool2d":
            token = f"avgpool{layer['size']}"
        elif layer["type"] == "globalavgpool":
            token = "gap"
        elif layer["type"] == "center":
            token = "center"
        elif layer["type"] == "dropout":
            token = f"drop{layer['rate']:g}"
        elif layer["type"] == "batchnorm":
            token = "bn"
        else:
            token = f"dense{layer['units']}"
        tokens.append(token)
    return ",".join(tokens)


def is_convolutional(layers):
    """True when the layers include a convolution or a pooling (they need image input)."""
    return any(layer["type"] in IMAGE_LAYERS for layer in layers)


def format_network(model):
    """A network's layers as one line: ``784-32-32-10``, or for an architecture
    ``1x28x28 -> conv32k3,pool2 -> 10`` (input shape, layers, outputs)."""
    if model.architecture is None:
        return "-".join(map(str, model.sizes))
    return (f"{'x'.join(map(str, model.input_shape))} -> {format_arch(model.architecture)} "
            f"-> {model.output_size}")
