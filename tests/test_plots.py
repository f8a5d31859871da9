"""The figures: each renders to a real, non-blank PNG and shows what it claims to show.

Every figure is written through ``save_figure`` into ``tmp_path`` and read back with Pillow:
a valid PNG of ``figsize * dpi`` pixels whose grey levels vary (standard deviation above
``STD_FLOOR``: a blank figure has 0, an empty set of axes about 20, the figures here 21-92
at 100 dpi). The model is a 64-32-32-10 network trained for 5 epochs on scikit-learn's 8x8
digits, so the whole file runs in seconds.
"""

import csv
import io
import re

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image
from threadpoolctl import threadpool_limits

from nnscratch import CrossEntropyLoss, DegenerateDataError, History, NeuralNetwork, train
from nnscratch.data import Dataset, load_digits
from nnscratch.plots import (
    CONV_FIGURES,
    RUN_FIGURES,
    draw_run_figures,
    plot_activations,
    plot_confusion_matrix,
    plot_feature_maps,
    plot_first_layer_weights,
    plot_losses,
    plot_misclassified,
    plot_regression_fits,
    plot_samples,
    plot_tsne,
    save_figure,
)

#: Minimum standard deviation of a rendered figure's grey levels (0-255) to count as drawn.
STD_FLOOR = 10.0


@pytest.fixture(scope="module", autouse=True)
def _single_openmp_thread():
    """t-SNE on one OpenMP thread: on a shared, loaded 2-core machine two threads busy-wait
    and a 300-point map takes 18 s instead of 0.5 s. The import loads scikit-learn's OpenMP
    runtime first: threadpoolctl only limits libraries that are already loaded."""
    import sklearn.manifold  # noqa: F401

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="module")
def data():
    """scikit-learn's digits as an nnscratch Dataset (1,437 train / 360 test, 8x8)."""
    return load_digits()


@pytest.fixture(scope="module")
def trained(data):
    """A 64-32-32-10 classifier after 5 epochs, and its History."""
    model = NeuralNetwork.from_sizes([64, 32, 32, 10], head_activation="softmax", seed=0)
    history = train(model, data.X_train, data.y_train, CrossEntropyLoss, 5, 32, 0.1,
                    X_test=data.X_test, y_test=data.y_test, bar=False)
    return model, history


def assert_renders(fig, path, dpi=100):
    """Save ``fig`` as PNG and check it is one, of figsize * dpi pixels, and not blank."""
    written = save_figure(fig, path, dpi=dpi)
    assert written == path
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = np.round(fig.get_size_inches() * dpi).astype(int)
        assert image.size == (width, height)
        grey = np.asarray(image.convert("L"), dtype=np.float64)
    assert grey.std() > STD_FLOOR, grey.std()


def test_plot_activations(tmp_path):
    """One panel per activation, each with the function, its derivative and a legend."""
    fig = plot_activations()
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == ["ReLU", "Tanh", "Sigmoid"]
    peaks = {}
    for ax in fig.axes:
        function, derivative = ax.get_lines()[:2]
        x = function.get_xdata()
        assert x.min() == -5 and x.max() == 5
        assert ax.get_legend() is not None
        peaks[ax.get_title()] = derivative.get_ydata().max()
    # The derivatives' maxima, worked out by hand: 1, 1 - tanh(0)^2 = 1, 1/4 at x = 0.
    assert peaks == pytest.approx({"ReLU": 1.0, "Tanh": 1.0, "Sigmoid": 0.25}, abs=1e-6)
    assert_renders(fig, tmp_path / "activations.png")


def test_plot_regression_fits(tmp_path, rng):
    """Tuples and dicts both work; each title carries its fit's mean squared error."""
    X = rng.uniform(-3, 3, size=(50, 1))  # unsorted on purpose
    y = X**2
    pred = y + rng.normal(scale=0.3, size=y.shape)
    fig = plot_regression_fits([("x^2", X, y, pred),
                                {"name": "|x|", "X": X, "y_true": np.abs(X),
                                 "y_pred": np.abs(X).ravel()}])
    first, second = fig.axes
    mse = np.mean((pred - y) ** 2)
    assert first.get_title().startswith("x^2") and f"MSE {mse:.4f}" in first.get_title()
    assert "MSE 0.0000" in second.get_title()
    assert np.all(np.diff(first.get_lines()[0].get_xdata()) >= 0)  # drawn left to right
    assert first.get_legend() is not None
    assert_renders(fig, tmp_path / "regression.png")


@pytest.mark.parametrize(("fits", "match"), [
    ([], "fits must be a non-empty list"),
    ([("x^2", np.zeros((3, 1)))], r"fits\[0\] must be \(name, X, y_true, y_pred\)"),
    ([{"name": "x^2", "X": np.zeros((3, 1))}], r"fits\[0\] lacks the keys"),
    ([("x", np.zeros((3, 2)), np.zeros(3), np.zeros(3))], r"X must have shape \(n, 1\)"),
    ([("x", np.zeros((3, 1)), np.zeros(3), np.zeros(4))], "y_pred has 4 values"),
])
def test_plot_regression_fits_rejects_bad_fits(fits, match):
    """Malformed fits raise a ValueError that says which entry and what is wrong."""
    with pytest.raises(ValueError, match=match):
        plot_regression_fits(fits)


def test_plot_samples_is_seeded(tmp_path, data):
    """The seed picks the samples; titles are their labels; 3-D images work as well."""
    X, y = data.X_train, data.y_train

    def titles(fig):
        return [ax.get_title() for ax in fig.axes if ax.get_images()]

    fig = plot_samples(X, y, image_shape=(8, 8), n=12, seed=3)
    shown = titles(fig)
    assert len(shown) == 12
    chosen = np.random.default_rng(3).choice(len(X), size=12, replace=False)
    assert shown == [str(label) for label in y[chosen]]
    assert titles(plot_samples(X.reshape(-1, 8, 8), y, n=12, seed=3)) == shown
    assert titles(plot_samples(X, y, image_shape=(8, 8), n=12, seed=4)) != shown
    assert_renders(fig, tmp_path / "samples.png")


def test_plot_samples_shows_all_when_fewer(data):
    """Asking for more samples than there are shows every one of them."""
    fig = plot_samples(data.X_test[:6], data.y_test[:6], image_shape=(8, 8), n=25)
    assert sorted(ax.get_title() for ax in fig.axes if ax.get_images()) == \
        sorted(str(label) for label in data.y_test[:6])


def test_plot_samples_rejects_bad_image_shape(data):
    """Flattened images that do not fit image_shape are refused, naming image_shape."""
    with pytest.raises(ValueError, match=r"image_shape \(28, 28\) has 784 pixels.*64"):
        plot_samples(data.X_test, data.y_test)
    with pytest.raises(ValueError, match="labels has 5 labels"):
        plot_samples(data.X_test, data.y_test[:5], image_shape=(8, 8))
    with pytest.raises(ValueError, match="n must be an integer >= 1, got 0"):
        plot_samples(data.X_test, data.y_test, image_shape=(8, 8), n=0)


def test_plot_losses_from_history(tmp_path):
    """Train, evaluation and validation curves over epochs 1..n, best epoch marked."""
    history = History(train_losses=[1.0, 0.5, 0.3], eval_losses=[1.1, 0.7, 0.6],
                      val_losses=[1.2, 0.6, 0.65], best_epoch=2)
    fig = plot_losses(history, log_scale=True)
    (ax,) = fig.axes
    curves = {line.get_label(): line for line in ax.get_lines()}
    assert set(curves) == {"Train loss", "Evaluation loss", "Validation loss",
                           "Best epoch (2, kept)"}
    assert list(curves["Train loss"].get_xdata()) == [1, 2, 3]
    assert list(curves["Validation loss"].get_ydata()) == [1.2, 0.6, 0.65]
    assert ax.get_yscale() == "log"
    assert plot_losses(history).axes[0].get_yscale() == "linear"
    assert_renders(fig, tmp_path / "losses.png")


def test_plot_losses_from_csv_columns(trained):
    """history.csv read back as columns of strings plots like the History itself."""
    _, history = trained
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(history.rows()[0]))
    writer.writeheader()
    writer.writerows(history.rows())
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    columns = {key: [row[key] for row in rows] for key in rows[0]}
    assert columns["val_loss"] == [""] * history.epochs  # no validation split in this run
    lines = {line.get_label(): line for line in plot_losses(columns).axes[0].get_lines()}
    assert set(lines) == {"Train loss", "Evaluation loss"}
    np.testing.assert_allclose(lines["Evaluation loss"].get_ydata(), history.eval_losses)
    assert list(lines["Train loss"].get_xdata()) == list(range(1, history.epochs + 1))


def test_plot_losses_rejects_bad_history():
    """No train_loss, no epochs, a wrong type or log scale of a zero loss are refused."""
    with pytest.raises(ValueError, match="'train_loss' column"):
        plot_losses({"eval_loss": [1.0]})
    with pytest.raises(ValueError, match="no epochs"):
        plot_losses(History())
    with pytest.raises(ValueError, match="'train_loss' must hold numbers"):
        plot_losses({"train_loss": ["high"]})
    with pytest.raises(TypeError, match="history must be a History or a mapping"):
        plot_losses([1.0, 0.5])
    with pytest.raises(ValueError, match="log_scale needs positive losses"):
        plot_losses({"train_loss": [1.0, 0.0]}, log_scale=True)


@pytest.mark.parametrize(("layer", "description", "width"), [
    (-1, "output layer", 10), (-2, "last hidden layer", 32)])
def test_plot_tsne(tmp_path, data, trained, layer, description, width):
    """300 embedded points, one legend entry per class, the layer named in the title."""
    model, _ = trained
    fig = plot_tsne(model, data.X_test, data.y_test, layer=layer, n_points=300, seed=0)
    (ax,) = fig.axes
    assert sum(len(c.get_offsets()) for c in ax.collections) == 300
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [str(c) for c in range(10)]
    assert f"{description} (layer {layer}, {width}-d), 300 points" in ax.get_title()
    assert_renders(fig, tmp_path / f"tsne{layer}.png")


def test_figures_name_the_classes(tmp_path, data, trained):
    """With class names (a folder model's class folders), the t-SNE legend and the feature
    maps' titles show the names, not the label numbers."""
    from nnscratch.architecture import parse_arch

    names = [f"kind{c}" for c in range(10)]
    model, _ = trained
    X, y = data.X_test[:100], data.y_test[:100]
    fig = plot_tsne(model, X, y, n_points=100, seed=0, perplexity=10, class_names=names)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == [names[c] for c in np.unique(y)]
    conv = NeuralNetwork.from_architecture(parse_arch("conv4k3,pool2"), (1, 8, 8), 10,
                                           head_activation="softmax", seed=0)
    x, label = data.X_test[0], int(data.y_test[0])
    fig = plot_feature_maps(conv, x, image_shape=(8, 8), label=label, class_names=names)
    predicted = int(np.argmax(conv.predict_proba(x[None])[0]))
    assert fig.axes[0].get_title() == f"input (class {names[label]})"
    assert fig._suptitle.get_text() == \
        f"Feature maps of one test image; the network reads {names[predicted]}"
    fig = plot_feature_maps(conv, x, image_shape=(8, 8), label=label)
    assert fig.axes[0].get_title() == f"input (digit {label})"
    assert fig._suptitle.get_text() == \
        f"Feature maps of one test digit; the network reads {predicted}"
    assert_renders(fig, tmp_path / "maps.png")


def test_plot_tsne_is_seeded(data, trained):
    """The same seed gives the same map; the colours follow the true classes."""
    model, _ = trained

    def points(seed):
        ax = plot_tsne(model, data.X_test, data.y_test, n_points=60, seed=seed,
                       perplexity=10).axes[0]
        return {c.get_label(): c.get_offsets().data for c in ax.collections}

    first = points(5)
    again = points(5)
    assert first.keys() == again.keys()
    for label, offsets in again.items():
        np.testing.assert_array_equal(offsets, first[label])
    chosen = np.sort(np.random.default_rng(5).choice(len(data.X_test), 60, replace=False))
    counts = np.bincount(data.y_test[chosen], minlength=10)
    assert {label: len(xy) for label, xy in first.items()} == \
        {str(c): int(counts[c]) for c in np.flatnonzero(counts)}


@pytest.mark.parametrize("layer", [-1, -2])
def test_plot_tsne_is_scikit_learns_map_of_the_layer(data, trained, layer):
    """The points drawn are scikit-learn's t-SNE of the layer's raw output, exactly: centring
    and scaling by a power of two (what keeps huge outputs in range) change nothing."""
    from sklearn.manifold import TSNE

    model, _ = trained
    ax = plot_tsne(model, data.X_test, data.y_test, layer=layer, n_points=120, seed=3,
                   perplexity=10, max_iter=250).axes[0]
    drawn = np.concatenate([c.get_offsets().data for c in ax.collections])
    idx = np.sort(np.random.default_rng(3).choice(len(data.X_test), 120, replace=False))
    reference = TSNE(n_components=2, perplexity=10, init="pca", max_iter=250,
                     random_state=3).fit_transform(
        model.representation(data.X_test[idx], layer).astype(np.float64))
    order = np.concatenate([np.flatnonzero(data.y_test[idx] == int(c.get_label()))
                            for c in ax.collections])
    np.testing.assert_allclose(drawn, reference[order], rtol=0, atol=1e-9)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"layer": 3}, r"layer must be an integer in \[-3, 2\].*got 3"),
    ({"layer": -4}, r"layer must be an integer in \[-3, 2\].*got -4"),
    ({"layer": 1.0}, r"layer must be an integer"),
    ({"n_points": 50, "perplexity": 50}, "perplexity must be less than the number of points"),
    ({"n_points": 1}, "n_points must be an integer >= 2"),
    ({"max_iter": 100}, "max_iter must be an integer >= 250"),
])
def test_plot_tsne_rejects_bad_arguments(data, trained, kwargs, match):
    """A layer the network does not have, or t-SNE settings out of range, are refused."""
    model, _ = trained
    with pytest.raises(ValueError, match=match):
        plot_tsne(model, data.X_test, data.y_test, **kwargs)


def test_plot_tsne_rejects_wrong_features(data, trained):
    """Inputs that do not fit the network are refused before t-SNE runs."""
    model, _ = trained
    with pytest.raises(ValueError, match="X has 60 features; the network expects 64"):
        plot_tsne(model, data.X_test[:, :60], data.y_test)


def test_plot_misclassified(tmp_path, data, trained):
    """The first misclassified samples, titled with true label, prediction and confidence."""
    model, _ = trained
    pred = model.predict(data.X_test)
    proba = model.predict_proba(data.X_test)
    wrong = np.flatnonzero(pred != data.y_test)
    assert len(wrong) > 6  # the 5-epoch network makes enough mistakes to fill the grid
    fig = plot_misclassified(model, data.X_test, data.y_test, image_shape=(8, 8), n=6)
    titles = [ax.get_title() for ax in fig.axes if ax.get_images()]
    expected = [f"true {data.y_test[i]} / pred {pred[i]} ({proba[i, pred[i]]:.0%})"
                for i in wrong[:6]]
    assert titles == expected
    assert all(re.fullmatch(r"true \d / pred \d \(\d+%\)", t) for t in titles)
    assert fig.get_suptitle().startswith(f"{len(wrong)} of {len(data.X_test)} misclassified")
    assert_renders(fig, tmp_path / "misclassified.png")


def test_plot_misclassified_fits_one_image_and_long_class_names(tmp_path, data, trained):
    """One misclassified photo of a folder with long class names: its title and the
    figure's fit inside the figure (they were cut off at 1.9 inches wide), true and
    predicted on two lines, and no "the first 1" when every mistake is shown."""
    model, _ = trained
    pred = model.predict(data.X_test)
    i = np.flatnonzero(pred != data.y_test)[0]
    keep = np.r_[i, np.flatnonzero(pred == data.y_test)[:20]]
    names = [f"a_long_class_folder_{c}" for c in range(10)]
    fig = plot_misclassified(model, data.X_test[keep], data.y_test[keep], image_shape=(8, 8),
                             class_names=names)
    (ax,) = [ax for ax in fig.axes if ax.get_images()]
    assert ax.get_title().split("\n") == [
        f"true {names[data.y_test[i]]}",
        f"pred {names[pred[i]]} ({model.predict_proba(data.X_test[i:i + 1])[0, pred[i]]:.0%})"]
    assert fig.get_suptitle() == "1 of 21 misclassified (4.8%)"
    assert_renders(fig, tmp_path / "one.png")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer, box = canvas.get_renderer(), fig.bbox
    for text in (ax.title, fig._suptitle):
        extent = text.get_window_extent(renderer)
        assert box.x0 <= extent.x0 and extent.x1 <= box.x1, text.get_text()


def test_plot_misclassified_when_none_are(tmp_path, data, trained):
    """With every sample right, the figure says so instead of drawing an empty grid."""
    model, _ = trained
    right = model.predict(data.X_test) == data.y_test
    fig = plot_misclassified(model, data.X_test[right], data.y_test[right],
                             image_shape=(8, 8))
    assert not fig.axes
    assert [t.get_text() for t in fig.texts] == [
        f"No misclassified samples: all {right.sum():,} are predicted correctly."]
    assert_renders(fig, tmp_path / "none.png")


@pytest.mark.parametrize("plot", [plot_misclassified, plot_first_layer_weights])
def test_image_plots_reject_image_shape_not_matching_input_size(data, trained, plot):
    """image_shape must multiply to the network's input_size (the error names all three)."""
    model, _ = trained
    args = (model, data.X_test, data.y_test) if plot is plot_misclassified else (model,)
    with pytest.raises(ValueError, match=r"image_shape \(28, 28\) has 784 pixels, but the "
                                         r"network's input_size is 64"):
        plot(*args)
    with pytest.raises(ValueError, match=r"image_shape must be two positive integers "
                                         r"\(height, width\), or \(height, width, 1 or 3\), "
                                         r"got \(8, 8, 2\)"):
        plot(*args, image_shape=(8, 8, 2))
    with pytest.raises(ValueError, match="n must be an integer >= 1, got 0"):
        plot(*args, image_shape=(8, 8), n=0)


def test_plot_confusion_matrix(tmp_path, rng):
    """The heat map holds the counts (or row fractions) and writes one value per cell."""
    y_true = rng.integers(0, 4, size=200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 4, size=200))
    counts = np.zeros((4, 4))
    for t, p in zip(y_true, y_pred, strict=True):
        counts[t, p] += 1
    fig = plot_confusion_matrix(y_true, y_pred)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), counts)
    assert len(ax.texts) == 16
    assert f"accuracy {np.mean(y_true == y_pred):.2%}" in ax.get_title()
    normalized = plot_confusion_matrix(y_true, y_pred, normalize="true").axes[0]
    np.testing.assert_allclose(normalized.get_images()[0].get_array(),
                               counts / counts.sum(axis=1, keepdims=True))
    assert_renders(fig, tmp_path / "confusion_matrix.png")


def test_plot_confusion_matrix_rejects_bad_arguments():
    """An unknown normalize, or labels of different lengths, are refused."""
    with pytest.raises(ValueError, match="normalize must be one of"):
        plot_confusion_matrix([0, 1], [0, 1], normalize="rows")
    with pytest.raises(ValueError, match="y_pred has 3 labels but there are 2 samples"):
        plot_confusion_matrix([0, 1], [0, 1, 1])


def test_plot_first_layer_weights(tmp_path, trained):
    """The first n weight columns as images, diverging colours symmetric about 0."""
    model, _ = trained
    fig = plot_first_layer_weights(model, image_shape=(8, 8), n=8)
    images = [ax.get_images()[0] for ax in fig.axes if ax.get_images()]
    assert len(images) == 8
    weights = model.dense_layers[0].weights
    limit = np.abs(weights[:, :8]).max()
    for j, image in enumerate(images):
        np.testing.assert_array_equal(image.get_array(), weights[:, j].reshape(8, 8))
        assert image.get_clim() == pytest.approx((-limit, limit))
        assert image.get_cmap().name == "RdBu_r"
    assert len(plot_first_layer_weights(model, image_shape=(8, 8), n=100).axes) == 32 + 1
    assert_renders(fig, tmp_path / "weights.png")


def test_save_figure_is_atomic(tmp_path, monkeypatch):
    """Folders are created; a failing render leaves the old file and no temporary file."""
    fig = plot_losses({"train_loss": [1.0, 0.5]})
    path = save_figure(fig, tmp_path / "new" / "folder" / "losses.png", dpi=40)
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    before = path.read_bytes()

    def broken_savefig(*args, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(fig, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        save_figure(fig, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["losses.png"]


def test_save_figure_rejects_bad_arguments(tmp_path):
    """Only Figures, .png paths and positive dpi are accepted."""
    fig = plot_losses({"train_loss": [1.0]})
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        save_figure("figure", tmp_path / "a.png")
    with pytest.raises(ValueError, match=r"path must end in \.png"):
        save_figure(fig, tmp_path / "a.jpg")
    with pytest.raises(ValueError, match="dpi must be a positive finite number"):
        save_figure(fig, tmp_path / "a.png", dpi=0)
    assert not list(tmp_path.iterdir())


def test_draw_run_figures(tmp_path, data, trained):
    """All seven run figures are written under their stable names, and nothing else."""
    model, history = trained
    paths = draw_run_figures(model, history, data, tmp_path / "run", tsne_points=100)
    assert list(paths) == [name for name in RUN_FIGURES if name not in CONV_FIGURES]
    assert {p.name for p in paths.values()} == {
        "samples.png", "losses.png", "tsne_output.png", "tsne_hidden.png",
        "misclassified.png", "confusion_matrix.png", "first_layer_weights.png"}
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == \
        sorted(p.name for p in paths.values())
    for path in paths.values():
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert np.asarray(image.convert("L"), dtype=np.float64).std() > STD_FLOOR


@pytest.mark.parametrize(("n_test", "tsne_points"), [(24, 3000), (360, 10)])
def test_draw_run_figures_maps_a_few_test_points(tmp_path, data, trained, n_test, tsne_points):
    """A small test split (a folder of 120 photos has 24) or a small --tsne-points still
    gets both t-SNE maps: fewer points than t-SNE's perplexity of 30 are embedded with a
    third of their number instead (before, "perplexity must be less than the number of
    points" stopped every figure after the first two). One test point: the maps are skipped
    with a reason, and the other figures are drawn (the confusion matrix of all 10 classes,
    where scikit-learn warned of a single label before)."""
    import dataclasses

    model, history = trained
    small = dataclasses.replace(data, X_test=data.X_test[:n_test], y_test=data.y_test[:n_test])
    paths = draw_run_figures(model, history, small, tmp_path / "run", tsne_points=tsne_points)
    assert {"tsne_output", "tsne_hidden", "confusion_matrix"} <= set(paths)
    skipped = []
    one = dataclasses.replace(data, X_test=data.X_test[:1], y_test=data.y_test[:1])
    paths = draw_run_figures(model, history, one, tmp_path / "one",
                             on_skip=lambda name, reason: skipped.append((name, reason)))
    reason = "a t-SNE map needs at least 2 test points, the run has 1"
    assert skipped == [("tsne_output", reason), ("tsne_hidden", reason)]
    assert "confusion_matrix" in paths and "tsne_output" not in paths


def test_draw_run_figures_rejects_bad_input_before_writing(tmp_path, trained):
    """Rows neither images nor a table's, mismatched data, a bad tsne_points or history:
    refused, nothing written."""
    model, history = trained
    X, y = np.zeros((4, 64)), np.arange(4)
    line = Dataset(X, y, X, y, name="line", split="blog", n_classes=10, feature_shape=(64,))
    with pytest.raises(ValueError, match="dataset must be of images"):
        draw_run_figures(model, history, line, tmp_path)
    wide = Dataset(np.zeros((4, 81)), y, np.zeros((4, 81)), y, name="wide", split="blog",
                   n_classes=10, feature_shape=(9, 9))
    with pytest.raises(ValueError, match="dataset has 81 features; the network expects 64"):
        draw_run_figures(model, history, wide, tmp_path)
    digits = load_digits()
    with pytest.raises(ValueError, match="tsne_points must be an integer >= 2"):
        draw_run_figures(model, history, digits, tmp_path, tsne_points=1)
    with pytest.raises(ValueError, match="history has no epochs"):
        draw_run_figures(model, History(), digits, tmp_path)
    assert not list(tmp_path.iterdir())


# --- degenerate runs: what a blown-up network gives (a segfault in t-SNE, once) -------------
# A network whose output is the same for every input is tested end to end, in a subprocess,
# in tests/test_cli.py: before the fix t-SNE crashed the interpreter on it.
def scaled(model, factor):
    """A copy of ``model`` with every weight multiplied by ``factor``."""
    big = model.copy()
    for layer in big.dense_layers:
        layer.weights *= factor
    return big


@pytest.mark.parametrize("layer", [-1, -2])
def test_plot_tsne_of_huge_activations(tmp_path, data, trained, layer):
    """Weights x 1e10: hidden outputs near 1e22, whose squared distances overflow float32;
    the map is drawn all the same, without a warning, and shows the classes."""
    model = scaled(trained[0], 1e10)
    features = model.representation(data.X_test, layer)
    assert np.isfinite(features).all() and np.abs(features).max() > (1e18 if layer == -2 else 0)
    fig = plot_tsne(model, data.X_test, data.y_test, layer=layer, n_points=200)
    assert_renders(fig, tmp_path / "tsne.png")


def test_draw_run_figures_skips_what_an_overflowing_network_cannot_make(tmp_path, data,
                                                                        trained):
    """Weights x 1e20 overflow float32 in the forward pass: the figures that need its output
    are skipped, each reported once, in one line; the others are written; no warning."""
    model, history = trained
    big = scaled(model, 1e20)
    with np.errstate(over="ignore", invalid="ignore"):
        assert not np.isfinite(big.predict_proba(data.X_test)).any()
    skipped = []
    paths = draw_run_figures(big, history, data, tmp_path, tsne_points=100,
                             on_skip=lambda name, reason: skipped.append((name, reason)))
    assert list(paths) == ["samples", "losses", "first_layer_weights"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths.values())
    assert [name for name, _ in skipped] == [
        "tsne_output", "tsne_hidden", "misclassified", "confusion_matrix"]
    for name, reason in skipped:
        assert "\n" not in reason and "is not finite for" in reason, (name, reason)
        assert "overflows float32" in reason
    for path in paths.values():
        with Image.open(path) as image:
            assert np.asarray(image.convert("L"), dtype=np.float64).std() > STD_FLOOR


def test_draw_run_figures_warns_about_a_skipped_figure_by_default(tmp_path, data, trained):
    """Without on_skip, each skipped figure is a RuntimeWarning naming it."""
    model, history = trained
    with pytest.warns(RuntimeWarning) as record:
        paths = draw_run_figures(scaled(model, 1e20), history, data, tmp_path,
                                 tsne_points=100)
    messages = [str(w.message) for w in record]
    assert [m.split(":")[0] for m in messages] == [
        "tsne_output not drawn", "tsne_hidden not drawn", "misclassified not drawn",
        "confusion_matrix not drawn"]
    assert all("not finite" in m for m in messages)
    assert set(paths) == {"samples", "losses", "first_layer_weights"}


def test_plots_of_an_overflowing_network_raise_degenerate_data_error(data, trained):
    """The public plot functions refuse it with a ValueError subclass, not NumPy warnings."""
    big = scaled(trained[0], 1e20)
    with pytest.raises(DegenerateDataError, match=r"the network's output is not finite for "
                                                  r"360 of 360 samples"):
        plot_misclassified(big, data.X_test, data.y_test, image_shape=(8, 8))
    with pytest.raises(ValueError, match=r"output of the last hidden layer \(layer -2\) is "
                                         r"not finite"):
        plot_tsne(big, data.X_test, data.y_test, layer=-2, n_points=100)


def test_one_prediction_for_everything_is_still_drawn(tmp_path, data, trained):
    """All predictions one class (zero weights): the confusion matrix and the misclassified
    digits are drawn; only the t-SNE maps, of identical points, are skipped."""
    model, history = trained
    flat = scaled(model, 0.0)
    assert len(np.unique(flat.predict(data.X_test))) == 1
    skipped = {}
    paths = draw_run_figures(flat, history, data, tmp_path, tsne_points=100,
                             on_skip=skipped.__setitem__)
    assert set(skipped) == {"tsne_output", "tsne_hidden"}
    assert "its output is the same for all 100 points" in skipped["tsne_output"]
    assert set(paths) == set(RUN_FIGURES) - set(CONV_FIGURES) - set(skipped)
