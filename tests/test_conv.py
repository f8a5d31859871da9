"""The convolutional layers: finite differences, PyTorch as reference, errors, and MNIST."""

import copy
import pickle
import re
import warnings

import numpy as np
import pytest

from nnscratch import conv as conv_module
from nnscratch.conv import Conv2D, Flatten, MaxPool2D, Reshape, _axis_order
from nnscratch.gradcheck import numeric_gradient
from nnscratch.layers import Layer

_numeric_grad = numeric_gradient  # central differences, as check_gradients computes them


def _relative_error(a, b):
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def _check_layer_gradients(layer, x, rng):
    """Backward of ``layer`` against finite differences of ``L = sum(G * forward(x))``."""
    out = layer.forward(x)
    g = rng.normal(size=out.shape)  # dL/d(output) for the random linear loss
    d_x = layer.backward(g)

    def loss():
        return float(np.sum(g * layer.forward(x)))

    analytic = [("input", x, d_x)]
    names = ("weights", "bias")[:len(layer.parameters())]
    analytic += [(name, array, grad.copy()) for name, array, grad in
                 zip(names, layer.parameters(), layer.gradients(), strict=True)]
    for name, array, grad in analytic:
        assert grad.shape == array.shape, name
        err = _relative_error(grad, _numeric_grad(loss, array))
        assert err < 1e-7, f"{name}: relative error {err:.1e}"


CONV_CASES = [  # in_channels, out_channels, kernel, stride, padding, activation, (H, W)
    (1, 1, 3, 1, "valid", None, (7, 9)),
    (2, 3, 3, 1, "valid", "tanh", (7, 9)),
    (3, 2, 3, 2, "valid", None, (7, 9)),
    (2, 3, 3, 1, "same", "relu", (7, 9)),
    (2, 2, 4, 1, "same", None, (6, 5)),  # even kernel: one more zero at the bottom/right
    (3, 4, 2, 2, 1, "sigmoid", (7, 9)),
    (2, 3, 5, 3, 2, None, (9, 7)),
    (1, 2, 1, 2, 0, "tanh", (5, 6)),
]


@pytest.mark.parametrize("c_in, c_out, k, stride, padding, activation, hw", CONV_CASES)
def test_conv2d_gradients(c_in, c_out, k, stride, padding, activation, hw, rng):
    """Weights, bias and input gradients agree with central differences (float64)."""
    conv = Conv2D(c_in, c_out, k, stride=stride, padding=padding, activation=activation,
                  rng=rng, dtype=np.float64)
    conv.bias[...] = rng.normal(scale=0.5, size=conv.bias.shape)  # keep ReLU off its kink
    _check_layer_gradients(conv, rng.normal(size=(2, c_in, *hw)), rng)


def _channels_last(x):
    """``x`` (N, C, H, W) as a view of channels-last memory, as a convolution returns it."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("pool, stride, hw", [(2, None, (7, 9)), (3, None, (8, 7)),
                                              (3, 2, (7, 9)), (2, 1, (5, 4)), (2, 2, (6, 8))])
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_maxpool_gradients(pool, stride, hw, layout, rng):
    """Max pooling, also with sizes the pool does not divide and overlapping windows; on
    channels-last memory, 2x2 pooling takes its own path (two halvings)."""
    x = rng.normal(size=(2, 3, *hw))
    _check_layer_gradients(MaxPool2D(pool, stride=stride),
                           _channels_last(x) if layout == "channels_last" else x, rng)


@pytest.mark.parametrize("hw", [(8, 8), (7, 9), (2, 3), (3, 2)])
@pytest.mark.parametrize("chunk_bytes", [1 << 20, 100, 300])
@pytest.mark.parametrize("training", [True, False])
def test_maxpool_2x2_on_channels_last_maps_equals_the_general_path(hw, chunk_bytes, training,
                                                                   monkeypatch, rng):
    """A convolution's channels-last output takes the two-halvings path: the same maxima,
    the same winner on ties, the same gradients, bit for bit, and the input's memory order;
    also when the images go a few at a time (chunks of 1, of 2 with a remainder). Out of
    training the forward pass finds no winners; a backward pass after it finds them then."""
    monkeypatch.setattr(conv_module, "_CHUNK_BYTES", chunk_bytes)
    x = rng.integers(0, 3, size=(5, 4, *hw)).astype(np.float32)  # many ties
    fast, general = MaxPool2D(2), MaxPool2D(2)
    out = fast.forward(_channels_last(x), training)
    expected = general.forward(x, training)
    assert fast._argmax is None and general._argmax is not None  # each took its path
    assert (fast._right is None) == (not training)
    np.testing.assert_array_equal(out, expected)
    assert _axis_order(out) == _axis_order(_channels_last(expected))
    g = rng.normal(size=out.shape).astype(np.float32)
    d_x = fast.backward(_channels_last(g))
    np.testing.assert_array_equal(d_x, general.backward(g))
    assert _axis_order(d_x) == (0, 2, 3, 1)
    np.testing.assert_array_equal(fast.backward(g), d_x)  # a C-ordered gradient as well


@pytest.mark.parametrize("layer, shape", [(Flatten(), (3, 2, 4, 5)),
                                          (Reshape((2, 3, 4)), (3, 24)),
                                          (Reshape(6), (2, 1, 2, 3))])
def test_flatten_and_reshape_gradients(layer, shape, rng):
    _check_layer_gradients(layer, rng.normal(size=shape), rng)


@pytest.mark.parametrize("c_in, c_out, k, stride, padding, activation, hw", CONV_CASES)
def test_output_shape_matches_forward(c_in, c_out, k, stride, padding, activation, hw, rng):
    """``output_shape`` predicts the forward pass's per-sample shape."""
    conv = Conv2D(c_in, c_out, k, stride=stride, padding=padding, rng=rng)
    x = rng.normal(size=(3, c_in, *hw)).astype(np.float32)
    out = conv.forward(x)
    assert out.shape == (3, *conv.output_shape((c_in, *hw)))
    assert out.dtype == np.float32
    if padding == "same":
        assert out.shape[2:] == hw
    pool = MaxPool2D(2)
    assert pool.forward(out).shape == (3, *pool.output_shape(out.shape[1:]))
    assert Flatten().output_shape(out.shape[1:]) == (out[0].size,)


def test_1x1_convolution_is_a_dense_layer_per_pixel(rng):
    """A 1x1 convolution is a Dense ``Layer`` applied to each pixel's channel vector."""
    dense = Layer(4, 3, "tanh", rng=rng, dtype=np.float64)
    dense.bias[...] = rng.normal(size=dense.bias.shape)
    conv = Conv2D(4, 3, 1, activation="tanh", dtype=np.float64)
    conv.weights[...] = dense.weights.T[:, :, None, None]
    conv.bias[...] = dense.bias[0]
    x = rng.normal(size=(2, 4, 5, 6))
    pixels = x.transpose(0, 2, 3, 1).reshape(-1, 4)  # (N*H*W, C)
    expected = dense.forward(pixels).reshape(2, 5, 6, 3).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(conv.forward(x), expected, rtol=1e-12, atol=1e-12)

    g = rng.normal(size=expected.shape)
    d_x = conv.backward(g)
    d_pixels = dense.backward(g.transpose(0, 2, 3, 1).reshape(-1, 3))
    np.testing.assert_allclose(d_x, d_pixels.reshape(2, 5, 6, 4).transpose(0, 3, 1, 2),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv.grad_weights[:, :, 0, 0], dense.grad_weights.T,
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv.grad_bias, dense.grad_bias[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, c_out, stride, padding", [(256, 16, 1, "valid"), (7, 32, 1, "same"),
                                                       (64, 8, 2, 1)])
def test_one_channel_columns_built_transposed_give_the_row_layouts_numbers(
        n, c_out, stride, padding, dtype, rng):
    """One input channel: the im2col matrix is built as its transpose (a row per kernel
    offset), which the products read as it is; the output and the weight and bias gradients
    are the row layout's (one row per output pixel, as for several channels), bit for bit."""
    from numpy.lib.stride_tricks import sliding_window_view

    conv = Conv2D(1, c_out, 3, stride=stride, padding=padding, rng=rng, dtype=dtype)
    conv.bias[...] = rng.normal(size=c_out)
    x = rng.random((n, 1, 28, 28)).astype(dtype)
    z = conv.forward_z(x)
    g = rng.normal(size=z.shape).astype(dtype)
    conv.backward_z(g, input_grad=False)
    pad = conv.pads[0]
    padded = np.pad(x[:, 0], ((0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(padded, (3, 3), axis=(1, 2))[:, ::stride, ::stride]
    rows = np.concatenate([windows.reshape(-1, 9), np.ones((windows[..., 0, 0].size, 1),
                                                           dtype)], axis=1)
    w_b = np.concatenate([conv.weights.reshape(c_out, 9), conv.bias[:, None]], axis=1)
    assert rows.flags.c_contiguous and not conv._cols.flags.c_contiguous
    np.testing.assert_array_equal(z.transpose(0, 2, 3, 1).reshape(-1, c_out), rows @ w_b.T)
    d_w_b = g.transpose(0, 2, 3, 1).reshape(-1, c_out).T @ rows
    np.testing.assert_array_equal(conv.grad_weights.reshape(c_out, 9), d_w_b[:, :-1])
    np.testing.assert_array_equal(conv.grad_bias, d_w_b[:, -1])


TORCH_CONV_CASES = [  # in, out, kernel, stride, padding, (H, W)
    (1, 4, 3, 1, "valid", (28, 28)),
    (3, 5, 3, 2, 1, (7, 9)),
    (3, 5, 3, 1, "same", (7, 9)),
    (2, 3, 4, 1, "same", (8, 7)),
    (4, 6, 5, 3, 2, (11, 10)),
    (2, 3, 2, 2, 0, (9, 9)),
]


def _torch_conv(torch, x, conv, padding):
    """PyTorch's forward and its weight, bias and input gradients for ``sum(G * out)``."""
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(conv.weights, requires_grad=True)
    bt = torch.tensor(conv.bias, requires_grad=True)
    with warnings.catch_warnings():  # PyTorch warns that an even "same" kernel copies x
        warnings.filterwarnings("ignore", "Using padding='same' with even kernel",
                                UserWarning)
        out = torch.nn.functional.conv2d(xt, wt, bt, stride=conv.stride, padding=padding)
    return out, xt, wt, bt


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-5)])
@pytest.mark.parametrize("c_in, c_out, k, stride, padding, hw", TORCH_CONV_CASES)
def test_conv2d_matches_pytorch(c_in, c_out, k, stride, padding, hw, dtype, tol, rng):
    """Forward, weight, bias and input gradients equal ``torch.nn.functional.conv2d``'s."""
    torch = pytest.importorskip("torch")
    conv = Conv2D(c_in, c_out, k, stride=stride, padding=padding, rng=rng, dtype=dtype)
    conv.bias[...] = rng.normal(size=c_out)
    x = rng.normal(size=(3, c_in, *hw)).astype(dtype)
    out, xt, wt, bt = _torch_conv(torch, x, conv, padding)
    g = rng.normal(size=out.shape).astype(dtype)
    out.backward(torch.tensor(g))

    ours = conv.forward(x)
    d_x = conv.backward(g)
    for name, mine, theirs in [("output", ours, out), ("input", d_x, xt.grad),
                               ("weights", conv.grad_weights, wt.grad),
                               ("bias", conv.grad_bias, bt.grad)]:
        theirs = theirs.detach().numpy()
        scale = max(1.0, float(np.abs(theirs).max()))
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=tol * scale, err_msg=name)


@pytest.mark.parametrize("pool, stride, hw", [(2, None, (28, 28)), (2, None, (7, 9)),
                                              (3, 2, (9, 8)), (2, 1, (5, 6)), (3, 3, (10, 11)),
                                              (17, 2, (20, 19))])  # 289 offsets: uint16
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_maxpool_matches_pytorch(pool, stride, hw, ties, layout, rng):
    """Forward and input gradient equal ``max_pool2d``'s, ties routed to the same input."""
    torch = pytest.importorskip("torch")
    x = rng.integers(0, 3, size=(2, 3, *hw)) if ties else rng.normal(size=(2, 3, *hw))
    x = x.astype(np.float64)
    x = _channels_last(x) if layout == "channels_last" else x
    xt = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.max_pool2d(xt, pool, stride)
    g = rng.normal(size=out.shape)
    out.backward(torch.tensor(g))

    layer = MaxPool2D(pool, stride=stride)
    np.testing.assert_array_equal(layer.forward(x), out.detach().numpy())
    np.testing.assert_allclose(layer.backward(g), xt.grad.numpy(), rtol=0, atol=1e-12)


def test_stack_matches_pytorch_including_channels_last_memory(rng):
    """conv-relu-pool-conv-relu-pool-flatten: our channels-last intermediates give PyTorch's
    (c, h, w)-ordered features and gradients."""
    torch = pytest.importorskip("torch")
    conv1 = Conv2D(1, 4, 3, activation="relu", rng=rng, dtype=np.float64)
    conv2 = Conv2D(4, 6, 3, padding="same", activation="relu", rng=rng, dtype=np.float64)
    layers = [Reshape((1, 12, 12)), conv1, MaxPool2D(2), conv2, MaxPool2D(2), Flatten()]
    for conv in (conv1, conv2):
        conv.bias[...] = rng.normal(scale=0.1, size=conv.bias.shape)
    x = rng.normal(size=(5, 144))
    a = x
    for layer in layers:
        a = layer.forward(a)
    g = rng.normal(size=a.shape)
    d = g
    for layer in reversed(layers):
        d = layer.backward(d)

    F = torch.nn.functional
    xt = torch.tensor(x, requires_grad=True)
    w1, b1, w2, b2 = (torch.tensor(p, requires_grad=True)
                      for p in (*conv1.parameters(), *conv2.parameters()))
    h = F.max_pool2d(F.relu(F.conv2d(xt.reshape(5, 1, 12, 12), w1, b1)), 2)
    out = F.max_pool2d(F.relu(F.conv2d(h, w2, b2, padding="same")), 2).flatten(1)
    out.backward(torch.tensor(g))
    np.testing.assert_allclose(a, out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(d, xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(conv1.grad_weights, w1.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(conv2.grad_bias, b2.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("make, message", [
    (lambda: Conv2D(1, 4, 5).output_shape((1, 3, 3)),
     "Conv2D kernel 5x5 does not fit the padded input 3x3 (input (1, 3, 3), padding 0)"),
    (lambda: Conv2D(1, 4, 7, padding=1).output_shape((1, 4, 9)),
     "Conv2D kernel 7x7 does not fit the padded input 6x11 (input (1, 4, 9), padding 1)"),
    (lambda: Conv2D(1, 4, 3, stride=0), "stride must be an integer >= 1, got 0"),
    (lambda: Conv2D(1, 4, 3, stride=-2), "stride must be an integer >= 1, got -2"),
    (lambda: Conv2D(1, 4, 3, stride=1.5), "stride must be an integer >= 1, got 1.5"),
    (lambda: Conv2D(3, 4, 3).output_shape((1, 28, 28)),
     "Conv2D expects 3 input channels, the previous layer gives 1"),
    (lambda: Conv2D(1, 4, 3).output_shape((784,)),
     "Conv2D expects (channels, height, width) inputs, the previous layer gives shape (784,)"),
    (lambda: Conv2D(1, 4, 3, stride=2, padding="same"),
     "padding='same' needs stride=1 (as in PyTorch), got stride=2"),
    (lambda: Conv2D(1, 4, 3, padding="full"),
     "padding must be one of ['valid', 'same'] or an integer >= 0, got 'full'"),
    (lambda: Conv2D(1, 4, 3, padding=-1), "padding must be an integer >= 0, got -1"),
    (lambda: Conv2D(1, 4, 0), "kernel_size must be an integer >= 1, got 0"),
    (lambda: Conv2D(0, 4, 3), "in_channels must be an integer >= 1, got 0"),
    (lambda: Conv2D(1, 4, 3, dtype=np.float16), "dtype must be float32 or float64"),
    (lambda: Conv2D(1, 4, 3, init="zeros"), "init must be one of"),
    (lambda: Reshape((1, 28, 28)).output_shape((783,)),
     "input has 783 features; Reshape((1, 28, 28)) needs 784"),
    (lambda: Reshape((1, 0, 28)), "shape entries must be an integer >= 1, got 0"),
    (lambda: MaxPool2D(3).output_shape((4, 2, 5)),
     "MaxPool2D pool 3x3 does not fit the input 2x5 (input (4, 2, 5))"),
    (lambda: MaxPool2D(2).output_shape((10,)),
     "MaxPool2D expects (channels, height, width) inputs, the previous layer gives shape"),
    (lambda: MaxPool2D(0), "pool_size must be an integer >= 1, got 0"),
    (lambda: MaxPool2D(2, stride=0), "stride must be an integer >= 1, got 0"),
])
def test_errors_name_the_shapes_and_arguments(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_input_grad_false_skips_the_input_gradient(rng):
    conv = Conv2D(2, 3, 3, rng=rng)
    x = rng.normal(size=(2, 2, 6, 6)).astype(np.float32)
    g = rng.normal(size=(2, 3, 4, 4)).astype(np.float32)
    conv.forward(x)
    assert conv.backward(g, input_grad=False) is None
    grads = [a.copy() for a in conv.gradients()]
    conv.forward(x)
    assert conv.backward(g).shape == x.shape
    for before, after in zip(grads, conv.gradients(), strict=True):
        np.testing.assert_array_equal(before, after)
    for layer, shape in [(MaxPool2D(2), x.shape), (Flatten(), x.shape)]:
        layer.forward(x)
        assert layer.backward(np.ones((2, *layer.output_shape(shape[1:]))),
                              input_grad=False) is None


def test_parameters_may_be_views_of_one_flat_buffer(rng):
    """The network replaces weights, bias and their gradients by views of flat vectors: the
    layer writes its gradients into them and its SGD step updates them in place."""
    conv = Conv2D(2, 3, 3, padding=1, rng=rng, dtype=np.float64)
    sizes = [a.size for a in conv.parameters()]
    flat, flat_grad = np.empty(sum(sizes)), np.zeros(sum(sizes))
    flat[:] = np.concatenate([a.ravel() for a in conv.parameters()])
    conv.weights = flat[:sizes[0]].reshape(conv.weights.shape)
    conv.bias = flat[sizes[0]:]
    conv.grad_weights = flat_grad[:sizes[0]].reshape(conv.weights.shape)
    conv.grad_bias = flat_grad[sizes[0]:]
    before = flat.copy()
    x = rng.normal(size=(2, 2, 5, 5))
    conv.forward(x)
    conv.backward(rng.normal(size=(2, 3, 5, 5)), learning_rate=0.1)
    assert np.abs(flat_grad).min() > 0  # every gradient landed in the flat vector
    np.testing.assert_allclose(flat, before - 0.1 * flat_grad)
    assert all(np.shares_memory(a, flat) for a in conv.parameters())


def test_outputs_are_not_overwritten_by_the_next_batch(rng):
    """Work buffers are reused between batches, returned arrays never are."""
    conv, pool = Conv2D(1, 2, 3, padding="same", rng=rng), MaxPool2D(2)
    x1, x2 = rng.normal(size=(2, 4, 1, 6, 6)).astype(np.float32)
    out1 = pool.forward(conv.forward(x1))
    d1 = conv.backward(pool.backward(np.ones_like(out1)))
    saved = out1.copy(), d1.copy()
    out2 = pool.forward(conv.forward(x2))
    conv.backward(pool.backward(np.ones_like(out2)))
    np.testing.assert_array_equal(out1, saved[0])
    np.testing.assert_array_equal(d1, saved[1])


def test_pickle_and_copy_drop_the_caches_and_keep_working(rng):
    conv, pool, flat = Conv2D(1, 2, 3, activation="relu", rng=rng), MaxPool2D(2), Flatten()
    reshape = Reshape((1, 8, 8))
    x = reshape.forward(rng.normal(size=(3, 64)).astype(np.float32))
    out = flat.forward(pool.forward(conv.forward(x)))
    for layer in (reshape, conv, pool, flat):
        clone = pickle.loads(pickle.dumps(layer))
        assert not [k for k in vars(clone) if k.startswith("_")], vars(clone).keys()
    conv2 = copy.deepcopy(conv)
    np.testing.assert_array_equal(conv2.weights, conv.weights)
    np.testing.assert_array_equal(flat.forward(pool.forward(conv2.forward(x))), out)
    assert repr(conv) == ("Conv2D(1, 2, 3, stride=1, padding='valid', activation='relu', "
                          "dtype=float32)")
    assert repr(MaxPool2D(3, stride=2)) == "MaxPool2D(3, stride=2)"
    assert repr(Reshape((1, 28, 28))) == "Reshape((1, 28, 28))"
    assert Flatten().parameters() == [] and Reshape(4).gradients() == []


def test_initialisation_uses_the_generator_and_the_conv_fans():
    """Same seed, same kernels; He uses fan_in = C*k*k; Glorot's fan_out is out*k*k."""
    a, b = Conv2D(8, 16, 3, rng=0), Conv2D(8, 16, 3, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(a.weights, b.weights)
    assert a.weights.shape == (16, 8, 3, 3) and a.bias.shape == (16,)
    assert a.weights.dtype == np.float32 and not a.bias.any()
    big = Conv2D(32, 64, 3, rng=1, dtype=np.float64)
    assert big.weights.std() == pytest.approx(np.sqrt(2 / (32 * 9)), rel=0.02)
    glorot = Conv2D(32, 64, 3, init="glorot", rng=1)
    limit = np.sqrt(6 / (32 * 9 + 64 * 9))
    assert 0.99 * limit < np.abs(glorot.weights).max() <= limit


def test_tiny_cnn_learns_mnist_in_one_epoch():
    """Reshape-conv-pool-flatten-dense trained by hand with SGD on 6,000 MNIST images for
    one epoch: over 85% on 1,000 test images (measured 86.5-92% over seeds, 90% for seed 0;
    about 0.2 s)."""
    from nnscratch.data import load_mnist

    data = load_mnist(split="standard", progress=False)
    X, y = data.X_train[:6000], data.y_train[:6000]
    rng = np.random.default_rng(0)
    layers = [Reshape((1, 28, 28)), Conv2D(1, 8, 3, activation="relu", rng=rng),
              MaxPool2D(2), Flatten(), Layer(8 * 13 * 13, 10, "softmax", init="he", rng=rng)]
    order = rng.permutation(len(X))
    for start in range(0, len(X), 32):
        batch = order[start:start + 32]
        a = X[batch]
        for layer in layers:
            a = layer.forward(a, training=True)
        d_z = a.copy()  # softmax + cross-entropy: dL/dz = (p - onehot(y)) / N
        d_z[np.arange(len(batch)), y[batch]] -= 1
        d = layers[-1].backward_z(d_z / len(batch), 0.2)
        for i in range(len(layers) - 2, 0, -1):
            d = layers[i].backward(d, 0.2, input_grad=i > 1)
    a = data.X_test[:1000]
    for layer in layers:
        a = layer.forward(a)
    assert np.mean(a.argmax(axis=1) == data.y_test[:1000]) > 0.85
