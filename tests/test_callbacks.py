"""The training loop's callbacks: the hooks in order, the built-ins as the keyword arguments
build them, a callback that raises or stops, and the callbacks' state in a checkpoint."""

import ast
import inspect
import json
import signal

import numpy as np
import pytest

from nnscratch import NeuralNetwork, train, training
from nnscratch.callbacks import (
    Callback,
    Checkpoint,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    ProgressBar,
)
from nnscratch.checkpoint import read_checkpoint, write_checkpoint
from nnscratch.experiment import run_training
from nnscratch.recipes import make_config
from nnscratch.runs import read_history_csv


class Recorder(Callback):
    """Notes every hook call."""

    def __init__(self):
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin", self.loop.first_epoch))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_train_batch_end(self, batch, logs=None):
        assert np.isfinite(logs["loss"])
        self.calls.append(("batch", batch))

    def on_epoch_end(self, epoch, logs=None):
        assert logs["train_loss"] == self.loop.history.train_losses[-1]
        self.calls.append(("epoch_end", epoch, sorted(logs)))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end", self.loop.exception))


class Boom(Callback):
    """Raises ValueError at the end of epoch ``at`` (from 1)."""

    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.at:
            raise ValueError("boom")


def _model(**kwargs):
    return NeuralNetwork.from_sizes([64, 24, 10], head_activation="softmax", seed=3, **kwargs)


def _fit(digits, epochs=4, **kwargs):
    X, y = digits
    model = _model(dropout=kwargs.pop("dropout", 0.0))
    history = train(model, X, y, "cross_entropy", epochs, 64, bar=False, **kwargs)
    return model, history


def test_hooks_are_called_in_keras_order(digits):
    """Each hook, in order, with 0-based epochs and batches and the epoch's values in logs."""
    recorder = Recorder()
    _fit(digits, epochs=2, learning_rate=0.1, val_split=0.2, callbacks=[recorder])
    batches = int(np.ceil(round(0.8 * len(digits[0])) / 64))  # 23
    epoch = [("epoch_begin", 0), *[("batch", b) for b in range(batches)],
             ("epoch_end", 0, ["avg_grad", "learning_rate", "seconds", "train_loss", "val_loss",
                               "val_score"])]
    second = [(c[0], 1, *c[2:]) if c[0].startswith("epoch") else c for c in epoch]
    assert recorder.calls == [("train_begin", 0), *epoch, *second, ("train_end", None)]


@pytest.mark.parametrize("settings", [
    {"learning_rate": 0.1},
    {"optimizer": "adam", "learning_rate": 0.03, "val_split": 0.2, "patience": 1,
     "dropout": 0.2, "schedule": "cosine", "epochs": 15},  # stops after epoch 5
])
def test_callbacks_change_no_number(settings, digits):
    """A callback that only looks, or a built-in given as a callback instead of a keyword,
    leaves every weight and loss as it was, bit for bit."""
    model, history = _fit(digits, **dict(settings))
    again = dict(settings)
    patience = again.pop("patience", None)
    extra = [EarlyStopping(patience)] if patience else []
    other, other_history = _fit(digits, callbacks=[Recorder(), *extra], **again)
    assert all(np.array_equal(a, b) for a, b in zip(model.parameters(), other.parameters(),
                                                    strict=True))
    keep = [k for k in history.state() if k != "epoch_seconds"]
    assert {k: history.state()[k] for k in keep} == {k: other_history.state()[k] for k in keep}
    assert history.stopped_early == bool(patience)


def test_a_callback_that_raises_stops_cleanly(digits):
    """The exception reaches the caller unchanged, after every on_train_end: Ctrl-C's handler
    is put back and the history holds the epochs done."""
    recorder, boom = Recorder(), Boom(at=2)
    handler = signal.getsignal(signal.SIGINT)  # SIG_IGN when the tests run in the background
    with pytest.raises(ValueError, match=r"^boom$") as info:
        _fit(digits, learning_rate=0.1, callbacks=[boom, recorder])
    assert recorder.calls[-1] == ("train_end", info.value)
    assert boom.loop.history.epochs == 2 and not boom.loop.history.interrupted
    assert signal.getsignal(signal.SIGINT) is handler


def test_run_is_saved_when_a_callers_callback_raises(tmp_path):
    """run_training: the run so far is saved (marked interrupted, resumable), then the
    exception surfaces."""
    run = tmp_path / "run"
    config = make_config(dataset="digits", epochs=5)
    with pytest.raises(ValueError, match="boom"):
        run_training(config, out_dir=run, bar=False, log=lambda *a: None, checkpoint_every=1,
                     callbacks=[Boom(at=3)])
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["interrupted"] is True and metrics["epochs"] == 3
    assert len(read_history_csv(run / "history.csv").train_losses) == 3
    assert (run / "model.npz").is_file() and (run / "checkpoint.npz").is_file()


def test_stop_training_ends_after_the_epoch(digits):
    """A callback sets loop.stop_training: the epoch completes, nothing is marked."""
    def stop(epoch, logs):
        if epoch == 1:
            stopper.loop.stop_training = True

    stopper = LambdaCallback(on_epoch_end=stop)
    _, history = _fit(digits, learning_rate=0.1, callbacks=[stopper])
    assert history.epochs == 2 and not history.interrupted and not history.stopped_early


def test_callbacks_are_checked(digits):
    """Not a Callback, or a built-in given twice: a message naming it."""
    with pytest.raises(TypeError, match="callbacks must be Callback instances, got str"):
        _fit(digits, learning_rate=0.1, callbacks=["print"])
    with pytest.raises(ValueError, match="give patience to train or an EarlyStopping "
                                         "callback, not both"):
        _fit(digits, learning_rate=0.1, val_split=0.2, patience=2,
             callbacks=[EarlyStopping(3)])
    with pytest.raises(ValueError, match="patience needs a validation set"):
        _fit(digits, learning_rate=0.1, callbacks=[EarlyStopping(3)])
    with pytest.raises(ValueError, match=r"LambdaCallback takes the hooks .*, got 'on_batch'"):
        LambdaCallback(on_batch=print)


def test_own_progress_bar_replaces_the_built_in(digits):
    """A ProgressBar among the callbacks is the only one (bar=True adds none)."""
    X, y = digits
    mine = ProgressBar()
    recorder = Recorder()
    train(_model(), X, y, "cross_entropy", 1, 64, 0.1, bar=True, callbacks=[mine, recorder])
    assert [type(c) for c in recorder.loop.callbacks].count(ProgressBar) == 1


def test_csv_logger_writes_the_history_every_epoch(digits, tmp_path):
    """CSVLogger: history.csv's columns, one row per epoch so far."""
    path = tmp_path / "log.csv"
    seen = []
    logger = CSVLogger(path)
    watch = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(
        len(read_history_csv(path).train_losses)))
    _, history = _fit(digits, epochs=3, learning_rate=0.1, callbacks=[logger, watch])
    assert seen == [1, 2, 3]
    assert read_history_csv(path).train_losses == history.train_losses


def test_checkpoint_holds_the_callbacks_state(digits, tmp_path):
    """Early stopping's counter, best loss and best weights, and the first batch's loss, are
    stored under the callbacks' state keys."""
    path = tmp_path / "ck.npz"
    _, history = _fit(digits, optimizer="adam", learning_rate=0.05, val_split=0.2,
                      patience=10, callbacks=[Checkpoint(path)])
    found = read_checkpoint(path)
    state = found.meta["callbacks"]
    assert set(state) == {"early_stopping", "blow_up_warning"}
    assert state["early_stopping"]["best_loss"] == min(history.val_losses)
    assert state["blow_up_warning"]["start_loss"] > history.train_losses[-1]
    assert found.arrays["callbacks.early_stopping.best_params"].shape == \
        found.arrays["params"].shape


class _Crash(BaseException):
    """Stands for a kill: nothing after it runs."""


def test_a_version_1_checkpoint_is_resumed(digits, tmp_path):
    """A checkpoint written before the callbacks (early stopping's state at the top) still
    continues to the uninterrupted result."""
    settings = {"optimizer": "adam", "learning_rate": 0.02, "val_split": 0.2, "patience": 3,
                "epochs": 5}
    model, history = _fit(digits, **settings)

    def crash(history):
        if history.epochs == 3:
            raise _Crash

    path = tmp_path / "ck.npz"
    with pytest.raises(_Crash):
        _fit(digits, checkpoint=path, on_epoch=crash, **settings)
    found = read_checkpoint(path)  # epoch 2, rewritten as version 1 wrote it
    meta = {k: v for k, v in found.meta.items() if k not in ("callbacks", "format",
                                                             "format_version",
                                                             "nnscratch_version")}
    meta["early_stopping"] = found.meta["callbacks"]["early_stopping"]
    meta["start_loss"] = found.meta["callbacks"]["blow_up_warning"]["start_loss"]
    arrays = {k.removeprefix("callbacks.early_stopping."): v for k, v in found.arrays.items()}
    write_checkpoint(path, meta, arrays)
    with np.load(path) as raw:
        entries = {k: raw[k] for k in raw.files}
    text = json.loads(entries.pop("metadata").tobytes())
    text["format_version"] = 1
    np.savez(path, **entries, metadata=np.frombuffer(json.dumps(text).encode(), np.uint8))
    resumed_model, resumed = _fit(digits, checkpoint=path, **settings)
    assert resumed.resumed_from == 2
    assert all(np.array_equal(a, b) for a, b in zip(model.parameters(),
                                                    resumed_model.parameters(), strict=True))
    assert resumed.val_losses == history.val_losses


def test_train_is_a_short_loop():
    """train() validates, builds the callbacks and runs the loop: at most 50 lines of code."""
    source = inspect.getsource(training.train)
    function = ast.parse(source).body[0]
    body = source.splitlines()[function.body[1].lineno - 1:]  # past the docstring
    assert len([line for line in body if line.strip()]) <= 50
