"""The ``nnscratch`` command line: argument parsing and printing only, no math.

Every subcommand is a function ``(args) -> exit status``. Expected failures (a missing file,
a bad option value, a corrupt model) end with one line on stderr and exit status 2.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from . import __version__
from .errors import NNScratchError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a process killed by it


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are a single line (plus a pointer to --help)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# --- option types: each names what it expected ------------------------------------------
def _checked(convert, ok, expected):
    """An argparse type: ``convert`` the text, then require ``ok(value)``."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    return parse


_positive_int = _checked(int, lambda v: v >= 1, "a positive integer")
_non_negative_int = _checked(int, lambda v: v >= 0, "an integer >= 0")
_positive_float = _checked(float, lambda v: 0 < v < float("inf"), "a positive finite number")
_non_negative_float = _checked(float, lambda v: 0 <= v < float("inf"),
                               "a finite number >= 0")
_fraction = _checked(float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def _sizes(text):
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers like 32,32, got {text!r}") from None
    if not all(size > 0 for size in sizes):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers like 32,32, got {text!r}")
    return sizes


# --- subcommands ------------------------------------------------------------------------
def _threads(args):
    """A context limiting the BLAS threads to ``--threads`` (no-op when not given)."""
    import contextlib

    if getattr(args, "threads", None) is None:
        return contextlib.nullcontext()
    import sklearn.manifold  # noqa: F401  (loads t-SNE's OpenMP runtime, so it is limited too)
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=args.threads)


def cmd_train(args):
    """``nnscratch train``."""
    from .experiment import make_config, new_run_dir, run_training

    config = make_config(
        args.recipe, dataset=args.dataset, split=args.split, hidden=args.hidden,
        activation=args.activation, epochs=args.epochs, batch_size=args.batch_size,
        lr=args.lr, optimizer=args.optimizer, momentum=args.momentum,
        weight_decay=args.weight_decay, dropout=args.dropout, schedule=args.schedule,
        warmup=args.warmup, init=args.init, val_split=args.val_split, patience=args.patience,
        clip=args.clip, seed=args.seed, dtype=args.dtype)
    out_dir = Path(args.out) if args.out else new_run_dir(label=config["dataset"])
    with _threads(args):
        result = run_training(config, data_dir=args.data_dir, out_dir=out_dir,
                              bar=not args.no_bar)
    m = result.metrics
    status = " (interrupted: model and history so far were saved)" if m["interrupted"] else ""
    print(f"Train accuracy: {m['train_accuracy']:.4f}\nTest accuracy: {m['test_accuracy']:.4f}"
          f"\nEpochs: {m['epochs']} in {m['seconds']:.1f} s{status}\nSaved to {out_dir}/")
    return EXIT_INTERRUPTED if m["interrupted"] else 0


def _dataset_for(model, args):
    """The data set named on the command line, else the one the model was trained on."""
    from .data import load_dataset

    config = getattr(model, "metadata", {}).get("config", {})
    name = args.dataset or config.get("dataset", "mnist")
    split = args.split or config.get("split", "blog")
    dtype = model.dtype
    return load_dataset(name, split=split, data_dir=args.data_dir, dtype=dtype,
                        progress=False)


def cmd_evaluate(args):
    """``nnscratch evaluate``."""
    from .evaluation import evaluate_classifier, format_report
    from .serialization import load

    model = load(args.model)
    data = _dataset_for(model, args)
    report = evaluate_classifier(model, data)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def cmd_predict(args):
    """``nnscratch predict``."""
    import numpy as np

    from .images import preprocess, save_prepared
    from .serialization import load

    folder = args.save_prepared
    if folder is not None and Path(folder).exists() and not Path(folder).is_dir():
        raise ValueError(f"--save-prepared: expected a folder, got the file {folder}")
    model = load(args.model)
    if model.input_size != 784:
        raise ValueError(f"{args.model} expects {model.input_size} inputs; predict needs a "
                         "784-input MNIST model (28x28 images)")
    X = preprocess(args.images)
    proba = model.predict_proba(X)
    results = [{"image": str(path), "digit": int(np.argmax(p)),
                "probabilities": [round(float(v), 6) for v in p]}
               for path, p in zip(args.images, proba, strict=True)]
    if folder is not None:
        for r, path in zip(results, save_prepared(X, args.images, folder), strict=True):
            r["prepared"] = str(path)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            top = np.argsort(r["probabilities"])[::-1][:3]
            alternatives = ", ".join(f"{d}: {r['probabilities'][d]:.1%}" for d in top)
            print(f"{r['image']}: {r['digit']}  ({alternatives})")
        if folder is not None:
            print("Prepared 28x28 inputs, as the network sees them: "
                  + ", ".join(r["prepared"] for r in results))
    return 0


def cmd_plot(args):
    """``nnscratch plot``."""
    from .report import plot_run

    paths = plot_run(args.run_dir, data_dir=args.data_dir, tsne_points=args.tsne_points)
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


def cmd_reproduce(args):
    """``nnscratch reproduce``."""
    from .report import reproduce

    with _threads(args):
        report = reproduce(args.out, quick=args.quick, data_dir=args.data_dir, seed=args.seed,
                           bar=not args.no_bar)
    m = report["metrics"]
    print(f"MNIST train accuracy {m['train_accuracy']:.2%}, test accuracy "
          f"{m['test_accuracy']:.2%} (blog: 99.45%, 96.66%)")
    for name, mse in report["fits"]:
        print(f"MSE of the {name} fit: {mse:.4f}")
    print(f"Report: {report['markdown']}\n        {report['html']}")
    return 0


# --- the parser -------------------------------------------------------------------------
def _add_data_options(parser, default_hint=""):
    parser.add_argument("--dataset", choices=["mnist", "digits"], default=None,
                        help="data set (default: mnist" + default_hint + ")")
    parser.add_argument("--split", choices=["blog", "standard"], default=None,
                        help="'blog': 56,000/14,000 as in the post; 'standard': 60,000/10,000"
                        " (default: blog" + default_hint + ")")
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="folder with the four MNIST files (default: $NNSCRATCH_DATA, the "
                        "repository's data/mnist, ~/.cache/nnscratch/mnist, then download)")


def build_parser():
    """The argument parser of the ``nnscratch`` command."""
    from .experiment import DEFAULTS, RECIPES

    parser = _Parser(prog="nnscratch", description="Neural networks from scratch in NumPy: "
                     "train the blog's MNIST network, evaluate it, use it on your images.")
    parser.add_argument("--version", action="version", version=f"nnscratch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    d = DEFAULTS
    p = sub.add_parser("train", help="train a network (default: the blog's MNIST experiment)",
                       description="Train a network and write model.npz, metrics.json and "
                       "history.csv into a run folder. Defaults are the blog's experiment; "
                       "--recipe best is our >= 98.6%% recipe. Options override the recipe.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--recipe", choices=sorted(RECIPES), default="blog",
                   help="named configuration to start from")
    _add_data_options(p)
    p.add_argument("--hidden", type=_sizes, default=None, metavar="N,N",
                   help=f"hidden layer widths (blog: {','.join(map(str, d['hidden']))})")
    p.add_argument("--activation", choices=["relu", "tanh", "sigmoid", "identity"],
                   default=None, help=f"hidden activation (blog: {d['activation']})")
    p.add_argument("--epochs", type=_non_negative_int, default=None,
                   help=f"passes over the training data (blog: {d['epochs']})")
    p.add_argument("--batch-size", type=_positive_int, default=None,
                   help=f"minibatch size (blog: {d['batch_size']})")
    p.add_argument("--lr", type=_positive_float, default=None,
                   help=f"learning rate (blog: {d['lr']})")
    p.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], default=None,
                   help="optimizer (blog: sgd)")
    p.add_argument("--momentum", type=_fraction, default=None,
                   help="SGD momentum, Nesterov when > 0 (blog: 0)")
    p.add_argument("--weight-decay", type=_non_negative_float, default=None,
                   help="L2 penalty for sgd/adam, decoupled decay for adamw (blog: 0)")
    p.add_argument("--dropout", type=_fraction, default=None,
                   help="dropout rate after each hidden layer (blog: 0)")
    p.add_argument("--schedule", choices=["constant", "step", "cosine"], default=None,
                   help="learning-rate schedule (blog: constant)")
    p.add_argument("--warmup", type=_non_negative_int, default=None,
                   help="linear warm-up epochs for the cosine schedule (blog: 0)")
    p.add_argument("--init", choices=["normal", "he", "glorot"], default=None,
                   help="weight initialiser (blog: normal, N(0, 1/fan_in))")
    p.add_argument("--val-split", type=_fraction, default=None,
                   help="fraction of the training data held out for validation (blog: 0)")
    p.add_argument("--patience", type=_positive_int, default=None,
                   help="early stopping: epochs without a better validation loss (needs "
                   "--val-split)")
    p.add_argument("--clip", type=_positive_float, default=None,
                   help="clip the global gradient norm to this value")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: 0)")
    p.add_argument("--dtype", choices=["float32", "float64"], default=None,
                   help="floating-point type (default: float32)")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="BLAS threads (default: all cores)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="run folder (default: a new folder under runs/)")
    p.add_argument("--no-bar", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="accuracy, per-class scores and confusion matrix",
                       description="Evaluate a saved model on the test part of a data set "
                       "(default: the one it was trained on).")
    p.add_argument("model", metavar="MODEL", help="a model.npz written by nnscratch train")
    _add_data_options(p, default_hint=", or the model's own")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="classify digit images (PNG, JPEG, ...)",
                       description="Classify images of handwritten digits (photos of paper "
                       "too), prepared the way MNIST was made: the paper and its lighting "
                       "removed, light ink on black, cropped to the digit's strokes, scaled "
                       "into 20x20 and centred by mass in 28x28.")
    p.add_argument("model", metavar="MODEL", help="a 784-input model.npz")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="image files")
    p.add_argument("--json", action="store_true",
                   help='print [{"image", "digit", "probabilities"}, ...] as JSON')
    p.add_argument("--save-prepared", metavar="DIR", default=None,
                   help="also write each prepared input (white ink on black, as the network "
                   "sees it) as DIR/<stem>-28x28.png, <stem> being the image's name without "
                   "its extension")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("plot", help="draw the figures of a finished run",
                       description="Draw the figures of a run folder (model.npz, history.csv, "
                       "metrics.json) into RUN_DIR/figures/.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by nnscratch train")
    p.add_argument("--data-dir", metavar="DIR", default=None, help="folder with the MNIST files")
    p.add_argument("--tsne-points", type=_positive_int, default=3000,
                   help="points in the t-SNE plots (default: 3000)")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("reproduce", help="run the whole blog post and write a report",
                       description="Run the blog end to end (activations, regression fits, "
                       "the MNIST experiment, every figure) and write report.md and a "
                       "self-contained report.html with our numbers beside the blog's.")
    p.add_argument("--out", metavar="DIR", default="reports/latest",
                   help="report folder (default: reports/latest)")
    p.add_argument("--quick", action="store_true",
                   help="3 epochs and fewer t-SNE points: the whole run in well under a minute")
    p.add_argument("--data-dir", metavar="DIR", default=None, help="folder with the MNIST files")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="BLAS threads (default: all cores)")
    p.add_argument("--no-bar", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_reproduce)

    try:
        from . import sweep
    except ImportError:  # pragma: no cover - the sweep module is part of the package
        sweep = None
    if sweep is not None:
        sweep.register(sub)
    return parser


def main(argv=None):
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. `nnscratch evaluate m.npz | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (NNScratchError, ValueError, TypeError, OSError) as exc:
        # OSError covers a missing or unreadable file, a folder given for a file, a full disk
        message = str(exc) or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in message:
            message = f"{message}: {exc.filename}"
        print(f"nnscratch {args.command}: error: {' '.join(message.split())}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"nnscratch {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
