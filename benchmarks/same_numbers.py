"""Whether two checkouts train to the same numbers, bit for bit: the weights, the history and
the metrics (wall-clock apart) of a few trainings through ``nnscratch train``, and of a
training killed after epoch 3 and continued from its checkpoint.

    python benchmarks/same_numbers.py --against OTHER/src

Each checkout's trainings run in their own process (``--worker``, importing nnscratch from
that checkout's ``src``); their results are then compared array by array and value by value.
The MNIST files are this checkout's (``data/mnist``).
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DIGITS = ["--dataset", "digits", "--no-bar"]
#: The blog's MLP (digits, and 2 epochs of MNIST), a conv net, early stopping that stops,
#: momentum with clipping and shifted images, elastic distortions with a cosine schedule.
TRAININGS = {
    "blog-digits": [*DIGITS, "--epochs", "10"],
    "blog-mnist": ["--no-bar", "--epochs", "2", "--data-dir", str(HERE.parent / "data" / "mnist")],
    "cnn": [*DIGITS, "--arch", "conv8k3,pool2,dense32", "--optimizer", "adamw", "--lr", "0.01",
            "--epochs", "3", "--val-split", "0.1"],
    "patience": [*DIGITS, "--optimizer", "adam", "--lr", "0.05", "--dropout", "0.2",
                 "--val-split", "0.2", "--patience", "2", "--epochs", "30"],
    "shift-momentum": [*DIGITS, "--augment", "shift", "--momentum", "0.9", "--clip", "1.0",
                       "--epochs", "4", "--val-split", "0.1"],
    "elastic-cosine": [*DIGITS, "--augment", "elastic", "--optimizer", "adamw", "--lr", "0.01",
                       "--schedule", "cosine", "--warmup", "1", "--epochs", "3",
                       "--dtype", "float64"],
}


class _Crash(BaseException):
    """Stands for a kill."""


def worker(out, src):
    """Run every training with the nnscratch of ``src``; write OUT.npz and OUT.json."""
    sys.path.insert(0, str(src))
    from sklearn.datasets import load_digits

    import nnscratch
    from nnscratch import NeuralNetwork, train

    assert Path(nnscratch.__file__).is_relative_to(Path(src).resolve()), nnscratch.__file__
    from nnscratch.cli import main
    from nnscratch.runs import read_history_csv
    from nnscratch.serialization import load

    arrays, records = {}, {}
    tmp = Path(tempfile.mkdtemp())
    for name, argv in TRAININGS.items():
        run = tmp / name
        assert main(["train", *argv, "--out", str(run)]) == 0
        for i, p in enumerate(load(run / "model.npz").parameters()):
            arrays[f"{name}.{i}"] = p
        metrics = json.loads((run / "metrics.json").read_text())
        records[name] = {
            "history": [{k: v for k, v in r.items() if k != "seconds"}
                        for r in read_history_csv(run / "history.csv").rows()],
            "metrics": {k: v for k, v in metrics.items()
                        if k not in ("seconds", "versions", "config")},
            "config": metrics["config"]}
    digits = load_digits()

    def fit(path, stop_after=None):
        def on_epoch(history):
            if history.epochs == stop_after:
                raise _Crash

        model = NeuralNetwork.from_sizes([64, 24, 10], head_activation="softmax", seed=3,
                                         dropout=0.2)
        history = train(model, digits.data / 16.0, digits.target, "cross_entropy", 8, 32,
                        bar=False, checkpoint=path, on_epoch=on_epoch, optimizer="adam",
                        learning_rate=0.05, val_split=0.2, patience=2, schedule="cosine")
        return model, history

    try:
        fit(tmp / "ck.npz", stop_after=3)
    except _Crash:
        pass
    for name, path in (("resumed", tmp / "ck.npz"), ("straight", tmp / "straight.npz")):
        model, history = fit(path)
        for i, p in enumerate(model.parameters()):
            arrays[f"{name}.{i}"] = p
        state = history.state()
        state.pop("epoch_seconds")
        records[name] = {"history": state, "resumed_from": history.resumed_from}
    np.savez(out.with_suffix(".npz"), **arrays)
    out.with_suffix(".json").write_text(json.dumps(records))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", metavar="SRC", required=True,
                        help="the src folder of the other checkout")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--src", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(Path(args.worker), args.src)
    sources = {"this checkout": HERE.parent / "src", "other": Path(args.against).resolve()}
    folder = Path(tempfile.mkdtemp())
    for label, src in sources.items():
        subprocess.run([sys.executable, __file__, "--against", str(src), "--src", str(src),
                        "--worker", str(folder / label.replace(" ", "-"))],
                       check=True, stdout=subprocess.DEVNULL)
    a, b = (folder / label.replace(" ", "-") for label in sources)
    na, nb = np.load(a.with_suffix(".npz")), np.load(b.with_suffix(".npz"))
    ra, rb = (json.loads(p.with_suffix(".json").read_text()) for p in (a, b))
    for name in ra:
        keys = [k for k in na.files if k.startswith(name + ".")]
        weights = [k for k in keys if not (k in nb.files and np.array_equal(na[k], nb[k])
                                           and na[k].dtype == nb[k].dtype)]
        config = {k for k in ra[name].get("config", {})
                  if ra[name]["config"][k] != rb[name].get("config", {}).get(k)}
        same = not weights and {k: v for k, v in ra[name].items() if k != "config"} == \
            {k: v for k, v in rb[name].items() if k != "config"}
        print(f"{name}: {len(keys)} weight arrays, history and metrics "
              f"{'identical' if same else 'DIFFER'}"
              + (f"; config differs in {sorted(config)}" if config else ""))


if __name__ == "__main__":
    main()
