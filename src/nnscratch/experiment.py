"""One training run, end to end: configuration -> data -> model -> training -> run folder.

The command line (``nnscratch train``), the reproduction report and the benchmarks all go
through :func:`run_training`, so a run is described by one plain ``config`` dict that is
stored next to the model. A run folder holds ``model.npz``, ``metrics.json`` and
``history.csv``.
"""

import csv
import datetime as dt
import io
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .data import clear_cache, load_dataset, regression_data
from .files import write_text
from .losses import CrossEntropyLoss, MeanSquaredErrorLoss
from .network import NeuralNetwork
from .optimizers import get_optimizer
from .schedules import get_schedule
from .serialization import save
from .training import History, train

#: The blog's MNIST experiment: 784-32-32-10, ReLU, softmax, 40 epochs, batch 64, lr 0.05.
DEFAULTS = {
    "dataset": "mnist", "split": "blog", "hidden": [32, 32], "activation": "relu",
    "epochs": 40, "batch_size": 64, "lr": 0.05, "optimizer": "sgd", "momentum": 0.0,
    "weight_decay": 0.0, "dropout": 0.0, "schedule": "constant", "warmup": 0,
    "init": "normal", "val_split": 0.0, "patience": None, "clip": None, "seed": 0,
    "dtype": "float32",
}

#: Named configurations; options given explicitly override them.
RECIPES = {
    "blog": {},
    # Beyond the blog: wider layers, He init, dropout, AdamW, warm-up + cosine decay, and a
    # validation split for early stopping. The dropout, decay and rate were chosen by the
    # validation loss of seed 0 among six candidates (benchmarks/RESULTS.md); the test set
    # chose nothing.
    "best": {
        "split": "standard", "hidden": [512, 256], "init": "he", "dropout": 0.35,
        "optimizer": "adamw", "lr": 0.003, "weight_decay": 0.2, "batch_size": 128,
        "epochs": 20, "schedule": "cosine", "warmup": 1, "val_split": 0.1, "patience": 4,
    },
}


#: The blog's regression experiment (1-32-32-1, tanh, plain SGD), and a recipe that fits each
#: of its functions to an MSE below 1e-3 in about half a second: the same network with Adam,
#: smaller batches, more epochs and a cosine decay.
REGRESSION_RECIPES = {
    "blog": {"hidden": [32, 32], "activation": "tanh", "optimizer": "sgd", "lr": 0.05,
             "batch_size": 64, "epochs": 400, "schedule": "constant"},
    "best": {"hidden": [32, 32], "activation": "tanh", "optimizer": "adam", "lr": 0.01,
             "batch_size": 20, "epochs": 1500, "schedule": "cosine"},
}


def fit_regression(name, recipe="blog", seed=0):
    """Fit one of the blog's functions (``"x^2"``, ``"|x|"``, ``"3 sin x"``) on its 100 points.

    Returns ``(model, X, y, mse)``. Ctrl-C raises ``KeyboardInterrupt`` (after the batch).
    """
    if recipe not in REGRESSION_RECIPES:
        raise ValueError(f"recipe must be one of {sorted(REGRESSION_RECIPES)}, got {recipe!r}")
    r = REGRESSION_RECIPES[recipe]
    X, y = regression_data(name)
    model = NeuralNetwork.from_sizes([1, *r["hidden"], 1], hidden_activation=r["activation"],
                                     seed=seed)
    history = train(model, X, y, MeanSquaredErrorLoss, r["epochs"], r["batch_size"], r["lr"],
                    optimizer=r["optimizer"],
                    schedule=get_schedule(r["schedule"], epochs=r["epochs"]), bar=False)
    if history.interrupted:  # Ctrl-C: a fit stopped midway is not the recipe's fit
        raise KeyboardInterrupt(f"the {name} fit was interrupted")
    return model, X, y, model.loss(X, y, MeanSquaredErrorLoss)


def make_config(recipe="blog", **overrides):
    """The full configuration: defaults, then the recipe, then the non-None overrides."""
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {sorted(RECIPES)}, got {recipe!r}")
    config = {**DEFAULTS, **RECIPES[recipe], "recipe": recipe}
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown configuration keys {sorted(unknown)}; "
                         f"expected some of {sorted(DEFAULTS)}")
    config.update({k: v for k, v in overrides.items() if v is not None})
    return config


def build_model(config, n_features, n_classes):
    """The network a configuration describes."""
    return NeuralNetwork.from_sizes(
        [n_features, *config["hidden"], n_classes], hidden_activation=config["activation"],
        head_activation="softmax", dtype=config["dtype"], seed=config["seed"],
        init=config["init"], dropout=config["dropout"])


def build_optimizer(name, lr, momentum=0.0, weight_decay=0.0):
    """The optimizer of ``nnscratch train``: PyTorch's names and defaults, and SGD with
    momentum is Nesterov's. The scikit-learn estimators build theirs here too."""
    kwargs = {"weight_decay": float(weight_decay)}
    if name == "sgd":
        kwargs.update(momentum=momentum, nesterov=momentum > 0)
    return get_optimizer(name, lr=lr, **kwargs)


@dataclass
class RunResult:
    """What :func:`run_training` produced."""

    model: NeuralNetwork
    history: History
    metrics: dict
    out_dir: Path | None


def new_run_dir(root="runs", label="mnist"):
    """A fresh folder name ``runs/YYYYmmdd-HHMMSS-<label>`` (suffixed if it exists)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{stamp}-{label}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def run_training(config, *, data_dir=None, out_dir=None, bar=True, data=None, log=print):
    """Train the network ``config`` describes and write its run folder.

    Parameters
    ----------
    config : dict
        From :func:`make_config`.
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

    Returns
    -------
    RunResult
    """
    if data is None:
        data = load_dataset(config["dataset"], split=config["split"], data_dir=data_dir,
                            dtype=config["dtype"], progress=bar)
        clear_cache()  # this process loads the data once: free the parsed files
    model = build_model(config, data.n_features, data.n_classes)
    optimizer = build_optimizer(config["optimizer"], config["lr"], config["momentum"],
                                config["weight_decay"])
    schedule = get_schedule(config["schedule"], epochs=max(config["epochs"], 1),
                            warmup=config["warmup"])
    log(f"{data.summary()}\n{model}")
    start = time.perf_counter()
    history = train(model, data.X_train, data.y_train, CrossEntropyLoss, config["epochs"],
                    config["batch_size"], X_test=data.X_test, y_test=data.y_test, bar=bar,
                    optimizer=optimizer, schedule=schedule, clip=config["clip"],
                    val_split=config["val_split"], patience=config["patience"])
    seconds = time.perf_counter() - start
    metrics = evaluate_metrics(model, data)
    metrics.update({
        "epochs": history.epochs, "seconds": round(seconds, 3),
        "best_epoch": history.best_epoch, "stopped_early": history.stopped_early,
        "interrupted": history.interrupted, "config": config,
        "dataset": {"name": data.name, "split": data.split, "sizes": data.sizes},
        "versions": versions(),
    })
    if out_dir is not None:
        write_run(out_dir, model, history, metrics)
    return RunResult(model, history, metrics, None if out_dir is None else Path(out_dir))


def evaluate_metrics(model, data):
    """Accuracy and mean cross-entropy on both parts of ``data``."""
    metrics = {}
    for part in ("train", "test"):
        X, y = getattr(data, f"X_{part}"), getattr(data, f"y_{part}")
        metrics[f"{part}_accuracy"] = model.score(X, y)
        metrics[f"{part}_loss"] = model.loss(X, y, CrossEntropyLoss)
    return metrics


def versions():
    """The library versions a run used."""
    import matplotlib
    import sklearn

    return {"nnscratch": __version__, "numpy": np.__version__,
            "scikit-learn": sklearn.__version__, "matplotlib": matplotlib.__version__,
            "python": platform.python_version()}


def write_run(out_dir, model, history, metrics):
    """Write ``model.npz``, ``metrics.json`` and ``history.csv`` (each atomically)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save(model, out_dir / "model.npz", config=metrics["config"],
         metrics={k: v for k, v in metrics.items() if k != "config"})
    write_text(out_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    write_text(out_dir / "history.csv", history_csv(history))


def history_csv(history):
    """The per-epoch history as CSV text."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["epoch", *History.COLUMNS],
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(history.rows())
    return buffer.getvalue()


def read_history_csv(path):
    """``history.csv`` back as a :class:`History`."""
    history = History()
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for column, attribute in History.COLUMNS.items():
                if row.get(column):
                    getattr(history, attribute).append(float(row[column]))
    return history
