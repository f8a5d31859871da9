"""The training loop: minibatch gradient descent with a progress bar, as in the blog.

``train`` keeps the blog's signature and return value (``train_losses, eval_losses`` unpack
from the :class:`History` it returns) and adds what a practitioner needs: any optimizer and
learning-rate schedule, gradient clipping, a validation split with early stopping, a seed,
a clear error when the loss diverges, Ctrl-C that stops cleanly after the current batch, and
checkpoints (``checkpoint=PATH``) from which a killed run continues bit-identically. The loop
(:class:`TrainingLoop`) does the gradient steps and records the history; each of those other
concerns is a callback (:mod:`nnscratch.callbacks`) whose hooks it calls.
"""

import contextlib
import math
import re
import time
import zlib
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .augment import Prefetcher
from .callbacks import (
    BLOW_UP_FACTOR,  # noqa: F401  (its home was here)
    HOOKS,
    BlowUpWarning,
    Callback,
    Checkpoint,
    EarlyStopping,
    LambdaCallback,
    ProgressBar,
    StopOnCtrlC,
    TerminateOnNaN,
    split_state,
)
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
          checkpoint=None, checkpoint_every=1, callbacks=None):
    """Train ``model`` with minibatch gradient descent.

    Everything besides the gradient steps is a callback (:mod:`nnscratch.callbacks`): the
    keyword arguments ``bar``, ``patience``, ``on_epoch`` and ``checkpoint`` build the
    built-in ones, and ``callbacks`` adds the caller's own.

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
        Show a tqdm progress bar with train_loss, eval_loss and avg_grad
        (:class:`~nnscratch.callbacks.ProgressBar`).
    optimizer : Optimizer or {"sgd", "adam", "adamw", "rmsprop", "adagrad"}, optional
        Default: plain SGD with ``learning_rate``.
    schedule : callable or {"constant", "step", "cosine", "onecycle"}, optional
        Learning rate per epoch, ``schedule(epoch, base_lr)``; one with ``per_step = True``
        is called before every batch with the fractional epoch.
    clip : float, optional
        Clip the global gradient norm to this value before each step.
    val_split : float in [0, 1)
        Fraction of the training data held out (seeded) for ``val_losses``.
    patience : int, optional
        Stop after this many epochs without a better validation loss and restore the best
        weights (needs ``val_split > 0``; :class:`~nnscratch.callbacks.EarlyStopping`).
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
        A checkpoint file, e.g. ``"run/checkpoint.npz"`` (see :mod:`nnscratch.checkpoint`
        and :class:`~nnscratch.callbacks.Checkpoint`). After every ``checkpoint_every``
        epochs, and after the last, the training's whole state is written there atomically:
        the weights, the optimizer's state, the state of every random Generator (shuffling,
        dropout, augmentation), the epoch reached (the schedule's position), the callbacks'
        state (early stopping's best weights and counter, ...), and the history. The one
        before is kept as ``checkpoint.prev.npz``. If the file exists when ``train`` is
        called, training continues from it: call ``train`` again with the same arguments
        and a freshly built model (same seed), and it ends with the same weights and history,
        bit for bit (``epoch_seconds`` apart), as a run that was never stopped.
    checkpoint_every : int, default 1
        Epochs between checkpoints; 0 writes none (but still continues from ``checkpoint``).
    callbacks : list of Callback, optional
        The caller's callbacks (:class:`~nnscratch.callbacks.Callback`), called after the
        built-in ones in this order (a :class:`~nnscratch.callbacks.Checkpoint` always
        last). One of a built-in class (e.g. ``EarlyStopping(3)``) replaces the built-in.

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
    Exception
        Whatever a callback raises stops the training there and reaches the caller
        unchanged, once every callback's ``on_train_end`` has run (the progress bar closed,
        Ctrl-C's handler put back).

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
    callbacks = _callbacks(callbacks, bar=bar, patience=patience, on_epoch=on_epoch,
                           checkpoint=checkpoint, checkpoint_every=checkpoint_every)
    check_loss_fits_head(loss_fn, model)
    X = check_features(X_train, model, "X_train")
    y = check_targets(y_train, model, loss_fn, len(X), "y_train")
    test = None
    if X_test is not None and y_test is not None:
        X_test = check_features(X_test, model, "X_test")
        test = (X_test, check_targets(y_test, model, loss_fn, len(X_test), "y_test"))
    if rng is None:
        rng = model.rng if seed is None else np.random.default_rng(seed)
    loop = TrainingLoop(model, loss_fn, optimizer, schedule, X, y, test, rng, epochs=epochs,
                        batch_size=batch_size, clip=clip, val_split=val_split, augment=augment,
                        callbacks=callbacks)
    return loop.run()


def _callbacks(given, *, bar, patience, on_epoch, checkpoint, checkpoint_every):
    """The callbacks of a training: the built-ins (those of a class ``given`` lacks), then
    ``given``, the checkpoints last."""
    given = list(given or ())
    for callback in given:
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be Callback instances, got "
                            f"{type(callback).__name__}")
    for name, value, kind in (("patience", patience, EarlyStopping),
                              ("checkpoint", checkpoint, Checkpoint)):
        if value is not None and any(isinstance(c, kind) for c in given):
            article = "an" if kind.__name__[0] in "AEIOU" else "a"
            raise ValueError(f"give {name} to train or {article} {kind.__name__} callback, "
                             "not both")
    first = [TerminateOnNaN(), StopOnCtrlC(), BlowUpWarning()]
    if on_epoch is not None:
        each = LambdaCallback()
        each.on_epoch_end = lambda epoch, logs: on_epoch(each.loop.history)
        first.append(each)
    first.append(EarlyStopping(patience))
    last = [ProgressBar()] if bar else []
    if checkpoint is not None:
        last.append(Checkpoint(checkpoint, every=checkpoint_every))
    everything = [c for c in [*first, *given, *last] if c in given or isinstance(
        c, LambdaCallback) or not any(isinstance(g, type(c)) for g in given)]
    return [c for c in everything if not isinstance(c, Checkpoint)] + \
        [c for c in everything if isinstance(c, Checkpoint)]


class TrainingLoop:
    """One training in progress: the minibatch loop that :func:`train` runs, calling its
    callbacks' hooks, and what they see of it as ``self.loop``.

    Attributes
    ----------
    model, loss_fn, optimizer, schedule, augment, rng
        As given to :func:`train`.
    epochs, batch_size, clip, val_split : settings of the training.
    X, y : the training data after the validation hold-out; ``val``, ``test``: ``(X, y)``
        pairs or None.
    params : list of one ndarray
        Every parameter of the model, as one flat vector (a view the optimizer steps).
    history : History
    epoch : int
        The epoch under way (from 0); ``first_epoch`` is where this call started.
    batch_losses : list of float
        The training losses of the epoch's batches so far.
    stop_training : bool
        Set by a callback to stop (Keras' ``model.stop_training``).
    exception : BaseException or None
        What is stopping the training, while the ``on_train_end`` hooks run.
    callbacks : list of Callback
    """

    def __init__(self, model, loss_fn, optimizer, schedule, X, y, test, rng, *, epochs,
                 batch_size, clip, val_split, augment, callbacks):
        self.model, self.loss_fn, self.optimizer, self.schedule = model, loss_fn, optimizer, \
            schedule
        self.rng, self.augment, self.test = rng, augment, test
        self.epochs, self.batch_size, self.clip, self.val_split = epochs, batch_size, clip, \
            val_split
        self._unsplit, self._random_state = (X, y, *(test or ())), rng.bit_generator.state
        self.X, self.y, self.val = _hold_out(X, y, val_split, rng)
        self._stepper = _Stepper(model, optimizer, clip)
        self._batches = _Batches(self.X, self.y, batch_size)
        self.params = self._stepper.params
        self.history, self.epoch, self.first_epoch = History(), 0, 0
        self.batch_losses, self.stop_training, self.exception = [], False, None
        self._fingerprint = None
        self.callbacks = callbacks
        for callback in callbacks:
            callback.set_loop(self)
        # each hook's bound methods, only of the callbacks that define it
        self._hooks = {hook: [getattr(c, hook) for c in callbacks
                              if getattr(getattr(c, hook), "__func__", None)
                              is not getattr(Callback, hook)] for hook in HOOKS}

    def _call(self, hook, *args):
        for method in self._hooks[hook]:
            method(*args)

    def run(self):
        """Resume from a checkpoint if there is one, then train to the end; the History."""
        try:
            for callback in self.callbacks:
                if isinstance(callback, Checkpoint):
                    callback.resume()
            self._call("on_train_begin", {})
            with _cores_for(self.augment), self._stepper, \
                    np.errstate(over="ignore", invalid="ignore"):
                # (overflow and NaN are reported once, as a DivergenceError, not as warnings)
                for epoch in range(self.first_epoch, self.epochs):
                    self._run_epoch(epoch)
                    if self.stop_training:
                        break
        except BaseException as exc:
            self.exception = exc
            raise
        finally:
            self._end()
        return self.history

    def _end(self):
        """Every ``on_train_end``, even when one of them fails (the first failure is raised)."""
        failure = None
        for method in self._hooks["on_train_end"]:
            try:
                method({})
            except Exception as exc:
                failure = failure or exc
        if failure is not None and self.exception is None:
            raise failure

    def _run_epoch(self, epoch):
        """One pass over the shuffled training data, then the epoch's record and hooks."""
        start = time.perf_counter()
        self.epoch = epoch
        self._stepper.start_epoch(self.schedule(epoch, self._stepper.base_lr))
        self._call("on_epoch_begin", epoch, {})
        losses, grad_sizes = self.batch_losses, grad_sizes = [], []
        batch_hooks, model, loss_fn, stepper = (self._hooks["on_train_batch_end"], self.model,
                                                self.loss_fn, self._stepper)
        order = self.rng.permutation(len(self.X))
        per_step = getattr(self.schedule, "per_step", False)
        n_batches = -(-len(self.X) // self.batch_size)
        # The Prefetcher lives for this epoch only: when the block ends its thread has
        # made exactly this epoch's draws, so a checkpoint taken after it holds the
        # augmenter's Generator at the epoch's end, not batches ahead.
        with contextlib.closing(self._batches.shuffled(order, self.augment)) as batches:
            for batch, (x_batch, y_batch) in enumerate(batches):
                if per_step:  # e.g. one-cycle: the rate at this batch's fraction of the epoch
                    stepper.start_epoch(self.schedule(epoch + batch / n_batches,
                                                      stepper.base_lr))
                loss, grad_size = model.train_batch(x_batch, y_batch, loss_fn,
                                                    grad_scale=stepper.grad_scale)
                losses.append(loss)
                grad_sizes.append(grad_size)
                stepper.step()
                logs = {"loss": loss}
                for method in batch_hooks:
                    method(batch, logs)
                if self.stop_training:  # e.g. Ctrl-C: the epoch is cut short, unrecorded
                    self.history.interrupted = True
                    return
        history = self.history
        _record_epoch(history, model, loss_fn, losses, grad_sizes, self.optimizer.lr,
                      self.test, self.val)
        history.epoch_seconds.append(time.perf_counter() - start)
        logs = {column: values[-1] for column, name in History.COLUMNS.items()
                if (values := getattr(history, name))}
        self._call("on_epoch_end", epoch, logs)

    # --- what a checkpoint holds (see Checkpoint) ----------------------------------------
    @property
    def generators(self):
        """Every Generator the training draws from (see :func:`_generators`)."""
        return _generators(self.rng, self.model, self.augment)

    def fingerprint(self):
        """What this training is, as JSON data: a checkpoint of any other is refused. Taken
        once, at the first call (before training: the optimizer at its base rate)."""
        if self._fingerprint is None:
            patience = next((c.patience for c in self.callbacks
                             if isinstance(c, EarlyStopping)), None)
            found = _fingerprint(self.model, self.loss_fn, self.optimizer, self.schedule,
                                 self.augment, self._unsplit, self._random_state,
                                 epochs=self.epochs, batch_size=self.batch_size,
                                 clip=self.clip, val_split=self.val_split, patience=patience)
            self._fingerprint = {**found, "generators": len(self.generators)}
        return self._fingerprint

    def _stateful(self):
        return [c for c in self.callbacks if c.state_key is not None]

    def state_dict(self):
        """``(metadata, arrays)`` of the training after ``history.epochs`` epochs."""
        optimizer = self.optimizer.state_dict()
        meta = {"epoch": self.history.epochs, "fingerprint": self.fingerprint(),
                "history": self.history.state(),
                "random_states": [g.bit_generator.state for g in self.generators],
                "optimizer": {"t": optimizer["t"], "layout": optimizer["layout"]},
                "callbacks": {}}
        arrays = {"params": self.params[0],
                  **{f"buffers.{i}": b for i, b in enumerate(self.model.buffers())},
                  **{f"optimizer.{k}": v for k, v in optimizer["arrays"].items()}}
        for callback in self._stateful():
            data, callback_arrays = split_state(callback.state_dict())
            meta["callbacks"][callback.state_key] = data
            arrays.update({f"callbacks.{callback.state_key}.{k}": v
                           for k, v in callback_arrays.items()})
        return meta, arrays

    def load_state_dict(self, found):
        """Continue from a checkpoint read back (:class:`~nnscratch.checkpoint.Checkpoint`);
        ValueError, TypeError or KeyError, with nothing changed, if it does not fit."""
        meta, arrays = found.meta, found.arrays
        history = History.from_state(meta["history"])
        (params,) = self.params
        if arrays["params"].shape != params.shape or arrays["params"].dtype != params.dtype:
            raise ValueError(f"params has shape {arrays['params'].shape} and dtype "
                             f"{arrays['params'].dtype}; the network's are {params.shape}, "
                             f"{params.dtype}")
        buffers = self.model.buffers()
        stored = [arrays.get(f"buffers.{i}") for i in range(len(buffers))]
        if sum(k.startswith("buffers.") for k in arrays) != len(buffers) or any(
                b is None or b.shape != a.shape or b.dtype != a.dtype
                for a, b in zip(buffers, stored, strict=True)):
            raise ValueError("its running statistics (batchnorm) do not fit this network")
        generators, states = self.generators, meta["random_states"]
        if len(states) != len(generators):
            raise ValueError(f"it restores {len(states)} random generators, this training "
                             f"draws from {len(generators)}")
        for generator, state in zip(generators, states, strict=True):
            type(generator.bit_generator)().state = state  # checked on a spare one first
        optimizer = {**meta["optimizer"],
                     "arrays": {k.removeprefix("optimizer."): v for k, v in arrays.items()
                                if k.startswith("optimizer.")}}
        stateful = self._stateful()
        before = [c.state_dict() for c in stateful]
        try:
            for callback in stateful:
                prefix = f"callbacks.{callback.state_key}."
                callback.load_state_dict({**meta["callbacks"][callback.state_key],
                                          **{k.removeprefix(prefix): v
                                             for k, v in arrays.items()
                                             if k.startswith(prefix)}})
            self.optimizer.load_state_dict(optimizer, self.params)  # checks first
        except Exception:
            for callback, state in zip(stateful, before, strict=True):
                callback.load_state_dict(state)
            raise
        params[...] = arrays["params"]
        for buffer, value in zip(buffers, stored, strict=True):
            buffer[...] = value
        for generator, state in zip(generators, states, strict=True):
            generator.bit_generator.state = state
        history.resumed_from = found.epoch
        self.history = history
        self.first_epoch = self.epochs if history.stopped_early else found.epoch


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


def _fingerprint(model, loss_fn, optimizer, schedule, augment, data, random_state, **settings):
    """What a training is, as JSON data: a checkpoint of any other is refused. ``data`` are
    the arrays it reads; ``random_state`` is the shuffling Generator's before any draw."""
    hyper = {k: v if isinstance(v, (bool, int, float, str, tuple, type(None))) else repr(v)
             for k, v in vars(optimizer).items() if k not in ("state", "t", "threads")}
    return {"network": repr(model), "loss": _stable_repr(loss_fn),
            "optimizer": {"name": type(optimizer).__name__, **hyper},
            "schedule": _stable_repr(schedule),
            "augment": None if augment is None else _stable_repr(augment),
            **settings, "data": _digest(*data), "random_state": random_state}


def _stable_repr(obj):
    """``repr(obj)`` without memory addresses: the same in every process."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(obj))


def _digest(*arrays):
    """The shapes, dtypes and CRC-32 of the data (a checkpoint of other data is refused)."""
    return [[list(a.shape), a.dtype.str, zlib.crc32(np.ascontiguousarray(a))] for a in arrays]


def _cores_for(augment):
    """With a costly augmentation (``needs_a_core``), one core fewer for BLAS: it is the
    prefetching thread's.

    Why: the training step's products would otherwise take both cores of a 2-core machine
    and the elastic distortions, themselves products, could not overlap them (measured on
    784-800-10, batch 128: elastic +82-93% per epoch with BLAS on both cores, +20% with it on
    one). A cheap distortion (a shift) overlaps the step on both cores: the best recipe's
    epoch took 4.5-5.2 s so, 6.2-6.5 s with BLAS on one core (benchmarks/RESULTS.md). A
    callable of the caller's own is taken as costly.
    """
    if augment is None or not getattr(augment, "needs_a_core", True):
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(max(1, _blas_threads() - 1), user_api="blas")


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
        # an optimizer whose step can spread over threads (Adam's slices) takes as many as
        # the products (BLAS) have
        self.threads = self.optimizer.__dict__.get("threads")
        if hasattr(self.optimizer, "threads"):
            self.optimizer.threads = _blas_threads()
        return self

    def __exit__(self, *exc):
        if self.grad_scale != 1:  # leave the true gradients of the last batch
            self.grads[0] /= self.grad_scale
        self.optimizer.lr = self.base_lr
        if self.threads is not None:
            self.optimizer.threads = self.threads
        elif "threads" in vars(self.optimizer):
            del self.optimizer.threads  # back to the class's default


def _blas_threads():
    """The threads BLAS runs its products on now (1 when it cannot be told)."""
    from threadpoolctl import threadpool_info

    return max((info["num_threads"] for info in threadpool_info()
                if info["user_api"] == "blas"), default=1)


def held_out_count(n, val_split):
    """How many of ``n`` rows a ``val_split`` holds out for validation (at least one)."""
    return max(1, round(val_split * n)) if val_split else 0


def _hold_out(X, y, val_split, rng):
    """Split a seeded random ``val_split`` of the rows off: ``(X, y, (X_val, y_val) or None)``."""
    if not val_split:
        return X, y, None
    order = rng.permutation(len(X))
    n_val = held_out_count(len(X), val_split)
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
