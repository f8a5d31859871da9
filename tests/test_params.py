"""The one table of hyper-parameters: the estimators, the command line, the sweeps and the
recipes all follow it, row by row."""

import inspect
import re

import numpy as np
import pytest

from nnscratch.cli import build_parser, main
from nnscratch.params import (
    BY_ESTIMATOR_NAME,
    BY_NAME,
    BY_SKLEARN_NAME,
    DEFAULTS,
    PARAMS,
    check_config,
)
from nnscratch.recipes import RECIPES, make_config
from nnscratch.sklearn import NNClassifier, NNRegressor
from nnscratch.sweep import parse_config


@pytest.mark.parametrize("Estimator", [NNClassifier, NNRegressor])
def test_estimator_signatures_follow_the_table(Estimator):
    """Every row with a scikit-learn name is a constructor parameter with the row's
    estimator default; every constructor parameter is a row (the regressor's loss too)."""
    signature = inspect.signature(Estimator.__init__).parameters
    params = {name: p.default for name, p in signature.items() if name != "self"}
    only_regressor = {"loss"}
    expected = set(BY_ESTIMATOR_NAME) - (set() if Estimator is NNRegressor else only_regressor)
    assert set(params) == expected
    for name in params:
        row = BY_ESTIMATOR_NAME[name]
        assert params[name] == row.estimator_default, name
        assert f"    {name} : " in Estimator.__doc__ or f", {name} : " in Estimator.__doc__ \
            or f"    {name}, " in Estimator.__doc__, f"{name} undocumented"


@pytest.mark.parametrize(("Estimator", "Reference"), [("NNClassifier", "MLPClassifier"),
                                                      ("NNRegressor", "MLPRegressor")])
def test_every_scikit_learn_parameter_with_its_default(Estimator, Reference):
    """A user swaps MLPClassifier for NNClassifier without renaming anything: each of its
    parameters is ours, with the same default, in the same position."""
    import sklearn.neural_network

    import nnscratch.sklearn

    theirs = inspect.signature(getattr(sklearn.neural_network, Reference)).parameters
    ours = inspect.signature(getattr(nnscratch.sklearn, Estimator)).parameters
    for name, param in theirs.items():
        assert name in ours, name
        assert ours[name].default == param.default, name
        assert ours[name].kind == param.kind, name
    assert list(ours)[:len(theirs)] == list(theirs)  # positional order too


def test_every_row_is_an_option_of_train_with_its_help(capsys):
    """Each row appears in `nnscratch train --help` with its flag, help and default, once."""
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for row in PARAMS:
        assert f"{row.flag} " in text, row.flag
        assert " ".join(row.help.split()) in text, row.flag
    assert "(default: None)" not in text and "%%" not in text
    assert not re.search(r"\(default: [^()]*\) \(default", text)  # never said twice


def test_every_row_is_accepted_in_a_sweep_config():
    """Each row is a sweep key: a top-level one (data, seed) or an option of [fixed]; but
    the rows of a folder of images (sweeps read tables and named data sets only)."""
    for row in PARAMS:
        if row.name in ("image_size", "color", "max_memory"):
            continue
        value = DEFAULTS[row.name]
        if row.sklearn is None or row.name == "seed":  # the data, and the sweep's seed
            raw = {"dataset": "digits", "grid": {"lr": [0.1]}}
            if value is not None:
                raw[row.name] = value
            if row.name == "dataset":
                raw["dataset"] = "digits"  # MNIST, the default, also parses; digits is small
        else:
            fixed = {row.name: value} if value is not None else {}
            raw = {"dataset": "digits", "fixed": fixed, "grid": {"lr": [0.1, 0.2]}}
            if row.name == "lr":
                raw["grid"] = {"batch_size": [32]}
        parse_config(raw, where="test")


def test_cli_options_reach_the_config_and_the_model(tmp_path):
    """Every option given on the command line is the value stored in the run's config."""
    from nnscratch.serialization import read_metadata

    argv = ["train", "--dataset", "digits", "--no-bar", "--out", str(tmp_path / "r"),
            "--hidden", "12,7", "--activation", "tanh", "--init", "glorot", "--dropout", "0.1",
            "--dtype", "float64", "--epochs", "3", "--batch-size", "50", "--optimizer", "sgd",
            "--lr", "0.02", "--momentum", "0.5", "--nesterov", "false", "--weight-decay",
            "0.001", "--schedule", "cosine", "--warmup", "1", "--clip", "5", "--val-split",
            "0.2", "--patience", "2", "--seed", "4", "--split", "standard", "--augment",
            "shift", "--label-smoothing", "0.05"]
    assert main(argv) == 0
    config = read_metadata(tmp_path / "r" / "model.npz")["config"]
    expected = {"dataset": "digits", "split": "standard", "hidden": [12, 7],
                "activation": "tanh", "init": "glorot", "dropout": 0.1, "dtype": "float64",
                "epochs": 3, "batch_size": 50, "optimizer": "sgd", "lr": 0.02,
                "momentum": 0.5, "nesterov": False, "weight_decay": 0.001,
                "schedule": "cosine", "warmup": 1,
                "clip": 5.0, "val_split": 0.2, "patience": 2, "seed": 4, "recipe": "blog",
                "data": None, "target": None, "task": "auto", "drop": [], "scale": "auto",
                "image_size": None, "color": "auto", "max_memory": 2.0, "arch": None,
                "augment": "shift", "label_smoothing": 0.05}
    assert set(expected) == {*BY_NAME, "recipe"}  # the test covers every row
    assert config == expected


def test_patience_none_turns_a_recipes_early_stopping_off():
    """`--patience none` overrides a recipe's patience (None is 'off' for optional rows)."""
    assert make_config("best")["patience"] == RECIPES["best"]["patience"]
    assert make_config("best", patience=None)["patience"] is None
    assert make_config("best", epochs=None)["epochs"] == RECIPES["best"]["epochs"]


@pytest.mark.parametrize(("config", "message"), [
    ({"lr": -1}, r"lr must be a positive finite number, got -1"),
    ({"hidden": [3, 0]}, r"hidden must be a sequence of positive integers such as \(64, 32\)"),
    ({"optimizer": "adamm"}, r"optimizer must be one of \['sgd', 'adam', 'adamw', 'rmsprop', "
                             r"'adagrad'\], got 'adamm' \(did you mean 'adam'\?\)"),
    ({"patience": 0}, r"patience must be an integer >= 1 or None, got 0"),
    ({"dtype": np.float16}, r"dtype must be one of \['float32', 'float64'\]"),
    ({"epochs": True}, r"epochs must be an integer >= 0, got True"),
    ({"lrr": 0.1}, r"unknown configuration key 'lrr' \(did you mean 'lr'\?\)"),
    ({"schedule": "onecycle", "warmup": 2},
     r"warmup 2 needs schedule cosine \(the warm-up comes before its decay\); schedule is "
     r"onecycle, which warms up by itself"),
])
def test_check_config_names_the_key_and_the_expectation(config, message):
    """A bad value is refused naming its key, what was expected and what was given."""
    with pytest.raises(ValueError, match=message):
        check_config({**DEFAULTS, **config})


def test_recipes_command_lists_a_recipes_settings(capsys):
    """`nnscratch recipes best` prints every setting, marking those the recipe sets."""
    assert main(["recipes", "best"]) == 0
    out = capsys.readouterr().out
    for name, value in RECIPES["best"].items():
        shown = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        assert any(line.split()[:2] == [BY_NAME[name].flag, shown] and "set by the recipe" in line
                   for line in out.splitlines()), name
    assert main(["recipes"]) == 0
    listing = capsys.readouterr().out
    assert all(f"\n{name}: " in f"\n{listing}" for name in RECIPES)
    assert main(["recipes", "bset"]) == 2
    assert f"RECIPE must be one of {list(RECIPES)}, got 'bset'" in capsys.readouterr().err


def test_parser_builds_without_importing_the_engine_twice():
    """The parser is built from the table: each row once, no hand-typed choice lists."""
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    flags = [a.option_strings[0] for a in train._actions if a.option_strings]
    for row in PARAMS:
        assert flags.count(row.flag) == 1
        action = next(a for a in train._actions if row.flag in a.option_strings)
        assert tuple(action.choices or ()) == tuple(row.choices or ())


@pytest.mark.parametrize("nesterov", [True, False])
def test_nesterov_reaches_the_optimizer_from_every_entry_point(nesterov):
    """The row added last: config, estimator and builder agree."""
    from nnscratch.build import build_optimizer

    config = make_config(optimizer="sgd", momentum=0.9, nesterov=nesterov)
    assert build_optimizer(config).nesterov is nesterov
    clf = NNClassifier(momentum=0.9, nesterovs_momentum=nesterov, max_iter=1, solver="sgd",
                       n_iter_no_change=None)
    assert clf.fit(np.eye(4), [0, 1, 0, 1]).optimizer_.nesterov is nesterov
    assert build_optimizer(make_config(nesterov=nesterov)).nesterov is False  # no momentum


@pytest.mark.parametrize("solver", ["rmsprop", "adagrad"])
def test_rmsprop_and_adagrad_from_every_entry_point(solver):
    """The registry's newer optimizers: config and estimator build them, with the table's
    lr and weight decay (and momentum for rmsprop), and the estimator trains with them."""
    from nnscratch.build import build_optimizer
    from nnscratch.optimizers import OPTIMIZERS

    optimizer = build_optimizer(make_config(optimizer=solver, lr=0.02, weight_decay=0.1,
                                            momentum=0.5))
    assert type(optimizer) is OPTIMIZERS[solver]
    assert (optimizer.lr, optimizer.weight_decay) == (0.02, 0.1)
    assert getattr(optimizer, "momentum", 0.5) == 0.5
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = NNClassifier((8,), solver=solver, learning_rate_init=0.05, max_iter=30,
                       n_iter_no_change=None, random_state=0).fit(X, y)
    assert type(clf.optimizer_) is OPTIMIZERS[solver] and clf.score(X, y) >= 0.9


def test_docs_map_every_estimator_parameter_to_its_option():
    """docs/sklearn.md has one mapping row per table row with a scikit-learn name."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "sklearn.md").read_text()
    for row in BY_SKLEARN_NAME.values():
        assert f"| `{row.flag}` | `{row.sklearn}` |" in doc, row.name
