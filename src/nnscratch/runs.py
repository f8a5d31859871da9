"""Run folders on disk: their names, the files in them, their life while training, and CSV
tables.

A run folder written by ``nnscratch train`` holds ``config.json`` (written when training
starts, once the data and the network are ready, so a run killed in its first epoch can be
resumed; the process training the run holds a lock on it), ``checkpoint.npz`` and
``checkpoint.prev.npz`` while it trains (removed once it ends), and at the end
``model.npz``, ``metrics.json`` and ``history.csv`` (and ``figures/`` once plotted). Every
file is written atomically (:mod:`nnscratch.files`). A folder is never written over unless
asked to, and then it is replaced whole, and only when the new run ends: until then the new
run trains beside it, in ``.NAME.new``, and a killed one leaves the old run as it was.
"""

import contextlib
import csv
import datetime as dt
import io
import json
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:
    import fcntl
except ImportError:  # pragma: no cover  (Windows: runs are not locked)
    fcntl = None

from ._version import __version__
from .callbacks import LambdaCallback
from .checkpoint import previous_path
from .errors import NNScratchError
from .files import write_text
from .jsonable import to_json
from .serialization import load, save
from .training import History

MODEL_FILE = "model.npz"
METRICS_FILE = "metrics.json"
RUN_FILES = (MODEL_FILE, METRICS_FILE, "history.csv")
CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.npz"


class RunExistsError(NNScratchError, FileExistsError):
    """The output folder already holds a run (or something else)."""


def new_run_dir(root="runs", label="mnist"):
    """A fresh folder name ``runs/YYYYmmdd-HHMMSS-<label>`` (suffixed if it exists)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{stamp}-{label}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def check_out_dir(path, *, force=False, flag="--out"):
    """Refuse an output folder that exists, unless ``force`` (then it is replaced whole when
    the run is written, see :func:`write_run`).

    Raises
    ------
    RunExistsError
        ``path`` is a file, or an existing folder without ``force``.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunExistsError(f"{flag} {path} is a file; give a folder for the run (e.g. "
                             f"{path.parent / path.stem})")
    if path.is_dir() and any(path.iterdir()) and not force:
        if (path / CONFIG_FILE).is_file() and not _finished(path):
            raise RunExistsError(f"{flag} {path} holds an unfinished run; continue it with "
                                 f"'nnscratch train --resume {path}', or add --force to "
                                 "replace it")
        raise RunExistsError(f"{flag} {path} already exists; choose another folder, or add "
                             "--force to replace it (its files, figures included, are "
                             "deleted)")
    return path


def staging_dir(out_dir):
    """Where a run that is to replace ``out_dir`` trains until it ends: ``.NAME.new``."""
    out_dir = Path(out_dir)
    return out_dir.with_name(f".{out_dir.name}.new")


def work_dir_for(out_dir, replace=False):
    """Where a new run for ``out_dir`` trains: ``out_dir``, or with ``replace`` and an
    ``out_dir`` that is not empty, the staging folder :func:`staging_dir`."""
    out_dir = Path(out_dir)
    if replace and out_dir.is_dir() and any(out_dir.iterdir()):
        return staging_dir(out_dir)
    return out_dir


def start_run(out_dir, config, *, replace=False, data_dir=None, checkpoint_every=0,
              threads=None):
    """Create the folder a run trains in, write its ``config.json``, and return the folder.

    It is :func:`work_dir_for` ``(out_dir, replace)``: with ``replace``, a staging folder (a
    stale one is replaced), and the old run stays untouched until :func:`write_run` swaps
    the new one in.

    Parameters
    ----------
    out_dir : path
    config : dict
        The run's configuration (:func:`nnscratch.recipes.make_config`).
    replace : bool
    data_dir : path, optional
        Where the data was found (used again on ``--resume``).
    checkpoint_every : int
        Epochs between checkpoints (0: none); kept for ``--resume``.
    threads : int, optional
        The BLAS threads the run uses (None: every core); kept for ``--resume``, whose result
        is bit-identical only with the same number.

    Raises
    ------
    RunLockedError
        The staging folder of ``out_dir`` is a run that another process is training.
    """
    out_dir = Path(out_dir)
    work = work_dir_for(out_dir, replace)
    if _locked(staging_dir(out_dir)):
        raise RunLockedError(f"{staging_dir(out_dir)} (the run that is to replace {out_dir}) "
                             "is being trained by another process now; wait for it to end, "
                             "or stop it")
    shutil.rmtree(staging_dir(out_dir), ignore_errors=True)  # a stale run meant to replace it
    work.mkdir(parents=True, exist_ok=True)
    options = {"config": config, "data_dir": None if data_dir is None else str(data_dir),
               "checkpoint_every": checkpoint_every, "threads": threads}
    write_text(work / CONFIG_FILE, json.dumps(to_json(options), indent=2) + "\n")
    return work


@dataclass
class Unfinished:
    """A run that ``nnscratch train --resume`` can continue (see :func:`find_unfinished`)."""

    out_dir: Path  # the run folder the user named
    work_dir: Path  # where it trains: out_dir, or the staging folder of a run replacing it
    config: dict
    data_dir: str | None
    checkpoint_every: int
    threads: int | None = None  # BLAS threads (None: every core)


class RunFinishedError(NNScratchError, FileExistsError):
    """``--resume`` of a run that already ended (not an error of the user's: nothing to do)."""


def find_unfinished(run_dir, *, flag="--resume"):
    """The unfinished run in ``run_dir``: the one replacing it (``.NAME.new``), if any, else
    its own.

    Raises
    ------
    FileNotFoundError
        ``run_dir`` does not exist, or is not a folder that ``nnscratch train`` wrote.
    RunFinishedError
        The run has ended (not interrupted): there is nothing to continue.
    ValueError
        Its ``config.json`` is damaged.
    """
    out_dir = Path(run_dir)
    staged = staging_dir(out_dir)
    work = staged if (staged / CONFIG_FILE).is_file() else out_dir
    if work == out_dir and not out_dir.is_dir():
        raise FileNotFoundError(f"{flag} {out_dir} does not exist; give the folder of a run "
                                "that nnscratch train was writing")
    if work == out_dir and _finished(out_dir):
        raise RunFinishedError(f"{out_dir} is a finished run ({_finished(out_dir)}); "
                               "nothing to resume, nothing changed")
    if not (work / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"{flag} {out_dir} has no {CONFIG_FILE}, so it is not a run "
                                "that can be resumed (nnscratch train writes one when a run "
                                "starts)")
    try:
        options = json.loads((work / CONFIG_FILE).read_text(encoding="utf-8"))
        threads = options.get("threads")  # absent from the config.json of older runs
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a positive integer or null, got {threads!r}")
        return Unfinished(out_dir, work, dict(options["config"]), options["data_dir"],
                          int(options["checkpoint_every"]), threads)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{flag} {out_dir}: its {CONFIG_FILE} is damaged ({exc})") from None


class RunLockedError(NNScratchError, BlockingIOError):
    """Another process is training the run (it holds the run's lock)."""


@contextlib.contextmanager
def hold_run(work_dir):
    """While active, this process alone trains the run in ``work_dir``.

    The lock is an exclusive ``fcntl.flock`` on the run's ``config.json``: the kernel
    releases it when the process ends, however it ends (a SIGKILL too), so a dead run never
    stays locked. Without ``fcntl`` (Windows) it does nothing.

    Raises
    ------
    RunLockedError
        Another process holds it.
    """
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(Path(work_dir) / CONFIG_FILE, "rb") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLockedError(f"{work_dir} is being trained by another process now; wait "
                                 "for it to end, or stop it, then resume it") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _locked(work_dir):
    """Whether another process holds the lock of the run in ``work_dir``."""
    if fcntl is None or not (Path(work_dir) / CONFIG_FILE).is_file():
        return False
    try:
        with hold_run(work_dir):
            return False
    except RunLockedError:
        return True


def read_metrics(run_dir):
    """The run's ``metrics.json`` as a dict.

    Raises
    ------
    OSError
        It cannot be read (FileNotFoundError when it is missing).
    ValueError
        It is not JSON text, or not a JSON object.
    """
    path = Path(run_dir) / METRICS_FILE
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    if not isinstance(metrics, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(metrics).__name__}")
    return metrics


def _finished(run_dir):
    """``"N epochs"`` when ``run_dir`` holds a run that ended (not interrupted), else ''."""
    try:
        metrics = read_metrics(run_dir)
    except (OSError, ValueError):
        return ""
    if metrics.get("interrupted", True):
        return ""
    return f"{metrics.get('epochs')} epochs"


def model_file(path, what="MODEL"):
    """The ``model.npz`` of a run folder, or ``path`` itself when it is a file.

    Raises
    ------
    FileNotFoundError
        Neither a model file nor a folder with one.
    """
    path = Path(path)
    if path.is_dir():
        if (path / MODEL_FILE).is_file():
            return path / MODEL_FILE
        raise FileNotFoundError(f"{what} {path} is a folder without a {MODEL_FILE}; give a "
                                "run folder written by nnscratch train, or a model file")
    if not path.exists():
        raise FileNotFoundError(f"{what} {path} does not exist; give a run folder or its "
                                f"{MODEL_FILE}")
    return path


def list_runs(root="runs"):
    """The run folders directly under ``root`` that hold a model, newest model first.

    Returns
    -------
    list of pathlib.Path
        Folders with a ``model.npz``; an empty list when ``root`` does not exist.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
            and (p / MODEL_FILE).is_file()]
    return sorted(runs, key=lambda p: ((p / MODEL_FILE).stat().st_mtime, p.name), reverse=True)


def versions():
    """The library versions a run used."""
    import matplotlib
    import sklearn

    return {"nnscratch": __version__, "numpy": np.__version__,
            "scikit-learn": sklearn.__version__, "matplotlib": matplotlib.__version__,
            "python": platform.python_version()}


def write_run(out_dir, model, history, metrics, *, work_dir=None):
    """Write ``model.npz``, ``metrics.json`` and ``history.csv`` (each atomically).

    They go into ``work_dir`` (default ``out_dir``), the folder :func:`start_run` returned.
    When that is the staging folder of a run replacing ``out_dir``, it is then swapped in
    whole, so the old run's files (and figures) do not linger and a crash leaves one whole
    run. A run that ended (not interrupted) then loses its checkpoints: it is finished.
    """
    target = Path(out_dir)
    out_dir = target if work_dir is None else Path(work_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save(model, out_dir / MODEL_FILE, config=metrics["config"],
         metrics={k: v for k, v in metrics.items() if k != "config"})
    write_text(out_dir / "metrics.json", json.dumps(to_json(metrics), indent=2) + "\n")
    write_text(out_dir / "history.csv", csv_text(history.rows(),
                                                 ["epoch", *History.COLUMNS]))
    if out_dir != target:
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        out_dir.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    if not metrics["interrupted"]:
        for path in (target / CHECKPOINT_FILE, previous_path(target / CHECKPOINT_FILE)):
            path.unlink(missing_ok=True)
    return target


def csv_text(rows, columns):
    """``rows`` (dicts) as CSV text with a header; lists are written as JSON, None as ''."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: json.dumps(v) if isinstance(v, list) else v for k, v in r.items()}
                     for r in rows)
    return buffer.getvalue()


def read_history_csv(path):
    """``history.csv`` back as a :class:`~nnscratch.training.History`."""
    history = History()
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for column, attribute in History.COLUMNS.items():
                if row.get(column):
                    getattr(history, attribute).append(float(row[column]))
    return history


def read_run(run_dir):
    """``(model, history, metrics)`` of a run folder.

    Raises
    ------
    FileNotFoundError
        Not a folder, or one of the run's files is missing.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder {run_dir} does not exist")
    for name in RUN_FILES:
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"{run_dir} is not a run folder: it has no {name} "
                                    "(nnscratch train writes one)")
    return (load(run_dir / MODEL_FILE), read_history_csv(run_dir / "history.csv"),
            read_metrics(run_dir))


def checkpoint_path(work_dir, checkpoint_every, resume):
    """Where a run's checkpoint goes: in its folder when it checkpoints or resumes, else
    None."""
    if work_dir is not None and (checkpoint_every or resume is not None):
        return work_dir / CHECKPOINT_FILE
    return None


def run_starter(config, held, *, out_dir, work_dir, resume, replace, data_dir,
                checkpoint_every, threads, on_start):
    """A callback that, once the training loop has accepted everything, creates the run
    folder (a new run with ``out_dir``) and holds its lock in ``held``, then calls
    ``on_start(history)``: a run refused before it starts leaves no folder behind."""
    def begin(history):
        if resume is None and out_dir is not None:
            start_run(out_dir, config, replace=replace, data_dir=data_dir,
                      checkpoint_every=checkpoint_every, threads=threads)
            held.enter_context(hold_run(work_dir))
        if on_start is not None:
            on_start(history)

    started = LambdaCallback(on_train_begin=lambda logs: begin(started.loop.history))
    return started
