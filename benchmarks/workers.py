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


def torch_twin(ours):
    """The same layers in PyTorch (``torch.nn.Sequential``), with ``ours``' current weights.

    Dense, convolutional and BatchNorm layers must use ReLU or no activation (the last
    layer's softmax is left to ``nn.CrossEntropyLoss``); BatchNorm's running statistics are
    copied too. Reshape and ChannelsLast layers are left out: the caller feeds PyTorch
    ``(N, C, H, W)`` images, its own layout.
    """
    import numpy as np
    import torch
    from torch import nn

    from nnscratch.conv import ChannelsLast, Conv2D, Flatten, MaxPool2D, Reshape
    from nnscratch.layers import Dropout, Layer
    from nnscratch.normalization import BatchNorm
    from nnscratch.pooling import SubtractImageMean

    class Center(nn.Module):  # each image minus its mean colour, as SubtractImageMean
        def forward(self, x):
            return x - x.mean(dim=(2, 3), keepdim=True)

    def relu_after(layer):
        if layer is ours.layers[-1] or layer.activation.name == "identity":
            return []
        if layer.activation.name != "relu":
            raise ValueError(f"no PyTorch twin here for the activation of {layer!r}")
        return [nn.ReLU()]

    modules, images = [], False  # images: PyTorch sees (N, C, H, W) maps here, not rows
    for layer in ours.layers:
        if isinstance(layer, BatchNorm):
            norm = (nn.BatchNorm2d if images else nn.BatchNorm1d)(
                layer.channels, eps=layer.eps, momentum=layer.momentum)
            with torch.no_grad():
                for name in ("weight", "bias", "running_mean", "running_var"):
                    mine = getattr(layer, "weights" if name == "weight" else name)
                    getattr(norm, name).copy_(torch.from_numpy(np.array(mine)))
            modules += [norm, *relu_after(layer)]
        elif isinstance(layer, Conv2D):
            images = True
            pad = layer.pads[0]
            if layer.pads[0] != layer.pads[1]:
                raise ValueError("an even kernel's 'same' padding has no PyTorch twin here")
            conv = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                             stride=layer.stride, padding=pad)
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(np.array(layer.weights)))
                conv.bias.copy_(torch.from_numpy(np.array(layer.bias)))
            modules += [conv, *relu_after(layer)]
        elif isinstance(layer, MaxPool2D):
            modules.append(nn.MaxPool2d(layer.pool_size, layer.stride))
        elif isinstance(layer, SubtractImageMean):
            modules.append(Center())
        elif isinstance(layer, Dropout):
            modules.append(nn.Dropout(layer.rate))
        elif isinstance(layer, Flatten):
            images = False
            modules.append(nn.Flatten())
        elif isinstance(layer, Layer):
            linear = nn.Linear(*layer.weights.shape)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(np.array(layer.weights).T))
                linear.bias.copy_(torch.from_numpy(np.array(layer.bias).ravel()))
            modules += [linear, *relu_after(layer)]
        elif not isinstance(layer, (ChannelsLast, Reshape)):
            raise ValueError(f"no PyTorch twin for {layer!r}")
    return nn.Sequential(*modules)
