"""The figures of the blog post and of a training run, drawn from our own data and models.

Every function takes plain data (arrays, a :class:`~nnscratch.training.History`, a trained
:class:`~nnscratch.network.NeuralNetwork`) and returns a :class:`matplotlib.figure.Figure`
built with the object-oriented API: no pyplot state, so the figures work the same in a
notebook and on a headless machine (PNG output always goes through Agg). Nothing here does
the network's math; models are only asked through their public methods (``predict``,
``predict_proba``, ``representation``, ``dense_layers``). :func:`save_figure` writes a
figure atomically; :func:`draw_run_figures` writes every figure of a run (images or a table).

A figure that the data cannot make (a t-SNE of points that are all the same, the predictions
of a network whose forward pass overflows) is refused with a
:class:`~nnscratch.errors.DegenerateDataError`; :func:`draw_run_figures` skips it and says so.
"""

import io
import math
import numbers
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .activations import Relu, Sigmoid, Tanh
from .errors import DegenerateDataError
from .files import write_bytes
from .losses import MeanSquaredErrorLoss
from .training import History
from .validation import check_array, check_int, check_positive

#: The figures :func:`draw_run_figures` writes: name -> file name (stable; the CLI uses it).
RUN_FIGURES = {
    "samples": "samples.png",
    "losses": "losses.png",
    "tsne_output": "tsne_output.png",
    "tsne_hidden": "tsne_hidden.png",
    "misclassified": "misclassified.png",
    "confusion_matrix": "confusion_matrix.png",
    "first_layer_weights": "first_layer_weights.png",
    "conv_filters": "conv_filters.png",
    "feature_maps": "feature_maps.png",
}
#: The figures only a convolutional network has (an MLP has first_layer_weights instead).
CONV_FIGURES = ("conv_filters", "feature_maps")

_NORMALIZE = (None, "true", "pred", "all")

#: t-SNE iterations of :func:`plot_tsne` (scikit-learn's default is 1000; see there).
TSNE_MAX_ITER = 500
#: t-SNE perplexity of :func:`plot_tsne` (scikit-learn's default).
TSNE_PERPLEXITY = 30


# --- helpers --------------------------------------------------------------------------------
def _figure(width, height):
    """A new Figure with constrained layout (no pyplot, no tight_layout warnings)."""
    return Figure(figsize=(width, height), layout="constrained")


def _grid(n, max_cols):
    """Rows and columns of a near-square grid holding ``n`` panels."""
    cols = min(max_cols, math.ceil(math.sqrt(n)))
    return math.ceil(n / cols), cols


def _check_image_shape(image_shape, n_features, what):
    """``image_shape`` as ``(h, w)``, or ``(h, w, 3)`` for colour (channels-last) images,
    positive ints whose product is ``n_features``; ``(h, w, 1)`` becomes ``(h, w)``."""
    if (not isinstance(image_shape, (tuple, list)) or len(image_shape) not in (2, 3)
            or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0
                       for s in image_shape)
            or (len(image_shape) == 3 and image_shape[2] not in (1, 3))):
        raise ValueError(f"image_shape must be two positive integers (height, width), "
                         f"or (height, width, 1 or 3), got {image_shape!r}")
    shape = tuple(int(s) for s in image_shape)
    if math.prod(shape) != n_features:
        raise ValueError(f"image_shape {shape} has {math.prod(shape)} pixels, but "
                         f"{what} is {n_features}")
    return shape[:2] if shape[2:] == (1,) else shape


def _labels(y, name, n_samples):
    """Integer class labels ``(N,)`` from labels or one-hot rows ``(N, K)``."""
    y = check_array(y, name, ndim=(1, 2))
    if y.ndim == 2:
        y = np.argmax(y, axis=1)  # one-hot rows, as in the blog
    if len(y) != n_samples:
        raise ValueError(f"{name} has {len(y)} labels but there are {n_samples} samples")
    if not (np.issubdtype(y.dtype, np.integer) or np.array_equal(y, np.round(y))):
        raise ValueError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    return y.astype(np.int64)


def _finite_output(model, compute, what):
    """``compute()``, a forward pass of ``model``, refused unless every value is finite.

    NumPy's overflow warnings are silenced here and reported once, as the error.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        out = compute()  # (N, width)
    finite = np.isfinite(out).all(axis=1)
    if not finite.all():
        largest = max(float(np.max(np.abs(layer.weights))) for layer in model.dense_layers)
        raise DegenerateDataError(
            f"{what} is not finite for {np.sum(~finite):,} of {len(out):,} samples: the "
            f"forward pass overflows {np.dtype(model.dtype).name} (largest |weight| "
            f"{largest:.3g})")
    return out


def _show_image(ax, image, title, **imshow_kw):
    """One image in a bare panel with a small title; a colour one ``(h, w, 3)`` as it is
    (values in [0, 1]), a grey one with ``imshow_kw`` (colormap, limits)."""
    if image.ndim == 3:
        imshow_kw = {}
        image = np.clip(image, 0, 1)
    ax.imshow(image, interpolation="nearest", **imshow_kw)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()


def _name(label, class_names):
    """A label as shown: its class name when there are names."""
    return str(label) if class_names is None else str(class_names[label])


def _named(names, n_classes):
    """The confusion matrix's options: every class (also one the test split lacks), named
    when ``names`` are given."""
    return {"labels": list(range(n_classes)),
            **({} if names is None else {"display_labels": names})}


def _hide_unused(axes, used):
    """Switch off the grid's panels past the ``used`` first ones."""
    for ax in axes.flat[used:]:
        ax.set_axis_off()


# --- the blog's figures ---------------------------------------------------------------------
def plot_activations():
    """ReLU, Tanh and Sigmoid and their derivatives on ``[-5, 5]``, one panel each.

    The curves come from :mod:`nnscratch.activations` (``forward`` and ``derivative``).

    Returns
    -------
    matplotlib.figure.Figure
        Three panels, each with the function, its derivative, a legend and a grid.
    """
    x = np.linspace(-5.0, 5.0, 1001)  # (1001,)
    fig = _figure(15, 4.5)
    axes = fig.subplots(1, 3, sharex=True)
    for ax, cls in zip(axes, (Relu, Tanh, Sigmoid), strict=True):
        label = cls.__name__ if cls is not Relu else "ReLU"
        ax.plot(x, cls().forward(x), label=f"{label}(x)", linewidth=2)
        ax.plot(x, cls().derivative(x), label=f"{label}'(x)", linestyle="--", linewidth=2)
        ax.axhline(0, color="0.6", linewidth=0.8)
        ax.axvline(0, color="0.6", linewidth=0.8)
        ax.set_title(label)
        ax.set_xlabel("x")
        ax.set_xlim(-5, 5)
        ax.grid(True, alpha=0.4)
        ax.legend(loc="upper left")
    return fig


def plot_regression_fits(fits):
    """The true function against the network's prediction, one panel per function.

    Parameters
    ----------
    fits : sequence of tuple or dict
        Each ``(name, X, y_true, y_pred)`` or a dict with those keys; ``X`` of shape
        ``(n, 1)`` (or ``(n,)``), ``y_true`` and ``y_pred`` of shape ``(n, 1)`` or ``(n,)``.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per fit, titled with the name and the mean squared error.

    Raises
    ------
    ValueError
        If ``fits`` is empty, an entry is not a 4-tuple or a dict with those keys, or the
        arrays do not have one value per point.
    """
    if isinstance(fits, (str, bytes, Mapping)) or not hasattr(fits, "__len__") or not fits:
        raise ValueError(f"fits must be a non-empty list of (name, X, y_true, y_pred), "
                         f"got {fits!r:.80}")
    rows = []
    for i, fit in enumerate(fits):
        if isinstance(fit, Mapping):
            missing = {"name", "X", "y_true", "y_pred"} - set(fit)
            if missing:
                raise ValueError(f"fits[{i}] lacks the keys {sorted(missing)}")
            fit = (fit["name"], fit["X"], fit["y_true"], fit["y_pred"])
        elif not isinstance(fit, (tuple, list)) or len(fit) != 4:
            raise ValueError(f"fits[{i}] must be (name, X, y_true, y_pred) or a dict with "
                             f"those keys, got {fit!r:.80}")
        name, X, y_true, y_pred = fit
        X = check_array(X, f"fits[{i}] X", ndim=(1, 2))
        if X.ndim == 2 and X.shape[1] != 1:
            raise ValueError(f"fits[{i}] X must have shape (n, 1), got {X.shape}")
        arrays = [X.reshape(-1)]
        for label, arr in (("y_true", y_true), ("y_pred", y_pred)):
            arr = check_array(arr, f"fits[{i}] {label}", ndim=(1, 2))
            if arr.size != len(arrays[0]):
                raise ValueError(f"fits[{i}] {label} has {arr.size} values but X has "
                                 f"{len(arrays[0])} points; expected shape (n, 1)")
            arrays.append(arr.reshape(-1))
        rows.append((str(name), *arrays))

    fig = _figure(5 * len(rows), 4.5)
    axes = np.atleast_1d(fig.subplots(1, len(rows)))
    for ax, (name, x, y_true, y_pred) in zip(axes, rows, strict=True):
        order = np.argsort(x, kind="stable")
        mse = MeanSquaredErrorLoss.loss(y_pred, y_true)
        ax.plot(x[order], y_true[order], label="True function", linewidth=2)
        ax.plot(x[order], y_pred[order], label="Model prediction", linewidth=2)
        ax.set_title(f"{name}   (MSE {mse:.4f})")
        ax.set_xlabel("x")
        ax.grid(True, alpha=0.4)
        ax.legend()
    return fig


def plot_samples(images, labels, *, image_shape=(28, 28), n=25, seed=0, class_names=None):
    """A grid of sample images (digits) titled with their labels (or class names).

    Parameters
    ----------
    images : array-like, shape (N, h * w) or (N, h, w)
        Pixel values (any range; MNIST's are in ``[0, 1]``).
    labels : array-like, shape (N,) integer labels, or (N, K) one-hot rows
    image_shape : tuple of int
        ``(h, w)`` of flattened images, or ``(h, w, 3)`` for colour ones (channels-last
        rows, shown in colour); ignored for 3-D ``images``.
    n : int
        How many samples to show (all of them if there are fewer).
    seed : int
        Seed of the (without replacement) choice of samples.
    class_names : sequence of str, optional
        The name of each label, for the titles.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``image_shape`` does not match the number of pixels, the labels do not match
        the images, or ``n`` is not a positive integer.
    """
    images = check_array(images, "images", ndim=(2, 3))
    labels = _labels(labels, "labels", len(images))
    n = check_int(n, "n", minimum=1)
    if images.ndim == 2:
        shape = _check_image_shape(image_shape, images.shape[1],
                                   "the number of pixels per image in images")
        images = images.reshape(len(images), *shape)  # (N, h, w)
    n = min(n, len(images))
    idx = np.random.default_rng(seed).choice(len(images), size=n, replace=False)
    rows, cols = _grid(n, 10)
    fig = _figure(1.6 * cols, 1.75 * rows + 0.2)
    axes = np.atleast_1d(fig.subplots(rows, cols))
    lo, hi = float(images[idx].min()), float(images[idx].max())
    for ax, i in zip(axes.flat, idx, strict=False):
        _show_image(ax, images[i], _name(labels[i], class_names), cmap="gray_r", vmin=lo,
                    vmax=hi)
    _hide_unused(axes, n)
    return fig


def _loss_columns(history):
    """``(train, eval, val, best_epoch)`` as float arrays (NaN where missing) from either form."""
    if isinstance(history, History):
        columns = {"train_loss": history.train_losses, "eval_loss": history.eval_losses,
                   "val_loss": history.val_losses}
        best = history.best_epoch
    elif isinstance(history, Mapping):
        if "train_loss" not in history:
            raise ValueError(f"history must have a 'train_loss' column, got the keys "
                             f"{sorted(history)}")
        columns = {k: history.get(k) for k in ("train_loss", "eval_loss", "val_loss")}
        best = None
    else:
        raise TypeError(f"history must be a History or a mapping of columns "
                        f"('train_loss', 'eval_loss', ...), got {type(history).__name__}")
    out = {}
    for key, values in columns.items():
        values = [] if values is None else list(values)
        try:  # history.csv read back: strings, '' where a value is missing
            out[key] = np.array([np.nan if v in (None, "") else float(v) for v in values],
                                dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"history column {key!r} must hold numbers, got "
                             f"{values!r:.80}") from None
    if not len(out["train_loss"]):
        raise ValueError("history has no epochs: 'train_loss' is empty")
    return out, best


def plot_losses(history, *, log_scale=False):
    """Training and evaluation (and validation) loss per epoch.

    Parameters
    ----------
    history : History or mapping
        A :class:`~nnscratch.training.History`, or columns ``{"train_loss": [...],
        "eval_loss": [...], "val_loss": [...]}`` as read back from ``history.csv``
        (numbers or strings; ``''`` or None where missing). Only ``train_loss`` is required.
    log_scale : bool
        Logarithmic loss axis.

    Returns
    -------
    matplotlib.figure.Figure
        Epochs on the x axis, starting at 1; the epoch whose weights early stopping kept is
        marked when ``history.best_epoch`` is set.

    Raises
    ------
    ValueError
        If there is no ``train_loss`` or no epoch, a column does not hold numbers, or
        ``log_scale`` is asked for with a loss that is not positive.
    TypeError
        If ``history`` is neither a History nor a mapping.
    """
    columns, best = _loss_columns(history)
    if log_scale:
        values = np.concatenate(list(columns.values()))
        if np.any(values[np.isfinite(values)] <= 0):
            raise ValueError("log_scale needs positive losses; history has a loss <= 0")
    fig = _figure(8, 5)
    ax = fig.subplots()
    styles = {"train_loss": ("Train loss", "o"), "eval_loss": ("Evaluation loss", "s"),
              "val_loss": ("Validation loss", "^")}
    for key, (label, marker) in styles.items():
        values = columns[key]
        if not np.isfinite(values).any():
            continue
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, values, label=label, marker=marker if len(values) <= 40 else None,
                markersize=4)
    if best is not None:
        ax.axvline(best, color="0.4", linestyle=":", label=f"Best epoch ({best}, kept)")
    if log_scale:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0.5, len(columns["train_loss"]) + 0.5)
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Loss")
    ax.set_title("Loss per epoch")
    ax.grid(True, alpha=0.4)
    ax.legend()
    return fig


def _layer_description(model, layer):
    """A phrase naming dense layer ``layer`` of ``model``, e.g. 'last hidden layer'."""
    n = len(model.dense_layers)
    k = layer % n
    if k == n - 1:
        return "output layer"
    if k == n - 2:
        return "last hidden layer"
    return f"hidden layer {k + 1}"


def plot_tsne(model, X, y, *, layer=-1, n_points=3000, seed=0, perplexity=TSNE_PERPLEXITY,
              max_iter=TSNE_MAX_ITER, class_names=None):
    """t-SNE map of the network's representation of ``X``, coloured by class.

    Parameters
    ----------
    model : NeuralNetwork
    X : array-like, shape (N, model.input_size)
    y : array-like, shape (N,) integer labels, or (N, K) one-hot rows
    layer : int
        Dense layer whose output is embedded (``model.representation(X, layer)``):
        ``-1`` the network's output (10-d for MNIST), ``-2`` the last hidden layer.
    n_points : int
        Embed a seeded random subset of this many points (all of them if fewer), so the
        map takes seconds: 3,000 MNIST points take about 3 s on 2 idle cores, 5-6 s on one.
        (On a busy machine scikit-learn's OpenMP threads spin and can be 4x slower than one
        thread; ``threadpoolctl.threadpool_limits(1, "openmp")`` around the call helps.)
    seed : int
        Seed of the subset and of t-SNE (``random_state``).
    perplexity : float
        t-SNE perplexity; must be less than the number of points embedded.
    max_iter : int
        t-SNE iterations (at least 250, the early-exaggeration phase). The default, 500,
        halves scikit-learn's 1000 and its time; the clusters have formed by then.
    class_names : sequence of str, optional
        The name of each label, for the legend (a folder model's class folders).

    Returns
    -------
    matplotlib.figure.Figure
        A scatter plot with one legend entry per class (tab10 colours), titled with the
        layer.

    Raises
    ------
    ValueError
        If ``layer`` is not a dense layer of ``model``, ``X`` or ``y`` do not fit the
        model, or ``n_points`` / ``perplexity`` are out of range.
    DegenerateDataError
        A ``ValueError``: the layer's output is not finite, or it is the same for every
        point embedded (a network that training blew up), so there is nothing to embed.
    """
    from sklearn.manifold import TSNE  # slow import; only this figure needs it

    X = check_array(X, "X", ndim=2)
    y = _labels(y, "y", len(X))
    n_points = check_int(n_points, "n_points", minimum=2)
    perplexity = check_positive(perplexity, "perplexity")
    max_iter = check_int(max_iter, "max_iter", minimum=250)
    n_dense = len(model.dense_layers)
    if (not isinstance(layer, numbers.Integral) or isinstance(layer, bool)
            or not -n_dense <= layer < n_dense):
        raise ValueError(f"layer must be an integer in [{-n_dense}, {n_dense - 1}] for this "
                         f"{n_dense}-layer network, got {layer!r}")
    layer = int(layer)
    n = min(n_points, len(X))
    if perplexity >= n:
        raise ValueError(f"perplexity must be less than the number of points embedded "
                         f"({n}), got {perplexity:g}")
    rng = np.random.default_rng(seed)
    idx = np.arange(n) if n == len(X) else np.sort(rng.choice(len(X), size=n, replace=False))
    where = f"the {_layer_description(model, layer)} (layer {layer})"
    features = _finite_output(model, lambda: model.representation(X[idx], layer),
                              f"the output of {where}")  # (n, sizes[layer])
    # Why centre and scale: t-SNE sees each point's distances relative to its own bandwidth
    # (found from the perplexity), and starts from a centred PCA scaled to a fixed spread, so
    # neither changes the map; a power of two scales exactly, so the map is the very same
    # one (t-SNE is chaotic: scaling by 1/0.9 can move whole clusters). It keeps the squared
    # distances, which scikit-learn casts to float32, finite; and identical points, whose
    # PCA has no spread (scikit-learn divides by it and crashes on the NaNs), are caught here.
    centred = features.astype(np.float64) - features.mean(axis=0, dtype=np.float64)
    spread = float(np.max(np.abs(centred)))
    if spread == 0:
        raise DegenerateDataError(
            f"no t-SNE of {where}: its output is the same for all {n:,} points, so there is "
            "nothing to embed")
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", max_iter=max_iter,
                random_state=seed)
    embedding = tsne.fit_transform(np.ldexp(centred, -np.frexp(spread)[1]))  # (n, 2)

    fig = _figure(9, 7.5)
    ax = fig.subplots()
    cmap = colormaps["tab10"]
    for c in np.unique(y[idx]):
        mask = y[idx] == c
        ax.scatter(embedding[mask, 0], embedding[mask, 1], s=6, color=cmap(int(c) % 10),
                   label=_name(c, class_names), alpha=0.8, linewidths=0)
    ax.legend(title="Class", loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=3,
              frameon=False)
    ax.set_title(f"t-SNE of the {_layer_description(model, layer)} (layer {layer}, "
                 f"{features.shape[1]}-d), {n} points")
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def plot_misclassified(model, X, y, *, image_shape=(28, 28), n=25, class_names=None):
    """A grid of the samples the network gets wrong, titled "true T / pred P (confidence%)"
    (with class names, on two lines).

    Parameters
    ----------
    model : NeuralNetwork
        A classifier (softmax or sigmoid head).
    X : array-like, shape (N, model.input_size)
    y : array-like, shape (N,) integer labels, or (N, K) one-hot rows
    image_shape : tuple of int
        ``(h, w)`` with ``h * w == model.input_size``, or ``(h, w, 3)`` for colour images.
    n : int
        Show at most this many, the first ones in the order of ``X``.
    class_names : sequence of str, optional
        The name of each class, for the titles.

    Returns
    -------
    matplotlib.figure.Figure
        The grid, or a figure saying that nothing was misclassified.

    Raises
    ------
    ValueError
        If ``image_shape`` does not multiply to ``model.input_size``, the model is not a
        classifier, or ``X`` / ``y`` do not fit it.
    DegenerateDataError
        A ``ValueError``: the network's output is not finite (its forward pass overflows).
    """
    shape = _check_image_shape(image_shape, model.input_size, "the network's input_size")
    n = check_int(n, "n", minimum=1)
    X = check_array(X, "X", ndim=2)
    y = _labels(y, "y", len(X))
    proba = _finite_output(model, lambda: model.predict_proba(X),
                           "the network's output")  # (N, K)
    pred = model.predict(X)  # (N,)
    wrong = np.flatnonzero(pred != y)
    if not len(wrong):
        fig = _figure(6, 2)
        fig.text(0.5, 0.5, f"No misclassified samples: all {len(X):,} are predicted "
                 "correctly.", ha="center", va="center", fontsize=12)
        return fig
    shown = wrong[:n]
    rows, cols = _grid(len(shown), 8)
    # class names (a folder's) can be long: true and predicted on two lines; and the figure
    # at least as wide as its title, also for one or two images
    sep = " / " if class_names is None else "\n"
    fig = _figure(max(1.9 * cols, 5.5), (2.0 if class_names is None else 2.3) * rows + 0.4)
    axes = np.atleast_1d(fig.subplots(rows, cols))
    lo, hi = float(X[shown].min()), float(X[shown].max())
    for ax, i in zip(axes.flat, shown, strict=False):
        confidence = proba[i, pred[i]]
        _show_image(ax, X[i].reshape(shape), f"true {_name(y[i], class_names)}{sep}pred "
                    f"{_name(pred[i], class_names)} ({confidence:.0%})", cmap="gray_r",
                    vmin=lo, vmax=hi)
    _hide_unused(axes, len(shown))
    first = f"; the first {len(shown)}" if len(shown) < len(wrong) else ""
    fig.suptitle(f"{len(wrong):,} of {len(X):,} misclassified ({len(wrong) / len(X):.1%})"
                 f"{first}")
    return fig


# --- beyond the blog ------------------------------------------------------------------------
def plot_confusion_matrix(y_true, y_pred, *, labels=None, normalize=None,
                          display_labels=None):
    """The confusion matrix as a heat map (rows: true class, columns: predicted class).

    Parameters
    ----------
    y_true, y_pred : array-like, shape (N,)
        Integer labels (one-hot rows ``(N, K)`` are accepted too).
    labels : array-like, optional
        The classes to show, in order (default: every class in either array).
    normalize : {None, "true", "pred", "all"}
        Counts (None), or fractions over each true class, predicted class or everything.
    display_labels : sequence of str, optional
        Names shown on the axes for the classes (e.g. a folder's class names).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the arrays differ in length or ``normalize`` is not one of the choices.
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    if normalize not in _NORMALIZE:
        raise ValueError(f"normalize must be one of {_NORMALIZE}, got {normalize!r}")
    y_true = check_array(y_true, "y_true", ndim=(1, 2))
    y_true = _labels(y_true, "y_true", len(y_true))
    y_pred = _labels(y_pred, "y_pred", len(y_true))
    fig = _figure(7.5, 6.5)
    ax = fig.subplots()
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=labels, normalize=normalize, ax=ax, cmap="Blues",
        display_labels=display_labels, colorbar=True,
        values_format=None if normalize is None else ".2f")
    what = {None: "counts", "true": "fraction of each true class",
            "pred": "fraction of each predicted class", "all": "fraction of all"}[normalize]
    ax.set_title(f"Confusion matrix ({what}); accuracy {np.mean(y_true == y_pred):.2%}")
    return fig


def _weight_grid(panels, name, size):
    """Weights as images, 8 a row, one diverging colormap symmetric about 0 and one colour
    bar; ``panels`` (n, h, w), titled ``"{name} {j}"``; ``size`` = (panel width, panel
    height, extra height) in inches."""
    n = len(panels)
    limit = float(np.max(np.abs(panels))) or 1.0
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    fig = _figure(size[0] * cols + 1.0, size[1] * rows + size[2])
    axes = np.atleast_1d(fig.subplots(rows, cols))
    image = None
    for j, ax in enumerate(axes.flat[:n]):
        image = ax.imshow(panels[j], cmap="RdBu_r", vmin=-limit, vmax=limit,
                          interpolation="nearest")
        ax.set_title(f"{name} {j}", fontsize=9)
        ax.set_axis_off()
    _hide_unused(axes, n)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="weight")
    return fig


def _colour_kernels(kernels):
    """Kernels ``(n, k, k, 3)`` on RGB inputs as colour images: 0 is mid-grey, and the
    largest |weight| of all of them is full colour (or black)."""
    limit = float(np.max(np.abs(kernels))) or 1.0
    n = len(kernels)
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    fig = _figure(1.4 * cols + 0.2, 1.5 * rows + 0.6)
    axes = np.atleast_1d(fig.subplots(rows, cols))
    for j, ax in enumerate(axes.flat[:n]):
        _show_image(ax, 0.5 + 0.5 * kernels[j] / limit, f"filter {j}")
    _hide_unused(axes, n)
    return fig


def plot_first_layer_weights(model, *, image_shape=(28, 28), n=32):
    """The first dense layer's weight columns as images: what each first unit looks for.

    Parameters
    ----------
    model : NeuralNetwork
    image_shape : tuple of int
        ``(h, w)`` with ``h * w == model.input_size``.
    n : int
        Show the first ``n`` units (all of them if the layer has fewer).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per unit in a diverging colormap with limits symmetric about 0, shared by
        every panel (one colour bar).

    Raises
    ------
    ValueError
        If ``image_shape`` does not multiply to ``model.input_size`` or ``n`` is not a
        positive integer.
    DegenerateDataError
        A ``ValueError``: the weights are not finite.
    """
    shape = _check_image_shape(image_shape, model.input_size, "the network's input_size")
    n = check_int(n, "n", minimum=1)
    weights = np.asarray(model.dense_layers[0].weights)  # (input_size, fan_out)
    if not np.isfinite(weights).all():
        raise DegenerateDataError("the first layer's weights contain NaN or infinity")
    n = min(n, weights.shape[1])
    panels = weights[:, :n].T.reshape(n, *shape)
    if len(shape) == 3:  # colour inputs: the sum over the channels
        panels = panels.sum(axis=-1)
    fig = _weight_grid(panels, "unit", (1.6, 1.7, 0.5))
    fig.suptitle(f"First-layer weights ({n} of {weights.shape[1]} units, "
                 f"{shape[0]}x{shape[1]} inputs)")
    return fig


def _convolutions(model):
    """The network's Conv2D layers, in order (none for an MLP)."""
    from .conv import Conv2D

    return [layer for layer in model.layers if isinstance(layer, Conv2D)]


def plot_conv_filters(model, *, n=32):
    """The first convolution's kernels as small images: the strokes each filter looks for.

    Parameters
    ----------
    model : NeuralNetwork
        With at least one Conv2D layer.
    n : int
        Show the first ``n`` filters.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per filter (the sum over input channels of its ``k x k`` kernel), a
        diverging colormap symmetric about 0, one colour bar.

    Raises
    ------
    ValueError
        The network has no convolution, or ``n`` is not a positive integer.
    DegenerateDataError
        A ``ValueError``: the kernels are not finite.
    """
    convolutions = _convolutions(model)
    if not convolutions:
        raise ValueError("plot_conv_filters needs a network with a Conv2D layer")
    n = check_int(n, "n", minimum=1)
    weights = np.asarray(convolutions[0].weights)  # (out, C, k, k)
    if not np.isfinite(weights).all():
        raise DegenerateDataError("the first convolution's kernels contain NaN or infinity")
    n = min(n, len(weights))
    if weights.shape[1] == 3:  # colour inputs: each kernel as an RGB image
        fig = _colour_kernels(weights[:n].transpose(0, 2, 3, 1))
    else:
        fig = _weight_grid(weights[:n].sum(axis=1), "filter", (1.4, 1.5, 0.6))
    kernels, k = weights, weights.shape[-1]
    fig.suptitle(f"First convolution's filters ({n} of {len(kernels)}, {k}x{k})")
    return fig


def plot_feature_maps(model, x, *, image_shape=(28, 28), n=8, label=None, class_names=None):
    """One digit (or image) and what each convolution makes of it: the first ``n`` channels
    of every Conv2D layer's output (after its activation).

    Parameters
    ----------
    model : NeuralNetwork
        With at least one Conv2D layer.
    x : array-like, shape (model.input_size,)
        One input row (e.g. a test digit).
    image_shape : tuple of int
        How to show ``x`` itself.
    n : int
        Channels shown per layer.
    label : int, optional
        The digit's true class, for the title.
    class_names : sequence of str, optional
        The name of each label, for the title (the true and the predicted class).

    Returns
    -------
    matplotlib.figure.Figure
        The input, then one row per convolution.

    Raises
    ------
    ValueError
        The network has no convolution, or ``x`` does not fit it.
    """
    convolutions = _convolutions(model)
    if not convolutions:
        raise ValueError("plot_feature_maps needs a network with a Conv2D layer")
    n = check_int(n, "n", minimum=1)
    x = np.asarray(x).reshape(1, -1)
    shape = _check_image_shape(image_shape, x.shape[1], "the input's size")
    outputs = [out[0] for layer, out in model.layer_outputs(x) if layer in convolutions]
    rows, cols = len(outputs) + 1, min(n, max(len(o) for o in outputs))
    fig = _figure(1.5 * cols + 0.5, 1.6 * rows + 0.6)
    axes = np.atleast_2d(fig.subplots(rows, cols))
    predicted = int(np.argmax(model.predict_proba(x)[0])) if model.is_classifier() else None
    kind = "digit" if class_names is None else "class"
    title = "input" + (f" ({kind} {_name(label, class_names)})" if label is not None else "")
    _show_image(axes[0, 0], x[0].reshape(shape), title, cmap="gray")  # colour: as it is
    _hide_unused(axes[0], 1)
    for r, maps in enumerate(outputs, start=1):
        shown = min(cols, len(maps))
        for c in range(shown):
            axes[r, c].imshow(maps[c], cmap="magma", interpolation="nearest")
            axes[r, c].set_title(f"conv {r}, ch {c}", fontsize=8)
            axes[r, c].set_axis_off()
        _hide_unused(axes[r], shown)
    guess = (f"; the network reads {_name(predicted, class_names)}"
             if predicted is not None else "")
    fig.suptitle(f"Feature maps of one test {'digit' if class_names is None else 'image'}"
                 f"{guess}")
    return fig


def plot_augmentations(image, rng, *, kinds=("shift", "affine", "elastic"),
                       image_shape=(28, 28), n=9):
    """One digit and ``n`` random distortions of it for each augmentation: one row per kind.

    Parameters
    ----------
    image : array-like, shape (H*W,)
        Pixels in [0, 1], ink bright on black (e.g. an MNIST training image).
    rng : numpy.random.Generator
        Source of the distortions (see :func:`~nnscratch.augment.make_augmenter`).
    kinds : sequence of str
        Augmentations from :data:`~nnscratch.augment.AUGMENTATIONS` ("none" excluded).
    image_shape : tuple of int
    n : int
        Distortions per kind.

    Returns
    -------
    matplotlib.figure.Figure
        Each row: the digit, then its ``n`` distortions.

    Raises
    ------
    ValueError
        A kind is unknown or "none", ``image`` does not have ``H*W`` pixels, ``n < 1``.
    """
    from .augment import AUGMENTATIONS, make_augmenter

    kinds = list(kinds)
    bad = [k for k in kinds if k not in AUGMENTATIONS or k == "none"]
    if bad or not kinds:
        raise ValueError(f"kinds must be some of {list(AUGMENTATIONS[1:])}, got {kinds!r}")
    n = check_int(n, "n", minimum=1)
    image = check_array(image, "image", ndim=1)
    shape = _check_image_shape(image_shape, image.size, "the image's size")
    batch = np.repeat(image[None, :].astype(np.float64), n, axis=0)  # (n, H*W)
    fig = _figure(1.1 * (n + 1) + 0.8, 1.2 * len(kinds) + 0.6)
    axes = np.atleast_2d(fig.subplots(len(kinds), n + 1))
    for row, kind in zip(axes, kinds, strict=True):
        distorted = make_augmenter(kind, shape, rng)(batch)
        _show_image(row[0], image.reshape(shape), "original", cmap="gray", vmin=0, vmax=1)
        row[0].text(-0.15, 0.5, kind, transform=row[0].transAxes, rotation=90,
                    ha="right", va="center", fontsize=11)
        for ax, x in zip(row[1:], distorted, strict=True):
            _show_image(ax, x.reshape(shape), "", cmap="gray", vmin=0, vmax=1)
    fig.suptitle(f"One digit and {n} of its random distortions per augmentation")
    return fig


# --- writing --------------------------------------------------------------------------------
def save_figure(fig, path, *, dpi=100):
    """Render ``fig`` to PNG in memory, then write it atomically.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or os.PathLike
        Destination ending in ``.png``; its folder is created if missing.
    dpi : float
        Resolution: the image is ``figsize * dpi`` pixels.

    Returns
    -------
    pathlib.Path
        ``path``. If rendering fails, nothing is written (an existing file is untouched).

    Raises
    ------
    TypeError
        If ``fig`` is not a Figure.
    ValueError
        If ``path`` does not end in ``.png`` or ``dpi`` is not positive.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"path must end in .png, got {str(path)!r}")
    dpi = check_positive(dpi, "dpi")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    write_bytes(path, buffer.getvalue())
    return path


def _checked_predict(model, X):
    """``model.predict(X)``, refused if the network's output is not finite."""
    _finite_output(model, lambda: model.predict_proba(X), "the network's output")
    return model.predict(X)


def draw_run_figures(model, history, dataset, out_dir, *, tsne_points=3000, seed=0,
                     on_skip=None):
    """Write every figure of a run into ``out_dir``: of images (MNIST, a folder), all of
    them; of a table's rows, those that need no picture (the losses, and for a classifier
    the t-SNE maps and the confusion matrix); of a regression, the losses.

    Parameters
    ----------
    model : NeuralNetwork
        The trained classifier.
    history : History or mapping
        Its training record (see :func:`plot_losses`).
    dataset : Dataset
        The data it was trained on; samples come from the training split, the t-SNE maps,
        misclassified digits and confusion matrix from the test split. Images have
        ``dataset.feature_shape`` (28x28 for MNIST, 8x8 for digits); a table has none.
    out_dir : str or os.PathLike
        Folder to write to (created if missing).
    tsne_points : int
        Test points in each t-SNE map. Fewer than 91 (a small test split, or this number)
        are embedded with a perplexity of a third of them instead of 30, which t-SNE
        needs to be smaller than the number of points.
    seed : int
        Seed of the sample choice and of t-SNE.
    on_skip : callable, optional
        Called as ``on_skip(name, reason)`` for each figure the run cannot make (a
        :class:`~nnscratch.errors.DegenerateDataError`: a t-SNE of a layer whose output is
        the same for every input, the predictions of a network whose forward pass
        overflows; a picture of a table's rows, a class figure of a regression); that
        figure is not written and the others are. Default: a ``RuntimeWarning`` per
        skipped figure.

    Returns
    -------
    dict of str to pathlib.Path
        Name -> file written, in the order of :data:`RUN_FIGURES`. ``tsne_hidden`` is left
        out for a network without a hidden layer, and so is each skipped figure.

    Raises
    ------
    ValueError
        If the data set's rows are neither images nor a table's, or do not fit the model,
        ``tsne_points`` is
        not an integer >= 2, or ``history`` has no training losses (checked before any
        file is written).
    """
    shape = dataset.feature_shape
    if shape is not None and len(shape) not in (2, 3):
        raise ValueError(f"dataset must be of images (feature_shape (h, w) or (h, w, c)) or a "
                         f"table's rows (None), got feature_shape={shape!r} for "
                         f"{dataset.name!r}")
    if dataset.n_features != model.input_size:
        raise ValueError(f"dataset has {dataset.n_features} features; the network expects "
                         f"{model.input_size}")
    shape = None if shape is None else tuple(shape)
    names = None if dataset.classes is None else [str(c) for c in dataset.classes]
    tsne_points = check_int(tsne_points, "tsne_points", minimum=2)
    _loss_columns(history)  # refuse a bad history before any file is written
    X_test, y_test = dataset.X_test, dataset.y_test
    out_dir = Path(out_dir)
    embedded = min(tsne_points, len(X_test))
    perplexity = min(TSNE_PERPLEXITY, max(1, (embedded - 1) / 3))

    def tsne(layer):
        if embedded < 2:
            raise DegenerateDataError(f"a t-SNE map needs at least 2 test points, the run "
                                      f"has {len(X_test)}")
        return plot_tsne(model, X_test, y_test, layer=layer, n_points=tsne_points,
                         seed=seed, perplexity=perplexity, class_names=names)

    draw = {
        "samples": lambda: plot_samples(dataset.X_train, dataset.y_train,
                                        image_shape=shape, seed=seed, class_names=names),
        "losses": lambda: plot_losses(history),
        "tsne_output": lambda: tsne(-1),
        "tsne_hidden": lambda: tsne(-2),
        "misclassified": lambda: plot_misclassified(model, X_test, y_test,
                                                    image_shape=shape, class_names=names),
        "confusion_matrix": lambda: plot_confusion_matrix(y_test,
                                                          _checked_predict(model, X_test),
                                                          **_named(names, dataset.n_classes)),
        "first_layer_weights": lambda: plot_first_layer_weights(model, image_shape=shape),
        "conv_filters": lambda: plot_conv_filters(model),
        "feature_maps": lambda: plot_feature_maps(model, X_test[0], image_shape=shape,
                                                  label=int(y_test[0]), class_names=names),
    }
    if len(model.dense_layers) < 2:
        del draw["tsne_hidden"]
    if _convolutions(model):  # the first layer is a convolution, not a dense layer
        del draw["first_layer_weights"]
    else:
        for name in CONV_FIGURES:
            del draw[name]
    absent = {}  # figures this kind of run has none of: said as skipped ones are
    if shape is None:
        absent.update((name, "a table's rows are not images") for name in
                      ("samples", "misclassified", "first_layer_weights") if name in draw)
    if not dataset.n_classes:
        for name in ("tsne_output", "tsne_hidden", "misclassified", "confusion_matrix"):
            if name in draw:
                absent.setdefault(name, "a regression has no classes")
    written = {}
    for name, make in draw.items():
        try:
            if name in absent:
                raise DegenerateDataError(absent[name])
            fig = make()
        except DegenerateDataError as exc:
            if on_skip is None:
                warnings.warn(f"{name} not drawn: {exc}", RuntimeWarning, stacklevel=2)
            else:
                on_skip(name, str(exc))
            continue
        written[name] = save_figure(fig, out_dir / RUN_FIGURES[name])
    return written
