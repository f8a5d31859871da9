"""A user's folder of images: layouts, bad files, grey and colour, resizing, the memory
bound, the model file's image pipeline, and the commands (train, predict, evaluate, info)."""

import json
import re

import numpy as np
import pytest
from PIL import Image

from nnscratch.cli import main
from nnscratch.data.folders import (
    ImagePipeline,
    auto_size,
    load_image_folder,
    parse_image_size,
    scan_folder,
)
from nnscratch.errors import DataFormatError
from nnscratch.serialization import load, read_metadata

SHAPES = ("bar", "column", "cross")


def _picture(kind, rng, size=12):
    """A shape of a random colour on a background of another random colour, uint8 RGB."""
    bg, fg = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    while np.linalg.norm(bg - fg) < 0.5:
        fg = rng.uniform(0, 1, 3)
    img = np.tile(bg, (size, size, 1))
    lo = size // 2 - 1 + rng.integers(-2, 3)
    hi = lo + 2
    if kind in ("bar", "cross"):
        img[lo:hi, 1:-1] = fg
    if kind in ("column", "cross"):
        img[1:-1, lo:hi] = fg
    return np.rint(img * 255).astype(np.uint8)


def _shapes_folder(root, rng, per_class=80, size=12):
    """A small colour image set: three shapes in random colours, PNG files by class."""
    for kind in SHAPES:
        (root / kind).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(_picture(kind, rng, size)).save(root / kind / f"{i}.png")
    return root


def _folder(root, counts, *, size=(6, 8), mode="RGB", value=100, suffix="png"):
    """``counts[class]`` images of ``size`` (width, height) of one colour each."""
    for name, n in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.new(mode, size, value if mode != "RGB" else (value, i * 5, 200)).save(
                root / name / f"{i}.{suffix}")
    return root


def _quiet(*_):
    pass


# --- layouts -----------------------------------------------------------------------------
def test_flat_layout_splits_each_class_80_20(tmp_path):
    """One subfolder per class: classes sorted, 20% of each class to test, by the seed."""
    root = _folder(tmp_path / "d", {"b": 10, "a": 5})
    data = load_image_folder(root, bar=False, log=_quiet)
    assert data.classes == ("a", "b") and data.split == "80/20"
    assert np.bincount(data.y_test).tolist() == [1, 2]
    assert np.bincount(data.y_train).tolist() == [4, 8]
    assert data.feature_shape == (8, 6, 3) and data.n_features == 8 * 6 * 3
    again = load_image_folder(root, bar=False, log=_quiet)
    np.testing.assert_array_equal(data.X_test, again.X_test)
    other = load_image_folder(root, seed=1, bar=False, log=_quiet)
    assert not np.array_equal(data.X_test, other.X_test)


def test_train_test_layout_gives_the_split(tmp_path):
    """DIR/train and DIR/test: the split is theirs; test may lack a class; a file that is no
    image beside the class folders (Windows' Thumbs.db) changes nothing."""
    root = tmp_path / "d"
    _folder(root / "train", {"x": 3, "y": 4})
    _folder(root / "test", {"y": 2})
    (root / "train" / "Thumbs.db").write_bytes(b"\0" * 16)
    data = load_image_folder(root, bar=False, log=_quiet)
    assert data.split == "train/test folders" and data.sizes == {"train": 7, "test": 2}
    assert data.y_test.tolist() == [1, 1]


def test_a_val_folder_without_test_is_the_test_split(tmp_path):
    """DIR/train and DIR/val (many data sets' layout): val/ is the held-out part, the
    counts line names it; before, train and val were taken for two classes."""
    root = tmp_path / "d"
    _folder(root / "train", {"x": 3, "y": 4})
    _folder(root / "val", {"x": 1, "y": 2})
    lines = []
    data = load_image_folder(root, bar=False, log=lines.append)
    assert data.classes == ("x", "y")
    assert data.split == "train/val folders" and data.sizes == {"train": 7, "test": 3}
    assert lines[0] == f"--data {root}: 10 files in 2 class folders (train 7, val 3)"


def test_with_test_and_val_folders_val_is_not_read_and_says_so(tmp_path):
    """Train/, Test/ and Validation/ (any case): test/ is the test split; one line says that
    the validation folder is not read."""
    root = tmp_path / "d"
    _folder(root / "Training", {"x": 3, "y": 4})
    _folder(root / "Testing", {"x": 1, "y": 1})
    _folder(root / "Validation", {"x": 2, "y": 2})
    lines = []
    data = load_image_folder(root, bar=False, log=lines.append)
    assert data.split == "Training/Testing folders" and data.sizes == {"train": 7, "test": 2}
    assert lines[0] == (f"--data {root}: Validation/ is not read: Testing/ is the test split, "
                        "and the validation images come from Training/ (--val-split)")


def test_classes_named_like_splits_are_classes_when_they_hold_images(tmp_path):
    """A class folder called "valid" (valid against invalid documents) holds images, not
    class folders: the folder is the flat layout."""
    data = load_image_folder(_folder(tmp_path / "d", {"valid": 5, "invalid": 5}), bar=False,
                             log=_quiet)
    assert data.classes == ("invalid", "valid") and data.split == "80/20"


@pytest.mark.parametrize("make, match", [
    (lambda r: (r / "loose.png").parent.mkdir() or Image.new("L", (4, 4)).save(r / "loose.png"),
     r"holds no class folders; expected one subfolder per class"),
    (lambda r: _folder(r, {"only": 3}), r"only one class folder \('only'\); a classifier needs "
                                        "two or more"),
    (lambda r: _folder(r, {"a": 2}) and (r / "b").mkdir(),
     r"the class folder .*b is empty; add its images or remove it"),
    (lambda r: _folder(r / "train", {"a": 2, "b": 2}) and _folder(r / "test", {"c": 1}),
     r"test/ has class folders that train/ lacks: c"),
    (lambda r: _folder(r / "train", {"a": 2, "b": 2}),
     r"train/ looks like a split folder, not a class; give train/ with test/ \(or val/\) "
     r"beside it"),
])
def test_layout_errors_are_one_line(tmp_path, make, match):
    """No class folders, one class, an empty class, a test class unknown to train."""
    root = tmp_path / "d"
    make(root)
    with pytest.raises(DataFormatError, match=match):
        scan_folder(root)


def test_a_file_is_not_a_folder(tmp_path):
    (tmp_path / "t.png").write_bytes(b"x")
    with pytest.raises(DataFormatError, match=r"--data .*t.png: expected a folder of class "
                                              "folders, got a file"):
        scan_folder(tmp_path / "t.png")


# --- files -----------------------------------------------------------------------------------
def test_unreadable_files_are_skipped_with_one_line_each_and_counted(tmp_path):
    """A text file and a truncated PNG are skipped; a class left with none is an error."""
    root = _folder(tmp_path / "d", {"a": 3, "b": 3})
    (root / "a" / "notes.txt").write_text("not an image")
    good = (root / "b" / "0.png").read_bytes()
    (root / "b" / "broken.png").write_bytes(good[:len(good) // 2])
    (root / "a" / ".DS_Store").write_bytes(b"\0\0")  # hidden: not even looked at
    lines = []
    data = load_image_folder(root, bar=False, log=lines.append)
    assert sum(data.sizes.values()) == 6
    skipped = [line for line in lines if line.startswith("skipped")]
    assert len(skipped) == 2 and any("notes.txt" in s for s in skipped)
    assert any("broken.png" in s for s in skipped)
    assert "; skipped 2 unreadable files" in lines[-1]

    (root / "c").mkdir()
    (root / "c" / "x.txt").write_text("text")
    with pytest.raises(DataFormatError, match=r"the class folder c holds no image Pillow can "
                                              "read; add images or remove it"):
        load_image_folder(root, bar=False, log=_quiet)


def test_every_format_and_mode_pillow_reads(tmp_path):
    """JPEG, GIF (palette), grey PNG, 16-bit PNG, RGBA (on white), BMP, any file name."""
    root = tmp_path / "d"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    yy, xx = np.mgrid[0:10, 0:12]
    rgb = np.stack([yy * 25, xx * 20, 255 - yy * 10 - xx * 8], axis=2).astype(np.uint8)
    Image.fromarray(rgb).save(root / "a" / "photo.jpg", quality=95)
    Image.fromarray(rgb).convert("P").save(root / "a" / "anim.gif")
    Image.fromarray(rgb).save(root / "a" / "no_extension", format="BMP")
    Image.fromarray(np.full((10, 12), 65535, np.uint16)).save(root / "b" / "deep.png")
    rgba = np.zeros((10, 12, 4), np.uint8)  # fully transparent: white once laid on white
    Image.fromarray(rgba, "RGBA").save(root / "b" / "clear.png")
    Image.fromarray(rgb[..., 0]).save(root / "b" / "grey.png")
    data = load_image_folder(root, test_fraction=0, bar=False, log=_quiet)
    assert data.sizes == {"train": 6, "test": 0} and data.feature_shape == (10, 12, 3)
    images = {int(c): data.X_train[data.y_train == c].reshape(-1, 10, 12, 3)
              for c in (0, 1)}
    b = images[1]
    # b's files in name order: clear.png (white), deep.png (16-bit max: white), grey.png
    np.testing.assert_array_equal(b[0], 1.0)
    np.testing.assert_array_equal(b[1], 1.0)
    np.testing.assert_allclose(b[2], np.repeat(rgb[..., :1] / 255, 3, axis=2), atol=1e-7)
    assert np.abs(images[0] - rgb / 255).max() < 0.25  # JPEG and GIF are lossy


def test_grey_folder_is_gray_and_one_colour_image_makes_it_rgb(tmp_path):
    """--color auto: gray when every image is grey, rgb as soon as one is in colour."""
    root = _folder(tmp_path / "d", {"a": 2, "b": 2}, mode="L")
    data = load_image_folder(root, bar=False, log=_quiet)
    assert data.feature_shape == (8, 6, 1) and data.pipeline.color == "gray"
    Image.new("RGB", (6, 8), (255, 0, 0)).save(root / "a" / "red.png")
    data = load_image_folder(root, bar=False, log=_quiet)
    assert data.feature_shape == (8, 6, 3) and data.pipeline.color == "rgb"
    grey = load_image_folder(root, color="gray", bar=False, log=_quiet)
    assert grey.feature_shape == (8, 6, 1)
    # Pillow's ITU-R 601 luma of pure red: 299/1000 * 255
    red = grey.X_train[np.isclose(grey.X_train, 76 / 255).all(axis=1)]
    assert len(red) + int(np.isclose(grey.X_test, 76 / 255).all(axis=1).sum()) == 1


def test_resize_to_the_median_or_to_image_size(tmp_path):
    """Different sizes: the median by default, --image-size otherwise, Pillow's bilinear."""
    root = tmp_path / "d"
    for name, sizes in (("a", [(10, 20), (12, 24)]), ("b", [(14, 28), (40, 80), (10, 20)])):
        (root / name).mkdir(parents=True)
        for i, size in enumerate(sizes):
            Image.new("RGB", size, (10 * i, 50, 90)).save(root / name / f"{i}.png")
    data = load_image_folder(root, bar=False, log=_quiet)
    assert data.feature_shape == (24, 12, 3)  # median width 12, height 24
    data = load_image_folder(root, image_size="6x5", bar=False, log=_quiet)
    assert data.feature_shape == (6, 5, 3)
    img = Image.open(root / "b" / "1.png")
    expected = np.asarray(img.resize((5, 6), Image.Resampling.BILINEAR)) / 255
    rows = np.concatenate([data.X_train, data.X_test]).reshape(-1, 6, 5, 3)
    assert any(np.allclose(r, expected, atol=1e-7) for r in rows)


def test_auto_size_keeps_the_shape_under_64():
    assert auto_size([(200, 100)] * 3) == (32, 64, (100, 200))
    assert auto_size([(28, 28), (30, 30), (32, 32)]) == (30, 30, (30, 30))


@pytest.mark.parametrize("text", ["0", "32x", "a", "3x4x5", "-2"])
def test_image_size_errors_name_the_flag(text):
    with pytest.raises(ValueError, match=rf"--image-size must be a size like 32 or 32x48 "
                                         rf"\(height x width, in pixels\), got '{text}'"):
        parse_image_size(text)


def test_memory_is_said_and_refused_above_the_bound(tmp_path):
    root = _folder(tmp_path / "d", {"a": 3, "b": 3})
    lines = []
    load_image_folder(root, bar=False, log=lines.append)
    assert any(re.fullmatch(r"6 images of 8x6x3 take 0\.0 MB as float32", s) for s in lines)
    with pytest.raises(DataFormatError, match=r"6 images of 8x6x3 need 0\.0 MB as float32, "
                                              r"above --max-memory 1e-06 GB; raise "
                                              "--max-memory, or choose a smaller --image-size"):
        load_image_folder(root, max_memory=1e-6, bar=False, log=_quiet)


def test_pipeline_stored_and_read_back():
    p = ImagePipeline(5, 7, "gray", ("a", "b"))
    assert ImagePipeline.from_stored(json.loads(json.dumps(p.to_stored()[0]))) == p
    with pytest.raises(ValueError, match="color must be 'rgb' or 'gray', got 'cmyk'"):
        ImagePipeline.from_stored({**p.to_stored()[0], "color": "cmyk"})


# --- the commands -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shapes_run(tmp_path_factory):
    """``nnscratch train --data DIR`` on the small colour shapes set (the images recipe)."""
    base = tmp_path_factory.mktemp("shapes")
    root = _shapes_folder(base / "shapes", np.random.default_rng(0))
    out = base / "run"
    assert main(["train", "--data", str(root), "--epochs", "20", "--batch-size", "16",
                 "--no-bar", "--out", str(out)]) == 0
    return root, out


def test_a_small_colour_set_trains_above_a_floor(shapes_run):
    """Three shapes in random colours, 64 training images each: >= 85% of the 48 test ones
    (93.75% measured)."""
    _, out = shapes_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.85, metrics["test_accuracy"]
    assert metrics["config"]["recipe"] == "images"
    assert metrics["config"]["arch"] == "center,conv32k3same,pool2,drop0.3,dense128,drop0.3"
    assert metrics["config"]["image_size"] == "12x12" and metrics["config"]["color"] == "rgb"


def test_model_file_records_the_images(shapes_run):
    """Format version 4: size, colour, scaling, classes; the network reads channels last."""
    _, out = shapes_run
    meta = read_metadata(out / "model.npz")
    assert meta["format_version"] == 4 and meta["channels_last"] is True
    assert meta["pipeline"] == {"kind": "image", "height": 12, "width": 12, "color": "rgb",
                                "classes": sorted(SHAPES),
                                "divisor": 255.0, "resample": "bilinear"}
    model = load(out / "model.npz")
    assert model.pipeline.classes == tuple(sorted(SHAPES)) and model.input_shape == (3, 12, 12)


def test_predict_names_the_class_of_new_images(shapes_run, tmp_path, capsys):
    """New pictures, PNGs at the training size and JPEGs three times larger: prepared as in
    training (checked against Pillow by hand), the class name printed; the PNGs mostly
    right (the resize blurs the JPEGs' thin bars, which the network never saw)."""
    _, out = shapes_run
    model = load(out / "model.npz")
    rng = np.random.default_rng(7)
    files = []
    for i in range(12):
        kind, picture = SHAPES[i % 3], Image.fromarray(_picture(SHAPES[i % 3], rng))
        if i % 2:
            picture = picture.resize((36, 36), Image.Resampling.NEAREST)
        files.append(tmp_path / f"new{i}-{kind}.{'jpg' if i % 2 else 'png'}")
        picture.save(files[-1], quality=95)
    assert main(["predict", str(out), *map(str, files)]) == 0
    lines = capsys.readouterr().out.splitlines()
    named = [re.fullmatch(r".*new\d+-(\w+)\.(?:jpg|png): (\w+)  \((\w+): \d+\.\d\d%, .*\)",
                          line)
             for line in lines]
    assert len(named) == 12 and all(named)
    by_hand = np.stack([np.asarray(Image.open(f).convert("RGB").resize(
        (12, 12), Image.Resampling.BILINEAR), dtype=np.float32).reshape(-1) / 255
        for f in files])
    expected = [model.pipeline.classes[k] for k in model.predict(by_hand)]
    assert [m.group(2) for m in named] == expected
    assert sum(m.group(1) == m.group(2) for m in named[::2]) >= 5
    assert main(["predict", str(out), str(files[0]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)[0]
    assert result["class"] == expected[0] and set(result["probabilities"]) == set(SHAPES)


def test_predict_reports_an_unreadable_file_and_goes_on(shapes_run, tmp_path, capsys):
    _, out = shapes_run
    (tmp_path / "bad.png").write_text("no")
    Image.fromarray(_picture("bar", np.random.default_rng(1))).save(tmp_path / "good.png")
    assert main(["predict", str(out), str(tmp_path / "bad.png"), str(tmp_path / "good.png")]) == 1
    captured = capsys.readouterr()
    assert re.search(r"error: .*bad.png: not an image Pillow can read", captured.err)
    assert "1 of 2 images could not be read" in captured.err
    assert re.match(r".*good.png: (bar|column|cross)  ", captured.out)
    # a mistyped name: said as the digit models say it, not as an image Pillow cannot read
    missing = tmp_path / "godo.png"
    assert main(["predict", str(out), str(missing), str(tmp_path / "good.png")]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"nnscratch predict: error: image file not found: "
                                         f"{missing}", "nnscratch predict: 1 of 2 images "
                                         "could not be read"]


def test_evaluate_on_a_folder_and_info(shapes_run, tmp_path, capsys):
    """evaluate --data DIR scores every image by class folder; info shows the classes."""
    root, out = shapes_run
    assert main(["evaluate", str(out), "--data", str(root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dataset"]["n_test"] == 240 and report["dataset"]["split"] == "every image"
    assert set(report["per_class"]) == set(SHAPES)
    assert main(["evaluate", str(out)]) == 0  # the run's own test split, by default
    text = capsys.readouterr().out
    assert "(80/20 split), 48 test samples" in text
    assert re.search(r"\n +cross +\d\.\d{4}", text)
    assert main(["info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "input size  12x12x3 (height x width x channels)" in info
    assert "classes     bar, column, cross" in info
    config = re.search(r"\n  config +(.*)\n", info).group(1)
    assert "--data " in config and "--epochs " in config
    for unused in ("--dataset", "--split", "--hidden", "--dropout"):  # not this model's
        assert unused not in config, config


def test_evaluate_refuses_data_a_model_was_not_trained_on(tmp_path, capsys):
    from nnscratch import NeuralNetwork, save

    save(NeuralNetwork.from_sizes([4, 3, 2], seed=0), tmp_path / "m.npz")
    assert main(["evaluate", str(tmp_path / "m.npz"), "--data", str(tmp_path)]) == 2
    assert re.search(r"--data .*: a folder of images needs a model trained on images "
                     r"\(nnscratch train --data DIR\); MODEL .* was not",
                     capsys.readouterr().err)
    (tmp_path / "t.csv").write_text("a,b,c,d,y\n1,2,3,4,0\n")  # and a table for a model of
    assert main(["evaluate", str(tmp_path / "m.npz"), "--data", str(tmp_path / "t.csv")]) == 2
    assert capsys.readouterr().err.strip() == (  # neither (MNIST's, digits')
        f"nnscratch evaluate: error: --data {tmp_path / 't.csv'}: a table needs a model "
        f"trained on a table (nnscratch train --data FILE); MODEL {tmp_path / 'm.npz'} was "
        "not (--dataset and --split choose its test set)")


def test_train_errors_name_the_folder_and_image_flags(tmp_path, capsys):
    root = _folder(tmp_path / "d", {"only": 2})
    assert main(["train", "--data", str(root), "--no-bar", "--out", str(tmp_path / "r")]) == 2
    assert "only one class folder ('only')" in capsys.readouterr().err
    assert main(["train", "--image-size", "32", "--no-bar"]) == 2
    assert ("--image-size 32 needs --data DIR (a folder of images)"
            in capsys.readouterr().err)
    root = _folder(tmp_path / "two", {"a": 2, "b": 2})
    assert main(["train", "--data", str(root), "--target", "y", "--no-bar"]) == 2
    assert re.search(r"--target 'y' is for a table; --data .*two is a folder of images",
                     capsys.readouterr().err)
    assert not (tmp_path / "r").exists()


def test_plot_draws_the_colour_figures(shapes_run, capsys):
    """plot on an image-folder run: samples, misclassified and filters in colour."""
    from matplotlib.image import imread

    _, out = shapes_run
    assert main(["plot", str(out), "--tsne-points", "40"]) == 0
    printed = capsys.readouterr().out
    for name in ("samples", "misclassified", "conv_filters", "confusion_matrix"):
        assert f"{name}: " in printed
    samples = imread(out / "figures" / "samples.png")[..., :3]
    assert np.abs(samples[..., 0] - samples[..., 1]).max() > 0.3  # not grey
    filters = imread(out / "figures" / "conv_filters.png")[..., :3]
    assert np.abs(filters[..., 0] - filters[..., 2]).max() > 0.1


def test_serve_reads_an_uploaded_image_as_predict_does(shapes_run, tmp_path, capsys):
    """POST /api/predict with an image file: the class name and probabilities of predict;
    a pixels array is refused with one line."""
    from starlette.testclient import TestClient

    from nnscratch.serve import Models, create_app, load_served_model

    _, out = shapes_run
    client = TestClient(create_app(Models([load_served_model(out, "shapes")]), workers=1))
    path = tmp_path / "upload.png"
    Image.fromarray(_picture("cross", np.random.default_rng(3))).save(path)
    answer = client.post("/api/predict", content=path.read_bytes(),
                         headers={"content-type": "image/png"}).json()
    assert main(["predict", str(out), str(path), "--json"]) == 0
    predicted = json.loads(capsys.readouterr().out)[0]
    assert answer["class"] == predicted["class"] and answer["classes"] == sorted(SHAPES)
    np.testing.assert_allclose(answer["probabilities"],
                               [predicted["probabilities"][c] for c in sorted(SHAPES)],
                               atol=2e-6)
    assert np.array(answer["prepared"]).shape == (12, 12, 3)
    refused = client.post("/api/predict", json={"pixels": [0.0] * 784})
    assert refused.status_code == 400
    assert refused.json()["error"].startswith("model 'shapes' reads uploaded images (its "
                                              "classes: bar, column, cross), not a pixels")
    bad = client.post("/api/predict", content=b"not an image",
                      headers={"content-type": "image/png"})
    assert bad.status_code == 422 and "cannot read the upload as an image" in bad.json()["error"]


@pytest.mark.parametrize("augment", ["flip", "jitter"])
def test_a_folder_run_stopped_by_ctrl_c_resumes_to_the_same_weights(ctrl_c_at_batch, augment,
                                                                     tmp_path):
    """The photo augmentations are seeded and checkpointed: a run stopped in its third epoch
    and resumed ends with the weights of a run never stopped."""
    root = _shapes_folder(tmp_path / "shapes", np.random.default_rng(0), per_class=20)
    argv = ["train", "--data", str(root), "--epochs", "4", "--batch-size", "16",
            "--augment", augment, "--patience", "none", "--no-bar"]
    assert main([*argv, "--out", str(tmp_path / "whole")]) == 0
    ctrl_c_at_batch(8)  # 3 batches an epoch (43 training images): in the third epoch
    assert main([*argv, "--out", str(tmp_path / "cut")]) == 130
    ctrl_c_at_batch(10 ** 9)
    assert main(["train", "--resume", str(tmp_path / "cut"), "--no-bar"]) == 0
    whole, cut = (load(tmp_path / name / "model.npz") for name in ("whole", "cut"))
    for a, b in zip(whole.parameters(), cut.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("n_train", "given", "expected"), [
    (18_000, {}, (25, 4, 0.1)),            # the tinted digits: the recipe as chosen
    (96, {}, (250, None, 0.0)),            # 2 steps an epoch, every training image
    (1_000, {}, (32, None, 0.0)),          # 16 steps an epoch: 400 steps in 25 epochs
    (96, {"val_split": 0.2}, (250, None, 0.2)),  # the user's split is kept (77 images)
    (96, {"val_split": 0.1}, (250, None, 0.1)),  # even when it is the recipe's own
    (96, {"epochs": 30}, (30, None, 0.0)),  # the user's epochs, still no early stopping
    (96, {"epochs": 25}, (25, None, 0.0)),  # even when they are the recipe's own
    (96, {"epochs": 30, "val_split": 0.2}, (30, None, 0.2)),
    (96, {"patience": 2}, (25, 2, 0.1)),   # the user's early stopping is kept
    (96, {"patience": 4}, (25, 4, 0.1)),   # even when it is the recipe's own
    (96, {"epochs": 30, "patience": 4}, (30, 4, 0.1)),
])
def test_the_images_recipe_takes_enough_steps_on_a_small_folder(n_train, given, expected):
    """25 epochs of a small folder are a few dozen steps, and early stopping on its handful
    of validation images ended them at chance (a 2-class photo folder: 50%, and 91.7% with
    500 steps): such a folder gets MIN_IMAGE_STEPS steps, without early stopping, and says
    so in one line. Its validation images would then choose nothing, so they are trained on
    too, unless the user gave --val-split. --epochs sets the epochs, not the early
    stopping: only --patience brings that back."""
    from nnscratch.experiment import _settle_image_config
    from nnscratch.recipes import MIN_IMAGE_STEPS, make_config

    config = {**make_config("images", **given), "data": "photos"}
    pipeline = ImagePipeline(height=12, width=12, color="rgb", classes=("a", "b"))
    lines = []
    _settle_image_config(config, pipeline, n_train, lines.append, chosen=set(given))
    assert (config["epochs"], config["patience"], config["val_split"]) == expected
    if expected[1] is None:
        split = "val_split" in given
        val = round(given.get("val_split", 0.1) * n_train)
        steps = -(-(n_train - (val if split else 0)) // 64)
        if "epochs" in given:
            what, flags = f"the {given['epochs']} epochs asked for", "--patience"
        else:
            assert config["epochs"] * steps >= MIN_IMAGE_STEPS > (config["epochs"] - 1) * steps
            what = f"{config['epochs']} epochs, for at least {MIN_IMAGE_STEPS} steps"
            flags = "--epochs and --patience" if split else "--epochs, --patience"
        head = (f"The images recipe on {n_train:,} training images ({steps} step"
                f"{'s' if steps > 1 else ''} an epoch): {what}, ")
        if split:
            assert lines == [head + f"without early stopping ({val} validation images are "
                             f"too few to choose an epoch); {flags} to choose"]
        else:
            assert lines == [head + "on every training image: no validation split nor early "
                             f"stopping ({val} validation images would be too few to choose "
                             f"an epoch); {flags} and --val-split to choose"]
    else:
        assert lines == []


def test_epochs_set_in_a_configuration_from_python_are_kept_on_a_small_folder():
    """From Python, a configuration whose epochs differ from the recipe's is the caller's
    choice even when ``chosen`` does not name them: kept, without early stopping."""
    from nnscratch.experiment import _settle_image_config
    from nnscratch.recipes import make_config

    config = {**make_config("images", epochs=30), "data": "photos"}
    pipeline = ImagePipeline(height=12, width=12, color="rgb", classes=("a", "b"))
    lines = []
    _settle_image_config(config, pipeline, 96, lines.append)
    assert (config["epochs"], config["patience"], config["val_split"]) == (30, None, 0.0)
    assert "the 30 epochs asked for" in lines[0]


def test_hidden_sizes_given_for_a_folder_build_the_users_mlp():
    """--hidden with a folder: the user's dense layers, not the images recipe's convolutions
    (before, the recipe's layers silently replaced them)."""
    from nnscratch.experiment import _settle_image_config
    from nnscratch.recipes import make_config

    pipeline = ImagePipeline(height=12, width=12, color="rgb", classes=("a", "b"))
    config = {**make_config("images", hidden=[64]), "data": "photos"}
    _settle_image_config(config, pipeline, 18_000, lambda line: None, chosen={"hidden"})
    assert config["arch"] is None and config["hidden"] == [64]
    config = {**make_config("images"), "data": "photos"}
    _settle_image_config(config, pipeline, 18_000, lambda line: None, chosen=set())
    assert config["arch"].startswith("center,conv32k3same")


def _two_colour_folder(root, rng, per_class=20, size=10):
    """Noise pictures, orange ones in ``warm/`` and blue ones in ``cold/``: the classes
    differ by their colour only."""
    for name, colour in (("warm", (200, 90, 40)), ("cold", (40, 90, 200))):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.asarray(colour) + rng.normal(0, 40, size=(size, size, 3))
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
                root / name / f"{i}.png")
    return root


def test_the_mean_colour_score_and_its_rule():
    """The mean colour alone predicts classes that differ by colour (the rule: leave
    ``center`` out), not classes whose colours are drawn at random (keep it), and says
    nothing when a class has a single image; the same seed gives the same numbers."""
    from nnscratch.recipes import mean_colour_score, mean_colour_tells_classes

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 60)
    base = rng.uniform(0, 1, size=(len(y), 1, 3))
    noise = rng.normal(0, 0.05, size=(len(y), 16, 3))
    by_class = (base * 0.2 + np.eye(3)[y][:, None, :] * 0.5 + noise).reshape(len(y), -1)
    at_random = (base + noise).reshape(len(y), -1)
    score = mean_colour_score(by_class, y, 3)
    assert score[0] == 1.0 and score[1] == pytest.approx(1 / 3) and score[2] < 1e-20
    assert mean_colour_tells_classes(*score)
    score = mean_colour_score(at_random, y, 3)
    assert score[0] < 1 / 3 + 0.1 and not mean_colour_tells_classes(*score)
    assert mean_colour_score(at_random, y, 3) == score
    lonely = np.array([0] * 10 + [1])
    assert mean_colour_score(at_random[:11], lonely, 3) == (10 / 11, 10 / 11, 1.0)
    assert not mean_colour_tells_classes(10 / 11, 10 / 11, 1.0)


def test_the_images_recipe_keeps_the_mean_colour_of_classes_that_differ_by_it(tmp_path,
                                                                                capsys):
    """``center`` would take away the only signal of a two-colour folder: the recipe leaves
    it out, says so in one line, and the network tells the colours apart; a folder of
    shapes in random colours keeps it, without a line."""
    from nnscratch.recipes import image_arch

    root = _two_colour_folder(tmp_path / "colours", np.random.default_rng(0))
    out = tmp_path / "run"
    assert main(["train", "--data", str(root), "--epochs", "15", "--no-bar", "--out",
                 str(out)]) == 0
    printed = capsys.readouterr().out
    assert ("The images recipe keeps each image's mean colour (no 'center' layer): alone, "
            "it tells the classes apart (100.0% of the training images, cross-validated, "
            "against 50.0% for the most frequent class); --arch to choose") in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["arch"] == image_arch(10, 10, center=False)
    assert metrics["test_accuracy"] == 1.0
    shapes = _shapes_folder(tmp_path / "shapes", np.random.default_rng(1), per_class=16)
    assert main(["train", "--data", str(shapes), "--epochs", "2", "--no-bar", "--out",
                 str(tmp_path / "shapes-run")]) == 0
    assert "mean colour" not in capsys.readouterr().out
    config = json.loads((tmp_path / "shapes-run" / "metrics.json").read_text())["config"]
    assert config["arch"] == image_arch(12, 12)
    assert config["arch"].startswith("center,")


def test_the_recipe_epochs_typed_on_the_command_line_are_kept(tmp_path, capsys):
    """``--epochs 25``, the images recipe's own number, typed by the user on a small folder:
    exactly 25 epochs, on every training image, with no early stopping on the 4 validation
    images there would be; the line says so."""
    root = _shapes_folder(tmp_path / "shapes", np.random.default_rng(1), per_class=16)
    out = tmp_path / "run"
    assert main(["train", "--data", str(root), "--epochs", "25", "--no-bar", "--out",
                 str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    config = metrics["config"]
    assert (config["epochs"], config["patience"], config["val_split"]) == (25, None, 0.0)
    assert metrics["epochs"] == 25
    assert ("The images recipe on 39 training images (1 step an epoch): the 25 epochs asked "
            "for, on every training image: no validation split nor early stopping (4 "
            "validation images would be too few to choose an epoch); --patience and "
            "--val-split to choose") in capsys.readouterr().out


def test_the_typed_epochs_hold_through_a_resume(ctrl_c_at_batch, tmp_path):
    """A run of ``--epochs 25`` on a small folder, stopped and resumed, still trains 25
    epochs without early stopping: the resumed run's configuration is its own, final."""
    root = _shapes_folder(tmp_path / "shapes", np.random.default_rng(1), per_class=16)
    out = tmp_path / "run"
    ctrl_c_at_batch(3)  # 1 batch an epoch (43 training images): in the third epoch
    assert main(["train", "--data", str(root), "--epochs", "25", "--no-bar", "--out",
                 str(out)]) == 130
    ctrl_c_at_batch(10 ** 9)
    assert main(["train", "--resume", str(out), "--no-bar"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["config"]["epochs"], metrics["config"]["patience"]) == (25, None)
    assert metrics["epochs"] == 25


def test_a_small_folder_trains_with_no_flag(tmp_path):
    """Three shapes, 16 images each, ``nnscratch train --data DIR`` and nothing else: the
    recipe's 25 epochs would be 25 steps; it takes 500 and learns the shapes."""
    root = _shapes_folder(tmp_path / "shapes", np.random.default_rng(1), per_class=16)
    out = tmp_path / "run"
    assert main(["train", "--data", str(root), "--no-bar", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["epochs"] == 500 and metrics["config"]["patience"] is None
    assert metrics["epochs"] == 500
    assert metrics["train_accuracy"] >= 0.9, metrics["train_accuracy"]
