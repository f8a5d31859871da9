"""Scores and fit times of nnscratch's MLPClassifier/MLPRegressor beside scikit-learn's,
on scikit-learn's bundled data sets (no download), the same splits, each solver.

Each row fits ``make_pipeline(StandardScaler(), MLP(**params))`` on a stratified 75/25
split (seed 0) with both libraries, for three seeds of ``random_state``, and prints the mean
test score (accuracy, or R^2 for diabetes) and the median fit time, as a Markdown table.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_sklearn_parity.py
"""

import statistics
import time
import warnings

import numpy as np
import sklearn.neural_network
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nnscratch.sklearn

CASES = [  # (data set, loader, estimator, parameters)
    ("digits", datasets.load_digits, "MLPClassifier", {}),
    ("digits", datasets.load_digits, "MLPClassifier", {"solver": "lbfgs"}),
    ("digits", datasets.load_digits, "MLPClassifier",
     {"solver": "sgd", "learning_rate_init": 0.1}),
    ("breast cancer", datasets.load_breast_cancer, "MLPClassifier", {}),
    ("breast cancer", datasets.load_breast_cancer, "MLPClassifier",
     {"solver": "lbfgs", "alpha": 1.0}),
    ("wine", datasets.load_wine, "MLPClassifier", {"early_stopping": True}),
    ("iris", datasets.load_iris, "MLPClassifier", {"solver": "lbfgs"}),
    ("diabetes", datasets.load_diabetes, "MLPRegressor",
     {"learning_rate_init": 0.01, "early_stopping": True}),
    ("diabetes", datasets.load_diabetes, "MLPRegressor",
     {"solver": "lbfgs", "alpha": 10.0, "hidden_layer_sizes": (10,)}),
]
SEEDS = (0, 1, 2)


def run(library, name, loader, params):
    """Mean test score over SEEDS and the median fit time of one case."""
    X, y = loader(return_X_y=True)
    regression = name == "diabetes"
    if regression:
        y = y / y.std()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, random_state=0, stratify=None if regression else y)
    Estimator = getattr(library, "MLPRegressor" if regression else "MLPClassifier")
    scores, seconds = [], []
    for seed in SEEDS:
        pipe = make_pipeline(StandardScaler(), Estimator(random_state=seed, **params))
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            pipe.fit(X_train, y_train)
        seconds.append(time.perf_counter() - start)
        scores.append(pipe.score(X_test, y_test))
    return float(np.mean(scores)), statistics.median(seconds)


def main():
    print("| data | estimator, parameters | scikit-learn | nnscratch | fit s (sklearn / ours) |")
    print("|---|---|---|---|---|")
    for name, loader, estimator, params in CASES:
        theirs, their_s = run(sklearn.neural_network, name, loader, params)
        ours, our_s = run(nnscratch.sklearn, name, loader, params)
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "defaults"
        print(f"| {name} | `{estimator}({shown})` | {theirs:.3f} | {ours:.3f} | "
              f"{their_s:.2f} / {our_s:.2f} |")


if __name__ == "__main__":
    main()
