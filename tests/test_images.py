"""Users' digit pictures made MNIST-like: loading any image, the MNIST recipe, predictions."""

import io
import re

import numpy as np
import pytest
from PIL import Image, ImageOps
from threadpoolctl import threadpool_limits

from nnscratch import (
    CrossEntropyLoss,
    NeuralNetwork,
    NNScratchError,
    Relu,
    Softmax,
    images,
    train,
)
from nnscratch.data import load_mnist
from nnscratch.files import write_bytes
from nnscratch.images import ImageError, load_image, mnist_like, preprocess, save_prepared

STYLES = ["white-on-black", "black-on-white"]


@pytest.fixture(scope="module")
def mnist():
    """The standard MNIST split, from the vendored files (never downloaded)."""
    return load_mnist(split="standard", progress=False, download=False)


@pytest.fixture(scope="module")
def model(mnist):
    """A 784-32-32-10 network trained for 3 epochs on the MNIST training images."""
    net = NeuralNetwork(784, 10, 32, 2, Softmax, Relu, seed=0)
    # One BLAS thread: these small products gain nothing from more, and on a busy machine
    # spinning threads make the training several times slower.
    with threadpool_limits(limits=1):
        train(net, mnist.X_train, mnist.y_train, CrossEntropyLoss, 3, 64, 0.05, bar=False,
              seed=0)
    return net


@pytest.fixture(scope="module")
def test_digits(mnist):
    """The first MNIST test image of each digit 0-9, as (10, 28, 28) uint8 pixels."""
    first = [np.flatnonzero(mnist.y_test == k)[0] for k in range(10)]
    return np.round(mnist.X_test[first] * 255).astype(np.uint8).reshape(10, 28, 28)


def _save(path, image, fmt, **options):
    """Encode ``image`` in ``fmt`` and write it atomically to ``path``."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    write_bytes(path, buffer.getvalue())
    return path


def _pictures(folder, digits, style):
    """Write digit k enlarged 5x, off-centre on a 200x180 canvas, in several file kinds."""
    paths = []
    for k, pixels in enumerate(digits):
        big = Image.fromarray(pixels).resize((140, 140), Image.Resampling.LANCZOS)
        canvas = Image.new("L", (200, 180), 0)
        canvas.paste(big, (6 * k, 4 * k))  # a different place for every digit
        if style == "black-on-white":
            canvas = ImageOps.invert(canvas)
        stem = folder / f"{style}-{k}"
        if k == 3:
            paths.append(_save(stem.with_suffix(".jpg"), canvas.convert("RGB"), "JPEG",
                               quality=90))
        elif k == 5:
            palette = canvas.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE)
            paths.append(_save(stem.with_suffix(".png"), palette, "PNG"))
        elif k == 7 and style == "black-on-white":
            # Black ink whose opacity is the ink: a transparent background, seen on white.
            ink = ImageOps.invert(canvas)
            rgba = Image.merge("RGBA", [Image.new("L", canvas.size, 0)] * 3 + [ink])
            paths.append(_save(stem.with_suffix(".png"), rgba, "PNG"))
        elif k == 7:
            paths.append(_save(stem.with_suffix(".png"), canvas.convert("RGBA"), "PNG"))
        elif k == 8:
            deep = Image.fromarray(np.asarray(canvas).astype(np.uint16) * 257)  # 16-bit
            paths.append(_save(stem.with_suffix(".png"), deep, "PNG"))
        else:
            paths.append(_save(stem.with_suffix(".png"), canvas, "PNG"))
    return paths


def _centre_of_mass(image):
    """(row, column) centre of mass of a 2-D array, in pixel indices."""
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (cols * image).sum() / image.sum()


def _ink_box(image, level):
    """Height and width of the bounding box of the pixels above ``level``."""
    rows = np.flatnonzero((image > level).any(axis=1))
    cols = np.flatnonzero((image > level).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


# --- predictions on pictures -----------------------------------------------------------------
@pytest.mark.parametrize("style", STYLES)
def test_predicts_enlarged_offcentre_pictures(model, test_digits, tmp_path, style):
    """At least 9 of 10 enlarged, moved MNIST test digits (PNG/JPEG/RGBA/16-bit) are right."""
    X = preprocess(_pictures(tmp_path, test_digits, style))
    predicted = model.predict(X)
    right = int(np.sum(predicted == np.arange(10)))
    assert right >= 9, f"{style}: predicted {predicted.tolist()} for 0..9"


def test_remade_mnist_images_match_the_originals(mnist, model):
    """The recipe applied to MNIST's own test images gives back nearly the same pixels."""
    X, y = mnist.X_test[:500], mnist.y_test[:500]
    remade = np.stack([mnist_like(x.reshape(28, 28)) for x in X])
    assert np.abs(remade - X).mean() < 0.01
    assert model.score(remade, y) >= model.score(X, y) - 0.01


# --- photos of paper -------------------------------------------------------------------------
# MNIST digits drawn as dark ink on paper at a few hundred pixels, then photographed badly.
PHOTOS = {
    "shadow": "light falling from 0.95 to 0.35 across the page, a soft shadow taking 45% of it "
              "over half the page, the dark table along the left edge",
    "noise": "Gaussian sensor noise of standard deviation 0.12",
    "jpeg": "a gradient, noise 0.03 and JPEG at quality 35",
    "small": "a digit 80 pixels high somewhere on an 800x600 page, noise 0.08",
    "colour": "blue (even digits) or red (odd digits) ink, JPEG at quality 85",
    "lined": "ruled blue lines every 30 pixels and a red margin line",
}


def _photo(pixels, kind, k, rng):
    """MNIST ``pixels`` (digit ``k``) as ink in an RGB photo with the ``kind`` of defect.

    Returns the picture, the format to save it in and the save options.
    """
    h, w, size, noise, fmt, options = 300, 360, 220, 0.02, "PNG", {}
    ink, paper = np.array([0.12, 0.12, 0.15]), np.array([0.96, 0.95, 0.92])
    if kind == "small":
        h, w, size, noise = 600, 800, 80, 0.08
    y, x = np.mgrid[0:h, 0:w] / w
    light = np.full((h, w), 0.95)
    if kind == "shadow":
        edge = (0.8 * x - 0.6 * y - 0.05 + 0.1 * (k % 3)) / 0.04  # the shadow's soft edge
        light = (0.35 + 0.6 * (0.6 * x + 0.4 * y) / 0.93) * (1 - 0.45 / (1 + np.exp(-edge)))
    elif kind == "noise":
        noise = 0.12
    elif kind == "jpeg":
        light, noise, fmt, options = 0.75 + 0.2 * x, 0.03, "JPEG", {"quality": 35}
    elif kind == "colour":
        ink = np.array([0.15, 0.25, 0.75] if k % 2 == 0 else [0.8, 0.12, 0.1])
        fmt, options = "JPEG", {"quality": 85}
    page = np.broadcast_to(paper, (h, w, 3)).copy()
    if kind == "lined":
        for row in range(18, h, 30):
            page[row:row + 2] = [0.6, 0.72, 0.92]
        page[:, 40:42] = [0.9, 0.45, 0.45]
    alpha = Image.fromarray(pixels).resize((size, size), Image.Resampling.BICUBIC)
    alpha = np.clip(np.asarray(alpha, dtype=np.float64) / 255, 0, 1)[..., None]  # (size, size, 1)
    top = int(rng.integers(0, h - size + 1))
    left = int(rng.integers(40 if kind == "shadow" else 0, w - size + 1))
    spot = page[top:top + size, left:left + size]
    page[top:top + size, left:left + size] = spot * (1 - alpha) + ink * alpha
    if kind == "shadow":
        page[:, :22 + 4 * (k % 3)] = [0.25, 0.18, 0.12]  # the table
    page = page * light[..., None] + rng.normal(0, noise, page.shape)  # (h, w, 3)
    page = np.round(np.clip(page, 0, 1) * 255).astype(np.uint8)
    return Image.fromarray(page), fmt, options


@pytest.fixture(scope="module")
def photos(tmp_path_factory, test_digits):
    """A photo of every digit with every defect, as files: {(kind, digit): path}."""
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(2024)
    paths = {}
    for kind in PHOTOS:
        for k, pixels in enumerate(test_digits):
            image, fmt, options = _photo(pixels, kind, k, rng)
            name = f"{kind}-{k}.{'jpg' if fmt == 'JPEG' else 'png'}"
            paths[kind, k] = _save(folder / name, image, fmt, **options)
    return paths


@pytest.fixture(scope="module")
def prepared_photos(photos):
    """The photos through ``preprocess``: {(kind, digit): 784 pixels}."""
    return dict(zip(photos, preprocess(list(photos.values())), strict=True))


@pytest.mark.parametrize("kind", PHOTOS)
def test_photos_prepare_like_the_clean_digit(prepared_photos, test_digits, kind):
    """Each photo's 28x28 correlates >= 0.7 with its clean MNIST digit's, >= 0.85 on average.

    The clean digit is the MNIST image itself through the same recipe. Measured: the worst
    photo 0.81, the averages per defect 0.90-0.96. The floors leave room for other JPEG
    codecs and still fail the recipe before photos were handled: it averaged 0.16-0.28 on
    every defect but coloured ink (0.92, its paper being even and clean).
    """
    corr = [np.corrcoef(prepared_photos[kind, k], mnist_like(pixels / 255))[0, 1]
            for k, pixels in enumerate(test_digits)]
    assert min(corr) >= 0.7 and np.mean(corr) >= 0.85, np.round(corr, 2).tolist()


def test_network_reads_the_photos(model, prepared_photos, test_digits):
    """At least 90% of the photos are read right (of the digits read right as MNIST images).

    Measured: 54 of 54 (the network misreads the clean 5, and its photos alike); the recipe
    before photos were handled read 15 of the 54.
    """
    readable = np.flatnonzero(model.predict(test_digits.reshape(10, 784) / 255)
                              == np.arange(10))
    assert len(readable) >= 8  # a network trained for 3 epochs reads most of them
    keys = [(kind, k) for kind in PHOTOS for k in readable]
    predicted = model.predict(np.stack([prepared_photos[key] for key in keys]))
    right = predicted == np.array([k for _, k in keys])
    assert right.mean() >= 0.9, [key for key, ok in zip(keys, right, strict=True) if not ok]


def test_a_12_megapixel_photo_reads_like_a_small_one(test_digits, rng):
    """A 4000x3000 photo, averaged down to 1024x768 first, gives what the 360x300 one gives.

    Not the same pixels: the strokes' edges differ at the two resolutions (measured: a
    correlation of 0.92; 0.87-0.96 over the ten digits).
    """
    image, _, _ = _photo(test_digits[3], "jpeg", 3, rng)
    small = np.asarray(image.convert("L"), dtype=np.float32) / 255  # (300, 360)
    big = np.asarray(Image.fromarray(small).resize((4000, 3000), Image.Resampling.BILINEAR))
    assert np.corrcoef(mnist_like(big), mnist_like(small))[0, 1] >= 0.85


@pytest.mark.parametrize("page", ["white", "noise", "shadow", "jpeg", "lined", "table"])
def test_blank_page_is_an_error_naming_the_file(tmp_path, page):
    """Paper with no digit (noisy, shadowed, JPEG, ruled, beside the table): "no ink found"."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:600, 0:800] / 800
    gray, noise = np.full((600, 800), 0.93), 0.02
    if page in ("noise", "jpeg"):
        noise = 0.1
    elif page == "shadow":
        gray = (0.35 + 0.6 * x) * (1 - 0.45 / (1 + np.exp(-(0.8 * x - 0.6 * y) / 0.04)))
    elif page == "lined":
        gray[18::30] = gray[19::30] = 0.7
        gray[:, 60:62] = 0.6
    elif page == "table":
        gray[:, :80] = 0.2
    gray = np.clip(gray + rng.normal(0, noise, gray.shape), 0, 1)
    picture = Image.fromarray(np.round(gray * 255).astype(np.uint8))
    if page == "jpeg":
        path = _save(tmp_path / "jpeg.jpg", picture, "JPEG", quality=30)
    else:
        path = _save(tmp_path / f"{page}.png", picture, "PNG")
    with pytest.raises(ImageError, match=rf"{page}\.(png|jpg): no ink found: nothing stands"):
        preprocess([path])


def test_a_lone_stroke_across_the_page_is_a_one():
    """A thin bar from top to bottom is the digit (a 1), not a ruled line, when alone."""
    gray = np.full((200, 120), 0.9)
    gray[:, 59:62] = 0.1
    h, w = _ink_box(mnist_like(gray).reshape(28, 28), 0.1)
    assert h == 20 and w <= 2


# --- saving the prepared inputs --------------------------------------------------------------
def test_save_prepared_writes_what_the_network_sees(test_digits, tmp_path):
    """28x28 8-bit PNGs of the rows (white ink on black), named after the sources."""
    paths = _pictures(tmp_path / "in", test_digits[:3], "black-on-white")
    X = preprocess(paths)
    written = save_prepared(X, paths, tmp_path / "out")
    assert written == [tmp_path / "out" / f"{p.stem}-28x28.png" for p in paths]
    for row, path in zip(X, written, strict=True):
        with Image.open(path) as image:
            assert image.mode == "L" and image.size == (28, 28)
            np.testing.assert_array_equal(np.asarray(image),
                                          np.round(row.reshape(28, 28) * 255))


def test_save_prepared_never_overwrites_a_source(tmp_path):
    """Sources sharing a stem get numbered names; a source in the folder is left alone."""
    rows = np.zeros((3, 784))
    rows[:, 406] = 1.0
    out = tmp_path / "out"
    clash = _save(out / "3-28x28.png", Image.new("L", (5, 5), 200), "PNG")
    sources = [tmp_path / "a" / "3.png", tmp_path / "b" / "3.jpg", clash]
    written = save_prepared(rows, sources, out)
    assert [p.name for p in written] == ["3-2-28x28.png", "3-3-28x28.png",
                                         "3-28x28-28x28.png"]
    with Image.open(clash) as image:
        assert image.size == (5, 5)


def test_save_prepared_rejects_bad_input(tmp_path):
    """Wrong widths, counts or pixel values, or a file for the folder: ValueError."""
    file = _save(tmp_path / "f.png", Image.new("L", (5, 5)), "PNG")
    cases = [((np.zeros((1, 10)), ["a.png"], tmp_path), "rows must have 784 pixels"),
             ((np.zeros((1, 784)), ["a.png", "b.png"], tmp_path),
              "sources names 2 images but rows holds 1"),
             ((np.full((1, 784), 2.0), ["a.png"], tmp_path), r"pixels in \[0, 1\]"),
             ((np.zeros((1, 784)), ["a.png"], file), "folder must be a folder, got the file")]
    for args, message in cases:
        with pytest.raises(ValueError, match=message):
            save_prepared(*args)


# --- the recipe ------------------------------------------------------------------------------
@pytest.mark.parametrize("style", STYLES)
def test_mnist_like_output_looks_like_mnist(test_digits, tmp_path, style):
    """784 float32 pixels in [0, 1], centre of mass at (14, 14), ink in a 20x20 box."""
    for path in _pictures(tmp_path, test_digits, style):
        out = mnist_like(load_image(path))
        assert out.shape == (784,) and out.dtype == np.float32
        assert out.min() == 0 and out.max() == 1
        image = out.reshape(28, 28)
        assert np.allclose(image[[0, -1]], 0) and np.allclose(image[:, [0, -1]], 0)
        cy, cx = _centre_of_mass(image)
        assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1, (path.name, cy, cx)
        h, w = _ink_box(image, 0.1)
        assert max(h, w) in (19, 20, 21) and min(h, w) <= 21, (path.name, h, w)


@pytest.mark.parametrize("style", STYLES)
def test_flat_paper_skips_the_fit_and_gives_the_same_pixels(mnist, test_digits, tmp_path,
                                                            style, monkeypatch):
    """A flat background (MNIST, a drawing, a clean scan) is known without the paper's fit:
    the shortcut gives what the fit gives, and a lit or noisy page still takes the fit."""
    pictures = [mnist.X_test[i].reshape(28, 28) for i in range(20)]
    pictures += [load_image(path) for path in _pictures(tmp_path, test_digits, style)]
    taken = []
    monkeypatch.setattr(images, "_is_flat", _recording(images._is_flat, taken))
    shortcut = [mnist_like(gray) for gray in pictures]
    assert taken == [True] * len(pictures)
    monkeypatch.setattr(images, "_is_flat", lambda values, level: False)  # always fit
    for gray, fast in zip(pictures, shortcut, strict=True):
        np.testing.assert_allclose(mnist_like(gray), fast, rtol=0, atol=1e-6)
    monkeypatch.undo()
    rows, cols = np.mgrid[0:120, 0:100] / 120
    lit = 0.6 + 0.3 * cols + 0.05 * rows  # a page lit from one side
    lit[30:90, 45:55] -= 0.4  # a bar of ink
    noisy = np.clip(np.full((120, 100), 0.9) + 0.02 * np.random.default_rng(0).standard_normal(
        (120, 100)), 0, 1)
    noisy[30:90, 45:55] = 0.1
    for page in (lit, noisy):
        small = images._shrink(page, images.FIT_SIDE).ravel()
        assert not images._is_flat(small, float(np.median(small)))


def _recording(function, results):
    """``function``, appending what it returns to ``results``."""
    def recorded(*args, **kwargs):
        results.append(function(*args, **kwargs))
        return results[-1]
    return recorded


@pytest.mark.parametrize("k", range(10))
def test_inverting_the_input_gives_the_same_output(test_digits, k):
    """Black-on-white and white-on-black versions of a digit give the same pixels."""
    gray = test_digits[k] / 255
    np.testing.assert_allclose(mnist_like(1 - gray), mnist_like(gray), atol=1e-5)


def test_grey_paper_becomes_black():
    """A light-grey background (not pure white) is removed along with the inversion."""
    gray = np.full((60, 50), 0.8)
    gray[10:40, 20:26] = 0.1  # a dark bar on grey paper
    image = mnist_like(gray).reshape(28, 28)
    assert image.max() == 1
    assert np.count_nonzero(image > 0.01) < 20 * 6  # only the scaled bar is ink


def test_aspect_ratio_is_kept():
    """A 5x100 bar becomes about 1x20: scaled to fit 20x20, not stretched to fill it."""
    gray = np.zeros((300, 300))
    gray[150:155, 100:200] = 1.0
    h, w = _ink_box(mnist_like(gray).reshape(28, 28), 0.1)
    assert w == 20 and h <= 2


def test_shift_is_limited_so_nothing_falls_off():
    """Mass heaped in one corner: the digit is moved only as far as it stays whole."""
    shape = np.zeros((20, 20))
    shape[[0, -1], :] = shape[:, [0, -1]] = 0.15  # a faint frame, above the ink threshold
    shape[:4, :4] = 1.0  # a heavy corner: centre of mass near (4.8, 4.8) wants top=left=9
    gray = np.zeros((60, 50))
    gray[30:50, 5:25] = shape  # bounding box 20x20, so the scale is exactly 1
    image = mnist_like(gray).reshape(28, 28)
    np.testing.assert_allclose(image[8:, 8:], shape, atol=1e-6)  # placed at 28 - 20 = 8
    assert image[:8].sum() == 0 and image[:, :8].sum() == 0


@pytest.mark.parametrize("level", [0.0, 1.0, 0.4])
def test_blank_image_has_no_ink(level):
    """An all-black, all-white or all-grey image raises "no ink found"."""
    with pytest.raises(ImageError, match="no ink found"):
        mnist_like(np.full((40, 30), level))


@pytest.mark.parametrize(("gray", "message"), [
    (np.zeros(784), r"gray must be 2-D, got an array of shape \(784,\)"),
    (np.full((5, 5), 1.5), r"gray must hold grey levels in \[0, 1\], got values from 1.5"),
    (np.full((5, 5), np.nan), "gray contains NaN or infinity"),
    (np.zeros((0, 5)), "gray is empty"),
])
def test_mnist_like_rejects_bad_arrays(gray, message):
    """Not a 2-D array of finite grey levels in [0, 1]: ValueError naming ``gray``."""
    with pytest.raises(ValueError, match=message):
        mnist_like(gray)


def test_mnist_like_rejects_non_numbers():
    """A string is a TypeError."""
    with pytest.raises(TypeError, match="gray must be an array of numbers, got str"):
        mnist_like("digit.png")


# --- loading ---------------------------------------------------------------------------------
def test_load_grey_png(tmp_path, rng):
    """An 8-bit grey PNG comes back as its pixels / 255."""
    pixels = rng.integers(0, 256, size=(7, 9), dtype=np.uint8)
    path = _save(tmp_path / "grey.png", Image.fromarray(pixels), "PNG")
    gray = load_image(path)
    assert gray.shape == (7, 9) and gray.dtype == np.float32
    np.testing.assert_allclose(gray, pixels / 255, atol=1e-7)


def test_load_16_bit_png_keeps_precision(tmp_path):
    """A 16-bit PNG comes back as its values / 65535, finer than 8 bits."""
    values = np.array([[0, 257, 1000, 65535]], dtype=np.uint16)
    path = _save(tmp_path / "deep.png", Image.fromarray(values), "PNG")
    np.testing.assert_allclose(load_image(path), values / 65535, atol=1e-7)


def test_load_rgba_composites_onto_white(tmp_path):
    """Transparent pixels are white; half-transparent black is mid-grey."""
    rgba = np.array([[[0, 0, 0, 255], [0, 0, 0, 0], [0, 0, 0, 128], [200, 200, 200, 255]]],
                    dtype=np.uint8)
    path = _save(tmp_path / "rgba.png", Image.fromarray(rgba), "PNG")
    expected = [[0.0, 1.0, 1 - 128 / 255, 200 / 255]]
    np.testing.assert_allclose(load_image(path), expected, atol=1e-6)


def test_load_palette_with_transparency(tmp_path):
    """Palette colours are looked up; the transparent index shows the white beneath."""
    image = Image.new("P", (3, 1))
    image.putpalette([0, 0, 0, 255, 255, 255, 100, 100, 100])
    image.putdata([0, 1, 2])
    path = _save(tmp_path / "palette.png", image, "PNG", transparency=2)
    np.testing.assert_allclose(load_image(path), [[0.0, 1.0, 1.0]], atol=1e-6)
    path = _save(tmp_path / "opaque.png", image, "PNG")
    np.testing.assert_allclose(load_image(path), [[0.0, 1.0, 100 / 255]], atol=1e-6)


def test_load_applies_exif_orientation(tmp_path):
    """EXIF orientation 6 (rotate 90 degrees clockwise to display) is applied."""
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    exif = Image.Exif()
    exif[0x0112] = 6
    path = _save(tmp_path / "photo.png", Image.fromarray(pixels), "PNG", exif=exif)
    np.testing.assert_allclose(load_image(path), np.rot90(pixels, k=-1) / 255, atol=1e-7)


def test_missing_file(tmp_path):
    """A missing file is a FileNotFoundError naming it (also through preprocess)."""
    with pytest.raises(FileNotFoundError, match=r"image file not found: .*nowhere\.png"):
        load_image(tmp_path / "nowhere.png")
    with pytest.raises(FileNotFoundError, match=r"nowhere\.png"):
        preprocess([tmp_path / "nowhere.png"])


def test_paths_must_be_paths():
    """A number is neither a path nor a list of paths: TypeError."""
    with pytest.raises(TypeError, match=r"path must be a str or os\.PathLike, got int"):
        load_image(42)
    with pytest.raises(TypeError, match="paths must be a path or a sequence of paths, got int"):
        preprocess(42)
    with pytest.raises(TypeError, match=r"path must be a str or os\.PathLike, got NoneType"):
        preprocess([None])


def test_unreadable_files(tmp_path, rng):
    """Random bytes, text, a truncated PNG and a folder are ImageErrors naming the file."""
    noise = tmp_path / "x.png"
    write_bytes(noise, rng.integers(0, 256, size=1000, dtype=np.uint8).tobytes())
    text = tmp_path / "notes.txt"
    write_bytes(text, b"not a picture of a digit\n")
    whole = _save(tmp_path / "whole.png", Image.fromarray(np.eye(64, dtype=np.uint8) * 255), "PNG")
    cut = tmp_path / "cut.png"
    write_bytes(cut, whole.read_bytes()[:60])
    folder = tmp_path / "pictures.png"
    folder.mkdir()
    for path in (noise, text, cut, folder):
        message = f"cannot read .*{re.escape(path.name)} as an image: ."
        with pytest.raises(ImageError, match=message):
            load_image(path)
    with pytest.raises(ValueError, match=r"x\.png"):  # ImageError is a ValueError ...
        preprocess([whole, noise])
    assert issubclass(ImageError, NNScratchError)  # ... and what the CLI catches


def test_decompression_bomb_is_an_image_error(tmp_path, monkeypatch):
    """Pillow's DecompressionBombError does not leak out: it is an ImageError."""
    path = _save(tmp_path / "huge.png", Image.new("L", (200, 180), 255), "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageError, match=r"huge\.png as an image: .*decompression bomb"):
        load_image(path)


def test_blank_file_names_the_file(tmp_path):
    """preprocess names the file that holds no ink."""
    path = _save(tmp_path / "blank.png", Image.new("L", (50, 40), 255), "PNG")
    with pytest.raises(ImageError, match=r"blank\.png: no ink found"):
        preprocess([path])


def test_preprocess_rows_follow_the_files(test_digits, tmp_path):
    """One float32 row per file, in order, equal to mnist_like(load_image(file))."""
    paths = _pictures(tmp_path, test_digits, "black-on-white")
    X = preprocess(paths)
    assert X.shape == (10, 784) and X.dtype == np.float32
    for row, path in zip(X, paths, strict=True):
        np.testing.assert_array_equal(row, mnist_like(load_image(path)))
    np.testing.assert_array_equal(preprocess(str(paths[4])), X[4:5])


def test_clean_drawing_shortcuts_give_the_same_pixels(monkeypatch):
    """The quick medians, histogram and hysteresis of a clean drawing give exactly the pixels
    of NumPy's median and scikit-image's histogram and hysteresis."""
    from skimage.exposure import histogram
    from skimage.filters import apply_hysteresis_threshold

    from nnscratch import images

    rng = np.random.default_rng(0)
    page = np.ones((280, 280))
    page[60:200, 120:140] = 0.0  # a stroke, anti-aliased at its edge
    page[60:200, 119] = page[60:200, 140] = 0.4
    page[40:60, 100:160] = rng.uniform(0, 0.3, (20, 60))
    quick = mnist_like(page)
    monkeypatch.setattr(images, "_median", lambda values, guess: float(np.median(values)))
    monkeypatch.setattr(images, "_histogram",
                        lambda ink: histogram(ink, nbins=256, source_range="image"))
    monkeypatch.setattr(images, "_hysteresis", apply_hysteresis_threshold)
    assert np.array_equal(quick, mnist_like(page))
