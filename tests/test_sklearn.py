"""The scikit-learn estimators: scikit-learn's own checks, pipelines, searches, round trips."""

import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from nnscratch.optimizers import SGD
from nnscratch.sklearn import NNClassifier, NNRegressor

# Measured with scikit-learn's defaults but max_iter=30, random_state=0, on the 1,797
# digits (/16, standardised): 0.918 mean accuracy in the plain, unshuffled 5-fold
# cross_val_score; scikit-learn's MLPClassifier(max_iter=30) scores 0.919 on the same folds.
CV_ACCURACY_FLOOR = 0.90


# The checks' data are not scaled, and plain SGD at the blog's 0.05 blows up on some of them:
# the warning says so (it is tested in test_validation.py); the checks test the API.
@pytest.mark.filterwarnings("ignore::nnscratch.errors.DivergenceWarning")
# scikit-learn's own MLPs raise it in these checks too: 200 epochs on their data do not
# meet tol
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([NNClassifier(), NNRegressor()])
def test_scikit_learn_estimator_checks(estimator, check, monkeypatch):
    """Both estimators pass every scikit-learn estimator check, none marked as failing."""
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")  # else the array-API check skips itself
    check(estimator)


@pytest.fixture(scope="module")
def digits_split():
    """Digits (X in [0, 1]) split 75/25, stratified, with a fixed seed."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return train_test_split(data.data / 16.0, data.target, test_size=0.25,
                            stratify=data.target, random_state=0)


def test_pipeline_in_cross_val_score_on_digits(digits):
    """StandardScaler + NNClassifier in cross_val_score: 5-fold accuracy above the floor."""
    X, y = digits
    pipeline = make_pipeline(StandardScaler(), NNClassifier(max_iter=30, random_state=0))
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(30\) reached"):
        scores = cross_val_score(pipeline, X, y, cv=5)
    assert scores.shape == (5,)
    assert scores.mean() >= CV_ACCURACY_FLOOR


def test_grid_search_on_digits(digits_split):
    """GridSearchCV over a pipeline's alpha and hidden sizes picks a candidate and refits
    it (lbfgs, as scikit-learn advises for small data)."""
    X_train, X_test, y_train, y_test = digits_split
    pipeline = make_pipeline(StandardScaler(), NNClassifier(solver="lbfgs", max_iter=60,
                                                            random_state=0))
    grid = {"nnclassifier__hidden_layer_sizes": [(16,), (64,)],
            "nnclassifier__alpha": [1e-4, 1.0]}
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        search = GridSearchCV(pipeline, grid, cv=3).fit(X_train, y_train)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.all(np.isfinite(scores))
    assert search.best_score_ == scores.max() >= CV_ACCURACY_FLOOR
    refit = search.best_estimator_[-1]
    assert refit.hidden_layer_sizes == search.best_params_["nnclassifier__hidden_layer_sizes"]
    assert search.score(X_test, y_test) >= CV_ACCURACY_FLOOR


def _twins(Reference, Ours, X, y, **params):
    """A scikit-learn MLP and ours with the same initial weights (ours, copied into
    scikit-learn's after a one-iteration fit), both with warm_start."""
    ours = Ours(warm_start=True, max_iter=1, n_iter_no_change=None, random_state=0, **params)
    ref = Reference(warm_start=True, max_iter=1, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
        ref.fit(X, y)
    ref.coefs_ = [c.copy() for c in ours.coefs_]
    ref.intercepts_ = [b.copy() for b in ours.intercepts_]
    return ref, ours


def _same_targets(kind, rng):
    """Data of each kind: multiclass, binary, multilabel labels or regression targets."""
    X = rng.normal(size=(60, 5))
    if kind == "multiclass":
        return X, np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5])
    if kind == "binary":
        return X, (X[:, 0] > X[:, 2]).astype(int)
    if kind == "multilabel":
        return X, np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 3] > 0]).astype(int)
    return X, np.sin(X[:, 0]) + 0.5 * X[:, 1]


@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel", "regression"])
# adam adds epsilon after the bias correction (PyTorch's form), scikit-learn before it:
# steps differ where the gradient's scale is near epsilon
@pytest.mark.parametrize(("solver", "rtol"), [("lbfgs", 1e-5), ("sgd", 1e-9),
                                              ("adam", 1e-2)])
def test_same_weights_as_scikit_learn_from_the_same_start(kind, solver, rtol, rng):
    """From the same initial weights, with sample weights and an L2 penalty, our fit ends
    with scikit-learn's weights and loss: the loss, its gradient, the L2 term, the update
    rules (sgd with Nesterov's momentum exactly; adam and L-BFGS up to rounding and where
    adam adds its epsilon) and the loop are scikit-learn's."""
    X, y = _same_targets(kind, rng)
    w = rng.uniform(0.5, 2.0, size=len(X))
    Reference, Ours = (MLPRegressor, NNRegressor) if kind == "regression" else \
        (MLPClassifier, NNClassifier)
    params = dict(hidden_layer_sizes=(7, 4), activation="tanh", solver=solver, alpha=0.01,
                  batch_size=16, learning_rate_init=0.05, shuffle=False)
    ref, ours = _twins(Reference, Ours, X, y, **params)
    ref.set_params(max_iter=8)
    ours.set_params(max_iter=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(X, y, sample_weight=w)
        ours.fit(X, y, sample_weight=w)
    for theirs, mine in zip(ref.coefs_ + ref.intercepts_, ours.coefs_ + ours.intercepts_,
                            strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=rtol)
    assert ours.loss_ == pytest.approx(ref.loss_, rel=rtol)
    if solver != "lbfgs":
        # (the first epoch is the one-epoch fit before the weights were copied)
        np.testing.assert_allclose(ours.loss_curve_[1:], ref.loss_curve_[1:], rtol=rtol)


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel", "regression"])
def test_loss_gradient_by_central_differences(kind, activation, rng):
    """The gradient of the loss the solvers minimise (data term with sample weights, plus
    the L2 term) matches central differences of that loss, in float64."""
    X, y = _same_targets(kind, rng)
    X, y = X[:12], y[:12]
    w = rng.uniform(0.5, 2.0, size=len(X))
    Ours = NNRegressor if kind == "regression" else NNClassifier
    est = Ours(hidden_layer_sizes=(4,), activation=activation, alpha=0.3, max_iter=1,
               n_iter_no_change=None, random_state=1).fit(X, y)
    _, Y = est._validate_input(X, y, incremental=True, reset=False)
    params, grads = est.network_.flat_parameters()
    est._loss_grad(X, Y, w, training=False)
    analytic = grads.copy()
    h, numeric = 1e-6, np.empty_like(params)
    for i in range(params.size):
        keep = params[i]
        params[i] = keep + h
        up = est._loss_grad(X, Y, w, training=False)
        params[i] = keep - h
        down = est._loss_grad(X, Y, w, training=False)
        params[i] = keep
        numeric[i] = (up - down) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_coefs_and_intercepts_are_the_network_and_can_be_set(rng):
    """coefs_ and intercepts_ are views of the network's weights (scikit-learn's shapes);
    assigning them, as scikit-learn allows, changes the predictions; a wrong shape is
    refused."""
    X, y = _same_targets("multiclass", rng)
    clf = NNClassifier((6,), max_iter=2, n_iter_no_change=None, random_state=0).fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(5, 6), (6, 3)]
    assert [b.shape for b in clf.intercepts_] == [(6,), (3,)]
    assert np.shares_memory(clf.coefs_[0], clf.network_.flat_parameters()[0])
    clf.coefs_ = [np.zeros((5, 6)), np.zeros((6, 3))]
    clf.intercepts_ = [np.zeros(6), np.array([0.0, 0.0, 5.0])]
    assert set(clf.predict(X)) == {2}
    with pytest.raises(ValueError, match=r"coefs_\[1\] must have shape \(6, 3\), got \(3, 6\)"):
        clf.coefs_ = [np.zeros((5, 6)), np.zeros((3, 6))]
    with pytest.raises(ValueError, match="intercepts_ needs 2 arrays, got 1"):
        clf.intercepts_ = [np.zeros(6)]


def test_string_labels_round_trip(digits_split):
    """String labels come back from predict, exactly as the integer model's mapped labels."""
    X_train, X_test, y_train, _ = digits_split
    names = np.array([f"digit-{k}" for k in range(10)])  # sorts like 0..9
    params = dict(solver="lbfgs", max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        numeric = NNClassifier(**params).fit(X_train, y_train)
        named = NNClassifier(**params).fit(X_train, names[y_train])
    np.testing.assert_array_equal(named.classes_, names)
    predicted = named.predict(X_test)
    assert predicted.dtype == names.dtype
    np.testing.assert_array_equal(predicted, names[numeric.predict(X_test)])
    assert named.score(X_test, names[digits_split[3]]) == numeric.score(X_test, digits_split[3])


def test_binary_string_labels():
    """Two classes of any labels: one logistic output, predict_proba one column per class."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    clf = NNClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0).fit(X, y)
    assert list(clf.classes_) == ["no", "yes"] and clf.out_activation_ == "logistic"
    assert clf.coefs_[-1].shape == (8, 1)
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert clf.score(X, y) > 0.9


def test_multilabel_indicator_matrix(rng):
    """An indicator matrix trains one sigmoid per label (binary cross-entropy); predict
    returns the indicator matrix, predict_proba each label's probability."""
    X = rng.normal(size=(200, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 1] > 0]).astype(int)
    clf = NNClassifier((16,), solver="lbfgs", max_iter=300, random_state=0).fit(X, Y)
    assert clf.network_.head_activation == "sigmoid" and clf.n_outputs_ == 3
    predicted = clf.predict(X)
    assert predicted.shape == (200, 3) and set(np.unique(predicted)) <= {0, 1}
    assert clf.predict_proba(X).shape == (200, 3)
    assert clf.score(X, Y) > 0.9  # exact-match accuracy, as scikit-learn's


@pytest.mark.parametrize("Estimator", [NNClassifier, NNRegressor])
def test_clone_and_pickle_round_trips(Estimator, digits_split):
    """A pickled (or joblib-dumped) fitted estimator predicts identically; a clone refits
    to the same predictions."""
    X_train, X_test, y_train, _ = digits_split
    est = Estimator(hidden_layer_sizes=(16,), max_iter=3, n_iter_no_change=None,
                    random_state=3).fit(X_train, y_train)
    expected = est.predict(X_test)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict(X_test), expected)
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(joblib.load(buffer).predict(X_test), expected)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "network_")
    np.testing.assert_array_equal(twin.fit(X_train, y_train).predict(X_test), expected)


def test_set_params_changes_the_network():
    """set_params stores the value as given; the next fit uses it."""
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = NNClassifier(max_iter=2, n_iter_no_change=None).set_params(
        hidden_layer_sizes=[5, 4], random_state=1)
    assert clf.get_params()["hidden_layer_sizes"] == [5, 4]
    assert clf.fit(X, y).network_.sizes == [3, 5, 4, 1]
    assert clf.n_layers_ == 4 and [c.shape for c in clf.coefs_] == [(3, 5), (5, 4), (4, 1)]
    assert clf.hidden_layer_sizes == [5, 4]  # not modified by fit


def test_partial_fit_continues_training(digits_split):
    """partial_fit is one epoch per call, keeps the optimizer state and lowers the loss."""
    X_train, _, y_train, _ = digits_split
    clf = NNClassifier(solver="sgd", momentum=0.9, learning_rate_init=0.01, random_state=0)
    for _ in range(5):
        clf.partial_fit(X_train, y_train, classes=np.arange(10))
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 5 and clf.t_ == 5 * len(X_train)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert isinstance(clf.optimizer_, SGD) and clf.optimizer_.state is not None


def test_regressor_fits_and_keeps_the_target_shape():
    """NNRegressor learns a smooth function; 1-D y gives 1-D predictions, 2-D y stays 2-D."""
    X = np.linspace(-3, 3, 200).reshape(-1, 1)
    y2 = np.hstack([np.sin(X), 0.5 * X**2 - 1])  # (200, 2)
    reg = NNRegressor(hidden_layer_sizes=(32, 32), activation="tanh", solver="lbfgs",
                      max_iter=500, random_state=0)
    assert reg.fit(X, y2).predict(X).shape == (200, 2)
    assert reg.n_outputs_ == 2 and reg.score(X, y2) > 0.95
    pred = reg.fit(X, y2[:, 0]).predict(X)
    assert pred.shape == (200,) and pred.dtype == np.float64
    assert reg.score(X, y2[:, 0]) > 0.95
    assert reg.network_.head_activation == "identity" and reg.out_activation_ == "identity"
    # loss_ is scikit-learn's: half the mean squared error plus the L2 term
    half_mse = 0.5 * np.mean((pred - y2[:, 0]) ** 2)
    l2 = 0.5 * reg.alpha * sum(np.sum(c ** 2) for c in reg.coefs_) / len(X)
    assert reg.loss_ == pytest.approx(half_mse + l2, rel=1e-6)


def test_regressor_partial_fit_checks_the_number_of_targets(rng):
    """A later partial_fit with another number of targets is refused."""
    X = rng.normal(size=(30, 2))
    reg = NNRegressor().partial_fit(X, rng.normal(size=(30, 2)))
    with pytest.raises(ValueError, match="y has 1 outputs; the network was fitted with 2"):
        reg.partial_fit(X, rng.normal(size=30))


@pytest.mark.parametrize(("params", "message"), [
    ({"hidden_layer_sizes": (32, 0)}, r"hidden_layer_sizes must be a sequence of positive "
     r"integers such as \(64, 32\), got \(32, 0\)"),
    ({"hidden_layer_sizes": "32"}, "hidden_layer_sizes must be a sequence"),
    ({"activation": "softmax"}, r"activation must be one of \['identity', 'relu', 'tanh', "
     r"'sigmoid', 'leaky_relu', 'elu', 'selu', 'gelu', 'silu', 'softplus', 'logistic'\], "
     r"got 'softmax'"),
    ({"solver": "nadam"}, r"solver must be one of \['sgd', 'adam', 'adamw', 'rmsprop', "
     r"'adagrad', 'lbfgs'\], got 'nadam' \(did you mean 'adam'\?\)"),
    ({"learning_rate": "linear"}, r"learning_rate must be one of \['constant', 'invscaling', "
     r"'adaptive'\], got 'linear'"),
    ({"learning_rate_init": 0}, "learning_rate_init must be a positive finite number, got 0"),
    ({"momentum": 1.5}, r"momentum must be a number in \[0, 1\), got 1.5"),
    ({"max_iter": -1}, "max_iter must be an integer >= 0, got -1"),
    ({"batch_size": 2.5}, r"batch_size must be an integer >= 1 or one of \['auto'\], got "
     "2.5"),
    ({"alpha": -1}, "alpha must be a finite number >= 0, got -1"),
    ({"tol": -1}, "tol must be a finite number >= 0, got -1"),
    ({"beta_1": 1.0}, r"beta_1 must be a number in \[0, 1\), got 1.0"),
    ({"epsilon": 0}, "epsilon must be a positive finite number, got 0"),
    ({"power_t": -0.5}, "power_t must be a finite number >= 0, got -0.5"),
    ({"max_fun": 0}, "max_fun must be an integer >= 1, got 0"),
    ({"shuffle": "yes"}, "shuffle must be True or False, got 'yes'"),
    ({"warm_start": 1}, "warm_start must be True or False, got 1"),
    ({"verbose": -1}, r"verbose must be an integer >= 0 or one of \[True, False\], got -1"),
    ({"dropout": 1}, r"dropout must be a number in \[0, 1\), got 1"),
    ({"schedule": "linear"}, "schedule must be one of"),
    ({"schedule": "cosine", "max_iter": 3, "warmup": 3}, "warmup 3 needs more max_iter: with "
     "max_iter 3 no epoch is left for the cosine decay; set warmup 0 or max_iter 4 or more"),
    ({"schedule": "step", "learning_rate": "adaptive"}, "schedule='step' and "
     "learning_rate='adaptive' both set the step size: keep one of them 'constant'"),
    ({"solver": "lbfgs", "dropout": 0.5}, "dropout=0.5 needs a stochastic solver"),
    ({"init": "zeros"}, "init must be one of"),
    ({"early_stopping": True, "validation_fraction": 0.0}, "n_iter_no_change 10 needs a "
     "validation set: set validation_fraction > 0"),
    ({"early_stopping": "yes"}, "early_stopping must be True or False, got 'yes'"),
    ({"n_iter_no_change": 0}, r"n_iter_no_change must be an integer >= 1 or None or one of "
     r"\[inf\], got 0"),
    ({"clip": -1.0}, "clip must be a positive finite number or None, got -1.0"),
    ({"dtype": "float16"}, r"dtype must be one of \['float32', 'float64'\], got 'float16'"),
])
def test_bad_hyper_parameters_fail_in_fit(params, message):
    """Each bad hyper-parameter is stored as given, then refused by fit with a clear message."""
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    clf = NNClassifier(**params)  # __init__ only stores
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)


def test_regressor_loss_is_squared_error_only():
    """scikit-learn's other regression loss, "poisson", is refused by name."""
    with pytest.raises(ValueError, match=r"loss must be one of \['squared_error'\], got "
                       "'poisson'"):
        NNRegressor(loss="poisson").fit(np.zeros((4, 2)), np.arange(4.0))


def test_one_class_fits_as_in_scikit_learn():
    """One class is not refused (scikit-learn's MLPClassifier fits it too): predict returns
    it, predict_proba has two columns."""
    X = np.random.default_rng(0).normal(size=(5, 2))
    for Estimator in (MLPClassifier, NNClassifier):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = Estimator(max_iter=3).fit(X, ["a"] * 5)
        assert list(clf.predict(X)) == ["a"] * 5 and clf.predict_proba(X).shape == (5, 2)


def test_sweep_defaults_are_those_of_nnscratch_train():
    """A sweep's candidate starts as the network `nnscratch train` builds by default (the
    estimators' own defaults are scikit-learn's)."""
    from nnscratch.params import DEFAULTS, check_config
    from nnscratch.sweep import SweepConfig
    from nnscratch.sweep.results import train_config
    from nnscratch.sweep.spec import sweep_defaults

    estimator = NNClassifier(**sweep_defaults(), random_state=0)
    config = train_config(estimator, SweepConfig(dataset="mnist"))
    assert config == check_config(DEFAULTS)  # lr: sgd's default, 0.05


def test_scikit_learn_values_without_a_train_option_are_refused_by_check_params():
    """check_params (the sweep's check) names a value `nnscratch train` cannot run."""
    with pytest.raises(ValueError, match=r"solver='lbfgs' has no option of nnscratch train "
                       r"\(--optimizer\)"):
        NNClassifier(solver="lbfgs", batch_size=32).check_params()
    assert NNClassifier(activation="logistic", batch_size=32).check_params()["activation"] \
        == "sigmoid"


def test_binary_network_as_softmax_predicts_the_same(rng):
    """The single logistic output of a binary classifier, as two softmax outputs (the
    command line's form): the same probabilities; any other head is refused."""
    X, y = _same_targets("binary", rng)
    clf = NNClassifier((6,), solver="lbfgs", max_iter=50, random_state=0).fit(X, y)
    twin = clf.network_.binary_as_softmax()
    assert twin.head_activation == "softmax" and twin.sizes == [5, 6, 2]
    np.testing.assert_allclose(twin.predict_proba(X), clf.predict_proba(X), rtol=1e-12,
                               atol=1e-15)
    with pytest.raises(ValueError, match="binary_as_softmax needs a single sigmoid output, "
                       "got 2 'softmax' outputs"):
        twin.binary_as_softmax()


@pytest.mark.parametrize(("weights", "message"), [
    ([1.0, -1.0, 1.0, 1.0], "sample_weight must hold finite numbers >= 0, got -1.0 at index 1"),
    ([1.0, 1.0, np.nan, 1.0], "sample_weight must hold finite numbers >= 0, got nan at index 2"),
    ([0, 0, 0, 0], "Sample weights must contain at least one non-zero number."),
    ([1, 2], r"sample_weight.shape == \(2,\), expected \(4,\)!"),
])
def test_bad_sample_weights_are_refused(weights, message):
    """Negative, non-finite, all-zero or wrongly shaped sample weights: one clear line."""
    with pytest.raises(ValueError, match=message):
        NNClassifier().fit(np.zeros((4, 2)), [0, 1, 0, 1], sample_weight=weights)
