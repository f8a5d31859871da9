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
the estimator (``hidden_layer_sizes``, ``learning_rate``, ...). A sweep writes
``results.csv`` (one row per candidate), ``best.json`` and ``best_model.npz`` (the best
configuration refitted on the whole training set) into its output folder.
"""

import argparse
import contextlib
import csv
import difflib
import io
import json
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Keys of a sweep configuration file.
CONFIG_KEYS = ("dataset", "split", "search", "n_iter", "metric", "cv", "val_split",
               "train_samples", "seed", "fixed", "grid")
#: ``nnscratch train`` option names that differ from the estimator's parameter names.
ALIASES = {"hidden": "hidden_layer_sizes", "lr": "learning_rate"}
#: Distributions a random search may draw a value from, ``{distribution = ..., low, high}``.
DISTRIBUTIONS = ("uniform", "loguniform", "randint")
_CONNECT_TIMEOUT = "10s"  # how long to try to reach a Dask scheduler


@dataclass
class SweepConfig:
    """A validated sweep configuration (see the module docstring for the file format)."""

    dataset: str = "digits"
    split: str = "blog"
    search: str = "grid"
    n_iter: int = 8
    metric: str = "accuracy"
    cv: int | None = 3
    val_split: float | None = None
    train_samples: int | None = None
    seed: int = 0
    fixed: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    names: dict = field(default_factory=dict)  # option -> the name the file used for it


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


# --- configuration ----------------------------------------------------------------------
def read_config(path):
    """The raw configuration dict of a ``.toml`` (or ``.yaml`` / ``.yml``) file.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        The file is not valid TOML / YAML, or not a table of options.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sweep configuration {path} not found")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ValueError(f"{path} is YAML, which needs PyYAML: pip install pyyaml "
                             "(or write the configuration as TOML)") from None
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") \
                from None
    else:
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path} is not valid TOML: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path} must hold a table of options, got {type(raw).__name__}")
    return raw


def parse_config(raw, *, seed=None, where="config"):
    """Validate a raw configuration dict and return a :class:`SweepConfig`.

    Parameters
    ----------
    raw : dict
        As read by :func:`read_config`.
    seed : int, optional
        Overrides ``raw["seed"]`` (the command line's ``--seed``).
    where : str
        Named in error messages (the file's path).

    Raises
    ------
    ValueError
        An unknown key or option name, an empty value list, a bad metric, search, number of
        folds or option value; the message names it.
    """
    from sklearn.metrics import get_scorer_names

    from .sklearn import NNClassifier

    unknown = sorted(set(raw) - set(CONFIG_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}{_hint(unknown[0], CONFIG_KEYS)}"
                         f"; expected some of {list(CONFIG_KEYS)}")
    config = SweepConfig()
    for key in ("dataset", "split", "search", "metric"):
        value = raw.get(key, getattr(config, key))
        if not isinstance(value, str):
            raise ValueError(f"{where}: {key} must be a string, got {value!r}")
        setattr(config, key, value)
    _check_choice(where, "dataset", config.dataset, ("digits", "mnist"))
    _check_choice(where, "split", config.split,
                  ("blog",) if config.dataset == "digits" else ("blog", "standard"))
    _check_choice(where, "search", config.search, ("grid", "random"))
    scorers = get_scorer_names()
    if config.metric not in scorers:
        raise ValueError(f"{where}: metric {config.metric!r} is not a scikit-learn scorer"
                         f"{_hint(config.metric, scorers)}; e.g. 'accuracy', "
                         "'balanced_accuracy', 'f1_macro', 'neg_log_loss'")
    config.n_iter = _int_option(where, raw, "n_iter", config.n_iter, minimum=1)
    config.seed = _int_option(where, {"seed": seed} if seed is not None else raw, "seed",
                              config.seed, minimum=0)
    if raw.get("train_samples") is not None:
        config.train_samples = _int_option(where, raw, "train_samples", None, minimum=10)
    if "val_split" in raw:
        if "cv" in raw:
            raise ValueError(f"{where}: give either cv (folds) or val_split (one hold-out "
                             "split), not both")
        value = raw["val_split"]
        if (not isinstance(value, (int, float)) or isinstance(value, bool)
                or not 0 < value < 1):
            raise ValueError(f"{where}: val_split must be a number in (0, 1), got {value!r}")
        config.cv, config.val_split = None, float(value)
    else:
        config.cv = _int_option(where, raw, "cv", config.cv, minimum=2)

    valid = set(NNClassifier().get_params())
    tables = {}
    for table in ("fixed", "grid"):
        entries = raw.get(table, {})
        if not isinstance(entries, dict):
            raise ValueError(f"{where}: [{table}] must be a table of options, "
                             f"got {entries!r}")
        tables[table] = {}
        for name, value in entries.items():
            param = ALIASES.get(name, name)
            if param not in valid:
                names = sorted(valid | set(ALIASES))
                raise ValueError(f"{where}: [{table}] has an unknown option {name!r}"
                                 f"{_hint(name, names)}; expected one of {names}")
            if param in tables[table]:
                raise ValueError(f"{where}: [{table}] sets {param} twice (as {name!r} and "
                                 "its alias)")
            tables[table][param] = (name, value)
    both = sorted(set(tables["fixed"]) & set(tables["grid"]))
    if both:
        raise ValueError(f"{where}: {tables['grid'][both[0]][0]} is both in [fixed] and in "
                         "[grid]; keep one")
    if not tables["grid"]:
        raise ValueError(f"{where}: [grid] is empty; give at least one option with a list "
                         "of values, e.g. lr = [0.05, 0.1]")
    config.fixed = {param: _plain_value(v) for param, (_, v) in tables["fixed"].items()}
    config.grid = {param: _grid_values(where, name, values, config.search)
                   for param, (name, values) in tables["grid"].items()}
    config.names = {param: name for table in tables.values()
                    for param, (name, _) in table.items()}
    _check_candidates(where, config)
    return config


def _hint(name, choices):
    """`` (did you mean 'x'?)`` when a close match exists."""
    close = difflib.get_close_matches(str(name), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_choice(where, key, value, choices):
    if value not in choices:
        raise ValueError(f"{where}: {key} must be one of {list(choices)}, got {value!r}")


def _int_option(where, raw, key, default, *, minimum):
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{where}: {key} must be an integer >= {minimum}, got {value!r}")
    return value


def _plain_value(value):
    """A config value as the estimator takes it: lists become tuples (layer sizes)."""
    return tuple(value) if isinstance(value, list) else value


def _grid_values(where, name, values, search):
    """The values of one [grid] option: a non-empty list, or (random search) a distribution."""
    if isinstance(values, dict):
        if search != "random":
            raise ValueError(f"{where}: [grid] {name} is a distribution, which needs "
                             "search = \"random\"; a grid search takes a list of values")
        return _distribution(where, name, values)
    if not isinstance(values, list):
        raise ValueError(f"{where}: [grid] {name} must be a list of values, e.g. "
                         f"{name} = [{values!r}], got {values!r}")
    if not values:
        raise ValueError(f"{where}: [grid] {name} is an empty list; give at least one value")
    return [_plain_value(v) for v in values]


def _distribution(where, name, spec):
    """Validate ``{distribution = "loguniform", low = .., high = ..}``; return it as a dict."""
    kind = spec.get("distribution")
    if kind not in DISTRIBUTIONS or set(spec) != {"distribution", "low", "high"}:
        raise ValueError(f"{where}: [grid] {name} must be a list of values or a table "
                         f"{{distribution = one of {list(DISTRIBUTIONS)}, low = .., high = ..}}"
                         f", got {spec!r}")
    low, high = spec["low"], spec["high"]
    numbers_ok = all(isinstance(v, (int, float)) and not isinstance(v, bool)
                     and math.isfinite(v) for v in (low, high))
    if not numbers_ok or low >= high or (kind == "loguniform" and low <= 0):
        raise ValueError(f"{where}: [grid] {name}: a {kind} distribution needs finite numbers "
                         f"{'0 < ' if kind == 'loguniform' else ''}low < high, got "
                         f"low={low!r}, high={high!r}")
    if kind == "randint" and not all(isinstance(v, int) for v in (low, high)):
        raise ValueError(f"{where}: [grid] {name}: randint needs integer low and high, "
                         f"got low={low!r}, high={high!r}")
    return dict(spec)


def _search_space(grid):
    """The [grid] as scikit-learn takes it: lists stay, distributions become scipy.stats."""
    from scipy import stats

    space = {}
    for name, values in grid.items():
        if isinstance(values, list):
            space[name] = values
            continue
        kind, low, high = values["distribution"], values["low"], values["high"]
        if kind == "randint":
            space[name] = stats.randint(low, high + 1)  # both ends included
        elif kind == "loguniform":
            space[name] = stats.loguniform(low, high)
        else:
            space[name] = stats.uniform(low, high - low)
    return space


def _check_candidates(where, config):
    """Build and validate the estimator for each value alone, so mistakes fail at once."""
    from .sklearn import NNClassifier

    base = {"random_state": config.seed, **config.fixed}
    try:
        NNClassifier(**base).check_params()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: [fixed]: {exc}") from None
    for name, values in config.grid.items():
        bounds = [values["low"], values["high"]] if isinstance(values, dict) else values
        for value in bounds:
            try:
                NNClassifier(**{**base, name: value}).check_params()
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{where}: [grid] {config.names.get(name, name)} = "
                                 f"{value!r}: {exc}") from None


# --- running ----------------------------------------------------------------------------
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

    from .data import load_dataset

    if not isinstance(config, SweepConfig):
        where = "config" if isinstance(config, dict) else str(config)
        raw = config if isinstance(config, dict) else read_config(config)
        config = parse_config(raw, where=where)
    if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs == 0):
        raise ValueError(f"jobs must be a non-zero integer (-1 = every core), got {jobs!r}")
    with _backend(dask_scheduler, jobs, log) as n_jobs:  # connect first: fail fast
        if data is None:
            data = load_dataset(config.dataset, split=config.split, data_dir=data_dir,
                                dtype=config.fixed.get("dtype", "float32"), progress=False)
        search, n_candidates, scheme, X, y = _make_search(config, data, n_jobs)
        n_splits = search.cv.get_n_splits()
        log(f"sweep: {data.summary()}"
            + (f"; {len(X):,} of the training samples" if len(X) < len(data.X_train) else ""))
        log(f"{config.search} search: {n_candidates} candidates x {n_splits} "
            f"split{'s' if n_splits > 1 else ''} = {n_candidates * n_splits} fits, "
            f"scored by {config.metric} ({scheme})")
        start = time.perf_counter()
        failures = _fit_search(search, X, y)
    seconds = time.perf_counter() - start

    rows = results_rows(search.cv_results_, config.metric)
    best = search.best_index_
    best_params = {k: _json_value(search.best_params_[k]) for k in config.grid}
    best_score = float(search.cv_results_["mean_test_score"][best])
    best_std = float(search.cv_results_["std_test_score"][best])
    test_score = float(get_scorer(config.metric)(search.best_estimator_, data.X_test,
                                                 data.y_test))
    log(format_table(rows, config.metric, list(config.grid)))
    if failures:
        log(f"{failures} of {len(rows)} candidates failed to fit (score NaN): see "
            "results.csv")
    log(f"best configuration: {format_params(best_params)}")
    spread = f" +/- {best_std:.4f}" if n_splits > 1 else ""
    log(f"best {config.metric}: {best_score:.4f}{spread} ({scheme}); "
        f"test {config.metric} of the refitted model: {test_score:.4f} "
        f"({len(data.X_test):,} test samples)")
    log(f"{len(rows)} candidates in {seconds:.1f} s")

    result = SweepResult(best_params, best_score, best_std, test_score, rows, search, None)
    if out_dir is not None:
        summary = {
            "metric": config.metric, "scheme": scheme, "best_params": best_params,
            "best_score": best_score, "best_std": best_std, "test_score": test_score,
            "train_config": train_config(search.best_estimator_, config),
            "n_candidates": len(rows), "n_failed": failures, "seconds": round(seconds, 3),
            "backend": "dask" if dask_scheduler else "joblib",
            "dataset": {"name": data.name, "split": data.split, "train_samples": len(X),
                        "test_samples": len(data.X_test)},
            "config": _config_json(config),
        }
        result.out_dir = write_results(out_dir, rows, summary, search.best_estimator_)
        log(f"wrote {result.out_dir}/results.csv, best.json and best_model.npz")
    return result


def _make_search(config, data, n_jobs):
    """The scikit-learn search object, its number of candidates, the scheme and the data."""
    from sklearn.model_selection import (
        GridSearchCV,
        ParameterGrid,
        RandomizedSearchCV,
        StratifiedKFold,
        StratifiedShuffleSplit,
        train_test_split,
    )

    from .sklearn import NNClassifier

    X, y = data.X_train, data.y_train
    if config.train_samples is not None and config.train_samples < len(X):
        X, _, y, _ = train_test_split(X, y, train_size=config.train_samples, stratify=y,
                                      random_state=config.seed)
    if config.cv is not None:
        splitter = StratifiedKFold(config.cv, shuffle=True, random_state=config.seed)
        scheme = f"{config.cv}-fold cv"
    else:
        splitter = StratifiedShuffleSplit(1, test_size=config.val_split,
                                          random_state=config.seed)
        scheme = f"{config.val_split:g} hold-out"
    estimator = NNClassifier(**{"random_state": config.seed, **config.fixed})
    common = {"scoring": config.metric, "cv": splitter, "refit": True,
              "error_score": np.nan, "n_jobs": n_jobs}
    if config.search == "grid":
        n_candidates = len(ParameterGrid(config.grid))
        search = GridSearchCV(estimator, config.grid, **common)
    else:
        n_candidates = config.n_iter
        if all(isinstance(v, list) for v in config.grid.values()):  # drawn without repeats
            n_candidates = min(n_candidates, len(ParameterGrid(config.grid)))
        search = RandomizedSearchCV(estimator, _search_space(config.grid),
                                    n_iter=n_candidates, random_state=config.seed, **common)
    return search, n_candidates, scheme, X, y


@contextlib.contextmanager
def _backend(address, jobs, log):
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


def _fit_search(search, X, y):
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
    for w in caught:  # pass on every other warning
        if not (issubclass(w.category, FitFailedWarning) or "non-finite" in str(w.message)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return int(np.sum(~np.isfinite(search.cv_results_["mean_test_score"])))


# --- results ----------------------------------------------------------------------------
def results_rows(cv_results, metric):
    """One dict per candidate, best rank first: rank, the options, score mean/std, times."""
    n = len(cv_results["params"])
    n_splits = sum(1 for k in cv_results if k.startswith("split") and k.endswith("_test_score"))
    rows = []
    for i in range(n):
        row = {"rank": int(cv_results["rank_test_score"][i])}
        row.update({k: _json_value(v) for k, v in cv_results["params"][i].items()})
        row[f"mean_{metric}"] = _number(cv_results["mean_test_score"][i])
        row[f"std_{metric}"] = _number(cv_results["std_test_score"][i])
        for s in range(n_splits):
            row[f"split{s}_{metric}"] = _number(cv_results[f"split{s}_test_score"][i])
        row["mean_fit_seconds"] = round(float(cv_results["mean_fit_time"][i]), 4)
        row["std_fit_seconds"] = round(float(cv_results["std_fit_time"][i]), 4)
        rows.append(row)
    return sorted(rows, key=lambda r: r["rank"])


def _number(value):
    """A float for CSV/JSON; NaN (a failed fit) becomes None."""
    value = float(value)
    return value if math.isfinite(value) else None


def _json_value(value):
    """NumPy scalars and tuples as plain JSON values (tuples become lists)."""
    if isinstance(value, (tuple, list)):
        return [_json_value(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def format_params(params):
    """``name=value`` pairs in the configuration's order, values as JSON."""
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in params.items())


def format_table(rows, metric, names, limit=20):
    """The candidates as an aligned text table (the best ``limit`` of them)."""
    header = ["rank", f"mean {metric}", "std", *names, "fit s"]
    body = [[str(r["rank"]),
             "failed" if r[f"mean_{metric}"] is None else f"{r[f'mean_{metric}']:.4f}",
             "" if r[f"std_{metric}"] is None else f"{r[f'std_{metric}']:.4f}",
             *(_cell(r[n]) for n in names), f"{r['mean_fit_seconds']:.2f}"]
            for r in rows[:limit]]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
             for line in [header, *body]]
    if len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more in results.csv")
    return "\n".join(lines)


def _cell(value):
    """A short table cell: floats to 4 significant digits, lists as ``[64, 32]``."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return value if isinstance(value, str) else json.dumps(value)


def train_config(estimator, config):
    """The ``nnscratch train`` configuration of a fitted estimator (to rerun it by hand)."""
    names = {v: k for k, v in ALIASES.items()} | {"random_state": "seed"}
    params = {names.get(k, k): _json_value(v) for k, v in estimator.get_params().items()}
    if not isinstance(params.get("seed"), int):
        params["seed"] = config.seed
    return {"dataset": config.dataset, "split": config.split, **params}


def _config_json(config):
    """The sweep configuration as JSON (a distribution as its name and bounds)."""
    grid = {name: [_json_value(v) for v in values] if isinstance(values, list) else values
            for name, values in config.grid.items()}
    return {"dataset": config.dataset, "split": config.split, "search": config.search,
            "n_iter": config.n_iter, "metric": config.metric, "cv": config.cv,
            "val_split": config.val_split, "train_samples": config.train_samples,
            "seed": config.seed,
            "fixed": {k: _json_value(v) for k, v in config.fixed.items()}, "grid": grid}


def write_results(out_dir, rows, summary, best_estimator):
    """Write ``results.csv``, ``best.json`` and ``best_model.npz`` into ``out_dir``."""
    from .files import write_text
    from .serialization import save

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: json.dumps(v) if isinstance(v, list) else v for k, v in r.items()}
                     for r in rows)
    write_text(out_dir / "results.csv", buffer.getvalue())
    write_text(out_dir / "best.json", json.dumps(summary, indent=2) + "\n")
    metric = summary["metric"]
    save(best_estimator.network_, out_dir / "best_model.npz", config=summary["train_config"],
         metrics={f"cv_{metric}": summary["best_score"], f"cv_{metric}_std": summary["best_std"],
                  f"test_{metric}": summary["test_score"]})
    return out_dir


# --- command line -----------------------------------------------------------------------
_EPILOG = """\
example configuration (TOML):
  dataset = "digits"     # or "mnist" (split = "blog" | "standard")
  search = "grid"        # or "random" (n_iter = 8)
  metric = "accuracy"    # any scikit-learn scorer name
  cv = 3                 # folds, or val_split = 0.2 for one hold-out split
  [fixed]
  epochs = 20
  [grid]
  hidden = [[32], [64, 32]]
  lr = [0.05, 0.1]

on a Dask cluster (pip install 'nnscratch[dask]'; nnscratch installed on every worker):
  dask scheduler                      # prints its address, e.g. tcp://10.0.0.5:8786
  dask worker tcp://10.0.0.5:8786     # on each machine
  nnscratch sweep sweep.toml --dask-scheduler tcp://10.0.0.5:8786
"""


def register(subparsers):
    """Add the ``sweep`` subcommand to the ``nnscratch`` command's sub-parsers."""
    parser = subparsers.add_parser(
        "sweep", help="grid or random search over train options, locally or on Dask",
        description="Search over the options of 'nnscratch train' with scikit-learn's\n"
        "GridSearchCV / RandomizedSearchCV and cross-validation. Writes results.csv (one\n"
        "row per candidate), best.json and best_model.npz (the best configuration refitted\n"
        "on the whole training set), and prints the best configuration and its test score.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", metavar="CONFIG", help="sweep configuration (.toml, or "
                        ".yaml with PyYAML)")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="parallel fits on this machine, in joblib processes; -1 = every "
                        "core (default: 1; with --dask-scheduler, every worker)")
    parser.add_argument("--dask-scheduler", metavar="ADDRESS", default=None,
                        help="run the fits on the dask.distributed cluster at ADDRESS, e.g. "
                        "tcp://10.0.0.5:8786 (needs nnscratch[dask])")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="output folder (default: a new folder runs/sweep-<time>)")
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="folder with the four MNIST files")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the folds, the random search and every fit (overrides "
                        "the configuration's seed; default 0)")
    parser.set_defaults(func=run)
    return parser


def run(args):
    """``nnscratch sweep``: run the sweep ``args`` describe; return the exit status."""
    from .experiment import new_run_dir

    config = parse_config(read_config(args.config), seed=args.seed, where=str(args.config))
    out_dir = Path(args.out) if args.out else new_run_dir(label="sweep")
    run_sweep(config, jobs=args.jobs, dask_scheduler=args.dask_scheduler, out_dir=out_dir,
              data_dir=args.data_dir)
    return 0
