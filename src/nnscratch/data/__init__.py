"""Data sets: MNIST (IDX files, checksums, download, splits), digits, the regression targets,
and a user's own tables (CSV or .npz)."""

from nnscratch.data.datasets import (
    DATASETS,
    REGRESSION_FUNCTIONS,
    Dataset,
    load_dataset,
    load_digits,
    one_hot,
    regression_data,
)
from nnscratch.data.idx import parse_idx, read_idx
from nnscratch.data.mnist import (
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
from nnscratch.data.tables import (
    MAX_AUTO_CLASSES,
    TASKS,
    load_features,
    load_table,
    write_predictions,
)

__all__ = [
    "DATASETS",
    "ENV_VAR",
    "MAX_AUTO_CLASSES",
    "MNIST_FILES",
    "MNIST_MD5",
    "MNIST_MIRRORS",
    "REGRESSION_FUNCTIONS",
    "TASKS",
    "Dataset",
    "clear_cache",
    "download_mnist",
    "find_mnist",
    "load_dataset",
    "load_digits",
    "load_features",
    "load_mnist",
    "load_table",
    "mnist_cache_dir",
    "one_hot",
    "parse_idx",
    "read_idx",
    "regression_data",
    "write_predictions",
]
