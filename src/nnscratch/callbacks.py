"""Callbacks: what :func:`~nnscratch.training.train` does besides the gradient steps.

The training loop calls hooks with Keras' names and arguments, and each concern is a small
class with its own state: :class:`EarlyStopping`, :class:`Checkpoint`, :class:`ProgressBar`,
:class:`StepProgressBar`,
:class:`CSVLogger`, :class:`TerminateOnNaN` (the divergence check), :class:`BlowUpWarning`
and :class:`StopOnCtrlC`. ``train``'s keyword arguments (``patience``, ``checkpoint``,
``bar``, ``on_epoch``) build them; ``train(..., callbacks=[...])`` adds the caller's own.

A callback sees the running training as ``self.loop`` (a
:class:`~nnscratch.training.TrainingLoop`: ``model``, ``history``, ``optimizer``, ``epochs``,
``stop_training``, ...). One that keeps state across epochs names a ``state_key`` and
returns it from ``state_dict`` (JSON data and NumPy arrays), which a checkpoint stores and
``load_state_dict`` puts back, as Lightning's callbacks do.
"""

import csv
import io
import math
import signal
import threading
import warnings

import numpy as np
import tqdm

from .checkpoint import Checkpointer
from .errors import DivergenceError, DivergenceWarning
from .files import write_text
from .validation import check_int

#: The hooks, in the order a training calls them (the batch and epoch ones repeatedly).
HOOKS = ("on_train_begin", "on_epoch_begin", "on_train_batch_end", "on_epoch_end",
         "on_train_end")


class Callback:
    """Base class: every hook does nothing.

    Hooks (Keras' names; ``epoch`` and ``batch`` count from 0):

    - ``on_train_begin(logs)``: after a checkpoint, if any, was resumed from.
    - ``on_epoch_begin(epoch, logs)``
    - ``on_train_batch_end(batch, logs)``: after the batch's step; ``logs["loss"]``.
    - ``on_epoch_end(epoch, logs)``: after the epoch is in ``self.loop.history``; ``logs``
      holds its values (``train_loss``, ``val_loss``, ...).
    - ``on_train_end(logs)``: however training ends, like a ``finally``: also when an
      exception stops it (``self.loop.exception``), so a callback can release what it holds.

    Setting ``self.loop.stop_training = True`` ends the training after the current epoch
    (or, set during an epoch, after the current batch, the epoch unrecorded and the history
    marked interrupted). An exception raised by a hook stops the training at once and
    reaches the caller of ``train`` unchanged, after every ``on_train_end``.
    """

    #: Where a checkpoint keeps this callback's :meth:`state_dict` (None: it keeps none).
    state_key = None

    def set_loop(self, loop):
        """Attach to the training ``loop`` before it starts (Keras' ``set_model``); a
        callback that keeps state starts it afresh here."""
        self.loop = loop

    def on_train_begin(self, logs=None):
        """Called once, before the first epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of each epoch."""

    def on_train_batch_end(self, batch, logs=None):
        """Called after each training step."""

    def on_epoch_end(self, epoch, logs=None):
        """Called after each completed epoch."""

    def on_train_end(self, logs=None):
        """Called once when training ends, whatever the reason."""

    def state_dict(self):
        """The state to checkpoint: a dict of JSON data and NumPy arrays."""
        return {}

    def load_state_dict(self, state):
        """Put :meth:`state_dict`'s ``state`` back; ValueError, TypeError or KeyError when it
        does not fit (a checkpoint of another training is then refused)."""

    def __repr__(self):
        shown = {k: v for k, v in vars(self).items() if k != "loop" and not k.startswith("_")}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


class EarlyStopping(Callback):
    """With ``patience``, stop after that many epochs without a better validation loss and
    put the best epoch's weights back at the end (``history.best_epoch``: the epoch kept).
    Without, nothing: the last epoch's weights are kept, and ``best_epoch`` stays None.

    Parameters
    ----------
    patience : int, optional
        Epochs without a better validation loss before stopping (needs a validation split).
    """

    state_key = "early_stopping"

    def __init__(self, patience=None):
        self.patience = None if patience is None else check_int(patience, "patience",
                                                                  minimum=1)

    def set_loop(self, loop):
        if self.patience is not None and loop.val is None:
            raise ValueError("patience needs a validation set: set val_split > 0")
        super().set_loop(loop)
        self.best_loss, self.bad_epochs, self.best_params = math.inf, 0, None
        self.best_buffers = []

    def on_epoch_end(self, epoch, logs=None):
        history = self.loop.history
        if not history.val_losses:
            return
        if history.val_losses[-1] < self.best_loss:
            self.best_loss, self.bad_epochs = history.val_losses[-1], 0
            if self.patience is not None:  # the weights kept; without patience, the last
                history.best_epoch = history.epochs
                self.best_params = self.loop.params[0].copy()
                self.best_buffers = [b.copy() for b in self.loop.model.buffers()]
        else:
            self.bad_epochs += 1
        history.stopped_early = self.patience is not None and self.bad_epochs >= self.patience
        if history.stopped_early:
            self.loop.stop_training = True

    def on_train_end(self, logs=None):
        """Put the best weights back (with ``patience``), unless an exception ended it."""
        if self.best_params is not None and self.loop.exception is None:
            self.loop.params[0][...] = self.best_params
            for buffer, best in zip(self.loop.model.buffers(), self.best_buffers, strict=True):
                buffer[...] = best

    def state_dict(self):
        state = {"best_loss": None if math.isinf(self.best_loss) else self.best_loss,
                 "bad_epochs": self.bad_epochs}
        if self.best_params is not None:
            state["best_params"] = self.best_params
            state.update({f"best_buffers.{i}": b for i, b in enumerate(self.best_buffers)})
        return state

    def load_state_dict(self, state):
        params = self.loop.params[0]
        best = state.get("best_params")
        if (self.patience is not None) != (best is not None):
            raise ValueError("its early stopping state does not match this training's")
        if best is not None and (best.shape != params.shape or best.dtype != params.dtype):
            raise ValueError(f"best_params has shape {best.shape} and dtype {best.dtype}; "
                             f"the network's are {params.shape}, {params.dtype}")
        best_loss = math.inf if state["best_loss"] is None else float(state["best_loss"])
        self.bad_epochs = check_int(state["bad_epochs"], "bad_epochs", minimum=0)
        buffers = [state.get(f"best_buffers.{i}") for i in range(len(self.loop.model.buffers()))]
        if best is not None and any(b is None for b in buffers):
            raise ValueError("its early stopping state lacks the best running statistics")
        self.best_loss, self.best_params = best_loss, None if best is None else best.copy()
        self.best_buffers = [b.copy() for b in buffers] if best is not None else []


class Checkpoint(Callback):
    """Write the training's whole state to ``path`` after every ``every`` epochs and after
    the last, and continue from it when it exists as training starts (see
    :mod:`nnscratch.checkpoint`): a killed training, run again with the same arguments,
    ends bit for bit as if it had never stopped.

    Parameters
    ----------
    path : path
        E.g. ``"run/checkpoint.npz"``; the one before is kept as ``checkpoint.prev.npz``.
    every : int, default 1
        Epochs between checkpoints; 0 writes none (a checkpoint there is still resumed from).

    It runs after every other callback (as Lightning's checkpoints do), so what it writes
    includes their updates of the epoch.
    """

    def __init__(self, path, every=1):
        self.path, self.every = path, check_int(every, "checkpoint_every", minimum=0)

    def set_loop(self, loop):
        super().set_loop(loop)
        self._saver = Checkpointer(self.path, every=self.every)

    def resume(self):
        """Continue from the checkpoint if there is one (called before ``on_train_begin``);
        the :class:`~nnscratch.checkpoint.Checkpoint` read, or None."""
        return self._saver.load(self.loop.fingerprint(), self.loop.load_state_dict)

    def on_epoch_end(self, epoch, logs=None):
        loop = self.loop
        if self._saver.due(epoch + 1, loop.stop_training or epoch + 1 == loop.epochs):
            self._saver.write(*loop.state_dict())


class ProgressBar(Callback):
    """A tqdm bar over the epochs with train_loss, eval_loss and avg_grad."""

    def set_loop(self, loop):
        super().set_loop(loop)
        self._pbar = None

    def on_train_begin(self, logs=None):
        self._pbar = tqdm.tqdm(total=self.loop.epochs, initial=self.loop.first_epoch,
                               desc="Training Progress", position=0)

    def on_epoch_end(self, epoch, logs=None):
        self._pbar.update(1)
        self._pbar.set_postfix(train_loss=logs["train_loss"], eval_loss=logs.get("eval_loss"),
                               avg_grad=logs["avg_grad"])

    def on_train_end(self, logs=None):
        if self._pbar is not None:
            self._pbar.close()
            self._pbar = None


class StepProgressBar(ProgressBar):
    """A tqdm bar over the batches (steps) with the loss so far in the epoch and the last
    epoch's eval_loss: for trainings of few, long epochs (a language model's)."""

    def on_train_begin(self, logs=None):
        loop = self.loop
        per_epoch = -(-len(loop.X) // loop.batch_size)
        self._pbar = tqdm.tqdm(total=loop.epochs * per_epoch, initial=loop.first_epoch *
                               per_epoch, desc="Training", unit="step", position=0)
        self._eval = None

    def on_train_batch_end(self, batch, logs=None):
        self._pbar.update(1)
        if batch % 20 == 0:  # the mean of a few hundred floats: not every step
            losses = self.loop.batch_losses
            self._pbar.set_postfix(epoch=self.loop.epoch + 1, loss=f"{np.mean(losses):.4f}",
                                   eval_loss=self._eval, refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        if logs.get("eval_loss") is not None:
            self._eval = f"{logs['eval_loss']:.4f}"
        self._pbar.set_postfix(epoch=epoch + 1, loss=f"{logs['train_loss']:.4f}",
                               eval_loss=self._eval)


class CSVLogger(Callback):
    """Write the history so far to the CSV file ``path`` after every epoch, atomically (one
    row per epoch, the columns of ``history.csv``)."""

    def __init__(self, path):
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        history = self.loop.history
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, ["epoch", *history.COLUMNS], lineterminator="\n")
        writer.writeheader()
        writer.writerows(history.rows())
        write_text(self.path, buffer.getvalue())


class TerminateOnNaN(Callback):
    """Raise a :class:`~nnscratch.errors.DivergenceError` as soon as a batch's loss is NaN or
    infinite (naming the epoch, the batch and the learning rate)."""

    def on_train_batch_end(self, batch, logs=None):
        loss = logs["loss"]
        if not math.isfinite(loss):
            loop = self.loop
            epoch = loop.epoch + 1
            raise DivergenceError(
                f"training diverged: the loss became {loss} at epoch {epoch}, batch "
                f"{batch + 1}; lower the learning rate (it was {loop.optimizer.lr:g}) or clip "
                "the gradients", history=loop.history, epoch=epoch, batch=batch + 1)


#: An epoch whose mean training loss exceeds the first batch's this many times is blowing up.
BLOW_UP_FACTOR = 10.0


class BlowUpWarning(Callback):
    """Warn once (a :class:`~nnscratch.errors.DivergenceWarning`, also kept in
    ``history.warnings``) when an epoch's training loss has grown far past the first batch's
    while still finite."""

    state_key = "blow_up_warning"

    def set_loop(self, loop):
        super().set_loop(loop)
        self.start_loss = None  # the first batch's loss

    def on_epoch_end(self, epoch, logs=None):
        history, lr = self.loop.history, self.loop.optimizer.lr
        if self.start_loss is None:
            self.start_loss = self.loop.batch_losses[0]
        if history.warnings or not history.train_losses[-1] > BLOW_UP_FACTOR * self.start_loss:
            return
        message = (f"the training loss grew from {self.start_loss:.3g} (first batch) to "
                   f"{history.train_losses[-1]:.3g} (epoch {history.epochs}): the training is "
                   f"blowing up; lower the learning rate, now {lr:g}, or clip the gradients")
        history.warnings.append(message)
        warnings.warn(message, DivergenceWarning, stacklevel=2)

    def state_dict(self):
        return {"start_loss": self.start_loss}

    def load_state_dict(self, state):
        start = state["start_loss"]
        if not (start is None or isinstance(start, float)):
            raise TypeError(f"start_loss must be a number, got {start!r}")
        self.start_loss = start


class StopOnCtrlC(Callback):
    """The first Ctrl-C stops the training after the current batch (the history marked
    interrupted); a second one interrupts at once (``KeyboardInterrupt``). Outside the main
    thread signals cannot be caught: it does nothing there.

    The signal handler sets ``loop.stop_training`` itself, which the loop reads after every
    batch: no hook is called per batch (that cost ~1 us a step, measurable on small batches).
    """

    def set_loop(self, loop):
        super().set_loop(loop)
        self.requested, self._previous = False, None

    def on_train_begin(self, logs=None):
        if threading.current_thread() is threading.main_thread():
            self._previous = (signal.signal(signal.SIGINT, self._handler),)

    def _handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.loop.history.interrupted = True  # also when it comes between two epochs
        self.loop.stop_training = True

    def on_train_end(self, logs=None):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous[0])
            self._previous = None


class LambdaCallback(Callback):
    """A callback from functions, e.g. ``LambdaCallback(on_epoch_end=lambda epoch, logs:
    print(epoch, logs))`` (Keras' ``LambdaCallback``)."""

    def __init__(self, **hooks):
        unknown = sorted(set(hooks) - set(HOOKS))
        if unknown:
            raise ValueError(f"LambdaCallback takes the hooks {list(HOOKS)}, got {unknown[0]!r}")
        for name, function in hooks.items():
            setattr(self, name, function)


def split_state(state):
    """A :meth:`Callback.state_dict` as ``(json_part, arrays)``."""
    arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    return {k: v for k, v in state.items() if k not in arrays}, arrays
