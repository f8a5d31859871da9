"""Shared fixtures. Figures render off-screen; no test touches the network or the home folder."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
# One thread for BLAS and OpenMP: the test networks are small, and on a shared 2-core machine
# several threads per process only fight over the cores (a 1 s fit became 20 s under load).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # also for the CLI's subprocesses
os.environ.setdefault("OMP_NUM_THREADS", "1")  # t-SNE's OpenMP runtime, loaded later

import numpy as np
import pytest
from hypothesis import settings
from threadpoolctl import threadpool_limits

threadpool_limits(limits=1)  # numpy may already be loaded by a plugin

# Property and fuzz tests draw the same examples on every run, so a failure reproduces and
# CI never flakes. To search further, run with NNSCRATCH_HYPOTHESIS=explore (random draws).
settings.register_profile("reproducible", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("NNSCRATCH_HYPOTHESIS", "reproducible"))


@pytest.fixture
def rng():
    """A fresh, seeded Generator for test data."""
    return np.random.default_rng(12345)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Point the data cache at an empty folder so no test reads or writes the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("NNSCRATCH_DATA", raising=False)


@pytest.fixture(scope="session")
def benchmark_module():
    """``load(name)``: ``benchmarks/<name>.py`` imported as a module (the benchmarks are not a
    package)."""
    import importlib.util
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "benchmarks"

    def load(name):
        spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's bundled 8x8 digits as (X in [0, 1] float64, integer labels)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data / 16.0, data.target


@pytest.fixture
def ctrl_c_at_batch(monkeypatch):
    """``arm(n) -> batches``: SIGINT, as a user's Ctrl-C, is sent from inside the ``n``-th
    call of ``NeuralNetwork.backprop`` (one per batch, counted from ``arm``); ``batches`` grows
    by one per call."""
    import signal

    from nnscratch import NeuralNetwork

    def arm(n):
        batches = []
        original = NeuralNetwork.backprop

        def backprop(self, *args, **kwargs):
            batches.append(1)
            if len(batches) == n:
                signal.raise_signal(signal.SIGINT)
            return original(self, *args, **kwargs)

        monkeypatch.setattr(NeuralNetwork, "backprop", backprop)
        return batches

    return arm


# --- nnscratch serve: small MNIST models, shared by its API, command-line and browser tests --
@pytest.fixture(scope="session")
def mnist_standard():
    """The standard MNIST split, from the vendored files (never downloaded)."""
    from nnscratch.data import load_mnist

    return load_mnist(split="standard", progress=False, download=False)


@pytest.fixture(scope="session")
def served_models(tmp_path_factory, mnist_standard):
    """Two MNIST models as ``nnscratch serve`` is given them: ``mlp``, a run folder of the
    blog's 784-32-32-10 after 3 epochs (``nnscratch train``'s code path, ~1 s), and ``conv``,
    a model file of a ``conv4k5,pool2`` network trained for one epoch on 6,000 images."""
    from nnscratch import CrossEntropyLoss, NeuralNetwork, Softmax, save, train
    from nnscratch.architecture import parse_arch
    from nnscratch.experiment import run_training
    from nnscratch.recipes import make_config

    root = tmp_path_factory.mktemp("served")
    mlp = root / "mlp"
    run_training(make_config("blog", epochs=3, split="standard"), data=mnist_standard,
                 out_dir=mlp, bar=False, log=lambda *_: None)
    d = mnist_standard
    conv = NeuralNetwork.from_architecture(parse_arch("conv4k5,pool2"), (1, 28, 28), 10,
                                           head_activation=Softmax, seed=0)
    train(conv, d.X_train[:6000], d.y_train[:6000], CrossEntropyLoss, 1, 64, 0.05, bar=False,
          seed=0)
    save(conv, root / "conv.npz", config={"arch": "conv4k5,pool2", "epochs": 1},
         metrics={"test_accuracy": conv.score(d.X_test[:2000], d.y_test[:2000])})
    return {"mlp": mlp, "conv": root / "conv.npz"}


SHAPE_CLASSES = ("cross", "horizontal bar", "vertical bar")


def _shape_picture(kind, rng, height=12, width=16):
    """A shape (one of :data:`SHAPE_CLASSES`) of a random colour on another random colour,
    ``(height, width, 3)`` uint8 RGB."""
    bg, fg = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    while np.linalg.norm(bg - fg) < 0.5:
        fg = rng.uniform(0, 1, 3)
    img = np.tile(bg, (height, width, 1))
    row, col = height // 2 - 1 + rng.integers(-2, 3), width // 2 - 1 + rng.integers(-2, 3)
    if kind in ("horizontal bar", "cross"):
        img[row:row + 2, 1:-1] = fg
    if kind in ("vertical bar", "cross"):
        img[1:-1, col:col + 2] = fg
    return np.rint(img * 255).astype(np.uint8)


@pytest.fixture(scope="session")
def served_image_model(tmp_path_factory):
    """A run folder of ``nnscratch train --data DIR`` (two epochs, ~1 s) on a tiny colour
    folder: 8 pictures of 16 x 12 pixels (width x height) per class of :data:`SHAPE_CLASSES`.
    The model reads 12 x 16 x 3 inputs. ``{"run": the run folder, "folder": the pictures}``."""
    from PIL import Image

    from nnscratch.cli import main

    root = tmp_path_factory.mktemp("served-images")
    rng = np.random.default_rng(0)
    for kind in SHAPE_CLASSES:
        (root / "shapes" / kind).mkdir(parents=True)
        for i in range(8):
            Image.fromarray(_shape_picture(kind, rng)).save(root / "shapes" / kind / f"{i}.png")
    out = root / "shapes-run"
    assert main(["train", "--data", str(root / "shapes"), "--epochs", "2", "--batch-size", "8",
                 "--no-bar", "--out", str(out)]) == 0
    return {"run": out, "folder": root / "shapes"}
