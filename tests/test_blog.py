"""The blog's own code runs unchanged against nnscratch.

The post (``tests/data/neural-network-blog.md``, the seed of this project) is parsed, its
class and function definitions are removed, and what remains — imports, both experiments,
the accuracy printout — runs with those names imported from ``nnscratch`` instead.
``fetch_openml`` is the only stand-in: it serves the vendored MNIST files in OpenML's order
(a 1-in-10 subsample to keep the test short) instead of downloading.
"""

import ast
import functools
import re
from pathlib import Path

import numpy as np
import pytest

import nnscratch

BLOG = Path(__file__).parent / "data" / "neural-network-blog.md"
BLOG_DEFINITIONS = {"Layer", "Relu", "Tanh", "Sigmoid", "Softmax", "NeuralNetwork",
                    "MeanSquaredErrorLoss", "CrossEntropyLoss", "train", "accuracy"}


def blog_program():
    """The blog's code blocks without their definitions, and the names that were removed."""
    blocks = re.findall(r"```python\n(.*?)```", BLOG.read_text(encoding="utf-8"), re.S)
    # The notebook starts at its imports; the one block before them is a two-line sketch
    # of the forward pass in the prose (``z = input @ weights + bias``), not code to run.
    start = next(i for i, block in enumerate(blocks) if "import numpy as np" in block)
    assert start == 1
    kept, removed = [], set()
    for block in blocks[start:]:
        for node in ast.parse(block).body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                removed.add(node.name)
            else:
                kept.append(ast.unparse(node))
    return "\n".join(kept), removed


class _Frame:
    """The little of a pandas object the blog uses: ``/``, ``astype`` and ``to_numpy``."""

    def __init__(self, array):
        self.array = array

    def __truediv__(self, other):
        return _Frame(self.array / other)

    def astype(self, dtype):
        return _Frame(self.array.astype(dtype))

    def to_numpy(self):
        return self.array


def _offline_fetch_openml(name, version=None, **kwargs):
    """OpenML's mnist_784 from the vendored files: 60,000 training then 10,000 test rows."""
    from nnscratch.data import load_mnist

    assert (name, version) == ("mnist_784", 1)
    data = load_mnist(split="standard", dtype=np.float64, progress=False)
    X = np.concatenate([data.X_train, data.X_test])[::10] * 255.0
    y = np.concatenate([data.y_train, data.y_test])[::10].astype(str)
    return {"data": _Frame(X), "target": _Frame(y)}


def test_blog_defines_exactly_our_public_api():
    """Every class and function the post defines is provided by nnscratch."""
    _, removed = blog_program()
    assert removed == BLOG_DEFINITIONS
    assert all(hasattr(nnscratch, name) for name in removed)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_blog_code_runs_unchanged(monkeypatch, capsys):
    """Both experiments of the post run on the package and give the post's kind of result."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import sklearn.datasets

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", _offline_fetch_openml)
    program, removed = blog_program()
    namespace = {name: getattr(nnscratch, name) for name in removed}
    # The post never seeds; a seeded default keeps this test's numbers the same on every run.
    namespace["NeuralNetwork"] = functools.partial(nnscratch.NeuralNetwork, seed=0)
    exec(compile(program, str(BLOG), "exec"), namespace)

    # The regression experiment drew three panels; its last fit is 3 sin x.
    assert len(plt.gcf().axes) == 3
    X = np.linspace(-3, 3, 100).reshape(-1, 1)  # the post reuses the name X for MNIST
    fit = namespace["model"].forward(X)
    assert np.mean((fit - 3 * np.sin(X)) ** 2) < 0.5
    plt.close("all")
    # The MNIST experiment (on 7,000 images) printed its accuracies.
    out = capsys.readouterr().out
    train_acc = float(re.search(r"Train accuracy: ([\d.]+)", out).group(1))
    test_acc = float(re.search(r"Test accuracy: ([\d.]+)", out).group(1))
    assert train_acc > 0.95 and test_acc > 0.88
    assert len(namespace["train_losses"]) == len(namespace["eval_losses"]) == 40
