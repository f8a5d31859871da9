"""The ``nnscratch`` command line: every subcommand, its outputs, and its one-line errors."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnscratch.cli import main
from nnscratch.plots import CONV_FIGURES, RUN_FIGURES
from nnscratch.serialization import load


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """One quick ``nnscratch train`` on the bundled digits (shared by the read-only tests)."""
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--dataset", "digits", "--epochs", "30", "--lr", "0.1",
                 "--no-bar", "--out", str(out)]) == 0
    return out


def test_train_writes_the_run_folder(digits_run):
    """model.npz, metrics.json (with the required keys) and history.csv, consistent."""
    metrics = json.loads((digits_run / "metrics.json").read_text())
    for key in ("train_accuracy", "test_accuracy", "train_loss", "test_loss", "epochs",
                "seconds", "config", "dataset"):
        assert key in metrics
    assert metrics["config"]["hidden"] == [32, 32] and metrics["config"]["batch_size"] == 64
    assert metrics["dataset"] == {"name": "digits", "split": "80/20", "task": "classification",
                                  "sizes": {"train": 1437, "test": 360}}
    assert metrics["epochs"] == 30 and metrics["test_accuracy"] > 0.9
    lines = (digits_run / "history.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,train_loss,eval_loss") and len(lines) == 31
    model = load(digits_run / "model.npz")
    assert model.sizes == [64, 32, 32, 10]
    assert model.metadata["metrics"]["test_accuracy"] == metrics["test_accuracy"]


def test_train_prints_accuracies(tmp_path, capsys):
    """The end of a run prints train and test accuracy and where it saved."""
    main(["train", "--dataset", "digits", "--epochs", "2", "--no-bar", "--out",
          str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert re.search(r"Train accuracy: \d+\.\d\d%\nTest accuracy: \d+\.\d\d%", out)
    assert "Saved to" in out


def test_train_is_reproducible(tmp_path):
    """Same --seed, same numbers."""
    for name in ("a", "b"):
        main(["train", "--dataset", "digits", "--epochs", "3", "--seed", "5", "--no-bar",
              "--out", str(tmp_path / name)])
    a, b = (json.loads((tmp_path / n / "metrics.json").read_text()) for n in "ab")
    assert a["test_loss"] == b["test_loss"] and a["train_accuracy"] == b["train_accuracy"]


def test_evaluate_json(digits_run, capsys):
    """``evaluate --json``: accuracy, per-class scores and a confusion matrix that adds up."""
    assert main(["evaluate", str(digits_run / "model.npz"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    metrics = json.loads((digits_run / "metrics.json").read_text())
    assert report["accuracy"] == pytest.approx(metrics["test_accuracy"])
    matrix = np.array(report["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 360
    assert np.trace(matrix) / 360 == pytest.approx(report["accuracy"])
    assert set(report["per_class"]["3"]) >= {"precision", "recall", "f1-score", "support"}


def test_evaluate_text(digits_run, capsys):
    """The text report names the data set and shows the matrix."""
    assert main(["evaluate", str(digits_run / "model.npz")]) == 0
    out = capsys.readouterr().out
    assert "digits (80/20 split), 360 test samples" in out and "confusion matrix" in out
    assert re.search(r"^accuracy: \d+\.\d\d%$", out, re.MULTILINE)


def test_evaluate_text_lines_up_named_classes():
    """A folder model's confusion matrix: the class numbers (the columns' headers) in one
    column, the names after them, each row's counts under their headers."""
    from nnscratch.evaluation import format_report

    scores = {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 2}
    names = ["flower", "stripes", "temple"] + [f"c{k}" for k in range(8)]  # 11: two digits
    matrix = np.diag([2] * 11).tolist()
    report = {"dataset": {"name": "photos", "split": "80/20", "n_test": 22}, "accuracy": 1.0,
              "per_class": {name: scores for name in names}, "macro_avg": scores,
              "weighted_avg": scores, "confusion_matrix": matrix}
    lines = format_report(report).splitlines()
    top = lines.index("confusion matrix (rows: true, columns: predicted)")
    header, rows = lines[top + 1], lines[top + 2:]
    assert [r[:11] for r in rows[:3]] == [" 0 flower  ", " 1 stripes ", " 2 temple  "]
    assert rows[10].startswith("10 c7 ")
    ends = [m.end() for m in re.finditer(r"\d+", header)]  # each column's right edge
    assert len(ends) == 11
    for k, row in enumerate(rows):  # the counts stand under their class numbers
        assert [row[end - 1] for end in ends] == ["2" if j == k else "0" for j in range(11)]


def test_plot_draws_the_run_figures(digits_run, capsys):
    """``nnscratch plot RUN_DIR`` writes the figures into RUN_DIR/figures."""
    assert main(["plot", str(digits_run), "--tsne-points", "200"]) == 0
    pngs = sorted(p.name for p in (digits_run / "figures").glob("*.png"))
    assert {"losses.png", "tsne_output.png", "confusion_matrix.png"} <= set(pngs)


def test_plot_of_a_blown_up_run_skips_only_what_it_cannot_draw(tmp_path):
    """``train --lr 100`` blows the network up: every input gets the same output. ``plot``
    then writes the five figures that can be drawn and says in one line each why the two
    t-SNE maps are not; exit 0, nothing on stderr. In a subprocess: t-SNE used to segfault."""
    run = tmp_path / "huge"
    assert main(["train", "--dataset", "digits", "--lr", "100", "--epochs", "2", "--no-bar",
                 "--out", str(run)]) == 0
    assert json.loads((run / "metrics.json").read_text())["test_accuracy"] < 0.2
    result = subprocess.run([sys.executable, "-m", "nnscratch.cli", "plot", str(run),
                             "--tsne-points", "200"], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    mlp_figures = [name for name in RUN_FIGURES if name not in CONV_FIGURES]
    assert [line.split(":")[0] for line in lines] == mlp_figures  # one line each
    skipped = [line for line in lines if ": not drawn: " in line]
    assert [line.split(":")[0] for line in skipped] == ["tsne_output", "tsne_hidden"]
    assert all("its output is the same for all 200 points" in line for line in skipped)
    drawn = [name for name in mlp_figures if name not in ("tsne_output", "tsne_hidden")]
    assert sorted(p.name for p in (run / "figures").iterdir()) == \
        sorted(RUN_FIGURES[name] for name in drawn)
    for name in drawn:
        assert f"{name}: {run / 'figures' / RUN_FIGURES[name]}" in lines


def _mnist_pngs(tmp_path, invert):
    """Ten MNIST test digits (one per class) as PNG files."""
    from PIL import Image

    from nnscratch.data import load_mnist

    data = load_mnist(split="standard", progress=False)
    paths, labels = [], []
    for digit in range(10):
        i = int(np.flatnonzero(data.y_test == digit)[0])
        pixels = (data.X_test[i].reshape(28, 28) * 255).astype(np.uint8)
        if invert:
            pixels = 255 - pixels
        path = tmp_path / f"digit{digit}_{'dark' if invert else 'light'}.png"
        Image.fromarray(pixels).resize((84, 84)).save(path)
        paths.append(str(path))
        labels.append(digit)
    return paths, labels


@pytest.fixture(scope="module")
def mnist_model(tmp_path_factory):
    """A 784-32-32-10 model trained for 3 epochs on the standard split, saved to disk."""
    out = tmp_path_factory.mktemp("mnist")
    assert main(["train", "--split", "standard", "--epochs", "3", "--no-bar",
                 "--out", str(out)]) == 0
    return out / "model.npz"


def test_blog_network_three_epochs_on_the_standard_split(mnist_model):
    """Integration on the real data: the blog network, 3 epochs, test accuracy >= 94%."""
    metrics = json.loads((mnist_model.parent / "metrics.json").read_text())
    assert metrics["dataset"] == {"name": "mnist", "split": "standard",
                                  "sizes": {"train": 60000, "test": 10000},
                                  "task": "classification"}
    assert metrics["config"]["hidden"] == [32, 32] and metrics["epochs"] == 3
    assert metrics["test_accuracy"] >= 0.94


@pytest.mark.parametrize("invert", [False, True], ids=["white-on-black", "black-on-white"])
def test_predict_json_on_mnist_pngs(mnist_model, tmp_path, capsys, invert):
    """``predict --json`` on PNGs of MNIST test digits: at least 9 of 10 right."""
    paths, labels = _mnist_pngs(tmp_path, invert)
    assert main(["predict", str(mnist_model), *paths, "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["image"] for r in results] == paths
    assert all(len(r["probabilities"]) == 10 for r in results)
    assert all(r["digit"] == int(np.argmax(r["probabilities"])) for r in results)
    right = sum(r["digit"] == label for r, label in zip(results, labels, strict=True))
    assert right >= 9, [r["digit"] for r in results]


def test_predict_text_shows_top3(mnist_model, tmp_path, capsys):
    """Without --json: the digit and three probabilities per image."""
    paths, _ = _mnist_pngs(tmp_path, False)
    assert main(["predict", str(mnist_model), paths[7]]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{paths[7]}: ") and line.count("%") == 3


def test_predict_save_prepared(mnist_model, tmp_path, capsys):
    """``--save-prepared DIR``: each prepared input as DIR/<stem>-28x28.png, and where."""
    from PIL import Image

    from nnscratch.images import preprocess

    paths = _mnist_pngs(tmp_path, True)[0][:2]
    out = tmp_path / "prepared"
    expected = [out / f"{Path(p).stem}-28x28.png" for p in paths]
    assert main(["predict", str(mnist_model), *paths, "--save-prepared", str(out)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("Prepared 28x28 inputs") and all(str(p) in last for p in expected)
    for row, path in zip(preprocess(paths), expected, strict=True):
        with Image.open(path) as image:  # white ink on black, as the network sees it
            np.testing.assert_array_equal(np.asarray(image), np.round(row.reshape(28, 28) * 255))
    assert main(["predict", str(mnist_model), *paths, "--json", "--save-prepared",
                 str(out)]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["prepared"] for r in results] == [str(p) for p in expected]
    assert run_cli(["predict", str(mnist_model), paths[0], "--save-prepared", paths[1]]) == 2
    err = capsys.readouterr().err
    assert f"--save-prepared: expected a folder, got the file {paths[1]}" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    (["train", "--epochs", "-1"], "argument --epochs: expected an integer >= 0, got '-1'"),
    (["train", "--lr", "0"], "argument --lr: expected a positive finite number, got '0'"),
    (["train", "--hidden", "32,x"], "argument --hidden: expected comma-separated positive "
     "integers like 32,32, got '32,x'"),
    (["train", "--dataset", "cifar"], "argument --dataset: expected one of ['mnist', "
     "'digits'], got 'cifar'"),
    (["train", "--optimizer", "adamm"], "argument --optimizer: expected one of ['sgd', "
     "'adam', 'adamw', 'rmsprop', 'adagrad'], got 'adamm' (did you mean 'adam'?)"),
    (["train", "--dropout", "1.5"], "argument --dropout: expected a number in [0, 1)"),
    (["train", "--patience", "3", "--dataset", "digits", "--no-bar"],
     "--patience 3 needs a validation set: set --val-split > 0, or turn early stopping off "
     "with --patience none"),
    (["train", "--recipe", "elastic", "--epochs", "1", "--dataset", "digits"],
     "--warmup 1 (from --recipe elastic) needs more --epochs: with --epochs 1 no epoch is "
     "left for the cosine decay; set --warmup 0 or --epochs 2 or more"),
    (["train", "--recipe", "best", "--val-split", "0", "--dataset", "digits"],
     "--patience 4 (from --recipe best) needs a validation set: set --val-split > 0"),
    (["evaluate", "missing.npz"], "MODEL missing.npz does not exist; give a run folder or "
     "its model.npz"),
    (["predict", "MODEL"], "give IMAGE files (or folders) to classify, or --csv FILE, not "
     "neither"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    """Each mistake: exit status 2, one line on stderr naming the problem, no traceback."""
    monkeypatch.chdir(tmp_path)
    assert run_cli(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def run_cli(argv):
    """``main(argv)``'s exit status, whether it returns it or argparse exits."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_predict_errors(mnist_model, tmp_path, capsys):
    """A non-model file: one line, exit 2; a missing or unreadable image: its own line, the
    count, exit 1."""
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    text = tmp_path / "model.txt"
    text.write_text("hello")
    assert run_cli(["predict", str(text), str(bad)]) == 2  # no model: nothing to do
    err = capsys.readouterr().err
    assert "model.txt" in err and len(err.strip().splitlines()) == 1
    for image in (tmp_path / "nope.png", bad):  # a bad image: its own line, then exit 1
        assert run_cli(["predict", str(mnist_model), str(image)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert image.name in err[0] and err[1] == ("nnscratch predict: 1 of 1 images could "
                                                   "not be read")


def test_help_and_version(capsys):
    """Every subcommand answers --help; --version prints the version."""
    from nnscratch import __version__

    for command in ("train", "evaluate", "predict", "plot", "reproduce", "sweep"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: nnscratch " + command in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"nnscratch {__version__}"


def test_console_script_trains_digits_in_a_subprocess(tmp_path):
    """The installed ``nnscratch`` command, as a user runs it."""
    exe = [sys.executable, "-m", "nnscratch.cli"]
    result = subprocess.run(
        [*exe, "train", "--dataset", "digits", "--epochs", "5", "--no-bar", "--out",
         str(tmp_path / "run")], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "Test accuracy:" in result.stdout
    assert (tmp_path / "run" / "model.npz").is_file()
    bad = subprocess.run([*exe, "train", "--batch-size", "0"], capture_output=True, text=True,
                         timeout=60, check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_label_smoothing_trains_and_is_refused_on_a_regression(tmp_path, capsys):
    """--label-smoothing 0.1 trains a classifier (stored in the run's configuration); on a
    regression table it is one line, exit 2, and no run folder."""
    out = tmp_path / "smooth"
    assert run_cli(["train", "--dataset", "digits", "--epochs", "3", "--lr", "0.1",
                    "--label-smoothing", "0.1", "--no-bar", "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["config"]["label_smoothing"] == 0.1
    table = tmp_path / "r.csv"
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.3f},{b:.3f},{a + 2 * b:.3f}" for a, b in rng.normal(size=(60, 2)))
    table.write_text("a,b,y\n" + rows + "\n")
    capsys.readouterr()
    assert run_cli(["train", "--data", str(table), "--target", "y", "--label-smoothing", "0.1",
                    "--out", str(tmp_path / "reg")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("nnscratch train: error: --label-smoothing 0.1 needs a "
                           "classification target; this one is a regression")
    assert not (tmp_path / "reg").exists()

@pytest.mark.parametrize(("recipe", "flags", "message"), [
    ("fast", [], "--label-smoothing 0.1 needs a classification target; this one is a "
                 "regression; --label-smoothing 0.1 comes from --recipe fast "
                 "(--label-smoothing 0 to change it)"),
    ("best", ["--label-smoothing", "0"],
     "--recipe best is made for images: --augment shift distorts images; this data is a "
     "table. Leave --recipe out (a table gets the 'table' recipe), or keep --recipe best with "
     "--augment none"),
    ("cnn", ["--label-smoothing", "0"],
     "--recipe cnn is made for images: --augment shift distorts images and --arch "
     "conv32k3,pool2,bn,conv64k3,pool2,bn,dense128 convolves them; this data is a table. Leave "
     "--recipe out (a table gets the 'table' recipe), or keep --recipe cnn with --augment none "
     "--arch LAYERS (e.g. dense100)"),
    ("cnn", ["--label-smoothing", "0", "--augment", "none"],
     "--recipe cnn is made for images: --arch conv32k3,pool2,bn,conv64k3,pool2,bn,dense128 "
     "convolves them; this data is a table. Leave --recipe out (a table gets the 'table' "
     "recipe), or keep --recipe cnn with --arch LAYERS (e.g. dense100)"),
])
def test_an_mnist_recipe_on_a_table_says_which_setting_it_gave(tmp_path, capsys, recipe,
                                                                flags, message):
    """A recipe for MNIST named on a regression table: the settings the table cannot take
    are one line, before anything else is printed, all of them at once, saying they came
    from the recipe and how to change them (the user never typed them); no run folder."""
    table = tmp_path / "r.csv"
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.3f},{b:.3f},{a + 2 * b:.3f}" for a, b in rng.normal(size=(60, 2)))
    table.write_text("a,b,y\n" + rows + "\n")
    assert run_cli(["train", "--data", str(table), "--target", "y", "--recipe", recipe, *flags,
                    "--no-bar", "--out", str(tmp_path / "reg")]) == 2
    out, err = capsys.readouterr()
    assert err.strip() == f"nnscratch train: error: {message}"
    assert "NeuralNetwork" not in out and not (tmp_path / "reg").exists()
