"""``nnscratch reproduce --quick``: the whole post in under a minute, and a faithful report."""

import contextlib
import html
import io
import json
import math
import re

import numpy as np
import pytest

from nnscratch.cli import main
from nnscratch.data import REGRESSION_FUNCTIONS, regression_data
from nnscratch.experiment import REGRESSION_RECIPES, fit_regression
from nnscratch.report import BLOG_REGRESSION_MSE, REGRESSION_SEEDS


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One quick reproduction in a temporary folder: (folder, what it printed)."""
    out = tmp_path_factory.mktemp("report")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["reproduce", "--quick", "--no-bar", "--out", str(out)]) == 0
    return out, printed.getvalue()


@pytest.fixture(scope="module")
def quick_report(quick_run):
    """The folder of the quick reproduction."""
    return quick_run[0]


def test_report_files_and_every_linked_figure_exist(quick_report):
    """report.md, report.html, and each figure report.md links to."""
    markdown = (quick_report / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert len(links) == 9
    for link in links:
        assert (quick_report / link).is_file() and (quick_report / link).stat().st_size > 1000
    html = (quick_report / "report.html").read_text()
    assert html.count("src='data:image/png;base64,") == 9  # self-contained


def test_report_numbers_equal_the_runs_metrics(quick_report):
    """The accuracies and loss in report.md are those of the run's metrics.json."""
    metrics = json.loads((quick_report / "mnist-run" / "metrics.json").read_text())
    markdown = (quick_report / "report.md").read_text()
    assert f"| MNIST train accuracy | {100 * metrics['train_accuracy']:.2f}% | 99.45% |" \
        in markdown
    assert f"| MNIST test accuracy | {100 * metrics['test_accuracy']:.2f}% | 96.66% |" \
        in markdown
    assert f"| MNIST test loss | {metrics['test_loss']:.4f} |" in markdown
    assert metrics["epochs"] == 3 and metrics["dataset"]["split"] == "blog"
    assert metrics["dataset"]["sizes"] == {"train": 56000, "test": 14000}
    assert metrics["test_accuracy"] > 0.9


def test_report_states_seed_split_versions_and_times(quick_report):
    """The setup table: seed, split, library versions; a wall time per step."""
    markdown = (quick_report / "report.md").read_text()
    assert "| seed | 0 |" in markdown
    assert "blog: 56,000 train / 14,000 test" in markdown
    assert "numpy " in markdown and "scikit-learn " in markdown
    assert re.search(r"\| total \| \d+\.\d \|", markdown)
    fits = re.findall(r"\| MSE of the (.+?) fit, median of 5 seeds \| ([\d.]+) ", markdown)
    assert [name for name, _ in fits] == ["x^2", "\\|x\\|", "3 sin x"]  # pipes escaped
    assert all(float(mse) < 0.5 for _, mse in fits)


def _cells(line):
    """The cells of one Markdown table row."""
    return [cell.strip().replace("\\|", "|") for cell in line.strip().strip("|").split(" | ")]


def test_report_states_the_median_over_5_seeds(quick_run):
    """Regression MSEs: per seed (the fits themselves, recomputed here), their median and
    range beside the blog code's 5-seed median, in report.md and on the terminal."""
    out, printed = quick_run
    markdown = (out / "report.md").read_text()
    assert REGRESSION_SEEDS == 5
    table = markdown.split("## Regression fits: MSE per seed")[1].split("##")[0]
    rows = [_cells(line) for line in table.strip().splitlines() if line.startswith("|")]
    assert rows[0] == ["", "seed 0", "seed 1", "seed 2", "seed 3", "seed 4", "median"]
    per_seed = {row[0]: [float(x) for x in row[1:6]] for row in rows[2:]}
    assert list(per_seed) == list(REGRESSION_FUNCTIONS)
    for name, mses in per_seed.items():
        median = float(np.median(mses))
        assert rows[2 + list(per_seed).index(name)][6] == f"{median:.4f}"
        results_row = [f"MSE of the {name} fit, median of 5 seeds",
                       f"{median:.4f} (range {min(mses):.4f}–{max(mses):.4f})",
                       f"{BLOG_REGRESSION_MSE[name]:.4f}*"]
        assert results_row in [_cells(line) for line in markdown.splitlines()]
        assert f"MSE of the {name} fit: {median:.4f} (median of seeds 0-4, range " \
            f"{min(mses):.4f}–{max(mses):.4f}; the blog code's 5-seed median: " \
            f"{BLOG_REGRESSION_MSE[name]:.4f})" in printed
    # the seeds really are 0-4 of the blog configuration (0.03 s per fit)
    assert per_seed["|x|"] == [round(float(fit_regression("|x|", "blog", s)[3]), 4)
                               for s in range(5)]
    assert len(set(per_seed["|x|"])) == 5  # five different fits, not one repeated
    assert "the medians over seeds 0-4" in markdown
    assert "the regression figure shows seed 0" in markdown
    assert "### Regression fits: the true function and the network's prediction (seed 0)" \
        in markdown


def _regression_batches():
    """How many batches the reproduction's regression fits train, all seeds together."""
    r = REGRESSION_RECIPES["blog"]
    return sum(REGRESSION_SEEDS * r["epochs"]
               * math.ceil(len(regression_data(name)[0]) / r["batch_size"])
               for name in REGRESSION_FUNCTIONS)


def test_ctrl_c_during_the_mnist_training_stops_without_a_report(tmp_path, ctrl_c_at_batch,
                                                                 capsys):
    """Ctrl-C in the MNIST training: the run so far is saved, marked interrupted; no
    figures of it, no report; the terminal says after how many epochs; exit status 130."""
    batches = ctrl_c_at_batch(_regression_batches() + 30)  # 30 batches into MNIST
    out = tmp_path / "report"
    assert main(["reproduce", "--quick", "--no-bar", "--out", str(out)]) == 130
    captured = capsys.readouterr()
    assert len(batches) == _regression_batches() + 30  # stopped after that batch
    metrics = json.loads((out / "mnist-run" / "metrics.json").read_text())
    assert metrics["interrupted"] is True and metrics["epochs"] == 0
    assert captured.err.strip() == (
        "nnscratch reproduce: interrupted, no report written: MNIST training stopped after 0 "
        f"of 3 epochs; the run so far is saved in {out / 'mnist-run'} ('nnscratch plot "
        f"{out / 'mnist-run'}' draws its figures)")
    assert "Report:" not in captured.out and "MNIST train accuracy" not in captured.out
    assert not (out / "report.md").exists() and not (out / "report.html").exists()
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        "activations.png", "regression.png"]  # drawn before the training, nothing after


def test_ctrl_c_during_the_regression_fits_stops_at_once(tmp_path, ctrl_c_at_batch, capsys):
    """Ctrl-C in a regression fit: that batch finishes, nothing else runs; exit status 130."""
    batches = ctrl_c_at_batch(10)
    out = tmp_path / "report"
    assert main(["reproduce", "--quick", "--no-bar", "--out", str(out)]) == 130
    assert len(batches) == 10
    assert capsys.readouterr().err.strip() == (
        "nnscratch reproduce: interrupted, no report written: the x^2 fit was interrupted")
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["activations.png"]


def test_report_says_which_figures_were_not_drawn_and_why(tmp_path):
    """A skipped figure: its caption and the reason in report.md and report.html, no image."""
    from nnscratch.report import render_html, render_markdown

    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "samples.png").write_bytes(b"\x89PNG fake")
    reason = "no t-SNE of the output layer (layer -1): its output is the same for all 500 points"
    ctx = {"metrics": {"train_accuracy": 0.1, "test_accuracy": 0.1, "test_loss": 20.0},
           "config": {"hidden": [32, 32], "activation": "relu", "epochs": 3,
                      "batch_size": 64, "lr": 100.0, "dtype": "float32"},
           "dataset": {"split": "blog", "sizes": {"train": 56000, "test": 14000}},
           "regression_mses": {"x^2": [0.1, 0.2, 0.3, 0.4, 0.5]},
           "regression_seeds": [0, 1, 2, 3, 4], "quick": True, "seed": 0, "steps": {},
           "total": 1.0, "versions": {}, "figures": {"samples": "figures/samples.png"},
           "skipped": {"tsne_output": reason}}
    markdown = render_markdown(ctx)
    caption = "t-SNE of the network's 10-dimensional output (test set)"
    assert f"### {caption}\n\nNot drawn: {reason}.\n" in markdown
    assert markdown.count("![") == 1  # only the samples figure
    page = render_html(ctx, tmp_path)
    assert f"<h3>{html.escape(caption)}</h3><p>Not drawn: {reason}.</p>" in page
    assert page.count("<img") == 1
