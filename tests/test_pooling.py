"""Average pooling: finite differences, PyTorch as reference, shapes and errors."""

import numpy as np
import pytest

from nnscratch.architecture import parse_arch
from nnscratch.gradcheck import check_gradients, numeric_gradient
from nnscratch.network import NeuralNetwork
from nnscratch.pooling import AvgPool2D, GlobalAvgPool, SubtractImageMean

LAYERS = [(AvgPool2D(2), (2, 3, 7, 6)), (AvgPool2D(3), (1, 2, 9, 10)),
          (GlobalAvgPool(), (3, 2, 5, 4)), (SubtractImageMean(), (3, 2, 5, 4))]


def _in_layout(x, layout):
    """``x`` itself, or a view of channels-last memory (how an image folder's rows and a
    convolution's output reach these layers)."""
    if layout == "nchw":
        return x
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def _relative_error(a, b):
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


@pytest.mark.parametrize(("layer", "shape"), LAYERS)
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_average_pooling_gradients(layer, shape, layout, rng):
    """The input gradient agrees with central differences (float64), odd sizes included
    (the rows a window does not fill get 0)."""
    x = _in_layout(rng.normal(size=shape), layout)
    g = rng.normal(size=layer.forward(x).shape)
    d_x = layer.backward(g)
    err = _relative_error(d_x, numeric_gradient(lambda: float(np.sum(g * layer.forward(x))), x))
    assert err < 1e-8


@pytest.mark.parametrize(("layer", "shape"), LAYERS)
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_average_pooling_matches_pytorch(layer, shape, layout, rng):
    """Forward and input gradient equal avg_pool2d's / adaptive_avg_pool2d's."""
    torch = pytest.importorskip("torch")
    x = _in_layout(rng.normal(size=shape), layout)
    xt = torch.tensor(x, requires_grad=True)
    if isinstance(layer, AvgPool2D):
        out_t = torch.nn.functional.avg_pool2d(xt, layer.pool_size)
    elif isinstance(layer, SubtractImageMean):
        out_t = xt - xt.mean(dim=(2, 3), keepdim=True)
    else:
        out_t = torch.nn.functional.adaptive_avg_pool2d(xt, 1).flatten(1)
    g = rng.normal(size=tuple(out_t.shape))
    out_t.backward(torch.tensor(g))
    np.testing.assert_allclose(layer.forward(x), out_t.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(layer.backward(g), xt.grad.numpy(), rtol=0, atol=1e-12)


def test_a_network_with_average_pooling_passes_the_gradient_check(rng):
    """conv -> avgpool -> conv -> gap -> head: every parameter and the input."""
    net = NeuralNetwork.from_architecture(parse_arch("conv3k3,avgpool2,conv4k3same,gap"),
                                          (1, 9, 8), 3, head_activation="softmax", seed=2,
                                          hidden_activation="tanh", dtype=np.float64)
    assert net.layers[-2].__class__ is GlobalAvgPool
    X = rng.normal(size=(4, 72))
    errors = check_gradients(net, "cross_entropy", X, rng.integers(0, 3, size=4))
    assert max(errors.values()) < 1e-6, errors


def test_average_pooling_shapes_and_errors():
    """Shapes as PyTorch's; a pool larger than the image, or a pooling of flat rows, is one
    ValueError naming both."""
    assert AvgPool2D(2).output_shape((3, 7, 6)) == (3, 3, 3)
    assert GlobalAvgPool().output_shape((5, 4, 4)) == (5,)
    with pytest.raises(ValueError, match=r"AvgPool2D pool 3x3 does not fit the input 2x5"):
        AvgPool2D(3).output_shape((1, 2, 5))
    with pytest.raises(ValueError, match=r"GlobalAvgPool expects \(channels, height, width\) "
                                         r"inputs, the previous layer gives shape \(8,\)"):
        GlobalAvgPool().output_shape((8,))
    with pytest.raises(ValueError, match=r"layer 3, 'gap': a globalavgpool layer cannot "
                                         r"follow a dense layer"):
        parse_arch("conv2k3,dense4,gap")


def test_subtract_image_mean_takes_each_images_colour_away(rng):
    """Every channel of every image has mean 0 after it, whatever colour it had; the shape
    is kept; the token 'center' builds it first, after the channels-last reshape."""
    x = rng.normal(size=(4, 3, 5, 6)) + rng.uniform(-50, 50, size=(4, 3, 1, 1))
    y = SubtractImageMean().forward(x)
    np.testing.assert_allclose(y.mean(axis=(2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y - y[:, :, :1, :1], x - x[:, :, :1, :1], atol=1e-12)
    net = NeuralNetwork.from_architecture(parse_arch("center,conv3k3,gap"), (3, 6, 6), 2,
                                          head_activation="softmax", seed=0,
                                          channels_last=True, dtype=np.float64)
    assert net.layers[1].__class__ is SubtractImageMean
    X = rng.normal(size=(3, 108))
    errors = check_gradients(net, "cross_entropy", X, rng.integers(0, 2, size=3))
    assert max(errors.values()) < 1e-6, errors
    with pytest.raises(ValueError, match=r"layer 2, 'center': a center layer cannot follow "
                                         r"a dense layer"):
        parse_arch("dense4,center")
