"""What a checkpoint costs per epoch, in time and bytes: the blog's network and the largest
recipe.

For each network, short trainings configured as ``nnscratch train --recipe NAME`` builds them
(the same data, optimizer, schedule and augmentation; fewer epochs) run in turn without and
with a checkpoint after every epoch, so that the load of a shared machine hits both alike.
Reported: the median epoch without checkpoints, the median time to write one checkpoint
(``Checkpointer.write``: rename the previous one, serialise, write, fsync, rename), the
median wall-clock time per epoch of each whole training, the checkpoint's size, and the time
to read one back. The largest recipe is found by counting every recipe's parameters.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_checkpoint.py
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from nnscratch.build import build_augmenter, build_network, build_optimizer, build_schedule
from nnscratch.checkpoint import Checkpointer, read_checkpoint
from nnscratch.data import load_dataset
from nnscratch.losses import CrossEntropyLoss
from nnscratch.recipes import RECIPES, make_config
from nnscratch.training import train


def parameter_counts():
    """Every recipe's number of parameters (MNIST: 784 inputs, 10 outputs)."""
    return {name: build_network(make_config(name), 784, 10, head="softmax",
                                input_shape=(1, 28, 28)).n_parameters() for name in RECIPES}


def timed_writes(times):
    """Make ``Checkpointer.write`` append its seconds to ``times``; return the original."""
    original = Checkpointer.write

    def write(self, meta, arrays):
        start = time.perf_counter()
        original(self, meta, arrays)
        times.append(time.perf_counter() - start)

    Checkpointer.write = write
    return original


def measure(name, epochs, repeats):
    """One row of the table for recipe ``name``."""
    config = make_config(name, epochs=epochs)
    data = load_dataset(config["dataset"], split=config["split"], dtype=config["dtype"],
                        progress=False)
    plain, with_checkpoints, epoch_seconds, writes = [], [], [], []
    original = timed_writes(writes)
    folder = Path(tempfile.mkdtemp(prefix="bench-checkpoint-"))
    try:
        for repeat in range(repeats):
            for checkpoint in (None, folder / f"{repeat}.npz"):
                model = build_network(config, data.n_features, data.n_classes,
                                      head="softmax", input_shape=(1, 28, 28))
                start = time.perf_counter()
                history = train(model, data.X_train, data.y_train, CrossEntropyLoss, epochs,
                                config["batch_size"], X_test=data.X_test, y_test=data.y_test,
                                bar=False, optimizer=build_optimizer(config),
                                schedule=build_schedule(config), clip=config["clip"],
                                val_split=config["val_split"], patience=config["patience"],
                                augment=build_augmenter(config, data.feature_shape),
                                checkpoint=checkpoint)
                per_epoch = (time.perf_counter() - start) / history.epochs
                (plain if checkpoint is None else with_checkpoints).append(per_epoch)
                if checkpoint is None:
                    epoch_seconds += history.epoch_seconds
        last = folder / f"{repeats - 1}.npz"
        size = last.stat().st_size
        reads = []
        for _ in range(5):
            start = time.perf_counter()
            read_checkpoint(last)
            reads.append(time.perf_counter() - start)
    finally:
        Checkpointer.write = original
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    return {"recipe": name, "parameters": model.n_parameters(),
            "optimizer": config["optimizer"], "augment": config["augment"],
            "epoch": statistics.median(epoch_seconds), "write": statistics.median(writes),
            "plain": statistics.median(plain), "checkpointed": statistics.median(with_checkpoints),
            "bytes": size, "read": min(reads)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per training (3)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="trainings of each kind, in turn (default 3)")
    args = parser.parse_args()
    counts = parameter_counts()
    largest = max(counts, key=counts.get)
    print("parameters per recipe: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
          + f"; the largest: {largest}")
    print("| recipe | parameters | optimizer | augment | epoch, no checkpoint | one checkpoint "
          "written | wall per epoch, none / every epoch | checkpoint size | read back |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in dict.fromkeys(("blog", largest)):
        r = measure(name, args.epochs, args.repeats)
        print(f"| {r['recipe']} | {r['parameters']:,} | {r['optimizer']} | {r['augment']} | "
              f"{r['epoch']:.3f} s | {1000 * r['write']:.1f} ms "
              f"({100 * r['write'] / r['epoch']:.1f}% of an epoch) | {r['plain']:.3f} s / "
              f"{r['checkpointed']:.3f} s | {r['bytes'] / 1e6:.2f} MB | "
              f"{1000 * r['read']:.1f} ms |", flush=True)


if __name__ == "__main__":
    main()
