"""Time to accuracy, nnscratch beside PyTorch eager, with the same recipe (issue #16, point 1).

Both train the ``best`` recipe's network and schedule on the 60,000 standard MNIST training
images: 784-512-256-10, ReLU, dropout 0.35 after each hidden layer, He init (the same initial
weights), AdamW (lr 0.003, weight decay 0.2), batch 128, 20 epochs, one epoch of linear
warm-up then cosine decay (the same rate every epoch), every training image shifted by up to
2 pixels afresh each epoch (the same ``nnscratch.augment.Shift`` distortions on both sides),
with the same thread count. The recipe's validation split and early stopping are left out,
so both see the same data for the same number of epochs. After every epoch each evaluates the
10,000 test images (not timed) and the script reports the training time each needed to reach
98.0% and 98.7% test accuracy, and the ratio.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_time_to_accuracy.py

PyTorch is needed (``pip install torch==2.13.0``).
"""

import argparse
import time
from pathlib import Path

import numpy as np

from workers import answer, run_worker

ROOT = Path(__file__).resolve().parents[1]
SIZES, DROPOUT, LR, DECAY, BATCH, EPOCHS, WARMUP = [784, 512, 256, 10], 0.35, 0.003, 0.2, 128, \
    20, 1
TARGETS = (0.98, 0.987)


def _setup(seed):
    from nnscratch import NeuralNetwork
    from nnscratch.augment import make_augmenter
    from nnscratch.data import load_mnist
    from nnscratch.schedules import WarmupCosine

    data = load_mnist("standard", data_dir=ROOT / "data" / "mnist", progress=False)
    net = NeuralNetwork.from_sizes(SIZES, head_activation="softmax", init="he",
                                   dropout=DROPOUT, seed=seed)
    shift = make_augmenter("shift", (28, 28), np.random.default_rng(seed).spawn(1)[0])
    return data, net, shift, WarmupCosine(EPOCHS, WARMUP)


def worker_nnscratch(seed):
    from nnscratch import CrossEntropyLoss, train
    from nnscratch.optimizers import AdamW

    data, net, shift, schedule = _setup(seed)
    accuracies = []
    history = train(net, data.X_train, data.y_train, CrossEntropyLoss, EPOCHS, BATCH,
                    bar=False, optimizer=AdamW(lr=LR, weight_decay=DECAY), schedule=schedule,
                    augment=shift,
                    on_epoch=lambda h: accuracies.append(net.score(data.X_test, data.y_test)))
    return {"seconds": history.epoch_seconds, "accuracy": accuracies}


def worker_torch(seed):
    import torch
    from torch import nn

    data, net, shift, schedule = _setup(seed)
    dense = net.dense_layers
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Dropout(DROPOUT),
                          nn.Linear(512, 256), nn.ReLU(), nn.Dropout(DROPOUT),
                          nn.Linear(256, 10))
    with torch.no_grad():  # the same initial weights
        for module, layer in zip((model[0], model[3], model[6]), dense, strict=True):
            module.weight.copy_(torch.from_numpy(np.array(layer.weights).T))
            module.bias.copy_(torch.from_numpy(np.array(layer.bias).ravel()))
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=DECAY)
    loss_fn = nn.CrossEntropyLoss()
    X, y = data.X_train, torch.from_numpy(data.y_train)
    X_test = torch.from_numpy(data.X_test)
    generator = np.random.default_rng(seed)
    seconds, accuracies = [], []
    for epoch in range(EPOCHS):
        start = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = schedule(epoch, LR)
        model.train()
        order = generator.permutation(len(X))
        for i in range(0, len(X), BATCH):
            idx = order[i:i + BATCH]
            x = torch.from_numpy(shift(X[idx]))
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x), y[idx]).backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
        model.eval()
        with torch.no_grad():
            predicted = model(X_test).argmax(1).numpy()
        accuracies.append(float((predicted == data.y_test).mean()))
    return {"seconds": seconds, "accuracy": accuracies}


def time_to(result, target):
    """Training seconds until the test accuracy first reaches ``target`` (None: never)."""
    elapsed = np.cumsum(result["seconds"])
    reached = [i for i, a in enumerate(result["accuracy"]) if a >= target]
    return float(elapsed[reached[0]]) if reached else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        answer(args.worker, args.threads,
               {"torch": worker_torch, "nnscratch": worker_nnscratch}, args.seed)
        return
    import torch

    print(f"best recipe without its validation split, {EPOCHS} epochs, {args.threads} "
          f"thread(s), PyTorch {torch.__version__}")
    for seed in args.seeds:
        results = {impl: run_worker(__file__, impl, args.threads, "--seed", seed)
                   for impl in ("nnscratch", "torch")}
        for impl, result in results.items():
            reached = ", ".join(
                f"{t:.1%} in {s:.1f} s" if (s := time_to(result, t)) is not None
                else f"{t:.1%} never" for t in TARGETS)
            print(f"seed {seed} {impl:<10} {np.sum(result['seconds']):6.1f} s for {EPOCHS} "
                  f"epochs, final {result['accuracy'][-1]:.2%}; {reached}")
        for target in TARGETS:
            ours, theirs = (time_to(results[i], target) for i in ("nnscratch", "torch"))
            if ours is not None and theirs is not None:
                print(f"seed {seed} time to {target:.1%}: nnscratch / PyTorch = "
                      f"{ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
