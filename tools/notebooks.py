"""Run the notebooks of ``notebooks/`` in place, and keep only what a reader needs in them.

``python tools/notebooks.py run [NOTEBOOK ...]`` executes each notebook top to bottom (cwd:
its folder; kernel: this Python's ``python3``), stores the outputs and cleans it;
``python tools/notebooks.py clean [NOTEBOOK ...]`` only cleans. Without NOTEBOOK, every
``notebooks/*.ipynb``. ``make notebooks`` runs the first.

Cleaning drops what changes from run to run and means nothing to a reader (execution
counts, timestamps, kernel versions), so a rerun that computes the same numbers leaves the
files unchanged. The outputs (text and PNG figures) stay: they are the notebook's results,
and a repository browser shows them. ``problems`` says what a stored notebook still holds
that cleaning removes; ``tests/test_notebooks.py`` uses it.
"""

import argparse
import os
import sys
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: The only notebook metadata kept: which kernel runs it and its language.
KEPT_METADATA = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"},
                 "language_info": {"name": "python"}}
#: Cell metadata that is run noise (nbclient's timestamps, Jupyter's scroll and collapse state).
NOISY_CELL_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")


def clean(nb):
    """Remove execution counts, timestamps and run metadata from ``nb`` (in place)."""
    nb.metadata = nbformat.from_dict(KEPT_METADATA)
    for i, cell in enumerate(nb.cells):
        cell.setdefault("id", f"cell-{i}")
        for key in NOISY_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.execution_count = None
            for output in cell.outputs:
                if "execution_count" in output:
                    output.execution_count = None
    return nb


def problems(nb):
    """What a stored notebook holds that it should not, or lacks: a list of lines."""
    found = []
    extra = set(nb.metadata) - set(KEPT_METADATA)
    if extra:
        found.append(f"notebook metadata {sorted(extra)}")
    for i, cell in enumerate(nb.cells):
        noise = set(cell.metadata) & set(NOISY_CELL_METADATA)
        if noise:
            found.append(f"cell {i}: metadata {sorted(noise)}")
        if cell.cell_type != "code":
            continue
        if cell.execution_count is not None:
            found.append(f"cell {i}: execution count {cell.execution_count}")
        if not cell.outputs:
            found.append(f"cell {i}: no stored output")
        for output in cell.outputs:
            if output.get("execution_count") is not None:
                found.append(f"cell {i}: an output's execution count")
            if output.output_type == "error":
                found.append(f"cell {i}: an error ({output.ename})")
    return found


def write(nb, path):
    """Write ``nb`` to ``path`` atomically (a temporary file renamed over it)."""
    tmp = path.with_name(f".{path.name}.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)


def run(path, timeout):
    """Execute the notebook at ``path`` in its own folder, then clean and store it."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    write(clean(nb), path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("run", "clean"))
    parser.add_argument("notebooks", nargs="*", type=Path)
    # No limit by default: the cnn recipe's full training is one cell, about 3 minutes on 2
    # idle cores but more than 30 on 2 cores shared with other trainings (measured).
    parser.add_argument("--timeout", type=int, default=None,
                        help="seconds one cell may run (default: no limit)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    for path in paths:
        if args.command == "run":
            print(f"running {path}", flush=True)
            run(path, args.timeout)
        else:
            write(clean(nbformat.read(path, as_version=4)), path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
