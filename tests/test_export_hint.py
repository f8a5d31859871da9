"""Without the onnx package, exporting is one line that says how to install it (this file
runs where onnx is absent too: tests/test_export.py is skipped there)."""

import re
import sys

import pytest

from nnscratch import NeuralNetwork, save
from nnscratch.cli import main
from nnscratch.errors import MissingDependencyError
from nnscratch.export import build_onnx


def test_without_onnx_a_one_line_hint(monkeypatch, tmp_path, capsys):
    """No onnx package: one line saying how to install it, from the API and the CLI."""
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    model = NeuralNetwork.from_sizes([4, 2], seed=0)
    hint = "exporting to ONNX needs the onnx package: pip install 'nnscratch[onnx]'"
    with pytest.raises(MissingDependencyError, match=f"^{re.escape(hint)}$"):
        build_onnx(model)
    save(model, tmp_path / "m.npz")
    assert main(["export", str(tmp_path / "m.npz"), "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert capsys.readouterr().err == f"nnscratch export: error: {hint}\n"
    assert not (tmp_path / "m.onnx").exists()
