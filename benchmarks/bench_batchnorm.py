"""BatchNorm with its ReLU on a convolution's map, beside PyTorch: forward and backward.

``nnscratch.normalization.BatchNorm(C, "relu")`` in training mode on the maps of the
issue #27 networks (batches of 256: 32x26x26 after a first 3x3 convolution of MNIST, 64x11x11
after the second, and the pooled 32x13x13), given as a convolution gives them: float32,
stored channels-last. Each is timed

- on that layout by the rows path (per-channel sums as products of the (N*H*W, C) rows),
- on the same arrays by the general path (reductions over axes 0, 2, 3, about 21 passes over
  the map; what every map took before the rows path, and what other layouts still take),
- and as PyTorch eager's ``batch_norm`` then ``relu`` (and their backward through autograd)
  on the same numbers, channels-last (``torch.channels_last``) and contiguous, with the same
  number of threads.

Forward and backward of one batch each, the median of ``--repeats`` rounds of 10, the
configurations interleaved so that a busy machine hits them alike.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_batchnorm.py
"""

import argparse
import os
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from bench_time_to_accuracy import _cpu
from nnscratch import normalization
from nnscratch.normalization import BatchNorm

SHAPES = [(256, 32, 26, 26), (256, 32, 13, 13), (256, 64, 11, 11)]


def _timed(fn, rounds=10):
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - start) / rounds * 1e3


def _ours(x, g, *, general=False):
    bn = BatchNorm(x.shape[1], "relu", dtype=np.float32)
    rows_of = normalization._channels_last_rows

    def forward():
        if general:  # as if the map were in no layout the rows path takes
            normalization._channels_last_rows = lambda a: None
        try:
            bn.forward(x, training=True)
        finally:
            normalization._channels_last_rows = rows_of

    return forward, (lambda: bn.backward(g))


def _torch(x, g, memory_format):
    import torch

    xt = torch.from_numpy(np.ascontiguousarray(x)).contiguous(memory_format=memory_format)
    xt.requires_grad_(True)
    gt = torch.from_numpy(np.ascontiguousarray(g)).contiguous(memory_format=memory_format)
    c = x.shape[1]
    weight = torch.ones(c, requires_grad=True)
    bias = torch.zeros(c, requires_grad=True)
    mean, var = torch.zeros(c), torch.ones(c)
    state = {}

    def forward():
        state["out"] = torch.relu(torch.nn.functional.batch_norm(
            xt, mean, var, weight, bias, training=True, momentum=0.1, eps=1e-5))

    def backward():
        xt.grad = weight.grad = bias.grad = None
        state["out"].backward(gt, retain_graph=True)

    return forward, backward


def _cell(med, name):
    """``forward + backward = total`` milliseconds, or "-" when not measured."""
    if name not in med:
        return "-"
    f, b = med[name]
    return f"{f:.2f} + {b:.2f} = {f + b:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds of 10 (default 5)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="threads for BLAS and PyTorch (default: every core)")
    parser.add_argument("--no-torch", action="store_true", help="nnscratch only")
    args = parser.parse_args()
    torch = None
    if not args.no_torch:
        try:
            import torch

            torch.set_num_threads(args.threads)
        except ImportError:
            print("PyTorch is not installed: nnscratch only (pip install torch==2.13.0)")
    rng = np.random.default_rng(0)
    print(f"machine: {_cpu()}; {args.threads} threads; milliseconds per batch, median of "
          f"{args.repeats} x 10")
    print("| map (N, C, H, W), float32, channels-last | nnscratch, rows path | nnscratch, "
          "general path | PyTorch, channels_last | PyTorch, contiguous | rows / general | "
          "rows / PyTorch channels_last |")
    print("|---|---|---|---|---|---|---|")
    with threadpool_limits(args.threads, user_api="blas"):
        for shape in SHAPES:
            n, c, h, w = shape
            stored = rng.normal(0.5, 1.0, size=(n, h, w, c)).astype(np.float32)
            grad = rng.normal(size=(n, h, w, c)).astype(np.float32)
            x_last, g_last = stored.transpose(0, 3, 1, 2), grad.transpose(0, 3, 1, 2)
            configs = {"rows": _ours(x_last, g_last),
                       "general": _ours(x_last, g_last, general=True)}
            if torch is not None:
                configs["torch_last"] = _torch(x_last, g_last, torch.channels_last)
                configs["torch"] = _torch(x_last, g_last, torch.contiguous_format)
            times = {name: ([], []) for name in configs}
            for fwd, bwd in configs.values():  # warm up
                fwd()
                bwd()
            for _ in range(args.repeats):
                for name, (fwd, bwd) in configs.items():
                    times[name][0].append(_timed(fwd))
                    fwd()
                    times[name][1].append(_timed(bwd))
            med = {name: (statistics.median(f), statistics.median(b))
                   for name, (f, b) in times.items()}
            ratio = (f"{sum(med['rows']) / sum(med['torch_last']):.2f}x"
                     if "torch_last" in med else "-")
            print(f"| {shape} | {_cell(med, 'rows')} | {_cell(med, 'general')} | "
                  f"{_cell(med, 'torch_last')} | {_cell(med, 'torch')} | "
                  f"{sum(med['rows']) / sum(med['general']):.2f}x | {ratio} |")


if __name__ == "__main__":
    main()
