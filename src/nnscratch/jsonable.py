"""Plain JSON values from what NumPy and Python hand us: one converter for model files,
run folders and sweep results."""

import math
import numbers

import numpy as np


def to_json(value, where="value"):
    """``value`` as plain JSON data: NumPy scalars and arrays become Python numbers and lists,
    tuples become lists, float32 values their shortest decimal.

    Raises
    ------
    TypeError
        A value JSON cannot store, or a dict key that is not a str (naming ``where``).
    ValueError
        NaN or infinity (JSON has neither).
    """
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        # a float32 becomes its shortest decimal (0.1, not 0.10000000149011612)
        value = float(str(value) if isinstance(value, np.floating) else value)
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value}; a model file stores only finite numbers "
                             "(JSON has no NaN or infinity)")
        return value
    if isinstance(value, np.ndarray) and (np.issubdtype(value.dtype, np.number)
                                          or value.dtype == np.bool_):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [to_json(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has the key {key!r} ({type(key).__name__}); JSON "
                                "keys must be str")
            out[key] = to_json(item, f"{where}[{key!r}]")
        return out
    raise TypeError(f"{where} is a {type(value).__name__}, which JSON cannot store; use "
                    "str, bool, None, a number, a list or a dict")
