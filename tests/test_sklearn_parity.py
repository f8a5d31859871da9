"""Parity with scikit-learn's MLPs: a user's script runs with only the import changed.

Each scenario runs the same code on ``MLPClassifier``/``MLPRegressor`` and on
``NNClassifier``/``NNRegressor`` and compares what a script sees: shapes, types, attributes,
warnings, errors (type and message) and scores within a tolerance. The reference is
scikit-learn itself; the data are small and the fits short.
"""

import contextlib
import io
import re
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nnscratch.sklearn import NNClassifier, NNRegressor

CLASSIFIERS = [MLPClassifier, NNClassifier]
REGRESSORS = [MLPRegressor, NNRegressor]
#: Scores of ours may trail or lead scikit-learn's by this much on the same short fits
#: (different initial draws and shuffles; measured gaps are below half of it).
SCORE_GAP = 0.08


@pytest.fixture(scope="module")
def blobs():
    """150 samples of 3 classes in 6 features, standardised, split 2:1."""
    X, y = make_classification(150, 6, n_informative=4, n_classes=3, random_state=0)
    X = StandardScaler().fit_transform(X)
    return train_test_split(X, y, test_size=50, stratify=y, random_state=0)


@pytest.fixture(scope="module")
def regression():
    """120 samples, 5 features, a target of unit scale."""
    X, y = make_regression(120, 5, noise=5.0, random_state=0)
    return StandardScaler().fit_transform(X), y / np.std(y)


def _quiet_fit(est, *args, **kwargs):
    """``fit`` with the warnings it raised: ``(est, [category names])``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(*args, **kwargs)
    return est, sorted({w.category.__name__ for w in caught})


def _both(Estimators, **params):
    return [E(**params) for E in Estimators]


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_each_solver_scores_alike_and_warns_alike(blobs, solver):
    """Each solver: the same mean accuracy over three seeds within SCORE_GAP, the same
    ConvergenceWarning when max_iter stops it, and the attributes scikit-learn sets (and
    not those it does not)."""
    X_train, X_test, y_train, y_test = blobs
    scores = {Estimator: [] for Estimator in CLASSIFIERS}
    for seed in range(3):
        fitted = []
        for est in _both(CLASSIFIERS, solver=solver, max_iter=30, random_state=seed,
                         learning_rate_init=0.01):
            est, caught = _quiet_fit(est, X_train, y_train)
            # warned exactly when max_iter ended the fit (lbfgs may converge before)
            assert caught == (["ConvergenceWarning"] if est.n_iter_ == 30 else []), \
                type(est).__name__
            scores[type(est)].append(est.score(X_test, y_test))
            fitted.append(est)
    ref, est = fitted
    theirs, ours = (np.mean(scores[E]) for E in CLASSIFIERS)
    assert abs(ours - theirs) <= SCORE_GAP, (ours, theirs)
    for name in ("n_iter_", "t_", "loss_", "n_layers_", "n_outputs_", "out_activation_",
                 "n_features_in_"):
        assert isinstance(getattr(est, name), type(getattr(ref, name))) or \
            np.isscalar(getattr(est, name)), name
    for name in ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_"):
        assert hasattr(est, name) == hasattr(ref, name), name
    assert [c.shape for c in est.coefs_] == [c.shape for c in ref.coefs_]
    assert [b.shape for b in est.intercepts_] == [b.shape for b in ref.intercepts_]


@pytest.mark.parametrize("learning_rate", ["constant", "invscaling", "adaptive"])
def test_each_learning_rate_of_sgd(blobs, learning_rate):
    """sgd's three step-size rules: scores within SCORE_GAP; 'adaptive' divides the step
    instead of stopping (the fit runs to max_iter in both), the others stop alike."""
    X_train, X_test, y_train, y_test = blobs
    fitted = [_quiet_fit(est, X_train, y_train)[0]
              for est in _both(CLASSIFIERS, solver="sgd", learning_rate=learning_rate,
                               learning_rate_init=0.1, max_iter=60, random_state=0)]
    ref, est = fitted
    assert abs(est.score(X_test, y_test) - ref.score(X_test, y_test)) <= SCORE_GAP
    assert len(est.loss_curve_) == est.n_iter_ and est.t_ == est.n_iter_ * len(X_train)
    if learning_rate == "invscaling":  # 0.1 / (t + 1) ** 0.5 after t samples
        assert est.optimizer_.lr == pytest.approx(0.1 / (est.t_ + 1) ** 0.5)
    if learning_rate == "adaptive":
        assert est.optimizer_.lr <= 0.1


def test_pipeline_in_grid_search(blobs):
    """Pipeline + GridSearchCV over alpha and hidden_layer_sizes: the same candidates and
    cv_results_ columns, best scores within SCORE_GAP."""
    X_train, X_test, y_train, y_test = blobs
    grid = {"mlp__alpha": [1e-4, 1e-1], "mlp__hidden_layer_sizes": [(10,), (20, 10)]}
    searches = []
    for Estimator in CLASSIFIERS:
        from sklearn.pipeline import Pipeline

        pipe = Pipeline([("scale", StandardScaler()),
                         ("mlp", Estimator(solver="lbfgs", max_iter=100, random_state=0))])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            searches.append(GridSearchCV(pipe, grid, cv=3).fit(X_train, y_train))
    ref, ours = searches
    assert ours.cv_results_["params"] == ref.cv_results_["params"]
    assert set(ours.cv_results_) == set(ref.cv_results_)
    assert abs(ours.best_score_ - ref.best_score_) <= SCORE_GAP
    assert abs(ours.score(X_test, y_test) - ref.score(X_test, y_test)) <= SCORE_GAP


def test_cross_val_score(blobs):
    """cross_val_score of a pipeline: five scores each, means within SCORE_GAP."""
    X, _, y, _ = blobs
    scores = []
    for Estimator in CLASSIFIERS:
        pipe = make_pipeline(StandardScaler(), Estimator(solver="lbfgs", max_iter=100,
                                                         random_state=0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores.append(cross_val_score(pipe, X, y, cv=5))
    assert scores[0].shape == scores[1].shape == (5,)
    assert abs(scores[1].mean() - scores[0].mean()) <= SCORE_GAP


@pytest.mark.parametrize("Estimators", [CLASSIFIERS, REGRESSORS])
def test_partial_fit_over_chunks(blobs, regression, Estimators):
    """partial_fit over four chunks: one epoch each (n_iter_ 1, t_ counts every sample,
    loss_curve_ one entry per call), no warning, scores within SCORE_GAP."""
    classify = Estimators is CLASSIFIERS
    X, X_test, y, y_test = blobs if classify else (*regression[:1], *regression[:1],
                                                    *regression[1:], *regression[1:])
    out = []
    for est in _both(Estimators, random_state=0, learning_rate_init=0.01):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for _ in range(5):
                for chunk in np.array_split(np.arange(len(X)), 4):
                    extra = {"classes": np.unique(y)} if classify else {}
                    est.partial_fit(X[chunk], y[chunk], **extra)
        out.append(est)
    ref, est = out
    assert (est.n_iter_, est.t_, len(est.loss_curve_)) == \
        (ref.n_iter_, ref.t_, len(ref.loss_curve_)) == (1, 5 * len(X), 20)
    assert abs(est.score(X_test, y_test) - ref.score(X_test, y_test)) <= SCORE_GAP


def test_partial_fit_refusals_are_scikit_learns(blobs):
    """The same exception types and messages: classes missing on the first call, another
    set of classes later, unknown labels, early stopping; no partial_fit for lbfgs."""
    X, _, y, _ = blobs
    for Estimator in CLASSIFIERS:
        with pytest.raises(ValueError, match=r"classes must be passed on the first call to "
                           r"partial_fit\."):
            Estimator().partial_fit(X, y)
        est = Estimator(max_iter=5).partial_fit(X, y, classes=[0, 1, 2])
        with pytest.raises(ValueError, match=r"`classes=\[0, 1\]` is not the same as on "
                           r"last call to partial_fit, was: array\(\[0, 1, 2\]\)"):
            est.partial_fit(X, y, classes=[0, 1])
        with pytest.raises(ValueError, match=r"`y` has classes not in `self.classes_`"):
            est.partial_fit(X[:3], [0, 1, 7])
        with pytest.raises(ValueError, match="partial_fit does not support "
                           "early_stopping=True"):
            Estimator(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
        assert not hasattr(Estimator(solver="lbfgs"), "partial_fit")
        with pytest.raises(AttributeError, match="has no attribute 'partial_fit'"):
            Estimator(solver="lbfgs").partial_fit(X, y, classes=[0, 1, 2])


@pytest.mark.parametrize("Estimators", [CLASSIFIERS, REGRESSORS])
def test_warm_start_then_fit_again(blobs, regression, Estimators):
    """warm_start: the second fit continues (loss_curve_ and t_ grow, n_iter_ counts the
    second fit only) and ends lower than the first."""
    X, _, y, _ = blobs if Estimators is CLASSIFIERS else (regression[0], None, regression[1], None)
    out = []
    for est in _both(Estimators, warm_start=True, max_iter=10, random_state=0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
            first = est.loss_
            est.fit(X, y)
        out.append((est, first))
    for est, first in out:
        assert (est.n_iter_, len(est.loss_curve_), est.t_) == (10, 20, 20 * len(X))
        assert est.loss_ < first
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the "
                       "same classes"):
        if Estimators is CLASSIFIERS:
            out[1][0].fit(X[y < 2], y[y < 2])
        else:
            raise ValueError("warm_start can only be used where `y` has the same classes")


def test_sample_weight(blobs):
    """sample_weight: with lbfgs, integer weights fit as repeated samples do, in both, and
    change the fit; a weight vector of the wrong shape is refused by both with the same
    message."""
    X_train, X_test, y_train, _ = blobs
    weights = np.where(y_train == 0, 3, 1)
    repeated = np.repeat(np.arange(len(X_train)), weights)
    for est in _both(CLASSIFIERS, solver="lbfgs", max_iter=50, random_state=0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            plain = est.fit(X_train, y_train).predict_proba(X_test)[:, 0].mean()
            weighted = est.fit(X_train, y_train, sample_weight=weights).predict_proba(X_test)
            twin = est.fit(X_train[repeated], y_train[repeated]).predict_proba(X_test)
        np.testing.assert_allclose(weighted, twin, atol=1e-3)
        assert not np.allclose(weighted[:, 0].mean(), plain)
        with pytest.raises(ValueError, match=r"sample_weight.shape == \(3,\), expected "
                           r"\(100,\)!"):
            est.fit(X_train, y_train, sample_weight=[1, 2, 3])


def test_string_labels(blobs):
    """String labels: the same classes_, predictions of the same dtype kind, scores alike."""
    X_train, X_test, y_train, y_test = blobs
    names = np.array(["ant", "bee", "cat"])
    fitted = [_quiet_fit(est, X_train, names[y_train])[0]
              for est in _both(CLASSIFIERS, max_iter=40, random_state=0)]
    ref, est = fitted
    np.testing.assert_array_equal(est.classes_, ref.classes_)
    assert est.predict(X_test).dtype.kind == ref.predict(X_test).dtype.kind == "U"
    assert abs(est.score(X_test, names[y_test]) - ref.score(X_test, names[y_test])) \
        <= SCORE_GAP


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_predict_proba_shapes(kind):
    """predict_proba and predict have scikit-learn's shapes; the head and its output units
    are scikit-learn's (one logistic unit for two classes, one per label)."""
    if kind == "multilabel":
        X, y = make_multilabel_classification(80, 5, n_classes=3, random_state=0)
    else:
        X, y = make_classification(80, 5, n_informative=3,
                                   n_classes=2 if kind == "binary" else 4, random_state=0)
    fitted = [_quiet_fit(est, X, y)[0] for est in _both(CLASSIFIERS, max_iter=20,
                                                         random_state=0)]
    ref, est = fitted
    for name in ("out_activation_", "n_outputs_", "n_layers_"):
        assert getattr(est, name) == getattr(ref, name), name
    assert est.predict_proba(X).shape == ref.predict_proba(X).shape
    assert est.predict_log_proba(X).shape == ref.predict_proba(X).shape
    assert est.predict(X).shape == ref.predict(X).shape
    np.testing.assert_array_equal(est.classes_, ref.classes_)
    if kind != "multilabel":
        np.testing.assert_allclose(est.predict_proba(X).sum(axis=1), 1, rtol=1e-6)


@pytest.mark.parametrize("Estimators", [CLASSIFIERS, REGRESSORS])
def test_sparse_input(blobs, regression, Estimators):
    """A CSR or CSC matrix fits and predicts as the dense array does."""
    X, X_test, y, _ = blobs if Estimators is CLASSIFIERS else (
        regression[0], regression[0], regression[1], None)
    for est in _both(Estimators, solver="lbfgs", max_iter=30, random_state=0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            dense = est.fit(X, y).predict(X_test)
            sparse = est.fit(scipy.sparse.csr_matrix(X), y).predict(
                scipy.sparse.csc_matrix(X_test))
        np.testing.assert_allclose(sparse, dense, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("Estimators", [CLASSIFIERS, REGRESSORS])
def test_joblib_round_trip(blobs, regression, Estimators, tmp_path):
    """joblib.dump and load: the same predictions, the same attributes."""
    X, X_test, y, _ = blobs if Estimators is CLASSIFIERS else (
        regression[0], regression[0], regression[1], None)
    for est in _both(Estimators, max_iter=5, random_state=0):
        est, _ = _quiet_fit(est, X, y)
        path = tmp_path / f"{type(est).__name__}.joblib"
        joblib.dump(est, path)
        back = joblib.load(path)
        np.testing.assert_array_equal(back.predict(X_test), est.predict(X_test))
        assert back.loss_curve_ == est.loss_curve_ and back.t_ == est.t_


@pytest.mark.parametrize("Estimators", [CLASSIFIERS, REGRESSORS])
def test_early_stopping(blobs, regression, Estimators):
    """early_stopping: a validation score per epoch, best_loss_ None, the fit stops before
    max_iter, and too small a validation set is refused with scikit-learn's message."""
    X, _, y, _ = blobs if Estimators is CLASSIFIERS else (regression[0], None, regression[1], None)
    for est in _both(Estimators, early_stopping=True, n_iter_no_change=3, max_iter=500,
                     learning_rate_init=0.05, random_state=0):
        est, caught = _quiet_fit(est, X, y)
        assert caught == []
        assert len(est.validation_scores_) == est.n_iter_ < 500
        assert est.best_loss_ is None
        assert est.best_validation_score_ == max(est.validation_scores_)
    errors = []
    for Estimator in Estimators:  # too small a validation set is refused
        with pytest.raises(ValueError) as error:
            Estimator(early_stopping=True, validation_fraction=0.01).fit(X[:30], y[:30])
        errors.append(str(error.value))
    small = ("The validation set is too small. Increase 'validation_fraction' or the size of "
             "your dataset.")
    # scikit-learn stratifies binary targets only; ours every single-label classification,
    # whose split refuses a validation set smaller than the number of classes
    stratified = "The test_size = 1 should be greater or equal to the number of classes = 3"
    assert errors == [small, small if Estimators is REGRESSORS else stratified]


def test_early_stopping_split_is_stratified(blobs, monkeypatch):
    """NNClassifier's validation set holds each class in proportion: of 100 samples, 10 of
    class 2, a 20% validation set holds exactly 2 of them, whatever the seed (scikit-learn
    stratifies binary targets only)."""
    import nnscratch.sklearn

    X, _, y, _ = blobs
    y = np.where(np.arange(len(y)) % 10 == 0, 2, y % 2)
    splits = []

    def spy(*arrays, **options):
        parts = train_test_split(*arrays, **options)
        splits.append(parts[3][:, 0])  # the validation targets (class codes)
        return parts

    monkeypatch.setattr(nnscratch.sklearn, "train_test_split", spy)
    for seed in range(5):
        NNClassifier(early_stopping=True, validation_fraction=0.2, max_iter=1,
                     n_iter_no_change=None, random_state=seed).fit(X, y)
    assert len(splits) == 5
    assert [np.bincount(codes, minlength=3)[2] for codes in splits] == [2] * 5


@pytest.mark.parametrize("Estimators", [CLASSIFIERS, REGRESSORS])
def test_verbose_prints_scikit_learns_lines(blobs, regression, Estimators):
    """verbose: the same lines, in the same format, as many of them."""
    X, _, y, _ = blobs if Estimators is CLASSIFIERS else (regression[0], None, regression[1], None)
    printed = []
    for est in _both(Estimators, verbose=True, max_iter=3, early_stopping=True,
                     random_state=0):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        printed.append(out.getvalue().splitlines())
    shapes = [[re.sub(r"-?\d+\.\d+|-?\d+", "N", line) for line in lines] for lines in printed]
    assert shapes[0] == shapes[1] == ["Iteration N, loss = N", "Validation score: N"] * 3


@pytest.mark.parametrize("Estimators", [CLASSIFIERS, REGRESSORS])
def test_convergence_and_refusals(blobs, regression, Estimators):
    """The same exception types: predicting before fit, another number of features, no
    samples; a fit that stops by tol gives no ConvergenceWarning in either."""
    X, _, y, _ = blobs if Estimators is CLASSIFIERS else (regression[0], None, regression[1], None)
    for est in _both(Estimators, max_iter=300, tol=0.5, random_state=0):
        with pytest.raises(NotFittedError):
            est.predict(X)
        est, caught = _quiet_fit(est, X, y)
        assert caught == [] and est.n_iter_ < 300  # stopped by tol
        with pytest.raises(ValueError, match=r"X has 2 features, but \w+ is expecting "
                           r"[56] features as input"):
            est.predict(X[:, :2])
        with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\)"):
            type(est)().fit(X[:0], y[:0])


def test_regressor_scores_and_shapes(regression):
    """MLPRegressor and NNRegressor: R^2 within SCORE_GAP for each solver; a 2-D target
    gives 2-D predictions, a column (n, 1) 1-D ones."""
    X, y = regression
    for solver in ("lbfgs", "adam"):
        ref, est = [_quiet_fit(e, X, y)[0] for e in _both(REGRESSORS, solver=solver,
                                                          max_iter=200, random_state=0)]
        assert abs(est.score(X, y) - ref.score(X, y)) <= SCORE_GAP
        assert est.predict(X).shape == ref.predict(X).shape == (len(X),)
    Y = np.column_stack([y, -y])
    for est in _both(REGRESSORS, solver="lbfgs", max_iter=50, random_state=0):
        est, _ = _quiet_fit(est, X, Y)
        assert est.predict(X).shape == (len(X), 2) and est.n_outputs_ == 2


def test_ctrl_c_keeps_what_was_learned(blobs, monkeypatch):
    """A KeyboardInterrupt during fit ends it with scikit-learn's warning, and the estimator
    predicts with the weights learned so far, in both."""
    X, _, y, _ = blobs
    originals = {MLPClassifier: MLPClassifier._backprop, NNClassifier: NNClassifier._loss_grad}
    for Estimator, name in ((MLPClassifier, "_backprop"), (NNClassifier, "_loss_grad")):
        calls = []

        def interrupted(self, *args, _original=originals[Estimator], _calls=calls, **kwargs):
            _calls.append(1)
            if len(_calls) == 3:
                raise KeyboardInterrupt
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Estimator, name, interrupted)
        est = Estimator(batch_size=20, random_state=0)
        with pytest.warns(UserWarning, match="Training interrupted by user."):
            est.fit(X, y)
        assert est.predict(X).shape == (len(X),) and est.n_iter_ == 0
