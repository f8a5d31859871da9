"""The training loop: minibatch gradient descent with a progress bar, as in the blog.

``train`` keeps the blog's signature and return value (``train_losses, eval_losses`` unpack
from the :class:`History` it returns) and adds what a practitioner needs: any optimizer and
learning-rate schedule, gradient clipping, a validation split with early stopping, a seed,
a clear error when the loss diverges, and Ctrl-C that stops cleanly after the current batch.
"""

import contextlib
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import tqdm

from .errors import DivergenceError
from .losses import get_loss
from .network import NeuralNetwork
from .optimizers import SGD, Optimizer, get_optimizer
from .schedules import get_schedule
from .validation import (
    check_features,
    check_fraction,
    check_int,
    check_loss_fits_head,
    check_positive,
    check_targets,
)


@dataclass
class History:
    """What happened in each epoch of :func:`train`.

    Unpacks like the blog's return value: ``train_losses, eval_losses = train(...)``.
    """

    train_losses: list = field(default_factory=list)
    eval_losses: list = field(default_factory=list)
    val_losses: list = field(default_factory=list)
    avg_grads: list = field(default_factory=list)
    learning_rates: list = field(default_factory=list)
    epoch_seconds: list = field(default_factory=list)
    best_epoch: int | None = None  # 1-based epoch whose weights were kept (early stopping)
    stopped_early: bool = False
    interrupted: bool = False

    def __iter__(self):
        yield self.train_losses
        yield self.eval_losses

    @property
    def epochs(self):
        """Number of completed epochs."""
        return len(self.train_losses)

    #: ``history.csv``'s columns and the list each comes from.
    COLUMNS: ClassVar[dict] = {"train_loss": "train_losses", "eval_loss": "eval_losses",
                               "val_loss": "val_losses", "avg_grad": "avg_grads",
                               "learning_rate": "learning_rates", "seconds": "epoch_seconds"}

    def rows(self):
        """One dict per epoch (for ``history.csv``); missing values are None."""
        lists = {column: getattr(self, name) for column, name in self.COLUMNS.items()}
        return [{"epoch": e + 1, **{k: (v[e] if e < len(v) else None)
                                    for k, v in lists.items()}}
                for e in range(self.epochs)]


@contextlib.contextmanager
def _stop_requested_on_sigint():
    """While active, the first Ctrl-C only sets a flag (checked after each batch); a second
    one interrupts at once. Outside the main thread signals cannot be caught: no-op."""
    state = {"stop": False}
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum, frame):
        if state["stop"]:
            raise KeyboardInterrupt
        state["stop"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)


def clip_grad_norm(grads, max_norm):
    """Scale all gradients in place so their global L2 norm is at most ``max_norm``."""
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    if norm > max_norm:
        for g in grads:
            g *= max_norm / norm
    return norm


def _resolve_optimizer(optimizer, learning_rate):
    if optimizer is None:
        if learning_rate is None:
            raise ValueError("learning_rate is required when no optimizer is given")
        return SGD(lr=check_positive(learning_rate, "learning_rate"))
    if isinstance(optimizer, Optimizer):
        if learning_rate is not None:
            raise ValueError("give the learning rate to the optimizer or to train, not both "
                             f"(optimizer has lr={optimizer.lr}, learning_rate="
                             f"{learning_rate!r})")
        return optimizer
    if learning_rate is not None:
        check_positive(learning_rate, "learning_rate")
    return get_optimizer(optimizer, lr=learning_rate)


def train(model, X_train, y_train, loss_fn, epochs, batch_size, learning_rate=None,
          X_test=None, y_test=None, bar=True, *, optimizer=None, schedule=None, clip=None,
          val_split=0.0, patience=None, seed=None, rng=None):
    """Train ``model`` with minibatch gradient descent.

    Parameters
    ----------
    model : NeuralNetwork
    X_train : array-like, shape (N, n_features)
    y_train : array-like, shape (N, n_outputs), or (N,) integer labels for cross-entropy
    loss_fn : Loss class, instance or name
        E.g. ``CrossEntropyLoss`` as in the blog.
    epochs : int
        Passes over the training data (0 trains nothing).
    batch_size : int
    learning_rate : float, optional
        The plain-SGD step size of the blog; or the ``lr`` of a named ``optimizer``.
    X_test, y_test : array-like, optional
        Evaluated after every epoch (``eval_losses``), as in the blog.
    bar : bool
        Show a tqdm progress bar with train_loss, eval_loss and avg_grad.
    optimizer : Optimizer or {"sgd", "adam", "adamw"}, optional
        Default: plain SGD with ``learning_rate``.
    schedule : callable or {"constant", "step", "cosine"}, optional
        Learning rate per epoch, ``schedule(epoch, base_lr)``.
    clip : float, optional
        Clip the global gradient norm to this value before each step.
    val_split : float in [0, 1)
        Fraction of the training data held out (seeded) for ``val_losses``.
    patience : int, optional
        Stop after this many epochs without a better validation loss and restore the best
        weights (needs ``val_split > 0``).
    seed : int, optional; rng : numpy.random.Generator, optional
        Source of the shuffling and the validation split. Default: the model's Generator.

    Returns
    -------
    History
        Per-epoch losses, learning rates and timings; unpacks to
        ``(train_losses, eval_losses)``.

    Raises
    ------
    DivergenceError
        When a batch's loss is not finite; ``error.history`` holds the epochs completed.
    """
    if not isinstance(model, NeuralNetwork):
        raise TypeError(f"model must be a NeuralNetwork, got {type(model).__name__}")
    loss_fn = get_loss(loss_fn)
    epochs = check_int(epochs, "epochs", minimum=0)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    optimizer = _resolve_optimizer(optimizer, learning_rate)
    schedule = get_schedule(schedule, epochs=max(epochs, 1))
    if clip is not None:
        clip = check_positive(clip, "clip")
    val_split = check_fraction(val_split, "val_split")
    if patience is not None:
        patience = check_int(patience, "patience", minimum=1)
        if val_split == 0:
            raise ValueError("patience needs a validation set: set val_split > 0")
    check_loss_fits_head(loss_fn, model)
    X = check_features(X_train, model, "X_train")
    y = check_targets(y_train, model, loss_fn, len(X), "y_train")
    has_test = X_test is not None and y_test is not None
    if has_test:
        X_test = check_features(X_test, model, "X_test")
        y_test = check_targets(y_test, model, loss_fn, len(X_test), "y_test")
    if rng is None:
        rng = model.rng if seed is None else np.random.default_rng(seed)

    X, y, X_val, y_val = _hold_out(X, y, val_split, rng)

    history = History()
    flat_params, flat_grads = model.flat_parameters()
    params, grads = [flat_params], [flat_grads]  # one vector each: a step is a few calls
    # Plain SGD folds the learning rate into the output gradient: back-propagation is
    # linear, so every gradient then comes out as lr * dL/dp and the step is one
    # subtraction, p -= g, instead of a multiplication and a subtraction.
    fold_lr = type(optimizer) is SGD and optimizer.plain and clip is None  # not a subclass
    grad_scale = 1  # what the stored gradients are multiplied by (divided out at the end)
    base_lr = optimizer.lr
    best_loss, best_params, bad_epochs = math.inf, None, 0
    # Each batch is gathered into these buffers: no per-epoch copy of the shuffled data set
    # and no new (batch, features) array per step.
    rows = min(batch_size, len(X))
    buffers = (np.empty((rows, *X.shape[1:]), X.dtype), np.empty((rows, *y.shape[1:]), y.dtype))
    pbar = tqdm.tqdm(total=epochs, desc="Training Progress", position=0) if bar else None
    try:
        # Overflow and NaN are reported once, as a DivergenceError, instead of as warnings.
        with _stop_requested_on_sigint() as sigint, np.errstate(over="ignore",
                                                                invalid="ignore"):
            for epoch in range(epochs):
                start = time.perf_counter()
                optimizer.lr = schedule(epoch, base_lr)
                batches = _batches(X, y, rng.permutation(len(X)), batch_size, buffers)
                losses, grad_sizes = [], []
                for batch, (x_batch, y_batch) in enumerate(batches, start=1):
                    y_pred = model._forward(x_batch, training=True)
                    grad_scale = optimizer.lr if fold_lr else 1
                    loss, _ = model.backprop(loss_fn, y_pred, y_batch, grad_scale=grad_scale)
                    if not math.isfinite(loss):
                        raise DivergenceError(
                            f"training diverged: the loss became {loss} at epoch {epoch + 1}, "
                            f"batch {batch}; lower the learning rate (it was "
                            f"{optimizer.lr:g}) or clip the gradients",
                            history=history, epoch=epoch + 1, batch=batch)
                    losses.append(loss)
                    grad_sizes.append(float(np.abs(model.output_grad).sum())
                                      / model.output_grad.size)
                    if clip is not None:
                        clip_grad_norm(grads, clip)
                    if fold_lr:
                        flat_params -= flat_grads  # the gradients hold lr * dL/dp
                    else:
                        optimizer.step(params, grads)
                    if sigint["stop"]:  # Ctrl-C: stop after this batch
                        history.interrupted = True
                        break
                if history.interrupted:
                    break

                history.train_losses.append(float(np.mean(losses)))
                history.avg_grads.append(float(np.mean(grad_sizes)))
                history.learning_rates.append(optimizer.lr)
                eval_loss = model._dataset_loss(loss_fn, X_test, y_test) if has_test else None
                if has_test:
                    history.eval_losses.append(eval_loss)
                if X_val is not None:
                    history.val_losses.append(model._dataset_loss(loss_fn, X_val, y_val))
                    if history.val_losses[-1] < best_loss:
                        best_loss, bad_epochs = history.val_losses[-1], 0
                        history.best_epoch = epoch + 1
                        best_params = [p.copy() for p in params]
                    else:
                        bad_epochs += 1
                history.epoch_seconds.append(time.perf_counter() - start)
                if pbar is not None:
                    pbar.update(1)
                    pbar.set_postfix(train_loss=history.train_losses[-1], eval_loss=eval_loss,
                                     avg_grad=history.avg_grads[-1])
                if patience is not None and bad_epochs >= patience:
                    history.stopped_early = True
                    break
    finally:
        if pbar is not None:
            pbar.close()
        if grad_scale != 1:  # leave the true gradients of the last batch
            flat_grads /= grad_scale
        optimizer.lr = base_lr
    if patience is not None and best_params is not None:
        for p, best in zip(params, best_params, strict=True):
            p[...] = best
    return history


def _hold_out(X, y, val_split, rng):
    """Split a seeded random ``val_split`` of the rows off: ``(X, y, X_val, y_val)``."""
    if not val_split:
        return X, y, None, None
    order = rng.permutation(len(X))
    n_val = max(1, round(val_split * len(X)))
    if n_val >= len(X):
        raise ValueError(f"val_split={val_split} leaves no training data from {len(X)} "
                         "samples")
    return X[order[n_val:]], y[order[n_val:]], X[order[:n_val]], y[order[:n_val]]


def _batches(X, y, order, batch_size, buffers):
    """Yield the minibatches of ``X, y`` in ``order``, each gathered into ``buffers``."""
    x_buffer, y_buffer = buffers
    for i in range(0, len(X), batch_size):
        idx = order[i:i + batch_size]
        yield (X.take(idx, axis=0, out=x_buffer[:len(idx)], mode="clip"),
               y.take(idx, axis=0, out=y_buffer[:len(idx)], mode="clip"))


def accuracy(model, X, y_true):
    """Fraction of rows whose predicted class equals the true one (labels or one-hot)."""
    y_true = np.asarray(y_true)
    true_labels = np.argmax(y_true, axis=1) if y_true.ndim == 2 else y_true
    pred_labels = np.argmax(model.forward(X), axis=1)
    return float(np.mean(pred_labels == true_labels))
