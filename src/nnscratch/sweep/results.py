"""A sweep's results: one row per candidate, the printed table, and the files written."""

import json
import math
from pathlib import Path

import numpy as np

from ..files import write_text
from ..jsonable import to_json
from ..runs import csv_text
from ..serialization import save


def results_rows(cv_results, metric, names=None):
    """One dict per candidate, best rank first: rank, the options (under ``names``, the
    configuration's names for them), score mean/std, per-split scores, times, and the error
    of a candidate that failed to fit ('' otherwise)."""
    names = names or {}
    n = len(cv_results["params"])
    n_splits = sum(1 for k in cv_results if k.startswith("split") and k.endswith("_test_score"))
    rows = []
    for i in range(n):
        row = {"rank": int(cv_results["rank_test_score"][i])}
        row.update({names.get(k, k): to_json(v) for k, v in cv_results["params"][i].items()})
        row[f"mean_{metric}"] = _number(cv_results["mean_test_score"][i])
        row[f"std_{metric}"] = _number(cv_results["std_test_score"][i])
        for s in range(n_splits):
            row[f"split{s}_{metric}"] = _number(cv_results[f"split{s}_test_score"][i])
        row["mean_fit_seconds"] = round(float(cv_results["mean_fit_time"][i]), 4)
        row["std_fit_seconds"] = round(float(cv_results["std_fit_time"][i]), 4)
        row["fit_error"] = str(cv_results.get("fit_error", [""] * n)[i])
        rows.append(row)
    return sorted(rows, key=lambda r: r["rank"])


def _number(value):
    """A float for CSV/JSON; NaN (a failed fit) becomes None."""
    value = float(value)
    return value if math.isfinite(value) else None


def score(value, metric):
    """A score as printed: accuracies in percent with two decimals, as everywhere else."""
    return f"{100 * value:.2f}%" if metric.endswith("accuracy") else f"{value:.4f}"


def format_params(params):
    """``name=value`` pairs in the configuration's order, values as JSON."""
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in params.items())


def format_table(rows, metric, names, limit=20):
    """The candidates as an aligned text table (the best ``limit`` of them)."""
    header = ["rank", f"mean {metric}", "std", *names, "fit s"]
    body = [[str(r["rank"]),
             "failed" if r[f"mean_{metric}"] is None else score(r[f"mean_{metric}"], metric),
             "" if r[f"std_{metric}"] is None else score(r[f"std_{metric}"], metric),
             *(_cell(r[n]) for n in names), f"{r['mean_fit_seconds']:.2f}"]
            for r in rows[:limit]]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
             for line in [header, *body]]
    if len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more in results.csv")
    return "\n".join(lines)


def _cell(value):
    """A short table cell: floats to 4 significant digits, lists as ``[64, 32]``."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return value if isinstance(value, str) else json.dumps(value)


def failures(rows, names):
    """One line per candidate that failed to fit: its options and its error."""
    return [f"candidate {format_params({n: r[n] for n in names})} failed: {r['fit_error']}"
            for r in rows if r["fit_error"]]


def train_config(estimator, config):
    """The ``nnscratch train`` configuration of a fitted estimator (to rerun it by hand)."""
    params = estimator.check_params(np.float32)
    return {**params, "dataset": config.dataset, "split": config.split, "data": config.data,
            "target": config.target, "task": config.task, "seed": config.seed}


def config_json(config):
    """The sweep configuration as JSON, under the file's names (a distribution as its name
    and bounds)."""
    def named(table):
        return {config.names.get(k, k): to_json(v) for k, v in table.items()}

    return {"dataset": config.dataset, "split": config.split, "data": config.data,
            "target": config.target, "task": config.task, "drop": config.drop,
            "scale": config.scale, "search": config.search,
            "n_iter": config.n_iter, "metric": config.metric, "cv": config.cv,
            "val_split": config.val_split, "train_samples": config.train_samples,
            "seed": config.seed, "fixed": named(config.fixed), "grid": named(config.grid)}


def write_results(out_dir, rows, summary, best_estimator):
    """Write ``results.csv``, ``best.json`` and ``best_model.npz`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "results.csv", csv_text(rows, rows[0]))
    write_text(out_dir / "best.json", json.dumps(summary, indent=2) + "\n")
    metric = summary["metric"]
    network = best_estimator.network_
    if getattr(best_estimator, "out_activation_", None) == "logistic" and \
            network.output_size == 1:  # a binary classifier: saved as nnscratch train's
        network = network.binary_as_softmax()
    save(network, out_dir / "best_model.npz", config=summary["train_config"],
         metrics={f"cv_{metric}": summary["best_score"], f"cv_{metric}_std": summary["best_std"],
                  f"test_{metric}": summary["test_score"]})
    return out_dir
