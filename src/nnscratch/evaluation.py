"""Evaluating a trained network: a classifier's accuracy, per-class scores and confusion
matrix; a regressor's mean squared error and R^2.

The numbers come from :mod:`sklearn.metrics`; this module only gathers and formats them.
"""

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix


def evaluate_classifier(model, data):
    """Scores of ``model`` on the test part of ``data``.

    Parameters
    ----------
    model : NeuralNetwork
        With a softmax head and ``data.n_features`` inputs.
    data : Dataset
        A classification data set (integer labels).

    Returns
    -------
    dict
        ``accuracy``, ``per_class`` (precision, recall, F1 and support per label, from
        ``classification_report``), ``macro_avg``, ``weighted_avg``, ``confusion_matrix``
        (rows: true label, columns: predicted) and the data set's name, split and size.
    """
    if data.n_features != model.input_size:
        raise ValueError(f"the {data.name} data set has {data.n_features} features; the "
                         f"model expects {model.input_size}")
    y_true = data.y_test
    y_pred = model.predict(data.X_test)
    labels = np.arange(model.output_size)
    report = classification_report(y_true, y_pred, labels=labels, output_dict=True,
                                   zero_division=0)
    names = [str(c) for c in data.classes] if data.classes is not None else \
        [str(k) for k in labels]
    return {
        "dataset": {"name": data.name, "split": data.split, "n_test": len(y_true)},
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "per_class": {name: report[str(k)] for k, name in zip(labels, names, strict=True)},
        "macro_avg": report["macro avg"],
        "weighted_avg": report["weighted avg"],
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def evaluate_regressor(model, data):
    """Mean squared error and R^2 of ``model`` on the test part of ``data``, per output."""
    from sklearn.metrics import mean_squared_error, r2_score

    y_true = data.y_test.reshape(len(data.y_test), -1)
    y_pred = model.predict(data.X_test).reshape(len(y_true), -1)
    return {"dataset": {"name": data.name, "split": data.split, "n_test": len(y_true)},
            "mse": float(mean_squared_error(y_true, y_pred)),
            "r2": float(r2_score(y_true, y_pred))}


def format_report(report):
    """The evaluation as a text table."""
    d = report["dataset"]
    if "mse" in report:
        return (f"{d['name']} ({d['split']} split), {d['n_test']:,} test samples\n"
                f"mean squared error: {report['mse']:.4g}\nR^2: {report['r2']:.4f}")
    side = max(8, *(len(name) for name in report["per_class"]))
    lines = [f"{d['name']} ({d['split']} split), {d['n_test']:,} test samples",
             f"accuracy: {100 * report['accuracy']:.2f}%", "",
             f"{'class':>{side}} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}"]
    rows = [*report["per_class"].items(), ("macro", report["macro_avg"]),
            ("weighted", report["weighted_avg"])]
    for name, r in rows:
        lines.append(f"{name:>{side}} {r['precision']:9.4f} {r['recall']:9.4f} "
                     f"{r['f1-score']:9.4f} {int(r['support']):8d}")
    matrix = report["confusion_matrix"]
    digits = len(str(len(matrix) - 1))  # of the largest class number
    width = max(digits, *(len(str(v)) for row in matrix for v in row)) + 1
    names = list(report["per_class"])
    named = names != [str(i) for i in range(len(matrix))]
    # "0 flower" / "1 stripes": the numbers (the columns' headers) in one column, names after
    rows = [f"{i:>{digits}} {name}" if named else str(i) for i, name in enumerate(names)]
    pad = max(4, *(len(r) for r in rows))
    align = "<" if named else ">"
    lines += ["", "confusion matrix (rows: true, columns: predicted)",
              " " * (pad + 1) + "".join(f"{j:>{width}}" for j in range(len(matrix)))]
    lines += [f"{r:{align}{pad}} " + "".join(f"{v:>{width}}" for v in row)
              for r, row in zip(rows, matrix, strict=True)]
    return "\n".join(lines)
