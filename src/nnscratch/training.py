"""The training loop: minibatch gradient descent with a progress bar, as in the blog.

``train`` keeps the blog's signature and return value (``train_losses, eval_losses`` unpack
from the :class:`History` it returns) and adds what a practitioner needs: any optimizer and
learning-rate schedule, gradient clipping, a validation split with early stopping, a seed,
a clear error when the loss diverges, Ctrl-C that stops cleanly after the current batch, and
checkpoints (``checkpoint=PATH``) from which a killed run continues bit-identically.
"""

import contextlib
import math
import re
import signal
import threading
import time
import warnings
import zlib
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import tqdm

from .augment import Prefetcher
from .checkpoint import Checkpointer
from .errors import DivergenceError, DivergenceWarning
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
    val_scores: list = field(default_factory=list)  # accuracy, or R^2 for regression
    avg_grads: list = field(default_factory=list)
    learning_rates: list = field(default_factory=list)
    epoch_seconds: list = field(default_factory=list)
    best_epoch: int | None = None  # 1-based epoch whose weights were kept (early stopping)
    stopped_early: bool = False
    interrupted: bool = False
    warnings: list = field(default_factory=list)  # e.g. the loss blowing up
    resumed_from: int | None = None  # epochs restored from a checkpoint (not in a checkpoint)

    def __iter__(self):
        yield self.train_losses
        yield self.eval_losses

    @property
    def epochs(self):
        """Number of completed epochs."""
        return len(self.train_losses)

    #: ``history.csv``'s columns and the list each comes from.
    COLUMNS: ClassVar[dict] = {"train_loss": "train_losses", "eval_loss": "eval_losses",
                               "val_loss": "val_losses", "val_score": "val_scores",
                               "avg_grad": "avg_grads",
                               "learning_rate": "learning_rates", "seconds": "epoch_seconds"}

    def __repr__(self):
        if not self.epochs:
            return "History(0 epochs)"
        parts = [f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}",
                 f"train_loss {self.train_losses[0]:.4g} -> {self.train_losses[-1]:.4g}"]
        for name, values in (("eval_loss", self.eval_losses), ("val_loss", self.val_losses)):
            if values:
                parts.append(f"{name} {values[-1]:.4g}")
        if self.best_epoch is not None:
            parts.append(f"best_epoch {self.best_epoch}")
        parts += [flag for flag in ("stopped_early", "interrupted") if getattr(self, flag)]
        return f"History({', '.join(parts)}; {sum(self.epoch_seconds):.1f} s)"

    def state(self):
        """Everything but the interruption as plain JSON data (for a checkpoint)."""
        return {**{name: list(getattr(self, name)) for name in self.COLUMNS.values()},
                "best_epoch": self.best_epoch, "stopped_early": self.stopped_early,
                "warnings": list(self.warnings)}

    @classmethod
    def from_state(cls, state):
        """A History from :meth:`state`; TypeError or KeyError if ``state`` is not one."""
        if not isinstance(state, dict):
            raise TypeError(f"a history must be a JSON object, got {type(state).__name__}")
        lists = {name: state[name] for name in cls.COLUMNS.values()}
        for name, values in lists.items():
            if not isinstance(values, list) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                raise TypeError(f"the history's {name} must be a list of numbers")
        return cls(**{k: [float(v) for v in values] for k, values in lists.items()},
                   best_epoch=state["best_epoch"], stopped_early=bool(state["stopped_early"]),
                   warnings=[str(w) for w in state["warnings"]])

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
          val_split=0.0, patience=None, seed=None, rng=None, on_epoch=None, augment=None,
          checkpoint=None, checkpoint_every=1):
    """Train ``model`` with minibatch gradient descent.

    Parameters
    ----------
    model : NeuralNetwork
    X_train : array-like, shape (N, n_features)
        Any layout (a DataFrame, a Fortran-ordered array, a view, a list): it is converted
        once to a C-ordered array of the model's dtype, so every layout trains alike.
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
    optimizer : Optimizer or {"sgd", "adam", "adamw", "rmsprop", "adagrad"}, optional
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
    on_epoch : callable, optional
        Called as ``on_epoch(history)`` after every epoch (e.g. to log it).
    augment : callable, optional
        ``augment(x, out=buffer)`` distorts a training batch ``(B, n_features)``, e.g.
        :func:`nnscratch.augment.make_augmenter`; the next batches are distorted in a
        background thread while the current one trains (:class:`~nnscratch.augment.Prefetcher`).
        Its randomness is checkpointed when it draws from a Generator ``augment.rng`` (as
        the augmenters of :func:`~nnscratch.augment.make_augmenter` do).
    checkpoint : path, optional
        A checkpoint file, e.g. ``"run/checkpoint.npz"`` (see :mod:`nnscratch.checkpoint`).
        After every ``checkpoint_every`` epochs, and after the last, the training's whole
        state is written there atomically: the weights, the optimizer's state, the state of
        every random Generator (shuffling, dropout, augmentation), the epoch reached (the
        schedule's position), early stopping's best weights and counter, and the history.
        The one before is kept as ``checkpoint.prev.npz``. If the file exists when ``train``
        is called, training continues from it: call ``train`` again with the same arguments
        and a freshly built model (same seed), and it ends with the same weights and history,
        bit for bit (``epoch_seconds`` apart), as a run that was never stopped.
    checkpoint_every : int, default 1
        Epochs between checkpoints; 0 writes none (but still continues from ``checkpoint``).

    Returns
    -------
    History
        Per-epoch losses, learning rates and timings; unpacks to
        ``(train_losses, eval_losses)``. ``resumed_from`` is the epoch a checkpoint
        continued from (None for a fresh start).

    Raises
    ------
    DivergenceError
        When a batch's loss is not finite; ``error.history`` holds the epochs completed.
    CheckpointError
        ``checkpoint`` exists but is damaged, not a checkpoint, or was written by another
        training (another network, optimizer, data, seed or setting), and no usable previous
        checkpoint exists.

    Warns
    -----
    DivergenceWarning
        Once, when an epoch's training loss grows far past the first batch's.
    CheckpointWarning
        ``checkpoint`` was missing or refused, and training continued from the previous one.
    """
    if not isinstance(model, NeuralNetwork):
        raise TypeError(f"model must be a NeuralNetwork, got {type(model).__name__}")
    loss_fn = get_loss(loss_fn)
    epochs = check_int(epochs, "epochs", minimum=0)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    optimizer = _resolve_optimizer(optimizer, learning_rate)
    schedule = get_schedule(schedule, epochs=max(epochs, 1))
    clip = None if clip is None else check_positive(clip, "clip")
    val_split = check_fraction(val_split, "val_split")
    stopper = _EarlyStopping(patience, val_split)
    check_loss_fits_head(loss_fn, model)
    X = check_features(X_train, model, "X_train")
    y = check_targets(y_train, model, loss_fn, len(X), "y_train")
    test = None
    if X_test is not None and y_test is not None:
        X_test = check_features(X_test, model, "X_test")
        test = (X_test, check_targets(y_test, model, loss_fn, len(X_test), "y_test"))
    if rng is None:
        rng = model.rng if seed is None else np.random.default_rng(seed)
    if checkpoint is not None:
        checkpoint_every = check_int(checkpoint_every, "checkpoint_every", minimum=0)
        fingerprint = _fingerprint(  # taken before the hold-out draws: the same split
            model, loss_fn, optimizer, schedule, augment, (X, y, *(test or ())), rng,
            epochs=epochs, batch_size=batch_size, clip=clip, val_split=val_split,
            patience=stopper.patience)
    X, y, val = _hold_out(X, y, val_split, rng)

    history, start_loss, first_epoch = History(), None, 0
    stepper = _Stepper(model, optimizer, clip)
    batches = _Batches(X, y, batch_size)
    saver = None
    if checkpoint is not None:
        saver = Checkpointer(checkpoint, every=checkpoint_every)
        run = _RunState(stepper, stopper, _generators(rng, model, augment), fingerprint)
        found = saver.load(run.fingerprint, run.restore)
        if found is not None:
            history = History.from_state(found.meta["history"])
            history.resumed_from, start_loss = found.epoch, found.meta["start_loss"]
            first_epoch = epochs if history.stopped_early else found.epoch
    with _Progress(bar, epochs, first_epoch) as progress, _stop_requested_on_sigint() as sigint, \
            stepper, np.errstate(over="ignore", invalid="ignore"), _cores_for(augment):
        # (overflow and NaN are reported once, as a DivergenceError, not as warnings)
        for epoch in range(first_epoch, epochs):
            start = time.perf_counter()
            stepper.start_epoch(schedule(epoch, stepper.base_lr))
            losses, grad_sizes = [], []
            order = rng.permutation(len(X))
            # The Prefetcher lives for this epoch only: when the block ends its thread has
            # made exactly this epoch's draws, so a checkpoint taken after it holds the
            # augmenter's Generator at the epoch's end, not batches ahead.
            with contextlib.closing(batches.shuffled(order, augment)) as epoch_batches:
                for batch, (x_batch, y_batch) in enumerate(epoch_batches, start=1):
                    loss, grad_size = model.train_batch(x_batch, y_batch, loss_fn,
                                                        grad_scale=stepper.grad_scale)
                    _check_finite(loss, epoch + 1, batch, optimizer.lr, history)
                    losses.append(loss)
                    grad_sizes.append(grad_size)
                    stepper.step()
                    if sigint["stop"]:  # Ctrl-C: stop after this batch
                        history.interrupted = True
                        break
            if history.interrupted:
                break
            _record_epoch(history, model, loss_fn, losses, grad_sizes, optimizer.lr, test, val)
            start_loss = losses[0] if start_loss is None else start_loss
            _warn_if_blowing_up(history, start_loss, optimizer.lr)
            history.epoch_seconds.append(time.perf_counter() - start)
            progress.update(history)
            if on_epoch is not None:
                on_epoch(history)
            stop = stopper.update(history, stepper.params)
            if saver is not None and saver.due(epoch + 1, stop or epoch + 1 == epochs):
                saver.write(*run.state(epoch + 1, history, start_loss))
            if stop:
                break
    stopper.restore(stepper.params)
    return history


class _RunState:
    """What a checkpoint holds of a training, and putting it back (see :func:`train`)."""

    def __init__(self, stepper, stopper, generators, fingerprint):
        self.stepper, self.stopper, self.generators = stepper, stopper, generators
        self.fingerprint = {**fingerprint, "generators": len(generators)}

    def state(self, epoch, history, start_loss):
        """``(metadata, arrays)`` after ``epoch`` epochs."""
        optimizer = self.stepper.optimizer.state_dict()
        best = self.stopper.best_loss
        meta = {"epoch": epoch, "fingerprint": self.fingerprint, "history": history.state(),
                "start_loss": start_loss,
                "random_states": [g.bit_generator.state for g in self.generators],
                "optimizer": {"t": optimizer["t"], "layout": optimizer["layout"]},
                "early_stopping": {"best_loss": None if math.isinf(best) else best,
                                   "bad_epochs": self.stopper.bad_epochs}}
        arrays = {"params": self.stepper.params[0],
                  **{f"optimizer.{k}": v for k, v in optimizer["arrays"].items()}}
        if self.stopper.best_params is not None:
            arrays["best_params"] = self.stopper.best_params[0]
        return meta, arrays

    def restore(self, found):
        """Put a checkpoint's state back; ValueError, TypeError or KeyError (with nothing
        changed) if it does not fit."""
        meta, arrays = found.meta, found.arrays
        History.from_state(meta["history"])  # checked here, built by train
        if not (meta["start_loss"] is None or isinstance(meta["start_loss"], float)):
            raise TypeError(f"start_loss must be a number, got {meta['start_loss']!r}")
        (params,) = self.stepper.params
        for name in ("params", "best_params"):
            if name in arrays and (arrays[name].shape != params.shape
                                   or arrays[name].dtype != params.dtype):
                raise ValueError(f"{name} has shape {arrays[name].shape} and dtype "
                                 f"{arrays[name].dtype}; the network's are {params.shape}, "
                                 f"{params.dtype}")
        if (self.stopper.patience is not None) != ("best_params" in arrays):
            raise ValueError("its early stopping state does not match this training's")
        states = meta["random_states"]
        if len(states) != len(self.generators):
            raise ValueError(f"it restores {len(states)} random generators, this training "
                             f"draws from {len(self.generators)}")
        for generator, state in zip(self.generators, states, strict=True):
            type(generator.bit_generator)().state = state  # checked on a spare one first
        stopping = meta["early_stopping"]
        best_loss = math.inf if stopping["best_loss"] is None else float(stopping["best_loss"])
        bad_epochs = check_int(stopping["bad_epochs"], "bad_epochs", minimum=0)
        optimizer = {**meta["optimizer"],
                     "arrays": {k.removeprefix("optimizer."): v for k, v in arrays.items()
                                if k.startswith("optimizer.")}}
        self.stepper.optimizer.load_state_dict(optimizer, self.stepper.params)  # checks first
        params[...] = arrays["params"]
        self.stopper.best_loss, self.stopper.bad_epochs = best_loss, bad_epochs
        self.stopper.best_params = ([arrays["best_params"].copy()] if "best_params" in arrays
                                    else None)
        for generator, state in zip(self.generators, states, strict=True):
            generator.bit_generator.state = state


def _generators(rng, model, augment):
    """Every Generator the training draws from, each once: the shuffling's, the model's
    (dropout), any layer's own, the augmenter's."""
    found = [rng, model.rng, *(getattr(layer, "rng", None) for layer in model.layers),
             getattr(augment, "rng", None)]
    unique = []
    for generator in found:
        if isinstance(generator, np.random.Generator) and all(generator is not g
                                                              for g in unique):
            unique.append(generator)
    return unique


def _fingerprint(model, loss_fn, optimizer, schedule, augment, data, rng, **settings):
    """What a training is, as JSON data: a checkpoint of any other is refused. ``data`` are
    the arrays it reads; ``rng`` is the shuffling's Generator before any draw."""
    hyper = {k: v if isinstance(v, (bool, int, float, str, tuple, type(None))) else repr(v)
             for k, v in vars(optimizer).items() if k not in ("state", "t")}
    return {"network": repr(model), "loss": _stable_repr(loss_fn),
            "optimizer": {"name": type(optimizer).__name__, **hyper},
            "schedule": _stable_repr(schedule),
            "augment": None if augment is None else _stable_repr(augment),
            **settings, "data": _digest(*data), "random_state": rng.bit_generator.state}


def _stable_repr(obj):
    """``repr(obj)`` without memory addresses: the same in every process."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(obj))


def _digest(*arrays):
    """The shapes, dtypes and CRC-32 of the data (a checkpoint of other data is refused)."""
    return [[list(a.shape), a.dtype.str, zlib.crc32(np.ascontiguousarray(a))] for a in arrays]


def _cores_for(augment):
    """With augmentation, one core fewer for BLAS: it is the prefetching thread's.

    Why: the training step's products would otherwise take both cores of a 2-core machine
    and the distortions could not overlap them (measured on 784-800-10, batch 128: elastic
    +82-93% per epoch with BLAS on both cores, +20% with it on one; benchmarks/RESULTS.md).
    """
    if augment is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_info, threadpool_limits

    cores = max((info["num_threads"] for info in threadpool_info()
                 if info["user_api"] == "blas"), default=1)
    return threadpool_limits(max(1, cores - 1), user_api="blas")


def _record_epoch(history, model, loss_fn, losses, grad_sizes, lr, test, val):
    """Append the epoch's training loss, gradient size, rate and evaluations to ``history``."""
    history.train_losses.append(float(np.mean(losses)))
    history.avg_grads.append(float(np.mean(grad_sizes)))
    history.learning_rates.append(lr)
    if test is not None:
        history.eval_losses.append(model.evaluate(*test, loss_fn)[0])
    if val is not None:
        val_loss, val_score = model.evaluate(*val, loss_fn)
        history.val_losses.append(val_loss)
        history.val_scores.append(val_score)


def _check_finite(loss, epoch, batch, lr, history):
    """Raise a DivergenceError when a batch's loss is NaN or infinite."""
    if not math.isfinite(loss):
        raise DivergenceError(
            f"training diverged: the loss became {loss} at epoch {epoch}, batch {batch}; "
            f"lower the learning rate (it was {lr:g}) or clip the gradients",
            history=history, epoch=epoch, batch=batch)


#: An epoch whose mean training loss exceeds the first batch's this many times is blowing up.
BLOW_UP_FACTOR = 10.0


def _warn_if_blowing_up(history, start_loss, lr):
    """Warn once when an epoch's loss has grown far past the first batch's (still finite)."""
    if history.warnings or not history.train_losses[-1] > BLOW_UP_FACTOR * start_loss:
        return
    message = (f"the training loss grew from {start_loss:.3g} (first batch) to "
               f"{history.train_losses[-1]:.3g} (epoch {history.epochs}): the training is "
               f"blowing up; lower the learning rate, now {lr:g}, or clip the gradients")
    history.warnings.append(message)
    warnings.warn(message, DivergenceWarning, stacklevel=3)


class _Stepper:
    """Applies the optimizer after each batch, over one flat vector of every parameter.

    Plain SGD folds the learning rate into the output gradient: back-propagation is linear,
    so every gradient then comes out as ``lr * dL/dp`` and the step is one subtraction,
    ``p -= g``, instead of a multiplication and a subtraction. On exit the stored gradients
    are divided back to ``dL/dp`` and the optimizer's base rate is restored.
    """

    def __init__(self, model, optimizer, clip):
        flat_params, flat_grads = model.flat_parameters()
        self.params, self.grads = [flat_params], [flat_grads]
        self.optimizer, self.clip, self.base_lr = optimizer, clip, optimizer.lr
        # type(...) is SGD: not a subclass, whose step may differ
        self.fold = type(optimizer) is SGD and optimizer.plain and clip is None
        self.grad_scale = 1  # what the stored gradients are multiplied by

    def start_epoch(self, lr):
        self.optimizer.lr = lr
        self.grad_scale = lr if self.fold else 1

    def step(self):
        if self.clip is not None:
            clip_grad_norm(self.grads, self.clip)
        if self.fold:
            self.params[0] -= self.grads[0]  # the gradients hold lr * dL/dp
        else:
            self.optimizer.step(self.params, self.grads)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.grad_scale != 1:  # leave the true gradients of the last batch
            self.grads[0] /= self.grad_scale
        self.optimizer.lr = self.base_lr


class _EarlyStopping:
    """Tracks the best validation loss; with ``patience``, stops and keeps the best weights."""

    def __init__(self, patience, val_split):
        if patience is not None:
            patience = check_int(patience, "patience", minimum=1)
            if val_split == 0:
                raise ValueError("patience needs a validation set: set val_split > 0")
        self.patience, self.best_loss, self.best_params, self.bad_epochs = \
            patience, math.inf, None, 0

    def update(self, history, params):
        """Note the epoch's validation loss; True when training should stop."""
        if not history.val_losses:
            return False
        if history.val_losses[-1] < self.best_loss:
            self.best_loss, self.bad_epochs = history.val_losses[-1], 0
            history.best_epoch = history.epochs
            if self.patience is not None:
                self.best_params = [p.copy() for p in params]
        else:
            self.bad_epochs += 1
        history.stopped_early = self.patience is not None and self.bad_epochs >= self.patience
        return history.stopped_early

    def restore(self, params):
        """Put the best weights back (with ``patience``)."""
        if self.best_params is not None:
            for p, best in zip(params, self.best_params, strict=True):
                p[...] = best


class _Progress:
    """The tqdm bar of :func:`train` (or nothing with ``bar=False``)."""

    def __init__(self, bar, epochs, done=0):
        self.pbar = tqdm.tqdm(total=epochs, initial=done, desc="Training Progress",
                              position=0) if bar else None

    def update(self, history):
        if self.pbar is not None:
            self.pbar.update(1)
            self.pbar.set_postfix(train_loss=history.train_losses[-1],
                                  eval_loss=history.eval_losses[-1] if history.eval_losses
                                  else None, avg_grad=history.avg_grads[-1])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.pbar is not None:
            self.pbar.close()


def _hold_out(X, y, val_split, rng):
    """Split a seeded random ``val_split`` of the rows off: ``(X, y, (X_val, y_val) or None)``."""
    if not val_split:
        return X, y, None
    order = rng.permutation(len(X))
    n_val = max(1, round(val_split * len(X)))
    if n_val >= len(X):
        raise ValueError(f"val_split={val_split} leaves no training data from {len(X)} "
                         "samples")
    return X[order[n_val:]], y[order[n_val:]], (X[order[:n_val]], y[order[:n_val]])


class _Batches:
    """The minibatches of ``X, y``, each gathered into buffers allocated once: no per-epoch
    copy of the shuffled data set and no new ``(batch, features)`` array per step."""

    def __init__(self, X, y, batch_size):
        self.X, self.y, self.batch_size = X, y, batch_size
        rows = min(batch_size, len(X))
        self.x_buffer = np.empty((rows, *X.shape[1:]), X.dtype)
        self.y_buffer = np.empty((rows, *y.shape[1:]), y.dtype)

    def shuffled(self, order, augment=None):
        """Yield ``(x, y)`` batches in ``order`` (drawn by the caller, in its own thread);
        with ``augment``, distorted in a background thread, a few batches ahead."""
        if augment is None:
            yield from self._gather(order)
            return
        with Prefetcher(self._gather(order), augment) as prefetched:
            yield from prefetched

    def _gather(self, order):
        for i in range(0, len(self.X), self.batch_size):
            idx = order[i:i + self.batch_size]
            # mode="clip": "raise" would buffer the output (the indices are in range anyway)
            yield (self.X.take(idx, axis=0, out=self.x_buffer[:len(idx)], mode="clip"),
                   self.y.take(idx, axis=0, out=self.y_buffer[:len(idx)], mode="clip"))


def accuracy(model, X, y_true):
    """Fraction of rows whose predicted class equals the true one (labels or one-hot)."""
    y_true = np.asarray(y_true)
    true_labels = np.argmax(y_true, axis=1) if y_true.ndim == 2 else y_true
    pred_labels = np.argmax(model.forward(X), axis=1)
    return float(np.mean(pred_labels == true_labels))
