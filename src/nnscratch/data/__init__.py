"""Data sets: MNIST (IDX files, checksums, download, splits), digits, the regression targets,
and a user's own tables (CSV, Parquet, Excel or .npz) with their input pipeline.

One module each: :mod:`.datasets` (the container), :mod:`.idx` (the file format),
:mod:`.mnist`, :mod:`.digits`, :mod:`.regression`, :mod:`.tables` (the user's files),
:mod:`.pipeline` (a table's imputation, scaling and one-hot encoding) and
:mod:`.catalog` (by name).
"""

from .catalog import DATASETS, SPLITS, load_dataset
from .datasets import Dataset, one_hot
from .digits import load_digits
from .idx import parse_idx, read_idx
from .mnist import (
    ENV_VAR,
    MNIST_FILES,
    MNIST_MD5,
    MNIST_MIRRORS,
    clear_cache,
    download_mnist,
    find_mnist,
    load_mnist,
    mnist_cache_dir,
)
from .pipeline import (
    EmptyRowWarning,
    NotUTF8Warning,
    RowIndexWarning,
    TablePipeline,
    UnseenCategoryWarning,
)
from .regression import REGRESSION_FUNCTIONS, regression_data
from .tables import (
    MAX_AUTO_CLASSES,
    MAX_CATEGORIES,
    TASKS,
    load_features,
    load_labelled_table,
    load_table,
    predict_table,
    table_outputs,
    write_predictions,
)

__all__ = [
    "DATASETS",
    "ENV_VAR",
    "MAX_AUTO_CLASSES",
    "MAX_CATEGORIES",
    "MNIST_FILES",
    "MNIST_MD5",
    "MNIST_MIRRORS",
    "REGRESSION_FUNCTIONS",
    "SPLITS",
    "TASKS",
    "Dataset",
    "EmptyRowWarning",
    "NotUTF8Warning",
    "RowIndexWarning",
    "TablePipeline",
    "UnseenCategoryWarning",
    "clear_cache",
    "download_mnist",
    "find_mnist",
    "load_dataset",
    "load_digits",
    "load_features",
    "load_labelled_table",
    "load_mnist",
    "load_table",
    "mnist_cache_dir",
    "one_hot",
    "parse_idx",
    "predict_table",
    "read_idx",
    "regression_data",
    "table_outputs",
    "write_predictions",
]
