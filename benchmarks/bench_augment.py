"""The cost of on-the-fly augmentation beside one training epoch of the 784-800-10 network.

Times, on the standard 60,000 MNIST training images (float32, batch 128, plain SGD):

1. ``nnscratch.train`` for a few epochs: its median seconds per epoch (the reference);
2. each augmentation alone: milliseconds per batch of 128 and seconds per 60,000 images;
   and the photo augmentations alone on batches of 64 colour images of 32x32 (the images
   recipe's batches);
3. the training step loop of ``train`` (the same batches and ``train_batch`` and update)
   with each augmentation done in the loop, and with it done by a ``Prefetcher`` thread
   (with BLAS on every core, and limited to one thread so that the other core is free for
   the distortions).

The configurations run interleaved, one epoch each in turn, so that the load of a shared
machine hits them alike.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_augment.py
"""

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from nnscratch import CrossEntropyLoss, NeuralNetwork, train
from nnscratch.augment import Prefetcher, make_augmenter
from nnscratch.data import load_mnist
from nnscratch.losses import get_loss
from nnscratch.training import _Batches

SIZES, BATCH, LR = [784, 800, 10], 128, 0.05


def epoch_loop(model, batches, augment, prefetch, shuffle_rng):
    """One epoch of ``train``'s hot path (step, plain SGD); seconds."""
    loss = get_loss(CrossEntropyLoss)
    params, grads = model.flat_parameters()
    start = time.perf_counter()
    source = batches.shuffled(shuffle_rng.permutation(len(batches.X)))
    if prefetch:
        with Prefetcher(source, augment, depth=2) as prefetched:
            for x, y in prefetched:
                model.train_batch(x, y, loss, grad_scale=LR)
                params -= grads
    else:
        for x, y in source:
            if augment is not None:
                x = augment(x, out=x)
            model.train_batch(x, y, loss, grad_scale=LR)
            params -= grads
    return time.perf_counter() - start


def time_alone(kind, x, image_shape=(28, 28)):
    """The best of 5 means over 50 calls, seconds a batch: the augmentation ``kind`` alone
    on the batch ``x``."""
    augment = make_augmenter(kind, image_shape, np.random.default_rng(2))
    x, out = x.copy(), np.empty_like(x)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(50):
            augment(x, out=out)
        times.append((time.perf_counter() - start) / 50)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5,
                        help="epochs per configuration, interleaved (default 5)")
    args = parser.parse_args()
    data = load_mnist("standard", dtype=np.float32, progress=False)
    X, y = data.X_train, data.y_train
    model = NeuralNetwork.from_sizes(SIZES, head_activation="softmax", seed=0)
    batches = _Batches(X, y, BATCH)

    n_batches = -(-len(X) // BATCH)
    alone = {kind: time_alone(kind, X[:BATCH]) for kind in ("shift", "affine", "elastic")}

    def run_train():
        history = train(model, X, y, CrossEntropyLoss, 1, BATCH, LR, bar=False, seed=1)
        return history.epoch_seconds[0]

    def one_blas_thread(run):
        def limited():
            with threadpool_limits(limits=1, user_api="blas"):
                return run()
        return limited

    configs = {"train()": run_train, "train(), BLAS 1 thread": one_blas_thread(run_train)}
    for kind in ("none", "shift", "affine", "elastic"):
        for prefetch in (False, True):
            def run(kind=kind, prefetch=prefetch):
                augment = make_augmenter(kind, (28, 28), np.random.default_rng(2))
                return epoch_loop(model, batches, augment, prefetch, np.random.default_rng(1))
            configs[f"loop {kind} {'prefetched' if prefetch else 'inline'}"] = run
        configs[f"loop {kind} prefetched, BLAS 1"] = one_blas_thread(run)
    seconds = {name: [] for name in configs}
    for _ in range(args.repeats):  # interleaved, so drifts in the machine's load hit all
        for name, run in configs.items():
            seconds[name].append(run())
    median = {name: statistics.median(s) for name, s in seconds.items()}
    reference = median["train()"]
    print(f"784-800-10, batch {BATCH}, float32, 60,000 images; medians of {args.repeats} "
          "interleaved epochs [min-max]")
    for kind, per_batch in alone.items():
        print(f"  {kind:8s} alone: {1e3 * per_batch:.2f} ms per batch of {BATCH}, "
              f"{per_batch * n_batches:.3f} s per epoch (+{per_batch * n_batches / reference:.0%} "
              "of train()'s epoch)")
    # the images recipe's batches: 64 colour images of 32x32 (MNIST's pixels, tiled)
    colour = np.repeat(X[:64, :32 * 32 // 4], 12, axis=1)  # (64, 3072): (32, 32, 3) rows
    for kind in ("shift", "flip", "jitter"):
        print(f"  {kind:8s} alone: {1e3 * time_alone(kind, colour, (32, 32, 3)):.3f} ms per "
              "batch of 64 colour images of 32x32")
    base = median["loop none inline"]
    for name, s in seconds.items():
        print(f"  {name:32s} {median[name]:.3f} s/epoch [{min(s):.3f}-{max(s):.3f}]  "
              f"{median[name] / reference - 1:+.0%} vs train(), {median[name] / base - 1:+.0%} "
              "vs the plain loop")


if __name__ == "__main__":
    main()
