"""The models ``nnscratch serve`` offers: loaded once at start, named by an id, read through.

Only the models named when the server starts are ever loaded. A request names one by its id
(the run folder's name, or the model file's name without ``.npz``): no path from a request
reaches the file system. A model's description (architecture, test accuracy, training
configuration) comes from its run's ``metrics.json`` when there is one, else from the model
file itself.
"""

import threading
from pathlib import Path

import numpy as np

from ..architecture import format_network
from ..conv import Conv2D, MaxPool2D
from ..errors import NNScratchError
from ..images import SIDE
from ..layers import Layer
from ..runs import METRICS_FILE, MODEL_FILE, model_file, read_metrics
from ..serialization import load


class UnknownModelError(NNScratchError, LookupError):
    """A request names a model that is not served."""

    def __str__(self):  # KeyError-like classes quote their message; this one does not
        return str(self.args[0]) if self.args else ""


class ServedModel:
    """One network as the app shows it.

    Parameters
    ----------
    model_id : str
        The name requests use.
    network : NeuralNetwork
        A softmax classifier of ``28 * 28`` inputs, or one trained on a folder of images
        (it carries an image pipeline: uploads are prepared as its training images were).
    metrics : dict
        The run's metrics (``test_accuracy``, ``config``, ...); may be empty.
    """

    def __init__(self, model_id, network, metrics):
        self.id = model_id
        self.network = network
        self.metrics = metrics
        image = getattr(network.pipeline, "kind", None) == "image"
        self.pipeline = network.pipeline if image else None
        # Which layers' outputs the page shows, and their per-sample shapes: one pass of a
        # blank input through the network finds both (and warms it up).
        outputs = network.layer_outputs(np.zeros((1, network.input_size), network.dtype))
        self._shown = [(i, _layer_name(layer), _layer_kind(layer), out.shape[1:])
                       for i, (layer, out) in enumerate(outputs[:-1]) if _layer_kind(layer)]
        # A layer's forward pass keeps what its backward pass needs and reuses work arrays:
        # two requests must not run through one network at the same time.
        self._lock = threading.Lock()

    def __repr__(self):
        return f"ServedModel({self.id!r}, {format_network(self.network)})"

    def describe(self):
        """What ``GET /api/models`` lists for this model (JSON-ready)."""
        m, net = self.metrics, self.network
        config = m.get("config") or net.metadata.get("config") or {}
        return {
            "id": self.id,
            **self.reads(),
            "architecture": format_network(net),
            "hidden_activation": net.hidden_activation,
            "parameters": int(net.n_parameters()),
            "classes": int(net.output_size),
            "test_accuracy": m.get("test_accuracy"),
            "train_accuracy": m.get("train_accuracy"),
            "dataset": {k: v for k, v in (m.get("dataset") or {}).items()
                        if k in ("name", "split")} or None,
            "epochs": m.get("epochs"),
            "interrupted": m.get("interrupted"),
            "config": config,
            "layers": [{"name": name, "kind": kind, "shape": list(shape)}
                       for _, name, kind, shape in self._shown],
        }

    def reads(self):
        """What the model reads, for the page to set itself up before any input: ``kind``
        (``"digits"``: drawings and pictures of a digit, prepared as MNIST's; ``"images"``:
        pictures, resized as its training folder's were), ``class_names`` (one per output, in
        order) and ``input`` (``height``, ``width``, ``channels`` of the prepared input)."""
        if self.pipeline is None:
            return {"kind": "digits",
                    "class_names": [str(k) for k in range(self.network.output_size)],
                    "input": {"height": SIDE, "width": SIDE, "channels": 1}}
        height, width, channels = self.pipeline.shape
        return {"kind": "images", "class_names": list(self.pipeline.classes),
                "input": {"height": height, "width": width, "channels": channels}}

    def read(self, row):
        """The network's reading of one prepared input.

        Parameters
        ----------
        row : ndarray of shape (784,)
            Pixels in [0, 1], as :func:`nnscratch.images.mnist_like` returns them.

        Returns
        -------
        dict
            ``model`` (the id), ``digit`` (the most probable class), ``probabilities``
            (one per class), ``prepared`` (the input as 28 rows of 28 pixels) and ``layers``:
            each hidden layer's ``name``, ``kind`` (``"dense"``, ``"conv"`` or ``"pool"``),
            ``shape`` (``[units]`` or ``[channels, height, width]``) and ``values`` (its
            output for this input, flattened row by row).
        """
        with self._lock:
            outputs = self.network.layer_outputs(np.asarray(row).reshape(1, -1))
        p = outputs[-1][1][0]  # (n_classes,)
        named = {}
        if self.pipeline is not None:  # the class's name, and the input as (H, W, C)
            shape = self.pipeline.shape
            named = {"class": self.pipeline.classes[int(np.argmax(p))],
                     "classes": list(self.pipeline.classes)}
        else:
            shape = (SIDE, SIDE)
        return {
            "model": self.id,
            "digit": int(np.argmax(p)),
            **named,
            "probabilities": np.round(p.astype(np.float64), 6).tolist(),
            "prepared": np.round(np.asarray(row, np.float64).reshape(shape), 3).tolist(),
            "layers": [{"name": name, "kind": kind, "shape": list(shape),
                        "values": np.round(outputs[i][1][0].astype(np.float64), 4)
                        .ravel().tolist()}
                       for i, name, kind, shape in self._shown],
        }


    def prepare_upload(self, data, *, max_pixels):
        """An uploaded image file's bytes as this model's input row (an image-folder model):
        resized, in colour or grey, scaled as its training images were.

        Raises
        ------
        ImageError
            The bytes are not an image Pillow reads, or it has more than ``max_pixels``.
        """
        import io

        from PIL import Image, UnidentifiedImageError

        from ..images import ImageError

        try:
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                if width * height > max_pixels:
                    raise ImageError(f"cannot read the upload as an image: it is {width} x "
                                     f"{height} pixels, more than the {max_pixels:,} allowed")
                pixels = self.pipeline.image(im)
        except ImageError:
            raise
        except UnidentifiedImageError:  # its message names a BytesIO object: say what it means
            raise ImageError("cannot read the upload as an image: not an image format Pillow "
                             "reads") from None
        except Exception as exc:  # Pillow raises many types on a damaged file
            raise ImageError(f"cannot read the upload as an image: {exc}") from None
        return self.pipeline.scale(pixels, self.network.dtype)


def _layer_kind(layer):
    """``"conv"``, ``"pool"`` or ``"dense"`` for a layer the page shows, else None (reshapes,
    dropout: they add nothing to see)."""
    if isinstance(layer, Conv2D):
        return "conv"
    if isinstance(layer, MaxPool2D):
        return "pool"
    if isinstance(layer, Layer):
        return "dense"
    return None


def _layer_name(layer):
    """A layer as the page labels it, e.g. ``conv 32 maps 3x3, relu``."""
    if isinstance(layer, Conv2D):
        k = layer.kernel_size
        return f"conv {layer.out_channels} maps {k}x{k}, {layer.activation.name}"
    if isinstance(layer, MaxPool2D):
        return f"max-pool {layer.pool_size}x{layer.pool_size}"
    if isinstance(layer, Layer):
        return f"dense {layer.output_size}, {layer.activation.name}"
    return type(layer).__name__


class Models:
    """The served models by id, in the order given; the first is the default.

    Parameters
    ----------
    models : sequence of ServedModel
        At least one, with distinct ids.
    """

    def __init__(self, models):
        models = list(models)
        if not models:
            raise ValueError("models must hold at least one model, got none")
        self._by_id = {}
        for model in models:
            if model.id in self._by_id:
                raise ValueError(f"two models have the id {model.id!r}; ids must differ")
            self._by_id[model.id] = model

    def __len__(self):
        return len(self._by_id)

    def __iter__(self):
        return iter(self._by_id.values())

    def __repr__(self):
        return f"Models({list(self._by_id)})"

    @property
    def default(self):
        """The model used when a request names none."""
        return next(iter(self._by_id.values()))

    def get(self, model_id=None):
        """The model called ``model_id`` (the default for None).

        Raises
        ------
        UnknownModelError
            No model has that id; the message lists the ids.
        """
        if model_id is None:
            return self.default
        try:
            return self._by_id[model_id]
        except (KeyError, TypeError):
            raise UnknownModelError(f"no model {str(model_id)[:100]!r}; the models are "
                                    f"{list(self._by_id)}") from None


def load_served_model(path, model_id, what="MODEL"):
    """Load the model of a run folder or model file for serving.

    Parameters
    ----------
    path : str or os.PathLike
        A run folder written by ``nnscratch train``, or a model file.
    model_id : str
        The id it is served under.
    what : str
        What error messages call ``path`` (the command line's ``MODEL``).

    Returns
    -------
    ServedModel

    Raises
    ------
    FileNotFoundError
        Neither a model file nor a folder holding one.
    ModelFormatError
        The file is not a valid model file.
    ValueError
        The network is not a softmax classifier of 28x28 images, or the run's
        ``metrics.json`` is not a JSON object.
    """
    path = Path(path)
    file = model_file(path, what)
    network = load(file)
    if not hasattr(network, "input_size"):  # a language model: no image to classify
        raise ValueError(f"{what} {path} is a language model (trained on a text file); serve "
                         "needs a classifier of images ('nnscratch sample' writes items "
                         "with it)")
    image = getattr(network.pipeline, "kind", None) == "image"
    if network.input_size != SIDE * SIDE and not image:
        raise ValueError(f"{what} {path} takes {network.input_size} inputs (a "
                         f"{format_network(network)} network); serve needs {SIDE * SIDE}, a "
                         f"model of {SIDE}x{SIDE} images such as MNIST's, or a model trained "
                         "on a folder of images (nnscratch train --data DIR)")
    if network.head_activation != "softmax":
        head = network.head_activation
        raise ValueError(f"{what} {path} has {'an' if head[0] in 'aeiou' else 'a'} {head} "
                         "output layer; serve needs a classifier with a softmax output layer")
    metrics = network.metadata.get("metrics") or {}
    if file.name == MODEL_FILE and (file.parent / METRICS_FILE).is_file():
        try:
            metrics = read_metrics(file.parent)
        except ValueError as exc:
            raise ValueError(f"{what} {path}: {exc}") from None
    return ServedModel(model_id, network, metrics)


def model_ids(paths):
    """One distinct id per path: the run folder's name (for a folder or its ``model.npz``),
    else the file's name without its suffix; ``-2``, ``-3``, ... added where two agree."""
    ids, taken = [], set()
    for path in (Path(p).resolve() for p in paths):
        base = path.parent.name if path.name == MODEL_FILE else (
            path.name if path.is_dir() else path.stem)
        base = base or "model"
        model_id, n = base, 1
        while model_id in taken:
            n += 1
            model_id = f"{base}-{n}"
        taken.add(model_id)
        ids.append(model_id)
    return ids
