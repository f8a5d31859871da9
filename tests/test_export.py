"""ONNX export: the graphs pass onnx.checker, and onnxruntime (an independent runtime) gives
nnscratch's predict_proba / predict to 1e-5 for every layer kind, MNIST and a table's pipeline;
the refusals are one line each."""

import json
import shutil

import numpy as np
import pytest

from nnscratch import NeuralNetwork, Sigmoid, Softmax, load, save
from nnscratch.activations import Activation
from nnscratch.architecture import parse_arch
from nnscratch.cli import main
from nnscratch.data import TablePipeline, UnseenCategoryWarning
from nnscratch.errors import ExportError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from nnscratch.export import build_onnx, describe, to_onnx  # noqa: E402

TOL = 1e-5


def _session(proto):
    """An onnxruntime session of ``proto`` on the CPU."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(proto.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def _run(proto, **feeds):
    """``{output name: array}`` of ``proto`` run by onnxruntime."""
    session = _session(proto)
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


def _check(proto):
    """onnx.checker's full check (types and shapes inferred) passes."""
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version >= 17


def _assert_same(model, X, out):
    """onnxruntime's outputs equal nnscratch's on ``X``."""
    if model.is_classifier():
        np.testing.assert_allclose(out["probabilities"], model.predict_proba(X), atol=TOL,
                                   rtol=0)
        np.testing.assert_array_equal(out["label"], model.predict(X))
    else:
        np.testing.assert_allclose(out["predictions"], model.predict(X), atol=TOL, rtol=0)


# --- every layer kind, on small random nets ---------------------------------------------
@pytest.mark.parametrize("hidden", ["relu", "tanh", "sigmoid", "identity", "leaky_relu", "elu",
                                    "selu", "gelu", "silu", "softplus"])
@pytest.mark.parametrize("head", ["softmax", "sigmoid", None])
def test_dense_nets_match(hidden, head, rng):
    """Dense layers with each hidden activation, under a softmax, sigmoid or linear head."""
    model = NeuralNetwork.from_sizes([12, 9, 7, 4], hidden_activation=hidden,
                                     head_activation=head, init="he", seed=1)
    proto = build_onnx(model)
    _check(proto)
    X = rng.normal(size=(33, 12)).astype(np.float32)
    _assert_same(model, X, _run(proto, input=X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_single_sigmoid_output_gives_both_probabilities(dtype, rng):
    """One sigmoid output: probabilities [P(0), P(1)] and 0/1 labels, as predict_proba."""
    model = NeuralNetwork.from_sizes([5, 6, 1], head_activation=Sigmoid, seed=2, dtype=dtype)
    proto = build_onnx(model)
    _check(proto)
    X = rng.normal(size=(40, 5)).astype(dtype)
    out = _run(proto, input=X)
    assert out["probabilities"].shape == (40, 2) and out["label"].shape == (40,)
    assert out["probabilities"].dtype == dtype
    _assert_same(model, X, out)
    assert json.loads(_props(proto)["classes"]) == [0, 1]


def test_dropout_is_left_out(rng):
    """A network with dropout exports no Dropout node and matches evaluation mode."""
    model = NeuralNetwork.from_sizes([8, 16, 16, 3], head_activation=Softmax, dropout=0.5,
                                     seed=3)
    proto = build_onnx(model)
    assert "Dropout" not in {n.op_type for n in proto.graph.node}
    X = rng.normal(size=(20, 8)).astype(np.float32)
    _assert_same(model, X, _run(proto, input=X))


CONV_ARCHS = [
    ("conv4k3,pool2,dense8", (1, 10, 10)),
    ("conv3k3s2p1,conv5k2,pool2,drop0.3,dense6", (3, 13, 11)),
    ("conv4k4same,pool3,conv2k3same,drop0.25", (2, 12, 12)),  # even kernel: 1 + 2 pixels
    ("conv2k1,pool1,conv3k5p2", (1, 7, 7)),
    ("conv4k3,bn,pool2,dense8,bn", (2, 8, 8)),  # batchnorm on images and on dense units
    ("conv3k3,avgpool2,conv4k3same,bn,gap", (2, 11, 9)),  # average pooling, global too
    ("center,conv3k3,pool2,dense4", (3, 6, 7)),  # each image minus its mean colour
]


@pytest.mark.parametrize(("arch", "shape"), CONV_ARCHS)
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_conv_nets_match(arch, shape, activation, rng):
    """Convolutions (strides, paddings, 'same' with an even kernel), pooling, dropout,
    several input channels and the flatten to dense layers, in NCHW as ONNX wants."""
    model = NeuralNetwork.from_architecture(parse_arch(arch), shape, 5, head_activation=Softmax,
                                            hidden_activation=activation, seed=4)
    for layer in model.layers:  # running statistics away from their 0 / 1 start
        for buffer in getattr(layer, "buffers", dict)().values():
            buffer[...] = rng.uniform(0.5, 1.5, size=buffer.shape)
    proto = build_onnx(model)
    _check(proto)
    X = rng.normal(size=(9, int(np.prod(shape)))).astype(np.float32)
    _assert_same(model, X, _run(proto, input=X))


def test_conv_regressor_and_float64_in_the_reference_runtime(rng):
    """A float64 conv net, run by onnx's own reference evaluator (onnxruntime has no float64
    Conv), equals nnscratch to 1e-12; exported as float32 it runs in onnxruntime."""
    from onnx.reference import ReferenceEvaluator

    model = NeuralNetwork.from_architecture(parse_arch("conv3k3p1,pool2,dense6"), (2, 8, 8), 2,
                                            dtype=np.float64, seed=5)
    proto = build_onnx(model)
    _check(proto)
    X = rng.normal(size=(6, 128))
    (out,) = ReferenceEvaluator(proto).run(None, {"input": X})
    np.testing.assert_allclose(out, model.predict(X), atol=1e-12, rtol=0)
    assert describe(proto)[-1].startswith("note: onnxruntime has no float64 Conv")
    single = build_onnx(model, dtype="float32")
    out = _run(single, input=X.astype(np.float32))["predictions"]
    np.testing.assert_allclose(out, model.predict(X), atol=TOL, rtol=0)
    assert not describe(single)[-1].startswith("note:")


def test_any_batch_size(rng):
    """The batch dimension is dynamic: 1 row, or 1,000."""
    model = NeuralNetwork.from_architecture(parse_arch("conv2k3,pool2"), (1, 6, 6), 3,
                                            head_activation=Softmax, seed=6)
    proto = build_onnx(model)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    for n in (1, 1000):
        X = rng.normal(size=(n, 36)).astype(np.float32)
        _assert_same(model, X, _run(proto, input=X))


@pytest.mark.parametrize("labels", [["no", "yes"], ["a", "b", "c"]])
def test_sklearn_classifier_exports_with_its_classes(labels, digits):
    """A fitted NNClassifier: its network, its classes_ in the metadata, the same
    predict_proba; its labels are classes_[label]."""
    from nnscratch.sklearn import NNClassifier

    X, y = digits
    X = X[:300].astype(np.float32)
    y = np.array(labels)[y[:300] % len(labels)]
    clf = NNClassifier(hidden_layer_sizes=(16,), max_iter=5, n_iter_no_change=None,
                       random_state=0).fit(X, y)
    proto = build_onnx(clf)
    assert json.loads(_props(proto)["classes"]) == labels
    out = _run(proto, input=X)
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), atol=TOL, rtol=0)
    np.testing.assert_array_equal(np.array(labels)[out["label"]], clf.predict(X))


# --- MNIST ----------------------------------------------------------------------------
def test_mnist_blog_mlp_takes_raw_pixels(served_models, mnist_standard, tmp_path):
    """The blog's MLP, trained on MNIST: the graph takes raw pixel values 0-255 (the scaling
    its model file records), and gives predict_proba to 1e-5 on 1,000 real test images."""
    model = load(served_models["mlp"] / "model.npz")
    path = to_onnx(model, tmp_path / "blog.onnx")
    proto = onnx.load(path)
    _check(proto)
    (pixels,) = proto.graph.input
    assert pixels.name == "pixels" and "raw pixel values 0-255" in pixels.doc_string
    X = mnist_standard.X_test[:1000]
    raw = np.round(X * 255).astype(np.float32)  # the files' bytes
    out = _run(proto, pixels=raw)
    _assert_same(model, X, out)
    assert np.mean(out["label"] == mnist_standard.y_test[:1000]) > 0.85
    assert json.loads(_props(proto)["classes"]) == list(range(10))
    bare = build_onnx(model, preprocess=False)  # the network alone takes [0, 1]
    _assert_same(model, X, _run(bare, input=X))


def test_mnist_conv_net_matches(served_models, mnist_standard):
    """A conv net trained on MNIST (a model file without a data set in its config: the graph
    takes the network's own [0, 1] rows) gives the same predictions."""
    model = load(served_models["conv"])
    proto = build_onnx(model)
    X = mnist_standard.X_test[:1000]
    _assert_same(model, X, _run(proto, input=X))


# --- a table's input pipeline ---------------------------------------------------------
def _table(rng, n=60):
    """Rows with numeric and text columns and missing cells."""
    import pandas as pd

    frame = pd.DataFrame({
        "age": rng.normal(40, 12, n), "city": rng.choice(["Oslo", "Lima", "Pune"], n),
        "income": rng.lognormal(10, 1, n), "pet": rng.choice(["cat", "dog"], n).astype(object),
        "rooms": rng.integers(1, 6, n).astype(float)})
    frame.loc[frame.index[::7], "age"] = np.nan
    frame.loc[frame.index[3::9], "pet"] = None
    return frame


def _feeds(pipeline, frame):
    """The graph's inputs for ``frame``: numeric columns as float64 (NaN where missing),
    text columns as strings ('' where missing)."""
    numeric = [c.name for c in pipeline.columns if c.kind == "numeric"]
    text = [c.name for c in pipeline.columns if c.kind != "numeric"]
    feeds = {}
    if numeric:
        feeds["numeric"] = frame[numeric].to_numpy(np.float64)
    if text:
        feeds["text"] = frame[text].fillna("").astype(str).to_numpy(object)
    return feeds


@pytest.mark.parametrize("scale", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_table_pipeline_in_the_graph(scale, dtype, rng):
    """Imputation, standardisation and one-hot encoding of a table's raw columns, in the
    graph; the same numbers as TablePipeline.transform then predict_proba."""
    frame = _table(rng)
    pipeline = TablePipeline.fit(frame.iloc[:40], scale=scale)
    model = NeuralNetwork.from_sizes([pipeline.n_features, 8, 3], head_activation=Softmax,
                                     seed=7, dtype=dtype)
    model.pipeline = pipeline
    proto = build_onnx(model)
    _check(proto)
    assert [i.name for i in proto.graph.input] == ["numeric", "text"]
    rows = frame.iloc[40:]
    _assert_same(model, pipeline.transform(rows, dtype=dtype), _run(proto,
                                                                      **_feeds(pipeline, rows)))
    inputs = json.loads(_props(proto)["inputs"])
    assert inputs[0]["columns"] == ["age", "income", "rooms"]
    assert inputs[1]["columns"] == ["city", "pet"]


def test_table_unseen_value_is_all_zeros_as_in_nnscratch(rng):
    """A text value never seen in training: all zeros in the graph, as nnscratch encodes it
    (with its warning)."""
    frame = _table(rng, 30)
    pipeline = TablePipeline.fit(frame, scale=True)
    model = NeuralNetwork.from_sizes([pipeline.n_features, 5, 2], head_activation=Softmax,
                                     seed=8)
    model.pipeline = pipeline
    rows = frame.iloc[:4].copy()
    rows["city"] = ["Rome", "Oslo", "", "Lima"]  # '' is a missing cell in the graph
    expected_rows = rows.copy()
    expected_rows.loc[expected_rows.index[2], "city"] = None
    with pytest.warns(UnseenCategoryWarning, match="'Rome', which the model never saw"):
        X = pipeline.transform(expected_rows)
    _assert_same(model, X, _run(build_onnx(model), **_feeds(pipeline, rows)))


def test_table_regressor_predicts_in_target_units(rng):
    """A regression table model (target standardised in training, folded into the output
    layer): the graph's predictions are in the target's units, as predict."""
    frame = _table(rng)
    y = rng.normal(50, 20, (len(frame), 2))
    pipeline = TablePipeline.fit(frame, y=y, target="price")
    model = NeuralNetwork.from_sizes([pipeline.n_features, 6, 2], seed=9)
    model.scale_outputs(pipeline.target_scale, pipeline.target_mean)
    model.pipeline = pipeline
    proto = build_onnx(model)
    assert [o.name for o in proto.graph.output] == ["predictions"]
    out = _run(proto, **_feeds(pipeline, frame))
    assert np.abs(out["predictions"]).mean() > 10  # the target's units, not standardised
    _assert_same(model, pipeline.transform(frame), out)


@pytest.mark.parametrize("keep", [["age", "income"], ["city", "pet"],
                                  ["city", "age", "pet", "income"]])
def test_table_columns_of_one_kind_or_interleaved(keep, rng):
    """Only numeric columns, only text columns, or (a file whose columns interleave the two
    kinds) numeric columns sliced back into their places."""
    frame = _table(rng)[keep]
    pipeline = TablePipeline.fit(frame)
    described, arrays = pipeline.to_stored()  # as a model file could hold them, in any order
    order = {name: i for i, name in enumerate(keep)}
    described["columns"].sort(key=lambda c: order[c["name"]])
    pipeline = TablePipeline.from_stored(described, arrays)
    model = NeuralNetwork.from_sizes([pipeline.n_features, 4, 3], head_activation=Softmax,
                                     seed=10)
    model.pipeline = pipeline
    proto = build_onnx(model)
    _check(proto)
    _assert_same(model, pipeline.transform(frame), _run(proto, **_feeds(pipeline, frame)))


def test_table_model_trained_by_the_cli_keeps_its_class_labels(tmp_path, rng):
    """nnscratch train --data on a CSV with text labels, then nnscratch export: the labels
    are in the metadata, in the order of the probabilities' columns."""
    frame = _table(rng, 80)
    frame["kind"] = np.where(frame["income"] > np.median(frame["income"]), "rich", "poor")
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert main(["train", "--data", str(tmp_path / "t.csv"), "--epochs", "3", "--no-bar",
                 "--out", str(tmp_path / "run")]) == 0
    assert main(["export", str(tmp_path / "run"), "--onnx", str(tmp_path / "t.onnx")]) == 0
    proto = onnx.load(tmp_path / "t.onnx")
    assert json.loads(_props(proto)["classes"]) == ["poor", "rich"]
    model = load(tmp_path / "run" / "model.npz")
    rows = frame.drop(columns="kind")
    _assert_same(model, model.pipeline.transform(rows), _run(proto, **_feeds(model.pipeline,
                                                                             rows)))


# --- refusals and the command line ----------------------------------------------------
class Swish(Activation):
    name = "swish"

    def forward(self, x):
        return x / (1 + np.exp(-x))


class Scale:
    def forward(self, x, training=False):
        return 2 * x

    def parameters(self):
        return []


def test_a_layer_onnx_cannot_express_is_named():
    """A layer kind export has no translation for: one line naming it."""
    model = NeuralNetwork.from_sizes([4, 3, 2], head_activation=Softmax, seed=0)
    model.layers.insert(1, Scale())
    with pytest.raises(ExportError, match=r"^cannot export layer 2 of 3 \(Scale\) to ONNX: no "
                       r"ONNX translation for Scale; the layers ONNX export knows: AvgPool2D, "
                       r"BatchNorm, ChannelsLast, Conv2D, Dropout, Flatten, GlobalAvgPool, Layer, "
                       r"MaxPool2D, Reshape, SubtractImageMean$"):
        build_onnx(model)


def test_an_activation_onnx_cannot_express_is_named():
    """A custom activation: one line naming the layer and the activation."""
    model = NeuralNetwork.from_sizes([4, 3, 2], head_activation=Softmax, seed=0)
    model.layers[0].activation = Swish()
    with pytest.raises(ExportError, match=r"^cannot export layer 1 of 2 \(Layer\) to ONNX: no "
                       r"ONNX translation for its activation Swish; the activations ONNX "
                       r"export knows: elu, gelu, identity, leaky_relu, relu, selu, sigmoid, silu, "
                       r"softmax, softplus, tanh$"):
        build_onnx(model)


def test_bad_arguments():
    """A model that is not a network, a dtype that is not a float type."""
    with pytest.raises(TypeError, match=r"^model must be a NeuralNetwork or a fitted "
                       r"nnscratch\.sklearn estimator, got str$"):
        build_onnx("model.npz")
    model = NeuralNetwork.from_sizes([4, 2], seed=0)
    with pytest.raises(ValueError, match=r"^dtype must be float32 or float64, got 'int8'$"):
        build_onnx(model, dtype="int8")


def test_cli_export_refuses_an_existing_file_without_force(served_models, tmp_path, capsys):
    """An existing OUT is kept unless --force; with it, replaced by a complete graph."""
    out = tmp_path / "m.onnx"
    out.write_bytes(b"mine")
    model = str(served_models["mlp"])
    assert main(["export", model, "--onnx", str(out)]) == 2
    assert capsys.readouterr().err == (f"nnscratch export: error: --onnx {out} exists; choose "
                                       "another file or add --force\n")
    assert out.read_bytes() == b"mine"
    assert main(["export", model, "--onnx", str(out), "--force"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"Wrote {out} (ONNX opset 17)\n  input pixels: float32 (N, 784)")
    assert "classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]" in printed
    _check(onnx.load(out))


def test_a_refused_export_writes_nothing(tmp_path, capsys, monkeypatch):
    """A failure while building the graph leaves OUT as it was and no temporary file."""
    import nnscratch.export as export

    model = NeuralNetwork.from_sizes([4, 3, 2], head_activation=Softmax, seed=0)
    save(model, tmp_path / "m.npz")
    out = tmp_path / "m.onnx"
    out.write_bytes(b"old")

    def broken(*args, **kwargs):
        raise ExportError("broken on purpose")

    monkeypatch.setitem(export.LAYERS, export.Layer, broken)
    assert main(["export", str(tmp_path / "m.npz"), "--onnx", str(out), "--force"]) == 2
    assert capsys.readouterr().err == "nnscratch export: error: broken on purpose\n"
    with pytest.raises(ExportError, match=r"^broken on purpose$"):
        to_onnx(model, out)
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "m.onnx"]


def test_cli_export_options(served_models, tmp_path, capsys):
    """--no-preprocess exports the bare network; without --onnx the file goes beside the
    model; a folder is refused."""
    model = str(served_models["mlp"])
    assert main(["export", model, "--onnx", str(tmp_path / "b.onnx"), "--no-preprocess"]) == 0
    assert "input input: float32 (N, 784), pixel values scaled into [0, 1]" in \
        capsys.readouterr().out
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(served_models["mlp"] / "model.npz", run / "model.npz")
    assert main(["export", str(run)]) == 0
    assert capsys.readouterr().out.startswith(f"Wrote {run / 'model.onnx'} (ONNX opset ")
    assert sorted(p.name for p in run.iterdir()) == ["model.npz", "model.onnx"]
    assert main(["export", str(run / "model.npz")]) == 2  # never replaced unasked
    assert "model.onnx exists; choose another file or add --force" in capsys.readouterr().err
    assert main(["export", model, "--onnx", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"nnscratch export: error: --onnx {tmp_path} is a "
                                       f"folder; give a file name such as "
                                       f"{tmp_path / 'model.onnx'}\n")


def _props(proto):
    """The model's metadata as a dict."""
    return {p.key: p.value for p in proto.metadata_props}


def test_metadata_describes_the_model(served_models):
    """The doc strings and metadata say what goes in, what comes out, and the versions."""
    proto = build_onnx(load(served_models["mlp"] / "model.npz"))
    props = _props(proto)
    assert props["task"] == "classification"
    assert props["network"].startswith("NeuralNetwork(784-32-32-10")
    assert [o["name"] for o in json.loads(props["outputs"])] == ["probabilities", "label"]
    assert "pixels: float32 (N, 784)" in proto.doc_string
    assert proto.producer_name == "nnscratch"


def test_cnn_recipe_run_exports_and_predicts_the_same(mnist_standard, tmp_path):
    """The cnn recipe's network (conv32k3,pool2,bn,conv64k3,pool2,bn,dense128; BatchNorm
    exports with its running statistics), trained briefly (one epoch of 1,200 images) through
    nnscratch train's code path, exported from its run folder by the CLI: onnxruntime on raw
    pixels gives predict_proba to 1e-5 on 1,000 test images."""
    from nnscratch.data import Dataset
    from nnscratch.experiment import run_training
    from nnscratch.recipes import make_config

    d = mnist_standard
    small = Dataset(d.X_train[:1200], d.y_train[:1200], d.X_test[:1000], d.y_test[:1000],
                    name="mnist", split="standard", n_classes=10, feature_shape=(28, 28))
    run_training(make_config("cnn", epochs=1, warmup=0), data=small, out_dir=tmp_path / "cnn",
                 bar=False, log=lambda *_: None)
    assert main(["export", str(tmp_path / "cnn"), "--onnx", str(tmp_path / "cnn.onnx")]) == 0
    proto = onnx.load(tmp_path / "cnn.onnx")
    _check(proto)
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("Conv") == 2 and ops.count("BatchNormalization") == 2
    model = load(tmp_path / "cnn" / "model.npz")
    out = _run(proto, pixels=np.round(small.X_test * 255).astype(np.float32))
    _assert_same(model, small.X_test, out)
    assert np.mean(out["label"] == small.y_test) > 0.5


def test_an_image_folder_model_takes_raw_pixels(tmp_path, rng):
    """A model trained on a folder of colour images: the graph takes its (row, column,
    channel) pixel rows, 0-255, and equals predict_proba on the scaled rows."""
    from PIL import Image

    for k, colour in enumerate(((200, 30, 30), (30, 30, 200))):
        (tmp_path / "data" / f"c{k}").mkdir(parents=True)
        for i in range(10):
            pixels = np.clip(np.array(colour) + rng.integers(-20, 20, (10, 12, 3)), 0, 255)
            Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / "data" / f"c{k}" /
                                                          f"{i}.png")
    run = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "data"), "--epochs", "2", "--no-bar",
                 "--out", str(run)]) == 0
    model = load(run)
    rows = np.stack([model.pipeline.image(p) for p in sorted((tmp_path / "data").glob("*/*"))])
    proto = build_onnx(model)
    _check(proto)
    out = _run(proto, pixels=rows.astype(np.float32))
    expected = model.predict_proba(model.pipeline.scale(rows))
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5, rtol=0)
    assert np.array_equal(out["label"], model.predict(model.pipeline.scale(rows)))
