"""Training speed of nnscratch beside the references, measured side by side in one run.

Each implementation trains the same network (same initial weights, same hyper-parameters,
batch 64, plain SGD, lr 0.05) on the blog's 56,000 MNIST training images, in its own
process, and the processes are interleaved (A B C A B C ...) so drifts in the machine's
speed hit every implementation alike. Prints seconds per epoch, median [min-max] over the
repetitions, the final test accuracy, the ratios, the machine's measured float32 GEMM
peak with nnscratch's share of it, and the network's floor: its own matrix products and
batch gathers timed alone, which no implementation can skip. ``tight32`` is the same
algorithm as the tightest NumPy loop we could write (``tight_numpy.py``): what a NumPy engine
can reach here at best.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_train.py

(``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` force an old, slow OpenBLAS kernel on some
machines; the script prints which kernel actually ran.) PyTorch is optional:
``pip install torch==2.13.0``.

``--against OTHER/src`` instead compares this checkout's nnscratch with another copy's (a git
worktree of an older commit), interleaved: the way to measure a change to the engine.
"""

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ARCHITECTURES = {"blog": [784, 32, 32, 10], "wide": [784, 256, 128, 10]}
SEED, SHUFFLE_SEED, LR, BATCH = 0, 1, 0.05, 64


# --- workers: each runs in its own process and prints one JSON line ----------------------
SRC = HERE.parent / "src"  # the nnscratch that workers import (--src changes it)


def _data(dtype):
    from nnscratch.data import load_mnist  # from SRC: run_worker put it first on the path

    # this checkout's vendored copy, also when the engine comes from elsewhere (--against)
    return load_mnist(split="blog", dtype=dtype, progress=False,
                      data_dir=HERE.parent / "data" / "mnist")


def worker_nnscratch(sizes, epochs, dtype=np.float32):
    from nnscratch import CrossEntropyLoss, NeuralNetwork, train

    data = _data(dtype)
    model = NeuralNetwork.from_sizes(sizes, head_activation="softmax", dtype=dtype, seed=SEED)
    history = train(model, data.X_train, data.y_train, CrossEntropyLoss, epochs, BATCH, LR,
                    bar=False, rng=np.random.default_rng(SHUFFLE_SEED))
    start = time.perf_counter()
    model.predict(data.X_test[:10000])
    predict_ms = 1000 * (time.perf_counter() - start)
    return {"epoch_seconds": history.epoch_seconds,
            "test_accuracy": model.score(data.X_test, data.y_test),
            "predict_10k_ms": predict_ms}


def worker_plain(sizes, epochs, dtype):
    sys.path.insert(0, str(HERE))
    import plain_numpy as plain
    from nnscratch.data import one_hot

    data = _data(dtype)
    model = plain.PlainNetwork(sizes, seed=SEED, dtype=dtype)
    times, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    plain.train(model, data.X_train, one_hot(data.y_train, 10, dtype), epochs, BATCH, LR,
                np.random.default_rng(SHUFFLE_SEED), on_epoch=tick)
    accuracy = float(np.mean(model.forward(data.X_test).argmax(axis=1) == data.y_test))
    return {"epoch_seconds": times, "test_accuracy": accuracy}


def worker_tight(sizes, epochs):
    sys.path.insert(0, str(HERE))
    import plain_numpy as plain
    import tight_numpy as tight

    data = _data(np.float32)
    layers, _, times = tight.train(plain.initial_weights(sizes, SEED, np.float32),
                                   data.X_train, data.y_train, epochs, BATCH, LR,
                                   np.random.default_rng(SHUFFLE_SEED))
    x = data.X_test
    for i, (w, b) in enumerate(layers):
        x = x @ w + b
        if i < len(layers) - 1:
            x = np.maximum(x, 0)
    return {"epoch_seconds": times, "test_accuracy": float(np.mean(x.argmax(1) == data.y_test))}


def worker_torch(sizes, epochs, threads):
    import torch

    sys.path.insert(0, str(HERE))
    import plain_numpy as plain

    torch.set_num_threads(threads)
    data = _data(np.float32)
    layers = []
    for i, (w, b) in enumerate(plain.initial_weights(sizes, SEED, np.float32)):
        linear = torch.nn.Linear(*w.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.T.copy()))
            linear.bias.copy_(torch.from_numpy(b[0]))
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    X, y = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    rng, times = np.random.default_rng(SHUFFLE_SEED), []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.from_numpy(rng.permutation(len(X)))
        for i in range(0, len(X), BATCH):
            idx = order[i:i + BATCH]
            loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    with torch.no_grad():
        pred = model(torch.from_numpy(data.X_test)).argmax(dim=1).numpy()
    return {"epoch_seconds": times, "test_accuracy": float(np.mean(pred == data.y_test)),
            "torch": torch.__version__}


def worker_sklearn(sizes, epochs):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    data = _data(np.float32)
    clf = MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), activation="relu",
                        solver="sgd", alpha=0.0, batch_size=BATCH, learning_rate_init=LR,
                        momentum=0.0, nesterovs_momentum=False, max_iter=epochs, tol=0.0,
                        n_iter_no_change=epochs + 1, shuffle=True, random_state=SEED)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(data.X_train, data.y_train)
    per_epoch = (time.perf_counter() - start) / epochs
    return {"epoch_seconds": [per_epoch] * epochs,
            "test_accuracy": float(clf.score(data.X_test, data.y_test))}


def worker_gemm(threads):
    n, best = 4096, float("inf")
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = np.random.default_rng(1).random((n, n), dtype=np.float32)
    a @ b
    for _ in range(5):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return {"gflops": 2 * n**3 / best / 1e9}


def worker_floor(sizes, repeats=300):
    """The work no implementation can skip, timed alone with warm caches: each of the
    network's matrix products at batch 64 (forward, weight gradient, input gradient of every
    layer but the first) and the gather of 64 random rows of the training set, per epoch."""
    rng = np.random.default_rng(0)
    n_batches = -(-56000 // BATCH)

    def seconds(fn):
        fn()
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        return (time.perf_counter() - start) / repeats

    gemm = 0.0
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        x = rng.random((BATCH, fan_in), dtype=np.float32)
        w = rng.random((fan_in, fan_out), dtype=np.float32)
        d_z = rng.random((BATCH, fan_out), dtype=np.float32)
        gemm += seconds(lambda x=x, w=w: x @ w) + seconds(lambda x=x, d=d_z: x.T @ d)
        if i > 0:
            gemm += seconds(lambda d=d_z, w=w: d @ w.T)
    data = rng.random((56000, sizes[0]), dtype=np.float32)
    out = np.empty((BATCH, sizes[0]), np.float32)
    orders = rng.permutation(56000)[:BATCH * repeats].reshape(repeats, BATCH)
    start = time.perf_counter()
    for idx in orders:
        data.take(idx, axis=0, out=out)
    gather = (time.perf_counter() - start) / repeats
    return {"gemm_s_per_epoch": gemm * n_batches, "gather_s_per_epoch": gather * n_batches}


def run_worker(args):
    global SRC
    from threadpoolctl import threadpool_info, threadpool_limits

    SRC = Path(args.src).resolve() if args.src else SRC
    sys.path.insert(0, str(SRC))

    sizes = ARCHITECTURES[args.arch]
    with threadpool_limits(limits=args.threads):
        impl = args.worker
        if impl == "nnscratch":
            result = worker_nnscratch(sizes, args.epochs)
        elif impl in ("plain64", "plain32"):
            dtype = np.float64 if impl == "plain64" else np.float32
            result = worker_plain(sizes, args.epochs, dtype)
        elif impl == "tight32":
            result = worker_tight(sizes, args.epochs)
        elif impl == "torch":
            result = worker_torch(sizes, args.epochs, args.threads)
        elif impl == "sklearn":
            result = worker_sklearn(sizes, args.epochs)
        elif impl == "gemm":
            result = worker_gemm(args.threads)
        elif impl == "floor":
            result = worker_floor(sizes)
        else:
            raise SystemExit(f"unknown worker {impl!r}")
        result["blas"] = [{k: info.get(k) for k in ("internal_api", "version",
                                                    "architecture", "num_threads")}
                          for info in threadpool_info()]
    print(json.dumps(result))


# --- the driver ---------------------------------------------------------------------------
def _spawn(worker, arch, epochs, threads, src=None):
    command = [sys.executable, __file__, "--worker", worker, "--arch", arch,
               "--epochs", str(epochs), "--threads", str(threads)]
    if src:
        command += ["--src", str(src)]
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{worker} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _have_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _gemm_flops(sizes, n_samples):
    """FLOPs of one epoch's matrix products in nnscratch (no first-layer input gradient)."""
    products = [a * b for a, b in itertools.pairwise(sizes)]
    return 2 * n_samples * (2 * sum(products) + sum(products[1:]))


def _print_runs(arch, label, runs):
    """The Markdown table of ``{name: [worker results]}``; returns each median s/epoch."""
    print(f"## {'-'.join(map(str, ARCHITECTURES[arch]))}\n")
    print(f"| {label} | s/epoch median [min-max] | test accuracy |")
    print("| --- | --- | --- |")
    medians = {}
    for name, results in runs.items():
        per_run = [statistics.median(r["epoch_seconds"]) for r in results]
        medians[name] = statistics.median(per_run)
        accuracy = statistics.median(r["test_accuracy"] for r in results)
        print(f"| {name} | {medians[name]:.3f} [{min(per_run):.3f}-{max(per_run):.3f}] "
              f"| {accuracy:.4f} |")
    print()
    return medians


def compare_sources(args):
    """A/B: the same nnscratch training from two source trees, interleaved."""
    other = Path(args.against).resolve()
    if not (other / "nnscratch" / "__init__.py").is_file():
        raise SystemExit(f"--against {args.against}: no nnscratch package in that folder "
                         "(give the src folder of a checkout)")
    archs = list(ARCHITECTURES) if args.arch == "both" else [args.arch]
    sources = {"this checkout": SRC, str(other): other}
    print(f"{args.epochs} epochs per run, {args.repeats} interleaved runs, "
          f"{args.threads} threads\n")
    for arch in archs:
        runs = {name: [] for name in sources}
        for _ in range(args.repeats):
            for name, src in sources.items():
                runs[name].append(_spawn("nnscratch", arch, args.epochs, args.threads, src))
        _print_runs(arch, "nnscratch from", runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (default 3)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per implementation")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="BLAS/torch threads for every implementation (default: all)")
    parser.add_argument("--arch", choices=[*ARCHITECTURES, "both"], default="both")
    parser.add_argument("--against", metavar="SRC",
                        help="only compare nnscratch from this checkout with nnscratch from "
                             "the src folder SRC (e.g. of a git worktree of an older commit)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--src", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return run_worker(args)
    if args.against:
        return compare_sources(args)

    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:
            print(f"warning: {name}={os.environ[name]} is set; it may force a slow kernel. "
                  "Run with: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ...")
    archs = list(ARCHITECTURES) if args.arch == "both" else [args.arch]
    gemm = _spawn("gemm", "blog", 1, args.threads)
    print(f"machine: {os.cpu_count()} cores; BLAS: {gemm['blas']}")
    print(f"float32 GEMM peak (4096^3, {args.threads} threads): {gemm['gflops']:.1f} GFLOP/s")
    print(f"{args.epochs} epochs per run, {args.repeats} interleaved runs, "
          f"{args.threads} threads\n")
    for arch in archs:
        impls = ["nnscratch", "tight32", "plain64", "plain32"]
        if _have_torch():
            impls.append("torch")
        impls.append("sklearn")
        if arch != "blog":
            impls = [i for i in impls if i != "sklearn"]
        runs = {impl: [] for impl in impls}
        for _ in range(args.repeats):
            for impl in impls:
                runs[impl].append(_spawn(impl, arch, args.epochs, args.threads))
        sizes = ARCHITECTURES[arch]
        medians = _print_runs(arch, "implementation", runs)
        for ref in impls[1:]:
            print(f"nnscratch / {ref}: {medians['nnscratch'] / medians[ref]:.2f}x")
        if "torch" in medians:
            print(f"tight32 / torch: {medians['tight32'] / medians['torch']:.2f}x")
        share = _gemm_flops(sizes, 56000) / medians["nnscratch"] / 1e9 / gemm["gflops"]
        ideal = _gemm_flops(sizes, 56000) / 1e9 / gemm["gflops"]
        print(f"ideal (GEMM FLOPs at peak): {ideal:.3f} s/epoch; nnscratch reaches "
              f"{100 * share:.0f}% of the GEMM peak")
        floor = _spawn("floor", arch, 1, args.threads)
        work = floor["gemm_s_per_epoch"] + floor["gather_s_per_epoch"]
        print(f"floor (this network's matrix products at batch 64, warm caches, "
              f"{floor['gemm_s_per_epoch']:.3f} s, + the batch gathers, "
              f"{floor['gather_s_per_epoch']:.3f} s): {work:.3f} s/epoch; nnscratch takes "
              f"{medians['nnscratch'] / work:.2f}x the floor")
        if "torch" in medians:
            print(f"0.30x / 0.60x PyTorch would be {0.3 * medians['torch']:.3f} / "
                  f"{0.6 * medians['torch']:.3f} s/epoch")
        predict = statistics.median(r["predict_10k_ms"] for r in runs["nnscratch"])
        print(f"nnscratch predict on 10,000 test images: {predict:.1f} ms\n")


if __name__ == "__main__":
    main()
