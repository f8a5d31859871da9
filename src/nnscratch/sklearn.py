"""scikit-learn estimators on the engine: :class:`NNClassifier` and :class:`NNRegressor`,
drop-in replacements for ``sklearn.neural_network.MLPClassifier`` and ``MLPRegressor``.

Every parameter of scikit-learn's MLPs is taken with the same name, default and meaning (each
is a row of :mod:`nnscratch.params`), and so are the attributes (``coefs_``, ``loss_curve_``,
``t_``, ...), the methods (``partial_fit``, ``sample_weight``), the warnings
(``ConvergenceWarning``) and the printed lines of ``verbose``: a script changes its import
and nothing else. Fitting follows scikit-learn's procedure: the stochastic solvers run
epochs with its stopping rule (``tol``, ``n_iter_no_change``) and learning-rate rules
(``learning_rate``), and ``"lbfgs"`` hands the loss and gradient of the whole data to
``scipy.optimize.minimize(method="L-BFGS-B")``. The forward and backward passes, the losses'
gradients and the update rules are nnscratch's own (:mod:`nnscratch.network`,
:mod:`nnscratch.optimizers`); scipy only drives L-BFGS.

On top of scikit-learn's parameters the estimators keep nnscratch's: more solvers
(``adamw``, ``rmsprop``, ``adagrad``), ``init``, ``dropout``, ``schedule``/``warmup``,
``clip``, ``dtype``, ``architecture`` (convolutions), ``augment`` and ``label_smoothing``.
docs/sklearn.md has the table of what is the same, what differs and what is not supported.

Randomness follows scikit-learn: ``random_state`` is an int, None or a ``RandomState``; each
fit draws one seed from it for the network's Generator (initial weights, dropout), then the
early-stopping split and the shuffling draw from it as scikit-learn's do.
"""

import warnings
from typing import ClassVar

import numpy as np
import scipy.optimize
import scipy.sparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .build import build_augmenter, build_network
from .losses import (
    BinaryCrossEntropyLoss,
    CrossEntropyLoss,
    MeanSquaredErrorLoss,
    SmoothedCrossEntropyLoss,
)
from .optimizers import OPTIMIZERS
from .params import BY_ESTIMATOR_NAME, BY_SKLEARN_NAME, DEFAULTS, NO_OPTION, check_config
from .schedules import get_schedule
from .training import clip_grad_norm

_STOCHASTIC = tuple(OPTIMIZERS)  # every solver but lbfgs
#: The warning of a fit stopped by Ctrl-C (scikit-learn's MLP words it so); a sweep in its own
#: process turns it back into the interrupt (nnscratch.sweep.backend).
INTERRUPTED = "Training interrupted by user."
_CHUNK = 8192  # rows per forward pass in predict (bounds the memory; sparse rows densified)


def _square_image(n_features):
    """``(1, side, side)`` when ``n_features`` is a square (an image's pixels), else None."""
    side = round(n_features ** 0.5)
    return (1, side, side) if side * side == n_features else None


def _dense(X, dtype):
    """Rows of ``X`` (an array or a sparse matrix) as a C-ordered array of ``dtype``."""
    if scipy.sparse.issparse(X):
        X = X.toarray()
    return np.ascontiguousarray(X, dtype=dtype)


def _stochastic(est):
    """``partial_fit`` exists for the stochastic solvers only (as in scikit-learn)."""
    if est.solver == "lbfgs":
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                             f"{est.solver} is not stochastic.")
    return True


class _NNEstimator(BaseEstimator):
    """What the classifier and the regressor share: parameters, fitting, predicting.

    ``__init__`` only stores; ``fit`` checks each parameter against its row of
    :data:`nnscratch.params.BY_ESTIMATOR_NAME`.
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 init="glorot", dropout=0.0, schedule="constant", warmup=0, clip=None,
                 dtype=None, architecture=None, augment="none", label_smoothing=0.0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.init = init
        self.dropout = dropout
        self.schedule = schedule
        self.warmup = warmup
        self.clip = clip
        self.dtype = dtype
        self.architecture = architecture
        self.augment = augment
        self.label_smoothing = label_smoothing

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # --- hyper-parameters -------------------------------------------------------------
    def _settings(self, label=None):
        """Every parameter checked against its row: ``{parameter: value}``, plus ``config``,
        the run configuration they amount to (combinations checked by
        :func:`~nnscratch.params.check_config`)."""
        shown = label or (lambda name: name)
        given = {name: getattr(self, name) for name in self.get_params()
                 if name != "random_state"}
        if isinstance(given["dtype"], type):  # np.float32 for "float32"
            given["dtype"] = np.dtype(given["dtype"]).name
        values = {name: value if name == "dtype" and value is None else
                  BY_ESTIMATOR_NAME[name].check_estimator(value, shown(name))
                  for name, value in given.items()}
        config = {}
        for name, row in BY_SKLEARN_NAME.items():
            if name == "random_state":
                continue
            extra, meaning = row.sklearn_value(values[name])
            config[row.name] = (row.default if meaning == NO_OPTION else meaning) if extra \
                else values[name]
        config["seed"] = 0
        if not values["early_stopping"]:  # checked, then unused (as in MLPClassifier)
            config.update(val_split=0.0, patience=None)

        def named(name):
            row = next((r for r in BY_SKLEARN_NAME.values() if r.name == name), None)
            return shown(row.sklearn if row else name)

        config["dtype"] = config["dtype"] or "float64"
        values["config"] = check_config({**DEFAULTS, **config}, label=named)
        if values["label_smoothing"] and not is_classifier(self):
            raise ValueError(f"{shown('label_smoothing')}={values['label_smoothing']!r} needs "
                             "a classifier; a regressor has no labels to smooth")
        if values["solver"] == "lbfgs":
            for name, off in (("dropout", 0.0), ("augment", "none")):
                if values[name] != off:
                    raise ValueError(f"{shown(name)}={values[name]!r} needs a stochastic "
                                     f"solver (each step sees other data); solver='lbfgs' "
                                     "minimises one fixed loss")
        if values["schedule"] != "constant" and values["learning_rate"] != "constant":
            raise ValueError(f"{shown('schedule')}={values['schedule']!r} and "
                             f"{shown('learning_rate')}={values['learning_rate']!r} both set "
                             "the step size: keep one of them 'constant'")
        return values

    def check_params(self, X_dtype=None, *, label=None):
        """Validate every hyper-parameter (no data needed); return the run configuration of
        ``nnscratch train`` they amount to.

        ``nnscratch sweep`` calls it on each candidate before the search starts, so a typo
        fails at once rather than in a worker.

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
            Naming the parameter, what was expected and what was given; also for a value
            ``nnscratch train`` has no option for (``solver="lbfgs"``, ``batch_size="auto"``).
        """
        shown = label or (lambda name: name)
        values = self._settings(label)
        for name, row in BY_SKLEARN_NAME.items():
            if name != "random_state" and row.sklearn_value(values[name])[1] == NO_OPTION:
                raise ValueError(f"{shown(name)}={values[name]!r} has no option of nnscratch "
                                 f"train ({row.flag})")
        config = values["config"]
        if self.dtype is None:
            config["dtype"] = np.dtype(X_dtype or np.float64).name
        return config

    # --- fitting ----------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` (n_samples, n_features), dense or sparse, and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (an indicator matrix for multilabel classification), or targets.
        sample_weight : array-like of shape (n_samples,), optional
            Each sample's weight in the loss (the loss is their weighted mean).

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, *, incremental):
        """scikit-learn's ``_fit``: validate, initialise on the first pass, run the solver."""
        settings = self._settings()
        first_pass = not hasattr(self, "network_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        sample_weight = self._sample_weight(sample_weight, X.shape[0])
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(Y, X, settings)
        elif Y.shape[1] != self.n_outputs_ and not self._codes:
            raise ValueError(f"y has {Y.shape[1]} outputs; the network was fitted with "
                             f"{self.n_outputs_}")
        if not self._codes:
            Y = Y.astype(self.network_.dtype, copy=False)
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged fit is refused below
            if settings["solver"] == "lbfgs":
                self._fit_lbfgs(X, Y, sample_weight, settings)
            else:
                self._fit_stochastic(X, Y, sample_weight, settings, incremental)
        if not np.all(np.isfinite(self.network_.flat_parameters()[0])):
            raise ValueError("Solver produced non-finite parameter weights. The input data "
                             "may contain large values and need to be preprocessed.")
        return self

    def _sample_weight(self, sample_weight, n_samples):
        """``sample_weight`` as a float64 vector ``(n_samples,)``, or None."""
        if sample_weight is None:
            return None
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.ndim == 0:
            w = np.full(n_samples, float(w))
        if w.shape != (n_samples,):
            raise ValueError(f"sample_weight.shape == {w.shape}, expected ({n_samples},)!")
        bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
        if bad.size:
            raise ValueError("sample_weight must hold finite numbers >= 0, got "
                             f"{float(w[bad[0]])!r} at index {bad[0]}")
        if not np.any(w):
            raise ValueError("Sample weights must contain at least one non-zero number.")
        return w

    def _initialize(self, Y, X, settings):
        """Build the network and reset what a first fit starts from (``_initialize``)."""
        n_features, n_outputs = X.shape[1], Y.shape[1] if not self._codes else \
            len(self.classes_)
        config = dict(settings["config"])
        config["dtype"] = np.dtype(self.dtype or X.dtype).name
        seed = self._random_state.randint(np.iinfo(np.int32).max)
        head = {"softmax": "softmax", "logistic": "sigmoid", "identity": None}[
            self.out_activation_]
        self.network_ = build_network(config, n_features, n_outputs, head=head,
                                      rng=np.random.default_rng(seed),
                                      input_shape=_square_image(n_features))
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(self.network_.param_layers) + 1
        self.n_iter_, self.t_ = 0, 0
        self._seed = seed
        self._best_params = self.network_.flat_parameters()[0].copy()
        for name in ("optimizer_", "loss_curve_", "best_loss_", "validation_scores_",
                     "best_validation_score_", "loss_"):
            vars(self).pop(name, None)
        if settings["solver"] != "lbfgs":
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if settings["early_stopping"]:
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = self.best_validation_score_ = None

    # How each head's loss is scaled: scikit-learn's gradient at the head's logits is
    # w_n (p - y) / sum(w); the engine's is (p - y) / N for the cross-entropy, (p - y) / (N K)
    # for the binary cross-entropy of K labels and 2 (p - y) / (N K) for the squared error
    # of K outputs. The per-sample factor turns one into the other.
    _ENGINE: ClassVar[dict] = {"softmax": (CrossEntropyLoss, lambda k: 1.0),
                               "logistic": (BinaryCrossEntropyLoss, lambda k: float(k)),
                               "identity": (MeanSquaredErrorLoss, lambda k: k / 2)}

    def _loss_grad(self, x, y, w, *, training):
        """scikit-learn's loss of a batch (data term plus ``0.5 alpha |W|^2 / sum(w)``), and
        its gradient left in the network's flat gradient vector.

        ``x`` (B, n_features) dense, ``y`` integer codes (B,) or targets (B, n_outputs),
        ``w`` (B,) or None.
        """
        net, alpha = self.network_, self.alpha
        loss_fn, factor = self._ENGINE[self.out_activation_]
        out = net.forward(x, training=training)
        n = len(x)
        total = float(n) if w is None else float(w.sum())
        if total == 0:  # every sample of the batch weighs 0: no loss, no step
            net.flat_parameters()[1][...] = 0
            return 0.0
        k = out.shape[1]
        scale = factor(k) * n / total if w is None else \
            (factor(k) * n / total * w).astype(net.dtype).reshape(-1, 1)
        y = self._smoothed(y, k)
        net.backprop(loss_fn, out, y, grad_scale=scale)
        squares = 0.0
        for layer in net.param_layers:
            squares += float(np.vdot(layer.weights, layer.weights))
            if alpha:
                layer.grad_weights += (alpha / total) * layer.weights
        return self._data_loss(out, y, w) + 0.5 * alpha * squares / total  # y smoothed

    def _smoothed(self, y, k):
        """The targets label smoothing trains against: ``(1 - eps) y + eps / K`` as rows
        ``(B, K)`` for the softmax head, ``(1 - eps) y + eps / 2`` for the logistic one (the
        same for two classes); ``y`` itself without smoothing or for a regressor."""
        eps = self.label_smoothing
        if not eps or self.out_activation_ == "identity":
            return y
        if self.out_activation_ == "softmax":
            return SmoothedCrossEntropyLoss(eps).targets(y, (len(y), k), self.network_.dtype)
        return (1 - eps) * y + eps / 2

    def _data_loss(self, out, y, w):
        """scikit-learn's loss of the outputs ``out``: log loss, binary log loss summed over
        the labels, or half the squared error averaged over the outputs."""
        out = out.astype(np.float64, copy=False)
        if self.out_activation_ == "identity":
            return float(0.5 * np.average((y - out) ** 2, weights=w, axis=0).mean())
        eps = np.finfo(out.dtype).eps
        p = np.clip(out, eps, 1 - eps)
        if self.out_activation_ == "softmax" and y.ndim == 2:  # smoothed targets
            return float(-np.average((y * np.log(p)).sum(axis=1), weights=w))
        if self.out_activation_ == "softmax":  # y: integer codes
            return float(-np.average(np.log(p[np.arange(len(p)), y]), weights=w))
        return float(-np.average(y * np.log(p) + (1 - y) * np.log(1 - p), weights=w,
                                 axis=0).sum())

    def _optimizer(self, settings):
        """The solver's update rule, built from the engine's optimizers."""
        name, lr = settings["solver"], settings["config"]["lr"]
        if name == "sgd":
            momentum = settings["momentum"]
            return OPTIMIZERS["sgd"](lr=lr, momentum=momentum,
                                     nesterov=settings["nesterovs_momentum"] and momentum > 0)
        if name in ("adam", "adamw"):
            extra = {"weight_decay": settings["alpha"]} if name == "adamw" else {}
            return OPTIMIZERS[name](lr=lr, betas=(settings["beta_1"], settings["beta_2"]),
                                    eps=settings["epsilon"], **extra)
        if name == "rmsprop":
            return OPTIMIZERS[name](lr=lr, momentum=settings["momentum"])
        return OPTIMIZERS[name](lr=lr)

    def _fit_stochastic(self, X, Y, sample_weight, settings, incremental):
        """scikit-learn's ``_fit_stochastic``: epochs of minibatch steps, each followed by
        the stopping rule; ``incremental`` (``partial_fit``) runs one epoch."""
        if not incremental or not hasattr(self, "optimizer_"):
            self.optimizer_ = self._optimizer(settings)
        optimizer = self.optimizer_
        early_stopping = settings["early_stopping"]
        if early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if early_stopping:
            X, Y, sample_weight, val = self._hold_out(X, Y, sample_weight)
        else:
            val = None
        n_samples = X.shape[0]
        if settings["batch_size"] == "auto":
            batch_size = min(200, n_samples)
        else:
            if settings["batch_size"] > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped", stacklevel=3)
            batch_size = int(np.clip(settings["batch_size"], 1, n_samples))
        params = self.network_.flat_parameters()[0]
        image = _square_image(X.shape[1])
        augment = build_augmenter({**settings["config"], "seed": self._seed},
                                  image and image[1:])
        schedule = None if settings["schedule"] == "constant" else get_schedule(
            settings["schedule"], epochs=max(settings["max_iter"], 1), warmup=settings["warmup"])
        lr_init = settings["config"]["lr"]
        sample_idx = np.arange(n_samples)
        self.n_iter_ = 0
        try:
            for epoch in range(settings["max_iter"]):
                if schedule is not None:
                    optimizer.lr = schedule(epoch, lr_init)
                if settings["shuffle"]:
                    sample_idx = self._random_state.permutation(sample_idx)
                order = sample_idx if settings["shuffle"] else None
                self.loss_ = self._epoch(X, Y, sample_weight, order, batch_size, augment,
                                         settings["clip"])
                self.n_iter_ += 1
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                if not np.isfinite(self.loss_):
                    break  # refused by _fit: "Solver produced non-finite parameter weights"
                self._update_no_improvement_count(early_stopping, val)
                if settings["solver"] == "sgd" and settings["learning_rate"] == "invscaling":
                    optimizer.lr = lr_init / (self.t_ + 1) ** settings["power_t"]
                patience = settings["n_iter_no_change"]
                if patience is not None and self._no_improvement_count > patience:
                    what = "Validation score" if early_stopping else "Training loss"
                    message = (f"{what} did not improve more than tol={settings['tol']:f} "
                               f"for {patience} consecutive epochs.")
                    if self._trigger_stopping(message, settings):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == settings["max_iter"] and patience is not None:
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations "
                                  f"({settings['max_iter']}) reached and the optimization "
                                  "hasn't converged yet.", ConvergenceWarning, stacklevel=3)
        except KeyboardInterrupt:  # as scikit-learn: keep what was learned
            warnings.warn(INTERRUPTED, stacklevel=3)
        if early_stopping:  # the best weights
            params[...] = self._best_params

    def _epoch(self, X, Y, sample_weight, order, batch_size, augment, clip):
        """One pass of minibatch steps over the rows in ``order`` (None: as they are); the
        mean of the batches' losses weighted by their sizes."""
        params, grads = self.network_.flat_parameters()
        optimizer, dtype = self.optimizer_, self.network_.dtype
        accumulated = 0.0
        for batch in gen_batches(X.shape[0], batch_size):
            idx = batch if order is None else order[batch]
            x = _dense(X[idx], dtype)  # (B, n_features); sparse rows made dense here
            if augment is not None:
                x = augment(x)
            w = None if sample_weight is None else sample_weight[idx]
            loss = self._loss_grad(x, Y[idx], w, training=True)
            if clip is not None:
                clip_grad_norm([grads], clip)
            optimizer.step([params], [grads])
            accumulated += loss * len(x)
        return accumulated / X.shape[0]

    def _hold_out(self, X, Y, sample_weight):
        """The early-stopping split (stratified for a single-output classifier), as
        scikit-learn draws it; ``(X, Y, sample_weight, (X_val, y_val, w_val))``."""
        stratify = None
        if is_classifier(self) and (self._codes or self.n_outputs_ == 1):
            stratify = Y if self._codes else Y[:, 0]
        arrays = [X, Y] if sample_weight is None else [X, Y, sample_weight]
        parts = train_test_split(*arrays, random_state=self._random_state,
                                 test_size=self.validation_fraction, stratify=stratify)
        X_train, X_val, Y_train, Y_val = parts[:4]
        w_train, w_val = parts[4:] if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase "
                             "'validation_fraction' or the size of your dataset.")
        return X_train, Y_train, w_train, (X_val, self._targets_of(Y_val), w_val)

    def _update_no_improvement_count(self, early_stopping, val):
        """Count epochs without an improvement by ``tol``: of the validation score with
        early stopping (keeping the best weights), else of the training loss."""
        if early_stopping:
            X_val, y_val, w_val = val
            score = self._score_on(X_val, y_val, w_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params = self.network_.flat_parameters()[0].copy()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])

    def _trigger_stopping(self, message, settings):
        """True to stop; sgd with ``learning_rate="adaptive"`` divides its step by 5 instead,
        until it falls to 1e-6."""
        optimizer = self.optimizer_
        if not (settings["solver"] == "sgd" and settings["learning_rate"] == "adaptive"):
            if self.verbose:
                print(message + " Stopping.")
            return True
        if optimizer.lr <= 1e-6:
            if self.verbose:
                print(message + " Learning rate too small. Stopping.")
            return True
        optimizer.lr /= 5.0
        if self.verbose:
            print(message + f" Setting learning rate to {optimizer.lr:f}")
        return False

    def _fit_lbfgs(self, X, Y, sample_weight, settings):
        """Minimise the loss of the whole data with ``scipy.optimize.minimize(L-BFGS-B)``
        over the network's flat parameter vector; the engine gives the loss and gradient."""
        params, grads = self.network_.flat_parameters()
        X = _dense(X, self.network_.dtype)
        # The squared error of K outputs: scikit-learn's gradient is that of the loss summed
        # over the outputs (K times the reported mean), which a line search must see.
        k = Y.shape[1] if self.out_activation_ == "identity" else 1

        def loss_and_grad(flat):
            params[...] = flat
            loss = self._loss_grad(X, Y, sample_weight, training=False)
            data = loss - 0.5 * self.alpha * sum(
                float(np.vdot(la.weights, la.weights)) for la in self.network_.param_layers
            ) / (len(X) if sample_weight is None else sample_weight.sum())
            return loss + (k - 1) * data, grads.astype(np.float64)

        result = scipy.optimize.minimize(
            loss_and_grad, params.astype(np.float64), method="L-BFGS-B", jac=True,
            options={"maxfun": settings["max_fun"], "maxiter": settings["max_iter"],
                     "gtol": settings["tol"]})
        self.n_iter_ = min(result.nit, settings["max_iter"])
        self.loss_ = float(result.fun)
        params[...] = result.x
        if result.status != 0:
            message = (f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                       f"(status={result.status}):\n{result.message}\n")
            if self.n_iter_ == settings["max_iter"]:
                message += ("\nIncrease the number of iterations to improve the convergence "
                            f"(max_iter={settings['max_iter']}).")
            message += ("\nYou might also want to scale the data as shown in:\n    "
                        "https://scikit-learn.org/stable/modules/preprocessing.html")
            warnings.warn(message, ConvergenceWarning, stacklevel=3)

    # --- predicting -------------------------------------------------------------------
    def _forward(self, X):
        """The network's output ``(n_samples, n_outputs)`` for ``X``, dense or sparse."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False,
                          dtype=("float64", "float32"), order="C")
        return self._outputs(X)

    def _outputs(self, X):
        """The network's output for validated ``X``, a chunk of rows at a time."""
        net = self.network_
        return np.concatenate([net.forward(_dense(X[i:i + _CHUNK], net.dtype))
                               for i in range(0, X.shape[0], _CHUNK)])

    # --- what scikit-learn's MLPs expose ------------------------------------------------
    @property
    def coefs_(self):
        """Weights of each layer, views of the network's: ``(fan_in, fan_out)`` for a dense
        layer (``(out_channels, in_channels, k, k)`` for a convolution)."""
        return [layer.weights for layer in self.network_.param_layers]

    @coefs_.setter
    def coefs_(self, arrays):
        self._assign("weights", arrays)

    @property
    def intercepts_(self):
        """Biases of each layer, ``(fan_out,)``, views of the network's."""
        return [layer.bias.reshape(-1) for layer in self.network_.param_layers]

    @intercepts_.setter
    def intercepts_(self, arrays):
        self._assign("bias", arrays)

    def _assign(self, name, arrays):
        """Copy ``arrays`` into each layer's ``name`` (weights or bias), shapes checked."""
        layers = self.network_.param_layers
        attribute = "coefs_" if name == "weights" else "intercepts_"
        arrays = list(arrays)
        if len(arrays) != len(layers):
            raise ValueError(f"{attribute} needs {len(layers)} arrays, got {len(arrays)}")
        for i, (layer, array) in enumerate(zip(layers, arrays, strict=True)):
            target = getattr(layer, name)
            array = np.asarray(array)
            if array.size != target.size or (name == "weights" and array.shape != target.shape):
                raise ValueError(f"{attribute}[{i}] must have shape "
                                 f"{target.shape if name == 'weights' else (target.size,)}, "
                                 f"got {array.shape}")
            target[...] = array.reshape(target.shape)


_PARAMETERS_DOC = """
    Parameters
    ----------%(loss)s
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default (100,)
        Width of each hidden layer; ``()`` gives a linear model.
    activation : {"relu", "tanh", "logistic", "identity", "sigmoid"}, default "relu"
        Activation of the hidden layers (``"sigmoid"`` is nnscratch's name for
        ``"logistic"``).
    solver : {"adam", "sgd", "lbfgs", "adamw", "rmsprop", "adagrad"}, default "adam"
        ``"lbfgs"`` minimises the whole loss with scipy's L-BFGS-B; the others take minibatch
        steps (``adamw``, ``rmsprop``, ``adagrad``: nnscratch's, PyTorch's definitions).
    alpha : float, default 0.0001
        L2 penalty ``0.5 * alpha * |W|^2 / n_samples`` on the weights (not the biases), as in
        scikit-learn; for ``adamw`` the decoupled weight decay instead.
    batch_size : int or "auto", default "auto"
        Samples per step; ``"auto"`` is ``min(200, n_samples)``. Unused by lbfgs.
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        sgd's step size per epoch: constant; ``learning_rate_init / (t + 1) ** power_t`` after
        ``t`` samples; or divided by 5 whenever ``n_iter_no_change`` epochs do not improve
        by ``tol``.
    learning_rate_init : float, default 0.001
        Step size of the stochastic solvers.
    power_t : float, default 0.5
        Exponent of ``learning_rate="invscaling"``.
    max_iter : int, default 200
        Epochs of the stochastic solvers; iterations of lbfgs.
    shuffle : bool, default True
        Shuffle the samples in every epoch.
    random_state : int, RandomState instance or None, default None
        Seeds the initial weights, dropout, the early-stopping split and the shuffling.
    tol : float, default 1e-4
        An epoch improves when the training loss falls (or, with ``early_stopping``, the
        validation score rises) by at least ``tol``; lbfgs: the gradient tolerance.
    verbose : bool or int, default False
        Print scikit-learn's line after every epoch (``Iteration 3, loss = 0.12345678``).
    warm_start : bool, default False
        ``fit`` continues from the weights of the previous fit (the optimizer restarts, as in
        scikit-learn; ``partial_fit`` keeps its state).
    momentum : float in [0, 1), default 0.9
        Momentum of sgd (and rmsprop).
    nesterovs_momentum : bool, default True
        Nesterov's momentum for sgd when ``momentum > 0``.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the data (stratified for a classifier) and stop
        when its score (%(score)s) has not improved by ``tol`` for ``n_iter_no_change``
        epochs; the best weights are kept.
    validation_fraction : float in [0, 1), default 0.1
        Held out when ``early_stopping``.
    beta_1, beta_2 : float in [0, 1), default 0.9 and 0.999
        Decay rates of adam's moment estimates.
    epsilon : float, default 1e-8
        adam's numerical stability term.
    n_iter_no_change : int, inf or None, default 10
        Epochs without an improvement by ``tol`` before stopping (inf: never). None
        (nnscratch): never, and no ``ConvergenceWarning`` either: exactly ``max_iter``
        epochs, as ``nnscratch train`` runs them.
    max_fun : int, default 15000
        lbfgs: the most loss evaluations.
    init : {"glorot", "normal", "he"}, default "glorot"
        Weight initialiser (nnscratch): Glorot's uniform, as scikit-learn (whose biases are
        drawn too, where ours start at 0).
    dropout : float in [0, 1), default 0.0
        Dropout rate after each hidden layer (nnscratch; stochastic solvers).
    schedule : {"constant", "step", "cosine"}, default "constant"
        nnscratch's learning rate per epoch (with ``learning_rate="constant"``).
    warmup : int, default 0
        Warm-up epochs of the cosine schedule.
    clip : float, optional
        Clip the global gradient norm to this value (nnscratch).
    dtype : {"float32", "float64"} or None, default None
        Dtype of the network; None follows ``X`` (float32 stays float32), as scikit-learn.
    architecture : str, optional
        Any layers instead of ``hidden_layer_sizes`` and ``dropout``, e.g.
        ``"conv32k3,pool2,dense128"`` (see :mod:`nnscratch.architecture`); convolutions see
        each row of ``X`` as a square one-channel image (784 features: 28 x 28).
    augment : {"none", "shift", "affine", "elastic"}, default "none"
        Distort every training image afresh in every epoch (rows of ``X`` seen as square
        images); see :mod:`nnscratch.augment`.
    label_smoothing : float in [0, 1), default 0.0
        Classifiers: train against ``(1 - eps) y + eps / K`` instead of the one-hot labels
        (PyTorch's ``label_smoothing``; ``loss_`` uses the same targets). A regressor refuses
        any value but 0.
"""

_ATTRIBUTES_DOC = """
    loss_ : float
        The loss of the last epoch (lbfgs: of the result), with the L2 term.
    best_loss_ : float or None
        The smallest of ``loss_curve_`` (None with ``early_stopping``; absent for lbfgs).
    loss_curve_ : list of float
        The loss of each epoch (absent for lbfgs).
    validation_scores_ : list of float or None
        With ``early_stopping``: the score (%(score)s) on the held-out data after each epoch.
    best_validation_score_ : float or None
        The best of ``validation_scores_``.
    t_ : int
        Samples seen by the solver (``n_iter_ * n_samples``).
    coefs_ : list of ndarray
        ``coefs_[i]`` has shape ``(fan_in, fan_out)``: the weights of layer ``i``.
    intercepts_ : list of ndarray
        ``intercepts_[i]`` has shape ``(fan_out,)``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, shape (n_features_in_,)
        Only when ``X`` had string column names (a DataFrame).
    n_iter_ : int
        Epochs run by the last ``fit`` (lbfgs: its iterations).
    n_layers_ : int
        Layers, the input and the output included.
    n_outputs_ : int
    out_activation_ : str
        %(out)s
    network_ : NeuralNetwork
        The trained network (nnscratch).
    optimizer_ : Optimizer
        The stochastic solver with its state (nnscratch; ``partial_fit`` continues it).
"""


class NNClassifier(ClassifierMixin, _NNEstimator):
    """Multi-layer perceptron classifier: ``MLPClassifier``'s parameters, attributes and
    methods on nnscratch's engine.

    Multiclass targets train a softmax head with the cross-entropy, binary ones a single
    logistic output, and an indicator matrix (multilabel) one logistic output per label with
    the binary cross-entropy; ``predict`` then returns the indicator matrix.
%(parameters)s
    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        The class labels (any type: ints, strings, ...).%(attributes)s"""

    def _validate_input(self, X, y, incremental, reset):
        """``X`` and the targets: integer codes (n_samples, 1) for a softmax head, else the
        label indicator matrix (n_samples, n_outputs)."""
        X, y = validate_data(self, X, y, accept_sparse="csr", multi_output=True,
                             dtype=(np.float64, np.float32), order="C", reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same "
                                     "classes as in the previous call to fit. Previously got "
                                     f"{self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError("`y` has classes not in `self.classes_`. `self.classes_` "
                                 f"has {self.classes_}. 'y' has {classes}.")
        binarizer = self._label_binarizer
        Y = binarizer.transform(y)
        if binarizer.y_type_ == "multiclass":
            self.out_activation_, self._codes = "softmax", True
            return X, np.argmax(Y, axis=1).reshape(-1, 1)
        self.out_activation_, self._codes = "logistic", False
        return X, Y.astype(X.dtype)

    def _targets_of(self, Y):
        """Engine targets as the labels they encode (for scoring the validation set)."""
        if self._codes:
            return self.classes_[Y[:, 0]]
        return self._label_binarizer.inverse_transform(Y if Y.shape[1] > 1 else Y[:, 0])

    def _loss_grad(self, x, y, w, *, training):
        return super()._loss_grad(x, y[:, 0] if self._codes else y, w, training=training)

    def _score_on(self, X, y, sample_weight):
        """Accuracy, or NaN when the outputs are not finite (as scikit-learn)."""
        out = self._outputs(X)
        if not np.all(np.isfinite(out)):
            return np.nan
        return accuracy_score(y, self._labels(out), sample_weight=sample_weight)

    def _labels(self, out):
        return self._label_binarizer.inverse_transform(out[:, 0] if out.shape[1] == 1 else out)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over the batch ``X``, ``y``, continuing the optimizer's state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), optional
        classes : array-like of shape (n_classes,)
            Every label the classifier will see: required on the first call (``y`` of a
            later call may hold fewer).

        Returns
        -------
        self
        """
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is not None:
            given, classes = classes, unique_labels(classes)
            if not first and not np.array_equal(self.classes_, classes):
                raise ValueError(f"`classes={given!r}` is not the same as on last call to "
                                 f"partial_fit, was: {self.classes_!r}")
        if first:
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            self.classes_ = self._label_binarizer.classes_
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """The predicted classes: ``(n_samples,)``, or the indicator matrix
        ``(n_samples, n_labels)`` for a multilabel classifier."""
        return self._labels(self._forward(X))

    def predict_proba(self, X):
        """Class probabilities ``(n_samples, n_classes)`` in the order of ``classes_`` (for a
        multilabel classifier, each label's probability)."""
        out = self._forward(X)
        if out.shape[1] == 1:
            return np.hstack([1 - out, out])
        return out

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (floored at the smallest normal number)."""
        p = self.predict_proba(X)
        return np.log(np.maximum(p, np.finfo(p.dtype).tiny))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class NNRegressor(RegressorMixin, _NNEstimator):
    """Multi-layer perceptron regressor: ``MLPRegressor``'s parameters, attributes and
    methods on nnscratch's engine (an identity head and half the squared error).
%(parameters)s
    Attributes
    ----------%(attributes)s"""

    _codes = False

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 init="glorot", dropout=0.0, schedule="constant", warmup=0, clip=None,
                 dtype=None, architecture=None, augment="none", label_smoothing=0.0):
        self.loss = loss
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun, init=init,
            dropout=dropout, schedule=schedule, warmup=warmup, clip=clip, dtype=dtype,
            architecture=architecture, augment=augment, label_smoothing=label_smoothing)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse="csr", multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), order="C",
                             reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        self.out_activation_ = "identity"
        return X, np.asarray(y, dtype=X.dtype).reshape(len(y), -1)

    def _targets_of(self, Y):
        return Y

    def _score_on(self, X, y, sample_weight):
        """R^2, or NaN when the outputs are not finite (as scikit-learn)."""
        out = self._outputs(X)
        if not np.all(np.isfinite(out)):
            return np.nan
        return r2_score(y, out, sample_weight=sample_weight)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over the batch ``X``, ``y``, continuing the optimizer's state.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predictions ``(n_samples,)`` for one output, else ``(n_samples, n_outputs)``."""
        out = self._forward(X)
        return out[:, 0] if out.shape[1] == 1 else out


for _estimator, _score, _out, _loss in (
        (NNClassifier, "accuracy", '"softmax" (multiclass) or "logistic" (binary, multilabel)',
         ""),
        (NNRegressor, "R^2", '"identity"', '\n    loss : {"squared_error"}, default '
         '"squared_error"\n        Half the squared error (scikit-learn\'s "poisson" is not '
         'supported).')):
    _estimator.__doc__ %= {
        "parameters": _PARAMETERS_DOC % {"score": _score, "loss": _loss},
        "attributes": _ATTRIBUTES_DOC % {"score": _score, "out": _out}}


class MLPClassifier(NNClassifier):
    """:class:`NNClassifier` under scikit-learn's name, for ``from nnscratch.sklearn import
    MLPClassifier``: ``make_pipeline`` then names the step ``"mlpclassifier"`` as it does
    scikit-learn's, so a script's parameter keys (``"mlpclassifier__alpha"``) still hold."""


class MLPRegressor(NNRegressor):
    """:class:`NNRegressor` under scikit-learn's name (see :class:`MLPClassifier`)."""
