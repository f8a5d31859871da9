"""Model files: bit-exact round trips, atomic saves, and refusal of every kind of bad file."""

import functools
import io
import json
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnscratch
from nnscratch import ModelFormatError, NeuralNetwork, Relu, Sigmoid, Softmax, Tanh
from nnscratch.activations import ACTIVATIONS
from nnscratch.serialization import load, read_metadata, save

CONFIG = {"epochs": 3, "learning_rate": 0.05, "optimizer": "adam", "note": "café ✓",
          "layers": [6, 9, 3], "nested": {"flag": True, "none": None}}
METRICS = {"test_accuracy": 0.875, "history": {"loss": [0.9, 0.5, 0.25]}}

ARCHITECTURES = {
    "blog": lambda dt: NeuralNetwork(6, 3, 5, 2, head_activation=Softmax, dtype=dt, seed=0),
    "unequal": lambda dt: NeuralNetwork.from_sizes([6, 9, 4, 3], Relu, Softmax, dtype=dt,
                                                   seed=1, init="he"),
    "dropout": lambda dt: NeuralNetwork.from_sizes([6, 8, 3], Tanh, Softmax, dtype=dt,
                                                   seed=2, dropout=0.3),
    "sigmoid": lambda dt: NeuralNetwork.from_sizes([6, 5, 1], Relu, Sigmoid, dtype=dt,
                                                   seed=3, init="glorot"),
    "single": lambda dt: NeuralNetwork.from_sizes([6, 2], dtype=dt, seed=4),
}


def _small_model(dtype=np.float32):
    """A 4-3-2 softmax network."""
    return NeuralNetwork.from_sizes([4, 3, 2], Relu, Softmax, dtype=dtype, seed=0)


def _saved(tmp_path, name="model.npz"):
    """Save the small model with config and metrics; return its path."""
    return save(_small_model(), tmp_path / name, config=CONFIG, metrics=METRICS)


def _parts(path):
    """The raw arrays and the metadata dict of a model file, read without nnscratch."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta = json.loads(arrays.pop("metadata").tobytes().decode("utf-8"))
    return arrays, meta


def _write_raw(path, arrays, meta):
    """Write an .npz like save does; ``meta`` is a dict (JSON), bytes, or an array."""
    if isinstance(meta, dict):
        meta = json.dumps(meta).encode("utf-8")
    if isinstance(meta, bytes):
        meta = np.frombuffer(meta, dtype=np.uint8)
    extra = {} if meta is None else {"metadata": meta}
    with open(path, "wb") as f:
        np.savez(f, **arrays, **extra)
    return path


def _refused(path, match, reader=load):
    """Assert ``reader(path)`` raises a ModelFormatError matching ``match`` and naming it."""
    with pytest.raises(ModelFormatError, match=match) as info:
        reader(path)
    assert str(path) in str(info.value)
    return info.value


def _rewritten(tmp_path, edit_arrays=None, edit_meta=None):
    """A valid model file whose arrays / metadata were edited by the given functions."""
    arrays, meta = _parts(_saved(tmp_path, "valid.npz"))
    if edit_arrays:
        edit_arrays(arrays)
    if edit_meta:
        edit_meta(meta)
    return _write_raw(tmp_path / "edited.npz", arrays, meta)


# --- round trips ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_round_trip_is_bit_exact(tmp_path, rng, arch, dtype):
    """Every array, its dtype, the architecture and the predictions survive a round trip."""
    model = ARCHITECTURES[arch](dtype)
    path = save(model, tmp_path / "m.npz", config=CONFIG, metrics=METRICS)
    loaded = load(path)
    assert repr(loaded) == repr(model)
    assert [repr(layer) for layer in loaded.layers] == [repr(layer) for layer in model.layers]
    assert loaded.init == model.init
    for got, want in zip(loaded.parameters(), model.parameters(), strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()
    X = rng.normal(size=(32, 6))
    assert np.array_equal(loaded.forward(X), model.forward(X))
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert loaded.metadata["config"] == CONFIG
    assert loaded.metadata["metrics"] == METRICS
    assert loaded.metadata["nnscratch_version"] == nnscratch.__version__
    assert loaded.metadata["sizes"] == model.sizes


def test_save_writes_exactly_the_given_path(tmp_path):
    """No suffix is added, the folder is created, and no temporary file is left."""
    path = tmp_path / "runs" / "model.weights"
    assert save(_small_model(), str(path)) == path
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.weights"]
    assert load(path).metadata["config"] == {} and load(path).metadata["metrics"] == {}


def test_file_holds_only_numeric_arrays(tmp_path):
    """The archive holds the documented entries, all loadable without pickle."""
    arrays, meta = _parts(_saved(tmp_path))
    assert sorted(arrays) == ["bias_0", "bias_1", "weights_0", "weights_1"]
    assert arrays["weights_0"].shape == (4, 3) and arrays["bias_1"].shape == (1, 2)
    assert meta["format"] == "nnscratch-model" and meta["format_version"] == 1
    assert (meta["hidden_activation"], meta["head_activation"]) == ("relu", "softmax")
    assert (meta["dtype"], meta["dropout"], meta["init"]) == ("float32", 0.0, "normal")


def test_numpy_scalars_in_metrics_become_python_numbers(tmp_path):
    """NumPy scalars and arrays in config/metrics are stored as plain JSON numbers."""
    metrics = {"acc": np.float32(0.1), "n": np.int64(3), "ok": np.bool_(True),
               "curve": np.array([1.5, 2.5]), "pair": (np.float64(0.5), 2)}
    meta = load(save(_small_model(), tmp_path / "m.npz", metrics=metrics)).metadata
    assert meta["metrics"] == {"acc": 0.1, "n": 3, "ok": True, "curve": [1.5, 2.5],
                               "pair": [0.5, 2]}
    assert [type(v) for v in meta["metrics"].values()] == [float, int, bool, list, list]


def test_read_metadata_does_not_need_the_weights(tmp_path):
    """read_metadata returns load's metadata, and works on a file whose arrays are gone."""
    path = _saved(tmp_path)
    assert read_metadata(path) == load(path).metadata
    stripped = _rewritten(tmp_path, edit_arrays=lambda a: a.pop("weights_1"))
    assert read_metadata(stripped)["metrics"] == METRICS
    _refused(stripped, r"lacks the arrays \['weights_1'\]")


# --- saving: refusals and interruption ------------------------------------------------
def test_save_refuses_a_directory(tmp_path):
    """A directory (existing, or a path ending in a separator) is not a file name."""
    with pytest.raises(IsADirectoryError, match="is a directory"):
        save(_small_model(), tmp_path)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        save(_small_model(), f"{tmp_path}/new_folder/")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"metrics": {"history": {"loss": [0.5, float("nan")]}}}, ValueError,
     r"metrics\['history'\]\['loss'\]\[1\] is nan"),
    ({"config": {"lr": np.float32("inf")}}, ValueError, r"config\['lr'\] is inf"),
    ({"config": {"data_dir": Path("x")}}, TypeError,
     r"config\['data_dir'\] is a \w*Path, which JSON cannot store"),
    ({"metrics": {1: 0.5}}, TypeError, "metrics has the key 1 .int.; JSON keys must be str"),
    ({"config": [("lr", 0.1)]}, TypeError, "config must be a dict or None, got list"),
])
def test_save_refuses_metadata_json_cannot_store(tmp_path, kwargs, error, match):
    """config/metrics must be JSON data with finite numbers; the message names the key."""
    with pytest.raises(error, match=match):
        save(_small_model(), tmp_path / "m.npz", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_models_it_cannot_restore(tmp_path):
    """Non-finite weights, custom activations and mixed hidden activations are refused."""
    class Swish(Relu):
        name = "swish"

    diverged = _small_model()
    diverged.dense_layers[0].weights[1, 2] = np.nan
    custom = NeuralNetwork.from_sizes([4, 3, 2], Swish, Softmax, seed=0)
    mixed = NeuralNetwork.from_sizes([4, 3, 3, 2], Relu, Softmax, seed=0)
    mixed.dense_layers[1].activation = Tanh()
    with pytest.raises(ValueError, match="weights_0 contains NaN or infinity"):
        save(diverged, tmp_path / "a.npz")
    with pytest.raises(ValueError, match="Swish, which a model file cannot name"):
        save(custom, tmp_path / "b.npz")
    with pytest.raises(ValueError, match=r"different activations \['relu', 'tanh'\]"):
        save(mixed, tmp_path / "c.npz")
    with pytest.raises(TypeError, match="model must be a NeuralNetwork or a LanguageModel, "
                                        "got dict"):
        save({"weights": []}, tmp_path / "d.npz")
    with pytest.raises(TypeError, match=r"path must be a str or os\.PathLike, got int"):
        save(_small_model(), 3)
    assert list(tmp_path.iterdir()) == []


class _FailAfter:
    """A file wrapper whose writes fail once ``limit`` bytes have gone through."""

    def __init__(self, f, limit, exc):
        self._f, self._left, self._exc = f, limit, exc

    def write(self, data):
        if len(data) > self._left:
            self._f.write(bytes(data[:self._left]))
            raise self._exc
        self._left -= len(data)
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)


@pytest.mark.parametrize("limit", [0, 100, 3000])
@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch, limit, exc):
    """A save that dies midway leaves the old file byte-identical and no temporary file."""
    path = _saved(tmp_path)
    before = path.read_bytes()
    bigger = NeuralNetwork.from_sizes([20, 30, 5], dtype=np.float64, seed=9)
    real_savez = np.savez
    written = []

    def failing_savez(file, **arrays):
        written.append(limit)
        real_savez(_FailAfter(file, limit, exc), **arrays)

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(type(exc)):
        save(bigger, path)
    assert written == [limit]  # the failure happened inside np.savez, partway
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    restored = load(path)
    assert restored.sizes == [4, 3, 2]
    assert all(a.tobytes() == b.tobytes()
               for a, b in zip(restored.parameters(), _small_model().parameters(), strict=True))


# --- loading: the container -----------------------------------------------------------
def test_missing_file_is_file_not_found(tmp_path):
    """A path with no file raises FileNotFoundError naming it."""
    path = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        load(path)
    with pytest.raises(FileNotFoundError, match="no model file"):
        read_metadata(path)


def test_directory_is_refused_unless_it_is_a_run_folder(tmp_path):
    """A directory is not a model file, but a run folder (with its model.npz) loads as the
    CLI's commands take it."""
    _refused(tmp_path, r"is a directory or special file, not a model file \(nor a run folder "
                       r"with a model.npz\)")
    model = NeuralNetwork.from_sizes([3, 4, 2], seed=0)
    save(model, tmp_path / "model.npz")
    assert np.array_equal(load(tmp_path).layers[0].weights, model.layers[0].weights)


@pytest.mark.parametrize(("content", "match"), [
    (b"", r"the file is empty \(0 bytes\)"),
    (b"sizes: 784-30-10\nweights: ...\n", r"not an \.npz archive \(it starts with b'size'"),
    (bytes(range(256)) * 4, r"not an \.npz archive"),
    (b"\x80\x04\x95pickle", r"not an \.npz archive"),
])
def test_non_archives_are_refused(tmp_path, content, match):
    """Empty files, text files, random bytes and pickles are not model files."""
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    _refused(path, match)
    _refused(path, match, reader=read_metadata)


def test_single_npy_array_is_refused(tmp_path):
    """A lone .npy array is named as such."""
    path = tmp_path / "weights.npz"
    with open(path, "wb") as f:
        np.save(f, np.ones((4, 3)))
    _refused(path, r"single NumPy array \(\.npy\)")


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.95])
def test_truncated_file_is_refused(tmp_path, keep):
    """A file cut short is a damaged or truncated archive."""
    data = _saved(tmp_path).read_bytes()
    path = tmp_path / "cut.npz"
    path.write_bytes(data[:int(len(data) * keep)])
    _refused(path, "damaged or truncated .npz archive")


def test_corrupted_byte_fails_the_crc_check(tmp_path):
    """A changed byte inside an entry is caught by the zip's CRC."""
    data = bytearray(_saved(tmp_path).read_bytes())
    data[data.find(b'"sizes"') + 3] ^= 0x20
    path = tmp_path / "flipped.npz"
    path.write_bytes(bytes(data))
    _refused(path, r"damaged \.npz archive \(.*CRC")


class _Payload:
    """Unpickling this creates the file ``marker``: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("entry", ["weights_0", "metadata"])
def test_pickled_object_array_is_refused_without_running_it(tmp_path, entry):
    """An object array is refused, and the code its pickle carries never runs."""
    arrays, meta = _parts(_saved(tmp_path))
    marker = tmp_path / "code_ran"
    payload = np.array([_Payload(marker)], dtype=object)
    if entry == "metadata":
        meta = payload
    else:
        arrays[entry] = payload
    path = _write_raw(tmp_path / "evil.npz", arrays, meta)
    _refused(path, f"the entry '{entry}' holds pickled Python objects")
    if entry == "metadata":
        _refused(path, "pickled Python objects", reader=read_metadata)
    else:  # read_metadata never opens the weights
        assert read_metadata(path)["sizes"] == [4, 3, 2]
    assert not marker.exists()
    with np.load(path, allow_pickle=True) as npz:  # the payload is live: unpickling runs it
        npz[entry]
    assert marker.exists()


def test_missing_metadata_is_refused(tmp_path):
    """An .npz without a metadata entry was not written by save."""
    arrays, _ = _parts(_saved(tmp_path))
    path = _write_raw(tmp_path / "plain.npz", arrays, None)
    _refused(path, r"no 'metadata' entry.*entries: \['bias_0', 'bias_1'")
    _refused(path, "no 'metadata' entry", reader=read_metadata)


def test_non_array_entry_is_refused(tmp_path):
    """A zip entry that is not a .npy array (here raw JSON) is refused."""
    path = tmp_path / "zipped.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata", json.dumps({"format": "nnscratch-model"}))
    _refused(path, "the entry 'metadata' is not a NumPy array")


# --- loading: the metadata ------------------------------------------------------------
@pytest.mark.parametrize(("meta", "match"), [
    (np.zeros(3, dtype=np.float32), r"1-D uint8 array \(UTF-8 JSON\), got dtype float32"),
    (np.zeros((2, 2), dtype=np.uint8), r"got dtype uint8 and shape \(2, 2\)"),
    (b"\xff\xfe{}", "metadata is not valid UTF-8"),
    (b'{"format": "nnscratch-model", ', "metadata is not valid JSON"),
    (b'{"format": NaN}', "metadata is not valid JSON .NaN is not a JSON value"),
    (b"[1, 2, 3]", "metadata must be a JSON object, got a JSON list"),
])
def test_undecodable_metadata_is_refused(tmp_path, meta, match):
    """The metadata must be a 1-D uint8 array of UTF-8 JSON holding an object."""
    arrays, _ = _parts(_saved(tmp_path))
    path = _write_raw(tmp_path / "m.npz", arrays, meta)
    _refused(path, match)
    _refused(path, match, reader=read_metadata)


def test_missing_metadata_key_is_refused(tmp_path):
    """Each documented metadata key is required."""
    path = _rewritten(tmp_path, edit_meta=lambda m: (m.pop("sizes"), m.pop("dtype")))
    _refused(path, r"metadata lacks the keys \['sizes', 'dtype'\]")


def test_wrong_format_is_refused(tmp_path):
    """A metadata document of another format is not an nnscratch model."""
    path = _rewritten(tmp_path, edit_meta=lambda m: m.update(format="keras-model"))
    _refused(path, "not an nnscratch model .metadata format is 'keras-model'")


def test_newer_format_version_asks_for_an_upgrade(tmp_path):
    """A file from a newer nnscratch says which versions are supported and to upgrade."""
    path = _rewritten(tmp_path, edit_meta=lambda m: m.update(format_version=6,
                                                            nnscratch_version="9.0"))
    _refused(path, r"model format version 6, but nnscratch .* reads only versions "
                   r"\[1, 2, 3, 4, 5\] "
                   r"\(it was written by nnscratch 9\.0\); upgrade nnscratch")


@pytest.mark.parametrize(("key", "value", "match"), [
    ("format_version", 0, "format_version must be a positive integer, got 0"),
    ("format_version", "1", "format_version must be a positive integer, got '1'"),
    ("format_version", 1.0, "format_version must be a positive integer, got 1.0"),
    ("format_version", True, "format_version must be a positive integer, got True"),
    ("sizes", [4], r"sizes must be a list of at least two positive integers, got \[4\]"),
    ("sizes", "4-3-2", "sizes must be a list of .* got '4-3-2'"),
    ("sizes", [4, 0, 2], r"sizes must be a list of .* got \[4, 0, 2\]"),
    ("sizes", [4, 2.5, 2], r"sizes must be a list of .* got \[4, 2.5, 2\]"),
    ("sizes", [4, True, 2], r"sizes must be a list of .* got \[4, True, 2\]"),
    ("sizes", None, "sizes must be a list of .* got None"),
    ("hidden_activation", "swish",
     "unknown hidden_activation 'swish'; known activations: "
     + re.escape(str(sorted(ACTIVATIONS)))),
    ("hidden_activation", None, "unknown hidden_activation None"),
    ("head_activation", "swish2", "unknown head_activation 'swish2'; known activations: "),
    ("head_activation", 3, "unknown head_activation 3"),
    ("dtype", "float16", r"dtype must be one of \['float32', 'float64'\], got 'float16'"),
    ("dtype", ["float32"], r"dtype must be one of .* got \['float32'\]"),
    ("dropout", 1.0, r"dropout must be a number in \[0, 1\), got 1.0"),
    ("dropout", -0.1, "dropout must be .* got -0.1"),
    ("dropout", "0.5", "dropout must be .* got '0.5'"),
    ("dropout", True, "dropout must be .* got True"),
    ("init", None, "init must be a string, got None"),
    ("nnscratch_version", 1, "nnscratch_version must be a string, got 1"),
    ("config", [], r"config must be a JSON object, got \[\]"),
    ("metrics", "0.9", "metrics must be a JSON object, got '0.9'"),
])
def test_invalid_metadata_field_is_refused(tmp_path, key, value, match):
    """Each metadata field is checked: type, range, known names."""
    path = _rewritten(tmp_path, edit_meta=lambda m: m.update({key: value}))
    _refused(path, match)
    _refused(path, match, reader=read_metadata)


# --- loading: the arrays --------------------------------------------------------------
def test_missing_array_is_refused(tmp_path):
    """Every weights_i/bias_i the sizes imply must be present."""
    path = _rewritten(tmp_path, edit_arrays=lambda a: a.pop("bias_1"))
    _refused(path, r"lacks the arrays \['bias_1'\] of its 2-layer network")


def test_extra_array_is_refused(tmp_path):
    """An array the sizes do not imply is refused."""
    path = _rewritten(tmp_path, edit_arrays=lambda a: a.update(weights_2=np.ones((2, 2))))
    _refused(path, r"unexpected arrays \['weights_2'\]")


@pytest.mark.parametrize(("name", "array", "match"), [
    ("weights_1", np.ones((2, 3), np.float32),
     r"weights_1 has shape \(2, 3\), but sizes \[4, 3, 2\] need \(3, 2\)"),
    ("weights_0", np.ones((4, 3, 1), np.float32), r"weights_0 has shape \(4, 3, 1\)"),
    ("bias_0", np.ones(3, np.float32), r"bias_0 has shape \(3,\), but .* need \(1, 3\)"),
    ("bias_1", np.ones((1, 3), np.float32), r"bias_1 has shape \(1, 3\), but .* \(1, 2\)"),
    ("weights_0", np.ones((4, 3)), "weights_0 has dtype float64, but the metadata declares "
                                   "float32"),
    ("bias_0", np.ones((1, 3), np.int32), "bias_0 has dtype int32"),
    ("weights_1", np.ones((3, 2), ">f4"), "weights_1 has dtype >f4"),
    ("weights_1", np.array([[1, 2], [np.inf, 0], [0, 0]], np.float32),
     "weights_1 contains NaN or infinity"),
    ("bias_0", np.array([[0, np.nan, 0]], np.float32), "bias_0 contains NaN or infinity"),
])
def test_bad_array_is_refused(tmp_path, name, array, match):
    """Shapes must chain with the sizes, dtypes match the declared one, values be finite."""
    path = _rewritten(tmp_path, edit_arrays=lambda a: a.update({name: array}))
    _refused(path, match)


def test_metadata_dtype_must_match_the_arrays(tmp_path):
    """Declaring float64 over float32 arrays is refused, not silently converted."""
    path = _rewritten(tmp_path, edit_meta=lambda m: m.update(dtype="float64"))
    _refused(path, "weights_0 has dtype float32, but the metadata declares float64")


# --- fuzzing: nothing but ModelFormatError escapes ------------------------------------
@functools.cache
def _valid_bytes():
    """The bytes of a valid model file (and the model), built once."""
    model = _small_model()
    with tempfile.TemporaryDirectory() as folder:
        return save(model, Path(folder) / "m.npz", config=CONFIG,
                    metrics=METRICS).read_bytes(), model


def _load_bytes(data):
    """Write ``data`` to a fresh temporary file and load it (None if refused)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.npz"
        path.write_bytes(data)
        try:
            return load(path)
        except ModelFormatError as exc:
            assert str(path) in str(exc)
            return None


FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(data=st.one_of(st.binary(max_size=3000),
                      st.binary(max_size=3000).map(lambda b: b"PK\x03\x04" + b),
                      st.binary(max_size=3000).map(lambda b: b"\x93NUMPY" + b)))
def test_random_bytes_raise_only_model_format_error(data):
    """Random bytes (also behind a zip or .npy signature) are refused cleanly."""
    assert _load_bytes(data) is None


_EDIT = st.tuples(st.sampled_from(["flip", "insert", "delete", "truncate"]),
                  st.integers(0, 2**20), st.integers(1, 255))


@FUZZ
@given(edits=st.lists(_EDIT, min_size=1, max_size=4))
def test_mutated_model_file_raises_only_model_format_error(edits):
    """A valid file with bytes flipped, inserted, deleted or cut off is refused or intact."""
    data, original = _valid_bytes()
    data = bytearray(data)
    for kind, position, byte in edits:
        i = position % max(len(data), 1)
        if kind == "flip" and data:
            data[i] ^= byte
        elif kind == "insert":
            data.insert(i, byte)
        elif kind == "delete" and data:
            del data[i]
        elif kind == "truncate":
            del data[i:]
    model = _load_bytes(bytes(data))
    if model is not None:  # a harmless edit (e.g. a timestamp): the network is intact
        assert isinstance(model, NeuralNetwork) and model.sizes == original.sizes
        assert all(a.tobytes() == b.tobytes()
                   for a, b in zip(model.parameters(), original.parameters(), strict=True))


def _containers(inner):
    """Lists and dicts of ``inner`` (a named function: hypothesis reads a multi-line lambda's
    source wrongly and warns that it does not use its argument)."""
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                         max_size=3)


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                     | st.text(max_size=8), _containers, max_leaves=6)


@FUZZ
@given(edits=st.dictionaries(st.sampled_from(
    ["format", "format_version", "sizes", "hidden_activation", "head_activation", "dtype",
     "dropout", "init", "nnscratch_version", "config", "metrics"]),
    st.none() | _JSON, min_size=1, max_size=3), drop=st.booleans())
def test_random_metadata_values_raise_only_model_format_error(edits, drop):
    """Any JSON value in any metadata field (or its absence) is refused cleanly or valid."""
    data, original = _valid_bytes()
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta = json.loads(arrays.pop("metadata").tobytes())
    for key, value in edits.items():
        meta.pop(key) if drop else meta.update({key: value})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, metadata=np.frombuffer(
        json.dumps(meta).encode("utf-8"), dtype=np.uint8))
    model = _load_bytes(buffer.getvalue())
    if model is not None:  # only fields that do not change the network were edited
        assert model.sizes == original.sizes and model.metadata == meta
