"""The hyper-parameters of a training run: one table, and the checks that come from it.

Each :class:`Param` row names a hyper-parameter once: its name in a run configuration and on
the command line (``lr``, ``--lr``), its scikit-learn name (``learning_rate_init``), its kind,
default, range or choices (read from the registries of activations, optimizers, schedules and
initialisers) and its help text. From this table come the ``nnscratch train`` options, the
checks of :func:`check_config`, the keys a recipe or a sweep may set, the estimators'
parameter names, and the ``config`` stored in ``model.npz`` and ``metrics.json``.

Adding a hyper-parameter is adding a row here and writing the code that uses it.
"""

import difflib
import math
from dataclasses import dataclass

from .activations import ACTIVATIONS
from .architecture import parse_arch
from .augment import AUGMENTATIONS
from .data.catalog import DATASETS, SPLITS
from .data.folders import COLORS, MAX_MEMORY_GB, parse_image_size
from .data.tables import TASKS
from .data.text import is_text_file
from .initializers import INITIALIZERS
from .language import ARCHS as LANGUAGE_ARCHS
from .optimizers import DEFAULT_LR, OPTIMIZERS
from .schedules import SCHEDULES
from .validation import check_number, describe_range, in_range

_SAME = object()  # "the estimator's default is the table's"
#: In :attr:`Param.sklearn_values`: a value ``nnscratch train`` has no option for.
NO_OPTION = "no option of nnscratch train"


@dataclass(frozen=True)
class Param:
    """One hyper-parameter.

    Parameters
    ----------
    name : str
        Its name in a configuration; the command-line flag is ``--name`` with dashes.
    kind : {"int", "float", "choice", "sizes", "bool", "text", "names"}
    default
        The blog's value (what ``nnscratch train`` uses without a recipe).
    help : str
        One line for ``--help``.
    sklearn : str or None
        The estimators' parameter name (scikit-learn's name where ``MLPClassifier`` has the
        same concept); None for options of a run that an estimator does not take.
    choices : tuple, optional
        Allowed values of a ``"choice"``.
    low, high, low_open, high_open
        The range of an ``"int"`` or ``"float"``.
    optional : bool
        None is allowed and means "off" (or, with ``default_text``, the default).
    sklearn_default
        The estimators' default where it differs from ``default``.
    default_text : str, optional
        The default in words, where it depends on other rows (``--help`` shows it).
    sklearn_values : dict, optional
        Values only the estimators take (scikit-learn's), each with the value it stands for
        in a configuration: ``{"logistic": "sigmoid"}``; None where ``nnscratch train`` has no
        equivalent (:data:`NO_OPTION`, e.g. ``"lbfgs"``).
    """

    name: str
    kind: str
    default: object
    help: str
    sklearn: str | None = None
    choices: tuple | None = None
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    optional: bool = False
    sklearn_default: object = _SAME
    default_text: str | None = None
    sklearn_values: dict | None = None

    @property
    def flag(self):
        """The command-line option, e.g. ``--batch-size``."""
        return "--" + self.name.replace("_", "-")

    @property
    def estimator_default(self):
        """The default of the estimators' parameter."""
        return self.default if self.sklearn_default is _SAME else self.sklearn_default

    @property
    def expected(self):
        """What a valid value is, in words."""
        if self.kind == "choice":
            text = f"one of {list(self.choices)}"
        elif self.kind == "sizes":
            text = "a sequence of positive integers such as (64, 32)"
        elif self.kind == "bool":
            text = "True or False"
        elif self.kind == "text":
            text = "a non-empty string"
        elif self.kind == "names":
            text = "a list of column names such as name,ticket"
        else:
            text = describe_range(self.low, self.high, low_open=self.low_open,
                                  high_open=self.high_open, integer=self.kind == "int")
        return f"{text} or None" if self.optional and not self.default_text else text

    def check(self, value, label=None):
        """``value`` normalised (sizes as a list of int), or a ValueError naming ``label``."""
        label = label or self.name
        if value is None and self.optional:
            return None
        if self.kind in ("int", "float"):
            if in_range(value, self.low, self.high, low_open=self.low_open,
                        high_open=self.high_open, integer=self.kind == "int"):
                return check_number(value, label, self.low, self.high, low_open=self.low_open,
                                    high_open=self.high_open, integer=self.kind == "int")
        elif self.kind == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
        elif self.kind == "bool":
            if isinstance(value, bool):
                return value
        elif self.kind == "text":
            if isinstance(value, str) and value:
                return value
        elif self.kind == "sizes":
            sizes = _sizes(value)
            if sizes is not None:
                return sizes
        elif self.kind == "names":
            if isinstance(value, (list, tuple)) and all(isinstance(v, str) and v.strip()
                                                        for v in value):
                return [v.strip() for v in value]
        raise ValueError(f"{label} must be {self.expected}, got {value!r}"
                         f"{self.suggestion(value)}")

    def sklearn_value(self, value):
        """``(True, config value)`` when ``value`` is one of :attr:`sklearn_values`, else
        ``(False, None)``."""
        for key, meaning in (self.sklearn_values or {}).items():
            if isinstance(value, type(key)) and value == key:
                return True, meaning
        return False, None

    def check_estimator(self, value, label=None):
        """:meth:`check` for an estimator's parameter, which also takes scikit-learn's own
        values (:attr:`sklearn_values`, returned as given)."""
        if self.sklearn_value(value)[0]:
            return value
        try:
            return self.check(value, label)
        except ValueError:
            if not self.sklearn_values:
                raise
        extra = list(self.sklearn_values)
        expected = (f"one of {[*self.choices, *extra]}" if self.kind == "choice" else
                    f"{self.expected} or one of {extra}")
        raise ValueError(f"{label or self.name} must be {expected}, got {value!r}"
                         f"{_hint(value, [*(self.choices or ()), *extra])}") from None

    def suggestion(self, value):
        """`` (did you mean 'adam'?)`` for a near miss of a choice, else ''."""
        return _hint(value, self.choices) if self.kind == "choice" else ""

    def parse(self, text):
        """A command-line string as a value (not yet range-checked); ValueError if it is not
        even of the right kind."""
        if self.optional and text.lower() in ("none", "off"):
            return None
        if self.kind == "int":
            return int(text)
        if self.kind == "float":
            return float(text)
        if self.kind == "sizes":
            return [int(part) for part in text.split(",")] if text.strip() else []
        if self.kind == "names":
            return [part.strip() for part in text.split(",")] if text.strip() else []
        if self.kind == "bool":
            words = {"true": True, "yes": True, "1": True, "false": False, "no": False,
                     "0": False}
            if text.lower() not in words:
                raise ValueError(text)
            return words[text.lower()]
        return text


def _sizes(value):
    """``value`` as a list of positive ints (an int is one layer), or None if it is not."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return None
    value = list(value)
    if not all(in_range(v, 1, integer=True) for v in value):
        return None
    return [int(v) for v in value]


def _hint(value, choices):
    """`` (did you mean 'x'?)`` when a close match exists."""
    close = difflib.get_close_matches(str(value), [str(c) for c in choices or ()], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


#: The rows a language model's run uses (``--data FILE.txt``); the others are refused.
TEXT_ROWS = ("dataset", "split", "data", "arch", "dropout", "dtype", "epochs", "batch_size",
             "optimizer", "lr", "momentum", "nesterov", "weight_decay", "schedule", "warmup",
             "clip", "val_split", "patience", "seed")

#: Hidden-layer activations (softmax is a classifier's output only).
HIDDEN_ACTIVATIONS = tuple(name for name in ACTIVATIONS if name != "softmax")

#: Every hyper-parameter of a training run, in the order ``--help`` shows them.
PARAMS = (
    # the data
    Param("dataset", "choice", "mnist", "data set", choices=DATASETS),
    Param("split", "choice", "blog", "'blog': 80/20 of all the data as in the post (MNIST "
          "56,000/14,000); 'standard': the published split (MNIST 60,000/10,000)",
          choices=SPLITS),
    Param("data", "text", None, "your own data instead of --dataset: a table (a .csv with a "
          "header row, or .tsv, .parquet, .xlsx, or an .npz with arrays X and y; text columns and "
          "empty cells are fine) or a folder of images with one subfolder per class (or "
          "train/ and test/ or val/ folders of them); 80/20 split, stratified, by --seed; or "
          "a .txt file, one item a line, for a character-level language model (makemore's split: "
          "the last 10% of a permutation by --seed, at most 1,000 items, are the test set)",
          optional=True),
    Param("image_size", "text", None, "size images of a --data folder are resized to, HxW or "
          "one number for squares, e.g. 32 or 48x64 (none: the folder's median size, shrunk "
          "to fit 64x64)", optional=True),
    Param("color", "choice", "auto", "colour of a --data folder's images: rgb (3 channels), "
          "gray (1), or auto: rgb unless every image is grey", choices=COLORS),
    Param("max_memory", "float", MAX_MEMORY_GB, "GB the images of a --data folder may take "
          "once loaded (as floats); a bigger folder is refused before it is read", low=0,
          low_open=True),
    Param("target", "text", None, "the column of --data to predict (none: the last column)",
          optional=True),
    Param("drop", "names", [], "columns of --data to leave out, e.g. name,ticket "
          "(identifiers, free text, dates)"),
    Param("scale", "choice", "auto", "input scaling: 'standard' standardises --data's "
          "numeric columns (and a regression target) on the training rows; 'none' leaves "
          "them as they are; 'auto' is standard for --data and the blog's /255 for MNIST",
          choices=("auto", "standard", "none")),
    Param("task", "choice", "auto", "what --data's target is: 'auto' decides from it (text "
          "or <= 20 whole-number values: classification)", choices=TASKS),
    # the network
    Param("hidden", "sizes", [32, 32], "hidden layer widths, e.g. 32,32 (an empty string: "
          "no hidden layer)", sklearn="hidden_layer_sizes", sklearn_default=(100,)),
    Param("arch", "text", None, "any layers, in place of the hidden sizes and dropout: "
          "convCkK (C channels, KxK kernel; then sS for a stride, pP or 'same' for padding), "
          "poolP, avgpoolP, gap (global average pooling), center (each image minus its mean "
          "colour), bn (batch normalisation), dropR, denseN, e.g. conv32k3,pool2,dense128 "
          "(the output layer is added); for a --data text file, the language model: "
          + "|".join(LANGUAGE_ARCHS) + " (none: transformer)",
          sklearn="architecture", optional=True),
    Param("activation", "choice", "relu", "activation of the hidden layers",
          sklearn="activation", choices=HIDDEN_ACTIVATIONS,
          sklearn_values={"logistic": "sigmoid"}),
    Param("init", "choice", "normal", "weight initialiser ('normal' is the blog's "
          "N(0, 1/fan_in))", sklearn="init", choices=tuple(INITIALIZERS),
          sklearn_default="glorot"),
    Param("dropout", "float", 0.0, "dropout rate after each hidden layer", sklearn="dropout",
          low=0, high=1, high_open=True),
    Param("dtype", "choice", "float32", "floating-point type of the weights and arithmetic",
          sklearn="dtype", choices=("float32", "float64"), sklearn_default=None),
    # the training
    Param("augment", "choice", "none", "distort every training image afresh in every epoch: "
          "shift (up to 2 px), affine (rotation, shear, scale, shift) or elastic (Simard: "
          "sigma 4, alpha 34); images only", sklearn="augment", choices=AUGMENTATIONS),
    Param("epochs", "int", 40, "passes over the training data", sklearn="max_iter", low=0,
          sklearn_default=200),
    Param("batch_size", "int", 64, "samples per gradient step", sklearn="batch_size", low=1,
          sklearn_default="auto", sklearn_values={"auto": NO_OPTION}),
    Param("optimizer", "choice", "sgd", "update rule (PyTorch's names and defaults)",
          sklearn="solver", choices=tuple(OPTIMIZERS), sklearn_default="adam",
          sklearn_values={"lbfgs": NO_OPTION}),
    Param("lr", "float", None, "learning rate", sklearn="learning_rate_init", low=0,
          low_open=True, optional=True, sklearn_default=0.001,
          default_text="the optimizer's own: " + ", ".join(
              f"{name} {lr:g}" for name, lr in DEFAULT_LR.items()) + " (PyTorch's; sgd's is the "
          "blog's)"),
    Param("momentum", "float", 0.0, "momentum of sgd and rmsprop", sklearn="momentum", low=0,
          high=1, high_open=True, sklearn_default=0.9),
    Param("nesterov", "bool", True, "Nesterov's correction of the SGD momentum (true/false; "
          "false when the momentum is 0)", sklearn="nesterovs_momentum"),
    Param("weight_decay", "float", 0.0, "L2 penalty (sgd, adam, rmsprop, adagrad), decoupled "
          "decay for adamw", sklearn="alpha", low=0, sklearn_default=0.0001),
    Param("schedule", "choice", "constant", "learning rate per epoch: constant, step (x0.1 "
          "every 10 epochs), cosine, or onecycle (per batch: up from lr/25 to lr over 30% of "
          "the training, then down to lr/25e4)", sklearn="schedule", choices=SCHEDULES),
    Param("warmup", "int", 0, "linear warm-up epochs before the cosine decay",
          sklearn="warmup", low=0),
    Param("label_smoothing", "float", 0.0, "classification: train against targets of "
          "1 - X + X/K for the true class and X/K for the others (PyTorch's "
          "label_smoothing; the losses reported use the same targets)", sklearn="label_smoothing",
          low=0, high=1, high_open=True),
    Param("clip", "float", None, "clip the global gradient norm to this value",
          sklearn="clip", low=0, low_open=True, optional=True),
    Param("val_split", "float", 0.0, "fraction of the training data held out for "
          "validation", sklearn="validation_fraction", low=0, high=1, high_open=True,
          sklearn_default=0.1),
    Param("patience", "int", None, "early stopping: epochs without a better validation loss "
          "(needs a validation split)", sklearn="n_iter_no_change", low=1, optional=True,
          sklearn_default=10, sklearn_values={math.inf: None}),
    Param("seed", "int", 0, "random seed of the weights, dropout, shuffling and splits",
          sklearn="random_state", low=0, sklearn_default=None),
)

#: scikit-learn's ``MLPClassifier``/``MLPRegressor`` parameters that ``nnscratch train``
#: has no option for: the estimators take them (same name, default and meaning), the command
#: line does not. Their ``name`` is the estimator's.
ESTIMATOR_PARAMS = (
    Param("early_stopping", "bool", False, "hold out validation_fraction (stratified for a "
          "classifier) and stop when its score has not improved by tol for n_iter_no_change "
          "epochs; keep the best weights", sklearn="early_stopping"),
    Param("learning_rate", "choice", "constant", "sgd's step size per epoch: constant, "
          "invscaling (learning_rate_init / (t + 1) ** power_t, t samples seen) or adaptive "
          "(divided by 5 when n_iter_no_change epochs do not improve by tol)",
          sklearn="learning_rate", choices=("constant", "invscaling", "adaptive")),
    Param("power_t", "float", 0.5, "exponent of invscaling", sklearn="power_t", low=0),
    Param("shuffle", "bool", True, "shuffle the samples in every epoch (stochastic solvers)",
          sklearn="shuffle"),
    Param("tol", "float", 1e-4, "improvement of the loss (or validation score) that counts; "
          "lbfgs: the gradient tolerance", sklearn="tol", low=0),
    Param("verbose", "int", 0, "print scikit-learn's line per epoch", sklearn="verbose", low=0,
          sklearn_values={True: 1, False: 0}),
    Param("warm_start", "bool", False, "fit continues from the previous fit's weights",
          sklearn="warm_start"),
    Param("beta_1", "float", 0.9, "adam: decay of the first moment", sklearn="beta_1", low=0,
          high=1, high_open=True),
    Param("beta_2", "float", 0.999, "adam: decay of the second moment", sklearn="beta_2",
          low=0, high=1, high_open=True),
    Param("epsilon", "float", 1e-8, "adam: numerical stability", sklearn="epsilon", low=0,
          low_open=True),
    Param("max_fun", "int", 15000, "lbfgs: most loss evaluations", sklearn="max_fun", low=1),
    Param("loss", "choice", "squared_error", "the regressor's loss (half the squared error)",
          sklearn="loss", choices=("squared_error",)),
)

#: The rows by name.
BY_NAME = {p.name: p for p in PARAMS}
#: The blog's configuration: every row's default.
DEFAULTS = {p.name: p.default for p in PARAMS}
#: The rows an estimator takes, by their scikit-learn name.
BY_SKLEARN_NAME = {p.sklearn: p for p in PARAMS if p.sklearn}
#: Every estimator parameter's row, by its name: those above and :data:`ESTIMATOR_PARAMS`.
BY_ESTIMATOR_NAME = {**BY_SKLEARN_NAME, **{p.name: p for p in ESTIMATOR_PARAMS}}
#: The estimators' parameters that give ``nnscratch train``'s run (its defaults): what a sweep
#: fits (its other parameters keep the estimators' defaults).
#: (``dtype`` stays the estimators' None: follow the data.)
TRAIN_DEFAULTS = {p.sklearn: p.default for p in PARAMS
                  if p.sklearn and p.name not in ("seed", "dtype")}


def flag(name):
    """The command-line flag of a configuration key (``val_split`` -> ``--val-split``)."""
    return BY_NAME[name].flag


def check_config(config, *, label=None, origin=None):
    """Check every value of a full configuration and how they combine; return it normalised.

    Parameters
    ----------
    config : dict
        One value per row of :data:`PARAMS` (e.g. from :func:`nnscratch.recipes.make_config`).
    label : callable, optional
        ``label(name)`` is how messages name a key: the flag on the command line
        (:func:`flag`), the scikit-learn name in an estimator. Default: the key itself.
    origin : dict, optional
        ``{name: "--recipe best"}`` for values the user did not give, so a message can say
        where a bad combination came from.

    Raises
    ------
    ValueError
        An unknown key or a bad value, naming it, what was expected and what was given.
    """
    label = label or (lambda name: name)
    origin = origin or {}
    unknown = sorted(set(config) - set(BY_NAME))
    if unknown:
        raise ValueError(f"unknown configuration key {unknown[0]!r}"
                         f"{_hint(unknown[0], BY_NAME)}; expected some of {list(BY_NAME)}")
    checked = {name: BY_NAME[name].check(config.get(name, BY_NAME[name].default),
                                         label(name))
               for name in BY_NAME}

    def said(name):  # "--warmup 1 (from --recipe best)"
        value = checked[name]
        shown = ",".join(map(str, value)) if isinstance(value, list) else value
        where = f" (from {origin[name]})" if name in origin else ""
        return f"{label(name)} {shown}{where}"

    if checked["lr"] is None:  # each optimizer its own
        checked["lr"] = DEFAULT_LR[checked["optimizer"]]
    checked["nesterov"] = checked["nesterov"] and checked["momentum"] > 0  # else no effect
    if checked["schedule"] == "cosine" and checked["warmup"] >= max(checked["epochs"], 1):
        raise ValueError(f"{said('warmup')} needs more {label('epochs')}: with "
                         f"{said('epochs')} no epoch is left for the cosine decay; set "
                         f"{label('warmup')} 0 or {label('epochs')} {checked['warmup'] + 1} "
                         "or more")
    if checked["warmup"] and checked["schedule"] != "cosine" and "warmup" not in origin:
        raise ValueError(f"{said('warmup')} needs {label('schedule')} cosine (the warm-up "
                         f"comes before its decay); {label('schedule')} is "
                         f"{checked['schedule']}" + (", which warms up by itself"
                                                     if checked["schedule"] == "onecycle"
                                                     else ""))
    if checked["image_size"] is not None:
        parse_image_size(checked["image_size"], label("image_size"))
    if checked["data"] is None:
        given = next((name for name, off in (("target", None), ("task", "auto"), ("drop", []),
                                             ("scale", "auto"), ("image_size", None),
                                             ("color", "auto"),
                                             ("max_memory", MAX_MEMORY_GB))
                      if checked[name] != off and not (name == "scale"
                                                       and checked[name] == "none")), None)
        if given in ("image_size", "color", "max_memory"):
            raise ValueError(f"{said(given)} needs {label('data')} DIR (a folder of images)")
        if given:
            raise ValueError(f"{said(given)} needs {label('data')} FILE (your own table)"
                             + (": MNIST and the digits keep the blog's /255 scaling"
                                if given == "scale" else ""))
    if checked["data"] is not None and is_text_file(checked["data"]):
        given = next((name for name in BY_NAME if name not in TEXT_ROWS
                      and checked[name] != BY_NAME[name].default), None)
        if given is not None:
            raise ValueError(f"{said(given)} is not an option of a language model; "
                             f"{label('data')} {checked['data']} is a text file")
        if checked["arch"] is not None and checked["arch"] not in LANGUAGE_ARCHS:
            raise ValueError(f"{label('arch')} must be one of {list(LANGUAGE_ARCHS)} for a "
                             f"text file ({label('data')} {checked['data']}), got "
                             f"{checked['arch']!r}{_hint(checked['arch'], LANGUAGE_ARCHS)}")
    elif checked["arch"] is not None:
        parse_arch(checked["arch"], label("arch"))
    if checked["patience"] is not None and checked["val_split"] == 0:
        raise ValueError(f"{said('patience')} needs a validation set: set {label('val_split')}"
                         f" > 0, or turn early stopping off with {label('patience')} none")
    return checked
