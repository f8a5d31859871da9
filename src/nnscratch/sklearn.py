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

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .activations import ACTIVATIONS
from .experiment import build_optimizer
from .initializers import INITIALIZERS
from .losses import CrossEntropyLoss, MeanSquaredErrorLoss
from .network import NeuralNetwork
from .optimizers import OPTIMIZERS
from .schedules import SCHEDULES, get_schedule
from .training import train
from .validation import check_fraction, check_int, check_positive

#: Hidden-layer activations an estimator accepts (softmax is the classifier's head only).
HIDDEN_ACTIVATIONS = tuple(name for name in ACTIVATIONS if name != "softmax")


class _NNEstimator(BaseEstimator):
    """What the classifier and the regressor share: hyper-parameters, fitting, predicting.

    Subclasses set ``_loss`` and ``_head`` and implement ``_encode_targets``.
    """

    _loss = None
    _head = None

    def __init__(self, hidden_layer_sizes=(32, 32), activation="relu", *, optimizer="sgd",
                 learning_rate=0.05, momentum=0.0, batch_size=64, epochs=40,
                 weight_decay=0.0, dropout=0.0, schedule="constant", warmup=0,
                 init="normal", val_split=0.0, patience=None, clip=None, dtype="float32",
                 random_state=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.epochs = epochs
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.schedule = schedule
        self.warmup = warmup
        self.init = init
        self.val_split = val_split
        self.patience = patience
        self.clip = clip
        self.dtype = dtype
        self.random_state = random_state

    # --- hyper-parameters -------------------------------------------------------------
    def check_params(self):
        """Validate every hyper-parameter (no data needed) and return them normalised.

        ``fit`` calls it; ``nnscratch sweep`` calls it on each candidate value before the
        search starts, so a typo fails at once rather than in a worker.

        Returns
        -------
        dict
            The hyper-parameters, with ``hidden_layer_sizes`` as a tuple of int and
            ``dtype`` as a ``numpy.dtype``.

        Raises
        ------
        ValueError
            Naming the parameter, what was expected and what was given.
        """
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
            hidden = (hidden,)
        if (isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__")
                or not all(isinstance(h, numbers.Integral) and not isinstance(h, bool)
                           and h >= 1 for h in hidden)):
            raise ValueError("hidden_layer_sizes must be a sequence of positive integers "
                             f"such as (64, 32), got {self.hidden_layer_sizes!r}")
        choices = {"activation": HIDDEN_ACTIVATIONS, "optimizer": tuple(OPTIMIZERS),
                   "schedule": SCHEDULES, "init": tuple(INITIALIZERS)}
        for name, allowed in choices.items():
            value = getattr(self, name)
            if not isinstance(value, str) or value not in allowed:
                raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
        try:
            dtype = np.dtype(self.dtype) if self.dtype is not None else None
        except TypeError:
            dtype = None
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        epochs = check_int(self.epochs, "epochs", minimum=1)
        warmup = check_int(self.warmup, "warmup", minimum=0)
        if self.schedule == "cosine" and warmup >= epochs:
            raise ValueError(f"warmup must be smaller than epochs={epochs} for the cosine "
                             f"schedule, got {warmup!r}")
        val_split = check_fraction(self.val_split, "val_split")
        if self.patience is not None:
            check_int(self.patience, "patience", minimum=1)
            if val_split == 0:
                raise ValueError("patience needs a validation set: set val_split > 0, got "
                                 f"val_split={self.val_split!r}")
        if self.clip is not None:
            check_positive(self.clip, "clip")
        if (not isinstance(self.weight_decay, numbers.Real) or isinstance(self.weight_decay, bool)
                or not 0 <= self.weight_decay < np.inf):
            raise ValueError(f"weight_decay must be a finite number >= 0, "
                             f"got {self.weight_decay!r}")
        params = self.get_params(deep=False)
        params.update(
            hidden_layer_sizes=tuple(int(h) for h in hidden), dtype=dtype, epochs=epochs,
            warmup=warmup, val_split=val_split,
            learning_rate=check_positive(self.learning_rate, "learning_rate"),
            momentum=check_fraction(self.momentum, "momentum"),
            batch_size=check_int(self.batch_size, "batch_size", minimum=1),
            dropout=check_fraction(self.dropout, "dropout"))
        return params

    # --- fitting ----------------------------------------------------------------------
    def _fit(self, X, y, n_outputs, *, incremental):
        """Build the network unless continuing (``incremental``), then train it."""
        params = self.check_params()
        if not incremental or not hasattr(self, "network_"):
            seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            self.network_ = NeuralNetwork.from_sizes(
                [X.shape[1], *params["hidden_layer_sizes"], n_outputs],
                hidden_activation=params["activation"], head_activation=self._head,
                dtype=params["dtype"], rng=np.random.default_rng(seed), init=params["init"],
                dropout=params["dropout"])
            self.optimizer_ = build_optimizer(params["optimizer"], params["learning_rate"],
                                              params["momentum"], params["weight_decay"])
            self.loss_curve_ = []
            self.n_iter_ = 0
        if incremental:  # one pass over the given batch, no schedule, no early stopping
            history = train(self.network_, X, y, self._loss, 1, params["batch_size"],
                            bar=False, optimizer=self.optimizer_)
        else:
            schedule = get_schedule(params["schedule"], epochs=params["epochs"],
                                    warmup=params["warmup"])
            history = train(self.network_, X, y, self._loss, params["epochs"],
                            params["batch_size"], bar=False, optimizer=self.optimizer_,
                            schedule=schedule, clip=params["clip"],
                            val_split=params["val_split"], patience=params["patience"])
        self.loss_curve_ = [*self.loss_curve_, *history.train_losses]
        self.n_iter_ += history.epochs
        return self

    def _output(self, X):
        """The network's output ``(n_samples, n_outputs)`` for validated ``X``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=("float64", "float32"))
        return self.network_.predict_proba(X) if self._head else self.network_.predict(X)


class NNClassifier(ClassifierMixin, _NNEstimator):
    """Multi-layer perceptron classifier trained with nnscratch (softmax + cross-entropy).

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default (32, 32)
        Width of each hidden layer; ``()`` gives multinomial logistic regression.
    activation : {"relu", "tanh", "sigmoid", "identity"}, default "relu"
        Activation of the hidden layers.
    optimizer : {"sgd", "adam", "adamw"}, default "sgd"
        Update rule (PyTorch's hyper-parameter names and defaults).
    learning_rate : float, default 0.05
        Step size (``lr`` of the optimizer).
    momentum : float in [0, 1), default 0.0
        SGD only: momentum, with Nesterov's correction when > 0 (as ``nnscratch train``).
    batch_size : int, default 64
        Samples per gradient step.
    epochs : int, default 40
        Passes over the training data.
    weight_decay : float, default 0.0
        L2 penalty (decoupled for ``adamw``).
    dropout : float in [0, 1), default 0.0
        Dropout rate after each hidden layer.
    schedule : {"constant", "step", "cosine"}, default "constant"
        Learning rate per epoch.
    warmup : int, default 0
        Warm-up epochs of the cosine schedule.
    init : {"normal", "he", "glorot"}, default "normal"
        Weight initialiser (``"normal"`` is the blog's ``N(0, 1/fan_in)``).
    val_split : float in [0, 1), default 0.0
        Fraction of the training data held out to watch the validation loss.
    patience : int, optional
        Early stopping: stop after this many epochs without a better validation loss and
        keep the best weights (needs ``val_split > 0``).
    clip : float, optional
        Clip the global gradient norm to this value.
    dtype : {"float32", "float64"}, default "float32"
        Dtype of the network's parameters and computations.
    random_state : int, numpy.random.RandomState or None, default None
        Seeds the initial weights, dropout and shuffling; an int makes ``fit``
        reproducible.

    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
        The class labels (any type ``LabelEncoder`` sorts: ints, strings, ...).
    n_features_in_ : int
    feature_names_in_ : ndarray of str, shape (n_features_in_,)
        Only when ``X`` had string column names (a DataFrame).
    network_ : NeuralNetwork
        The trained network, ``n_features_in_ -> hidden_layer_sizes -> n_classes``.
    optimizer_ : Optimizer
        The optimizer with its state (``partial_fit`` continues from it).
    loss_curve_ : list of float
        Mean training loss of each epoch.
    n_iter_ : int
        Epochs run.
    """

    _loss = CrossEntropyLoss
    _head = "softmax"

    def fit(self, X, y):
        """Train a new network on ``X`` (n_samples, n_features) and labels ``y`` (n_samples,).

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, reset=True, dtype=("float64", "float32"))
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
        X, y = validate_data(self, X, y, reset=first, dtype=("float64", "float32"))
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

    Parameters
    ----------
    Same as :class:`NNClassifier`, except the defaults ``optimizer="adam"``,
    ``learning_rate=0.001`` and ``epochs=100``.

    Attributes
    ----------
    n_features_in_ : int
    n_outputs_ : int
        Number of targets (columns of ``y``; 1 for a 1-D ``y``).
    network_ : NeuralNetwork
        ``n_features_in_ -> hidden_layer_sizes -> n_outputs_``, no output activation.
    optimizer_ : Optimizer
    loss_curve_ : list of float
        Mean training loss (mean squared error) of each epoch.
    n_iter_ : int
    """

    _loss = MeanSquaredErrorLoss
    _head = None

    # Why other defaults than the classifier's: plain SGD at 0.05 diverges on targets or
    # features of a large scale, while Adam's step is bounded by its learning rate.
    def __init__(self, hidden_layer_sizes=(32, 32), activation="relu", *, optimizer="adam",
                 learning_rate=0.001, momentum=0.0, batch_size=64, epochs=100,
                 weight_decay=0.0, dropout=0.0, schedule="constant", warmup=0,
                 init="normal", val_split=0.0, patience=None, clip=None, dtype="float32",
                 random_state=None):
        super().__init__(
            hidden_layer_sizes, activation, optimizer=optimizer, learning_rate=learning_rate,
            momentum=momentum, batch_size=batch_size, epochs=epochs,
            weight_decay=weight_decay, dropout=dropout, schedule=schedule, warmup=warmup,
            init=init, val_split=val_split, patience=patience, clip=clip, dtype=dtype,
            random_state=random_state)

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
                             dtype=("float64", "float32"))
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
                             dtype=("float64", "float32"))
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
