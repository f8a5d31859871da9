"""ONNX export checked in onnxruntime: the same predictions, and inference speed (issue #28).

Trains the blog MLP, the ``best`` MLP and the ``cnn`` net briefly on the standard MNIST split
(``--epochs``: 2, 2 and 1 by default: the point is equal predictions, not accuracy), saves
each as ``nnscratch train`` does, exports the saved model with ``nnscratch.export.to_onnx``,
and:

1. feeds the first ``--check`` (1,000) test images to onnxruntime as raw pixel values 0-255
   (the graph's ``pixels`` input) and to nnscratch's ``predict_proba`` as the [0, 1] rows
   its data loader makes; prints the largest absolute difference of the probabilities
   (the goal: at most 1e-5) and whether every predicted label agrees;
2. times ``predict_proba`` on all 10,000 test images against onnxruntime's ``run`` on the
   same images, each with ``--threads`` threads (best of ``--repeats``).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_onnx.py --threads 1

Needs ``pip install 'nnscratch[onnx]'`` (onnx and onnxruntime).
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NETWORKS = {"blog": 2, "best": 2, "cnn": 1}  # recipe -> epochs by default


def _best_time(fn, repeats):
    """The fastest of ``repeats`` calls of ``fn``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", default=",".join(NETWORKS),
                        help="recipes to train and export (default: blog,best,cnn)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs of every network (default: blog 2, best 2, cnn 1)")
    parser.add_argument("--check", type=int, default=1000,
                        help="test images of the equality check (default: 1000)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import onnxruntime as ort
    from threadpoolctl import threadpool_limits

    from nnscratch import load
    from nnscratch.data import load_mnist, read_idx
    from nnscratch.experiment import run_training
    from nnscratch.export import to_onnx
    from nnscratch.recipes import make_config

    threadpool_limits(limits=args.threads)
    data = load_mnist("standard", data_dir=ROOT / "data" / "mnist", progress=False)
    raw = read_idx(ROOT / "data" / "mnist" / "t10k-images-idx3-ubyte.gz").reshape(-1, 784)
    pixels = raw.astype(np.float32)  # what a user has: the file's bytes, 0-255
    assert np.array_equal(pixels / np.float32(255), data.X_test)  # the rows nnscratch takes
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = args.threads
    print(f"MNIST standard split; equality on the first {args.check:,} test images, speed on "
          f"all {len(pixels):,}; {args.threads} thread(s); onnxruntime {ort.__version__}\n")
    print("| network | epochs | test accuracy | max abs difference (1,000 images) | labels "
          "agree | nnscratch predict_proba (10,000) | onnxruntime (10,000) | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.networks.split(","):
            epochs = args.epochs or NETWORKS[name]
            short = {"warmup": 0} if epochs < 2 else {}  # a warm-up needs a second epoch
            config = make_config(name, epochs=epochs, split="standard", **short)
            run_training(config, data=data, out_dir=Path(tmp) / name, bar=False,
                         log=lambda *_: None)
            model = load(Path(tmp) / name / "model.npz")  # as a user exports it
            path = to_onnx(model, Path(tmp) / f"{name}.onnx")
            session = ort.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
            n = args.check
            ours = model.predict_proba(data.X_test[:n])
            theirs, labels = session.run(None, {"pixels": pixels[:n]})
            diff = float(np.abs(ours - theirs).max())
            agree = bool(np.array_equal(labels, model.predict(data.X_test[:n])))
            t_ours = _best_time(lambda m=model: m.predict_proba(data.X_test), args.repeats)
            t_ort = _best_time(lambda s=session: s.run(None, {"pixels": pixels}),
                               args.repeats)
            accuracy = model.score(data.X_test, data.y_test)
            print(f"| {name} | {epochs} | {100 * accuracy:.2f}% | {diff:.2e} | {agree} | "
                  f"{1000 * t_ours:.1f} ms | {1000 * t_ort:.1f} ms | {t_ours / t_ort:.2f}x |",
                  flush=True)


if __name__ == "__main__":
    main()
