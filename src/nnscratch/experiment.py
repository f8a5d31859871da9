"""One training run, end to end: configuration -> data -> model -> training -> run folder.

The command line (``nnscratch train``), the reproduction report and the benchmarks all go
through :func:`run_training`, so a run is described by one plain ``config`` dict (see
:mod:`nnscratch.params`) that is stored next to the model.
"""

import time
from dataclasses import dataclass
from pathlib import Path

from .build import build_network, build_optimizer, build_schedule
from .data import clear_cache, load_dataset, regression_data
from .losses import CrossEntropyLoss, MeanSquaredErrorLoss
from .network import NeuralNetwork
from .recipes import REGRESSION_RECIPES, make_config
from .runs import versions, write_run
from .training import History, train


def fit_regression(name, recipe="blog", seed=0):
    """Fit one of the blog's functions (``"x^2"``, ``"|x|"``, ``"3 sin x"``) on its 100 points.

    Returns ``(model, X, y, mse)``.
    """
    if recipe not in REGRESSION_RECIPES:
        raise ValueError(f"recipe must be one of {sorted(REGRESSION_RECIPES)}, got {recipe!r}")
    config = {**make_config(), **REGRESSION_RECIPES[recipe], "seed": seed}
    X, y = regression_data(name)
    model = build_network(config, 1, 1)
    train(model, X, y, MeanSquaredErrorLoss, config["epochs"], config["batch_size"],
          optimizer=build_optimizer(config), schedule=build_schedule(config), bar=False)
    return model, X, y, model.loss(X, y, MeanSquaredErrorLoss)


@dataclass
class RunResult:
    """What :func:`run_training` produced."""

    model: NeuralNetwork
    history: History
    metrics: dict
    out_dir: Path | None


def run_training(config, *, data_dir=None, out_dir=None, bar=True, data=None, log=print,
                 replace=False):
    """Train the network ``config`` describes and write its run folder.

    Parameters
    ----------
    config : dict
        From :func:`nnscratch.recipes.make_config`.
    data_dir : path, optional
        Where the MNIST files are (see :func:`nnscratch.data.find_mnist`).
    out_dir : path, optional
        The run folder; ``None`` writes nothing.
    bar : bool
        Show the tqdm progress bar.
    data : Dataset, optional
        Use this data instead of loading ``config["dataset"]``.
    log : callable
        Where status lines go.
    replace : bool
        Replace an existing ``out_dir`` whole (see :func:`nnscratch.runs.write_run`).

    Returns
    -------
    RunResult
    """
    if data is None:
        data = load_dataset(config["dataset"], split=config["split"], data_dir=data_dir,
                            dtype=config["dtype"], progress=bar)
        clear_cache()  # this process loads the data once: free the parsed files
    model = build_network(config, data.n_features, data.n_classes, head="softmax")
    log(f"{data.summary()}\n{model}")
    start = time.perf_counter()
    history = train(model, data.X_train, data.y_train, CrossEntropyLoss, config["epochs"],
                    config["batch_size"], X_test=data.X_test, y_test=data.y_test, bar=bar,
                    optimizer=build_optimizer(config), schedule=build_schedule(config),
                    clip=config["clip"], val_split=config["val_split"],
                    patience=config["patience"])
    seconds = time.perf_counter() - start
    metrics = evaluate_metrics(model, data)
    metrics.update({
        "epochs": history.epochs, "seconds": round(seconds, 3),
        "best_epoch": history.best_epoch, "stopped_early": history.stopped_early,
        "interrupted": history.interrupted, "warnings": history.warnings, "config": config,
        "dataset": {"name": data.name, "split": data.split, "sizes": data.sizes},
        "versions": versions(),
    })
    if out_dir is not None:
        write_run(out_dir, model, history, metrics, replace=replace)
    return RunResult(model, history, metrics, None if out_dir is None else Path(out_dir))


def evaluate_metrics(model, data):
    """Accuracy and mean cross-entropy on both parts of ``data``."""
    metrics = {}
    for part in ("train", "test"):
        X, y = getattr(data, f"X_{part}"), getattr(data, f"y_{part}")
        metrics[f"{part}_accuracy"] = model.score(X, y)
        metrics[f"{part}_loss"] = model.loss(X, y, CrossEntropyLoss)
    return metrics
