"""The reproduction report: the whole blog post, run end to end, with our numbers beside its.

:func:`reproduce` draws the activation functions, fits the three regression functions (five
seeds each), runs the MNIST experiment with the blog's configuration and split, draws every
figure, and writes ``report.md`` and a self-contained ``report.html`` (figures embedded).
A reproduction interrupted by Ctrl-C writes no report. :func:`plot_run` draws the figures of
an existing run folder.
"""

import base64
import html
import time
from pathlib import Path

import numpy as np

from .data import REGRESSION_FUNCTIONS, load_dataset
from .experiment import fit_regression, run_training
from .files import write_text
from .language import LanguageModel
from .recipes import make_config
from .runs import read_run, versions

#: The blog's published MNIST accuracies (784-32-32-10, 40 epochs, blog split).
BLOG_ACCURACY = {"train_accuracy": 0.9945, "test_accuracy": 0.9666}
#: The blog publishes no MSE for its fits; these are the medians over 5 seeds of the post's
#: code run unchanged, as measured when this project was planned.
BLOG_REGRESSION_MSE = {"x^2": 0.057, "|x|": 0.0065, "3 sin x": 0.10}
#: Seeds per regression fit in the report: as many as the blog column's median is over.
REGRESSION_SEEDS = 5


def plot_run(run_dir, *, data_dir=None, tsne_points=3000, seed=0, on_skip=None):
    """Draw the figures of a finished ``nnscratch train`` run into ``RUN_DIR/figures/``.

    Returns a dict ``{figure name: path}``. A figure the run cannot make (a t-SNE of a
    network that maps every input to one point, ...) is skipped and reported as
    ``on_skip(name, reason)`` (see :func:`~nnscratch.plots.draw_run_figures`).
    """
    from .plots import draw_run_figures

    run_dir = Path(run_dir)
    model, history, metrics = read_run(run_dir)
    config = metrics.get("config", {})
    if isinstance(model, LanguageModel):  # no images to draw: the loss curves alone
        from .plots import RUN_FIGURES, plot_losses, save_figure

        return {"losses": save_figure(plot_losses(history),
                                      run_dir / "figures" / RUN_FIGURES["losses"])}
    if config.get("data"):
        from .experiment import load_data  # the user's folder of images or table, as in training

        data = load_data(config, pipeline=model.pipeline, progress=False, log=lambda *_: None)
    else:
        data = load_dataset(config.get("dataset", "mnist"), split=config.get("split", "blog"),
                            data_dir=data_dir, dtype=model.dtype, progress=False)
    return draw_run_figures(model, history, data, run_dir / "figures",
                            tsne_points=tsne_points, seed=seed, on_skip=on_skip)


def fit_regressions(seed=0, n_seeds=REGRESSION_SEEDS):
    """The blog's regression experiment, each function fitted with seeds ``seed, seed + 1, ...``.

    Returns ``[(name, X, y_true, y_pred, mses), ...]``: ``y_pred`` is the fit of the first
    seed, ``seed`` (the one the figure shows), and ``mses`` one MSE per seed, in seed order.
    """
    fits = []
    for name in REGRESSION_FUNCTIONS:
        mses = []
        for s in range(seed, seed + n_seeds):
            model, X, y, mse = fit_regression(name, "blog", s)
            if s == seed:
                y_pred = model.predict(X).astype(np.float64)
            mses.append(mse)
        fits.append((name, X, y, y_pred, mses))
    return fits


class _Steps:
    """Status lines ``[i/n] step ... done in s`` and the wall time of each step."""

    def __init__(self, n, log):
        self.n, self.log, self.times, self.i = n, log, {}, 0

    def run(self, title, fn):
        self.i += 1
        self.log(f"[{self.i}/{self.n}] {title} ...", flush=True)
        start = time.perf_counter()
        result = fn()
        self.times[title] = time.perf_counter() - start
        self.log(f"[{self.i}/{self.n}] {title}: done in {self.times[title]:.1f} s", flush=True)
        return result


def reproduce(out_dir="reports/latest", *, quick=False, data_dir=None, seed=0, bar=True,
              log=print):
    """Run the blog end to end and write ``report.md`` and ``report.html`` into ``out_dir``.

    ``quick`` trains MNIST for 3 epochs and embeds 500 points in the t-SNE plots. Each
    regression function is fitted with the seeds ``seed`` to ``seed + 4``; the report gives
    their median MSE beside the blog code's 5-seed median, and the figure shows ``seed``.

    Returns ``{"markdown": path, "html": path, "metrics": dict, "fits": [(name, median
    MSE)], "regression_mses": {name: [MSE per seed]}, "regression_seeds": [int],
    "figures": dict, "skipped": {figure name: reason}}``.

    Raises ``KeyboardInterrupt`` on Ctrl-C, and writes no report: during the MNIST training
    the first Ctrl-C stops after the current batch, the run so far is saved in
    ``out_dir/mnist-run`` (marked interrupted), and the message says after how many epochs.
    """
    from .plots import draw_run_figures, plot_activations, plot_regression_fits, save_figure

    out_dir = Path(out_dir)
    figures_dir = out_dir / "figures"
    config = make_config("blog", seed=seed, epochs=3 if quick else None)
    tsne_points = 500 if quick else 3000
    steps = _Steps(5, log)
    figures, skipped = {}, {}
    seeds = list(range(seed, seed + REGRESSION_SEEDS))
    start = time.perf_counter()

    def train_mnist():
        run = run_training(config, data=data, out_dir=out_dir / "mnist-run", bar=bar,
                           log=lambda *a, **k: None)
        if run.metrics["interrupted"]:
            raise KeyboardInterrupt(
                f"MNIST training stopped after {run.metrics['epochs']} of {config['epochs']} "
                f"epochs; the run so far is saved in {run.out_dir} ('nnscratch plot "
                f"{run.out_dir}' draws its figures)")
        return run

    def skip(name, reason):
        skipped[name] = reason
        log(f"    {name}: not drawn: {reason}", flush=True)

    figures["activations"] = steps.run("activation functions", lambda: save_figure(
        plot_activations(), figures_dir / "activations.png"))
    fits = steps.run(f"regression fits (x^2, |x|, 3 sin x; seeds {seeds[0]}-{seeds[-1]}, "
                     "400 epochs each)", lambda: fit_regressions(seed))
    figures["regression"] = save_figure(plot_regression_fits([f[:4] for f in fits]),
                                        figures_dir / "regression.png")
    data = steps.run("MNIST data (blog split)", lambda: load_dataset(
        "mnist", split="blog", data_dir=data_dir, dtype=config["dtype"], progress=bar))
    run = steps.run(f"MNIST training, 784-32-32-10, {config['epochs']} epochs", train_mnist)
    figures.update(steps.run("figures (samples, losses, t-SNE, misclassified, confusion, "
                             "weights)", lambda: draw_run_figures(
                                 run.model, run.history, data, figures_dir,
                                 tsne_points=tsne_points, seed=seed, on_skip=skip)))
    total = time.perf_counter() - start

    mses = {f[0]: [float(m) for m in f[4]] for f in fits}
    context = {"metrics": run.metrics, "regression_mses": mses, "regression_seeds": seeds,
               "config": config, "quick": quick, "seed": seed, "steps": steps.times,
               "total": total, "skipped": skipped,
               "figures": {k: Path(v).relative_to(out_dir).as_posix()
                           for k, v in figures.items()},
               "versions": versions(), "dataset": run.metrics["dataset"]}
    markdown = render_markdown(context)
    md_path, html_path = out_dir / "report.md", out_dir / "report.html"
    write_text(md_path, markdown)
    write_text(html_path, render_html(context, out_dir))
    return {"markdown": md_path, "html": html_path, "metrics": run.metrics,
            "fits": [(name, float(np.median(m))) for name, m in mses.items()],
            "regression_mses": mses, "regression_seeds": seeds, "figures": figures,
            "skipped": skipped}


FIGURE_CAPTIONS = [
    ("activations", "Activation functions and their derivatives"),
    ("regression", "Regression fits: the true function and the network's prediction "
                   "(seed {seed})"),
    ("samples", "Sample training digits"),
    ("losses", "Train and evaluation loss per epoch"),
    ("tsne_output", "t-SNE of the network's 10-dimensional output (test set)"),
    ("tsne_hidden", "t-SNE of the last hidden layer (test set)"),
    ("misclassified", "Misclassified test digits"),
    ("confusion_matrix", "Confusion matrix (test set)"),
    ("first_layer_weights", "First-layer weights as 28x28 images"),
]


def _percent(x):
    return f"{100 * x:.2f}%"


def _seed_range(seeds):
    return f"seeds {seeds[0]}-{seeds[-1]}"


def _median_and_range(mses):
    """``0.0731 (range 0.0126–0.1703)``."""
    return f"{np.median(mses):.4f} (range {min(mses):.4f}–{max(mses):.4f})"


def _tables(ctx):
    """The report's tables as (title, header, rows) — shared by Markdown and HTML."""
    m, c, d = ctx["metrics"], ctx["config"], ctx["dataset"]
    note = " (--quick: 3 epochs)" if ctx["quick"] else ""
    mses, seeds = ctx["regression_mses"], ctx["regression_seeds"]
    results = ("Results", ["", "nnscratch", "blog"], [
        ["MNIST train accuracy", _percent(m["train_accuracy"]),
         _percent(BLOG_ACCURACY["train_accuracy"])],
        ["MNIST test accuracy", _percent(m["test_accuracy"]),
         _percent(BLOG_ACCURACY["test_accuracy"])],
        ["MNIST test loss", f"{m['test_loss']:.4f}", "—"],
        *[[f"MSE of the {name} fit, median of {len(v)} seeds",
           _median_and_range(v),
           f"{BLOG_REGRESSION_MSE[name]:.4f}*"] for name, v in mses.items()],
    ])
    per_seed = ("Regression fits: MSE per seed", ["", *[f"seed {s}" for s in seeds], "median"],
                [[name, *[f"{x:.4f}" for x in v], f"{np.median(v):.4f}"]
                 for name, v in mses.items()])
    setup = ("Setup", ["", ""], [
        ["network", f"784-{'-'.join(map(str, c['hidden']))}-10, {c['activation']} hidden, "
                    "softmax head, cross-entropy"],
        ["training", f"{c['epochs']} epochs{note}, batch {c['batch_size']}, plain SGD, "
                     f"lr {c['lr']}, {c['dtype']}"],
        ["split", f"{d['split']}: {d['sizes']['train']:,} train / {d['sizes']['test']:,} test"],
        ["seed", str(ctx["seed"])],
        ["versions", ", ".join(f"{k} {v}" for k, v in ctx["versions"].items())],
    ])
    timing = ("Wall time", ["step", "seconds"],
              [[name, f"{t:.1f}"] for name, t in ctx["steps"].items()]
              + [["total", f"{ctx['total']:.1f}"]])
    return [results, per_seed, setup, timing]


def _footnote(ctx):
    """The note under the results: where the regression numbers of both columns come from."""
    seeds = ctx["regression_seeds"]
    return ("\\* The post publishes no MSE for its fits; the blog column holds the medians over "
            "5 seeds of the post's own code, as measured when this project was planned. Ours "
            f"are the medians over {_seed_range(seeds)} of the post's configuration (each "
            f"seed's MSE is in the next table); the regression figure shows seed {seeds[0]}.")


TITLE = "Build a Neural Network from Scratch — reproduced with nnscratch"


def render_markdown(ctx):
    """``report.md``."""
    lines = [f"# {TITLE}", ""]
    for title, header, rows in _tables(ctx):
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |",
                  "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
                  for row in rows]
        lines.append("")
        if title == "Results":
            lines += [_footnote(ctx), ""]
    lines += ["## Figures", ""]
    for key, caption in FIGURE_CAPTIONS:
        caption = caption.format(seed=ctx["seed"])
        if key in ctx["figures"]:
            lines += [f"### {caption}", "", f"![{caption}]({ctx['figures'][key]})", ""]
        elif key in ctx["skipped"]:
            lines += [f"### {caption}", "", f"Not drawn: {ctx['skipped'][key]}.", ""]
    return "\n".join(lines)


def render_html(ctx, out_dir):
    """``report.html``, with every figure embedded as a data URI."""
    e = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(TITLE)}</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em}"
             "img{max-width:100%}</style></head><body>", f"<h1>{e(TITLE)}</h1>"]
    for title, header, rows in _tables(ctx):
        parts.append(f"<h2>{e(title)}</h2><table><tr>"
                     + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in row) + "</tr>"
                  for row in rows]
        parts.append("</table>")
        if title == "Results":
            parts.append(f"<p><small>{e(_footnote(ctx).replace(chr(92), ''))}</small></p>")
    parts.append("<h2>Figures</h2>")
    for key, caption in FIGURE_CAPTIONS:
        caption = caption.format(seed=ctx["seed"])
        if key in ctx["figures"]:
            data = base64.b64encode((Path(out_dir) / ctx["figures"][key]).read_bytes())
            parts.append(f"<h3>{e(caption)}</h3><img alt='{e(caption)}' "
                         f"src='data:image/png;base64,{data.decode('ascii')}'>")
        elif key in ctx["skipped"]:
            parts.append(f"<h3>{e(caption)}</h3><p>Not drawn: {e(ctx['skipped'][key])}.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
