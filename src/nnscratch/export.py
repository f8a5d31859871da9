"""Exporting a trained network to ONNX, the exchange format other runtimes read (onnxruntime,
OpenVINO, TensorRT, onnxruntime-web in a browser).

:func:`build_onnx` translates a :class:`~nnscratch.network.NeuralNetwork` into one ONNX graph
with the ``onnx`` package's helper API (opset :data:`OPSET`); :func:`to_onnx` checks it with
``onnx.checker`` and writes it atomically. Each layer kind is one small function registered
in :data:`LAYERS` by :func:`exports`, and each activation one row of :data:`ACTIVATION_OPS`:
exporting a new layer means adding its function. A layer or activation without one is
refused with an :class:`~nnscratch.errors.ExportError` that names it.

The graph takes what a user has in hand, and replays what the model file records was done to
it in training (``preprocess=True``, the default):

- a model trained on a table (``nnscratch train --data``): its numeric columns as raw
  ``float64`` numbers (NaN where a cell is missing) in ``numeric``, and its text columns as
  strings (``""`` where a cell is missing) in ``text``; the graph imputes, standardises and
  one-hot encodes them as the model's :class:`~nnscratch.data.pipeline.TablePipeline` does;
- a model trained on MNIST (or the digits): raw pixel values (0-255; 0-16) in ``pixels``,
  which the graph scales into [0, 1] as training did;
- any other network: ``input``, the rows ``predict_proba`` takes.

With ``preprocess=False`` the graph is the network alone, and its input is ``input``, the rows
``predict_proba`` takes. Every graph has a dynamic batch dimension ``N``.

Outputs: a classifier's ``probabilities`` (equal to ``predict_proba``) and ``label`` (equal to
``predict``: class indices; the labels they stand for are in the metadata's ``classes``); a
regressor's ``predictions`` (``predict``, in the target's units). Dropout is left out (it is
the identity at inference). Convolutions need no transposition: nnscratch's convolutional
layers take and give ``(N, C, H, W)`` batches with PyTorch's (and ONNX's) weight layout, and
are channels-last only in memory.
"""

import itertools
import json
import math
import os
from pathlib import Path

import numpy as np

from ._version import __version__
from .activations import ACTIVATIONS, Sigmoid, Softmax
from .conv import ChannelsLast, Conv2D, Flatten, MaxPool2D, Reshape
from .data.catalog import PIXEL_MAX
from .data.pipeline import NUMERIC
from .errors import ExportError, MissingDependencyError
from .files import write_bytes
from .layers import Dropout, Layer
from .network import NeuralNetwork
from .normalization import BatchNorm
from .pooling import AvgPool2D, GlobalAvgPool, SubtractImageMean
from .validation import check_float_dtype

#: The ONNX operator set the graphs use (ai.onnx), and ai.onnx.ml's for a table's text columns.
OPSET, ML_OPSET = 17, 3
#: The IR version written: the one of opset 17 (ONNX 1.12), so older runtimes read the files.
IR_VERSION = 8
#: The ONNX operator of each activation (``None``: nothing to add; lower case: several
#: operators, see :func:`_activation`).
ACTIVATION_OPS = {"identity": None, "relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid",
                  "softmax": "Softmax", "leaky_relu": "LeakyRelu", "elu": "Elu",
                  "selu": "Selu", "softplus": "Softplus", "silu": "silu", "gelu": "gelu"}
#: ``{layer class: function(graph, layer, x, name) -> output}``, filled by :func:`exports`.
LAYERS = {}


def _onnx():
    """The ``onnx`` module, or a one-line hint to install it."""
    try:
        import onnx
    except ImportError:
        raise MissingDependencyError("exporting to ONNX needs the onnx package: "
                                     "pip install 'nnscratch[onnx]'") from None
    return onnx


class _Graph:
    """The nodes and constants of a graph being built, each under a unique name."""

    def __init__(self, onnx, reserved):
        self.onnx = onnx
        self.nodes, self.constants = [], []
        self._names = set(reserved)  # the graph's inputs and outputs

    def name(self, base):
        """``base``, or ``base_2``, ``base_3``, ... if taken."""
        name, k = base, 1
        while name in self._names:
            k += 1
            name = f"{base}_{k}"
        self._names.add(name)
        return name

    def const(self, base, array):
        """A constant (an initializer) holding ``array``; its name."""
        name = self.name(base)
        self.constants.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, base, *, output=None, domain=None, **attributes):
        """Add a node ``op_type(inputs)``; the name of its output (``output`` if given)."""
        out = output or self.name(base)
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [out], name=out,
                                                     domain=domain, **attributes))
        return out


# --- the layers -------------------------------------------------------------------------
def exports(cls):
    """Register the decorated function as the ONNX translation of layer class ``cls``.

    The function is called as ``fn(graph, layer, x, name)``, with ``x`` the name of the
    layer's input (``(N, n)`` or ``(N, C, H, W)``) and ``name`` a prefix for what it adds;
    it returns the name of the layer's output.
    """
    def register(fn):
        LAYERS[cls] = fn
        return fn
    return register


def _activation(g, layer, z, name):
    """The layer's activation applied to ``z`` (nothing for the identity)."""
    activation = layer.activation
    op, out = ACTIVATION_OPS[activation.name], f"{name}.{activation.name}"
    if op is None:
        return z
    if op == "silu":  # x sigmoid(x)
        return g.op("Mul", [z, g.op("Sigmoid", [z], f"{out}.sigmoid")], out)
    if op == "gelu":  # x Phi(x) = x (1 + erf(x / sqrt(2))) / 2; opset 17 has no Gelu
        dtype = layer.weights.dtype
        erf = g.op("Erf", [g.op("Div", [z, g.const(f"{out}.sqrt2", np.sqrt(2, dtype=dtype))],
                                f"{out}.scaled")], f"{out}.erf")
        half = g.op("Mul", [z, g.const(f"{out}.half", dtype.type(0.5))], f"{out}.half_x")
        return g.op("Add", [half, g.op("Mul", [half, erf], f"{out}.half_x_erf")], out)
    extra = {"Softmax": {"axis": 1},  # nnscratch's softmax runs along axis 1
             "LeakyRelu": {"alpha": getattr(activation, "negative_slope", 0.0)},
             "Elu": {"alpha": activation.alpha} if op == "Elu" else {},
             "Selu": ({"alpha": activation.alpha, "gamma": activation.scale}
                      if op == "Selu" else {})}.get(op, {})
    return g.op(op, [z], out, **extra)


@exports(Layer)
def _dense(g, layer, x, name):
    """``activation(x @ W + b)``: one Gemm, ``(N, in) @ (in, out) + (out,)``."""
    z = g.op("Gemm", [x, g.const(f"{name}.weights", layer.weights),
                      g.const(f"{name}.bias", layer.bias.reshape(-1))], name)
    return _activation(g, layer, z, name)


@exports(Conv2D)
def _conv(g, layer, x, name):
    """One Conv on ``(N, C, H, W)``; the weights ``(out, in, k, k)`` are ONNX's layout."""
    k, s, (before, after) = layer.kernel_size, layer.stride, layer.pads
    z = g.op("Conv", [x, g.const(f"{name}.weights", layer.weights),
                      g.const(f"{name}.bias", layer.bias)], name,
             kernel_shape=[k, k], strides=[s, s], pads=[before, before, after, after])
    return _activation(g, layer, z, name)


@exports(MaxPool2D)
def _maxpool(g, layer, x, name):
    """MaxPool; ONNX's default floor rounding drops the rows a window does not fill, as here."""
    p, s = layer.pool_size, layer.stride
    return g.op("MaxPool", [x], name, kernel_shape=[p, p], strides=[s, s])


@exports(Flatten)
def _flatten(g, layer, x, name):
    """``(N, C, H, W) -> (N, C*H*W)`` in ``(c, h, w)`` order, as nnscratch's Flatten."""
    return g.op("Flatten", [x], name, axis=1)


@exports(Reshape)
def _reshape(g, layer, x, name):
    """``(N, ...) -> (N, *shape)`` (e.g. flat rows as images)."""
    shape = g.const(f"{name}.shape", np.array([-1, *layer.shape], dtype=np.int64))
    return g.op("Reshape", [x, shape], name)


@exports(AvgPool2D)
def _avgpool(g, layer, x, name):
    """AveragePool over non-overlapping windows (floor rounding, as here)."""
    p = layer.pool_size
    return g.op("AveragePool", [x], name, kernel_shape=[p, p], strides=[p, p])


@exports(GlobalAvgPool)
def _global_avgpool(g, layer, x, name):
    """GlobalAveragePool gives ``(N, C, 1, 1)``; flattened to ``(N, C)`` as here."""
    return g.op("Flatten", [g.op("GlobalAveragePool", [x], name)], f"{name}.flat", axis=1)


@exports(SubtractImageMean)
def _subtract_image_mean(g, layer, x, name):
    """Each image minus its mean colour: ReduceMean over height and width, then Sub."""
    mean = g.op("ReduceMean", [x], f"{name}.mean", axes=[2, 3], keepdims=1)  # opset 17: axes
    return g.op("Sub", [x, mean], name)


@exports(BatchNorm)
def _batchnorm(g, layer, x, name):
    """BatchNormalization at inference (the running statistics), on ``(N, C)`` or
    ``(N, C, H, W)``, then the activation it applies."""
    z = g.op("BatchNormalization", [x, *(g.const(f"{name}.{part}", array) for part, array in (
        ("scale", layer.weights), ("bias", layer.bias), ("mean", layer.running_mean),
        ("var", layer.running_var)))], name, epsilon=layer.eps)
    return _activation(g, layer, z, name)


@exports(ChannelsLast)
def _channels_last(g, layer, x, name):
    """Rows of ``(h, w, c)`` pixels as ``(N, C, H, W)`` images: Reshape, then Transpose."""
    c, h, w = layer.shape
    shape = g.const(f"{name}.shape", np.array([-1, h, w, c], dtype=np.int64))
    return g.op("Transpose", [g.op("Reshape", [x, shape], f"{name}.hwc")], name,
                perm=[0, 3, 1, 2])


@exports(Dropout)
def _dropout(g, layer, x, name):
    """Nothing: dropout is the identity at inference."""
    return x


def check_exportable(model):
    """Refuse, naming it, the first layer or activation ONNX export has no translation for.

    Raises
    ------
    TypeError
        ``model`` is not a NeuralNetwork.
    ExportError
        A layer of a kind not in :data:`LAYERS`, or an activation not in
        :data:`ACTIVATION_OPS`.
    """
    if not isinstance(model, NeuralNetwork):
        raise TypeError("model must be a NeuralNetwork or a fitted nnscratch.sklearn "
                        f"estimator, got {type(model).__name__}")
    known = ", ".join(sorted(cls.__name__ for cls in LAYERS))
    for i, layer in enumerate(model.layers, start=1):
        where = f"layer {i} of {len(model.layers)} ({type(layer).__name__})"
        if type(layer) not in LAYERS:
            raise ExportError(f"cannot export {where} to ONNX: no ONNX translation for "
                              f"{type(layer).__name__}; the layers ONNX export knows: {known}")
        activation = getattr(layer, "activation", None)
        if activation is None:
            continue
        key = getattr(activation, "name", None)
        if key not in ACTIVATION_OPS or type(activation) is not ACTIVATIONS.get(key):
            raise ExportError(f"cannot export {where} to ONNX: no ONNX translation for its "
                              f"activation {type(activation).__name__}; the activations ONNX "
                              f"export knows: {', '.join(sorted(ACTIVATION_OPS))}")


# --- the input --------------------------------------------------------------------------
def _tensor_type(onnx, dtype):
    """The ONNX element type of a NumPy dtype."""
    return onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def _input(g, model, preprocess):
    """The graph's inputs (descriptions), and the name of the rows the network takes."""
    config = model.metadata.get("config") or {}
    dataset = None if config.get("data") else config.get("dataset")
    if preprocess and getattr(model.pipeline, "kind", None) == "image":
        p = model.pipeline
        described = {"name": "pixels", "dtype": model.dtype.name, "shape": ["N", p.n_features],
                     "description": f"{p.height}x{p.width} {'RGB' if p.channels == 3 else 'grey'}"
                     f" images as rows of (row, column, channel) pixel values 0-255, resized "
                     f"as in training (the graph does not resize); the graph divides them by "
                     f"{p.divisor:g}"}
        scaled = g.op("Div", ["pixels", g.const("pixels.max", np.array(p.divisor, model.dtype))],
                      "pixels.scaled")
        return [described], scaled
    if preprocess and model.pipeline is not None:
        return _table_input(g, model)
    if preprocess and dataset in PIXEL_MAX:
        n, top = model.input_size, PIXEL_MAX[dataset]
        side = math.isqrt(n)
        image = f"{side}x{side} images as rows (row-major)" if side * side == n else "images"
        described = {"name": "pixels", "dtype": model.dtype.name, "shape": ["N", n],
                     "description": f"{image}, raw pixel values 0-{top} as in the {dataset} "
                     f"data (light ink on black); the graph divides them by {top}"}
        scaled = g.op("Div", ["pixels", g.const("pixels.max", np.array(top, model.dtype))],
                      "pixels.scaled")
        return [described], scaled
    return [{"name": "input", "dtype": model.dtype.name, "shape": ["N", model.input_size],
             "description": _bare_input(model, dataset)}], "input"


def _bare_input(model, dataset):
    """What ``input`` holds when the graph is the network alone."""
    if model.pipeline is not None:
        names = model.pipeline.feature_names
        shown = ", ".join(names[:12]) + (f", ... ({len(names) - 12} more)" if len(names) > 12
                                         else "")
        return (f"the {len(names)} features the table's input pipeline makes (nnscratch's "
                f"TablePipeline.transform: imputed, standardised, one-hot): {shown}")
    if dataset in PIXEL_MAX:
        return (f"pixel values scaled into [0, 1] (the {dataset} data's raw values divided "
                f"by {PIXEL_MAX[dataset]}), images as rows (row-major)")
    return "the rows NeuralNetwork.predict_proba takes, as they are"


def _table_input(g, model):
    """A table's columns in, the pipeline's features out: numeric columns imputed with their
    median and standardised (in float64, as nnscratch does), text columns imputed with their
    most frequent value and one-hot encoded (ai.onnx.ml LabelEncoder and OneHotEncoder)."""
    pipeline, dtype = model.pipeline, model.dtype
    numeric = [c for c in pipeline.columns if c.kind == NUMERIC]
    text = [c for c in pipeline.columns if c.kind != NUMERIC]
    inputs, blocks = [], []
    if numeric:
        inputs.append({"name": "numeric", "dtype": "float64", "shape": ["N", len(numeric)],
                       "columns": [c.name for c in numeric],
                       "description": f"the numeric columns {_names(numeric)} as raw numbers, "
                       "NaN where a cell is missing (the graph puts in the training median"
                       + (", then standardises" if pipeline.scale else "") + ")"})
        x = g.op("Where", [g.op("IsNaN", ["numeric"], "numeric.missing"),
                           g.const("numeric.median", [c.fill for c in numeric]), "numeric"],
                 "numeric.imputed")
        if pipeline.scale:
            x = g.op("Sub", [x, g.const("numeric.mean", [c.mean for c in numeric])],
                     "numeric.centred")
            x = g.op("Div", [x, g.const("numeric.scale", [c.scale for c in numeric])],
                     "numeric.standardised")
        numeric_block = g.op("Cast", [x], "numeric.features", to=_tensor_type(g.onnx, dtype))
    if text:
        inputs.append({"name": "text", "dtype": "string", "shape": ["N", len(text)],
                       "columns": [c.name for c in text],
                       "description": f"the text columns {_names(text)} as strings, '' where "
                       "a cell is missing (the graph puts in the training's most frequent "
                       "value); a value not seen in training is all zeros, as in nnscratch"})
    for kind, run in itertools.groupby(pipeline.columns, key=lambda c: c.kind == NUMERIC):
        run = list(run)
        if not kind:
            blocks += [_one_hot(g, column, text.index(column), dtype) for column in run]
        elif len(run) == len(numeric):  # the usual order: every numeric column at once
            blocks.append(numeric_block)
        else:
            first = numeric.index(run[0])
            bounds = [g.const(name, np.array([value], np.int64)) for name, value in
                      (("start", first), ("end", first + len(run)), ("axis", 1))]
            blocks.append(g.op("Slice", [numeric_block, *bounds], "numeric.run"))
    x = blocks[0] if len(blocks) == 1 else g.op("Concat", blocks, "features", axis=1)
    return inputs, x


def _names(columns):
    """``'a', 'b', 'c'``: column names as the descriptions list them, in order."""
    return ", ".join(repr(c.name) for c in columns)


def _one_hot(g, column, j, dtype):
    """Text column ``j`` of ``text`` as ``(N, n_categories)`` 0/1 features."""
    cats = list(column.categories)
    cell = g.op("Gather", ["text", g.const(f"{column.name}.index", np.array(j, np.int64))],
                f"{column.name}.text", axis=1)  # (N,)
    unseen = "\0unseen"  # what every value outside the categories becomes: all zeros
    while unseen in cats:
        unseen += "\0"
    keys = cats + ([""] if "" not in cats else [])
    values = cats + ([column.fill] if "" not in cats else [])
    filled = g.op("LabelEncoder", [cell], f"{column.name}.filled", domain="ai.onnx.ml",
                  keys_strings=keys, values_strings=values, default_string=unseen)
    encoded = g.op("OneHotEncoder", [filled], f"{column.name}.one_hot", domain="ai.onnx.ml",
                   cats_strings=cats, zeros=1)  # float32
    if dtype != np.float32:
        encoded = g.op("Cast", [encoded], f"{column.name}.features",
                       to=_tensor_type(g.onnx, dtype))
    return encoded


# --- the outputs ------------------------------------------------------------------------
def _classes(model):
    """The label each class index stands for: a table's own labels, else the indices."""
    described = model.metadata.get("metrics", {}).get("dataset", {})
    n = model.output_size
    if isinstance(model.head.activation, Sigmoid) and n == 1:
        return described.get("classes") or [0, 1]
    return described.get("classes") or list(range(n))


def _outputs(g, model, out):
    """The graph's outputs (descriptions), computed from the network's output ``out``."""
    n, dtype = model.output_size, model.dtype
    if not model.is_classifier():
        g.op("Identity", [out], "predictions", output="predictions")
        return [{"name": "predictions", "dtype": dtype.name, "shape": ["N", n],
                 "description": "the network's outputs (NeuralNetwork.predict), a regression "
                 "in the target's own units"}]
    if isinstance(model.head.activation, Softmax):
        g.op("Identity", [out], "probabilities", output="probabilities")
        g.op("ArgMax", [out], "label", output="label", axis=1, keepdims=0)  # the first max
        label_shape, what = ["N"], "the most probable class's index"
    else:  # sigmoid outputs: 0/1 where p >= 0.5, as NeuralNetwork.predict
        ones = g.op("GreaterOrEqual", [out, g.const("half", np.array(0.5, dtype))], "positive")
        if n == 1:  # predict_proba gives [P(0), P(1)]
            g.op("Concat", [g.op("Sub", [g.const("one", np.array(1, dtype)), out], "p0"), out],
                 "probabilities", output="probabilities", axis=1)
            axis = g.const("axis", np.array([1], np.int64))
            ones = g.op("Squeeze", [ones, axis], "positive.rows")
            label_shape, what = ["N"], "1 where P(1) >= 0.5, else 0"
        else:
            g.op("Identity", [out], "probabilities", output="probabilities")
            label_shape, what = ["N", n], "each label's 0/1 (1 where its probability >= 0.5)"
        g.op("Cast", [ones], "label", output="label", to=_tensor_type(g.onnx, np.int64))
    width = 2 if isinstance(model.head.activation, Sigmoid) and n == 1 else n
    return [{"name": "probabilities", "dtype": dtype.name, "shape": ["N", width],
             "description": "each class's probability (NeuralNetwork.predict_proba), in the "
             "order of the metadata's 'classes'"},
            {"name": "label", "dtype": "int64", "shape": label_shape,
             "description": f"{what} (NeuralNetwork.predict); 'classes' in the metadata "
             "holds the label each index stands for"}]


# --- the model --------------------------------------------------------------------------
def build_onnx(model, *, preprocess=True, dtype=None):
    """The ONNX model of a network, checked by ``onnx.checker``.

    Parameters
    ----------
    model : NeuralNetwork or fitted NNClassifier / NNRegressor
        E.g. from :func:`nnscratch.load`: its metadata tells what the inputs were in
        training (a table's pipeline, MNIST's pixel scale). An estimator's graph takes the
        rows it takes; its ``classes_`` are the metadata's ``classes``.
    preprocess : bool, default True
        Put that input preparation into the graph, so it takes raw pixels or a table's
        columns (see the module docstring); False exports the network alone, which takes
        the rows ``predict_proba`` takes.
    dtype : {None, "float32", "float64"}
        The graph's floating-point type; ``None`` is the model's. A float64 model exported
        as float32 runs where float64 is not implemented (onnxruntime has no float64 Conv)
        and faster, with float32's rounding.

    Returns
    -------
    onnx.ModelProto
        Opset :data:`OPSET`, a dynamic batch dimension ``N``; the inputs and outputs
        described in their ``doc_string`` and in the metadata (``inputs``, ``outputs``,
        ``classes`` for a classifier, ``task``, ``network``, ``nnscratch_version``).

    Raises
    ------
    TypeError
        ``model`` is neither a NeuralNetwork nor a fitted estimator.
    ExportError
        A layer or activation ONNX export has no translation for (named).
    ValueError
        ``dtype`` is not float32 or float64.
    MissingDependencyError
        The ``onnx`` package is not installed.
    """
    model, classes = _network_of(model)
    check_exportable(model)
    if dtype is not None:
        model = model.astype(check_float_dtype(dtype, "dtype"))
    onnx = _onnx()
    g = _Graph(onnx, reserved=("pixels", "input", "numeric", "text", "probabilities", "label",
                               "predictions"))
    inputs, x = _input(g, model, preprocess)
    for i, layer in enumerate(model.layers, start=1):
        x = LAYERS[type(layer)](g, layer, x, f"layer{i}.{type(layer).__name__.lower()}")
    outputs = _outputs(g, model, x)
    helper = onnx.helper

    def info(d):
        kind = onnx.TensorProto.STRING if d["dtype"] == "string" else _tensor_type(onnx,
                                                                                   d["dtype"])
        return helper.make_tensor_value_info(d["name"], kind, d["shape"],
                                             doc_string=d["description"])

    doc = _doc(model, inputs, outputs)
    graph = helper.make_graph(g.nodes, "nnscratch", [info(d) for d in inputs],
                              [info(d) for d in outputs], g.constants, doc_string=doc)
    uses_ml = any(node.domain == "ai.onnx.ml" for node in g.nodes)
    opsets = [helper.make_opsetid("", OPSET)] + (
        [helper.make_opsetid("ai.onnx.ml", ML_OPSET)] if uses_ml else [])
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="nnscratch",
                              producer_version=__version__, doc_string=doc)
    proto.ir_version = IR_VERSION
    meta = {"nnscratch_version": __version__, "network": repr(model),
            "task": "classification" if model.is_classifier() else "regression",
            "inputs": json.dumps(inputs), "outputs": json.dumps(outputs)}
    if model.is_classifier():
        meta["classes"] = json.dumps(_classes(model) if classes is None else classes)
    helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _network_of(model):
    """``(network, classes or None)`` of a NeuralNetwork or a fitted scikit-learn estimator
    of :mod:`nnscratch.sklearn` (its ``classes_`` are the labels)."""
    network = getattr(model, "network_", None)
    if not isinstance(network, NeuralNetwork):
        return model, None
    classes = getattr(model, "classes_", None)
    return network, None if classes is None else np.asarray(classes).tolist()


def _doc(model, inputs, outputs):
    """The model's doc string: what goes in and what comes out."""
    def line(d):
        shape = "(" + ", ".join(map(str, d["shape"])) + ")"
        return f"  {d['name']}: {d['dtype']} {shape}, {d['description']}"

    return "\n".join([f"{model!r}, exported by nnscratch {__version__}", "inputs:",
                      *map(line, inputs), "outputs:", *map(line, outputs)])


def to_onnx(model, path, *, preprocess=True, dtype=None):
    """Export ``model`` to an ONNX file at ``path``, atomically (an existing file is
    replaced only once the new one is complete).

    Parameters
    ----------
    model : NeuralNetwork
    path : str or os.PathLike
        The ``.onnx`` file to write (its folder is created if missing).
    preprocess, dtype
        See :func:`build_onnx`.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError, ExportError, MissingDependencyError
        As :func:`build_onnx`; ``TypeError`` also when ``path`` is not a path.
    IsADirectoryError
        ``path`` is a folder.

    Examples
    --------
    >>> import numpy as np, onnxruntime as ort                      # doctest: +SKIP
    >>> to_onnx(nnscratch.load("runs/mnist/model.npz"), "mnist.onnx")  # doctest: +SKIP
    >>> session = ort.InferenceSession("mnist.onnx")                  # doctest: +SKIP
    >>> p, label = session.run(None, {"pixels": raw_pixels.astype(np.float32)})  # +SKIP
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    if Path(path).is_dir():
        raise IsADirectoryError(f"path {path} is a folder; give a file name such as "
                                f"{Path(path) / 'model.onnx'}")
    proto = build_onnx(model, preprocess=preprocess, dtype=dtype)
    write_bytes(path, proto.SerializeToString())
    return Path(path)


def describe(proto):
    """What an exported graph takes and gives, one line each (``nnscratch export``)."""
    props = {p.key: p.value for p in proto.metadata_props}
    lines = []
    for kind in ("inputs", "outputs"):
        for d in json.loads(props.get(kind, "[]")):
            shape = "(" + ", ".join(map(str, d["shape"])) + ")"
            lines.append(f"{kind[:-1]} {d['name']}: {d['dtype']} {shape}, {d['description']}")
    if "classes" in props:
        lines.append(f"classes: {json.dumps(json.loads(props['classes']), ensure_ascii=False)}")
    double = {i.name for i in proto.graph.initializer if i.data_type == i.DOUBLE}
    if any(node.op_type == "Conv" and node.input[1] in double for node in proto.graph.node):
        lines.append("note: onnxruntime has no float64 Conv; export with dtype float32 "
                     "(--dtype float32) to run this network there")
    return lines
