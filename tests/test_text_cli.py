"""The command line on a text file: train -> evaluate -> sample -> info, --resume to the same
bits, and each bad input's one line."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnscratch.cli import main
from nnscratch.serialization import load

NAMES = Path(__file__).resolve().parents[1] / "data" / "names" / "names.txt"


@pytest.fixture(scope="module")
def names_400(tmp_path_factory):
    """The first 400 names: 360 train, 40 test (fast runs)."""
    path = tmp_path_factory.mktemp("text") / "names400.txt"
    path.write_text("\n".join(NAMES.read_text().splitlines()[:400]) + "\n", encoding="utf-8")
    return path


GRU = ["--arch", "gru", "--epochs", "4", "--lr", "0.01", "--dropout", "0.1",
       "--val-split", "0.1", "--schedule", "cosine", "--no-bar"]


def _run(argv, capsys):
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def trained(names_400, tmp_path_factory):
    """A finished GRU run on the 400 names."""
    run = tmp_path_factory.mktemp("runs") / "gru"
    assert main(["train", "--data", str(names_400), *GRU, "--out", str(run)]) == 0
    return run


def test_train_evaluate_sample_info(trained, names_400, capsys):
    """train reports the test loss; evaluate --json has it (the same number); sample prints
    N items, one a line, marking those of the training file; info says what the model is."""
    metrics = json.loads((trained / "metrics.json").read_text())
    assert 2.0 < metrics["test_loss"] < 3.3 and metrics["config"]["arch"] == "gru"
    status, out, _ = _run(["evaluate", str(trained), "--json"], capsys)
    report = json.loads(out)
    assert status == 0 and report["test_loss"] == pytest.approx(metrics["test_loss"])
    assert report["unit"] == "nats per character" and report["sizes"] == {"train": 360,
                                                                          "test": 40}
    status, out, _ = _run(["sample", str(trained), "-n", "25", "--seed", "3"], capsys)
    lines = out.splitlines()
    assert status == 0 and len(lines) == 25
    known = set(names_400.read_text().split())
    for line in lines:
        item = line.removesuffix(" (in training set)").removesuffix(" (in test set)")
        assert (item in known) == (item != line), line
    assert _run(["sample", str(trained), "-n", "25", "--seed", "3"], capsys)[1] == out
    assert _run(["sample", str(trained), "-n", "25", "--seed", "4"], capsys)[1] != out
    status, out, _ = _run(["info", str(trained)], capsys)
    assert status == 0 and "gru language model (n_embd 64, n_embd2 64, 27 tokens" in out


def test_resume_is_bit_exact(names_400, trained, tmp_path):
    """A run killed in its third epoch, then --resume: the same weights and losses."""
    run = tmp_path / "run"
    killer = ("import os, signal, sys\n"
              "from nnscratch.language import LanguageModel\n"
              "step, calls = LanguageModel.train_batch, [0]\n"
              "def train_batch(self, *a, **k):\n"
              "    calls[0] += 1\n"
              "    if calls[0] == 25:\n"  # 11 batches an epoch: in the third
              "        os.kill(os.getpid(), signal.SIGKILL)\n"
              "    return step(self, *a, **k)\n"
              "LanguageModel.train_batch = train_batch\n"
              "from nnscratch.cli import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    done = subprocess.run([sys.executable, "-c", killer, "train", "--data", str(names_400),
                           *GRU, "--out", str(run)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert not (run / "model.npz").exists() and (run / "checkpoint.npz").exists()
    assert main(["train", "--resume", str(run), "--no-bar"]) == 0
    ours, reference = load(run), load(trained)
    assert all(np.array_equal(a, b) for a, b in zip(ours.parameters(), reference.parameters(),
                                                    strict=True))
    mine = json.loads((run / "metrics.json").read_text())
    theirs = json.loads((trained / "metrics.json").read_text())
    for key in ("train_loss", "test_loss", "val_loss"):
        assert mine[key] == theirs[key]


@pytest.mark.parametrize("argv, message", [
    (["--arch", "conv8k3"], "--arch must be one of ['bigram', 'mlp', 'rnn', 'lstm', 'gru', "
                            "'transformer'] for a text file (--data {data}), got 'conv8k3'"),
    (["--arch", "trasformer"], "got 'trasformer' (did you mean 'transformer'?)"),
])
def test_bad_arch_for_text(argv, message, names_400, tmp_path, capsys):
    status, _, err = _run(["train", "--data", str(names_400), *argv, "--out",
                           str(tmp_path / "r")], capsys)
    assert status == 2 and message.format(data=names_400) in err
    assert err.count("\n") == 1 and not (tmp_path / "r").exists()


def test_options_of_other_data_are_refused(names_400, tmp_path, capsys):
    status, _, err = _run(["train", "--data", str(names_400), "--augment", "shift"], capsys)
    assert status == 2 and err == ("nnscratch train: error: --augment shift is not an option "
                                   f"of a language model; --data {names_400} is a text file\n")


def test_plot_draws_the_losses(trained, capsys):
    status, out, _ = _run(["plot", str(trained)], capsys)
    assert status == 0 and out == f"losses: {trained / 'figures' / 'losses.png'}\n"
    assert (trained / "figures" / "losses.png").stat().st_size > 1000


def test_bad_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "one.txt"
    path.write_text("anna\n", encoding="utf-8")
    status, _, err = _run(["train", "--data", str(path), "--out", str(tmp_path / "r")], capsys)
    assert status == 2
    assert err == (f"nnscratch train: error: --data {path} holds a single item ('anna'); "
                   "expected one item a line, at least 10 lines\n")


def test_other_commands_refuse_a_language_model(trained, tmp_path, capsys):
    status, _, err = _run(["predict", str(trained), str(tmp_path / "x.png")], capsys)
    assert status == 2 and err == (f"nnscratch predict: error: MODEL {trained} is a language "
                                   "model (trained on a text file): 'nnscratch sample' writes "
                                   "new items with it, 'nnscratch evaluate' gives its test "
                                   "loss\n")


def test_sample_of_a_dense_model_is_refused(tmp_path, capsys):
    from nnscratch import NeuralNetwork, save

    save(NeuralNetwork.from_sizes([4, 3], seed=0), tmp_path / "d.npz")
    status, _, err = _run(["sample", str(tmp_path / "d.npz")], capsys)
    assert status == 2 and "is not a language model; 'nnscratch train --data FILE.txt' " \
                           "trains one" in err


@pytest.mark.slow
def test_default_transformer_learns_names_in_one_epoch(tmp_path, capsys):
    """`nnscratch train --data names.txt` (the text recipe's transformer), one epoch of
    970 steps: a test loss below 2.25 nats per character (the counted bigram: 2.45)."""
    status, out, _ = _run(["train", "--data", str(NAMES), "--epochs", "1", "--no-bar",
                           "--out", str(tmp_path / "r")], capsys)
    assert status == 0 and "Test loss: " in out
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["test_loss"] < 2.25
