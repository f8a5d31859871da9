"""Hyper-parameter sweeps: ``nnscratch sweep CONFIG``, on this machine or on a Dask cluster.

A sweep is a grid or random search over the options of ``nnscratch train``, run by
scikit-learn's ``GridSearchCV`` / ``RandomizedSearchCV`` on
:class:`~nnscratch.sklearn.NNClassifier`. The fits run in joblib processes here, or, with a
scheduler address, on a ``dask.distributed`` cluster through joblib's Dask backend: nothing
distributed is written by hand. Every fit is seeded, so the same configuration and seed give
the same scores, and the same best configuration, wherever they run.

The configuration is a small TOML (or YAML) file::

    dataset = "digits"        # or "mnist" (with split = "blog" | "standard")
    search = "grid"           # or "random" (with n_iter = 8)
    metric = "accuracy"       # any scikit-learn scorer name
    cv = 3                    # folds; or val_split = 0.2 for one stratified hold-out split
    [fixed]                   # held constant
    epochs = 20
    [grid]                    # searched: a list of values per option
    hidden = [[32], [64, 32]]
    lr = [0.05, 0.1]

Option names are those of ``nnscratch train`` (``hidden``, ``lr``, ``batch_size``, ...) or of
the estimator (``hidden_layer_sizes``, ``learning_rate_init``, ...). A sweep writes
``results.csv`` (one row per candidate), ``best.json`` and ``best_model.npz`` (the best
configuration refitted on the whole training set) into its output folder.
"""

import time
from dataclasses import dataclass
from pathlib import Path

from .backend import fit_search, make_search, parallel_backend
from .results import (
    config_json,
    failures,
    format_params,
    format_table,
    results_rows,
    score,
    train_config,
    write_results,
)
from .spec import SweepConfig, parse_config, read_config

__all__ = ["SweepConfig", "SweepResult", "parse_config", "read_config", "run_sweep"]


@dataclass
class SweepResult:
    """What :func:`run_sweep` produced."""

    best_params: dict
    best_score: float
    best_std: float
    test_score: float
    rows: list
    search: object
    out_dir: Path | None


def run_sweep(config, *, jobs=None, dask_scheduler=None, out_dir=None, data_dir=None,
              data=None, log=print):
    """Run the search a configuration describes and write its results.

    Parameters
    ----------
    config : SweepConfig, dict, str or os.PathLike
        A parsed configuration, a raw dict or the path of a configuration file.
    jobs : int, optional
        Parallel fits here (joblib processes; ``-1`` = every core). Default 1, or every
        worker of the cluster with ``dask_scheduler``.
    dask_scheduler : str, optional
        Address of a ``dask.distributed`` scheduler, e.g. ``"tcp://10.0.0.5:8786"``: the fits
        run on its workers (which need nnscratch installed).
    out_dir : str or os.PathLike, optional
        Where ``results.csv``, ``best.json`` and ``best_model.npz`` go; ``None`` writes
        nothing.
    data_dir : path, optional
        Where the MNIST files are.
    data : Dataset, optional
        Use this data instead of loading ``config.dataset``.
    log : callable
        Where the progress and result lines go.

    Returns
    -------
    SweepResult

    Raises
    ------
    ValueError
        A bad configuration, ``jobs`` of 0, Dask not installed or its scheduler unreachable,
        or every candidate failed to fit.
    """
    from sklearn.metrics import get_scorer

    from ..data import load_dataset, load_table
    from ..jsonable import to_json

    if not isinstance(config, SweepConfig):
        where = "config" if isinstance(config, dict) else str(config)
        raw = config if isinstance(config, dict) else read_config(config)
        config = parse_config(raw, where=where)
    if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs == 0):
        raise ValueError(f"jobs must be a non-zero integer (-1 = every core), got {jobs!r}")
    with parallel_backend(dask_scheduler, jobs, log) as n_jobs:  # connect first: fail fast
        if data is None:
            dtype = config.fixed.get("dtype") or "float32"
            data = (load_table(config.data, target=config.target, task=config.task,
                               seed=config.seed, dtype=dtype) if config.data else
                    load_dataset(config.dataset, split=config.split, data_dir=data_dir,
                                 dtype=dtype, progress=False))
        search, n_candidates, scheme, X, y = make_search(config, data, n_jobs)
        n_splits = search.cv.get_n_splits()
        log(f"sweep: {data.summary()}"
            + (f"; {len(X):,} of the training samples" if len(X) < len(data.X_train) else ""))
        log(f"{config.search} search: {n_candidates} candidates x {n_splits} "
            f"split{'s' if n_splits > 1 else ''} = {n_candidates * n_splits} fits, "
            f"scored by {config.metric} ({scheme})")
        start = time.perf_counter()
        n_failed = fit_search(search, X, y)
    seconds = time.perf_counter() - start

    names = [config.names[k] for k in config.grid]  # the file's names, in its order
    rows = results_rows(search.cv_results_, config.metric, config.names)
    best = search.best_index_
    best_params = {config.names[k]: to_json(search.best_params_[k]) for k in config.grid}
    best_score = float(search.cv_results_["mean_test_score"][best])
    best_std = float(search.cv_results_["std_test_score"][best])
    test_score = float(get_scorer(config.metric)(search.best_estimator_, data.X_test,
                                                 data.y_test))
    log(format_table(rows, config.metric, names))
    for line in failures(rows, names):
        log(line)
    if n_failed:
        log(f"{n_failed} of {len(rows)} candidates failed to fit (score NaN): see "
            "results.csv")
    log(f"best configuration: {format_params(best_params)}")
    spread = f" +/- {score(best_std, config.metric)}" if n_splits > 1 else ""
    log(f"best {config.metric}: {score(best_score, config.metric)}{spread} ({scheme}); "
        f"test {config.metric} of the refitted model: {score(test_score, config.metric)} "
        f"({len(data.X_test):,} test samples)")
    log(f"{len(rows)} candidates in {seconds:.1f} s")

    result = SweepResult(best_params, best_score, best_std, test_score, rows, search, None)
    if out_dir is not None:
        summary = {
            "metric": config.metric, "scheme": scheme, "best_params": best_params,
            "best_score": best_score, "best_std": best_std, "test_score": test_score,
            "train_config": train_config(search.best_estimator_, config),
            "n_candidates": len(rows), "n_failed": n_failed, "seconds": round(seconds, 3),
            "backend": "dask" if dask_scheduler else "joblib",
            "dataset": {"name": data.name, "split": data.split, "train_samples": len(X),
                        "test_samples": len(data.X_test)},
            "config": config_json(config),
        }
        result.out_dir = write_results(out_dir, rows, summary, search.best_estimator_)
        log(f"wrote {result.out_dir}/results.csv, best.json and best_model.npz")
    return result


