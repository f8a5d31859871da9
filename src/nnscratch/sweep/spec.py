"""A sweep's configuration file: reading it, checking it, and the search space it describes.

The file names options of ``nnscratch train`` (``hidden``, ``lr``, ...) or the estimators'
scikit-learn names (``hidden_layer_sizes``, ``learning_rate_init``, ...): both come from the
one table, :data:`nnscratch.params.PARAMS`.
"""

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..params import BY_NAME, BY_SKLEARN_NAME, TRAIN_DEFAULTS
from ..validation import check_choice, check_number

#: Keys of a sweep configuration file.
CONFIG_KEYS = ("dataset", "split", "data", "target", "task", "drop", "scale", "search",
               "n_iter", "metric", "cv", "val_split", "train_samples", "seed", "fixed", "grid")
#: Distributions a random search may draw a value from, ``{distribution = ..., low, high}``.
DISTRIBUTIONS = ("uniform", "loguniform", "randint")


@dataclass
class SweepConfig:
    """A validated sweep configuration (see the module docstring for the file format)."""

    dataset: str = "digits"
    split: str = "blog"
    data: str | None = None  # the user's table instead of dataset
    target: str | None = None
    task: str = "auto"
    drop: list = field(default_factory=list)
    scale: str = "auto"
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

    unknown = sorted(set(raw) - set(CONFIG_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}{_hint(unknown[0], CONFIG_KEYS)}"
                         f"; expected some of {list(CONFIG_KEYS)}")
    config = SweepConfig()
    for key in ("dataset", "split", "data", "target", "task", "drop", "scale"):  # table rows
        setattr(config, key, BY_NAME[key].check(raw.get(key, getattr(config, key)),
                                                f"{where}: {key}"))
    config.search = check_choice(raw.get("search", config.search), f"{where}: search",
                                 ("grid", "random"))
    config.metric = raw.get("metric", config.metric)
    scorers = get_scorer_names()
    if config.metric not in scorers:
        raise ValueError(f"{where}: metric {config.metric!r} is not a scikit-learn scorer"
                         f"{_hint(config.metric, scorers)}; e.g. 'accuracy', "
                         "'balanced_accuracy', 'f1_macro', 'neg_log_loss'")
    config.n_iter = check_number(raw.get("n_iter", config.n_iter), f"{where}: n_iter", 1,
                                 integer=True)
    config.seed = BY_NAME["seed"].check(raw.get("seed", config.seed) if seed is None else seed,
                                        f"{where}: seed")
    if raw.get("train_samples") is not None:
        config.train_samples = check_number(raw["train_samples"], f"{where}: train_samples",
                                            10, integer=True)
    if "val_split" in raw:
        if "cv" in raw:
            raise ValueError(f"{where}: give either cv (folds) or val_split (one hold-out "
                             "split), not both")
        config.cv = None
        config.val_split = check_number(raw["val_split"], f"{where}: val_split", 0, 1,
                                        low_open=True, high_open=True)
    else:
        config.cv = check_number(raw.get("cv", config.cv), f"{where}: cv", 2, integer=True)

    tables = {table: _options(where, table, raw.get(table, {})) for table in ("fixed", "grid")}
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


def _estimator_params():
    """The classifier's parameters, and every name a file may use for each."""
    from ..sklearn import NNClassifier

    params = set(NNClassifier().get_params())
    aliases = {row.name: row.sklearn for row in BY_SKLEARN_NAME.values()}
    return params, aliases


def _options(where, table, entries):
    """``{estimator parameter: (name in the file, value)}`` of a [fixed] or [grid] table."""
    if not isinstance(entries, dict):
        raise ValueError(f"{where}: [{table}] must be a table of options, got {entries!r}")
    params, aliases = _estimator_params()
    options = {}
    for name, value in entries.items():
        param = aliases.get(name, name)
        if param not in params or name == "random_state":
            names = sorted((params - {"random_state"}) | set(aliases) - {"seed"})
            hint = " (the seed is the top-level key seed)" if param == "random_state" else \
                _hint(name, names)
            raise ValueError(f"{where}: [{table}] has an unknown option {name!r}{hint}; "
                             f"expected one of {names}")
        if param in options:
            raise ValueError(f"{where}: [{table}] sets {param} twice (as "
                             f"{options[param][0]!r} and {name!r})")
        options[param] = (name, value)
    return options


def _hint(name, choices):
    """`` (did you mean 'x'?)`` when a close match exists."""
    close = difflib.get_close_matches(str(name), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


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


def search_space(grid):
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


#: A regression sweep's defaults that differ from nnscratch train's (plain SGD at 0.05
#: diverges on unscaled targets; Adam's step is bounded by its rate).
_REGRESSION_DEFAULTS = {"solver": "adam", "learning_rate_init": 0.001, "max_iter": 100}


def sweep_defaults(classify=True):
    """The estimator parameters a sweep's candidate starts from: ``nnscratch train``'s
    defaults (the estimators' own are scikit-learn's)."""
    return {**TRAIN_DEFAULTS, **({} if classify else _REGRESSION_DEFAULTS)}


def _check_candidates(where, config):
    """Build and validate the estimator for each value alone, so mistakes fail at once."""
    from ..sklearn import NNClassifier

    base = {**sweep_defaults(), "random_state": config.seed, **config.fixed}

    def shown(param):  # messages name an option as the file does
        return config.names.get(param, param)

    try:
        NNClassifier(**base).check_params(label=shown)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: [fixed]: {exc}") from None
    for name, values in config.grid.items():
        bounds = [values["low"], values["high"]] if isinstance(values, dict) else values
        for value in bounds:
            try:
                NNClassifier(**{**base, name: value}).check_params(label=shown)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{where}: [grid] {config.names.get(name, name)} = "
                                 f"{value!r}: {exc}") from None


