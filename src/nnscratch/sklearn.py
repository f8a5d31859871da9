"""scikit-learn estimators wrapping the engine: :class:`NNClassifier` and :class:`NNRegressor`.

They are real scikit-learn estimators, so a network drops into a ``Pipeline``,
``cross_val_score``, ``GridSearchCV`` and anything that clones, pickles or parallelises
estimators with joblib. ``__init__`` only stores the hyper-parameters; ``fit`` validates them
and the data, builds a :class:`~nnscratch.network.NeuralNetwork` and runs
:func:`~nnscratch.training.train`. The defaults are those of ``nnscratch train`` (the blog's
784-32-32-10 recipe: two hidden layers of 32 ReLUs, plain SGD at 0.05, batch 64, 40 epochs).

Randomness follows scikit-learn: ``random_state`` is an int (reproducible fits), ``None``
(fresh randomness) or a ``numpy.random.RandomState``; each fit draws one seed from it for the
network's Generator, which then drives the initial weights, dropout and the shuffling.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .build import build_augmenter, build_network, build_optimizer, build_schedule
from .losses import CrossEntropyLoss, MeanSquaredErrorLoss
from .params import BY_NAME, BY_SKLEARN_NAME, DEFAULTS, check_config
from .training import train


def _sklearn_name(name):
    """How an estimator's messages name a configuration key: its parameter name."""
    return BY_NAME[name].sklearn or name if name in BY_NAME else name


def _square_image(n_features):
    """``(1, side, side)`` when ``n_features`` is a square (an image's pixels), else None."""
    side = round(n_features ** 0.5)
    return (1, side, side) if side * side == n_features else None


class _NNEstimator(BaseEstimator):
    """What the classifier and the regressor share: hyper-parameters, fitting, predicting.

    Subclasses set ``_loss`` and ``_head`` and implement ``_encode_targets``. Every
    parameter but ``early_stopping`` is a row of :data:`nnscratch.params.PARAMS`, under its
    scikit-learn name; ``tests/test_sklearn.py`` checks the signatures against the table.
    """

    _loss = None
    _head = None

    def __init__(self, hidden_layer_sizes=(32, 32), activation="relu", *, solver="sgd",
                 alpha=0.0, batch_size=64, learning_rate_init=0.05, max_iter=40,
                 random_state=None, momentum=0.0, nesterovs_momentum=True,
                 early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, init="normal", dropout=0.0,
                 schedule="constant", warmup=0, clip=None, dtype=None, architecture=None,
                 augment="none"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.random_state = random_state
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.init = init
        self.dropout = dropout
        self.schedule = schedule
        self.warmup = warmup
        self.clip = clip
        self.dtype = dtype
        self.architecture = architecture
        self.augment = augment

    # --- hyper-parameters -------------------------------------------------------------
    def check_params(self, X_dtype=None, *, label=None):
        """Validate every hyper-parameter (no data needed); return the run configuration.

        ``fit`` calls it; ``nnscratch sweep`` calls it on each candidate value before the
        search starts, so a typo fails at once rather than in a worker.

        Parameters
        ----------
        X_dtype : numpy dtype, optional
            The training data's dtype: the network's when ``dtype`` is None.
        label : callable, optional
            ``label(parameter)`` is how messages name a parameter (default: its name).

        Returns
        -------
        dict
            The configuration in ``nnscratch train``'s names (:data:`nnscratch.params.PARAMS`),
            with ``seed`` 0 (the seed of a fit comes from ``random_state``).

        Raises
        ------
        ValueError
            Naming the parameter, what was expected and what was given.
        """
        if not isinstance(self.early_stopping, (bool, np.bool_)):
            raise ValueError(f"{(label or str)('early_stopping')} must be True or False, got "
                             f"{self.early_stopping!r}")
        values = {row.name: getattr(self, row.sklearn) for row in BY_SKLEARN_NAME.values()}
        values["seed"] = 0
        if values["dtype"] is None:
            values["dtype"] = np.dtype(X_dtype or np.float64).name
        elif isinstance(values["dtype"], type):
            values["dtype"] = np.dtype(values["dtype"]).name
        shown = label or (lambda name: name)

        def named(name):
            return shown(_sklearn_name(name))

        if not self.early_stopping:  # checked, then unused (as in MLPClassifier)
            for name in ("val_split", "patience"):
                BY_NAME[name].check(values[name], named(name))
            values.update(val_split=0.0, patience=None)
        config = check_config({**DEFAULTS, **values}, label=named)
        if self.early_stopping and config["patience"] is None:
            raise ValueError("early_stopping needs validation_fraction > 0 and an integer "
                             f"n_iter_no_change, got {self.validation_fraction!r} and "
                             f"{self.n_iter_no_change!r}")
        return config

    # --- fitting ----------------------------------------------------------------------
    def _fit(self, X, y, n_outputs, *, incremental):
        """Build the network unless continuing (``incremental``), then train it."""
        config = self.check_params(X.dtype)
        if not incremental or not hasattr(self, "network_"):
            seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            self.network_ = build_network(config, X.shape[1], n_outputs, head=self._head,
                                          rng=np.random.default_rng(seed),
                                          input_shape=_square_image(X.shape[1]))
            self.optimizer_ = build_optimizer(config)
            self.loss_curve_, self.validation_scores_, self.n_iter_ = [], [], 0
        if incremental:  # one pass over the given batch, no schedule, no early stopping
            history = train(self.network_, X, y, self._loss, 1, config["batch_size"],
                            bar=False, optimizer=self.optimizer_)
        else:
            image = _square_image(X.shape[1])
            history = train(self.network_, X, y, self._loss, config["epochs"],
                            config["batch_size"], bar=False, optimizer=self.optimizer_,
                            schedule=build_schedule(config), clip=config["clip"],
                            val_split=config["val_split"], patience=config["patience"],
                            augment=build_augmenter({**config, "seed": seed},
                                                    image and image[1:]))
        self.loss_curve_ = [*self.loss_curve_, *history.train_losses]
        self.validation_scores_ = [*self.validation_scores_, *history.val_scores]
        self.n_iter_ += history.epochs
        # as MLPClassifier: the best training loss without early stopping, else the best
        # validation score (accuracy or R^2)
        self.best_loss_ = None if self.early_stopping else min(self.loss_curve_, default=None)
        self.best_validation_score_ = (max(self.validation_scores_, default=None)
                                       if self.early_stopping else None)
        return self

    def _output(self, X):
        """The network's output ``(n_samples, n_outputs)`` for validated ``X``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=("float64", "float32"), order="C")
        return self.network_.predict_proba(X) if self._head else self.network_.predict(X)


_PARAMETERS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default (32, 32)
        Width of each hidden layer; ``()`` gives a linear model.
    activation : {"relu", "tanh", "sigmoid", "identity"}, default "relu"
        Activation of the hidden layers.
    solver : {"sgd", "adam", "adamw", "rmsprop", "adagrad"}, default %(solver)r
        Update rule (PyTorch's hyper-parameter names and defaults).
    alpha : float, default 0.0
        L2 penalty, PyTorch's ``weight_decay``: ``alpha * w`` is added to each gradient
        (decoupled for ``adamw``), biases included, not divided by the batch size as in
        scikit-learn's ``MLPClassifier``.
    batch_size : int, default 64
        Samples per gradient step.
    learning_rate_init : float, default %(learning_rate_init)r
        Step size (``lr`` of the solver).
    max_iter : int, default %(max_iter)r
        Epochs: passes over the training data.
    random_state : int, numpy.random.RandomState or None, default None
        Seeds the initial weights, dropout and shuffling; an int makes ``fit``
        reproducible.
    momentum : float in [0, 1), default 0.0
        Momentum of ``sgd`` and ``rmsprop`` (ignored by the other solvers).
    nesterovs_momentum : bool, default True
        SGD with momentum only: Nesterov's correction (as ``nnscratch train``).
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training data, stop after
        ``n_iter_no_change`` epochs without a better validation loss, keep the best weights.
    validation_fraction : float in (0, 1), default 0.1
        Held out when ``early_stopping``.
    n_iter_no_change : int, default 10
        Patience of early stopping, in epochs.
    init : {"normal", "he", "glorot"}, default "normal"
        Weight initialiser (``"normal"`` is the blog's ``N(0, 1/fan_in)``).
    dropout : float in [0, 1), default 0.0
        Dropout rate after each hidden layer.
    schedule : {"constant", "step", "cosine"}, default "constant"
        Learning rate per epoch.
    warmup : int, default 0
        Warm-up epochs of the cosine schedule.
    clip : float, optional
        Clip the global gradient norm to this value.
    dtype : {"float32", "float64"} or None, default None
        Dtype of the network; None follows ``X`` (float32 data trains in float32, any other
        in float64), as scikit-learn's estimators do.
    architecture : str, optional
        Any layers instead of ``hidden_layer_sizes`` and ``dropout``, e.g.
        ``"conv32k3,pool2,dense128"`` (see :mod:`nnscratch.architecture`); convolutions see
        each row of ``X`` as a square one-channel image (784 features: 28 x 28).
    augment : {"none", "shift", "affine", "elastic"}, default "none"
        Distort every training image afresh in every epoch (rows of ``X`` seen as square
        images, as for ``architecture``); see :mod:`nnscratch.augment`.
"""

_ATTRIBUTES_DOC = """
    network_ : NeuralNetwork
        The trained network.
    optimizer_ : Optimizer
        The solver with its state (``partial_fit`` continues from it).
    loss_curve_ : list of float
        Mean training loss of each epoch.
    validation_scores_ : list of float
        With ``early_stopping``: the score (%(score)s) on the held-out data after each epoch.
    best_validation_score_ : float or None
        The best of ``validation_scores_`` (None without ``early_stopping``).
    best_loss_ : float or None
        The smallest of ``loss_curve_`` (None with ``early_stopping``).
    n_iter_ : int
        Epochs run.
"""


class NNClassifier(ClassifierMixin, _NNEstimator):
    """Multi-layer perceptron classifier trained with nnscratch (softmax + cross-entropy).

    Takes ``MLPClassifier``'s parameter names where it has the same concept, so one swaps
    for the other without renaming; the defaults are the blog's (``nnscratch train``).
%(parameters)s
    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
        The class labels (any type ``LabelEncoder`` sorts: ints, strings, ...).
    n_features_in_ : int
    feature_names_in_ : ndarray of str, shape (n_features_in_,)
        Only when ``X`` had string column names (a DataFrame).%(attributes)s"""

    _loss = CrossEntropyLoss
    _head = "softmax"

    def fit(self, X, y):
        """Train a new network on ``X`` (n_samples, n_features) and labels ``y`` (n_samples,).

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, reset=True, dtype=("float64", "float32"), order="C")
        y = self._set_classes(y)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes; y "
                             f"has 1 class: {self.classes_[0]!r}")
        return self._fit(X, y, len(self.classes_), incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch of training on the batch ``X`` (n_samples, n_features), ``y``.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
        classes : array-like, shape (n_classes,)
            Every label the classifier will see; required on the first call (as for
            ``sklearn.neural_network.MLPClassifier``); later calls may omit it, or must
            give the same labels.

        Returns
        -------
        self
        """
        first = not hasattr(self, "network_")
        X, y = validate_data(self, X, y, reset=first, dtype=("float64", "float32"), order="C")
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("classes must be given on the first call to partial_fit "
                                 "(every label the classifier will see)")
            self._set_classes(np.asarray(classes))
            if len(self.classes_) < 2:
                raise ValueError(f"classes must hold at least 2 classes, got {classes!r}")
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes={np.asarray(classes).tolist()!r} differs from the "
                             f"classes of the first call, {self.classes_.tolist()!r}")
        unseen = np.setdiff1d(y, self.classes_)
        if unseen.size:
            raise ValueError(f"y has labels {unseen.tolist()!r} that are not in classes "
                             f"{self.classes_.tolist()!r}")
        y = self._encoder.transform(y)
        return self._fit(X, y, len(self.classes_), incremental=True)

    def _set_classes(self, y):
        """Fit the label encoder; return ``y`` as integer codes ``(n_samples,)``."""
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self._encoder = LabelEncoder().fit(y)
        self.classes_ = self._encoder.classes_
        return self._encoder.transform(y)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns ordered as ``classes_``."""
        return self._output(X)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, shape (n_samples, n_classes)."""
        p = self.predict_proba(X)
        return np.log(np.maximum(p, np.finfo(p.dtype).tiny))

    def predict(self, X):
        """The most probable class of each row of ``X``, shape (n_samples,)."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class NNRegressor(RegressorMixin, _NNEstimator):
    """Multi-layer perceptron regressor trained with nnscratch (linear head + squared error).

    Takes ``MLPRegressor``'s parameter names where it has the same concept.
%(parameters)s
    Attributes
    ----------
    n_features_in_ : int
    n_outputs_ : int
        Number of targets (columns of ``y``; 1 for a 1-D ``y``).%(attributes)s"""

    _loss = MeanSquaredErrorLoss
    _head = None

    # Why other defaults than the classifier's: plain SGD at 0.05 diverges on targets or
    # features of a large scale, while Adam's step is bounded by its learning rate.
    def __init__(self, hidden_layer_sizes=(32, 32), activation="relu", *, solver="adam",
                 alpha=0.0, batch_size=64, learning_rate_init=0.001, max_iter=100,
                 random_state=None, momentum=0.0, nesterovs_momentum=True,
                 early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, init="normal", dropout=0.0,
                 schedule="constant", warmup=0, clip=None, dtype=None, architecture=None,
                 augment="none"):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha,
            batch_size=batch_size, learning_rate_init=learning_rate_init, max_iter=max_iter,
            random_state=random_state, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change,
            init=init, dropout=dropout, schedule=schedule, warmup=warmup, clip=clip,
            dtype=dtype, architecture=architecture, augment=augment)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y):
        """Train a new network on ``X`` (n_samples, n_features) and ``y`` (n_samples,) or
        (n_samples, n_outputs).

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, reset=True, multi_output=True, y_numeric=True,
                             dtype=("float64", "float32"), order="C")
        y = self._targets(y, first=True)
        return self._fit(X, y, self.n_outputs_, incremental=False)

    def partial_fit(self, X, y):
        """One epoch of training on the batch ``X`` (n_samples, n_features), ``y``.

        Returns
        -------
        self
        """
        first = not hasattr(self, "network_")
        X, y = validate_data(self, X, y, reset=first, multi_output=True, y_numeric=True,
                             dtype=("float64", "float32"), order="C")
        y = self._targets(y, first=first)
        return self._fit(X, y, self.n_outputs_, incremental=True)

    def _targets(self, y, *, first):
        """``y`` as (n_samples, n_outputs) floats; remembers whether it was 1-D."""
        y = np.asarray(y, dtype=np.float64)
        one_d = y.ndim == 1
        y = y.reshape(len(y), -1)
        if first:
            self._one_d = one_d
            self.n_outputs_ = y.shape[1]
        elif y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y.shape[1]} targets; the first call had "
                             f"{self.n_outputs_}")
        return y

    def predict(self, X):
        """Predictions for ``X`` (n_samples, n_features): shape (n_samples,) when fitted on a
        1-D ``y``, else (n_samples, n_outputs)."""
        out = self._output(X).astype(np.float64, copy=False)
        return out[:, 0] if self._one_d else out


for _estimator, _defaults, _score in ((NNClassifier, ("sgd", 0.05, 40), "accuracy"),
                                      (NNRegressor, ("adam", 0.001, 100), "R^2")):
    _estimator.__doc__ %= {
        "parameters": _PARAMETERS_DOC % dict(zip(("solver", "learning_rate_init", "max_iter"),
                                                 _defaults, strict=True)),
        "attributes": _ATTRIBUTES_DOC % {"score": _score}}
