"""The ``nnscratch`` command line: argument parsing and printing only, no math.

Every subcommand is a function ``(args) -> exit status``. Expected failures (a missing file,
a bad option value, a corrupt model) end with one line on stderr and exit status 2.
"""

import argparse
import json
import os
import re
import sys
import warnings
from pathlib import Path

from ._version import __version__
from .data.pipeline import (
    EmptyRowWarning,
    NotUTF8Warning,
    RowIndexWarning,
    UnseenCategoryWarning,
)
from .errors import CheckpointWarning, DivergenceWarning, NNScratchError
from .params import BY_NAME, PARAMS, TEXT_ROWS, flag
from .validation import check_number

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a process killed by it
RUNS_ROOT = "runs"  # where train writes its runs, and where serve finds them


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are a single line (plus a pointer to --help)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# --- option types: each names what it expected ------------------------------------------
def _option_type(row):
    """An argparse type for a row of the hyper-parameter table: parse, then check."""
    def parse(text):
        try:
            return row.check(row.parse(text), row.flag)
        except ValueError:
            expected = ("comma-separated positive integers like 32,32" if row.kind == "sizes"
                        else row.expected)
            raise argparse.ArgumentTypeError(
                f"expected {expected}, got {text!r}{row.suggestion(text)}") from None
    parse.__name__ = row.name  # argparse names the type in some messages
    return parse


def _positive_int(text):
    """An integer >= 1 (options outside the table: --threads, --tsne-points, --workers)."""
    try:
        return check_number(int(text), "value", 1, integer=True)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None


def _positive_float(text):
    """A number > 0 (--temperature)."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _count(text):
    """An integer >= 0 (--checkpoint-every)."""
    try:
        return check_number(int(text), "value", 0, integer=True)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None


def _port(text):
    """A TCP port for --port: 0 (any free port) to 65535."""
    try:
        return check_number(int(text), "value", 0, 65535, integer=True)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535 (0: any "
                                         f"free port), got {text!r}") from None


def _percent(x):
    """An accuracy as printed everywhere: percent with two decimals."""
    return f"{100 * x:.2f}%"


# --- subcommands ------------------------------------------------------------------------
def _threads(args):
    """A context limiting the BLAS threads to ``--threads`` (no-op when not given)."""
    import contextlib

    if getattr(args, "threads", None) is None:
        return contextlib.nullcontext()
    import sklearn.manifold  # noqa: F401  (loads t-SNE's OpenMP runtime, so it is limited too)
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=args.threads)


def _bar(args):
    """Show progress bars unless --no-bar, or the output is not a terminal (a log file)."""
    return not args.no_bar and sys.stderr.isatty()


def _epoch_line(history):
    """One line per epoch where no progress bar is drawn (a log file)."""
    parts = [f"epoch {history.epochs}: train_loss {history.train_losses[-1]:.4f}"]
    for name, values in (("eval_loss", history.eval_losses), ("val_loss", history.val_losses)):
        if values:
            parts.append(f"{name} {values[-1]:.4f}")
    parts.append(f"{history.epoch_seconds[-1]:.1f} s")
    print(", ".join(parts), flush=True)


def cmd_train(args):
    """``nnscratch train``."""
    from .experiment import run_training
    from .recipes import make_config
    from .runs import check_out_dir, new_run_dir, staging_dir

    if args.resume is not None:
        return _resume_training(args)
    overrides = {row.name: getattr(args, row.name) for row in PARAMS if hasattr(args, row.name)}
    if overrides.get("data"):  # evaluate and predict find the table from any folder
        overrides["data"] = str(Path(overrides["data"]).resolve())
    recipe = args.recipe or (_data_recipe(overrides["data"]) if overrides.get("data")
                             else "blog")
    config = make_config(recipe, label=flag, **overrides)
    if args.out:
        out_dir = check_out_dir(args.out, force=args.force)
    else:
        out_dir = new_run_dir(label=Path(config["data"]).stem if config["data"]
                              else config["dataset"])
    every = 1 if args.checkpoint_every is None else args.checkpoint_every
    replacing = args.force and out_dir.is_dir() and any(out_dir.iterdir())

    def started(history):  # once the data and the settings are accepted, not before
        if every:
            print(f"Run folder: {out_dir}" + (f" (kept as it is until this run ends; it trains "
                                             f"in {staging_dir(out_dir)})" if replacing else "")
                  + f"; if stopped, 'nnscratch train --resume {out_dir}' continues it",
                  flush=True)

    bar = _bar(args)
    with _threads(args):
        result = run_training(config, data_dir=args.data_dir, out_dir=out_dir, bar=bar,
                              replace=args.force, checkpoint_every=every, threads=args.threads,
                              on_start=started, chosen=overrides,  # the flags given
                              on_epoch=None if bar or args.no_bar else _epoch_line)
    return _print_run(result.metrics, out_dir)


def _data_recipe(path):
    """The recipe for a --data path: images (a folder), text (a .txt file) or table."""
    from .data.text import is_text_file

    return "images" if Path(path).is_dir() else "text" if is_text_file(path) else "table"


def _resume_training(args):
    """``nnscratch train --resume RUN_DIR``: continue a run with its own configuration."""
    from .experiment import run_training
    from .params import check_config
    from .runs import RunFinishedError, find_unfinished

    given = [row.flag for row in PARAMS if hasattr(args, row.name)]
    given += [name for name, value in (("--recipe", args.recipe), ("--out", args.out),
                                       ("--force", args.force)) if value]
    if given:
        raise ValueError(f"--resume continues {args.resume} with its own configuration "
                         f"(its config.json); drop {given[0]}, or start a new run to train "
                         "with other settings")
    try:
        run = find_unfinished(args.resume)
    except RunFinishedError as exc:
        print(exc)
        return 0
    try:
        config = {**check_config({k: v for k, v in run.config.items() if k != "recipe"}),
                  "recipe": run.config.get("recipe", "blog")}
    except ValueError as exc:
        raise ValueError(f"--resume {run.out_dir}: its config.json is damaged ({exc})") \
            from None
    every = run.checkpoint_every if args.checkpoint_every is None else args.checkpoint_every
    if args.threads is not None and args.threads != run.threads:
        print(f"nnscratch train: warning: --threads {args.threads} differs from the run's own "
              f"({run.threads or 'every core'}): it will not end "
              "bit-identical to a run that was never stopped", file=sys.stderr, flush=True)
    args.threads = run.threads if args.threads is None else args.threads
    where = "" if run.work_dir == run.out_dir else \
        f" (the run that is to replace it, in {run.work_dir})"

    def started(history):  # once the run is locked and its checkpoint accepted, not before
        print(f"Resuming {run.out_dir}{where} with its own configuration", flush=True)

    bar = _bar(args)
    with _threads(args):
        result = run_training(config, data_dir=args.data_dir or run.data_dir,
                              out_dir=run.out_dir, bar=bar, checkpoint_every=every,
                              resume=run, on_start=started,
                              on_epoch=None if bar or args.no_bar else _epoch_line)
    done = result.history.resumed_from
    note = (f"resumed after epoch {done}" if done is not None else
            "no checkpoint had been written: trained from the start")
    return _print_run(result.metrics, run.out_dir, note)


def _print_run(m, out_dir, note=""):
    """The end of ``nnscratch train``: scores, epochs, where it was saved; the exit status."""
    notes = [note] if note else []
    if m["interrupted"]:
        notes.append("interrupted: model and history so far were saved")
    status = f" ({'; '.join(notes)})" if notes else ""
    if "test_accuracy" not in m and "train_r2" not in m:  # a language model
        scores = (f"Train loss: {m['train_loss']:.4f} nats per character\n"
                  f"Test loss: {m['test_loss']:.4f} nats per character")
    elif "test_accuracy" in m:
        scores = (f"Train accuracy: {_percent(m['train_accuracy'])}\n"
                  f"Test accuracy: {_percent(m['test_accuracy'])}")
    else:
        scores = (f"Train MSE: {m['train_loss']:.4g} (R^2 {m['train_r2']:.4f})\n"
                  f"Test MSE: {m['test_loss']:.4g} (R^2 {m['test_r2']:.4f})")
    print(f"{scores}\nEpochs: {m['epochs']} in {m['seconds']:.1f} s{status}\n"
          f"Saved to {out_dir}/")
    return EXIT_INTERRUPTED if m["interrupted"] else 0


def cmd_recipes(args):
    """``nnscratch recipes``."""
    from .recipes import RECIPE_SUMMARIES, RECIPES, recipe_settings

    names = [args.name] if args.name else list(RECIPES)
    if args.name and args.name not in RECIPES:
        raise ValueError(f"RECIPE must be one of {list(RECIPES)}, got {args.name!r}")
    for name in names:
        print(f"{name}: {RECIPE_SUMMARIES[name]}")
        if not args.name:
            continue
        rows = recipe_settings(name)
        width = max(len(flag(key)) for key, _, _ in rows)  # --label-smoothing: 17
        for key, value, differs in rows:
            print(f"  {flag(key):<{width}} {_shown(value):<12}"
                  f"{'  set by the recipe' if differs else ''}".rstrip())
    if not args.name:
        print("\n'nnscratch recipes NAME' lists a recipe's settings; options given to "
              "'nnscratch train --recipe NAME' override them.")
    return 0


def _load_model(path, *, language=False):
    """The model of a run folder or a model file (as MODEL on the command line); a language
    model only where the command takes one (``language``)."""
    from .language import LanguageModel
    from .runs import model_file
    from .serialization import load

    model = load(model_file(path))
    if isinstance(model, LanguageModel) and not language:
        raise ValueError(f"MODEL {path} is a language model (trained on a text file): "
                         "'nnscratch sample' writes new items with it, 'nnscratch evaluate' "
                         "gives its test loss")
    return model


def _evaluate_language(model, args):
    """``evaluate`` of a language model: its losses on the text it was trained on (or on
    --data FILE.txt, split the same way), in nats per character."""
    from .textrun import text_data_of, text_metrics

    if args.dataset or args.split:
        raise ValueError(f"MODEL {args.model} is a language model: --dataset and --split are "
                         "for MNIST and the digits; give --data FILE.txt, or nothing")
    data = text_data_of(model, args.data)
    report = {"model": model.describe(), "data": data.path, "sizes": data.sizes,
              **text_metrics(model, data), "unit": "nats per character"}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['model']}\non {data.path} ({data.sizes['train']:,} train / "
              f"{data.sizes['test']:,} test items)\n"
              f"Train loss: {report['train_loss']:.4f} nats per character\n"
              f"Test loss: {report['test_loss']:.4f} nats per character")
    return 0


def cmd_sample(args):
    """``nnscratch sample``: new items from a language model, one a line; those that are in
    the text it was trained on are marked."""
    from .textrun import text_data_of

    model = _load_model(args.model, language=True)
    from .language import LanguageModel

    if not isinstance(model, LanguageModel):
        raise ValueError(f"MODEL {args.model} is not a language model; 'nnscratch train --data "
                         "FILE.txt' trains one")
    items = model.sample(args.n, seed=args.seed, temperature=args.temperature)
    try:
        data = text_data_of(model)
        train, test = set(data.train_items), set(data.test_items)
    except (OSError, ValueError) as exc:
        print(f"nnscratch sample: warning: {' '.join(str(exc).split())}: the items are not "
              "marked", file=sys.stderr)
        train = test = set()
    for item in items:
        mark = " (in training set)" if item in train else " (in test set)" if item in test \
            else ""
        print(f"{item}{mark}")
    return 0


def _dataset_for(model, args):
    """The data set named on the command line, else the one the model was trained on (a
    user's table is read again, with the same split)."""
    from .data import load_dataset
    from .experiment import load_data

    config = model.metadata.get("config", {})
    if config.get("data") and not args.dataset:
        pipeline = model.pipeline if _is_image_model(model) else _table_pipeline(model)
        return load_data(config, pipeline=pipeline, progress=sys.stderr.isatty(),
                         log=_to_stderr)
    name = args.dataset or config.get("dataset", "mnist")
    split = args.split or config.get("split", "blog")
    return load_dataset(name, split=split, data_dir=args.data_dir, dtype=model.dtype,
                        progress=False)


def _table_pipeline(model):
    """The input pipeline of a model trained on a table (an identity one for a model file
    from before models carried theirs)."""
    from .data import TablePipeline

    if model.pipeline is not None:
        return model.pipeline
    described = model.metadata.get("metrics", {}).get("dataset", {})
    names = described.get("feature_names") or [f"x{j}" for j in range(model.input_size)]
    return TablePipeline.identity(names, target=described.get("target"))


def _is_table_model(model):
    """A model trained on a user's table (``train --data FILE``)."""
    return (getattr(model.pipeline, "kind", None) != "image"
            and bool(model.metadata.get("config", {}).get("data")))


def _is_image_model(model):
    """A model trained on a folder of images (it carries an image pipeline)."""
    return getattr(model.pipeline, "kind", None) == "image"


def _to_stderr(line):
    """Status lines of commands whose output may be JSON."""
    print(line, file=sys.stderr, flush=True)


def cmd_evaluate(args):
    """``nnscratch evaluate``."""
    from .evaluation import evaluate_classifier, evaluate_regressor, format_report
    from .language import LanguageModel

    model = _load_model(args.model, language=True)
    if isinstance(model, LanguageModel):
        return _evaluate_language(model, args)
    if args.data is not None:
        from .data import load_labelled_table
        from .data.folders import load_image_folder

        if args.dataset or args.split:
            raise ValueError("give --data or --dataset/--split, not both")
        if _is_image_model(model):
            data = load_image_folder(args.data, pipeline=model.pipeline, all_test=True,
                                     dtype=model.dtype, bar=sys.stderr.isatty(),
                                     log=_to_stderr)
        elif Path(args.data).is_dir():
            raise ValueError(f"--data {args.data}: a folder of images needs a model trained "
                             f"on images (nnscratch train --data DIR); MODEL {args.model} "
                             "was not")
        elif _is_table_model(model):
            data, left_out = load_labelled_table(model, args.data)
            if left_out:
                _to_stderr(f"--data {args.data}: {left_out:,} row(s) with an empty target "
                           "left out")
        else:
            raise ValueError(f"--data {args.data}: a table needs a model trained on a table "
                             f"(nnscratch train --data FILE); MODEL {args.model} was not "
                             "(--dataset and --split choose its test set)")
    else:
        data = _dataset_for(model, args)
    evaluate = evaluate_classifier if data.n_classes else evaluate_regressor
    report = evaluate(model, data)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def _predict_table(model, args):
    """``predict MODEL --csv FILE``: a predictions CSV in the user's labels, one row for each
    row of FILE (missing cells imputed as in training)."""
    from .data import table_outputs, write_predictions

    out = Path(args.out) if args.out else Path(args.csv).with_name(
        f"{Path(args.csv).stem}-predictions.csv")
    if out.exists() and not args.force:
        raise FileExistsError(f"--out {out} exists; choose another file or add --force")
    outputs, classes, target = table_outputs(model, args.csv)
    write_predictions(out, outputs, classes=classes, target=target)
    print(f"{len(outputs):,} predictions written to {out}")
    return 0


def _image_files(paths):
    """The image files named, a folder standing for every file in it (sorted)."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and
                            not p.name.startswith("."))
            if not inside:
                raise FileNotFoundError(f"IMAGE folder {path} holds no files")
            files += inside
        else:
            files.append(path)
    return files


def cmd_predict(args):
    """``nnscratch predict``: one line per image; an unreadable image gets its own line and
    the others are still predicted (exit status 1 at the end)."""
    import numpy as np

    from .images import ImageError, preprocess, save_prepared

    if bool(args.csv) == bool(args.images):
        raise ValueError("give IMAGE files (or folders) to classify, or --csv FILE, "
                         f"not {'both' if args.csv else 'neither'}")
    folder = args.save_prepared
    if folder is not None and Path(folder).exists() and not Path(folder).is_dir():
        raise ValueError(f"--save-prepared: expected a folder, got the file {folder}")
    model = _load_model(args.model)
    if args.csv:
        return _predict_table(model, args)
    if _is_image_model(model):
        return _predict_images(model, args)
    if model.input_size != 784:
        raise ValueError(f"MODEL {args.model} expects {model.input_size} inputs; predict needs "
                         "a 784-input MNIST model (28x28 images)")
    results, rows, failed = [], [], 0
    for path in _image_files(args.images):
        try:
            x = preprocess([path])
        except (ImageError, OSError) as exc:
            failed += 1
            print(f"nnscratch predict: error: {' '.join(str(exc).split())}", file=sys.stderr)
            continue
        p = model.predict_proba(x)[0]
        rows.append(x[0])
        result = {"image": str(path), "digit": int(np.argmax(p)),
                  "probabilities": [round(float(v), 6) for v in p]}
        results.append(result)
        if not args.json:
            top = np.argsort(p)[::-1][:3]
            alternatives = ", ".join(f"{d}: {_percent(p[d])}" for d in top)
            print(f"{path}: {result['digit']}  ({alternatives})", flush=True)
    if folder is not None and results:
        written = save_prepared(np.array(rows), [r["image"] for r in results], folder)
        for r, prepared in zip(results, written, strict=True):
            r["prepared"] = str(prepared)
        if not args.json:
            print("Prepared 28x28 inputs, as the network sees them: "
                  + ", ".join(r["prepared"] for r in results))
    if args.json:
        print(json.dumps(results, indent=2))
    if failed:
        print(f"nnscratch predict: {failed} of {failed + len(results)} images could not be "
              "read", file=sys.stderr)
    return 1 if failed else 0


def cmd_export(args):
    """``nnscratch export MODEL [--onnx OUT]``: the model as an ONNX file."""
    from .export import build_onnx, describe
    from .files import write_bytes
    from .runs import model_file

    # by default beside the model file: RUN/model.npz -> RUN/model.onnx
    out = Path(args.onnx) if args.onnx else model_file(args.model).with_suffix(".onnx")
    if out.is_dir():
        raise IsADirectoryError(f"--onnx {out} is a folder; give a file name such as "
                                f"{out / 'model.onnx'}")
    if out.exists() and not args.force:
        raise FileExistsError(f"--onnx {out} exists; choose another file or add --force")
    proto = build_onnx(_load_model(args.model), preprocess=not args.no_preprocess,
                       dtype=args.dtype)
    write_bytes(out, proto.SerializeToString())
    print(f"Wrote {out} (ONNX opset {proto.opset_import[0].version})")
    for line in describe(proto):
        print(f"  {line}")
    return 0


def _predict_images(model, args):
    """``predict`` with a model trained on a folder of images: each image prepared as in
    training (size, colour, scaling), one line each with the class name."""
    import numpy as np
    from PIL import Image

    from .data.folders import find_images

    pipeline = model.pipeline
    results, failed = [], 0
    folder = Path(args.save_prepared) if args.save_prepared else None
    for path in find_images(args.images):
        try:
            pixels = pipeline.image(path)
        except FileNotFoundError:  # said as a digit model's path says it (load_image)
            failed += 1
            print(f"nnscratch predict: error: image file not found: {path}", file=sys.stderr)
            continue
        except Exception as exc:  # Pillow raises many types on a non-image or damaged file
            failed += 1
            why = " ".join(str(exc).split()) or type(exc).__name__
            print(f"nnscratch predict: error: {path}: not an image Pillow can read ({why})",
                  file=sys.stderr)
            continue
        p = model.predict_proba(pipeline.scale(pixels[None], model.dtype))[0]
        best = int(np.argmax(p))
        result = {"image": str(path), "class": pipeline.classes[best],
                  "probabilities": {c: round(float(v), 6)
                                    for c, v in zip(pipeline.classes, p, strict=True)}}
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            prepared = folder / f"{path.stem}-{pipeline.height}x{pipeline.width}.png"
            Image.fromarray(pixels.reshape(pipeline.shape).squeeze(-1) if pipeline.channels == 1
                            else pixels.reshape(pipeline.shape)).save(prepared)
            result["prepared"] = str(prepared)
        results.append(result)
        if not args.json:
            top = np.argsort(p)[::-1][:3]
            alternatives = ", ".join(f"{pipeline.classes[k]}: {_percent(p[k])}" for k in top)
            print(f"{path}: {result['class']}  ({alternatives})", flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    if failed:
        print(f"nnscratch predict: {failed} of {failed + len(results)} images could not be "
              "read", file=sys.stderr)
    return 1 if failed else 0


def cmd_plot(args):
    """``nnscratch plot``."""
    from .plots import RUN_FIGURES
    from .report import plot_run

    run_dir = Path(args.run_dir)
    if run_dir.is_file():  # a run's model.npz stands for its folder
        run_dir = run_dir.parent
    skipped = {}
    paths = plot_run(run_dir, data_dir=args.data_dir, tsne_points=args.tsne_points,
                     on_skip=skipped.__setitem__)
    for name in RUN_FIGURES:
        if name in paths:
            print(f"{name}: {paths[name]}")
        elif name in skipped:
            print(f"{name}: not drawn: {skipped[name]}")
    return 0


def _elided(value, keep=6):
    """``value`` with every list longer than ``2 * keep`` cut to its first ``keep`` items and
    a count (a table's 146 feature names; ``info --json`` shows them all)."""
    if isinstance(value, dict):
        return {k: _elided(v, keep) for k, v in value.items()}
    if isinstance(value, list) and len(value) > 2 * keep:
        return [*value[:keep], f"... {len(value):,} in all"]
    return value


def cmd_info(args):
    """``nnscratch info``: what a model file holds, without loading the data."""
    from .architecture import format_network
    from .data.text import END
    from .runs import model_file
    from .serialization import LANGUAGE_VERSION, load, read_metadata

    path = model_file(args.model)
    meta = read_metadata(path)
    if args.json:
        print(json.dumps(meta, indent=2))
        return 0
    model = load(path)
    if meta["format_version"] == LANGUAGE_VERSION:
        print(f"{path}\n  architecture    {model.describe()}\n"
              f"  parameters      {model.n_parameters():,}\n"
              f"  vocabulary      {model.vocab.chars!r} and {END!r} (start/end), items up to "
              f"{model.vocab.max_length} characters")
    else:
        print(f"{path}\n  architecture    {format_network(model)}, hidden "
              f"{meta['hidden_activation']}, head {meta['head_activation']}, {meta['dtype']}, "
              f"dropout {meta['dropout']:g}, init {meta['init']}\n"
              f"  parameters      {model.n_parameters():,}")
    config, metrics = meta.get("config", {}), meta.get("metrics", {})
    if meta["format_version"] == LANGUAGE_VERSION:  # the options a text run reads
        config = {k: v for k, v in config.items() if k in TEXT_ROWS or k == "recipe"}
        config.pop("dataset", None)
        config.pop("split", None)
    else:  # leave out what did not shape this model
        unused = {"dataset", "split"} if config.get("data") else set()  # MNIST's choices
        if model.architecture is not None:  # its layers: no hidden sizes nor dropout rate
            unused |= {"hidden", "dropout"}
        config = {k: v for k, v in config.items() if k not in unused}
    if config:
        print("  config          " + " ".join(
            f"{flag(k) if k in BY_NAME else '--' + k} {_shown(v)}"
            for k, v in config.items() if v is not None))
    shown = {k: v for k, v in metrics.items() if k != "versions"}
    for key, value in shown.items():
        if key.endswith("accuracy") and isinstance(value, float):
            value = _percent(value)
        elif isinstance(value, float):
            value = f"{value:.4g}"
        elif isinstance(value, (dict, list)):
            value = json.dumps(_elided(value), ensure_ascii=False)
        elif value is None:  # e.g. best_epoch when no early stopping restored weights
            value = "none"
        print(f"  {key:<15} {value}")
    if _is_image_model(model):
        print(f"  inputs          {model.pipeline.summary()}")
        for what, how in model.pipeline.describe():
            print(f"    {what:<10}  {how}")
    elif model.pipeline is not None:
        print(f"  inputs          {model.pipeline.summary()}")
        width = max(len(name) for name, _ in model.pipeline.describe())
        for name, how in model.pipeline.describe():
            print(f"    {name:<{width}}  {how}")
    versions = metrics.get("versions") or {"nnscratch": meta["nnscratch_version"]}
    print("  versions        " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return 0


def cmd_sweep(args):
    """``nnscratch sweep``: run the sweep a configuration file describes."""
    from .runs import new_run_dir
    from .sweep import parse_config, read_config, run_sweep

    if args.resume and args.out:
        raise ValueError("give --resume OUT (to continue the sweep there) or --out DIR (for a "
                         "new one), not both")
    config = parse_config(read_config(args.config), seed=args.seed, where=str(args.config))
    out_dir = Path(args.resume or args.out or new_run_dir(label="sweep"))
    run_sweep(config, jobs=args.jobs, dask_scheduler=args.dask_scheduler, out_dir=out_dir,
              data_dir=args.data_dir, resume=args.resume is not None)
    return 0


def cmd_reproduce(args):
    """``nnscratch reproduce``."""
    from statistics import median

    from .report import BLOG_ACCURACY, BLOG_REGRESSION_MSE, reproduce

    try:
        with _threads(args):
            report = reproduce(args.out, quick=args.quick, data_dir=args.data_dir,
                               seed=args.seed, bar=_bar(args))
    except KeyboardInterrupt as exc:  # an interrupted reproduction is no reproduction
        detail = f": {exc}" if str(exc) else ""
        print(f"nnscratch reproduce: interrupted, no report written{detail}", file=sys.stderr)
        return EXIT_INTERRUPTED
    m = report["metrics"]
    print(f"MNIST train accuracy {_percent(m['train_accuracy'])}, test accuracy "
          f"{_percent(m['test_accuracy'])} (blog: {_percent(BLOG_ACCURACY['train_accuracy'])}, "
          f"{_percent(BLOG_ACCURACY['test_accuracy'])})")
    seeds = report["regression_seeds"]
    for name, mses in report["regression_mses"].items():
        print(f"MSE of the {name} fit: {median(mses):.4f} (median of seeds {seeds[0]}-"
              f"{seeds[-1]}, range {min(mses):.4f}–{max(mses):.4f}; the blog code's 5-seed "
              f"median: {BLOG_REGRESSION_MSE[name]:.4f})")
    print(f"Report: {report['markdown']}\n        {report['html']}")
    return 0


def _served_models(args):
    """The models ``serve`` offers: those named, else the runs under runs/, else a blog
    network trained now (and kept as a run). ``None`` when that training was interrupted."""
    from .runs import list_runs
    from .serve import Models, load_served_model, model_ids

    if args.models:  # named: each must load
        return Models(load_served_model(path, model_id) for path, model_id
                      in zip(args.models, model_ids(args.models), strict=True))
    served = []
    runs = list_runs(RUNS_ROOT)
    for path, model_id in zip(runs, model_ids(runs), strict=True):
        try:
            served.append(load_served_model(path, model_id, what="run"))
        except (NNScratchError, ValueError, OSError) as exc:  # found, not named: skip it
            print(f"nnscratch serve: warning: skipped {' '.join(str(exc).split())}",
                  file=sys.stderr)
    if served:
        return Models(served)
    run = _train_blog_run(args)
    if run is None:
        return None
    return Models([load_served_model(run, model_ids([run])[0])])


def _train_blog_run(args):
    """Train the blog's network into a new run folder (the path), as ``nnscratch train``
    does; None if Ctrl-C stopped it."""
    from .experiment import run_training
    from .recipes import make_config
    from .runs import new_run_dir

    out_dir = new_run_dir(RUNS_ROOT, label="mnist")
    print(f"nnscratch serve: no runs under {RUNS_ROOT}/ to serve: training the blog's network "
          f"once (15-20 s) into {out_dir}/", file=sys.stderr, flush=True)
    result = run_training(make_config("blog", label=flag), data_dir=args.data_dir,
                          out_dir=out_dir, bar=_bar(args), log=lambda *_: None,
                          on_epoch=None if _bar(args) else _epoch_line)
    m = result.metrics
    if m["interrupted"]:
        print(f"nnscratch serve: interrupted: training stopped after {m['epochs']} epochs "
              f"(the run so far is in {out_dir}/)", file=sys.stderr)
        return None
    print(f"Test accuracy: {_percent(m['test_accuracy'])}, {m['seconds']:.1f} s; saved to "
          f"{out_dir}/", flush=True)
    return out_dir


def cmd_serve(args):
    """``nnscratch serve``: the web app, until Ctrl-C."""
    from threadpoolctl import threadpool_limits

    from .serve import create_app
    from .serve.server import address, can_fork, is_loopback, open_socket, run

    cores = _available_cores()
    if args.workers is None:
        args.workers = cores if can_fork() else 1
    if args.workers > 1 and not can_fork():
        raise ValueError(f"--workers {args.workers}: several server processes need Linux; "
                         "use --workers 1")
    sock = open_socket(args.host, args.port)  # first: a port in use fails at once
    try:
        models = _served_models(args)
        if models is None:
            return EXIT_INTERRUPTED
        if not is_loopback(sock):
            print(f"nnscratch serve: warning: --host {args.host} lets every machine that can "
                  "reach this one use the app, with no password; use it only on a network you "
                  "trust (the default, 127.0.0.1, is this machine only)", file=sys.stderr)
        ids = [m.id for m in models]
        names = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
        print(f"Serving {len(ids)} model{'s' * (len(ids) > 1)} ({names}) at "
              f"{address(sock)}  (Ctrl-C stops)", flush=True)
        # One image at a time per request, and several requests at once: BLAS threads would
        # only compete with the request threads for the cores.
        with threadpool_limits(limits=1), _stop_on_sigterm():
            try:  # each process prepares its share of the cores' worth of inputs at a time
                run(create_app(models, workers=max(1, cores // args.workers)), sock,
                    processes=args.workers)
            except KeyboardInterrupt:  # Ctrl-C (or SIGTERM), raised once the server closed
                pass
    finally:
        sock.close()
    print("nnscratch serve: stopped", file=sys.stderr)
    return 0


def _available_cores():
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _stop_on_sigterm():
    """A context in which SIGTERM stops like Ctrl-C (a ``KeyboardInterrupt``)."""
    import contextlib
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return contextlib.nullcontext()

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed():
        previous = signal.signal(signal.SIGTERM, interrupt)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)

    return installed()


# --- the parser -------------------------------------------------------------------------
def _shown(value):
    """A value as typed on the command line."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "''"
    return "none" if value is None else str(value)


def _option_help(row):
    """A row's help: what it is, the blog's default, and what each recipe sets."""
    from .recipes import RECIPES

    by_recipe = "".join(f"; --recipe {name}: {_shown(values[row.name])}"
                        for name, values in RECIPES.items() if row.name in values)
    off = "; 'none' turns it off" if row.optional and by_recipe and not row.default_text \
        else ""
    text = f"{row.help} (default: {row.default_text or _shown(row.default)}{by_recipe}{off})"
    return text.replace("%", "%%")  # argparse formats help strings with %


def _add_data_dir(parser):
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="folder with the four MNIST files (default: $NNSCRATCH_DATA, the "
                        "repository's data/mnist, ~/.cache/nnscratch/mnist, then download)")


def _add_data_options(parser):
    """--dataset and --split for commands that read a saved model (default: the model's)."""
    for name in ("dataset", "split"):
        row = BY_NAME[name]
        parser.add_argument(row.flag, choices=row.choices, default=None,
                            help=f"{row.help} (default: the one the model was trained on)")
    _add_data_dir(parser)


def _add_train_parser(sub):
    from .recipes import RECIPES

    p = sub.add_parser(
        "train", help="train a network (default: the blog's MNIST experiment)",
        description="Train a network and write model.npz, metrics.json and history.csv into a "
        "run folder (and a checkpoint after every epoch, from which --resume continues a "
        "killed run exactly). Without options it runs the blog's experiment (784-32-32-10, "
        "96.66%); --recipe best reaches 98.80% (12-17 s on 2 cores), and 'nnscratch recipes' "
        "lists the others with what each reaches. Options override the recipe; 'nnscratch "
        "recipes NAME' lists what a recipe sets. With --data FILE.txt (one item a line) it "
        "trains a character-level language model (--arch transformer by default); 'nnscratch "
        "sample' then writes new items.")
    p.add_argument("--recipe", choices=list(RECIPES), default=None,
                   help="named configuration to start from (default: images with a --data "
                   "folder, text with a --data .txt file, table with another --data file, "
                   "else blog)")
    for row in PARAMS:
        metavar = {"int": "N", "float": "X", "sizes": "N,N", "names": "COL,COL",
                   "text": row.name.upper()}.get(row.kind)
        p.add_argument(row.flag, type=_option_type(row), default=argparse.SUPPRESS,
                       choices=row.choices, metavar=metavar, help=_option_help(row))
    _add_data_dir(p)
    p.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                   help="BLAS threads (default: all cores; with --resume: the run's own)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="run folder (default: a new folder under runs/)")
    p.add_argument("--force", action="store_true",
                   help="replace the --out folder if it exists (the old run is kept until "
                   "the new one ends, then deleted)")
    p.add_argument("--resume", metavar="RUN_DIR", default=None,
                   help="continue a stopped or killed run from its last checkpoint, with its "
                   "own configuration (no other training option may be given); it ends "
                   "exactly as if it had never stopped")
    p.add_argument("--checkpoint-every", type=_count, default=None, metavar="N",
                   help="write a checkpoint into the run folder every N epochs (and after "
                   "the last), for --resume; 0 writes none (default: 1; with --resume: the "
                   "run's own)")
    p.add_argument("--no-bar", action="store_true",
                   help="no progress bar, and no line per epoch (printed instead of the bar "
                   "when the output is not a terminal, e.g. a log file)")
    p.set_defaults(func=cmd_train)


_SWEEP_EPILOG = """\
example configuration (TOML):
  dataset = "digits"     # or "mnist" (split = "blog" | "standard")
  search = "grid"        # or "random" (n_iter = 8)
  metric = "accuracy"    # any scikit-learn scorer name
  cv = 3                 # folds, or val_split = 0.2 for one hold-out split
  [fixed]                # any option of 'nnscratch train' (or its scikit-learn name)
  epochs = 20
  [grid]
  hidden = [[32], [64, 32]]
  lr = [0.05, 0.1]

on a Dask cluster (pip install 'nnscratch[dask]'; nnscratch installed on every worker):
  dask scheduler                      # prints its address, e.g. tcp://10.0.0.5:8786
  dask worker tcp://10.0.0.5:8786     # on each machine
  nnscratch sweep sweep.toml --dask-scheduler tcp://10.0.0.5:8786
"""


def _add_sweep_parser(sub):
    p = sub.add_parser(
        "sweep", help="grid or random search over train options, locally or on Dask",
        description="Search over the options of 'nnscratch train': the candidates, folds and\n"
        "scores of scikit-learn's GridSearchCV / RandomizedSearchCV. Records each candidate in\n"
        "candidates.jsonl as it completes (so --resume continues a stopped sweep); writes\n"
        "results.csv (one row per candidate), best.json and best_model.npz (the best\n"
        "configuration refitted on the whole training set), and prints the best\n"
        "configuration and its test score.",
        epilog=_SWEEP_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", metavar="CONFIG", help="sweep configuration (.toml, or .yaml "
                   "with PyYAML)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="parallel fits on this machine, in joblib processes; -1 = every "
                   "core (default: 1; with --dask-scheduler, every worker)")
    p.add_argument("--dask-scheduler", metavar="ADDRESS", default=None,
                   help="run the fits on the dask.distributed cluster at ADDRESS, e.g. "
                   "tcp://10.0.0.5:8786 (needs nnscratch[dask])")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="output folder (default: a new folder runs/sweep-<time>)")
    p.add_argument("--resume", metavar="OUT", default=None,
                   help="continue the sweep in OUT (stopped, killed, or its machine lost): "
                   "run only the candidates its journal, candidates.jsonl, lacks; CONFIG and "
                   "--seed must be the sweep's own")
    _add_data_dir(p)
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the folds, the random search and every fit (overrides "
                   "the configuration's seed; default 0)")
    p.set_defaults(func=cmd_sweep)


def build_parser():
    """The argument parser of the ``nnscratch`` command."""
    parser = _Parser(prog="nnscratch", description="Neural networks from scratch in NumPy: "
                     "train the blog's MNIST network, evaluate it, use it on your images.")
    parser.add_argument("--version", action="version", version=f"nnscratch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_train_parser(sub)

    p = sub.add_parser("recipes", help="list the recipes, or the settings of one",
                       description="List the named configurations of 'nnscratch train "
                       "--recipe', or every setting of one of them.")
    p.add_argument("name", metavar="RECIPE", nargs="?", help="a recipe to show in full")
    p.set_defaults(func=cmd_recipes)

    model_help = "a run folder written by nnscratch train, or its model.npz"
    p = sub.add_parser("evaluate", help="accuracy, per-class scores and confusion matrix",
                       description="Evaluate a saved model on the test part of a data set "
                       "(default: the one it was trained on), on every image of a folder "
                       "of class folders (--data DIR), or on every row of a labelled table "
                       "(--data FILE).")
    p.add_argument("model", metavar="MODEL", help=model_help)
    _add_data_options(p)
    p.add_argument("--data", metavar="PATH", default=None,
                   help="a folder of images, one subfolder per class named as the model's "
                   "classes: evaluate on every image in it (a model trained on images); a "
                   "table file with the model's columns and its target: evaluate on every "
                   "row (a model trained on a table); or, for a language model, a text file "
                   "split as in training (default: the data it was trained on)")
    p.add_argument("--json", action="store_true", help="print JSON (a language model's: "
                   "train_loss, test_loss in nats per character)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("sample", help="new items from a language model, one a line",
                       description="Write new items (names, words) with a language model "
                       "trained on a text file (nnscratch train --data FILE.txt), one a line, "
                       "drawn one character at a time. An item that is in the training file "
                       "is marked '(in training set)' (or '(in test set)').")
    p.add_argument("model", metavar="MODEL", help=model_help + " (a language model)")
    p.add_argument("-n", type=_positive_int, default=20, metavar="N",
                   help="how many items (default: 20)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the draws: the same seed writes the same items (default: 0)")
    p.add_argument("--temperature", type=_positive_float, default=1.0, metavar="X",
                   help="divides the logits: below 1 more common items, above 1 stranger "
                   "ones (default: 1)")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("predict", help="classify images (PNG, JPEG, ...) or a table's rows",
                       description="Classify images with a model trained on a folder of "
                       "images (nnscratch train --data DIR): each is prepared as in training "
                       "(resized, colour or grey, scaled) and its class name printed. With an "
                       "MNIST model, images of handwritten digits (photos of paper "
                       "too), prepared the way MNIST was made: the paper and its lighting "
                       "removed, light ink on black, cropped to the digit's strokes, scaled "
                       "into 20x20 and centred by mass in 28x28. Or, with --csv, the rows of "
                       "a table for a model trained with --data FILE.")
    p.add_argument("model", metavar="MODEL", help=model_help + " (trained on images, or a "
                   "784-input MNIST model)")
    p.add_argument("images", metavar="IMAGE", nargs="*",
                   help="image files, or folders (every file in them)")
    p.add_argument("--json", action="store_true",
                   help='print [{"image", "digit", "probabilities"}, ...] as JSON')
    p.add_argument("--save-prepared", metavar="DIR", default=None,
                   help="also write each prepared input (white ink on black, as the network "
                   "sees it) as DIR/<stem>-28x28.png, <stem> being the image's name without "
                   "its extension")
    p.add_argument("--csv", metavar="FILE", default=None,
                   help="predict every row of a CSV table with the columns the model was "
                   "trained on (nnscratch train --data), instead of images")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="where --csv writes its predictions (default: FILE-predictions.csv "
                   "beside it)")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("export", help="write the model as an ONNX file for other runtimes",
                       description="Write MODEL as an ONNX graph (opset 17, any batch size) "
                       "that onnxruntime and other runtimes run. The graph takes what you have "
                       "in hand: raw pixel values 0-255 for an MNIST model, a table's columns "
                       "for a model trained with --data (imputed, standardised and one-hot "
                       "encoded in the graph, as in training). Needs the onnx package: "
                       "pip install 'nnscratch[onnx]'.")
    p.add_argument("model", metavar="MODEL", help=model_help)
    p.add_argument("--onnx", metavar="OUT",
                   help="the .onnx file to write, whole or not at all (default: beside the "
                   "model file, RUN/model.onnx)")
    p.add_argument("--force", action="store_true", help="replace an existing OUT file")
    p.add_argument("--no-preprocess", action="store_true",
                   help="export the network alone: the graph then takes the rows the network "
                   "takes (pixels scaled into [0, 1], a table's encoded features)")
    p.add_argument("--dtype", choices=("float32", "float64"), default=None,
                   help="the graph's floating-point type (default: the model's; onnxruntime "
                   "runs no float64 convolution)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("plot", help="draw the figures of a finished run",
                       description="Draw the figures of a run folder (model.npz, history.csv, "
                       "metrics.json) into RUN_DIR/figures/.")
    p.add_argument("run_dir", metavar="RUN", help="a run folder, or its model.npz")
    _add_data_dir(p)
    p.add_argument("--tsne-points", type=_positive_int, default=3000,
                   help="points in the t-SNE plots (default: 3000)")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("info", help="what a model file holds: architecture, config, metrics",
                       description="Print a model's architecture, parameter count, training "
                       "configuration, metrics and library versions, as stored in its file.")
    p.add_argument("model", metavar="MODEL", help=model_help)
    p.add_argument("--json", action="store_true", help="print the stored metadata as JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("reproduce", help="run the whole blog post and write a report",
                       description="Run the blog end to end (activations, regression fits, "
                       "the MNIST experiment, every figure) and write report.md and a "
                       "self-contained report.html with our numbers beside the blog's.")
    p.add_argument("--out", metavar="DIR", default="reports/latest",
                   help="report folder (default: reports/latest)")
    p.add_argument("--quick", action="store_true",
                   help="3 epochs and fewer t-SNE points: the whole run in well under a minute")
    _add_data_dir(p)
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="BLAS threads (default: all cores)")
    p.add_argument("--no-bar", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_reproduce)

    _add_sweep_parser(sub)

    p = sub.add_parser(
        "serve", help="a local web app: draw a digit and watch the network read it",
        description="Start a web app (on this machine only, by default) where you draw a "
        "digit or drop an image (an MNIST model), or upload a picture (a model trained on a "
        "folder of images), and see the probabilities, the input the network receives and "
        "every hidden layer's activations; the page's JSON API is described in "
        "docs/api.md. Without MODEL it serves the runs under runs/, and with none there it "
        "first trains the blog's network (15-20 s) and keeps it there.")
    p.add_argument("models", metavar="MODEL", nargs="*",
                   help=model_help + " (a classifier of 28x28 digits, or one trained on a "
                   "folder of images); several give a choice on the page")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only; "
                   "0.0.0.0 is every network, with a warning)")
    p.add_argument("--port", type=_port, default=8000,
                   help="port to listen on (default: 8000; 0 picks a free one)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="server processes, each answering on its own core (default: one per "
                   "core on Linux, else 1)")
    _add_data_dir(p)
    p.add_argument("--no-bar", action="store_true",
                   help="no progress bar when it has to train a network first")
    p.set_defaults(func=cmd_serve)
    return parser


def _one_line_warnings(command):
    """A ``warnings.showwarning`` that prints ``nnscratch COMMAND: warning: ...``."""
    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        if command == "train":  # name the options that change it
            text = text.replace("the learning rate,", "the learning rate (--lr),").replace(
                "clip the gradients", "clip the gradients (--clip N)")
        print(f"nnscratch {command}: warning: {text}", file=sys.stderr)
    return show


def _as_flags(message, parser, command):
    """An error from the library, in the command line's words: the argument names of the
    options the user typed become their flags (``val_split`` -> ``--val-split``)."""
    sub = parser._subparsers._group_actions[0].choices[command]  # argparse keeps no public map
    for action in sub._actions:
        if not action.option_strings or action.dest in ("help", "version"):
            continue
        option = action.option_strings[-1]
        if "_" in action.dest:  # unmistakable: data_dir, val_split, batch_size
            message = re.sub(rf"(?<![\w-]){action.dest}\b", option, message)
        else:  # a plain word (jobs, seed): only as the subject of the message, or as name=
            message = re.sub(rf"^{action.dest}(?= must\b)|(?<![\w-]){action.dest}(?==)",
                             option, message)
    return message


def main(argv=None):
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", DivergenceWarning)
            warnings.simplefilter("always", CheckpointWarning)
            warnings.simplefilter("always", UnseenCategoryWarning)  # once each, by the pipeline
            warnings.simplefilter("always", EmptyRowWarning)
            warnings.simplefilter("always", RowIndexWarning)
            warnings.simplefilter("always", NotUTF8Warning)
            warnings.showwarning = _one_line_warnings(args.command)
            return args.func(args)
    except BrokenPipeError:  # e.g. `nnscratch evaluate m.npz | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (NNScratchError, ValueError, TypeError, OSError) as exc:
        # OSError covers a missing or unreadable file, a folder given for a file, a full disk
        message = str(exc) or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in message:
            message = f"{message}: {exc.filename}"
        message = _as_flags(" ".join(message.split()), parser, args.command)
        print(f"nnscratch {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"nnscratch {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
