"""docs/model-format.md: its plain-NumPy snippet predicts what nnscratch predicts."""

import re
from pathlib import Path

import numpy as np

from nnscratch import load

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "model-format.md"


def _snippet():
    """The Python block under the page's 'Predicting with NumPy alone' heading."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Predicting with NumPy alone", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_snippet_imports_only_numpy_and_the_standard_library():
    """No nnscratch import, and about 20 lines of code."""
    code = _snippet()
    imports = re.findall(r"^(?:import|from) (\w+)", code, re.M)
    assert set(imports) == {"gzip", "json", "numpy"}
    lines = [line for line in code.splitlines() if line.strip()]
    assert len(lines) <= 26


def test_the_snippet_predicts_what_nnscratch_predicts(served_models, monkeypatch,
                                                      mnist_standard, capsys):
    """Run from the repository's root on the blog MLP's model file: the same probabilities
    as predict_proba on the 10,000 MNIST test images, to 1e-5, and the accuracy it prints."""
    model_path = served_models["mlp"] / "model.npz"
    code = _snippet()
    assert '"runs/blog/model.npz"' in code
    monkeypatch.chdir(ROOT)  # the snippet reads data/mnist/
    scope = {}
    exec(compile(code.replace('"runs/blog/model.npz"', repr(str(model_path))), str(DOC),
                 "exec"), scope)
    model = load(model_path)
    expected = model.predict_proba(mnist_standard.X_test)
    assert scope["p"].shape == (10_000, 10) and scope["p"].dtype == np.float32
    np.testing.assert_allclose(scope["p"], expected, atol=1e-5, rtol=0)
    accuracy = model.score(mnist_standard.X_test, mnist_standard.y_test)
    assert capsys.readouterr().out == f"accuracy {accuracy:.4f}\n"
    assert accuracy > 0.85
