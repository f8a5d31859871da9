"""What a new user runs into: their own table, an existing --out folder, a run folder given as
MODEL, a folder of images with a bad one, `info`, a training that blows up, and logs."""

import csv
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_iris

from nnscratch import CrossEntropyLoss, NeuralNetwork, train
from nnscratch.cli import main
from nnscratch.errors import DivergenceWarning
from nnscratch.training import History

DIGITS = ["--dataset", "digits", "--no-bar"]
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(argv, capsys):
    """``main(argv)``: (status, stdout, stderr)."""
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.fixture
def iris_csv(tmp_path):
    """Iris as a CSV with a header and the species as text, in the last column."""
    data = load_iris()
    path = tmp_path / "iris.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*data.feature_names, "species"])
        for row, label in zip(data.data, data.target, strict=True):
            writer.writerow([*row, data.target_names[label]])
    return path


def test_own_table_trains_evaluates_and_predicts(iris_csv, tmp_path, capsys):
    """--data iris.csv: a classifier over the species names; evaluate reads the same test
    split; predict --csv writes one row per input with the user's labels."""
    run = tmp_path / "run"
    status, out, _ = _run(["train", "--data", str(iris_csv), "--optimizer", "adam", "--lr",
                           "0.01", "--epochs", "60", "--batch-size", "16", "--val-split", "0",
                           "--patience", "none", "--no-bar",
                           "--out", str(run)], capsys)
    assert status == 0 and "3 classes" in out
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["dataset"]["classes"] == ["setosa", "versicolor", "virginica"]
    assert metrics["test_accuracy"] >= 0.9  # measured 0.967-1.0 on seeds 0-2
    status, out, _ = _run(["evaluate", str(run), "--json"], capsys)
    assert status == 0 and json.loads(out)["accuracy"] == metrics["test_accuracy"]
    status, out, _ = _run(["predict", str(run), "--csv", str(iris_csv)], capsys)
    written = tmp_path / "iris-predictions.csv"
    assert status == 0 and f"150 predictions written to {written}" in out
    with open(written, newline="") as f, open(iris_csv, newline="") as g:
        rows = list(csv.DictReader(f))
        truth = [r["species"] for r in csv.DictReader(g)]
    assert len(rows) == 150 and set(rows[0]) == {"row", "species", "p_setosa",
                                                 "p_versicolor", "p_virginica"}
    assert np.mean([r["species"] == t for r, t in zip(rows, truth, strict=True)]) >= 0.9
    status, _, err = _run(["predict", str(run), "--csv", str(iris_csv)], capsys)
    assert status == 2 and f"--out {written} exists; choose another file or add --force" in err


def test_own_table_mistakes_are_one_line(iris_csv, tmp_path, capsys):
    """A missing target column and a non-numeric cell end in one line naming them."""
    status, _, err = _run(["train", "--data", str(iris_csv), "--target", "specis",
                           "--no-bar", "--out", str(tmp_path / "r")], capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "'specis'" in err and "did you mean 'species'" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,y\n" + "".join(f"{i},{i},{'xy'[i % 2]}\n" for i in range(20))
                   + "3,oops,y\n")
    status, _, err = _run(["train", "--data", str(bad), "--no-bar"], capsys)
    assert status == 2 and "'oops'" in err and "column 'b'" in err and "line 22" in err


def test_out_folder_is_refused_unless_forced_then_replaced_whole(tmp_path, capsys):
    """An existing --out is refused; --force replaces it whole (old figures gone)."""
    run = tmp_path / "run"
    assert _run(["train", *DIGITS, "--epochs", "1", "--out", str(run)], capsys)[0] == 0
    (run / "figures").mkdir()
    (run / "figures" / "old.png").write_bytes(b"old")
    status, _, err = _run(["train", *DIGITS, "--epochs", "2", "--out", str(run)], capsys)
    assert status == 2 and f"--out {run} already exists" in err and "--force" in err
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 1  # untouched
    status, _, _ = _run(["train", *DIGITS, "--epochs", "2", "--out", str(run), "--force"],
                        capsys)
    assert status == 0 and not (run / "figures").exists()
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 2
    status, _, err = _run(["train", *DIGITS, "--out", str(run / "model.npz")], capsys)
    assert status == 2 and "is a file; give a folder" in err and "Errno" not in err


def test_run_folder_or_model_file_alike_and_info(tmp_path, capsys):
    """evaluate and info take the run folder or its model.npz and say the same."""
    run = tmp_path / "run"
    assert _run(["train", *DIGITS, "--epochs", "2", "--out", str(run)], capsys)[0] == 0
    outs = [_run(["evaluate", str(path)], capsys)[1] for path in (run, run / "model.npz")]
    assert outs[0] == outs[1] and "accuracy: " in outs[0]
    status, out, _ = _run(["info", str(run)], capsys)
    assert status == 0
    assert "64-32-32-10" in out and "parameters      3,466" in out
    assert "--epochs 2" in out and "test_accuracy" in out and "numpy" in out
    # no early stopping restored an epoch's weights: said as a word, not Python's None
    assert re.search(r"\n  best_epoch +none\n", out) and "None" not in out
    status, _, err = _run(["info", str(tmp_path)], capsys)
    assert status == 2 and "is a folder without a model.npz" in err


def test_predict_a_folder_with_one_unreadable_image(tmp_path, capsys):
    """Every image of a folder is predicted; the bad one gets its own line; exit 1."""
    run = tmp_path / "run"
    assert _run(["train", "--no-bar", "--epochs", "1", "--split", "standard", "--out",
                 str(run)], capsys)[0] == 0
    from nnscratch.data import load_mnist

    images = tmp_path / "images"
    images.mkdir()
    X = load_mnist("standard", progress=False).X_test
    for i in range(3):
        Image.fromarray((X[i].reshape(28, 28) * 255).astype(np.uint8)).save(
            images / f"{i}.png")
    (images / "1b-broken.png").write_bytes(b"not a png")
    status, out, err = _run(["predict", str(run), str(images)], capsys)
    assert status == 1
    assert len(out.strip().splitlines()) == 3
    assert "1b-broken.png" in err.splitlines()[0]
    assert err.splitlines()[-1] == "nnscratch predict: 1 of 4 images could not be read"


def test_blowing_up_is_warned_with_what_to_change(digits):
    """A learning rate of 100 keeps the loss finite but huge (7.5e6 in epoch 1, measured):
    one warning saying so."""
    X, y = digits
    net = NeuralNetwork(64, 10, 32, 2, head_activation="softmax", seed=0)
    with pytest.warns(DivergenceWarning, match=r"the training loss grew from .* \(first "
                      r"batch\) to .*: the training is blowing up; lower the learning rate, "
                      r"now 100, or clip the gradients") as record:
        history = train(net, X, y, CrossEntropyLoss, 3, 32, 100, bar=False)
    assert len(record) == 1 and history.warnings == [str(record[0].message)]
    net = NeuralNetwork(64, 10, 32, 2, head_activation="softmax", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a healthy run says nothing
        assert not train(net, X, y, CrossEntropyLoss, 3, 32, 0.05, bar=False).warnings


def test_cli_warns_in_one_line_when_training_blows_up(tmp_path, capsys):
    """`train --lr 100`: the run is saved, stderr has one warning line naming --lr's fix."""
    status, _, err = _run(["train", *DIGITS, "--lr", "100", "--epochs", "2", "--out",
                             str(tmp_path / "r")], capsys)
    assert status == 0
    assert err.startswith("nnscratch train: warning: the training loss grew from")
    assert "lower the learning rate (--lr), now 100, or clip the gradients (--clip N)" in err
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["warnings"]


def test_history_prints_as_a_short_summary(rng):
    """print(history) is one line: epochs, the loss from first to last, the time."""
    net = NeuralNetwork(4, 2, 8, 1, head_activation="softmax", seed=0)
    history = train(net, rng.normal(size=(64, 4)), rng.integers(0, 2, 64), CrossEntropyLoss,
                    3, 16, 0.1, bar=False)
    text = repr(history)
    assert text.startswith("History(3 epochs, train_loss ") and "\n" not in text
    assert f"{history.train_losses[0]:.4g} -> {history.train_losses[-1]:.4g}" in text
    assert repr(History()) == "History(0 epochs)"


def test_no_progress_bar_in_a_log_file(tmp_path):
    """Run with stderr to a file (not a terminal): no carriage-return progress bar, one
    plain line per epoch instead."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    log = tmp_path / "log.txt"
    with open(log, "w") as f:
        result = subprocess.run([sys.executable, "-m", "nnscratch.cli", "train", "--dataset",
                                 "digits", "--epochs", "3", "--out", str(tmp_path / "r")],
                                stdout=f, stderr=subprocess.STDOUT, env=env, timeout=120)
    assert result.returncode == 0
    text = log.read_text()
    assert "\r" not in text and "Training Progress" not in text and "Test accuracy" in text
    epochs = [line for line in text.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epochs] == ["epoch 1", "epoch 2", "epoch 3"]
    assert all("train_loss " in line and "eval_loss " in line for line in epochs)


def test_digits_are_not_called_the_blog_split():
    """The digits have no blog split: labelled 80/20, and --split standard works too."""
    from nnscratch.data import load_dataset

    for split in ("blog", "standard"):
        assert "digits (80/20 split)" in load_dataset("digits", split=split).summary()


@pytest.mark.parametrize(("argv", "message"), [
    (["train", *DIGITS, "--val-split", "0.9999"],
     "--val-split=0.9999 leaves no training data from 1437 samples"),
    (["train", "--no-bar", "--data-dir", "no-such-folder"],
     "--data-dir no-such-folder does not exist"),
    (["sweep", str(EXAMPLES / "sweep_digits.toml"), "--jobs", "0"],
     "--jobs must be a non-zero integer (-1 = every core), got 0"),
])
def test_messages_name_the_flag_the_user_typed(argv, message, tmp_path, monkeypatch, capsys):
    """An error about an option names it as typed: --val-split, not val_split."""
    monkeypatch.chdir(tmp_path)
    status, _, err = _run([*argv, "--out", str(tmp_path / "r")] if argv[0] == "train" else argv,
                          capsys)
    assert status == 2 and message in err and "val_split" not in err and "data_dir" not in err
