"""The first cnn recipe's network, one epoch, nnscratch beside PyTorch eager (issue #15, point
6). (The cnn recipe has since become a BatchNorm network; bench_time_to_accuracy.py trains it
beside PyTorch.)

Both train ``conv32k3,pool2,conv64k3,pool2,drop0.25,dense128,drop0.5`` -> 10 (softmax and
cross-entropy) from the same initial weights on the 60,000 standard MNIST training images,
reshuffled every epoch (each by its own seeded generator), batch 128, AdamW (lr 0.002, weight
decay 0.05), float32, with the same thread count; each run in its own process, the two
interleaved. Prints seconds
per epoch (median [min-max]), the test accuracy each reaches, and the ratio.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_cnn.py --threads 1

PyTorch is optional (``pip install torch==2.13.0``); without it only nnscratch runs.
"""

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from workers import answer, run_worker

ROOT = Path(__file__).resolve().parents[1]
ARCH = "conv32k3,pool2,conv64k3,pool2,drop0.25,dense128,drop0.5"
BATCH, LR, DECAY, SEED = 128, 0.002, 0.05, 0


def _network():
    from nnscratch import NeuralNetwork
    from nnscratch.architecture import parse_arch

    return NeuralNetwork.from_architecture(parse_arch(ARCH), (1, 28, 28), 10,
                                           head_activation="softmax", seed=SEED, init="he")


def _data():
    from nnscratch.data import load_mnist

    return load_mnist("standard", data_dir=ROOT / "data" / "mnist", progress=False)


def worker_nnscratch(epochs):
    from nnscratch import CrossEntropyLoss, train
    from nnscratch.optimizers import AdamW

    data = _data()
    model = _network()
    history = train(model, data.X_train, data.y_train, CrossEntropyLoss, epochs, BATCH,
                    bar=False,
                    optimizer=AdamW(lr=LR, weight_decay=DECAY), seed=SEED)
    return {"seconds": history.epoch_seconds, "accuracy": model.score(data.X_test,
                                                                      data.y_test)}


def worker_torch(epochs):
    import torch
    from torch import nn

    data = _data()
    ours = _network()
    conv1, conv2, dense1, dense2 = ours.param_layers
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(),
        nn.Dropout(0.5), nn.Linear(128, 10))
    with torch.no_grad():  # the same initial weights
        for module, layer in ((model[0], conv1), (model[3], conv2)):
            module.weight.copy_(torch.from_numpy(np.array(layer.weights)))
            module.bias.copy_(torch.from_numpy(np.array(layer.bias)))
        for module, layer in ((model[8], dense1), (model[11], dense2)):
            module.weight.copy_(torch.from_numpy(np.array(layer.weights).T))
            module.bias.copy_(torch.from_numpy(np.array(layer.bias).ravel()))
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=DECAY)
    loss_fn = nn.CrossEntropyLoss()
    X = torch.from_numpy(data.X_train.reshape(-1, 1, 28, 28))
    y = torch.from_numpy(data.y_train)
    generator = torch.Generator().manual_seed(SEED)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        for idx in torch.randperm(len(X), generator=generator).split(BATCH):
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(X[idx]), y[idx]).backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        X_test = torch.from_numpy(data.X_test.reshape(-1, 1, 28, 28))
        predicted = torch.cat([model(X_test[i:i + 1000]).argmax(1)
                               for i in range(0, len(X_test), 1000)])
    accuracy = float((predicted.numpy() == data.y_test).mean())
    return {"seconds": seconds, "accuracy": accuracy}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        answer(args.worker, args.threads,
               {"torch": worker_torch, "nnscratch": worker_nnscratch}, args.epochs)
        return
    try:
        import torch

        impls = ["nnscratch", "torch"]
        version = f"PyTorch {torch.__version__}"
    except ImportError:
        impls, version = ["nnscratch"], "PyTorch not installed"
    print(f"{ARCH} -> 10, batch {BATCH}, AdamW, float32, {args.threads} thread(s), "
          f"{args.epochs} epoch(s) per run, {args.repeats} interleaved runs; {version}")
    results = {impl: [] for impl in impls}
    for _ in range(args.repeats):
        for impl in impls:
            results[impl].append(run_worker(__file__, impl, args.threads, "--epochs",
                                                  args.epochs))
    medians = {}
    for impl, runs in results.items():
        per_epoch = [s for run in runs for s in run["seconds"]]
        medians[impl] = statistics.median(per_epoch)
        print(f"{impl:<10} {medians[impl]:.2f} s/epoch [{min(per_epoch):.2f}-"
              f"{max(per_epoch):.2f}], test accuracy {runs[-1]['accuracy']:.4f}")
    if "torch" in medians:
        print(f"nnscratch / PyTorch: {medians['nnscratch'] / medians['torch']:.2f}x")


if __name__ == "__main__":
    main()
