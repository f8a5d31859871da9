"""What the layers beyond the blog's share: their parameter bookkeeping and input checks.

A layer names its learned arrays once, in ``param_names``; each ``name`` is an attribute
holding the array and ``grad_name`` one holding its gradient, which ``backward`` overwrites
*in place* (so an optimizer, or a flat buffer that the arrays view, keeps seeing it).
"""

import numpy as np

from .validation import check_float_dtype, check_int


class ParamLayer:
    """Base of the sequence layers: ``parameters()``, ``gradients()``,
    ``named_parameters()`` and the blog's ``backward(d, learning_rate)`` SGD step, from
    ``param_names``. Subclasses implement ``forward``, ``_backward`` and ``config``."""

    param_names = ()
    cache_names = ()  # what forward keeps for backward: not copied or pickled

    def named_parameters(self):
        """``[(name, array), ...]`` in the order of :meth:`parameters` (model files use the
        names)."""
        return [(name, getattr(self, name)) for name in self.param_names]

    def parameter_slots(self):
        """``[(owner, attribute), ...]`` holding each of :meth:`parameters` (its gradient
        is ``grad_<attribute>`` of the same owner): what :func:`~nnscratch.layers.
        bind_parameters` rebinds."""
        return [(self, name) for name in self.param_names]

    def parameters(self):
        """The learned arrays; optimizers update them in place."""
        return [getattr(self, name) for name in self.param_names]

    def gradients(self):
        """The gradients of :meth:`parameters`, in the same order, as left by ``backward``."""
        return [getattr(self, f"grad_{name}") for name in self.param_names]

    def backward(self, d_output, learning_rate=None, *, input_grad=True):
        """Back-propagate ``dL/d output``; store the parameters' gradients; return
        ``dL/d input`` (None with ``input_grad=False``). With ``learning_rate``, also take
        one plain SGD step (the blog's ``backward(d, learning_rate)``)."""
        d_input = self._backward(d_output, input_grad)
        if learning_rate is not None:
            for p, g in zip(self.parameters(), self.gradients(), strict=True):
                p -= learning_rate * g
        return d_input

    def _new_param(self, name, value):
        """Store ``value`` as the parameter ``name`` and a zero gradient beside it."""
        setattr(self, name, value)
        setattr(self, f"grad_{name}", np.zeros_like(value))

    def __getstate__(self):
        """Pickle and copy without the forward pass's cached arrays."""
        return {k: v for k, v in vars(self).items() if k not in self.cache_names}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args}, dtype={self.dtype.name})"


def uniform(rng, bound, shape, dtype):
    """``U(-bound, bound)`` samples of ``dtype`` (PyTorch's initialiser for recurrent layers,
    embeddings-free linear maps and attention projections)."""
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def check_sizes(**sizes):
    """Each keyword an integer >= 1 (ValueError naming it otherwise), as plain ints."""
    return [check_int(value, name, minimum=1) for name, value in sizes.items()]


def setup(rng, dtype):
    """The Generator and the checked float dtype of a constructor."""
    return np.random.default_rng(rng), check_float_dtype(dtype)


def check_input(layer, x, ndim, size):
    """A ValueError naming ``layer`` unless ``x`` has ``ndim`` axes and ``size`` on the last.

    One comparison per batch: cheap next to the layer's products.
    """
    if x.ndim != ndim or x.shape[-1] != size:
        axes = {2: "(N, {})", 3: "(N, T, {})"}.get(ndim, "(..., {})").format(size)
        raise ValueError(f"{layer!r} expects inputs of shape {axes}, got {x.shape}")


def row_sums(a):
    """``a.sum(axis=-1, keepdims=True)`` as a matrix-vector product: NumPy's reductions
    along a short last axis (16 or 64 numbers) run row by row, 3-6x slower (measured)."""
    ones = np.ones(a.shape[-1], dtype=a.dtype)
    return (a.reshape(-1, a.shape[-1]) @ ones).reshape(*a.shape[:-1], 1)


def column_sums(a):
    """``a.sum(axis=0)`` of a 2-D array as a vector-matrix product, the counterpart of
    :func:`row_sums`: on a convolution's (N*H*W, 32) map, 0.8 ms against 3.2 ms for
    ``np.add.reduce(a, axis=0)`` (measured, benchmarks/RESULTS.md)."""
    return np.ones(len(a), dtype=a.dtype) @ a


class Workspace:
    """Named scratch arrays, allocated once for the largest batch and reused (no per-batch
    allocation of the megabyte-sized temporaries, whose page faults cost as much as the
    arithmetic)."""

    def __init__(self):
        self._arrays = {}

    def get(self, name, shape, dtype, *, zeros=False):
        """A C-contiguous array of ``shape`` and ``dtype`` (its content is left over, or zeros
        when first allocated with ``zeros``); the first axis is the batch."""
        dtype = np.dtype(dtype)
        have = self._arrays.get(name)
        if have is None or have.dtype != dtype or have.shape[1:] != tuple(shape[1:]) \
                or len(have) < shape[0]:
            have = (np.zeros if zeros else np.empty)(shape, dtype)
            self._arrays[name] = have
        return have[:shape[0]]
