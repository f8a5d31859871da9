"""scikit-learn's own MLP examples, with only the import changed, run to the end.

The scripts in ``examples/sklearn_mlp`` are scikit-learn's (on its bundled data, no
download) with ``from sklearn.neural_network import ...`` replaced by ``from
nnscratch.sklearn import ...``; each is run as a user runs it and its printed results are
checked against floors that scikit-learn's MLPs also meet.
"""

import contextlib
import io
import re
import runpy
import warnings
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "sklearn_mlp"


def _run(name, tmp_path, monkeypatch):
    """Run ``examples/sklearn_mlp/<name>`` in ``tmp_path`` (where it saves its figure); its
    printed lines."""
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("default")  # a script's warnings are printed, as for a user
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return out.getvalue()


def _numbers(pattern, text):
    return [float(x) for x in re.findall(pattern, text)]


def test_every_example_imports_ours_and_nothing_else_differs():
    """Each script's only nnscratch line is the import that replaces scikit-learn's."""
    for path in sorted(EXAMPLES.glob("*.py")):
        lines = [line for line in path.read_text().splitlines() if "nnscratch" in line]
        assert len(lines) == 1 and re.match(r"from nnscratch\.sklearn import MLP(Classifier|"
                                            r"Regressor)\b", lines[0]), path.name


def test_mnist_filters(tmp_path, monkeypatch):
    """verbose lines, scores, and coefs_[0] drawn as 8x8 images."""
    text = _run("mnist_filters.py", tmp_path, monkeypatch)
    assert len(re.findall(r"^Iteration \d+, loss = \d+\.\d{8}$", text, re.M)) == 8
    assert _numbers(r"Test set score: (\d\.\d+)", text)[0] >= 0.93
    assert (tmp_path / "mlp_filters.png").stat().st_size > 0


def test_grid_search_alpha(tmp_path, monkeypatch):
    """GridSearchCV over make_pipeline's "mlpclassifier__" keys, then cross_val_score."""
    text = _run("grid_search_alpha.py", tmp_path, monkeypatch)
    tests = _numbers(r"test (\d\.\d+)", text)
    assert len(tests) == 3 and min(tests) >= 0.85


def test_regression_pipeline(tmp_path, monkeypatch):
    """A regressor in pipelines, early stopping, partial_dependence, permutation_importance."""
    text = _run("regression_pipeline.py", tmp_path, monkeypatch)
    assert _numbers(r"Test R2 score: (-?\d\.\d+)", text)[0] >= 0.2
    assert "partial dependence on bmi: [[" in text and "most important features:" in text


def test_training_curves(tmp_path, monkeypatch):
    """Every sgd learning-rate rule and adam on four data sets (28 fits), loss_ and
    loss_curve_ drawn."""
    text = _run("training_curves.py", tmp_path, monkeypatch)
    scores = _numbers(r"Training set score: (\d\.\d+)", text)
    assert len(scores) == 28 and max(scores) > 0.95
    assert (tmp_path / "training_curves.png").stat().st_size > 0
