"""A user's own table: a CSV or ``.npz`` file in, a split :class:`Dataset` out, predictions out.

:func:`load_table` reads the file, decides between classification and regression, maps class
labels to ``0..K-1`` and splits train/test (stratified for classification), all with one
clear :class:`~nnscratch.errors.DataFormatError` per problem, naming the file, the line and
the column. :func:`load_features` reads the inputs to predict from, checked against the
columns a model was trained on, and :func:`write_predictions` writes the predictions back as
CSV in the user's own labels.

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
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataFormatError
from ..files import write_text
from ..validation import check_float_dtype
from .datasets import Dataset

#: Values of ``task`` accepted by :func:`load_table`.
TASKS = ("auto", "classification", "regression")

#: File types read by :func:`load_table` and :func:`load_features`.
SUFFIXES = (".csv", ".npz")

#: ``task="auto"`` treats whole-number targets with at most this many distinct values as class
#: labels (e.g. 0/1, or ratings 1..5) and whole numbers with more as a regression target
#: (e.g. counts, prices).
MAX_AUTO_CLASSES = 20

_LISTED = 12  # column names quoted in full in an error message; more are elided


def load_table(path, *, target=None, task="auto", test_fraction=0.2, seed=0,
               dtype="float32"):
    """Load a user's table and split it into training and test parts.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.csv`` file (UTF-8, comma-separated, a header row naming every column, one sample
        per row; every feature cell a number) or a ``.npz`` archive with arrays ``X``
        (n_samples, n_features) and ``y`` (n_samples,) or (n_samples, k). Blank lines in a
        CSV are skipped.
    target : str, optional
        The CSV column to predict (default: the last column). The other columns are the
        features. Not used for ``.npz`` files, whose target is ``y``.
    task : {"auto", "classification", "regression"}, default "auto"
        ``"auto"`` applies the rule in the module docstring.
    test_fraction : float in (0, 1), default 0.2
        Share of the rows held out as the test set (rounded up, as scikit-learn does).
    seed : int, default 0
        Seed of the split; the same seed gives the same split.
    dtype : {"float32", "float64"}, default "float32"
        Dtype of ``X`` (and of a regression target).

    Returns
    -------
    Dataset
        ``X_*`` of shape (n, n_features). Classification: ``y_*`` int64 class indices of
        shape (n,), ``n_classes`` = K, ``classes`` the original labels in sorted order
        (``classes[i]`` is the label of index ``i``), split stratified by class.
        Regression: ``y_*`` of shape (n, 1), or (n, k) for a 2-D ``y``, ``n_classes=None``.
        ``name`` is the file name; ``feature_names`` and ``target`` the CSV column names
        (``None`` for ``.npz``).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    DataFormatError
        If the file cannot be used: unknown suffix, empty, no data rows, ragged rows,
        a missing target column, an empty, non-numeric or non-finite cell, one class only,
        too few rows for the split, or an ``.npz`` without proper ``X`` and ``y``. The
        message names the file and, for a CSV, the line and the column.
    ValueError
        If ``target``, ``task``, ``test_fraction``, ``seed`` or ``dtype`` is invalid.
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
    dt = check_float_dtype(dtype)
    path, suffix = _check_path(path)

    if suffix == ".npz":
        if target is not None:
            raise ValueError(f"target names a CSV column, but {path} is an .npz file; its "
                             "target is always the array 'y'")
        X, y_raw, where = _read_npz_table(path, dt)
        feature_names, what = None, "array 'y'"
    else:
        header, rows, lines = _read_csv(path)
        target = _target_column(path, header, target)
        t = header.index(target)
        feature_names = tuple(name for name in header if name != target)
        X = _numbers(path, [row[:t] + row[t + 1:] for row in rows], feature_names, lines, dt)
        y_raw = _text_or_numbers([row[t].strip() for row in rows])
        where, what = _csv_where(lines, target), f"column {target!r}"
        for i, label in enumerate(y_raw):
            if isinstance(label, str) and not label:
                raise DataFormatError(f"{path}: {where(i)}: the target cell is empty")

    task = _decide_task(task, y_raw)
    if task == "classification":
        y, classes = _encode_classes(path, y_raw, what, where)
        n_classes = len(classes)
    else:
        y = _regression_targets(path, y_raw, what, where, dt)
        classes = n_classes = None
    X_train, X_test, y_train, y_test = _split(path, X, y, classes, float(test_fraction),
                                              int(seed))
    split = f"random(test_fraction={test_fraction}, seed={seed}" + (
        ", stratified)" if classes else ")")
    return Dataset(X_train, y_train, X_test, y_test, name=path.name, split=split,
                   n_classes=n_classes, feature_names=feature_names, classes=classes,
                   target=target)


def load_features(path, *, feature_names=None, n_features=None, target=None,
                  dtype="float32"):
    """Load the inputs to predict from, checked against the columns a model expects.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.csv`` file with a header row, or a ``.npz`` archive with an array ``X`` (any
        ``y`` in it is ignored).
    feature_names : sequence of str, optional
        The model's feature columns, in the model's order. The CSV must have exactly these
        columns (in any order; they are reordered), plus optionally the ``target`` column,
        which is dropped.
    n_features : int, optional
        Without ``feature_names``: the number of feature columns the model expects.
    target : str, optional
        The model's target column: dropped if present, fine if absent.
    dtype : {"float32", "float64"}, default "float32"

    Returns
    -------
    X : ndarray, shape (n_samples, n_features)
    names : tuple of str or None
        The feature names in the order of ``X``'s columns (``None`` for ``.npz``).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    DataFormatError
        For the file problems of :func:`load_table`, and if the columns differ from
        ``feature_names`` (the message names the missing and the unexpected ones) or their
        number from ``n_features``.
    ValueError
        If ``feature_names`` and ``n_features`` disagree.
    """
    if feature_names is not None:
        feature_names = tuple(feature_names)
        if n_features is not None and n_features != len(feature_names):
            raise ValueError(f"n_features is {n_features} but feature_names has "
                             f"{len(feature_names)} names")
        n_features = len(feature_names)
    dt = check_float_dtype(dtype)
    path, suffix = _check_path(path)
    if suffix == ".npz":
        with _open_npz(path) as archive:
            X = _npz_features(path, archive, dt)
        if n_features is not None and X.shape[1] != n_features:
            raise DataFormatError(f"{path}: X has {X.shape[1]} features; the model expects "
                                  f"{n_features}")
        return X, feature_names

    header, rows, lines = _read_csv(path)
    if feature_names is not None:
        missing = [name for name in feature_names if name not in header]
        extra = [name for name in header if name not in feature_names and name != target]
        if missing or extra:
            parts = ([f"missing {_quoted(missing)}"] if missing else []) + (
                [f"unexpected {_quoted(extra)}"] if extra else [])
            raise DataFormatError(f"{path}: the columns differ from the model's: "
                                  f"{'; '.join(parts)} (the model was trained on "
                                  f"{_quoted(feature_names)})")
        columns = [header.index(name) for name in feature_names]
    else:
        columns = [j for j, name in enumerate(header) if name != target]
        if n_features is not None and len(columns) != n_features:
            raise DataFormatError(f"{path} has {len(columns)} feature columns "
                                  f"({_quoted([header[j] for j in columns])}); the model "
                                  f"expects {n_features}")
    if not columns:
        raise DataFormatError(f"{path} has no feature columns, only the target {target!r}")
    names = tuple(header[j] for j in columns)
    X = _numbers(path, [[row[j] for j in columns] for row in rows], names, lines, dt)
    return X, names


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

def _check_path(path):
    """``Path(path)`` and its lower-case suffix, after checking the file is there and usable."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    if path.is_dir():
        raise DataFormatError(f"{path} is a folder; expected a .csv or .npz file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataFormatError(f"{path}: unknown file type {path.suffix or '(no suffix)'!r}; "
                              "expected a .csv or .npz file")
    if path.stat().st_size == 0:
        raise DataFormatError(f"{path} is empty (0 bytes)")
    return path, suffix


def _read_csv(path):
    """The header (stripped names), the data rows (lists of str) and each row's line number."""
    header, rows, lines = None, [], []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: Excel's BOM
            reader = csv.reader(f, skipinitialspace=True)  # `1, "2"` reads as 1 and 2
            try:
                for cells in reader:
                    if not any(cell.strip() for cell in cells):
                        continue  # a blank line, or a row of empty cells
                    if header is None:
                        header = [cell.strip() for cell in cells]
                    elif len(cells) != len(header):
                        raise DataFormatError(f"{path}: line {reader.line_num} has "
                                              f"{len(cells)} cells, but the header has "
                                              f"{len(header)}")
                    else:
                        rows.append(cells)
                        lines.append(reader.line_num)
            except csv.Error as exc:
                raise DataFormatError(f"{path}: line {reader.line_num}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path} is not UTF-8 text (cannot decode byte "
                              f"{exc.object[exc.start]:#04x}); save it as UTF-8 CSV") from None
    if header is None:
        raise DataFormatError(f"{path} is empty: it holds only blank lines")
    for j, name in enumerate(header):
        if not name:
            raise DataFormatError(f"{path}: column {j + 1} of the header has no name; every "
                                  "column needs one (from pandas, write with index=False)")
        if header.index(name) != j:
            raise DataFormatError(f"{path}: the header names column {name!r} twice "
                                  f"(columns {header.index(name) + 1} and {j + 1})")
    if not rows:
        raise DataFormatError(f"{path} has a header but no data rows")
    return header, rows, lines


def _target_column(path, header, target):
    """The target's name (default: the last column), after checking there are features."""
    if len(header) < 2:
        hint = (" (is it separated by ';' or tabs? columns must be separated by commas)"
                if any(sep in header[0] for sep in ";\t") else "")
        raise DataFormatError(f"{path} has a single column {header[0]!r}; a table needs at "
                              f"least one feature column besides the target{hint}")
    if target is None:
        return header[-1]
    if target not in header:
        close = difflib.get_close_matches(target, header, n=3)
        hint = f"; did you mean {_quoted(close, ' or ')}?" if close else ""
        raise DataFormatError(f"{path} has no column {target!r}{hint} (columns: "
                              f"{_quoted(header)})")
    return target


def _csv_where(lines, column):
    """Locator for errors in one CSV column: ``where(i)`` -> ``"line 7, column 'age'"``."""
    return lambda i: f"line {lines[i]}, column {column!r}"


def _numbers(path, rows, names, lines, dtype):
    """CSV cells as an array of ``dtype``, shape (len(rows), len(names)).

    Every cell must be a finite number that fits ``dtype``; the first that is not is named
    by line, column and value.
    """
    cells = np.array(rows, dtype=str).reshape(len(rows), len(names))
    try:
        values = cells.astype(np.float64)  # parses exactly as float() does
    except ValueError:
        for i, row in enumerate(rows):  # find the first offender in reading order
            for j, cell in enumerate(row):
                try:
                    float(cell)
                except ValueError:
                    problem = ("the cell is empty (fill in or drop missing values)"
                               if not cell.strip()
                               else f"expected a number, got {cell.strip()!r}")
                    raise DataFormatError(f"{path}: line {lines[i]}, column {names[j]!r}: "
                                          f"{problem}") from None
        raise  # pragma: no cover (astype and float() parse the same way)
    _check_finite(path, values, dtype,
                  lambda i, j: f"line {lines[i]}, column {names[j]!r}",
                  lambda i, j: repr(str(cells[i, j]).strip()))
    return values.astype(dtype)


def _check_finite(path, values, dtype, where, text):
    """Raise for the first NaN, infinity or value too large for ``dtype`` in ``values``."""
    bad = ~np.isfinite(values)
    if bad.any():
        idx = tuple(np.argwhere(bad)[0])
        raise DataFormatError(f"{path}: {where(*idx)}: {text(*idx)} is not a finite number; "
                              "NaN and infinity are not allowed")
    limit = np.finfo(dtype).max
    big = np.abs(values) > limit
    if big.any():
        idx = tuple(np.argwhere(big)[0])
        raise DataFormatError(f"{path}: {where(*idx)}: {text(*idx)} is too large for "
                              f"{dtype} (at most {limit:.4g})")


def _text_or_numbers(labels):
    """A CSV target column: float64 if every cell is a number, else the stripped strings."""
    try:
        return np.array(labels, dtype=str).astype(np.float64)
    except ValueError:
        return np.array(labels, dtype=object)  # an object array of str: any length


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


def _npz_features(path, archive, dtype):
    """The archive's ``X``: 2-D, non-empty, finite numbers, as ``dtype``."""
    X = _npz_array(path, archive, "X")
    if X.dtype.kind not in "biuf":
        raise DataFormatError(f"{path}: X must hold numbers, got dtype {X.dtype}")
    if X.ndim != 2:
        raise DataFormatError(f"{path}: X must be 2-D (n_samples, n_features), got shape "
                              f"{X.shape}")
    if X.size == 0:
        raise DataFormatError(f"{path}: X is empty (shape {X.shape})")
    if X.dtype.kind == "f":
        _check_finite(path, X, dtype, lambda i, j: f"X[{i}, {j}]",
                      lambda i, j: repr(float(X[i, j])))
    return np.ascontiguousarray(X, dtype=dtype)


def _read_npz_table(path, dtype):
    """``X`` as ``dtype`` and ``y`` (1-D, or 2-D with several columns) from an archive."""
    with _open_npz(path) as archive:
        X = _npz_features(path, archive, dtype)
        y = _npz_array(path, archive, "y")
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
    if len(y) != len(X):
        raise DataFormatError(f"{path}: X has {len(X)} rows but y has {len(y)}; they must "
                              "match")
    if y.dtype.kind == "U":
        y = y.astype(object)  # text labels, as from a CSV

    def where(i, j=None):
        return f"y[{i}]" if j is None else f"y[{i}, {j}]"

    return X, y, where


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
        if np.array_equal(y, np.round(y)):
            y = y.astype(np.int64)
    if y.dtype.kind == "O":
        y = y.astype(str)
    labels, indices = np.unique(y, return_inverse=True)
    if len(labels) < 2:
        raise DataFormatError(f"{path}: the target {what} holds one class only "
                              f"({labels[0].item()!r}); classification needs at least 2")
    # .item() gives plain Python values (str, int, float, bool): printable and JSON-ready
    return indices.reshape(-1).astype(np.int64), tuple(label.item() for label in labels)


def _regression_targets(path, y, what, where, dtype):
    """Regression targets as ``dtype``, shape (n, 1), or (n, k) for a 2-D ``y``."""
    if y.dtype.kind == "O":  # text in a CSV column: name the first cell that is not a number
        for i, cell in enumerate(y):
            try:
                float(cell)
            except ValueError:
                raise DataFormatError(f"{path}: {where(i)}: expected a number, got {cell!r} "
                                      "(a regression target must be numeric)") from None
    y = y.astype(np.float64)
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    _check_finite(path, y, dtype, lambda i, j: where(i) if y.shape[1] == 1 else where(i, j),
                  lambda i, j: repr(float(y[i, j])))
    return y.astype(dtype)


# --- the split -------------------------------------------------------------------------------

def _split(path, X, y, classes, test_fraction, seed):
    """``train_test_split``, stratified by class when ``classes`` is given, after checking
    that there are enough rows for it (to say so in our words, not scikit-learn's)."""
    from sklearn.model_selection import train_test_split

    n = len(X)
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
    return train_test_split(X, y, test_size=test_fraction, random_state=seed,
                            stratify=stratify)


def _quoted(names, last_sep=", "):
    """``'a', 'b' or 'c'``; long lists are cut after a dozen names."""
    names = [repr(str(name)) for name in names]
    if len(names) > _LISTED:
        names = [*names[:_LISTED], f"... ({len(names) - _LISTED} more)"]
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + last_sep + names[-1]
