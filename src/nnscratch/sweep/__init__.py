"""Hyper-parameter sweeps: ``nnscratch sweep CONFIG``, on this machine or on a Dask cluster.

A sweep is a grid or random search over the options of ``nnscratch train`` on
:class:`~nnscratch.sklearn.NNClassifier`, with the candidates, folds, scores and ranks of
scikit-learn's ``GridSearchCV`` / ``RandomizedSearchCV``. The fits run in joblib processes
here, or, with a scheduler address, on a ``dask.distributed`` cluster through joblib's Dask
backend: nothing distributed is written by hand. Every fit is seeded, so the same
configuration and seed give the same scores, and the same best configuration, wherever they
run. Each candidate is recorded in a journal as it completes (:mod:`.journal`), so a sweep
that dies is resumed with only its missing candidates to run.

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
``candidates.jsonl`` (its journal), ``results.csv`` (one row per candidate), ``best.json``
and ``best_model.npz`` (the best configuration refitted on the whole training set) into its
output folder.
"""

import time
from dataclasses import dataclass
from pathlib import Path

from .backend import cv_results, fit_search, make_search, parallel_backend, refit
from .journal import Journal, check_folder, make_header
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
    best_estimator: object  # the best configuration refitted on the whole training set
    out_dir: Path | None


def run_sweep(config, *, jobs=None, dask_scheduler=None, out_dir=None, data_dir=None,
              data=None, log=print, resume=False):
    """Run the search a configuration describes and write its results.

    Each candidate's result is recorded in ``out_dir``'s journal (``candidates.jsonl``) the
    moment its last fit completes, so a sweep that dies (a killed process, a lost machine)
    is continued with ``resume=True``: only the candidates the journal lacks are run, and
    the results are those of an uninterrupted sweep (fit times apart). On a Dask cluster a
    worker that dies costs only the fits it was running: Dask runs them again elsewhere.

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
        Where the journal, ``results.csv``, ``best.json`` and ``best_model.npz`` go; ``None``
        writes nothing. A folder that holds a sweep's journal is refused unless ``resume``.
    data_dir : path, optional
        Where the MNIST files are.
    data : Dataset, optional
        Use this data instead of loading ``config.dataset``.
    log : callable
        Where the progress and result lines go.
    resume : bool
        Continue the sweep in ``out_dir`` (the same configuration and seed).

    Returns
    -------
    SweepResult

    Raises
    ------
    ValueError
        A bad configuration, ``jobs`` of 0, Dask not installed or its scheduler unreachable,
        every fit failed, or (``resume``) ``out_dir``'s sweep is another one.
    FileExistsError
        ``out_dir`` holds a sweep already (without ``resume``).
    FileNotFoundError
        ``resume`` and ``out_dir`` holds no sweep.
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
    if resume and out_dir is None:
        raise ValueError("resume needs out_dir, the folder of the sweep to continue")
    if out_dir is not None:
        check_folder(out_dir, resume)
    with parallel_backend(dask_scheduler, jobs, log) as backend:  # connect first: fail fast
        if data is None:
            dtype = config.fixed.get("dtype") or "float32"
            data = (load_table(config.data, target=config.target, task=config.task,
                               seed=config.seed, dtype=dtype, drop=config.drop,
                               scale=config.scale != "none") if config.data else
                    load_dataset(config.dataset, split=config.split, data_dir=data_dir,
                                 dtype=dtype, progress=False))
        search = make_search(config, data)
        X, n_candidates, n_splits = search.X, len(search.candidates), len(search.splits)
        header = make_header(config_json(config), to_json(search.candidates), n_splits, len(X))
        journal = (Journal.resume if resume else Journal.start)(out_dir, header)
        todo = [i for i in range(n_candidates) if i not in journal.done]
        log(f"sweep: {data.summary()}"
            + (f"; {len(X):,} of the training samples" if len(X) < len(data.X_train) else ""))
        log(f"{config.search} search: {n_candidates} candidates x {n_splits} "
            f"split{'s' if n_splits > 1 else ''} = {n_candidates * n_splits} fits, "
            f"scored by {config.metric} ({search.scheme})")
        if resume:
            log(f"resuming {out_dir}: {len(journal.done)} of {n_candidates} candidates "
                f"done, {len(todo)} to run")
        start = time.perf_counter()
        fit_search(search, todo, backend, journal.record)
    seconds = time.perf_counter() - start

    results = cv_results(search, journal.done)
    if all(s is None for r in journal.done.values() for s in r["scores"]):
        errors = [r["error"] for r in journal.done.values() if r["error"]]
        raise ValueError(f"every candidate failed to fit; the last error: "
                         f"{errors[-1] if errors else 'unknown'}")
    names = [config.names[k] for k in config.grid]  # the file's names, in its order
    rows = results_rows(results, config.metric, config.names)
    best = int(results["rank_test_score"].argmin())
    best_params = {config.names[k]: to_json(search.candidates[best][k]) for k in config.grid}
    best_score = float(results["mean_test_score"][best])
    best_std = float(results["std_test_score"][best])
    best_estimator = refit(search, search.candidates[best])
    test_score = float(get_scorer(config.metric)(best_estimator, data.X_test, data.y_test))
    n_failed = int(sum(r[f"mean_{config.metric}"] is None for r in rows))
    log(format_table(rows, config.metric, names))
    for line in failures(rows, names):
        log(line)
    if n_failed:
        log(f"{n_failed} of {len(rows)} candidates failed to fit (score NaN): see "
            "results.csv")
    log(f"best configuration: {format_params(best_params)}")
    spread = f" +/- {score(best_std, config.metric)}" if n_splits > 1 else ""
    log(f"best {config.metric}: {score(best_score, config.metric)}{spread} ({search.scheme}); "
        f"test {config.metric} of the refitted model: {score(test_score, config.metric)} "
        f"({len(data.X_test):,} test samples)")
    log(f"{len(todo)} of {len(rows)} candidates run in {seconds:.1f} s" if resume else
        f"{len(rows)} candidates in {seconds:.1f} s")

    result = SweepResult(best_params, best_score, best_std, test_score, rows, best_estimator,
                         None)
    if out_dir is not None:
        summary = {
            "metric": config.metric, "scheme": search.scheme, "best_params": best_params,
            "best_score": best_score, "best_std": best_std, "test_score": test_score,
            "train_config": train_config(best_estimator, config),
            "n_candidates": len(rows), "n_failed": n_failed, "seconds": round(seconds, 3),
            "backend": "dask" if dask_scheduler else "joblib",
            "dataset": {"name": data.name, "split": data.split, "train_samples": len(X),
                        "test_samples": len(data.X_test)},
            "config": config_json(config),
        }
        best_estimator.network_.pipeline = data.pipeline  # a table's model carries its own
        result.out_dir = write_results(out_dir, rows, summary, best_estimator)
        log(f"wrote {result.out_dir}/results.csv, best.json and best_model.npz")
    return result
