"""The cost of on-the-fly augmentation beside one training epoch of the 784-800-10 network.

Times, on the standard 60,000 MNIST training images (float32, batch 128, plain SGD):

1. ``nnscratch.train`` for a few epochs: its median seconds per epoch (the reference);
2. each augmentation alone: milliseconds per batch of 128 and seconds per 60,000 images;
3. the training step loop of ``train`` (the same batches and ``train_batch`` and update)
   with each augmentation done in the loop, and with it done by a ``Prefetcher`` thread.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_augment.py
"""

import argparse
import statistics
import time

import numpy as np

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
    source = batches.shuffled(shuffle_rng)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    data = load_mnist("standard", dtype=np.float32, progress=False)
    X, y = data.X_train, data.y_train

    model = NeuralNetwork.from_sizes(SIZES, head_activation="softmax", seed=0)
    history = train(model, X, y, CrossEntropyLoss, args.epochs, BATCH, LR, bar=False, seed=1)
    reference = statistics.median(history.epoch_seconds)
    print(f"train(), 784-800-10, batch {BATCH}: {reference:.3f} s/epoch (median of "
          f"{args.epochs}: {', '.join(f'{s:.3f}' for s in history.epoch_seconds)})")

    n_batches = -(-len(X) // BATCH)
    for kind in ("shift", "affine", "elastic"):
        augment = make_augmenter(kind, (28, 28), np.random.default_rng(2))
        x, out = X[:BATCH].copy(), np.empty((BATCH, 784), np.float32)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(50):
                augment(x, out=out)
            times.append((time.perf_counter() - start) / 50)
        per_batch = min(times)
        print(f"{kind:8s} alone: {1e3 * per_batch:.2f} ms per batch of {BATCH}, "
              f"{per_batch * n_batches:.3f} s per 60,000 images "
              f"(+{per_batch * n_batches / reference:.0%} of the epoch)")

    batches = _Batches(X, y, BATCH)
    for kind in ("none", "shift", "affine", "elastic"):
        for prefetch in (False, True):
            seconds = []
            for _ in range(args.epochs):
                augment = make_augmenter(kind, (28, 28), np.random.default_rng(2))
                seconds.append(epoch_loop(model, batches, augment, prefetch,
                                          np.random.default_rng(1)))
            median = statistics.median(seconds)
            print(f"step loop, {kind:8s} {'prefetched' if prefetch else 'in the loop':11s}: "
                  f"{median:.3f} s/epoch ({median / reference - 1:+.0%} vs train())")


if __name__ == "__main__":
    main()
