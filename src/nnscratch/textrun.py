"""One training run of a language model on a text file: configuration -> items -> model ->
training -> run folder, as :func:`nnscratch.experiment.run_training` does for tables and
images (which hands a ``--data FILE.txt`` configuration to :func:`run_text_training`).

The training is the same loop (:class:`~nnscratch.training.TrainingLoop`), so a text run has
the same checkpoints, ``--resume``, Ctrl-C and divergence checks as any other; its progress
bar counts steps. Its metrics are losses in nats per character (per token, the end token
included, as makemore counts them).
"""

import time
from pathlib import Path

import numpy as np

from .build import build_optimizer, build_schedule
from .callbacks import StepProgressBar
from .data.text import load_text
from .errors import NNScratchError
from .language import LanguageModel, TokenCrossEntropy
from .runs import (
    CONFIG_FILE,
    checkpoint_path,
    run_starter,
    versions,
    work_dir_for,
    write_run,
)
from .training import TrainingLoop, _callbacks

#: What ``--arch`` means for a text file when it is not given.
DEFAULT_ARCH = "transformer"
#: makemore's AdamW betas (PyTorch's default beta2 is 0.999).
BETAS = (0.9, 0.99)


def build_language_model(config, vocab):
    """The model a configuration describes, for ``vocab``: ``config["arch"]`` (default
    transformer) with makemore's sizes, ``config["dropout"]``, ``dtype`` and ``seed``."""
    return LanguageModel(config.get("arch") or DEFAULT_ARCH, vocab, dropout=config["dropout"],
                         dtype=config["dtype"], rng=np.random.default_rng(config["seed"]))


def text_optimizer(config):
    """The configured optimizer; Adam and AdamW with makemore's betas."""
    optimizer = build_optimizer(config)
    if hasattr(optimizer, "betas"):
        optimizer.betas = BETAS
    return optimizer


def run_text_training(config, held, *, out_dir=None, bar=True, log=print, replace=False,
                      on_epoch=None, checkpoint_every=0, resume=None, threads=None,
                      on_start=None, callbacks=(), data_dir=None):
    """Train the language model ``config`` describes on ``config["data"]`` and write its run
    folder; the arguments are :func:`nnscratch.experiment.run_training`'s (``held`` the
    ExitStack that holds the run's lock). Returns ``(model, history, metrics)``."""
    work_dir = resume.work_dir if resume is not None else (
        None if out_dir is None else work_dir_for(out_dir, replace))
    data = load_text(config["data"], seed=config["seed"])
    config["arch"] = config.get("arch") or DEFAULT_ARCH  # stored: evaluate rebuilds it
    model = build_language_model(config, data.vocab)
    log(f"{data.summary()}\n{model}: {model.n_parameters():,} parameters")
    (X, Y), test = data.arrays("train"), data.arrays("test")
    checkpoint = checkpoint_path(work_dir, checkpoint_every, resume)
    started = run_starter(config, held, out_dir=out_dir, work_dir=work_dir, resume=resume,
                          replace=replace, data_dir=data_dir, checkpoint_every=checkpoint_every,
                          threads=threads, on_start=on_start)
    given = [started, *callbacks, *([StepProgressBar()] if bar else [])]
    loop = TrainingLoop(
        model, TokenCrossEntropy(), text_optimizer(config), build_schedule(config), X, Y, test,
        model.rng, epochs=config["epochs"], batch_size=config["batch_size"],
        clip=config["clip"], val_split=config["val_split"], augment=None,
        callbacks=_callbacks(given, bar=False, patience=config["patience"], on_epoch=on_epoch,
                             checkpoint=checkpoint, checkpoint_every=checkpoint_every))
    start, failure = time.perf_counter(), None
    try:
        history = loop.run()
    except Exception as exc:  # a caller's callback stopped it: save the run so far
        began = loop.exception is exc and (work_dir is None or
                                           (work_dir / CONFIG_FILE).is_file())
        if not began or isinstance(exc, (NNScratchError, OSError)):
            raise
        history, failure = loop.history, exc
        history.interrupted = True
    seconds = time.perf_counter() - start + sum(history.epoch_seconds[:history.resumed_from or 0])
    metrics = text_metrics(model, data, loop.val)
    metrics.update({
        "epochs": history.epochs, "seconds": round(seconds, 3),
        "best_epoch": history.best_epoch, "stopped_early": history.stopped_early,
        "interrupted": history.interrupted, "warnings": history.warnings, "config": config,
        "dataset": {"name": data.name, "split": "makemore", "sizes": data.sizes,
                    "task": "language model", "vocabulary": data.vocab.chars,
                    "max_length": data.vocab.max_length},
        "versions": versions(),
    })
    if out_dir is not None:
        write_run(out_dir, model, history, metrics, work_dir=work_dir)
    if failure is not None:
        raise failure
    return model, history, metrics


def text_metrics(model, data, val=None):
    """``train_loss``, ``test_loss`` (and ``val_loss`` of a validation split): nats per
    character, the end token counted as one."""
    metrics = {"train_loss": model.loss(*data.arrays("train")),
               "test_loss": model.loss(*data.arrays("test"))}
    if val is not None:
        metrics["val_loss"] = model.loss(*val)
    return metrics


def text_data_of(model, path=None):
    """The text data a language model was trained on (its config's ``data``, split with its
    seed), or ``path`` read with that seed. FileNotFoundError naming the file if it is gone."""
    config = model.metadata.get("config", {})
    path = path or config.get("data")
    if not path:
        raise ValueError("the model's config names no text file; give --data FILE.txt")
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}, the text file the model was trained on, is not "
                                "there any more; give --data FILE.txt")
    return load_text(path, seed=config.get("seed", 0))
