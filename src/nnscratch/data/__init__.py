"""Data sets: MNIST (IDX files, checksums, download, splits), digits and the regression targets."""

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

__all__ = [
    "DATASETS",
    "ENV_VAR",
    "MNIST_FILES",
    "MNIST_MD5",
    "MNIST_MIRRORS",
    "REGRESSION_FUNCTIONS",
    "Dataset",
    "clear_cache",
    "download_mnist",
    "find_mnist",
    "load_dataset",
    "load_digits",
    "load_mnist",
    "mnist_cache_dir",
    "one_hot",
    "parse_idx",
    "read_idx",
    "regression_data",
]
