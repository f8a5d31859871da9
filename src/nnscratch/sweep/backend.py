"""A sweep's fits: the candidates and splits, each fit run in joblib processes here or on a
Dask cluster through joblib's Dask backend, and the results as scikit-learn reports them.

The candidates, splits, scorers, means and ranks are scikit-learn's (``ParameterGrid``,
``ParameterSampler``, its splitters, ``get_scorer``; ``cv_results_``'s arithmetic), so the
results are those of ``GridSearchCV`` / ``RandomizedSearchCV``. The loop over the fits is
ours for one reason: those searches hand back every result at once, when the last fit ends,
and a sweep must record each candidate the moment it completes (:mod:`.journal`).
"""

import contextlib
import math
import os
import signal
import threading
import time
import traceback
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata
from sklearn.model_selection import (
    KFold,
    ParameterGrid,
    ParameterSampler,
    ShuffleSplit,
    StratifiedKFold,
    StratifiedShuffleSplit,
    train_test_split,
)

from ..errors import DivergenceWarning
from ..jsonable import to_json
from ..sklearn import INTERRUPTED, NNClassifier, NNRegressor
from .spec import search_space, sweep_defaults

_CONNECT_TIMEOUT = "10s"  # how long to try to reach a Dask scheduler


@dataclass
class Search:
    """A sweep's search: the estimator, every candidate's parameters (in scikit-learn's
    order), the splits they are scored on, and the data."""

    estimator: object
    candidates: list
    splits: list  # (train indices, test indices) per split
    scheme: str
    metric: str
    X: np.ndarray
    y: np.ndarray


def make_search(config, data):
    """The :class:`Search` a configuration describes: the candidates ``GridSearchCV`` or
    ``RandomizedSearchCV`` would try (``ParameterGrid``, or ``ParameterSampler`` seeded by the
    sweep's seed), on the splits of its folds or hold-out."""
    X, y = data.X_train, data.y_train
    classify = data.n_classes is not None  # a user's table may be a regression
    if config.train_samples is not None and config.train_samples < len(X):
        X, _, y, _ = train_test_split(X, y, train_size=config.train_samples,
                                      stratify=y if classify else None,
                                      random_state=config.seed)
    if config.cv is not None:
        folds = StratifiedKFold if classify else KFold
        splitter = folds(config.cv, shuffle=True, random_state=config.seed)
        scheme = f"{config.cv}-fold cv"
    else:
        holdout = StratifiedShuffleSplit if classify else ShuffleSplit
        splitter = holdout(1, test_size=config.val_split, random_state=config.seed)
        scheme = f"{config.val_split:g} hold-out"
    Estimator = NNClassifier if classify else NNRegressor
    estimator = Estimator(**{**sweep_defaults(classify), "random_state": config.seed,
                             **config.fixed})
    if config.search == "grid":
        candidates = list(ParameterGrid(config.grid))
    else:
        n_iter = config.n_iter
        if all(isinstance(v, list) for v in config.grid.values()):  # drawn without repeats
            n_iter = min(n_iter, len(ParameterGrid(config.grid)))
        candidates = list(ParameterSampler(search_space(config.grid), n_iter,
                                           random_state=config.seed))
    return Search(estimator, candidates, list(splitter.split(X, y)), scheme, config.metric,
                  X, y)


@dataclass
class Backend:
    """Where the fits run: ``n_jobs`` for joblib, on this machine or, with a ``client``, on
    a Dask cluster."""

    n_jobs: int
    client: object = None  # a dask.distributed Client

    @contextlib.contextmanager
    def sharing(self, data):
        """Run joblib's parallel calls here; yield what the fits receive for ``data``, which
        all of them read: ``data`` itself for joblib's processes (which memory-map large
        arrays), and on Dask a future of a task that returns it.

        Why a task on Dask: joblib would scatter each large argument to one worker, and
        scattered data dies with its worker, failing every fit still to run; a task's output
        is computed again elsewhere (the scheduler keeps its input), so a worker that dies
        costs only the fits it was running, which Dask also runs again.
        """
        if self.client is None:
            yield data
            return
        from joblib import parallel_config

        with warnings.catch_warnings():  # the point is to keep the data in the graph
            warnings.filterwarnings("ignore", message="Sending large graph",
                                    category=UserWarning)
            future = self.client.submit(_same, data, pure=False)
        try:  # the same client for the fits: its messages reach the scheduler in order
            with parallel_config(backend="dask", client=self.client):
                yield future
        finally:
            future.release()


def _same(data):
    """The task that holds the data a sweep's fits share (see :meth:`Backend.sharing`)."""
    return data


def run_fits(search, todo, backend, on_candidate):
    """Fit and score the candidates ``todo`` (indices) on every split, in parallel.

    The fits go through joblib (its local processes, or the Dask cluster of
    :func:`parallel_backend`) and come back as they complete; when a candidate's last split
    is in, ``on_candidate(index, result)`` is called here, in this process, with
    ``result = {"params", "scores", "fit_seconds", "score_seconds", "error"}`` (a score of
    None: the fit failed; ``error`` is its first failure's last line, '' for none).
    """
    from joblib import Parallel, delayed

    n_splits = len(search.splits)
    pending = {i: {} for i in todo}
    with backend.sharing((search.X, search.y, search.splits)) as shared:
        tasks = (delayed(_fit_and_score)(shared, search.estimator, search.candidates[i],
                                         search.metric, i, s, os.getpid())
                 for i in todo for s in range(n_splits))
        results = Parallel(n_jobs=backend.n_jobs, return_as="generator_unordered")(tasks)
        for i, s, outcome in results:
            pending[i][s] = outcome
            if len(pending[i]) == n_splits:
                by_split = pending.pop(i)
                splits = [by_split[k] for k in range(n_splits)]
                on_candidate(i, {
                    "params": to_json(search.candidates[i]),
                    "scores": [o["score"] for o in splits],
                    "fit_seconds": [o["fit_seconds"] for o in splits],
                    "score_seconds": [o["score_seconds"] for o in splits],
                    "error": next((o["error"] for o in splits if o["error"]), "")})


def _fit_and_score(shared, estimator, params, metric, index, split, parent_pid):
    """One fit of a candidate on split ``split`` of ``shared = (X, y, splits)``, and its
    score, as scikit-learn's searches do it (a failure scores None, with the exception's last
    line). ``parent_pid``: the process that runs the sweep."""
    from sklearn.base import clone
    from sklearn.metrics import get_scorer

    _leave_ctrl_c_to(parent_pid)
    X, y, splits = shared
    train, test = splits[split]
    estimator = clone(estimator).set_params(**clone(params, safe=False))
    start = time.perf_counter()
    outcome = {"score": None, "score_seconds": 0.0, "error": ""}
    try:
        if os.getpid() == parent_pid:
            _fit_or_stop(estimator, X[train], y[train])
        else:
            estimator.fit(X[train], y[train])
    except Exception:
        outcome.update(fit_seconds=time.perf_counter() - start,
                       error=_last_line(traceback.format_exc()))
        return index, split, outcome
    outcome["fit_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    try:
        score = float(get_scorer(metric)(estimator, X[test], y[test]))
        outcome["score"] = score if math.isfinite(score) else None
    except Exception:
        outcome["error"] = _last_line(traceback.format_exc())
    outcome["score_seconds"] = time.perf_counter() - start
    return index, split, outcome


def _leave_ctrl_c_to(parent_pid):
    """In a worker process of the sweep's (joblib's), ignore SIGINT from now on.

    A terminal's Ctrl-C reaches every process of the group. The sweep's own process stops
    the sweep with one line and ends its workers; a worker that took the KeyboardInterrupt
    itself would stop its fit half-way and print a warning of its own after that line
    (the estimator keeps what it learned, as scikit-learn's MLP does). In the sweep's process
    (``--jobs 1``) and in a Dask worker's thread nothing changes.
    """
    if os.getpid() != parent_pid and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _fit_or_stop(estimator, X, y):
    """``estimator.fit(X, y)`` in the sweep's own process, where Ctrl-C stops the sweep.

    The estimators keep what they learned when Ctrl-C stops a fit and return with a warning,
    as scikit-learn's MLP does; a search in this process would then go on to the next fit,
    one Ctrl-C a fit. The warning is turned back into the KeyboardInterrupt.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(X, y)
    for w in caught:
        if str(w.message) == INTERRUPTED:
            raise KeyboardInterrupt
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _last_line(traceback_text):
    """The exception line of a formatted traceback, without the module path of its type."""
    lines = [line.strip() for line in str(traceback_text).splitlines() if line.strip()]
    line = lines[-1] if lines else str(traceback_text)
    kind, sep, message = line.partition(": ")
    return f"{kind.rsplit('.', 1)[-1]}: {message}" if sep else line


def cv_results(search, records):
    """The results of every candidate as scikit-learn's ``cv_results_`` holds them (means,
    standard deviations and ranks computed as it does), from the journal's ``records``."""
    n, n_splits = len(search.candidates), len(search.splits)
    scores = np.array([[np.nan if v is None else v for v in records[i]["scores"]]
                       for i in range(n)], dtype=np.float64).reshape(n, n_splits)
    means = np.average(scores, axis=1)
    results = {"params": search.candidates, "mean_test_score": means,
               "std_test_score": np.sqrt(np.average((scores - means[:, None]) ** 2, axis=1))}
    for s in range(n_splits):
        results[f"split{s}_test_score"] = scores[:, s]
    if np.isnan(means).all():
        results["rank_test_score"] = np.ones(n, dtype=np.int32)
    else:  # a failed candidate ties with the worst, as in scikit-learn
        ranked = np.nan_to_num(means, nan=np.nanmin(means) - 1)
        results["rank_test_score"] = rankdata(-ranked, method="min").astype(np.int32)
    times = np.array([records[i]["fit_seconds"] for i in range(n)], dtype=np.float64)
    results["mean_fit_time"], results["std_fit_time"] = times.mean(axis=1), times.std(axis=1)
    results["fit_error"] = np.array([records[i]["error"] for i in range(n)], dtype=object)
    return results


def refit(search, params):
    """The estimator with ``params``, fitted on the whole training data (the best one)."""
    from sklearn.base import clone

    return clone(search.estimator).set_params(**clone(params, safe=False)).fit(search.X,
                                                                               search.y)


@contextlib.contextmanager
def parallel_backend(address, jobs, log):
    """Yield the :class:`Backend` of the search: joblib's local processes, or Dask's backend
    with a client connected to ``address`` (closed on exit)."""
    if address is None:
        n_jobs = 1 if jobs is None else jobs
        log(f"backend: joblib, {n_jobs if n_jobs > 0 else 'all'} local "
            f"process{'es' if n_jobs != 1 else ''}")
        yield Backend(n_jobs)
        return
    try:
        from dask.distributed import Client
    except ImportError:
        raise ValueError("--dask-scheduler needs dask.distributed, which is not installed: "
                         "pip install 'nnscratch[dask]'") from None
    try:
        client = Client(address, timeout=_CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"cannot reach the Dask scheduler at {address!r}: {reason}") from None
    try:
        workers = len(client.scheduler_info().get("workers", {}))
        log(f"backend: dask at {address}, {workers} worker{'s' if workers != 1 else ''}")
        yield Backend(-1 if jobs is None else jobs, client)
    finally:
        client.close()


def fit_search(search, todo, backend, on_candidate):
    """:func:`run_fits`, with the warnings of a search: a candidate that fails or diverges
    is a result (its score is None), not a warning; every other warning is passed on."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_fits(search, todo, backend, on_candidate)
    for w in caught:  # a blow-up shows in the candidate's score
        if not issubclass(w.category, DivergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
