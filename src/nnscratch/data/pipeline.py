"""A table's input pipeline: fitted by scikit-learn's transformers, stored as plain arrays and
JSON, replayed with NumPy.

Real tables come with missing cells, text columns and raw scales. :meth:`TablePipeline.fit`
runs scikit-learn's ``ColumnTransformer`` on the training rows only: numeric columns are
imputed with their median (``SimpleImputer``) and standardised (``StandardScaler``); text and
boolean columns are imputed with their most frequent value and one-hot encoded
(``OneHotEncoder``). It keeps only what those transformers learned (medians, means, scales,
categories), so a model file holds no pickled object, and :meth:`TablePipeline.transform`
applies it with NumPy: the same numbers, anywhere.

A regression target is standardised the same way for training (:meth:`scale_targets`); the
network's output layer then absorbs the inverse map, so every prediction is in the target's
own units.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataFormatError

#: Kinds of input column.
NUMERIC, CATEGORY = "numeric", "category"

#: Arrays a model file holds for a pipeline (one value per numeric column, then per target).
ARRAYS = ("input_fill", "input_mean", "input_scale", "target_mean", "target_scale")


class UnseenCategoryWarning(UserWarning):
    """A text value the model never saw in training: it is encoded as all zeros."""


class EmptyRowWarning(UserWarning):
    """A row to predict with no input cells: its prediction is the imputed values' alone."""


class NotUTF8Warning(UserWarning):
    """A table file that is not UTF-8 text, read as Windows-1252 (Excel's CSV on Windows)."""


class RowIndexWarning(UserWarning):
    """A table's first column is pandas' row index (an unnamed column, no two rows alike, as
    ``DataFrame.to_csv()`` writes it without ``index=False``): it is left out."""


@dataclass(frozen=True)
class Column:
    """One input column and how it is encoded.

    Parameters
    ----------
    name : str
    kind : {"numeric", "category"}
    categories : tuple of str
        The one-hot categories, sorted (a category column); empty for a numeric one.
    fill : float or str
        What a missing cell becomes: the training median (numeric) or the most frequent
        value (category).
    mean, scale : float
        A numeric column's standardisation, ``(x - mean) / scale`` (0 and 1 when not scaled).
    missing : int
        Missing cells in the training rows (for the summary).
    """

    name: str
    kind: str
    categories: tuple = ()
    fill: object = 0.0
    mean: float = 0.0
    scale: float = 1.0
    missing: int = 0

    @property
    def width(self):
        """Features this column becomes: 1, or one per category."""
        return 1 if self.kind == NUMERIC else len(self.categories)

    @property
    def feature_names(self):
        """``("age",)`` or ``("island=Biscoe", "island=Dream", ...)``."""
        if self.kind == NUMERIC:
            return (self.name,)
        return tuple(f"{self.name}={c}" for c in self.categories)

    def describe(self, scaled):
        """How the column is encoded, in words (``nnscratch info``)."""
        missing = f"; {self.missing:,} missing in training" if self.missing else ""
        if self.kind == NUMERIC:
            how = (f"standardised (mean {self.mean:.4g}, scale {self.scale:.4g})" if scaled
                   else "as it is")
            return f"numeric, {how}; missing -> median {self.fill:.4g}{missing}"
        shown = ", ".join(self.categories[:8]) + (
            f", ... ({len(self.categories) - 8} more)" if len(self.categories) > 8 else "")
        return (f"text, one-hot over {len(self.categories)} values ({shown}); missing -> "
                f"{self.fill!r}{missing}")


@dataclass(frozen=True)
class TablePipeline:
    """What a model trained on a table does to its inputs before the network sees them.

    Parameters
    ----------
    columns : tuple of Column
        The input columns, numeric ones first, then the category ones (the order of the
        features, as ``ColumnTransformer`` lays them out).
    scale : bool
        Numeric inputs (and a regression target) are standardised.
    dropped : tuple of str
        Columns of the training table left out on purpose (``--drop``): ignored if present.
    target : str or None
        The training table's target column (ignored if present in rows to predict).
    target_mean, target_scale : tuple of float
        A regression target's standardisation for training (empty for classification).
    rows_without_target : int
        Training-table rows left out because their target cell was empty.
    """

    columns: tuple
    scale: bool = True
    dropped: tuple = ()
    target: str | None = None
    target_mean: tuple = ()
    target_scale: tuple = ()
    rows_without_target: int = 0
    _warned: set = field(default_factory=set, compare=False, repr=False)

    # --- fitting ---------------------------------------------------------------------------
    @classmethod
    def fit(cls, frame, *, scale=True, target=None, y=None, dropped=(), rows_without_target=0):
        """Fit the pipeline on the training rows.

        Parameters
        ----------
        frame : pandas.DataFrame, shape (n_rows, n_columns)
            The training rows' input columns. Numeric dtypes are numeric columns; every
            other column (text, booleans) is a category column; missing cells are NaN/None.
        scale : bool, default True
            Standardise numeric columns (and a regression ``y``).
        target : str, optional
            Name of the target column (recorded).
        y : ndarray, shape (n_rows, k), optional
            A regression target, standardised when ``scale``.
        dropped, rows_without_target
            Recorded for the summary and for predicting.

        Returns
        -------
        TablePipeline
        """
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        numeric = [c for c in frame.columns if is_numeric(frame[c])]
        text = [c for c in frame.columns if c not in numeric]
        transformer = ColumnTransformer([
            ("numeric", Pipeline([("impute", SimpleImputer(strategy="median")),
                                  ("scale", StandardScaler(with_mean=scale,
                                                           with_std=scale))]), numeric),
            ("text", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                               ("onehot", OneHotEncoder(handle_unknown="ignore",
                                                        sparse_output=False))]), text),
        ])
        transformer.fit(_for_sklearn(frame, numeric, text))
        columns = []
        if numeric:
            steps = transformer.named_transformers_["numeric"].named_steps
            fills, scaler = steps["impute"].statistics_, steps["scale"]
            means = scaler.mean_ if scale else np.zeros(len(numeric))
            scales = scaler.scale_ if scale else np.ones(len(numeric))
            columns += [Column(str(c), NUMERIC, fill=float(f), mean=float(m), scale=float(s),
                               missing=int(frame[c].isna().sum()))
                        for c, f, m, s in zip(numeric, fills, means, scales, strict=True)]
        if text:
            steps = transformer.named_transformers_["text"].named_steps
            columns += [Column(str(c), CATEGORY, categories=tuple(map(str, cats)),
                               fill=str(f), missing=int(frame[c].isna().sum()))
                        for c, f, cats in zip(text, steps["impute"].statistics_,
                                              steps["onehot"].categories_, strict=True)]
        mean = scale_ = ()
        if y is not None:
            y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
            mean, scale_ = (np.zeros(y.shape[1]), np.ones(y.shape[1])) if not scale else (
                y.mean(axis=0), _nonzero(y.std(axis=0)))
            mean, scale_ = tuple(map(float, mean)), tuple(map(float, scale_))
        return cls(tuple(columns), scale=bool(scale), dropped=tuple(dropped),
                   target=target, target_mean=mean, target_scale=scale_,
                   rows_without_target=int(rows_without_target))

    @classmethod
    def identity(cls, names, target=None):
        """The pipeline of a model trained before models carried one: every column numeric,
        used as it is, no cell may be missing."""
        return cls(tuple(Column(str(n), NUMERIC, fill=np.nan) for n in names), scale=False,
                   target=target)

    # --- applying --------------------------------------------------------------------------
    @property
    def input_names(self):
        """The input columns' names, in feature order."""
        return tuple(c.name for c in self.columns)

    @property
    def feature_names(self):
        """Every feature's name, e.g. ``("bill_length_mm", ..., "island=Biscoe", ...)``."""
        return tuple(name for c in self.columns for name in c.feature_names)

    @property
    def imputes(self):
        """Whether missing cells are filled in (False for :meth:`identity`'s pipelines)."""
        return any(c.kind != NUMERIC or not np.isnan(c.fill) for c in self.columns)

    @property
    def n_features(self):
        """Width of the encoded rows (the network's inputs)."""
        return sum(c.width for c in self.columns)

    def transform(self, frame, *, dtype=np.float32, where=None):
        """Encode rows the way the training rows were encoded, with NumPy.

        Parameters
        ----------
        frame : pandas.DataFrame or mapping of column name -> 1-D array
            Holds every input column (others are ignored). Missing cells are NaN or None.
        dtype : {float32, float64}
        where : callable, optional
            ``where(i)`` names row ``i`` in an error message (e.g. ``"line 7"``).

        Returns
        -------
        ndarray, shape (n_rows, n_features)

        Raises
        ------
        DataFormatError
            A numeric cell that is not a finite number, or (:meth:`identity`) a missing one.

        Warns
        -----
        UnseenCategoryWarning
            Once per column and value never seen in training (encoded as all zeros).
        """
        where = where or (lambda i: f"row {i + 1}")
        blocks = []
        for column in self.columns:
            values = _values(frame[column.name])
            if column.kind == NUMERIC:
                blocks.append(self._numeric(column, values, where)[:, None])
            else:
                blocks.append(self._one_hot(column, values))
        n = len(values) if self.columns else 0
        return np.ascontiguousarray(np.hstack(blocks) if blocks else np.zeros((n, 0)),
                                    dtype=dtype)

    def _numeric(self, column, values, where):
        """A numeric column: cells as float64, missing -> fill, then standardised."""
        x = _as_floats(values, column.name, where)
        missing = np.isnan(x)
        if missing.any():
            if np.isnan(column.fill):
                raise DataFormatError(f"{where(int(np.argmax(missing)))}, column "
                                      f"{column.name!r}: the cell is empty (this model was "
                                      "trained without missing values; fill it in)")
            x[missing] = column.fill
        return (x - column.mean) / column.scale

    def _one_hot(self, column, values):
        """A category column: one 0/1 feature per category; unseen values are all zeros."""
        text = np.array([column.fill if is_missing(v) else str(v) for v in values],
                        dtype=object)
        categories = np.array(column.categories, dtype=object)
        encoded = (text[:, None] == categories[None, :]).astype(np.float64)
        unseen = sorted(set(text[encoded.sum(axis=1) == 0]) - {None})
        for value in unseen:
            if (column.name, value) not in self._warned:
                self._warned.add((column.name, value))
                warnings.warn(f"column {column.name!r} has the value {value!r}, which the "
                              "model never saw in training: it is encoded as all zeros",
                              UnseenCategoryWarning, stacklevel=4)
        return encoded

    def scale_targets(self, y):
        """A regression target standardised as in training, ``(y - mean) / scale``."""
        return ((y - np.asarray(self.target_mean)) / np.asarray(self.target_scale)).astype(
            y.dtype)

    # --- describing and storing ------------------------------------------------------------
    def summary(self):
        """What was done, in one line, e.g. ``"4 numeric columns (standardised; 8 missing
        values imputed), 2 text columns (one-hot: 5 features)"``."""
        numeric = [c for c in self.columns if c.kind == NUMERIC]
        text = [c for c in self.columns if c.kind == CATEGORY]
        parts = []
        if numeric:
            missing = sum(c.missing for c in numeric)
            how = ["standardised" if self.scale else "not scaled"] + (
                [f"{missing:,} missing value{_s(missing)} imputed with the median"]
                if missing else [])
            parts.append(f"{len(numeric)} numeric column{_s(len(numeric))} ({'; '.join(how)})")
        if text:
            missing = sum(c.missing for c in text)
            width = sum(c.width for c in text)
            how = [f"one-hot: {width:,} feature{_s(width)}"] + (
                [f"{missing:,} missing value{_s(missing)} set to the most frequent"]
                if missing else [])
            parts.append(f"{len(text)} text column{_s(len(text))} ({'; '.join(how)})")
        if self.target_mean and self.scale:
            parts.append(f"target {self.target!r} standardised for training")
        if self.dropped:
            parts.append(f"left out: {', '.join(map(repr, self.dropped))}")
        if self.rows_without_target:
            n = self.rows_without_target
            parts.append(f"{n:,} row{_s(n)} without a target dropped")
        return ", ".join(parts) or "no input columns"

    def describe(self):
        """``[(column, how it is encoded)]`` for every input column."""
        return [(c.name, c.describe(self.scale)) for c in self.columns]

    def to_stored(self):
        """``(json_dict, arrays)``: what a model file holds of the pipeline."""
        numeric = [c for c in self.columns if c.kind == NUMERIC]
        arrays = {"input_fill": np.array([c.fill for c in numeric], dtype=np.float64),
                  "input_mean": np.array([c.mean for c in numeric], dtype=np.float64),
                  "input_scale": np.array([c.scale for c in numeric], dtype=np.float64),
                  "target_mean": np.array(self.target_mean, dtype=np.float64),
                  "target_scale": np.array(self.target_scale, dtype=np.float64)}
        described = {
            "columns": [{"name": c.name, "kind": c.kind, "missing": c.missing,
                         **({"categories": list(c.categories), "fill": c.fill}
                            if c.kind == CATEGORY else {})} for c in self.columns],
            "scale": self.scale, "dropped": list(self.dropped), "target": self.target,
            "rows_without_target": self.rows_without_target}
        return described, arrays

    @classmethod
    def from_stored(cls, described, arrays):
        """The pipeline :meth:`to_stored` gave, bit for bit. ``ValueError`` if the JSON and
        the arrays disagree."""
        columns, k = [], 0
        for spec in described["columns"]:
            if spec["kind"] == NUMERIC:
                columns.append(Column(spec["name"], NUMERIC, fill=float(arrays["input_fill"][k]),
                                      mean=float(arrays["input_mean"][k]),
                                      scale=float(arrays["input_scale"][k]),
                                      missing=spec["missing"]))
                k += 1
            elif spec["kind"] == CATEGORY:
                columns.append(Column(spec["name"], CATEGORY,
                                      categories=tuple(spec["categories"]), fill=spec["fill"],
                                      missing=spec["missing"]))
            else:
                raise ValueError(f"unknown column kind {spec['kind']!r}")
        if any(len(arrays[name]) != k for name in ARRAYS[:3]):
            raise ValueError(f"the input arrays must hold one value per numeric column ({k})")
        return cls(tuple(columns), scale=bool(described["scale"]),
                   dropped=tuple(described["dropped"]), target=described["target"],
                   target_mean=tuple(map(float, arrays["target_mean"])),
                   target_scale=tuple(map(float, arrays["target_scale"])),
                   rows_without_target=described["rows_without_target"])


def is_numeric(series):
    """A pandas column of numbers (booleans are categories)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return is_numeric_dtype(series.dtype) and not is_bool_dtype(series.dtype)


def _for_sklearn(frame, numeric, text):
    """The frame as scikit-learn's imputers want it: floats, and text as objects with NaN."""
    import pandas as pd

    columns = {c: frame[c].astype(np.float64) for c in numeric}
    columns.update({c: pd.Series(np.array([np.nan if is_missing(v) else str(v)
                                           for v in frame[c]], dtype=object),
                                 index=frame.index) for c in text})
    return pd.DataFrame(columns, index=frame.index)[list(frame.columns)]


def _values(column):
    """A column (pandas Series, array or list) as a 1-D NumPy array."""
    return column.to_numpy() if hasattr(column, "to_numpy") else np.asarray(column)


def _as_floats(values, name, where):
    """A numeric column's cells as float64 (NaN for missing); the first cell that is not a
    number, or not finite, is an error naming where it is."""
    try:
        x = np.array([np.nan if is_missing(v) else v for v in values], dtype=np.float64) \
            if values.dtype == object else values.astype(np.float64)
    except (TypeError, ValueError):
        for i, v in enumerate(values):
            try:
                float(v)
            except (TypeError, ValueError):
                raise DataFormatError(f"{where(i)}, column {name!r}: expected a number, got "
                                      f"{str(v).strip()!r}") from None
        raise
    bad = np.isinf(x)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataFormatError(f"{where(i)}, column {name!r}: {float(x[i])} is not a finite "
                              "number; infinity is not allowed")
    return x


def is_missing(value):
    """None, NaN or pandas' NA."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and pd.NA
    except TypeError:
        return True  # pd.NA's comparison is ambiguous


def _nonzero(scale):
    """A standard deviation of 0 (a constant) becomes 1, as StandardScaler does."""
    return np.where(scale == 0, 1.0, scale)


def _s(n):
    return "" if n == 1 else "s"
