"""Accuracy per second: a recipe trained by nnscratch beside PyTorch eager, from the same
initial weights, on the same data in the same order of epochs (issues #16 and #27).

Both train the recipe's network (``--recipe best``, ``fast``, ``cnn`` or ``cnn-fast``; its
layers, dropout, AdamW, label smoothing, batch size, epochs and learning-rate schedule, and
its distortion of the training images, with the same draws on both sides) on the 60,000
standard MNIST training images, with the same thread count, each in its own process. The
recipe's validation split and early stopping are left out, so both see the same data for the
same number of epochs. After every epoch each evaluates the 10,000 test images (not timed); the
script prints the training seconds each needed to reach each target accuracy, and the ratio.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_time_to_accuracy.py \\
        --recipes fast best cnn --seeds 8 --json tta.json --plot docs/accuracy-per-second.png

``--epochs N`` trains every recipe for N epochs instead of its own (its schedule then spans
N epochs); ``--replot tta.json --plot FILE`` draws the figure again from a saved run.
PyTorch is needed (``pip install torch==2.13.0``).
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from workers import answer, run_worker, torch_twin

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"best": (0.98, 0.987), "fast": (0.98,), "cnn": (0.99, 0.993),
           "cnn-fast": (0.99, 0.994)}


def _setup(recipe, seed, epochs):
    """The recipe's configuration (no validation split), MNIST, the network (the seed's
    initial weights), the schedule and a fresh augmenter (None without distortion)."""
    from nnscratch.build import build_augmenter, build_network, build_schedule
    from nnscratch.data import load_mnist
    from nnscratch.experiment import image_shape
    from nnscratch.recipes import make_config

    config = make_config(recipe, seed=seed, val_split=0.0, patience=None,
                         **({"epochs": epochs} if epochs else {}))
    data = load_mnist("standard", data_dir=ROOT / "data" / "mnist", progress=False)
    net = build_network(config, data.n_features, data.n_classes, head="softmax",
                        input_shape=image_shape(data))
    return config, data, net, build_schedule(config), build_augmenter(config, (28, 28))


def worker_nnscratch(recipe, seed, epochs):
    from nnscratch import CrossEntropyLoss, train
    from nnscratch.build import build_optimizer
    from nnscratch.losses import SmoothedCrossEntropyLoss

    config, data, net, schedule, augment = _setup(recipe, seed, epochs)
    loss = (SmoothedCrossEntropyLoss(config["label_smoothing"]) if config["label_smoothing"]
            else CrossEntropyLoss)
    accuracies = []
    history = train(net, data.X_train, data.y_train, loss, config["epochs"],
                    config["batch_size"], bar=False, optimizer=build_optimizer(config),
                    schedule=schedule, augment=augment, seed=seed,
                    on_epoch=lambda h: accuracies.append(net.score(data.X_test, data.y_test)))
    return {"seconds": history.epoch_seconds, "accuracy": accuracies}


def worker_torch(recipe, seed, epochs):
    import torch
    from torch import nn

    config, data, net, schedule, augment = _setup(recipe, seed, epochs)
    if config["optimizer"] != "adamw":
        raise ValueError(f"recipe {recipe!r}: only AdamW has a PyTorch twin here")
    model = torch_twin(net)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config["lr"],
                                  weight_decay=config["weight_decay"])
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config["label_smoothing"])
    images = config.get("arch") is not None  # a conv net: (N, 1, 28, 28) tensors

    def tensor(x):
        x = torch.from_numpy(x)
        return x.view(-1, 1, 28, 28) if images else x

    X, y = data.X_train, torch.from_numpy(data.y_train)
    X_test = tensor(data.X_test)
    order_rng = np.random.default_rng(seed)
    batch, per_step = config["batch_size"], getattr(schedule, "per_step", False)
    n_batches = -(-len(X) // batch)
    seconds, accuracies = [], []
    for epoch in range(config["epochs"]):
        start = time.perf_counter()
        model.train()
        order = order_rng.permutation(len(X))
        for step, i in enumerate(range(0, len(X), batch)):
            for group in optimizer.param_groups:
                group["lr"] = schedule(epoch + step / n_batches if per_step else epoch,
                                       config["lr"])
            idx = order[i:i + batch]
            x = X[idx] if augment is None else augment(X[idx])
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(tensor(x)), y[idx]).backward()
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


def report(run):
    """Print each result's time to its targets, and the ratios."""
    for row in run["rows"]:
        recipe, seed, results = row["recipe"], row["seed"], row["results"]
        for impl, result in results.items():
            reached = ", ".join(
                f"{t:.1%} in {s:.1f} s" if (s := time_to(result, t)) is not None
                else f"{t:.1%} never" for t in TARGETS[recipe])
            print(f"{recipe} seed {seed} {impl:<10} {np.sum(result['seconds']):6.1f} s for "
                  f"{len(result['seconds'])} epochs ({np.median(result['seconds']):.2f} s each, "
                  f"median), final {result['accuracy'][-1]:.2%}; {reached}")
        for target in TARGETS[recipe]:
            ours, theirs = (time_to(results[i], target) for i in ("nnscratch", "torch"))
            if ours is not None and theirs is not None:
                print(f"{recipe} seed {seed} time to {target:.1%}: nnscratch / PyTorch = "
                      f"{ours / theirs:.2f}x")


def plot(run, path):
    """Test accuracy against training seconds, one line per recipe and implementation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    colours = dict(zip(TARGETS, plt.rcParams["axes.prop_cycle"].by_key()["color"][:len(TARGETS)],
                       strict=True))
    for row in run["rows"]:
        for impl, result in row["results"].items():
            seconds = np.cumsum(result["seconds"])
            ax.plot(seconds, 100 * np.array(result["accuracy"]), marker="o", markersize=3,
                    color=colours[row["recipe"]], linestyle="-" if impl == "nnscratch" else "--",
                    label=f"{row['recipe']}, {len(seconds)} epochs "
                          f"({'nnscratch' if impl == 'nnscratch' else 'PyTorch'}, seed "
                          f"{row['seed']})")
    ax.set_xscale("log")
    ticks = [t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
             if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_ylim(96, 100)
    ax.set_xlabel("training seconds (log scale; test evaluation not counted)")
    ax.set_ylabel("MNIST test accuracy (%)")
    ax.set_title(f"Accuracy per second: each epoch's test accuracy, {run['threads']} threads\n"
                 f"{run['machine']}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    print(f"figure: {path}")


def _cpu():
    """The processor's name and the cores this process may use."""
    name = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    return f"{name}, {len(os.sched_getaffinity(0))} cores"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", nargs="+", choices=list(TARGETS), default=["best"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[8])
    parser.add_argument("--epochs", type=int, default=None,
                        help="train every recipe for this many epochs (default: its own)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", metavar="FILE", help="also write every epoch's numbers")
    parser.add_argument("--plot", metavar="PNG", help="draw accuracy against seconds")
    parser.add_argument("--replot", metavar="JSON", help="report and plot a saved run")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--recipe", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        answer(args.worker, args.threads,
               {"torch": worker_torch, "nnscratch": worker_nnscratch}, args.recipe, args.seed,
               args.epochs)
        return
    if args.replot:
        run = json.loads(Path(args.replot).read_text())
    else:
        import torch

        run = {"threads": args.threads, "torch": torch.__version__,
               "machine": f"{_cpu()}, {time.strftime('%Y-%m-%d')}", "rows": []}
        print(f"recipes {' '.join(args.recipes)} without their validation split, "
              f"{args.threads} thread(s), PyTorch {torch.__version__}")
        for recipe in args.recipes:
            for seed in args.seeds:
                epochs = [] if args.epochs is None else ["--epochs", args.epochs]
                results = {impl: run_worker(__file__, impl, args.threads, "--recipe", recipe,
                                            "--seed", seed, *epochs)
                           for impl in ("nnscratch", "torch")}
                run["rows"].append({"recipe": recipe, "seed": seed, "results": results})
                if args.json:  # after every pair, so a long run keeps what it measured
                    Path(args.json).write_text(json.dumps(run, indent=1) + "\n")
    report(run)
    if args.plot:
        plot(run, args.plot)


if __name__ == "__main__":
    main()
