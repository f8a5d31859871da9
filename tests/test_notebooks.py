"""The chapters' notebooks are stored as a reader should see them.

Running them is `pytest --nbmake notebooks/` (the Makefile's test target, with
NNSCRATCH_QUICK=1); these tests check what is stored: every code cell's outputs from a run,
no execution counts, timestamps or kernel versions (``tools/notebooks.py`` removes them),
no error, no path of the machine that ran them, and a cell saying what quick mode shortens.
"""

import copy
import importlib.util
from pathlib import Path

import nbformat
import pytest

_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ["01-the-blog", "02-convolutions", "03-makemore"]


def _tool():
    """Import ``tools/notebooks.py`` (the tools are not a package)."""
    spec = importlib.util.spec_from_file_location("notebooks_tool",
                                                  _ROOT / "tools" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(name):
    return nbformat.read(_ROOT / "notebooks" / f"{name}.ipynb", as_version=4)


def test_every_chapter_has_its_notebook():
    """The notebooks folder holds exactly the chapters' notebooks."""
    found = sorted(path.stem for path in (_ROOT / "notebooks").glob("*.ipynb"))
    assert found == NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_stored_notebook_ran_and_holds_no_run_noise(name):
    """Outputs in every code cell, none an error; no execution count or timestamp anywhere."""
    nb = _read(name)
    nbformat.validate(nb)
    assert _tool().problems(nb) == []
    for cell in nb.cells:
        assert "execution" not in cell.metadata
        if cell.cell_type == "code":
            assert cell.execution_count is None and cell.outputs
            assert all(output.get("execution_count") is None for output in cell.outputs)
    figures = [output for cell in nb.cells if cell.cell_type == "code"
               for output in cell.outputs if "image/png" in output.get("data", {})]
    assert len(figures) >= 2


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_reads_quick_mode_and_says_so(name):
    """A code cell reads NNSCRATCH_QUICK and a markdown cell tells the reader what it does."""
    nb = _read(name)
    sources = {kind: "\n".join(c.source for c in nb.cells if c.cell_type == kind)
               for kind in ("code", "markdown")}
    assert 'os.environ.get("NNSCRATCH_QUICK") == "1"' in sources["code"]
    assert "`NNSCRATCH_QUICK=1`" in sources["markdown"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_holds_no_path_of_the_machine_that_ran_it(name):
    """Data is found through the package, so neither code nor outputs name a local folder."""
    text = (_ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8")
    for fragment in (str(_ROOT), "/home/", "/root/", "/tmp/", "C:\\\\"):
        assert fragment not in text


def test_cleaning_removes_what_a_run_adds():
    """A notebook as nbclient leaves it (counts, timestamps, kernel versions) is flagged, and
    is clean after ``clean``, with its outputs kept."""
    tool = _tool()
    nb = copy.deepcopy(_read(NOTEBOOKS[0]))
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    for count, cell in enumerate(code, start=1):
        cell.execution_count = count
        cell.metadata["execution"] = {"iopub.execute_input": "2026-12-05T21:00:00.000000Z"}
        for output in cell.outputs:
            if output.output_type == "execute_result":
                output.execution_count = count
    nb.metadata["language_info"]["version"] = "3.11.7"
    nb.metadata["widgets"] = {}
    found = tool.problems(nb)
    assert "cell 1: execution count 1" in found
    assert "cell 1: metadata ['execution']" in found
    assert "notebook metadata ['widgets']" in found

    outputs = [copy.deepcopy(cell.outputs) for cell in code]
    tool.clean(nb)
    assert tool.problems(nb) == []
    assert nb.metadata == tool.KEPT_METADATA
    for cell, before in zip(code, outputs, strict=True):
        assert len(cell.outputs) == len(before)
        assert [o.get("data", o.get("text")) for o in cell.outputs] == \
               [o.get("data", o.get("text")) for o in before]


def test_a_code_cell_without_output_or_with_an_error_is_flagged():
    """A cell that never ran, or that failed, is named by ``problems``."""
    tool = _tool()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("print(1)"),
        nbformat.v4.new_code_cell("1 / 0", outputs=[nbformat.v4.new_output(
            "error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])]),
    ])
    tool.clean(nb)
    assert tool.problems(nb) == ["cell 0: no stored output", "cell 1: an error (ZeroDivisionError)"]
