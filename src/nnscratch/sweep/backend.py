"""Where a sweep's fits run: joblib processes here, or a Dask cluster through joblib's Dask
backend, with the search object scikit-learn runs there."""

import contextlib
import warnings

import numpy as np
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    ParameterGrid,
    RandomizedSearchCV,
    ShuffleSplit,
    StratifiedKFold,
    StratifiedShuffleSplit,
    train_test_split,
)

from ..errors import DivergenceWarning
from ..sklearn import NNClassifier, NNRegressor
from .spec import search_space

_CONNECT_TIMEOUT = "10s"  # how long to try to reach a Dask scheduler


class _KeepsFitErrors:
    """A search whose ``cv_results_["fit_error"]`` holds each candidate's first failure as
    one line ('' for none): scikit-learn itself only warns with all of them at the end."""

    def _format_results(self, candidate_params, n_splits, out, more_results=None):
        results = super()._format_results(candidate_params, n_splits, out, more_results)
        errors = []
        for i in range(len(candidate_params)):
            failures = [o.get("fit_error") for o in out[i * n_splits:(i + 1) * n_splits]]
            errors.append(next((_last_line(f) for f in failures if f), ""))
        results["fit_error"] = np.array(errors, dtype=object)
        return results


def _last_line(traceback_text):
    """The exception line of a formatted traceback, without the module path of its type."""
    lines = [line.strip() for line in str(traceback_text).splitlines() if line.strip()]
    line = lines[-1] if lines else str(traceback_text)
    kind, sep, message = line.partition(": ")
    return f"{kind.rsplit('.', 1)[-1]}: {message}" if sep else line


class _GridSearch(_KeepsFitErrors, GridSearchCV):
    pass


class _RandomSearch(_KeepsFitErrors, RandomizedSearchCV):
    pass


def make_search(config, data, n_jobs):
    """The scikit-learn search object, its number of candidates, the scheme and the data."""
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
    estimator = Estimator(**{"random_state": config.seed, **config.fixed})
    common = {"scoring": config.metric, "cv": splitter, "refit": True,
              "error_score": np.nan, "n_jobs": n_jobs}
    if config.search == "grid":
        n_candidates = len(ParameterGrid(config.grid))
        search = _GridSearch(estimator, config.grid, **common)
    else:
        n_candidates = config.n_iter
        if all(isinstance(v, list) for v in config.grid.values()):  # drawn without repeats
            n_candidates = min(n_candidates, len(ParameterGrid(config.grid)))
        search = _RandomSearch(estimator, search_space(config.grid),
                                    n_iter=n_candidates, random_state=config.seed, **common)
    return search, n_candidates, scheme, X, y


@contextlib.contextmanager
def parallel_backend(address, jobs, log):
    """Yield ``n_jobs`` for the search: joblib's local processes, or Dask's backend with a
    client connected to ``address`` (closed on exit)."""
    from joblib import parallel_config

    if address is None:
        n_jobs = 1 if jobs is None else jobs
        log(f"backend: joblib, {n_jobs if n_jobs > 0 else 'all'} local "
            f"process{'es' if n_jobs != 1 else ''}")
        yield n_jobs
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
        with parallel_config(backend="dask"):
            yield -1 if jobs is None else jobs
    finally:
        client.close()


def fit_search(search, X, y):
    """Fit the search; return how many candidates failed (NaN score).

    A candidate that diverges is a result, not an error: scikit-learn scores it NaN and we
    count it. If every candidate fails, the first failure is raised as a ValueError.
    """
    from sklearn.exceptions import FitFailedWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitFailedWarning)
        warnings.filterwarnings("always", message="One or more of the test scores are "
                                "non-finite", category=UserWarning)
        try:
            search.fit(X, y)
        except ValueError as exc:
            if "All the" in str(exc) and "fits failed" in str(exc):
                lines = [line for line in str(exc).splitlines() if line.strip()]
                raise ValueError(f"every candidate failed to fit; the last error: "
                                 f"{lines[-1].strip()}") from None
            raise
    for w in caught:  # pass on every other warning (a blow-up shows in the candidate's score)
        if not (issubclass(w.category, (FitFailedWarning, DivergenceWarning))
                or "non-finite" in str(w.message)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return int(np.sum(~np.isfinite(search.cv_results_["mean_test_score"])))


