"""Does the memory layout of X change the training speed? (issue #13, point 5)

Trains the blog network (784-32-32-10, float32, batch 64) for one epoch on the first 20,000
MNIST training images, given as a C-ordered float32 array (the reference), a Fortran-ordered
array, a column-permuted view, a float64 array and a pandas DataFrame, through ``train()``
and through ``NNClassifier.fit``. Each layout runs ``--repeats`` times, interleaved with the
reference; the table shows the median seconds, the ratio to the C-ordered run and the bytes
of the contiguous copy that the boundary makes (0 for the reference: no copy).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_layout.py
"""

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from nnscratch import CrossEntropyLoss, NeuralNetwork, train
from nnscratch.data import load_mnist
from nnscratch.sklearn import NNClassifier
from nnscratch.validation import check_array

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "mnist"


def layouts(X):
    """``{name: array-like}`` holding the same numbers as ``X`` (C-ordered float32)."""
    import pandas as pd

    order = np.random.default_rng(0).permutation(X.shape[1])
    permuted = np.empty_like(X)
    permuted[:, order] = X
    return {
        "C-ordered float32": X,
        "Fortran-ordered": np.asfortranarray(X),
        "column-permuted view": permuted[:, order],
        "float64": X.astype(np.float64),
        "pandas DataFrame": pd.DataFrame(X),
    }


def copy_bytes(X):
    """Bytes of the C-ordered float32 copy the boundary makes of ``X`` (0: none)."""
    converted = check_array(X, "X", ndim=2, dtype=np.float32)
    source = X.to_numpy() if hasattr(X, "to_numpy") else X
    return 0 if np.shares_memory(converted, source) else converted.nbytes


def time_train(X, y):
    model = NeuralNetwork(784, 10, 32, 2, head_activation="softmax", seed=0)
    start = time.perf_counter()
    train(model, X, y, CrossEntropyLoss, 1, 64, 0.05, bar=False)
    return time.perf_counter() - start


def time_fit(X, y):
    start = time.perf_counter()
    NNClassifier(max_iter=1, random_state=0, dtype="float32").fit(X, y)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    data = load_mnist("standard", data_dir=DATA_DIR, progress=False)
    X, y = data.X_train[:args.rows], data.y_train[:args.rows]
    kernels = sorted({f"{i.get('internal_api')} {i.get('architecture')}"
                      for i in threadpool_info()})
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}, {args.threads} BLAS thread(s), {kernels}")
    print(f"{args.rows:,} x 784, blog network, 1 epoch, median of {args.repeats}\n")
    print(f"{'input':<22} {'path':<14} {'seconds':>8} {'ratio':>6} {'copy MB':>8}")
    with threadpool_limits(args.threads):
        for path, timer in (("train()", time_train), ("NNClassifier", time_fit)):
            inputs = layouts(X)
            reference = inputs["C-ordered float32"]
            for name, X_in in inputs.items():
                ours, ref = [], []
                for _ in range(args.repeats):  # interleaved with the reference
                    ref.append(timer(reference, y))
                    ours.append(timer(X_in, y))
                ratio = statistics.median(ours) / statistics.median(ref)
                print(f"{name:<22} {path:<14} {statistics.median(ours):8.3f} {ratio:6.2f} "
                      f"{copy_bytes(X_in) / 2**20:8.1f}")


if __name__ == "__main__":
    main()
