"""BatchNorm: finite differences, PyTorch's batch_norm as reference, running statistics."""

import numpy as np
import pytest

from nnscratch.gradcheck import numeric_gradient
from nnscratch.normalization import BatchNorm


def _relative_error(a, b):
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


SHAPES = [(6, 4), (3, 2, 5, 4)]  # dense (N, C) and images (N, C, H, W)
#: How an input is laid out in memory, which picks BatchNorm's path: "rows" (a C-ordered
#: dense batch, or images stored channels-last as a convolution gives them: per-channel
#: sums as products of the (N*H*W, C) rows) or "general" (any other layout).
LAYOUTS = ["rows", "general"]


def _arranged(a, layout):
    """``a`` (same values) in the memory layout that sends it down BatchNorm's ``layout``."""
    if layout == "general":
        return np.asfortranarray(a) if a.ndim == 2 else np.ascontiguousarray(a)
    if a.ndim == 2:
        return np.ascontiguousarray(a)
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def _layer(shape, activation, rng):
    bn = BatchNorm(shape[1], activation, dtype=np.float64)
    bn.weights[...] = rng.normal(1, 0.3, size=bn.weights.shape)
    bn.bias[...] = rng.normal(0, 0.3, size=bn.bias.shape)
    bn.running_mean[...] = rng.normal(size=bn.channels)
    bn.running_var[...] = rng.uniform(0.5, 2, size=bn.channels)
    return bn


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("activation", [None, "tanh", "relu"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_batchnorm_gradients(shape, training, activation, layout, rng):
    """gamma, beta and input gradients agree with central differences (float64), in
    training (batch statistics) and evaluation (running statistics) mode, on both paths."""
    bn = _layer(shape, activation, rng)
    x = _arranged(rng.normal(2, 3, size=shape), layout)
    g = _arranged(rng.normal(size=shape), layout)
    saved = bn.running_mean.copy(), bn.running_var.copy()

    def loss():
        bn.running_mean[...], bn.running_var[...] = saved  # training mode moves them
        return float(np.sum(g * bn.forward(x, training)))

    loss()
    d_x = bn.backward(g)
    for name, array, grad in [("input", x, d_x), ("gamma", bn.weights, bn.grad_weights.copy()),
                              ("beta", bn.bias, bn.grad_bias.copy())]:
        err = _relative_error(grad, numeric_gradient(loss, array))
        assert err < 1e-7, f"{name}: relative error {err:.1e}"


def test_batchnorm_standardises_each_channel_and_tracks_running_statistics(rng):
    """In training the output of each channel has mean beta and standard deviation gamma
    (up to eps); the running statistics move by momentum towards the batch's (unbiased
    variance), and evaluation uses them."""
    bn = BatchNorm(3, dtype=np.float64, momentum=0.5)
    bn.weights[...] = [1.0, 2.0, 0.5]
    bn.bias[...] = [0.0, -1.0, 3.0]
    x = rng.normal([10, -5, 0], [2, 0.1, 30], size=(1000, 3))
    out = bn.forward(x, training=True)
    np.testing.assert_allclose(out.mean(axis=0), bn.bias, atol=1e-9)
    np.testing.assert_allclose(out.std(axis=0), bn.weights, rtol=1e-3)
    np.testing.assert_allclose(bn.running_mean, 0.5 * x.mean(axis=0))
    np.testing.assert_allclose(bn.running_var, 0.5 + 0.5 * x.var(axis=0, ddof=1))
    z = bn.forward(x[:2], training=False)
    expected = (x[:2] - bn.running_mean) / np.sqrt(bn.running_var + bn.eps) * bn.weights \
        + bn.bias
    np.testing.assert_allclose(z, expected)
    scale, shift = bn.fold()
    np.testing.assert_allclose(x[:2] * scale + shift, expected)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_batchnorm_matches_pytorch(shape, training, layout, rng):
    """Forward, running statistics and every gradient equal torch.nn.functional.batch_norm's
    to 1e-6 (float64), on both paths."""
    torch = pytest.importorskip("torch")
    bn = _layer(shape, None, rng)
    x = _arranged(rng.normal(1, 2, size=shape), layout)
    g = _arranged(rng.normal(size=shape), layout)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(bn.weights.copy(), requires_grad=True)
    bt = torch.tensor(bn.bias.copy(), requires_grad=True)
    mean_t, var_t = torch.tensor(bn.running_mean.copy()), torch.tensor(bn.running_var.copy())
    out_t = torch.nn.functional.batch_norm(xt, mean_t, var_t, wt, bt, training=training,
                                           momentum=bn.momentum, eps=bn.eps)
    out_t.backward(torch.tensor(g))
    out = bn.forward(x, training)
    d_x = bn.backward(g)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(bn.running_mean, mean_t.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(bn.running_var, var_t.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(d_x, xt.grad.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(bn.grad_weights, wt.grad.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(bn.grad_bias, bt.grad.numpy(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("training", [True, False])
def test_both_paths_agree_in_float32_on_a_convolutions_map(training, rng):
    """The same map (a 16x8x9x9 float32 batch, mean 3, with a ReLU) through the rows path
    (stored channels-last) and the general path (NCHW): outputs, running statistics and
    gradients agree to float32 rounding, batch after batch (the rows path reuses its work
    arrays), and what the rows path returned for one batch is not changed by the next."""
    shape = (16, 8, 9, 9)
    reference = _layer(shape, "relu", rng)
    layers = {layout: BatchNorm(shape[1], "relu", dtype=np.float32) for layout in LAYOUTS}
    for layer in layers.values():
        for name in ("weights", "bias", "running_mean", "running_var"):
            getattr(layer, name)[...] = getattr(reference, name)
    returned = []
    for _ in range(2):
        x = rng.normal(3, 2, size=shape).astype(np.float32)
        g = rng.normal(size=shape).astype(np.float32)
        results = {}
        for layout, bn in layers.items():
            out = bn.forward(_arranged(x, layout), training)
            d_x = bn.backward(_arranged(g, layout))
            results[layout] = (out, d_x, bn.grad_weights.copy(), bn.grad_bias.copy(),
                               bn.running_mean.copy(), bn.running_var.copy())
        for a, b in zip(results["rows"], results["general"], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
        out, d_x = results["rows"][:2]
        assert out.transpose(0, 2, 3, 1).flags.c_contiguous  # a conv's layout, kept
        returned.append((out, out.copy(), d_x, d_x.copy()))
    for out, out_then, d_x, d_x_then in returned:
        np.testing.assert_array_equal(out, out_then)
        np.testing.assert_array_equal(d_x, d_x_then)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_backward_z_takes_the_gradient_at_z_on_both_paths(shape, training, rng):
    """``backward_z(d_z)`` skips the ReLU's gradient on either path: the same input
    gradient and parameter gradients as the general path's (float64), and ``backward(g)``
    equals ``backward_z(g * (z > 0))``."""
    results = {}
    x, d_z = rng.normal(1, 2, size=shape), rng.normal(size=shape)
    for layout in LAYOUTS:
        bn = _layer(shape, "relu", np.random.default_rng(3))
        out = bn.forward(_arranged(x, layout), training)
        d_x = bn.backward_z(_arranged(d_z, layout))
        results[layout] = (d_x, bn.grad_weights.copy(), bn.grad_bias.copy())
        np.testing.assert_allclose(bn.backward(_arranged(d_z, layout)),
                                   bn.backward_z(_arranged(d_z * (out > 0), layout)),
                                   rtol=1e-12, atol=1e-12)
    for a, b in zip(results["rows"], results["general"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_batchnorm_refuses_bad_arguments_and_shapes():
    """Each mistake is one ValueError naming the argument or both shapes."""
    with pytest.raises(ValueError, match=r"momentum must be in \(0, 1\], got 0"):
        BatchNorm(3, momentum=0)
    with pytest.raises(ValueError, match=r"eps must be > 0, got -1"):
        BatchNorm(3, eps=-1)
    with pytest.raises(ValueError, match="channels"):
        BatchNorm(0)
    with pytest.raises(ValueError, match=r"BatchNorm of 3 channels expects inputs of shape "
                                         r"\(3,\) or \(3, H, W\), the previous layer gives "
                                         r"\(4, 5, 5\)"):
        BatchNorm(3).output_shape((4, 5, 5))


# --- in a network ------------------------------------------------------------------------

def _digits(n=120):
    from nnscratch.data import load_digits

    data = load_digits()
    return data.X_train[:n], data.y_train[:n]


def test_bn_token_builds_conv_bn_relu_and_dense_bn_relu():
    """``conv4k3,bn`` is a convolution without activation, then a batchnorm that applies
    the hidden activation; the model describes and saves one hidden activation."""
    from nnscratch.architecture import format_arch, parse_arch
    from nnscratch.network import NeuralNetwork

    arch = parse_arch("conv4k3,bn,pool2,dense16,bn,drop0.2")
    assert format_arch(arch) == "conv4k3,bn,pool2,dense16,bn,drop0.2"
    net = NeuralNetwork.from_architecture(arch, (1, 8, 8), 10, head_activation="softmax",
                                          seed=0)
    kinds = [(type(layer).__name__, getattr(getattr(layer, "activation", None), "name", None))
             for layer in net.layers]
    assert kinds == [("Reshape", None), ("Conv2D", "identity"), ("BatchNorm", "relu"),
                     ("MaxPool2D", None), ("Flatten", None), ("Layer", "identity"),
                     ("BatchNorm", "relu"), ("Dropout", None), ("Layer", "softmax")]
    assert net.hidden_activation == "relu"
    assert len(net.buffers()) == 4


def test_a_network_with_batchnorm_passes_the_gradient_check(rng):
    """Every parameter of conv -> bn -> pool -> dense -> bn -> head, in training mode (batch
    statistics), against central differences."""
    from nnscratch.architecture import parse_arch
    from nnscratch.gradcheck import check_gradients
    from nnscratch.network import NeuralNetwork

    net = NeuralNetwork.from_architecture(parse_arch("conv3k3,bn,pool2,dense6,bn"), (1, 8, 8),
                                          4, head_activation="softmax", seed=1,
                                          hidden_activation="tanh", dtype=np.float64)
    for layer in net.param_layers:
        layer.bias[...] = rng.normal(scale=0.3, size=layer.bias.shape)
    X = rng.normal(size=(5, 64))
    y = rng.integers(0, 4, size=5)
    errors = check_gradients(net, "cross_entropy", X, y, training=True)
    # The bias of a layer right before a batchnorm has no effect in training (the batch's
    # mean takes it away): its gradient is 0, and a relative error of two ~0s means nothing.
    before_norm = {"layers[1].bias", "layers[5].bias"}
    assert max(e for name, e in errors.items() if name not in before_norm) < 1e-6, errors
    from nnscratch.losses import get_loss

    net64 = net.astype(np.float64)
    net64.backprop(get_loss("cross_entropy"), net64._forward(X, True), y)
    for i in (1, 5):
        assert np.abs(net64.layers[i].grad_bias).max() < 1e-12


def test_a_relu_batchnorm_network_passes_the_gradient_check(rng):
    """The network the bn token builds (ReLU after each batchnorm, the rows path: the
    convolution's map is stored channels-last, the dense batch C-ordered), in training mode,
    against central differences."""
    from nnscratch.architecture import parse_arch
    from nnscratch.gradcheck import check_gradients
    from nnscratch.network import NeuralNetwork

    net = NeuralNetwork.from_architecture(parse_arch("conv3k3,bn,pool2,dense6,bn"), (1, 8, 8),
                                          4, head_activation="softmax", seed=2,
                                          dtype=np.float64)
    X = rng.normal(size=(6, 64))
    y = rng.integers(0, 4, size=6)
    errors = check_gradients(net, "cross_entropy", X, y, training=True)
    before_norm = {"layers[1].bias", "layers[5].bias"}  # no effect in training, as above
    assert max(e for name, e in errors.items() if name not in before_norm) < 1e-6, errors


def test_running_statistics_round_trip_through_the_model_file(tmp_path):
    """Saved and loaded, a batchnorm network has the same running statistics bit for bit
    and predicts the same numbers in evaluation mode."""
    from nnscratch import load, save, train
    from nnscratch.architecture import parse_arch
    from nnscratch.network import NeuralNetwork

    X, y = _digits()
    net = NeuralNetwork.from_architecture(parse_arch("conv4k3,bn,pool2,dense16,bn"),
                                          (1, 8, 8), 10, head_activation="softmax", seed=0)
    train(net, X, y, "cross_entropy", 2, 32, 0.05, bar=False, seed=0)
    assert not np.allclose(net.buffers()[1], 1)  # the running variance moved
    loaded = load(save(net, tmp_path / "m.npz"))
    for a, b in zip(net.buffers(), loaded.buffers(), strict=True):
        assert a.tobytes() == b.tobytes()
    assert np.array_equal(net.predict_proba(X), loaded.predict_proba(X))


def test_a_batchnorm_training_resumes_bit_for_bit(tmp_path):
    """Killed after epoch 2 and continued from its checkpoint, a batchnorm network with
    early stopping ends with the same weights and running statistics as one never
    stopped."""
    from nnscratch import train
    from nnscratch.architecture import parse_arch
    from nnscratch.callbacks import LambdaCallback
    from nnscratch.network import NeuralNetwork

    X, y = _digits()

    def run(checkpoint, callbacks=None):
        net = NeuralNetwork.from_architecture(parse_arch("dense32,bn"), (64,), 10,
                                              head_activation="softmax", seed=0)
        train(net, X, y, "cross_entropy", 4, 16, 0.05, bar=False, seed=0, val_split=0.2,
              patience=10, checkpoint=checkpoint, callbacks=callbacks)
        return net

    def stop(epoch, logs):
        if epoch == 1:  # the second epoch, once checkpointed
            raise RuntimeError("killed")

    straight = run(tmp_path / "a.npz")
    with pytest.raises(RuntimeError, match="killed"):
        run(tmp_path / "b.npz", [LambdaCallback(on_epoch_end=stop)])
    resumed = run(tmp_path / "b.npz")
    for a, b in zip(straight.parameters() + straight.buffers(),
                    resumed.parameters() + resumed.buffers(), strict=True):
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("arch", ["conv4k3,pool2,bn,conv6k3,pool2,bn,dense8",
                                  "conv4k3,bn,pool2,dense8,bn"])
def test_the_benchmarks_pytorch_twin_of_a_batchnorm_network_computes_the_same(arch, rng,
                                                                            benchmark_module):
    """benchmarks/workers.torch_twin (which bench_time_to_accuracy and bench_images train
    beside ours) rebuilds BatchNorm after a pooling (no activation) and before one (with the
    ReLU), in 2-D and 1-D: float64 outputs agree to 1e-10 in training mode (batch
    statistics), and after that batch, in evaluation mode (running statistics)."""
    torch = pytest.importorskip("torch")
    from nnscratch.architecture import parse_arch
    from nnscratch.network import NeuralNetwork

    workers = benchmark_module("workers")
    net = NeuralNetwork.from_architecture(parse_arch(arch), (1, 12, 12), 5,
                                          head_activation="softmax", seed=2, dtype=np.float64)
    for layer in net.layers:  # not the initial gamma = 1, beta = 0, mean 0, variance 1
        if isinstance(layer, BatchNorm):
            for name, low in (("weights", 0.5), ("bias", -1), ("running_mean", -1),
                              ("running_var", 0.5)):
                getattr(layer, name)[...] = rng.uniform(low, 2, size=layer.channels)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # the twin's layers then take float64 weights
    try:
        twin = workers.torch_twin(net)
    finally:
        torch.set_default_dtype(default)
    x = rng.normal(size=(16, 144))
    xt = torch.from_numpy(x).view(-1, 1, 12, 12)
    for training in (True, False):
        twin.train(training)
        with torch.no_grad():
            expected = torch.softmax(twin(xt), dim=1).numpy()
        np.testing.assert_allclose(net.forward(x, training=training), expected, rtol=0,
                                   atol=1e-10)
