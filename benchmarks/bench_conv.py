"""How fast are the convolutional layers? (issue #15)

Times one forward + backward pass over a batch of 128 MNIST images through
``Reshape(1, 28, 28) -> Conv2D(1, 32, 3, relu) -> MaxPool2D(2) -> Conv2D(32, 64, 3, relu)
-> MaxPool2D(2)`` ((N, 64, 5, 5) out), on one thread, float32, with a fixed gradient at the
output. The first convolution skips its input gradient, as the first layer of a network does.
Beside it: the same stack in PyTorch eager mode (if installed), and the floor, the five
im2col matrix products alone (forward of both convolutions, both weight gradients, the
second one's column gradient) on preallocated arrays. ``--breakdown`` also times each layer.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_conv.py
"""

import argparse
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from nnscratch.conv import Conv2D, MaxPool2D, Reshape
from nnscratch.data import load_mnist

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "mnist"


def median_ms(fn, repeats):
    """Median wall time of ``fn()`` in milliseconds, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def ours(X, grad):
    layers = [Reshape((1, 28, 28)),
              Conv2D(1, 32, 3, activation="relu", rng=0),
              MaxPool2D(2),
              Conv2D(32, 64, 3, activation="relu", rng=1),
              MaxPool2D(2)]

    def step():
        x = X
        for layer in layers:
            x = layer.forward(x, training=True)
        g = grad
        for i in range(len(layers) - 1, 0, -1):
            g = layers[i].backward(g, input_grad=i > 1)  # conv1's input gradient is unused

    return step, layers


def breakdown(layers, X, grad, repeats):
    """``[(name, forward ms, backward ms)]`` per layer, each timed on its own."""
    inputs = [X]
    for layer in layers:
        inputs.append(layer.forward(inputs[-1], training=True))
    grads = [grad]
    for i in range(len(layers) - 1, 0, -1):
        grads.append(layers[i].backward(grads[-1], input_grad=i > 1))
    grads = grads[::-1]  # grads[i] is the gradient at layer i's output
    rows = []
    for i, layer in enumerate(layers[1:], start=1):
        fwd = median_ms(lambda layer=layer, x=inputs[i]: layer.forward(x, training=True),
                        repeats)
        layer.forward(inputs[i], training=True)  # restore the caches for backward
        bwd = median_ms(lambda layer=layer, g=grads[i], i=i: layer.backward(
            g, input_grad=i > 1), repeats)
        rows.append((repr(layer), fwd, bwd))
    return rows


def floor(dtype=np.float32):
    """The im2col products alone, on preallocated arrays of the benchmark's shapes."""
    rng = np.random.default_rng(0)
    arrays = []
    for pixels, k_c, out in ((128 * 26 * 26, 9, 32), (128 * 11 * 11, 9 * 32, 64)):
        cols = rng.random((pixels, k_c), dtype=dtype)
        w = rng.random((out, k_c), dtype=dtype)
        d_z = rng.random((pixels, out), dtype=dtype)
        arrays.append((cols, w, d_z, np.empty((pixels, out), dtype), np.empty((out, k_c), dtype),
                       np.empty((pixels, k_c), dtype)))

    def step():
        for n, (cols, w, d_z, z, d_w, d_cols) in enumerate(arrays):
            np.matmul(cols, w.T, out=z)
            np.matmul(d_z.T, cols, out=d_w)
            if n:
                np.matmul(d_z, w, out=d_cols)

    return step


def torch_step(X, grad):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    conv1, conv2 = torch.nn.Conv2d(1, 32, 3), torch.nn.Conv2d(32, 64, 3)
    x = torch.from_numpy(X).reshape(-1, 1, 28, 28)
    g = torch.from_numpy(grad)

    def step():
        for p in (*conv1.parameters(), *conv2.parameters()):
            p.grad = None
        a = torch.nn.functional.max_pool2d(torch.relu(conv1(x)), 2)
        out = torch.nn.functional.max_pool2d(torch.relu(conv2(a)), 2)
        out.backward(g)

    return step, torch.__version__


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed runs per entry")
    parser.add_argument("--batch", type=int, default=128, help="images per batch")
    parser.add_argument("--breakdown", action="store_true", help="also time each layer")
    args = parser.parse_args(argv)

    X = load_mnist(split="standard", data_dir=DATA_DIR, progress=False).X_train[:args.batch]
    grad = np.random.default_rng(0).standard_normal((len(X), 64, 5, 5)).astype(np.float32)
    with threadpool_limits(limits=1):
        blas = threadpool_info()[0]
        print(f"numpy {np.__version__}, {blas['internal_api']} {blas['version']} "
              f"({blas.get('architecture')}), 1 thread, {platform.processor() or 'cpu'}, "
              f"batch {len(X)}, float32, median of {args.repeats}")
        step, layers = ours(X, grad)
        print(f"{'nnscratch.conv forward+backward':<36}{median_ms(step, args.repeats):8.2f} ms")
        if args.batch == 128:
            print(f"{'floor: the im2col products alone':<36}"
                  f"{median_ms(floor(), args.repeats):8.2f} ms")
        found = torch_step(X, grad)
        if found is None:
            print(f"{'torch eager':<36}{'not installed':>11}")
        else:
            t_step, version = found
            print(f"{'torch ' + version + ' eager':<36}{median_ms(t_step, args.repeats):8.2f} ms")
        if args.breakdown:
            print(f"\n{'layer':<80}{'forward':>9}{'backward':>10}")
            for name, fwd, bwd in breakdown(layers, X, grad, args.repeats):
                print(f"{name:<80}{fwd:7.2f} ms{bwd:7.2f} ms")


if __name__ == "__main__":
    main()
