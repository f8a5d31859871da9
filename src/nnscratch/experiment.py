"""One training run, end to end: configuration -> data -> model -> training -> run folder.

A text file (``data`` a ``.txt``) trains a language model instead:
:func:`nnscratch.textrun.run_text_training`.

The command line (``nnscratch train``), the reproduction report and the benchmarks all go
through :func:`run_training`, so a run is described by one plain ``config`` dict (see
:mod:`nnscratch.params`) that is stored next to the model.
"""

import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path

from .build import build_augmenter, build_network, build_optimizer, build_schedule
from .data import clear_cache, load_dataset, load_table, regression_data
from .data.folders import is_image_folder, load_image_folder
from .data.text import is_text_file
from .errors import NNScratchError
from .losses import CrossEntropyLoss, MeanSquaredErrorLoss, SmoothedCrossEntropyLoss
from .network import NeuralNetwork
from .recipes import (
    MIN_IMAGE_STEPS,
    RECIPES,
    REGRESSION_RECIPES,
    from_recipe,
    image_arch,
    make_config,
    mean_colour_score,
    mean_colour_tells_classes,
)
from .runs import (
    CONFIG_FILE,
    checkpoint_path,
    hold_run,
    run_starter,
    versions,
    work_dir_for,
    write_run,
)
from .textrun import run_text_training
from .training import History, held_out_count, train


def fit_regression(name, recipe="blog", seed=0):
    """Fit one of the blog's functions (``"x^2"``, ``"|x|"``, ``"3 sin x"``) on its 100 points.

    Returns ``(model, X, y, mse)``. Ctrl-C raises ``KeyboardInterrupt`` (after the batch).
    """
    if recipe not in REGRESSION_RECIPES:
        raise ValueError(f"recipe must be one of {sorted(REGRESSION_RECIPES)}, got {recipe!r}")
    config = {**make_config(), **REGRESSION_RECIPES[recipe], "seed": seed}
    X, y = regression_data(name)
    model = build_network(config, 1, 1)
    history = train(model, X, y, MeanSquaredErrorLoss, config["epochs"], config["batch_size"],
                    optimizer=build_optimizer(config), schedule=build_schedule(config),
                    bar=False)
    if history.interrupted:  # Ctrl-C: a fit stopped midway is not the recipe's fit
        raise KeyboardInterrupt(f"the {name} fit was interrupted")
    return model, X, y, model.loss(X, y, MeanSquaredErrorLoss)


@dataclass
class RunResult:
    """What :func:`run_training` produced."""

    model: NeuralNetwork
    history: History
    metrics: dict
    out_dir: Path | None


def run_training(config, *, data_dir=None, out_dir=None, bar=True, data=None, log=print,
                 replace=False, on_epoch=None, checkpoint_every=0, resume=None, threads=None,
                 on_start=None, callbacks=(), chosen=()):
    """Train the network ``config`` describes and write its run folder.

    Parameters
    ----------
    config : dict
        From :func:`nnscratch.recipes.make_config`.
    data_dir : path, optional
        Where the MNIST files are (see :func:`nnscratch.data.find_mnist`).
    out_dir : path, optional
        The run folder; ``None`` writes nothing. It is created when training starts, once
        the data and the network are ready: a run refused before then leaves nothing.
    bar : bool
        Show the tqdm progress bar.
    data : Dataset, optional
        Use this data instead of loading ``config["dataset"]``.
    log : callable
        Where status lines go.
    replace : bool
        Replace an existing ``out_dir`` whole, once the new run ends (see
        :func:`nnscratch.runs.start_run`).
    on_epoch : callable, optional
        Passed to :func:`~nnscratch.training.train`.
    checkpoint_every : int
        Write a checkpoint into the run folder after every this many epochs (0: none).
    resume : Unfinished, optional
        Continue this unfinished run (:func:`nnscratch.runs.find_unfinished`) from its last
        checkpoint, with ``config`` its own; ``out_dir`` is its folder. Refused at once
        (:class:`~nnscratch.runs.RunLockedError`) while another process trains it.
    threads : int, optional
        The BLAS threads the caller limits the run to, stored for ``--resume``.
    on_start : callable, optional
        Called as ``on_start(history)`` when the first epoch is about to start (the run
        folder written, a checkpoint resumed from: ``history.resumed_from``).
    callbacks : list of Callback
        Passed to :func:`~nnscratch.training.train`. When one of them raises (any exception
        but nnscratch's own errors and ``OSError``), the run so far is saved, marked
        interrupted, before the exception reaches the caller.
    chosen : collection of str
        The rows of ``config`` the user set (the command line's flags): a recipe that
        adapts its values to the data (``images``: the epochs of a small folder) leaves
        these as they are. Without it, a value equal to the recipe's counts as not set.

    Returns
    -------
    RunResult
    """
    with contextlib.ExitStack() as held:
        if resume is not None:  # first: a second resume of the run is refused at once
            held.enter_context(hold_run(resume.work_dir))
        return _run_training(config, held, data_dir=data_dir, out_dir=out_dir, bar=bar,
                             data=data, log=log, replace=replace, on_epoch=on_epoch,
                             checkpoint_every=checkpoint_every, resume=resume,
                             threads=threads, on_start=on_start, callbacks=callbacks,
                             chosen=frozenset(chosen))


def _run_training(config, held, *, data_dir, out_dir, bar, data, log, replace, on_epoch,
                  checkpoint_every, resume, threads, on_start, callbacks, chosen):
    """:func:`run_training`, with ``held`` the ExitStack that holds the run's lock."""
    if data is None and config.get("data") and is_text_file(config["data"]):
        model, history, metrics = run_text_training(
            config, held, out_dir=out_dir, bar=bar, log=log, replace=replace,
            on_epoch=on_epoch, checkpoint_every=checkpoint_every, resume=resume,
            threads=threads, on_start=on_start, callbacks=callbacks, data_dir=data_dir)
        return RunResult(model, history, metrics, None if out_dir is None else Path(out_dir))
    work_dir = None
    if resume is not None:
        work_dir = resume.work_dir
    elif out_dir is not None:  # created when training starts (begin, below)
        work_dir = work_dir_for(out_dir, replace)
    if data is None:
        data = load_data(config, data_dir=data_dir, progress=bar, log=log)
    # the options the user gave; a resumed run's configuration is its own, settled when it
    # started
    given = chosen if resume is None else frozenset(config)
    if data.pipeline is not None and getattr(data.pipeline, "kind", None) == "image":
        _settle_image_config(config, data.pipeline, len(data.y_train), log, given,
                             training=(data.X_train, data.y_train))
    if data.feature_shape is None:
        _check_recipe_fits_a_table(config, given)
    head, loss = ("softmax", CrossEntropyLoss) if data.n_classes else (None, MeanSquaredErrorLoss)
    if config.get("label_smoothing"):
        if not data.n_classes:
            raise ValueError(f"--label-smoothing {config['label_smoothing']:g} needs a "
                             "classification target; this one is a regression"
                             + _from_recipe(config, given, "label_smoothing", "0"))
        loss = SmoothedCrossEntropyLoss(config["label_smoothing"])
    try:  # before anything is printed: a setting the data cannot take is one line
        augment = build_augmenter(config, data.feature_shape)
    except ValueError as exc:
        raise ValueError(f"{exc}{_from_recipe(config, given, 'augment', 'none')}") from None
    try:
        model = build_network(config, data.n_features, data.n_classes or data.y_train.shape[1],
                              head=head, input_shape=image_shape(data))
    except ValueError as exc:
        hint = _from_recipe(config, given, "arch", "LAYERS, e.g. dense100,")
        if not hint:
            raise
        raise ValueError(f"{exc}{hint}") from None
    model.pipeline = data.pipeline
    log(f"{data.summary()}\n{model}")
    y_train, y_test = _training_targets(data)
    checkpoint = checkpoint_path(work_dir, checkpoint_every, resume)
    started = run_starter(config, held, out_dir=out_dir, work_dir=work_dir, resume=resume,
                          replace=replace, data_dir=data_dir, checkpoint_every=checkpoint_every,
                          threads=threads, on_start=on_start)
    start, failure = time.perf_counter(), None
    try:
        history = train(model, data.X_train, y_train, loss, config["epochs"],
                        config["batch_size"], X_test=data.X_test, y_test=y_test, bar=bar,
                        optimizer=build_optimizer(config), schedule=build_schedule(config),
                        clip=config["clip"], val_split=config["val_split"],
                        patience=config["patience"], on_epoch=on_epoch,
                        augment=augment, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                        callbacks=[started, *callbacks])
    except Exception as exc:
        history, failure = _history_to_keep(exc, started, work_dir), exc
    if y_train is not data.y_train:  # trained on a standardised target: predict in its units
        model.scale_outputs(data.pipeline.target_scale, data.pipeline.target_mean)
    # wall-clock: a resumed run adds the epochs it restored (their time is in the history)
    seconds = time.perf_counter() - start + sum(history.epoch_seconds[:history.resumed_from or 0])
    metrics = evaluate_metrics(model, data)
    metrics.update({
        "epochs": history.epochs, "seconds": round(seconds, 3),
        "best_epoch": history.best_epoch, "stopped_early": history.stopped_early,
        "interrupted": history.interrupted, "warnings": history.warnings, "config": config,
        "dataset": describe_data(data),
        "versions": versions(),
    })
    if out_dir is not None:
        write_run(out_dir, model, history, metrics, work_dir=work_dir)
    if failure is not None:
        raise failure
    return RunResult(model, history, metrics, None if out_dir is None else Path(out_dir))


def _history_to_keep(exc, started, work_dir):
    """The history of a run that a caller's callback stopped with ``exc`` (marked
    interrupted, to be saved); ``exc`` raised again when it is not that, or nothing trained."""
    loop = getattr(started, "loop", None)
    began = loop is not None and loop.exception is exc and \
        (work_dir is None or (work_dir / CONFIG_FILE).is_file())
    if not began or isinstance(exc, (NNScratchError, OSError)):
        raise exc
    loop.history.interrupted = True
    return loop.history


def _check_recipe_fits_a_table(config, given):
    """One line for a recipe made for images (its distortions, its convolutions) run on a
    table, instead of one error for each of its settings in turn."""
    from .architecture import is_convolutional, parse_arch

    recipe, taken = config.get("recipe"), from_recipe(config.get("recipe"), given)
    needs, fixes = [], []
    if taken.get("augment", "none") != "none":
        needs.append(f"--augment {taken['augment']} distorts images")
        fixes.append("--augment none")
    if taken.get("arch") and is_convolutional(parse_arch(taken["arch"])):
        needs.append(f"--arch {taken['arch']} convolves them")
        fixes.append("--arch LAYERS (e.g. dense100)")
    if needs:
        raise ValueError(f"--recipe {recipe} is made for images: {' and '.join(needs)}; this "
                         "data is a table. Leave --recipe out (a table gets the 'table' "
                         f"recipe), or keep --recipe {recipe} with {' '.join(fixes)}")


def _from_recipe(config, given, key, off):
    """``"; --KEY VALUE comes from --recipe R (--KEY OFF to change it)"`` when the recipe set
    ``key`` and the user did not (``given``: the options the user gave), else ``""``: for
    the message of a setting the data cannot take."""
    if key not in from_recipe(config.get("recipe"), given):
        return ""
    name = "--" + key.replace("_", "-")
    return (f"; {name} {config[key]} comes from --recipe {config['recipe']} ({name} {off} to "
            "change it)")


def _settle_image_config(config, pipeline, n_train, log=print, chosen=frozenset(), *,
                         training=None):
    """Write what an image folder decided into the run's configuration (stored with it, so
    ``--resume`` and ``evaluate`` read the folder the same way): the size and colour, and the
    images recipe's layers for that size (and for its colours: ``training`` is the
    ``(X, y)`` of the training images) and epochs for that many images."""
    config["image_size"] = f"{pipeline.height}x{pipeline.width}"
    config["color"] = pipeline.color
    if config.get("recipe") != "images":
        return
    if config["arch"] is None and "hidden" not in chosen:  # (--hidden: the user's MLP)
        center = True
        if training is not None:
            accuracy, majority, p_value = mean_colour_score(*training, pipeline.channels,
                                                            seed=config["seed"])
            if mean_colour_tells_classes(accuracy, majority, p_value):
                center = False
                log(f"The images recipe keeps each image's mean colour (no 'center' layer): "
                    f"alone, it tells the classes apart ({accuracy:.1%} of the training "
                    f"images, cross-validated, against {majority:.1%} for the most frequent "
                    "class); --arch to choose")
        config["arch"] = image_arch(pipeline.height, pipeline.width, center=center)
    recipe = RECIPES["images"]
    if "patience" in chosen or config["patience"] != recipe["patience"]:
        return  # the user's early stopping (or a resumed run's, settled when it started)
    # The recipe's 25 epochs (patience 4) were chosen on 18,000 training images: 7,000 steps.
    # A small folder (a few steps an epoch) gets enough epochs for MIN_IMAGE_STEPS steps, or
    # the epochs the user asked for, and no early stopping: its validation images are too
    # few to choose an epoch. Then they would choose nothing, so they are trained on too
    # (unless --val-split).
    n_val = held_out_count(n_train, config["val_split"])
    keep_split = "val_split" in chosen
    steps = math.ceil((n_train - (n_val if keep_split else 0)) / config["batch_size"])
    epochs = math.ceil(MIN_IMAGE_STEPS / max(1, steps))
    if epochs <= recipe["epochs"]:
        return  # a folder large enough for the recipe as it is
    typed = "epochs" in chosen or config["epochs"] != recipe["epochs"]  # (from Python: set)
    config["patience"] = None
    if not typed:
        config["epochs"] = epochs
    if keep_split:
        how = (f"without early stopping ({n_val} validation images are too few to choose an "
               f"epoch); {'--patience' if typed else '--epochs and --patience'} to choose")
    else:
        config["val_split"] = 0.0
        how = (f"on every training image: no validation split nor early stopping ({n_val} "
               f"validation images would be too few to choose an epoch); "
               f"{'--patience' if typed else '--epochs, --patience'} and --val-split to choose")
    what = (f"the {config['epochs']} epochs asked for" if typed
            else f"{epochs} epochs, for at least {MIN_IMAGE_STEPS} steps")
    log(f"The images recipe on {n_train:,} training images ({steps} step"
        f"{'s' if steps != 1 else ''} an epoch): {what}, {how}")


def image_shape(data):
    """One sample as ``(channels, height, width)`` for an image data set (its
    ``feature_shape`` is ``(H, W)`` for grey digits, ``(H, W, C)`` for a folder's images),
    else None."""
    shape = data.feature_shape
    if shape is None:
        return None
    return (1, *shape) if len(shape) == 2 else (shape[2], shape[0], shape[1])


def _training_targets(data):
    """``(y_train, y_test)`` as the network learns them: a table's regression target
    standardised by its pipeline, anything else as it is."""
    pipeline = data.pipeline
    if data.n_classes or pipeline is None or not pipeline.target_scale:
        return data.y_train, data.y_test
    return pipeline.scale_targets(data.y_train), pipeline.scale_targets(data.y_test)


def load_data(config, *, data_dir=None, progress=True, pipeline=None, log=print):
    """The data a configuration names: the user's table or folder of images (``data``) or a
    named data set.

    A table is encoded with ``pipeline`` (a trained model's) when given, else with one fitted
    on its training rows; a folder's images are prepared with it, else as the configuration
    says (``image_size``, ``color``).
    """
    if config.get("data") and is_image_folder(config["data"]):
        for key, off in (("target", None), ("task", "auto"), ("drop", []), ("scale", "auto")):
            if config.get(key, off) not in (off, ()):
                raise ValueError(f"--{key} {config[key]!r} is for a table; --data "
                                 f"{config['data']} is a folder of images (their classes are "
                                 "its folders, their pixels divided by 255)")
        return load_image_folder(config["data"], image_size=config.get("image_size"),
                                 color=config.get("color", "auto"), seed=config["seed"],
                                 dtype=config["dtype"], pipeline=pipeline, bar=progress,
                                 max_memory=config.get("max_memory", 2.0), log=log)
    if config.get("data"):
        return load_table(config["data"], target=config["target"], task=config["task"],
                          seed=config["seed"], dtype=config["dtype"],
                          scale=config.get("scale", "auto") != "none",
                          drop=config.get("drop") or (), pipeline=pipeline)
    data = load_dataset(config["dataset"], split=config["split"], data_dir=data_dir,
                        dtype=config["dtype"], progress=progress)
    clear_cache()  # this process loads the data once: free the parsed files
    return data


def describe_data(data):
    """What ``metrics.json`` records of the data: name, split, sizes, and for a user's table
    what predicting on new rows needs (feature names, classes, target) and what its pipeline
    did."""
    described = {"name": data.name, "split": data.split, "sizes": data.sizes,
                 "task": data.task}
    if data.pipeline is not None:
        described["preparation"] = data.pipeline.summary()
    for key in ("feature_names", "classes", "target"):
        if getattr(data, key) is not None:
            described[key] = list(getattr(data, key)) if key != "target" else data.target
    return described


def evaluate_metrics(model, data):
    """Accuracy and mean cross-entropy on both parts of ``data`` (mean squared error and
    R^2 for regression), from one pass over each part."""
    metrics = {}
    loss_fn = CrossEntropyLoss if data.n_classes else MeanSquaredErrorLoss
    for part in ("train", "test"):
        X, y = getattr(data, f"X_{part}"), getattr(data, f"y_{part}")
        loss, score = model.evaluate(*_checked(model, X, y, loss_fn), loss_fn)
        if data.n_classes:
            metrics[f"{part}_accuracy"], metrics[f"{part}_loss"] = score, loss
        else:
            metrics[f"{part}_loss"], metrics[f"{part}_r2"] = loss, score
    return metrics


def _checked(model, X, y, loss_fn):
    """``X, y`` validated for ``model`` and ``loss_fn`` (for :meth:`NeuralNetwork.evaluate`)."""
    from .validation import check_features, check_targets

    X = check_features(X, model)
    return X, check_targets(y, model, loss_fn, len(X))
