"""Convolutional networks in the one network class: gradients end to end, training, model
files, the command line, the estimators, figures and the errors a bad architecture gets."""

import pickle

import numpy as np
import pytest

from nnscratch import CrossEntropyLoss, NeuralNetwork, check_gradients, load, save, train
from nnscratch.architecture import format_arch, parse_arch
from nnscratch.cli import main
from nnscratch.data import load_digits
from nnscratch.sklearn import NNClassifier

SMALL = "conv4k3,pool2,conv6k3s2p1,drop0.2,dense8"


def _net(arch=SMALL, shape=(1, 9, 7), n_out=3, dtype=np.float64, seed=0):
    return NeuralNetwork.from_architecture(parse_arch(arch), shape, n_out, dtype=dtype,
                                           head_activation="softmax", seed=seed)


@pytest.mark.parametrize("arch, shape", [
    (SMALL, (1, 9, 7)),                                  # stride, int padding, odd image
    ("conv3k3same,conv5k2s2,pool2,dense6", (2, 8, 10)),  # 'same', even kernel, 2 channels
    ("conv2k1,pool3,dense4", (3, 7, 7)),                 # 1x1 kernel, pool not dividing
])
def test_whole_network_gradients_match_finite_differences(arch, shape, rng):
    """Every weight, bias and input gradient of a conv net, float64, central differences."""
    net = _net(arch, shape)
    X = rng.normal(size=(4, int(np.prod(shape))))
    errors = check_gradients(net, CrossEntropyLoss, X, rng.integers(0, 3, 4))
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("arch, shape", [("conv4k3same,pool2,conv6k3,pool2,dense5", (2, 10, 9)),
                                         ("conv3k3,pool3,dense4", (1, 8, 8))])
def test_a_relu_convolution_pools_before_its_relu_with_the_same_numbers(arch, shape, rng):
    """The network runs conv, pool, ReLU (the ReLU on the small map); the output and every
    gradient are those of conv, ReLU, pool layer by layer, bit for bit (max(relu(z)) ==
    relu(max(z)), and the ReLU's gradient reaches the same maximum)."""
    net = _net(arch, shape, n_out=3, seed=4)
    X = rng.normal(size=(6, int(np.prod(shape))))
    y = rng.integers(0, 3, 6)
    out = net._forward(X, training=True)
    assert net._relu_after_pool == ({1, 3} if "conv6" in arch else {1})  # after the reshape
    _, d_x = net.backprop(CrossEntropyLoss, out, y, input_grad=True)
    fused = [g.copy() for g in net.gradients()], d_x
    x = X
    for layer in net.layers:  # layer by layer: each convolution applies its own ReLU
        x = layer.forward(x, True)
    np.testing.assert_array_equal(x, out)
    net._relu_after_pool = frozenset()  # and back-propagates through it
    _, d_x = net.backprop(CrossEntropyLoss, x, y, input_grad=True)
    for ours, theirs in zip(fused[0], net.gradients(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(fused[1], d_x)
    assert np.abs(fused[1]).max() > 0


def test_evaluation_keeps_no_map_and_a_plain_forward_still_back_propagates(rng):
    """predict and evaluate leave no convolution output behind in the poolings (they keep
    none for a backward pass that will not come); the blog's forward then backward, out of
    training, gives the gradients of a training-mode pass, bit for bit."""
    arch = "conv4k3same,pool2,conv6k3same,pool2,dense5"
    X = rng.normal(size=(6, 2 * 8 * 8)).astype(np.float32)
    y = rng.integers(0, 3, 6)
    net, twin = _net(arch, (2, 8, 8), dtype=np.float32), _net(arch, (2, 8, 8), dtype=np.float32)
    pools = [layer for layer in net.layers if type(layer).__name__ == "MaxPool2D"]
    net.predict(X)
    net.evaluate(X, y, CrossEntropyLoss)
    assert [pool._unrouted for pool in pools] == [None, None]
    net.backprop(CrossEntropyLoss, net.forward(X), y)              # out of training
    twin.backprop(CrossEntropyLoss, twin._forward(X, training=True), y)
    for got, expected in zip(net.gradients(), twin.gradients(), strict=True):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("arch, shape, largest", [
    # the cnn recipe's network: its second convolution's im2col rows, 11*11 of 9*32 + 1
    ("conv32k3,pool2,bn,conv64k3,pool2,bn,dense128", (1, 28, 28), 11 * 11 * 289),
    # a 1x1 convolution's output, 28*28*64, is larger than its im2col rows, 28*28*2
    ("conv64k1,pool2,dense10", (1, 28, 28), 28 * 28 * 64),
    ("conv16k3same,pool2", (3, 700, 700), 700 * 700 * 28),  # one photo fills the budget
])
def test_evaluation_chunks_keep_the_largest_array_within_the_budget(arch, shape, largest, rng):
    """predict and evaluate run as many rows at a time as keep a chunk's largest array (a
    layer's output or a convolution's im2col matrix) within _CHUNK_BYTES, at least one; the
    outputs are those of a single pass over every row (to float32 rounding: BLAS may split
    products of other sizes differently)."""
    from nnscratch import network

    net = _net(arch, shape, dtype=np.float32)
    chunk = net._chunk
    assert chunk == max(1, network._CHUNK_BYTES // (largest * 4))
    if chunk > 1:
        assert chunk * largest * 4 <= network._CHUNK_BYTES < (chunk + 1) * largest * 4
    if np.prod(shape) < 10_000:
        X = rng.normal(size=(2 * chunk + 3, int(np.prod(shape)))).astype(np.float32)
        chunked, whole = net.predict_proba(X), net._run(X, len(net.layers))
        np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(chunked.argmax(axis=1), whole.argmax(axis=1))


def test_architecture_text_round_trips():
    """parse_arch and format_arch are inverses; the network prints its architecture."""
    text = "conv32k3,pool2,conv64k3s2p1,conv8k5same,drop0.25,dense128,drop0.5"
    assert format_arch(parse_arch(text)) == text
    assert "1x28x28 -> " + text + " -> 10" in repr(_net(text, (1, 28, 28), 10))


@pytest.mark.parametrize("arch, shape, message", [
    ("conv4k9", (1, 8, 8), r"layer 1 \(conv2d\): Conv2D kernel 9x9 does not fit the padded "
                           r"input 8x8 \(input \(1, 8, 8\), padding 0\)"),
    ("conv4k3,pool8", (1, 8, 8), r"layer 2 \(maxpool2d\): MaxPool2D pool 8x8 does not fit "
                                 r"the input 6x6"),
    ("conv4k3", (64,), r"convolutions need images: an input of shape \(channels, height, "
                       r"width\), got \(64,\)"),
])
def test_a_layer_that_does_not_fit_is_refused_at_construction(arch, shape, message):
    """The shapes are checked once, when the network is built, naming them."""
    with pytest.raises(ValueError, match=message):
        _net(arch, shape)


@pytest.mark.parametrize("text, message", [
    ("conv32x3", r"--arch: layer 1, 'conv32x3' is not a layer; write convCkK"),
    ("dense64,conv8k3", r"layer 2, 'conv8k3': a conv2d layer cannot follow a dense layer"),
    ("conv0k3", r"layer 1, 'conv0k3': sizes must be >= 1"),
    ("", r"--arch must be comma-separated layers like conv32k3"),
])
def test_bad_architecture_text(text, message):
    with pytest.raises(ValueError, match=message):
        parse_arch(text)


def test_stride_zero_is_refused_by_the_layer():
    from nnscratch.conv import Conv2D

    with pytest.raises(ValueError, match="stride must be an integer >= 1, got 0"):
        Conv2D(1, 4, 3, stride=0)


def test_model_file_round_trip_is_bit_identical(tmp_path, rng):
    """A conv net saves (format 2: architecture + input shape) and loads unchanged."""
    net = _net(dtype=np.float32)
    path = save(net, tmp_path / "cnn.npz")
    again = load(path)
    X = rng.normal(size=(5, 63)).astype(np.float32)
    np.testing.assert_array_equal(again.predict_proba(X), net.predict_proba(X))
    assert again.metadata["format_version"] == 2 and again.architecture == net.architecture
    assert again.input_shape == (1, 9, 7) and repr(again) == repr(net)


def test_copies_and_pickles_keep_the_flat_buffer(rng):
    """copy/pickle re-link every layer's arrays to one flat vector (conv layers included)."""
    net = _net()
    for twin in (net.copy(), pickle.loads(pickle.dumps(net))):
        params, _ = twin.flat_parameters()
        assert all(np.shares_memory(p, params) for p in twin.parameters())
        X = rng.normal(size=(2, 63))
        np.testing.assert_array_equal(twin.predict_proba(X), net.predict_proba(X))


def test_a_small_cnn_learns_the_digits():
    """train() on the 8x8 digits with a conv net: above the floor measured (0.978, seed 0)."""
    data = load_digits()
    net = NeuralNetwork.from_architecture(parse_arch("conv8k3same,pool2,conv16k3,dense32"),
                                          (1, 8, 8), 10, head_activation="softmax", seed=0,
                                          init="he")
    train(net, data.X_train, data.y_train, CrossEntropyLoss, 15, 64, optimizer="adam",
          learning_rate=0.003, bar=False)
    assert net.score(data.X_test, data.y_test) >= 0.95


def test_cli_trains_evaluates_and_plots_a_conv_net(tmp_path, capsys):
    """--arch on the command line: a run folder, evaluate, info, and the conv figures."""
    run = tmp_path / "run"
    assert main(["train", "--dataset", "digits", "--arch", "conv8k3same,pool2,dense32",
                 "--init", "he", "--optimizer", "adam", "--lr", "0.003", "--epochs", "8",
                 "--no-bar", "--out", str(run)]) == 0
    assert main(["evaluate", str(run)]) == 0
    assert main(["info", str(run)]) == 0
    out = capsys.readouterr().out
    assert "1x8x8 -> conv8k3same,pool2,dense32 -> 10" in out
    assert main(["plot", str(run), "--tsne-points", "100"]) == 0
    out = capsys.readouterr().out
    assert "conv_filters: " in out and "feature_maps: " in out
    assert "first_layer_weights" not in out
    assert (run / "figures" / "conv_filters.png").stat().st_size > 1000


def test_cli_refuses_convolutions_on_a_table(tmp_path, capsys):
    """--arch with convolutions on non-image data: one line naming the shapes."""
    table = tmp_path / "t.csv"
    rows = "\n".join(f"{i % 3},{i % 5},{i % 2}" for i in range(40))
    table.write_text(f"a,b,y\n{rows}\n")
    assert main(["train", "--data", str(table), "--arch", "conv4k3", "--no-bar"]) == 2
    err = capsys.readouterr().err
    assert "convolutions need images" in err and len(err.strip().splitlines()) == 1


def test_estimator_with_an_architecture(digits):
    """NNClassifier(architecture=...) sees each 64-feature row as an 8x8 image."""
    X, y = digits
    clf = NNClassifier(architecture="conv8k3same,pool2,dense32", solver="adam",
                       learning_rate_init=0.003, max_iter=10, init="he", batch_size=64,
                       alpha=0.0, n_iter_no_change=None, random_state=0).fit(X[:1400], y[:1400])
    assert clf.network_.input_shape == (1, 8, 8)
    assert clf.score(X[1400:], y[1400:]) >= 0.85  # measured 0.884 (other writers, seed 0)


def test_predict_reads_a_png_with_a_conv_net(tmp_path, capsys):
    """`nnscratch predict` on a conv net trained briefly on MNIST: a PNG of a test digit is
    read as that digit (the MNIST-like preparation feeds the same 784 pixels)."""
    from PIL import Image

    from nnscratch.data import load_mnist

    data = load_mnist("standard", progress=False)
    net = NeuralNetwork.from_architecture(parse_arch("conv8k3,pool2,dense32"), (1, 28, 28), 10,
                                          head_activation="softmax", seed=0, init="he")
    train(net, data.X_train[:6000], data.y_train[:6000], CrossEntropyLoss, 2, 64,
          optimizer="adam", learning_rate=0.003, bar=False)
    path = save(net, tmp_path / "cnn.npz")
    digits = [i for i in range(50) if net.predict(data.X_test[i:i + 1])[0] == data.y_test[i]]
    image = tmp_path / "digit.png"
    Image.fromarray((data.X_test[digits[0]].reshape(28, 28) * 255).astype(np.uint8)).save(image)
    assert main(["predict", str(path), str(image), "--json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out)[0]["digit"] == data.y_test[digits[0]]


def test_colour_rows_are_read_channels_last_as_pytorch_does(rng):
    """A network on (h, w, c) rows equals PyTorch's conv2d, max_pool2d and linear on the same
    pixels permuted to (N, C, H, W), with the same weights: outputs and every gradient."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    net = _net("conv4k3same,pool2,conv5k3,dense6", (3, 8, 10), 3, seed=1)
    x = rng.normal(size=(4, 8 * 10 * 3))  # each row: pixels in (h, w, c) order
    y = rng.integers(0, 3, 4)
    conv1, conv2, dense, head = net.param_layers
    params = [torch.tensor(a, requires_grad=True) for a in (
        conv1.weights, conv1.bias, conv2.weights, conv2.bias, dense.weights, dense.bias[0],
        head.weights, head.bias[0])]
    w1, b1, w2, b2, w3, b3, w4, b4 = params
    xt = torch.tensor(x, requires_grad=True)
    h = F.relu(F.conv2d(xt.reshape(4, 8, 10, 3).permute(0, 3, 1, 2), w1, b1, padding="same"))
    h = F.relu(F.conv2d(F.max_pool2d(h, 2), w2, b2)).flatten(1)
    logits = F.relu(h @ w3 + b3) @ w4 + b4
    loss = F.cross_entropy(logits, torch.tensor(y))  # the mean, as backprop
    loss.backward()

    np.testing.assert_allclose(net.predict_proba(x), F.softmax(logits, 1).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    net.backprop(CrossEntropyLoss, net.forward(x, training=True),
                 np.eye(3)[y], input_grad=True)
    ours = [g for layer in net.param_layers for g in (layer.grad_weights, layer.grad_bias)]
    for mine, theirs in zip(ours, params, strict=True):
        np.testing.assert_allclose(mine.reshape(theirs.shape), theirs.grad.numpy(),
                                   rtol=1e-9, atol=1e-10)


def test_a_version_2_file_of_colour_input_keeps_reading_channels_first(tmp_path, rng):
    """Files written before colour images (format 2) read (c, h, w) rows as they did; new
    ones say channels_last and are version 4."""
    import json

    from nnscratch.serialization import read_metadata

    net = _net("conv4k3,dense5", (3, 6, 6), 3)
    save(net, tmp_path / "new.npz")
    meta = read_metadata(tmp_path / "new.npz")
    assert meta["format_version"] == 4 and meta["channels_last"] is True
    old = dict(np.load(tmp_path / "new.npz"))
    meta.update(format_version=2)
    del meta["channels_last"]
    old["metadata"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(tmp_path / "old.npz", **old)
    legacy = load(tmp_path / "old.npz")
    assert legacy.channels_last is False
    x = rng.normal(size=(2, 3 * 6 * 6))  # (c, h, w) rows for the old file
    hwc = x.reshape(2, 3, 6, 6).transpose(0, 2, 3, 1).reshape(2, -1)
    np.testing.assert_allclose(legacy.predict_proba(x), net.predict_proba(hwc), rtol=1e-12)
    assert _net("conv4k3,dense5", (1, 6, 6), 3).channels_last  # one channel: still version 2
    save(_net("conv4k3,dense5", (1, 6, 6), 3), tmp_path / "grey.npz")
    assert read_metadata(tmp_path / "grey.npz")["format_version"] == 2
