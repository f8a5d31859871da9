"""Running one benchmark measurement in a fresh process with a set number of threads.

The side-by-side benchmarks (bench_cnn.py, bench_time_to_accuracy.py) call their own script
again with ``--worker IMPL``; the worker prints one JSON line, read back here.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_worker(script, impl, threads, *options):
    """Run ``script --worker impl --threads N options...`` with ``threads`` BLAS/OpenMP
    threads and this checkout's ``src`` first on the path; return its JSON result."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, str(script), "--worker", impl, "--threads",
                          str(threads), *map(str, options)], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def answer(impl, threads, workers, *args):
    """In the worker process: run ``workers[impl](*args)`` (PyTorch limited to ``threads``)
    and print its result as the JSON line :func:`run_worker` reads."""
    if impl == "torch":
        import torch

        torch.set_num_threads(threads)
    print(json.dumps(workers[impl](*args)))
