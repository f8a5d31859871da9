"""Does test-time augmentation pay (issue #27)? A recipe trained on 90% of MNIST's training
images, then scored on the held-out 10% (a validation split: the test images are not read)
as it is, and with its predicted probabilities averaged over shifted copies of each image.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_tta.py \\
        --recipes best fast --seeds 0 1

Prints, for each recipe and seed, the validation accuracy and loss of each set of shifts,
and the seconds the evaluation took. The recipe trains as ``bench_time_to_accuracy.py``
trains it (its network, optimizer, schedule and distortion, without early stopping).
"""

import argparse
import time

import numpy as np

from bench_time_to_accuracy import _setup

#: name -> the (rows, columns) shifts whose probabilities are averaged
SHIFTS = {
    "none": [(0, 0)],
    "4 one-pixel": [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)],
    "8 one-pixel": [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)],
    "4 two-pixel": [(0, 0), (2, 0), (-2, 0), (0, 2), (0, -2)],
}


def shifted(X, dy, dx, side=28):
    """The rows of ``X`` (side x side images) moved by ``dy`` rows and ``dx`` columns, the
    uncovered border filled with 0 (MNIST's background)."""
    images = X.reshape(-1, side, side)
    out = np.zeros_like(images)
    out[:, max(dy, 0):side + min(dy, 0), max(dx, 0):side + min(dx, 0)] = \
        images[:, max(-dy, 0):side + min(-dy, 0), max(-dx, 0):side + min(-dx, 0)]
    return out.reshape(len(X), -1)


def main():
    from nnscratch import CrossEntropyLoss, train
    from nnscratch.build import build_optimizer
    from nnscratch.losses import SmoothedCrossEntropyLoss

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", nargs="+", choices=["best", "fast"], default=["best"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    for recipe in args.recipes:
        for seed in args.seeds:
            config, data, net, schedule, augment = _setup(recipe, seed, None)
            order = np.random.default_rng(seed).permutation(len(data.X_train))
            val, fit = order[:len(order) // 10], order[len(order) // 10:]
            loss = (SmoothedCrossEntropyLoss(config["label_smoothing"])
                    if config["label_smoothing"] else CrossEntropyLoss)
            train(net, data.X_train[fit], data.y_train[fit], loss, config["epochs"],
                  config["batch_size"], bar=False, optimizer=build_optimizer(config),
                  schedule=schedule, augment=augment, seed=seed)
            X, y = data.X_train[val], data.y_train[val]
            for name, shifts in SHIFTS.items():
                start = time.perf_counter()
                p = np.mean([net.predict_proba(shifted(X, dy, dx)) for dy, dx in shifts], 0)
                seconds = time.perf_counter() - start
                accuracy = float(np.mean(p.argmax(1) == y))
                nll = float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))
                print(f"{recipe} seed {seed}  {name:<12} validation accuracy "
                      f"{100 * accuracy:.2f}%  loss {nll:.4f}  ({seconds:.2f} s)", flush=True)


if __name__ == "__main__":
    main()
