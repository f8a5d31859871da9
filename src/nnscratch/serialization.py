"""Saving and loading trained networks: one ``.npz`` file per model, no pickle.

A model file is a NumPy ``.npz`` archive holding each dense layer's arrays
(``weights_0, bias_0, weights_1, bias_1, ...``) and a ``metadata`` entry: the UTF-8 bytes of
a JSON document (architecture, dtype, versions, training config and metrics) stored as a 1-D
``uint8`` array. A model trained on a table also holds its input pipeline (format version 3):
the numeric columns' medians, means and scales and a regression target's standardisation as
float64 arrays (``input_fill``, ``input_mean``, ``input_scale``, ``target_mean``,
``target_scale``), and its columns and categories in the JSON's ``pipeline``. A model trained
on a folder of images (format version 4) holds its image pipeline in the JSON's ``pipeline``
(``kind`` "image": input size, colour mode, scaling, resize filter, class names) and reads
colour images as channels-last rows (``channels_last``). A character-level language model
(format version 5, :mod:`nnscratch.language`) holds its parameters as ``param_0, param_1,
...`` and, in the JSON's ``language``, its architecture, sizes and vocabulary. Nothing in
it is a Python object, so it is read with ``allow_pickle=False`` and opening a model file
never runs code. Every way a file can be
wrong is reported as one :class:`~nnscratch.errors.ModelFormatError` naming the file.
"""

import itertools
import json
import os
from pathlib import Path

import numpy as np

from ._version import __version__
from .activations import ACTIVATIONS
from .data.folders import ImagePipeline
from .data.pipeline import ARRAYS as PIPELINE_ARRAYS
from .data.pipeline import TablePipeline
from .errors import ModelFormatError
from .files import atomic_write
from .initializers import INITIALIZERS
from .jsonable import to_json
from .language import LanguageModel
from .network import NeuralNetwork

FORMAT = "nnscratch-model"
FORMAT_VERSION = 1  # a stack of dense layers, described by sizes
ARCHITECTURE_VERSION = 2  # any architecture (convolutions): adds architecture, input_shape
PIPELINE_VERSION = 3  # carries a table's input pipeline: adds pipeline and its arrays
IMAGE_VERSION = 4  # images: an image pipeline (pipeline.kind "image"), channels_last
LANGUAGE_VERSION = 5  # a language model: "language" (arch, sizes, vocabulary), param_i arrays
SUPPORTED_VERSIONS = (1, 2, 3, 4, 5)
_LANGUAGE_KEYS = ("format", "format_version", "language", "nnscratch_version", "config",
                  "metrics")
_PIPELINES = {"table": TablePipeline, "image": ImagePipeline}
_DTYPES = ("float32", "float64")
_REQUIRED_KEYS = ("format", "format_version", "sizes", "hidden_activation", "head_activation",
                  "dtype", "dropout", "init", "nnscratch_version", "config", "metrics")
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first entry, or an empty zip
_NPY_MAGIC = b"\x93NUMPY"


# --- saving ---------------------------------------------------------------------------
def save(model, path, *, config=None, metrics=None):
    """Write ``model`` to ``path`` as an ``.npz`` model file, atomically.

    The file is written exactly at ``path`` (no suffix is added); an existing file is
    replaced only once the new one is complete, so an interrupted save leaves it intact.

    Parameters
    ----------
    model : NeuralNetwork
        The network; its dense layers' ``weights`` ``(fan_in, fan_out)`` and ``bias``
        ``(1, fan_out)`` are stored as ``weights_i`` and ``bias_i``.
    path : str or os.PathLike
        Destination file (its folder is created if missing).
    config, metrics : dict, optional
        The training configuration and the run's metrics, stored in the metadata. Values
        must be JSON-compatible (str, bool, None, finite numbers, lists, dicts with str
        keys); NumPy scalars and arrays are converted to Python numbers and lists.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError
        ``model`` is not a NeuralNetwork, ``path`` is not a path, or ``config``/``metrics``
        is not a dict or holds a value JSON cannot store.
    ValueError
        The model cannot be stored faithfully (non-finite weights, a custom activation,
        hidden layers with different activations), or ``config``/``metrics`` holds NaN or
        infinity (the message names the key).
    IsADirectoryError
        ``path`` is a directory.
    """
    if not isinstance(model, (NeuralNetwork, LanguageModel)):
        raise TypeError(f"model must be a NeuralNetwork or a LanguageModel, got "
                        f"{type(model).__name__}")
    given = path
    path = _check_path(path)
    if path.is_dir() or os.fspath(given).endswith(("/", os.sep)):
        raise IsADirectoryError(f"path {given} is a directory; give a file name such as "
                                f"{path / 'model.npz'}")
    if isinstance(model, LanguageModel):
        return _save_language(model, path, config, metrics)
    arrays = _model_arrays(model)
    meta = {
        "format": FORMAT,
        "format_version": _format_version(model),
        "sizes": list(model.sizes or (model.input_size, model.output_size)),
        "hidden_activation": _hidden_activation_name(model),
        "head_activation": _activation_name(model.head, "the output layer"),
        "dtype": model.dtype.name,
        "dropout": float(model.dropout),
        "init": str(model.init),
        "nnscratch_version": __version__,
        "config": _json_dict(config, "config"),
        "metrics": _json_dict(metrics, "metrics"),
    }
    if model.architecture is not None:
        meta.update(architecture=model.architecture, input_shape=list(model.input_shape))
        if meta["format_version"] >= IMAGE_VERSION:
            meta["channels_last"] = model.channels_last
    if model.pipeline is not None:
        described, pipeline_arrays = model.pipeline.to_stored()
        meta["pipeline"] = to_json(described, "pipeline")
        arrays.update(pipeline_arrays)
    text = json.dumps(meta, allow_nan=False, ensure_ascii=False)
    arrays["metadata"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    with atomic_write(path) as f:
        np.savez(f, **arrays)
    return path


def _save_language(model, path, config, metrics):
    """:func:`save` of a :class:`~nnscratch.language.LanguageModel` (format version 5)."""
    described, arrays = model.to_stored()
    for name, arr in arrays.items():
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinity; a diverged model cannot be "
                             "saved")
    meta = {"format": FORMAT, "format_version": LANGUAGE_VERSION, "language": described,
            "nnscratch_version": __version__, "config": _json_dict(config, "config"),
            "metrics": _json_dict(metrics, "metrics")}
    text = json.dumps(meta, allow_nan=False, ensure_ascii=False)
    arrays = {**arrays, "metadata": np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
    with atomic_write(path) as f:
        np.savez(f, **arrays)
    return path


def _format_version(model):
    """The oldest format that holds ``model``: 1 (dense sizes), 2 (any architecture), 3
    (with a table's input pipeline) or 4 (an image pipeline, or colour images read
    channels-last), so older readers still open what they can."""
    colour_rows = (model.architecture is not None and len(model.input_shape) == 3
                   and model.input_shape[0] > 1 and model.channels_last)
    if _kind(model.pipeline) == "image" or colour_rows:
        return IMAGE_VERSION
    if model.pipeline is not None:
        return PIPELINE_VERSION
    return FORMAT_VERSION if model.architecture is None else ARCHITECTURE_VERSION


def _kind(pipeline):
    """``"table"``, ``"image"`` or None."""
    return None if pipeline is None else getattr(pipeline, "kind", "table")


def _stored_kind(meta):
    """The kind of the pipeline a file's metadata describes (tables before version 4 have
    no ``kind``)."""
    described = meta.get("pipeline")
    if described is None:
        return None
    return described.get("kind", "table") if isinstance(described, dict) else "table"


def _check_path(path):
    """``path`` as a Path (str or os.PathLike only)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    return Path(path)


def _activation_name(layer, where):
    """The registered name of ``layer``'s activation (a custom one cannot be reloaded)."""
    activation = layer.activation
    name = getattr(activation, "name", None)
    if name not in ACTIVATIONS or type(activation) is not ACTIVATIONS[name]:
        raise ValueError(f"the activation of {where} is {type(activation).__name__}, which "
                         f"a model file cannot name; expected one of {sorted(ACTIVATIONS)}")
    return name


def _hidden_activation_name(model):
    """The hidden layers' common activation name (None for a single-layer network)."""
    activated = {id(layer) for layer in model.activated_layers}
    names = {_activation_name(layer, f"layer {i}") for i, layer in enumerate(model.layers)
             if id(layer) in activated}
    if len(names) > 1:
        raise ValueError(f"the hidden layers have different activations {sorted(names)}; a "
                         "model file stores one hidden activation")
    return names.pop() if names else None


def _model_arrays(model):
    """``{"weights_i": ..., "bias_i": ...}`` of every layer with parameters, checked against
    the shapes the sizes or the architecture imply."""
    expected = _expected_shapes(_network_description(model))
    arrays = {}
    for i, layer in enumerate(model.param_layers):
        for name, arr in _layer_arrays(layer).items():
            key = f"{name}_{i}"
            shape = expected.get(key)
            if not isinstance(arr, np.ndarray) or arr.shape != shape or arr.dtype != model.dtype:
                got = (f"shape {arr.shape}, dtype {arr.dtype}" if isinstance(arr, np.ndarray)
                       else type(arr).__name__)
                raise ValueError(f"{key} must be an array of shape {shape} and dtype "
                                 f"{model.dtype.name}, got {got}")
            if not np.isfinite(arr).all():
                raise ValueError(f"{key} contains NaN or infinity; a diverged model cannot "
                                 "be saved")
            arrays[key] = arr
    if len(arrays) != len(expected):
        raise ValueError(f"the model has {len(model.param_layers)} layers with parameters but "
                         f"its description needs {_n_layers(expected)}")
    return arrays


def _layer_arrays(layer):
    """What a model file stores of one layer: ``weights``, ``bias``, and a batchnorm's
    running statistics (``running_mean``, ``running_var``)."""
    return {"weights": layer.weights, "bias": layer.bias,
            **getattr(layer, "buffers", dict)()}


def _n_layers(shapes):
    """Layers with parameters among the arrays ``shapes`` names."""
    return sum(name.startswith("weights_") for name in shapes)


def _network_description(model):
    """What a model file stores of the architecture (the keys :func:`_network_of` reads)."""
    described = {"sizes": list(model.sizes or (model.input_size, model.output_size)),
                 "hidden_activation": _hidden_activation_name(model),
                 "head_activation": _activation_name(model.head, "the output layer"),
                 "dtype": model.dtype.name, "dropout": float(model.dropout),
                 "init": str(model.init), "format_version": _format_version(model)}
    if model.architecture is not None:
        described.update(architecture=model.architecture, input_shape=list(model.input_shape),
                         channels_last=model.channels_last)
    return described


def _network_of(meta, seed=None):
    """A network as the metadata describes it, with fresh weights."""
    init = meta["init"] if meta["init"] in INITIALIZERS else "normal"
    common = {"hidden_activation": meta["hidden_activation"] or "relu",
              "head_activation": meta["head_activation"], "dtype": np.dtype(meta["dtype"]),
              "seed": seed, "init": init}
    if _has_architecture(meta):
        return NeuralNetwork.from_architecture(meta["architecture"], meta["input_shape"],
                                               meta["sizes"][-1],
                                               channels_last=bool(meta.get("channels_last")),
                                               **common)
    return NeuralNetwork.from_sizes(meta["sizes"], dropout=meta["dropout"], **common)


def _has_architecture(meta):
    """The metadata describes layers (version 2, or 3 with ``architecture``), not sizes."""
    return meta["format_version"] == ARCHITECTURE_VERSION or meta.get("architecture") is not None


def _expected_shapes(meta):
    """``{"weights_i": shape, "bias_i": shape}`` of the network the metadata describes."""
    if not _has_architecture(meta):  # no need to build a stack of layers
        return {f"{kind}_{i}": shape for i, (fan_in, fan_out)
                in enumerate(itertools.pairwise(meta["sizes"]))
                for kind, shape in (("weights", (fan_in, fan_out)), ("bias", (1, fan_out)))}
    return {f"{kind}_{i}": array.shape
            for i, layer in enumerate(_network_of(meta).param_layers)
            for kind, array in _layer_arrays(layer).items()}


def _json_dict(value, name):
    """``value`` (a dict or None) as plain JSON data; NumPy scalars become Python numbers."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict or None, got {type(value).__name__}")
    return to_json(value, name)


# --- loading --------------------------------------------------------------------------
def load(path, *, seed=None):
    """Read a model file written by :func:`save`.

    The file is opened with ``np.load(..., allow_pickle=False)``, so it never runs code;
    every array is checked (names, shapes, dtype, finiteness) before the network is built.

    Parameters
    ----------
    path : str or os.PathLike
        A model file, or a run folder (``nnscratch train --out``): its ``model.npz``.
    seed : int, optional
        Seed of the new network's Generator (dropout masks if training continues); the
        weights come from the file.

    Returns
    -------
    NeuralNetwork
        The network, bit-identical to the saved one, with ``metadata``: the file's parsed
        JSON (``sizes``, activations, ``dtype``, ``config``, ``metrics``, versions).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ModelFormatError
        The file is not a valid model file; the message names the file and the problem.
    """
    path = _check_path(path)
    meta, arrays = _read(path, arrays=True)
    if _is_language(meta):
        model = LanguageModel.from_stored(meta["language"], arrays)
        if seed is not None:
            model.rng = np.random.default_rng(seed)
        model.metadata = meta
        return model
    model = _network_of(meta, seed)
    for i, layer in enumerate(model.param_layers):
        for kind, array in _layer_arrays(layer).items():
            array[...] = arrays[f"{kind}_{i}"]
    model.init = meta["init"]
    model.metadata = meta
    if "pipeline" in meta:
        model.pipeline = _PIPELINES[_stored_kind(meta)].from_stored(meta["pipeline"], arrays)
    return model


def read_metadata(path):
    """The metadata of a model file, without loading its weights.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    dict
        The parsed JSON: ``format``, ``format_version``, ``sizes``, ``hidden_activation``,
        ``head_activation``, ``dtype``, ``dropout``, ``init``, ``nnscratch_version``,
        ``config`` and ``metrics``.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ModelFormatError
        The file is not a valid model file (the archive and metadata are checked as by
        :func:`load`).
    """
    return _read(_check_path(path), arrays=False)[0]


def _read(path, *, arrays):
    """Open, check and parse a model file: ``(metadata, {name: array} or None)``."""
    if not path.exists():
        raise FileNotFoundError(f"no model file at {path}")
    if path.is_dir() and (path / "model.npz").is_file():  # a run folder
        path = path / "model.npz"
    if not path.is_file():
        raise _error(path, "it is a directory or special file, not a model file (nor a run "
                           "folder with a model.npz)")
    # opened here, not by np.load, which would leak the handle when the zip is bad
    with open(path, "rb") as f:
        _check_magic(path, f)
        # Past the magic number the bytes are untrusted: numpy, zipfile, zlib and struct
        # raise a dozen exception types on damaged input; each becomes a ModelFormatError.
        try:
            npz = np.load(f, allow_pickle=False)
        except Exception as exc:
            raise _error(path, f"it is a damaged or truncated .npz archive ({_why(exc)})"
                         ) from exc
        with npz:
            try:
                bad = npz.zip.testzip()  # reads every entry: checks the CRCs
            except Exception as exc:
                raise _error(path, f"it is a damaged .npz archive ({_why(exc)})") from exc
            if bad is not None:
                raise _error(path, f"it is a damaged .npz archive (entry {bad!r} fails its "
                                   "CRC check)")
            names = set(npz.files)
            if "metadata" not in names:
                raise _error(path, "it has no 'metadata' entry, so it was not written by "
                                   f"nnscratch.save (entries: {_show(sorted(names), 200)})")
            meta = _parse_metadata(path, _entry(path, npz, "metadata"))
            if not arrays:
                return meta, None
            if _is_language(meta):
                return meta, _language_arrays(path, meta, npz, names)
            shapes = _expected_shapes(meta)
            n_layers = _n_layers(shapes)
            pipeline = set(PIPELINE_ARRAYS) if _stored_kind(meta) == "table" else set()
            expected = set(shapes) | pipeline
            missing, extra = expected - names, names - expected - {"metadata"}
            sizes = _show(meta["sizes"], 120)
            if missing:
                raise _error(path, f"it lacks the arrays {_show(sorted(missing), 200)} of its "
                                   f"{n_layers}-layer network (sizes {sizes})"
                                   + (" and its input pipeline" if pipeline else ""))
            if extra:
                raise _error(path, f"it has unexpected arrays {_show(sorted(extra), 200)}; a "
                                   f"network with sizes {sizes} has only weights_i and bias_i "
                                   f"(and a batchnorm's running_mean_i, running_var_i) for "
                                   f"i < {n_layers}")
            found = {name: _entry(path, npz, name) for name in sorted(expected)}
    _check_arrays(path, meta, found, shapes)
    if pipeline:
        _check_pipeline_arrays(path, meta, found)
    if _stored_kind(meta) == "image":
        _check_image_pipeline(path, meta)
    return meta, found


def _is_language(meta):
    """The metadata describes a language model (format version 5)."""
    return meta.get("format_version") == LANGUAGE_VERSION


def _language_arrays(path, meta, npz, names):
    """The checked ``param_i`` arrays of a language model file."""
    expected = _language_of(path, meta).expected_arrays()
    missing, extra = set(expected) - names, names - set(expected) - {"metadata"}
    arch = meta["language"]["arch"]
    if missing:
        raise _error(path, f"it lacks the arrays {_show(sorted(missing), 200)} of its {arch} "
                           "language model")
    if extra:
        raise _error(path, f"it has unexpected arrays {_show(sorted(extra), 200)}; its {arch} "
                           f"language model has param_0 to param_{len(expected) - 1}")
    found = {name: _entry(path, npz, name) for name in sorted(expected)}
    dtype = np.dtype(meta["language"]["dtype"])
    for name, shape in expected.items():
        arr = found[name]
        if arr.shape != shape or arr.dtype != dtype:
            raise _error(path, f"{name} has shape {arr.shape} and dtype {arr.dtype}, but its "
                               f"{arch} language model needs {shape}, {dtype.name}")
        if not np.isfinite(arr).all():
            raise _error(path, f"{name} contains NaN or infinity")
    return found


def _language_of(path, meta):
    """The language model (fresh weights) a version-5 file describes, or its error."""
    try:
        return LanguageModel.from_stored(meta["language"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _error(path, f"its language model {_show(meta['language'], 120)} does not "
                           f"build ({_why(exc)})") from None


def _check_magic(path, f):
    """Refuse at once a file that is empty, a lone ``.npy`` array or not a zip at all."""
    head = f.read(8)
    f.seek(0)
    if not head:
        raise _error(path, "the file is empty (0 bytes)")
    if head.startswith(_NPY_MAGIC):
        raise _error(path, "it is a single NumPy array (.npy), not an .npz model file")
    if not head.startswith(_ZIP_MAGIC):
        raise _error(path, f"it is not an .npz archive (it starts with {head[:4]!r}, not "
                           "the zip signature b'PK\\x03\\x04')")


def _entry(path, npz, name):
    """Read entry ``name`` of the archive as an array, translating every failure."""
    try:
        value = npz[name]
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise _error(path, f"the entry {name!r} holds pickled Python objects; model "
                               "files hold only numeric arrays and are never unpickled"
                         ) from exc
        raise _error(path, f"the entry {name!r} is damaged ({_why(exc)})") from exc
    except Exception as exc:
        raise _error(path, f"the entry {name!r} is damaged ({_why(exc)})") from exc
    if not isinstance(value, np.ndarray):
        raise _error(path, f"the entry {name!r} is not a NumPy array")
    return value


def _parse_metadata(path, raw):
    """Decode the ``metadata`` entry (1-D uint8, UTF-8 JSON) and validate its fields."""
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _error(path, "the 'metadata' entry must be a 1-D uint8 array (UTF-8 JSON), "
                           f"got dtype {raw.dtype} and shape {raw.shape}")
    try:
        text = raw.tobytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error(path, f"its metadata is not valid UTF-8 ({exc.reason} at byte "
                           f"{exc.start})") from exc
    try:
        meta = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise _error(path, f"its metadata is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise _error(path, f"its metadata must be a JSON object, got a JSON "
                           f"{type(meta).__name__}")
    required = _LANGUAGE_KEYS if _is_language(meta) else _REQUIRED_KEYS
    missing = [key for key in required if key not in meta]
    if missing:
        raise _error(path, f"its metadata lacks the keys {missing}")
    if meta["format"] != FORMAT:
        raise _error(path, f"it is not an nnscratch model (metadata format is "
                           f"{_show(meta['format'])}, expected {FORMAT!r})")
    version = meta["format_version"]
    if not _is_int(version) or version < 1:
        raise _error(path, f"format_version must be a positive integer, got {_show(version)}")
    if version not in SUPPORTED_VERSIONS:
        raise _error(path, f"it uses model format version {version}, but nnscratch "
                           f"{__version__} reads only versions {list(SUPPORTED_VERSIONS)} "
                           f"(it was written by nnscratch {str(meta['nnscratch_version'])[:40]}); "
                           "upgrade nnscratch to load it")
    if _is_language(meta):
        return _check_language_meta(path, meta)
    sizes = meta["sizes"]
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(_is_int(s) and s >= 1 for s in sizes)):
        raise _error(path, "sizes must be a list of at least two positive integers, got "
                           f"{_show(sizes)}")
    known = sorted(ACTIVATIONS)
    for key in ("hidden_activation", "head_activation"):
        name = meta[key]
        if key == "hidden_activation" and name is None and len(sizes) == 2:
            continue  # a single-layer network has no hidden activation
        if not isinstance(name, str) or name not in ACTIVATIONS:
            raise _error(path, f"unknown {key} {_show(name)}; known activations: {known}")
    if meta["dtype"] not in _DTYPES:
        raise _error(path, f"dtype must be one of {list(_DTYPES)}, got {_show(meta['dtype'])}")
    dropout = meta["dropout"]
    if (not isinstance(dropout, (int, float)) or isinstance(dropout, bool)
            or not 0 <= dropout < 1):
        raise _error(path, f"dropout must be a number in [0, 1), got {_show(dropout)}")
    for key in ("init", "nnscratch_version"):
        if not isinstance(meta[key], str):
            raise _error(path, f"{key} must be a string, got {_show(meta[key])}")
    for key in ("config", "metrics"):
        if not isinstance(meta[key], dict):
            raise _error(path, f"{key} must be a JSON object, got {_show(meta[key])}")
    if _has_architecture(meta):
        _check_architecture(path, meta)
    if "pipeline" in meta and version < PIPELINE_VERSION:
        raise _error(path, f"it has a pipeline, which format version {version} cannot hold")
    kind = _stored_kind(meta)
    if kind is not None and kind not in _PIPELINES:
        raise _error(path, f"its pipeline is of an unknown kind {_show(kind)}; known: "
                           f"{sorted(_PIPELINES)}")
    if kind == "image" and version < IMAGE_VERSION:
        raise _error(path, f"it has an image pipeline, which format version {version} cannot "
                           "hold")
    return meta


def _check_language_meta(path, meta):
    """A version-5 file's metadata: a language model that builds, config and metrics."""
    for key in ("config", "metrics"):
        if not isinstance(meta[key], dict):
            raise _error(path, f"{key} must be a JSON object, got {_show(meta[key])}")
    if not isinstance(meta["language"], dict):
        raise _error(path, f"language must be a JSON object, got {_show(meta['language'])}")
    _language_of(path, meta)
    return meta


def _check_architecture(path, meta):
    """A version-2 file's ``architecture`` and ``input_shape`` build a network."""
    from .architecture import format_arch

    for key in ("architecture", "input_shape"):
        if key not in meta:
            raise _error(path, f"its metadata lacks the key {key!r} (format version 2)")
    shape, layers = meta["input_shape"], meta["architecture"]
    if not isinstance(shape, list) or not shape or not all(_is_int(d) and d >= 1
                                                            for d in shape):
        raise _error(path, f"input_shape must be a list of positive integers, got "
                           f"{_show(shape)}")
    if int(np.prod(shape)) != meta["sizes"][0]:
        raise _error(path, f"input_shape {shape} does not hold the {meta['sizes'][0]} inputs "
                           "of sizes[0]")
    try:
        format_arch(layers)
        _network_of(meta)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _error(path, f"its architecture {_show(layers, 120)} does not build a network "
                           f"({_why(exc)})") from None


def _check_arrays(path, meta, arrays, shapes):
    """Every array has the shape the sizes (or the architecture) imply, the declared dtype,
    and finite values."""
    dtype = np.dtype(meta["dtype"])
    described = (f"sizes {meta['sizes']}" if not _has_architecture(meta)
                 else "its architecture")
    for name, shape in shapes.items():
        arr = arrays[name]
        if arr.shape != shape:
            raise _error(path, f"{name} has shape {arr.shape}, but {described} need"
                               f"{'s' if described.startswith('its') else ''} {shape}")
        if arr.dtype != dtype:
            raise _error(path, f"{name} has dtype {arr.dtype}, but the metadata declares "
                               f"{dtype.name}")
        if not np.isfinite(arr).all():
            raise _error(path, f"{name} contains NaN or infinity")


def _check_pipeline_arrays(path, meta, arrays):
    """The input pipeline's arrays are 1-D finite float64, and the JSON builds a pipeline."""
    for name in PIPELINE_ARRAYS:
        arr = arrays[name]
        if arr.dtype != np.float64 or arr.ndim != 1 or not np.isfinite(arr).all():
            raise _error(path, f"{name} must be a 1-D array of finite float64 numbers, got "
                               f"dtype {arr.dtype}, shape {arr.shape}")
    try:
        pipeline = TablePipeline.from_stored(meta["pipeline"], arrays)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _error(path, f"its input pipeline is damaged ({_why(exc)})") from None
    if pipeline.n_features != meta["sizes"][0]:
        raise _error(path, f"its input pipeline makes {pipeline.n_features} features, but the "
                           f"network takes {meta['sizes'][0]}")


def _check_image_pipeline(path, meta):
    """The image pipeline's JSON builds one, and its images are the network's inputs."""
    try:
        pipeline = ImagePipeline.from_stored(meta["pipeline"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _error(path, f"its image pipeline is damaged ({_why(exc)})") from None
    images = [pipeline.channels, pipeline.height, pipeline.width]
    if pipeline.n_features != meta["sizes"][0] or (
            _has_architecture(meta) and len(meta["input_shape"]) == 3
            and meta["input_shape"] != images):
        raise _error(path, f"its image pipeline makes {pipeline.height}x{pipeline.width}x"
                           f"{pipeline.channels} images, but the network takes "
                           f"{meta.get('input_shape') or meta['sizes'][0]}")
    if len(pipeline.classes) != meta["sizes"][-1]:
        raise _error(path, f"its image pipeline names {len(pipeline.classes)} classes, but the "
                           f"network has {meta['sizes'][-1]} outputs")


def _refuse_constant(name):
    """``json.loads`` hook: NaN and Infinity are not JSON."""
    raise ValueError(f"{name} is not a JSON value")


def _is_int(value):
    """A JSON integer (bools excluded)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value, limit=60):
    """``repr(value)``, shortened: a corrupt file can hold a huge value."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


def _why(exc):
    """``"Type: message"`` of an exception, for error messages."""
    text = str(exc)
    if len(text) > 200:
        text = f"{text[:197]}..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _error(path, problem):
    """The ModelFormatError for ``path``."""
    return ModelFormatError(f"cannot load model {path}: {problem}")
