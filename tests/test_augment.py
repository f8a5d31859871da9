"""On-the-fly augmentation: each distortion against an independent reference, determinism,
the prefetching thread, and the errors of every bad argument."""

import math
import threading
import time

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter, map_coordinates

from nnscratch.augment import AUGMENTATIONS, Affine, Prefetcher, make_augmenter

KINDS = [k for k in AUGMENTATIONS if k != "none"]
GEOMETRIC = [k for k in KINDS if k != "jitter"]  # move the ink, keep its amount
SHAPE = (28, 28)


@pytest.fixture(scope="module")
def digits28():
    """Sixty-four 8x8 scikit-learn digits upscaled to 28x28, ink bright on black, [0, 1]."""
    from sklearn.datasets import load_digits

    small = load_digits().data[:64].reshape(-1, 8, 8) / 16.0
    big = np.zeros((64, 28, 28))
    big[:, 2:26, 2:26] = small.repeat(3, axis=1).repeat(3, axis=2)
    return big.reshape(64, -1)


def _augment(kind, seed=0, **params):
    return make_augmenter(kind, SHAPE, np.random.default_rng(seed), **params)


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_distortions_and_fresh_ones_each_call(kind, digits28):
    """The same seed gives the same batches; each call draws new distortions."""
    a, b = _augment(kind), _augment(kind)
    first, second = a(digits28), a(digits28)
    np.testing.assert_array_equal(first, b(digits28))
    np.testing.assert_array_equal(second, b(digits28))
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, _augment(kind, seed=1)(digits28))


@pytest.mark.parametrize("kind", GEOMETRIC)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_shape_dtype_range_and_most_ink(kind, dtype, digits28):
    """Pixels stay in [0, 1], the shape and dtype are kept, and most of the ink survives."""
    x = digits28.astype(dtype)
    out = _augment(kind)(x)
    assert out.shape == x.shape and out.dtype == dtype and out is not x
    assert out.min() >= 0 and out.max() <= 1
    ratio = out.sum(axis=1) / x.sum(axis=1)
    assert np.all((ratio > 0.6) & (ratio < 1.5)), ratio.min()
    assert 0.9 < ratio.mean() < 1.1
    assert not np.array_equal(out, x)


@pytest.mark.parametrize("kind", KINDS)
def test_writes_into_out_even_when_it_is_the_input(kind, digits28):
    """``out=`` gets the same result as a new array, also when ``out`` is ``x``."""
    x = digits28.astype(np.float32)
    expected = _augment(kind)(x)
    in_place = x.copy()
    assert _augment(kind)(in_place, out=in_place) is in_place
    np.testing.assert_array_equal(in_place, expected)


def test_zero_parameters_are_the_identity(digits28):
    """No shift, an identity affine map and alpha = 0 return the input."""
    x = digits28.astype(np.float32)
    identity = {"shift": {"max_shift": 0},
                "affine": {"rotation": (0, 0), "shear": (0, 0), "scale": (1, 1),
                           "translation": (0, 0)},
                "elastic": {"alpha": 0.0}}
    for kind, params in identity.items():
        np.testing.assert_allclose(_augment(kind, **params)(x), x, atol=1e-6, err_msg=kind)


def test_shift_moves_an_image_by_the_drawn_amount():
    """Each image moves by its drawn (dy, dx): compared with np.roll on a zero-bordered image."""
    x = np.zeros((50, 28, 28))
    x[:, 10:18, 9:20] = np.random.default_rng(3).random((50, 8, 11))
    shifts = _augment("shift", seed=7).draw(50)
    out = _augment("shift", seed=7)(x.reshape(50, -1)).reshape(50, 28, 28)
    assert set(np.unique(shifts)) == {-2, -1, 0, 1, 2}
    for image, moved, (dy, dx) in zip(x, out, shifts, strict=True):
        np.testing.assert_array_equal(moved, np.roll(image, (dy, dx), axis=(0, 1)))


def test_shift_fills_with_zeros():
    """What comes in from outside the image is black."""
    out = _augment("shift", seed=0, max_shift=3)(np.ones((40, 784))).reshape(40, 28, 28)
    dark = 784 - out.reshape(40, -1).sum(axis=1)
    shifts = _augment("shift", seed=0, max_shift=3).draw(40)
    expected = 784 - (28 - np.abs(shifts[:, 0])) * (28 - np.abs(shifts[:, 1]))
    np.testing.assert_array_equal(dark, expected)


def test_affine_rotation_by_90_degrees_is_rot90(digits28):
    """A rotation of exactly 90° turns every image anticlockwise, as np.rot90 does."""
    x = digits28.reshape(-1, 28, 28)
    rotate = _augment("affine", rotation=(90, 90), shear=(0, 0), scale=(1, 1),
                      translation=(0, 0))
    out = rotate(digits28).reshape(-1, 28, 28)
    np.testing.assert_allclose(out, np.rot90(x, 1, axes=(1, 2)), atol=1e-12)


def test_affine_scaling_and_shear_move_a_point_where_the_matrix_says():
    """A single bright pixel lands where c + A (p - c) + t puts it, for random maps."""
    H = W = 28
    augment = _augment("affine", seed=5, rotation=(-30, 30), shear=(-20, 20),
                       scale=(0.8, 1.2), translation=(-2, 2))
    A_inv, t = _augment("affine", seed=5, rotation=(-30, 30), shear=(-20, 20),
                        scale=(0.8, 1.2), translation=(-2, 2)).draw(20)
    x = np.zeros((20, H, W))
    x[:, 17, 10] = 1.0  # row 17, column 10
    out = augment(x.reshape(20, -1)).reshape(20, H, W)
    c = np.array([(W - 1) / 2, (H - 1) / 2])
    for image, Ai, ti in zip(out, A_inv, t, strict=True):
        expected = c + np.linalg.solve(Ai, np.array([10, 17]) - c) + ti  # (x, y)
        rows, cols = np.indices((H, W))
        centre = np.array([(image * cols).sum(), (image * rows).sum()]) / image.sum()
        np.testing.assert_allclose(centre, expected, atol=0.25)


def test_elastic_smoothing_is_scipys_gaussian_filter():
    """The displacement fields are alpha * gaussian_filter(uniform [-1, 1], sigma) exactly."""
    fields = _augment("elastic", seed=4, sigma=3.0, alpha=20.0).displacements(6)
    u = np.random.default_rng(4).random((6, 2, 28, 28)) * 2 - 1
    np.testing.assert_allclose(fields, 20.0 * gaussian_filter(u, sigma=(0, 0, 3, 3)),
                               atol=1e-12)


def test_elastic_displacement_statistics():
    """Away from the edges each component has the theoretical standard deviation, and on
    28x28 digits the mean displacement is ~2.2 pixels (more than the 1.73 of an unbounded
    field: the reflecting edges repeat the same draws)."""
    sigma, alpha = 4.0, 34.0
    # uniform [-1, 1] has variance 1/3; a normalised 2-D Gaussian's sum of squared weights
    # is 1 / (4 pi sigma^2): the smoothed field's variance is their product.
    std = alpha * math.sqrt(1 / 3 / (4 * math.pi * sigma**2))  # 1.384 pixels
    big = make_augmenter("elastic", (160, 160), np.random.default_rng(0)).displacements(8)
    interior = big[:, :, 40:-40, 40:-40]
    assert abs(interior.std() / std - 1) < 0.05
    assert abs(interior.mean()) < 0.1
    small = _augment("elastic", seed=1).displacements(200)
    magnitude = np.hypot(small[:, 0], small[:, 1]).mean()
    assert 2.0 < magnitude < 2.4, magnitude


def test_elastic_resampling_matches_map_coordinates(digits28):
    """The bilinear gather equals scipy's map_coordinates(order=1) with zero fill."""
    augment = _augment("elastic", seed=2)
    out = augment(digits28).reshape(-1, 28, 28)
    d = _augment("elastic", seed=2).displacements(len(digits28))
    rows, cols = np.indices(SHAPE)
    b = np.broadcast_to(np.arange(len(d))[:, None, None], d[:, 0].shape)
    ref = map_coordinates(digits28.reshape(-1, 28, 28), [b, rows + d[:, 0], cols + d[:, 1]],
                          order=1, mode="grid-constant")
    np.testing.assert_allclose(out, np.clip(ref, 0, 1), atol=1e-12)


def test_empty_batch():
    """A batch of no images comes back empty."""
    for kind in KINDS:
        assert _augment(kind)(np.empty((0, 784), np.float32)).shape == (0, 784)


def test_make_augmenter_none_and_repr():
    """"none" gives None; the others say what they are."""
    assert make_augmenter("none", SHAPE, np.random.default_rng(0)) is None
    assert isinstance(_augment("affine"), Affine)
    assert repr(_augment("elastic")) == "Elastic(sigma=4.0, alpha=34.0)"


@pytest.mark.parametrize(("call", "match"), [
    (lambda: make_augmenter("rotate", SHAPE, np.random.default_rng(0)),
     r"kind must be one of \['none', 'shift', 'affine', 'elastic', 'flip', 'jitter'\], "
     r"got 'rotate'"),
    (lambda: make_augmenter("shift", SHAPE, 0), "rng must be a numpy.random.Generator"),
    (lambda: make_augmenter("shift", SHAPE, np.random.RandomState(0)),
     "rng must be a numpy.random.Generator.*got RandomState"),
    (lambda: make_augmenter("shift", (28,), np.random.default_rng(0)),
     r"image_shape must be two positive integers \(height, width\), or three \(height, "
    r"width, channels\), got \(28,\)"),
    (lambda: make_augmenter("shift", (28, 0), np.random.default_rng(0)), "image_shape"),
    (lambda: _augment("shift")(np.zeros((4, 783))),
     r"x must be a float32 or float64 array of shape \(B, 784\) for images of shape "
     r"\(28, 28\), got a float64 array of shape \(4, 783\)"),
    (lambda: _augment("shift")(np.zeros((4, 784), int)), "x must be a float32 or float64"),
    (lambda: _augment("shift")([[0.0] * 784]), "x must be .*got list"),
    (lambda: _augment("elastic")(np.zeros((4, 784)), out=np.zeros((4, 784), np.float32)),
     "out must be a C-contiguous float64 array of shape"),
    (lambda: _augment("shift", max_shift=-1), "max_shift must be an integer >= 0, got -1"),
    (lambda: _augment("elastic", sigma=0), "sigma must be a positive finite number, got 0"),
    (lambda: _augment("elastic", alpha=-1.0), "alpha must be a finite number >= 0"),
    (lambda: _augment("elastic", beta=1),
     r"augmentation 'elastic' takes the parameters \['sigma', 'alpha'\], got 'beta'"),
    (lambda: _augment("affine", rotation=15), r"rotation must be a \(low, high\) pair"),
    (lambda: _augment("affine", scale=(1.1, 0.9)), "scale must be .*low <= high"),
    (lambda: _augment("affine", scale=(0, 1)), "scale must be a positive finite number, got 0"),
    (lambda: _augment("affine", shear=(-90, 0)), r"shear must be a number in \(-90, 90\)"),
    (lambda: make_augmenter("none", SHAPE, np.random.default_rng(0), alpha=1),
     "takes no parameters"),
    (lambda: Prefetcher([], None, depth=0), "depth must be an integer >= 1, got 0"),
    (lambda: Prefetcher([], "shift"), "augment must be callable or None, got str"),
])
def test_bad_arguments_are_named(call, match):
    """Every bad argument is refused with a message naming it."""
    with pytest.raises(ValueError, match=match):
        call()


# --- the prefetching thread -----------------------------------------------------------------
def _reused_buffer_batches(X, y, batch_size, rng):
    """Batches in a shuffled order, gathered into one reused buffer (as train's are)."""
    x_buf, y_buf = np.empty((batch_size, X.shape[1])), np.empty(batch_size, y.dtype)
    order = rng.permutation(len(X))
    for i in range(0, len(X), batch_size):
        idx = order[i:i + batch_size]
        yield (X.take(idx, axis=0, out=x_buf[:len(idx)]),
               y.take(idx, out=y_buf[:len(idx)]))


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "nnscratch-prefetch"]


@pytest.mark.parametrize("kind", ["none", "elastic"])
@pytest.mark.parametrize("depth", [1, 3])
def test_prefetcher_yields_the_same_sequence(kind, depth, digits28):
    """With or without the thread: the same batches, order and distortions (last one short)."""
    y = np.arange(len(digits28))
    plain = []
    augment = make_augmenter(kind, SHAPE, np.random.default_rng(9))
    for xb, yb in _reused_buffer_batches(digits28, y, 10, np.random.default_rng(8)):
        plain.append((xb.copy() if augment is None else augment(xb), yb.copy()))
    augment = make_augmenter(kind, SHAPE, np.random.default_rng(9))
    with Prefetcher(_reused_buffer_batches(digits28, y, 10, np.random.default_rng(8)),
                    augment, depth=depth) as prefetched:
        got = [(xb.copy(), yb.copy()) for xb, yb in prefetched]
        time.sleep(0.01)
    assert len(got) == len(plain) == 7 and len(got[-1][1]) == 4
    for (x1, y1), (x2, y2) in zip(plain, got, strict=True):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    assert not _prefetch_threads()


def test_prefetcher_stops_its_thread_on_an_exception_in_the_loop(digits28):
    """An exception in the training loop (or a break) leaves no thread behind."""
    y = np.arange(len(digits28))
    batches = _reused_buffer_batches(np.tile(digits28, (50, 1)), np.tile(y, 50), 8,
                                     np.random.default_rng(0))
    with pytest.raises(KeyboardInterrupt), Prefetcher(batches, _augment("affine")) as p:
        for n, _ in enumerate(p):
            if n == 2:
                raise KeyboardInterrupt  # as a Ctrl-C would
    assert not _prefetch_threads()


def test_prefetcher_raises_what_the_thread_raised(digits28):
    """An error in the batches or the augmenter reaches the loop, and the thread ends."""
    def failing():
        yield digits28[:5], np.zeros(5)
        raise OSError("disk gone")

    seen = []
    with pytest.raises(OSError, match="disk gone"), Prefetcher(failing(), None) as p:
        seen.extend(p)
    assert len(seen) == 1 and not _prefetch_threads()
    with pytest.raises(ValueError, match="x must be"), \
            Prefetcher([(np.zeros((2, 5)), np.zeros(2))], _augment("shift")) as p:
        list(p)
    assert not _prefetch_threads()


def test_prefetcher_outside_with_refuses_to_iterate():
    """Iterating without the with block is a clear error, not a hang."""
    with pytest.raises(RuntimeError, match="inside its with block"):
        list(Prefetcher([], None))


# --- the figure -----------------------------------------------------------------------------
def test_plot_augmentations_shows_the_digit_and_its_distortions(tmp_path, digits28):
    """One row per kind: the digit, then n distortions drawn from the Generator."""
    from nnscratch.plots import plot_augmentations, save_figure

    fig = plot_augmentations(digits28[0], np.random.default_rng(0), kinds=("shift", "elastic"),
                             n=4)
    shown = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(shown) == 2 * 5
    np.testing.assert_array_equal(shown[0], digits28[0].reshape(28, 28))
    expected = _augment("shift", seed=0)(np.repeat(digits28[:1], 4, axis=0))
    np.testing.assert_array_equal(np.array(shown[1:5]).reshape(4, -1), expected)
    save_figure(fig, tmp_path / "augmentations.png")
    assert (tmp_path / "augmentations.png").stat().st_size > 1000


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"kinds": ("warp",)}, r"kinds must be some of \['shift', 'affine', 'elastic', 'flip', "
                           r"'jitter'\]"),
    ({"kinds": ("none",)}, "kinds must be some of"),
    ({"n": 0}, "n must be an integer >= 1"),
    ({"image_shape": (20, 20)}, "image_shape"),
])
def test_plot_augmentations_rejects_bad_arguments(kwargs, match, digits28):
    """Bad kinds, counts and shapes are named."""
    from nnscratch.plots import plot_augmentations

    with pytest.raises(ValueError, match=match):
        plot_augmentations(digits28[0], np.random.default_rng(0), **kwargs)


def test_augmented_training_is_reproducible_and_differs_from_plain(tmp_path):
    """`train --augment shift`: the same seed gives bit-identical runs (the distortions come
    from a Generator of the run's seed, made in the prefetching thread); not the plain run."""
    import json

    from nnscratch.cli import main

    def losses(name, *extra):
        out = tmp_path / name
        assert main(["train", "--dataset", "digits", "--epochs", "3", "--no-bar", "--out",
                     str(out), *extra]) == 0
        return json.loads((out / "metrics.json").read_text())["train_loss"]

    first = losses("a", "--augment", "shift")
    assert losses("b", "--augment", "shift") == first
    assert losses("c") != first


def test_augment_needs_images(tmp_path, capsys):
    """--augment on a table of numbers: one line naming the problem."""
    from nnscratch.cli import main

    table = tmp_path / "t.csv"
    table.write_text("a,b,y\n" + "\n".join(f"{i % 3},{i % 5},{i % 2}" for i in range(40)))
    assert main(["train", "--data", str(table), "--augment", "elastic", "--no-bar"]) == 2
    assert "augment 'elastic' distorts images; this data has no image shape" in \
        capsys.readouterr().err


@pytest.mark.parametrize("kind", KINDS)
def test_colour_images_get_one_draw_for_all_their_channels(kind, digits28):
    """(H, W, 3) channels-last rows: three equal channels give three equal outputs, each the
    grey augmenter's output with the same seed (the same draws, once per image)."""
    x = digits28.astype(np.float32)
    colour = np.ascontiguousarray(x[:, :, None].repeat(3, axis=2).reshape(len(x), -1))
    out = make_augmenter(kind, (*SHAPE, 3), np.random.default_rng(0))(colour)
    grey = _augment(kind)(x)
    np.testing.assert_allclose(out.reshape(len(x), -1, 3),
                               np.repeat(grey[:, :, None], 3, axis=2), rtol=1e-6, atol=1e-7)


def test_shift_and_flip_move_whole_colour_pixels():
    """Colour rows (B, H*W*3) whose channels differ: each image moved (np.roll on a zero
    border, or mirrored) with its three channels together, as drawn; also in place, on a
    non-square image, and with shifts larger than the image (all black)."""
    rng = np.random.default_rng(4)
    H, W = 5, 7
    x = np.zeros((60, H + 16, W + 16, 3), np.float32)
    x[:, 8:-8, 8:-8] = rng.random((60, H, W, 3), dtype=np.float32) + 0.5
    inner = np.ascontiguousarray(x[:, 8:-8, 8:-8]).reshape(60, -1)
    for max_shift in (2, 9):
        shifts = make_augmenter("shift", (H, W, 3), np.random.default_rng(1),
                                max_shift=max_shift).draw(60)
        shift = make_augmenter("shift", (H, W, 3), np.random.default_rng(1), max_shift=max_shift)
        out = inner.copy()
        assert shift(out, out=out) is out
        for image, moved, (dy, dx) in zip(x, out.reshape(60, H, W, 3), shifts, strict=True):
            np.testing.assert_array_equal(
                moved, np.roll(image, (dy, dx), axis=(0, 1))[8:-8, 8:-8])
        assert (max_shift == 9) == bool((out.reshape(60, -1).max(axis=1) == 0).any())
    flip = make_augmenter("flip", (H, W, 3), np.random.default_rng(1))
    flipped = flip(inner).reshape(60, H, W, 3)
    drawn = np.random.default_rng(1).random(60) < 0.5
    images = inner.reshape(60, H, W, 3)
    np.testing.assert_array_equal(flipped[drawn], images[drawn, :, ::-1])
    np.testing.assert_array_equal(flipped[~drawn], images[~drawn])


def test_flip_mirrors_about_half_the_images(digits28):
    x = digits28.astype(np.float64)
    out = _augment("flip")(x)
    images, flipped = x.reshape(-1, 28, 28), out.reshape(-1, 28, 28)
    mirrored = np.array([np.array_equal(f, i[:, ::-1])
                         for f, i in zip(flipped, images, strict=True)])
    kept = np.array([np.array_equal(f, i) for f, i in zip(flipped, images, strict=True)])
    assert np.all(mirrored | kept) and 16 <= mirrored.sum() <= 48
    draws = np.random.default_rng(0).random(len(x)) < 0.5  # Flip's draw, by hand
    np.testing.assert_array_equal(mirrored & ~kept, draws & ~kept)


def test_jitter_is_brightness_and_contrast_about_the_mean(digits28):
    """clip(m + c (x - m) + b, 0, 1), c and b drawn uniformly, worked out by hand."""
    x = digits28.astype(np.float64)
    out = _augment("jitter", brightness=0.1, contrast=0.3)(x)
    u = np.random.default_rng(0).random((len(x), 2))
    c, b = 1 + 0.3 * (2 * u[:, :1] - 1), 0.1 * (2 * u[:, 1:] - 1)
    m = x.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(out, np.clip(m + c * (x - m) + b, 0, 1), rtol=1e-12)


@pytest.mark.parametrize("kind, blas_threads", [("shift", 2), ("flip", 2), ("affine", 2),
                                                ("jitter", 2), ("elastic", 1), ("own", 1)])
def test_only_a_costly_distortion_takes_a_core_from_blas(kind, blas_threads):
    """train() runs BLAS on one thread fewer only for the elastic distortion (its smoothing
    is itself products) and for a callable of the user's own (unknown cost)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from nnscratch import CrossEntropyLoss, NeuralNetwork, train
    from nnscratch.callbacks import Callback

    class BlasThreads(Callback):
        def __init__(self):
            self.seen = []

        def on_epoch_begin(self, epoch, logs):
            self.seen.append(max(i["num_threads"] for i in threadpool_info()
                                 if i["user_api"] == "blas"))

    rng = np.random.default_rng(0)
    X = rng.random((64, 36), dtype=np.float32)
    y = rng.integers(0, 3, 64)
    def own(x, out):  # a distortion of the user's own: the identity
        out[...] = x
        return out

    augment = own if kind == "own" else make_augmenter(kind, (6, 6), np.random.default_rng(1))
    net = NeuralNetwork.from_sizes([36, 8, 3], head_activation="softmax", seed=0,
                                   dtype="float32")
    recorder = BlasThreads()
    with threadpool_limits(2, user_api="blas"):
        train(net, X, y, CrossEntropyLoss, 1, 16, 0.1, bar=False, augment=augment,
              callbacks=[recorder])
    assert recorder.seen == [blas_threads]
