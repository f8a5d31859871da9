"""What the training loop costs beyond the math, where it shows most: a 64-16-10 network
trained on the digits in batches of 8 (Python's overhead a large share of each step), this
checkout against another, alternated in separate processes.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_loop_overhead.py \\
        --against OTHER/src [--repeats 7]

Prints, per run, the best epoch of 5 in microseconds per batch.
"""

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def worker(src):
    """Time it with the nnscratch of ``src``: microseconds per batch, best epoch of 5."""
    sys.path.insert(0, str(src))
    import numpy as np
    from sklearn.datasets import load_digits

    from nnscratch import NeuralNetwork, train

    digits = load_digits()
    X, y = (digits.data / 16).astype(np.float32), digits.target
    best = []
    for _ in range(5):
        model = NeuralNetwork.from_sizes([64, 16, 10], head_activation="softmax", seed=0)
        history = train(model, X, y, "cross_entropy", 4, 8, 0.05, bar=False,
                        rng=np.random.default_rng(1))
        best.append(min(history.epoch_seconds))
    return 1e6 * min(best) / -(-len(X) // 8)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", metavar="SRC", required=True)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(worker(args.worker))
        return
    sources = {"this checkout": HERE.parent / "src", args.against: Path(args.against)}
    for _ in range(args.repeats):
        for name, src in sources.items():
            done = subprocess.run([sys.executable, __file__, "--against", args.against,
                                   "--worker", str(src)], check=True, capture_output=True,
                                  text=True)
            print(f"{name}: {float(done.stdout):.1f} us per batch", flush=True)


if __name__ == "__main__":
    main()
