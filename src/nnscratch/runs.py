"""Run folders on disk: their names, the files in them, and CSV tables.

A run folder written by ``nnscratch train`` holds ``model.npz``, ``metrics.json`` and
``history.csv`` (and ``figures/`` once plotted). Every file is written atomically
(:mod:`nnscratch.files`); a folder is never written over unless asked to, and then it is
replaced whole.
"""

import csv
import datetime as dt
import io
import json
import platform
import shutil
from pathlib import Path

import numpy as np

from ._version import __version__
from .errors import NNScratchError
from .files import write_text
from .jsonable import to_json
from .serialization import load, save
from .training import History

MODEL_FILE = "model.npz"
RUN_FILES = (MODEL_FILE, "metrics.json", "history.csv")


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
        raise RunExistsError(f"{flag} {path} already exists; choose another folder, or add "
                             "--force to replace it (its files, figures included, are "
                             "deleted)")
    return path


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


def write_run(out_dir, model, history, metrics, *, replace=False):
    """Write ``model.npz``, ``metrics.json`` and ``history.csv`` (each atomically).

    With ``replace`` an existing folder is first written beside it and then swapped in, so
    the old run's files (and figures) do not linger and a crash leaves one whole run.
    """
    out_dir = Path(out_dir)
    target = out_dir
    if replace and out_dir.exists():
        out_dir = out_dir.with_name(f".{out_dir.name}.new")
        shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    save(model, out_dir / MODEL_FILE, config=metrics["config"],
         metrics={k: v for k, v in metrics.items() if k != "config"})
    write_text(out_dir / "metrics.json", json.dumps(to_json(metrics), indent=2) + "\n")
    write_text(out_dir / "history.csv", csv_text(history.rows(),
                                                 ["epoch", *History.COLUMNS]))
    if out_dir != target:
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        out_dir.rename(target)
        shutil.rmtree(old, ignore_errors=True)
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
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    return load(run_dir / MODEL_FILE), read_history_csv(run_dir / "history.csv"), metrics
