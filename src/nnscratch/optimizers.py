"""Optimizers: how the stored gradients change the parameters.

An optimizer's ``step(params, grads)`` updates every array of ``params`` in place from the
gradient at the same position in ``grads`` (``model.parameters()`` and
``model.gradients()``), keeping any per-parameter state (momentum, moment estimates, sums of
squares) in lists in that same order. Hyper-parameter names and defaults follow PyTorch's
``torch.optim``, so runs can be compared one to one.
"""

import functools
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .validation import check_fraction, check_number, check_positive


class Optimizer:
    """Base class: holds the learning rate ``lr`` (a schedule may change it between steps)."""

    name = "optimizer"

    def __init__(self, lr):
        self.lr = check_positive(lr, "lr")
        self.state = None  # per-parameter state, created on the first step

    def step(self, params, grads):
        raise NotImplementedError

    def state_dict(self):
        """What the steps so far have accumulated, to continue exactly after a restart.

        Returns
        -------
        dict
            ``{"t": steps taken or None, "layout": list or None, "arrays": {name: ndarray}}``:
            the step count of the optimizers that keep one (SGD, Adam, AdamW, Adagrad), and the
            per-parameter state (momentum buffers, moment estimates, sums of squares), one
            entry of ``layout`` per parameter (``None``, ``"array"``, or a list of those for
            a tuple), its arrays named ``"i"`` or ``"i.j"``. The arrays are the live state,
            not copies: write them out before the next :meth:`step`.
        """
        layout, arrays = None, {}
        if self.state is not None:
            layout = []
            for i, entry in enumerate(self.state):
                if isinstance(entry, tuple):
                    layout.append([_put(arrays, f"{i}.{j}", a) for j, a in enumerate(entry)])
                else:
                    layout.append(_put(arrays, str(i), entry))
        return {"t": getattr(self, "t", None), "layout": layout, "arrays": arrays}

    def load_state_dict(self, state, params):
        """Continue from :meth:`state_dict`'s ``state``, for the parameters ``params``.

        Raises
        ------
        ValueError
            The state does not fit this optimizer or ``params`` (another optimizer's, or
            another network's), naming what differs.
        """
        t, layout, arrays = state["t"], state["layout"], state["arrays"]
        if (t is None) != (getattr(self, "t", None) is None):
            raise ValueError(f"the optimizer state {'lacks' if t is None else 'has'} a step "
                             f"count, which {type(self).__name__} "
                             f"{'keeps' if t is None else 'does not keep'}")
        if layout is None:
            self.state = None
        else:
            if not isinstance(layout, list) or len(layout) != len(params):
                raise ValueError(f"the optimizer state is for {_count(layout)} parameter "
                                 f"arrays, this network has {len(params)}")
            self.state = [tuple(_take(arrays, f"{i}.{j}", kind, p)
                                for j, kind in enumerate(entry))
                          if isinstance(entry, list) else _take(arrays, str(i), entry, p)
                          for i, (entry, p) in enumerate(zip(layout, params, strict=True))]
        if t is not None:
            if not isinstance(t, int) or isinstance(t, bool) or t < 0:
                raise ValueError(f"the optimizer's step count must be an integer >= 0, "
                                 f"got {t!r}")
            self.t = t

    def __repr__(self):
        # (threads: how the training loop runs the step, not what the step computes)
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                         if k not in ("state", "threads"))
        return f"{type(self).__name__}({args})"


def _put(arrays, name, value):
    """Store ``value`` (an array or None) under ``name``; its layout entry."""
    if value is None:
        return None
    arrays[name] = value
    return "array"


def _take(arrays, name, kind, param):
    """The state array ``name`` (a copy, checked against ``param``), or None."""
    if kind is None:
        return None
    if kind != "array" or name not in arrays:
        raise ValueError(f"the optimizer state lacks the array {name!r}")
    value = arrays[name]
    if value.shape != param.shape or value.dtype != param.dtype:
        raise ValueError(f"the optimizer state array {name!r} has shape {value.shape} and "
                         f"dtype {value.dtype}; the parameter has {param.shape}, {param.dtype}")
    return np.array(value, copy=True)


def _count(layout):
    """How many parameters a layout describes, for messages."""
    return len(layout) if isinstance(layout, list) else repr(layout)


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and L2 weight decay.

    With the defaults it is the blog's update ``p -= lr * g``. With momentum ``mu`` it keeps
    a velocity ``v = mu v + g`` (``v = g`` at the first step) and steps along ``v``, or along
    ``g + mu v`` with ``nesterov=True``. ``weight_decay`` adds ``weight_decay * p`` to ``g``.
    Like Adam's moments, a velocity entry that has decayed to almost nothing is zeroed before
    it turns subnormal (:func:`_flush_every`); ``t`` counts the steps for that schedule.
    """

    name = "sgd"

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(lr)
        self.momentum = check_fraction(momentum, "momentum")
        self.nesterov = bool(nesterov)
        self.weight_decay = check_number(weight_decay, "weight_decay", 0)
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.t = 0

    @property
    def plain(self):
        """True for the blog's update ``p -= lr * g``: no momentum, no weight decay.

        :func:`~nnscratch.training.train` then folds ``lr`` into the gradients and
        subtracts them itself (unless it clips them)."""
        return self.momentum == 0 and self.weight_decay == 0

    def step(self, params, grads):
        if self.plain:
            for p, g in zip(params, grads, strict=True):
                p -= self.lr * g
            return
        if self.state is None:
            self.state = [None] * len(params)
        self.t += 1
        flush = _flush_due(self.momentum, self.t)
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            if self.weight_decay:
                g = g + self.weight_decay * p
            if self.momentum:
                v = self.state[i]
                if v is None:
                    v = self.state[i] = g.copy()
                else:
                    v *= self.momentum
                    v += g
                    if flush:
                        _flush_small(v)
                g = g + self.momentum * v if self.nesterov else v
            p -= self.lr * g

    def load_state_dict(self, state, params):
        # A checkpoint written before SGD counted its steps has none: count from 0 (it only
        # times the flush of tiny velocities).
        if state["t"] is None:
            state = {**state, "t": 0}
        super().load_state_dict(state, params)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): steps by bias-corrected moment estimates.

    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``, then
    ``p -= lr * m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1 - b1^t)`` and
    ``v_hat = v / (1 - b2^t)``. ``weight_decay`` is an L2 term added to ``g`` (as in
    ``torch.optim.Adam``); for decoupled decay use :class:`AdamW`.

    Every few steps the moment estimates too small to stay normal floats (below about
    ``1e-32`` in float32) are set to zero: subnormal numbers make the step several times
    slower (:func:`_flush_every`).
    """

    name = "adam"
    decoupled = False

    def __init__(self, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (check_fraction(betas[0], "betas[0]"),
                      check_fraction(betas[1], "betas[1]"))
        self.eps = check_number(eps, "eps", 0)
        self.weight_decay = check_number(weight_decay, "weight_decay", 0)
        self.t = 0

    #: Parameters updated at a time: each operation of the step runs over one slice while it
    #: is still in cache, instead of over the whole array from memory (the best recipe's
    #: 535,040 parameters: 3.9 -> 2.8 ms a step, benchmarks/RESULTS.md). Same numbers.
    CHUNK = 1 << 16

    #: Threads the step runs on, each over its own run of slices (the same numbers: no slice
    #: depends on another). 1 unless set: the training loop sets it to the number of BLAS
    #: threads for its steps, so ``--threads 1`` keeps the step on one core too.
    threads = 1

    def step(self, params, grads):
        if self.state is None:
            self.state = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
        self.t += 1
        b1, b2 = self.betas
        corrections = (1 - b1**self.t, 1 - b2**self.t)
        for p, g, (m, v) in zip(params, grads, self.state, strict=True):
            if all(a.flags.c_contiguous for a in (p, g, m, v)):
                flat = [a.reshape(-1) for a in (p, g, m, v)]  # views

                def update(part, flat=flat):
                    self._update(*(a[part] for a in flat), *corrections)

                parts = [slice(start, start + self.CHUNK)
                         for start in range(0, p.size, self.CHUNK)]
                _spread(update, parts, self.threads)
            else:
                self._update(p, g, m, v, *corrections)
        for k, beta in enumerate(self.betas):  # the first moments (k = 0), then the second
            if _flush_due(beta, self.t):
                for moments in self.state:
                    _flush_small(moments[k])

    def _update(self, p, g, m, v, correction1, correction2):
        """One Adam step of the parameters ``p`` in place (and of their moments ``m``, ``v``),
        with the bias corrections ``1 - b1^t`` and ``1 - b2^t``."""
        b1, b2 = self.betas
        if self.weight_decay and self.decoupled:
            p *= 1 - self.lr * self.weight_decay
        elif self.weight_decay:
            g = g + self.weight_decay * p
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        # p -= lr * m_hat / (sqrt(v_hat) + eps), written to match PyTorch's arithmetic
        denom = np.sqrt(v) / math.sqrt(correction2) + self.eps
        p -= (self.lr / correction1) * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Before the Adam step the weights shrink by ``p *= 1 - lr * weight_decay``; the decay
    does not pass through the moment estimates. PyTorch's default ``weight_decay=0.01``.
    """

    name = "adamw"
    decoupled = True

    def __init__(self, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(lr, betas, eps, weight_decay)


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), as ``torch.optim.RMSprop`` computes it.

    A running mean of squared gradients ``v = alpha v + (1 - alpha) g^2`` scales the step:
    ``p -= lr * g / (sqrt(v) + eps)`` (``eps`` added after the square root, as PyTorch does).
    ``centered=True`` also keeps the mean gradient ``a = alpha a + (1 - alpha) g`` and divides
    by ``sqrt(v - a^2) + eps``, an estimate of the gradient's standard deviation rather than
    its root mean square. With ``momentum`` mu a buffer ``b = mu b + g / (sqrt(v) + eps)``
    (zero before the first step) is stepped along instead: ``p -= lr * b``.
    ``weight_decay`` adds ``weight_decay * p`` to ``g``.
    """

    name = "rmsprop"

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
        super().__init__(lr)
        self.alpha = check_fraction(alpha, "alpha")
        self.eps = check_number(eps, "eps", 0)
        self.weight_decay = check_number(weight_decay, "weight_decay", 0)
        self.momentum = check_fraction(momentum, "momentum")
        self.centered = bool(centered)

    def step(self, params, grads):
        if self.state is None:
            # (square average, mean gradient if centered, momentum buffer if momentum)
            self.state = [(np.zeros_like(p), np.zeros_like(p) if self.centered else None,
                           np.zeros_like(p) if self.momentum else None) for p in params]
        alpha = self.alpha
        for p, g, (v, mean, buf) in zip(params, grads, self.state, strict=True):
            if self.weight_decay:
                g = g + self.weight_decay * p
            v *= alpha
            v += (1 - alpha) * g * g
            if mean is None:
                denom = np.sqrt(v)
            else:
                mean *= alpha
                mean += (1 - alpha) * g
                # v - a^2 >= 0 in exact arithmetic; rounding must not make it a NaN
                denom = np.sqrt(np.maximum(v - mean * mean, 0))
            denom += self.eps
            if buf is None:
                p -= self.lr * (g / denom)
            else:
                buf *= self.momentum
                buf += g / denom
                p -= self.lr * buf


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer, 2011), as ``torch.optim.Adagrad`` computes it.

    Each weight's step shrinks with the sum of its squared gradients so far:
    ``s += g^2`` (``s`` starts at ``initial_accumulator_value``), then
    ``p -= lr_t * g / (sqrt(s) + eps)`` with ``lr_t = lr / (1 + (t - 1) lr_decay)`` at step
    ``t``. ``weight_decay`` adds ``weight_decay * p`` to ``g``.
    """

    name = "adagrad"

    def __init__(self, lr=0.01, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10):
        super().__init__(lr)
        self.lr_decay = check_number(lr_decay, "lr_decay", 0)
        self.weight_decay = check_number(weight_decay, "weight_decay", 0)
        self.initial_accumulator_value = check_number(
            initial_accumulator_value, "initial_accumulator_value", 0)
        self.eps = check_number(eps, "eps", 0)
        self.t = 0

    def step(self, params, grads):
        if self.state is None:
            self.state = [np.full_like(p, self.initial_accumulator_value) for p in params]
        self.t += 1
        lr = self.lr / (1 + (self.t - 1) * self.lr_decay)
        for p, g, s in zip(params, grads, self.state, strict=True):
            if self.weight_decay:
                g = g + self.weight_decay * p
            s += g * g
            p -= lr * (g / (np.sqrt(s) + self.eps))


#: A moment estimate at most this many times the dtype's smallest normal number is zeroed
#: when it is flushed (2**20 * tiny: 1.2e-32 in float32, 2.3e-302 in float64).
_FLUSH_BELOW = 2.0**20


@functools.cache
def _flush_every(beta):
    """Steps between two flushes of a moment that decays by ``beta`` a step: those a value
    of ``_FLUSH_BELOW * tiny`` takes to decay to ``tiny`` (131 for 0.9, 13,856 for 0.999;
    0, never, for a moment that does not decay: ``beta`` 0 or 1).

    Why: a parameter whose gradient is zero for a while (a weight of a pixel that is zero in
    most images) has a moment estimate that shrinks by ``beta`` a step into the subnormal
    numbers below ``tiny``, where the processor's arithmetic is many times slower: the fast
    recipe's AdamW step went from 1.1 to 2.1 ms once 6% of its moments were subnormal, and
    its epoch from 1.2 to 2.0 s (benchmarks/RESULTS.md, "Subnormal moments"). Zeroing what
    is that small changes a step by less than ``lr * 1e-23`` (the ``eps`` of 1e-8 bounds
    the division), below the last bit of any parameter larger than 1e-15.
    """
    if not 0 < beta < 1:
        return 0
    return max(1, int(math.log(_FLUSH_BELOW) / -math.log(beta)))


def _flush_due(beta, t):
    """Whether step ``t`` flushes the tiny entries of a state that decays by ``beta``."""
    every = _flush_every(beta)
    return every > 0 and t % every == 0


def _flush_small(moment):
    """Zero the entries of ``moment`` smaller in size than ``_FLUSH_BELOW`` times its
    dtype's smallest normal number, in place."""
    limit = np.finfo(moment.dtype).tiny * _FLUSH_BELOW
    moment[np.abs(moment) < limit] = 0


def _spread(work, items, threads):
    """``work(item)`` for every item, the items cut into ``threads`` runs in order, one run a
    thread (the caller's thread takes the first). NumPy lets go of the GIL inside its loops,
    so the runs overlap: the best recipe's AdamW step (535,040 parameters) took 1.3 ms on two
    threads against 1.6-1.8 ms on one (benchmarks/RESULTS.md, "Subnormal moments")."""
    threads = max(1, min(int(threads), len(items)))
    if threads == 1:
        _each(work, items)
        return
    bounds = [len(items) * k // threads for k in range(threads + 1)]
    runs = [items[bounds[k]:bounds[k + 1]] for k in range(threads)]
    futures = [_pool(threads - 1).submit(_each, work, run) for run in runs[1:]]
    _each(work, runs[0])
    for future in futures:
        future.result()


def _each(work, items):
    for item in items:
        work(item)


_POOLS = {}


def _pool(workers):
    """A thread pool of ``workers`` threads, made once and kept (threads cost ~50 us to
    start, a step ~1 ms)."""
    if workers not in _POOLS:
        _POOLS[workers] = ThreadPoolExecutor(workers, thread_name_prefix="nnscratch-step")
    return _POOLS[workers]


OPTIMIZERS = {cls.name: cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad)}

#: The learning rate of each optimizer when none is given (``nnscratch train`` without
#: ``--lr``): PyTorch's defaults, except plain SGD's, which is the blog's 0.05 (PyTorch's SGD
#: has 0.001, which would take the blog's network hundreds of epochs).
DEFAULT_LR = {"sgd": 0.05, "adam": 0.001, "adamw": 0.001, "rmsprop": 0.01, "adagrad": 0.01}


def get_optimizer(optimizer, lr=None, **kwargs):
    """Return an optimizer instance from a name (with ``lr`` and keyword hyper-parameters),
    or ``optimizer`` itself if it already is one."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str):
        key = optimizer.lower()
        if key not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, "
                             f"got {optimizer!r}")
        if lr is not None:
            kwargs["lr"] = lr
        return OPTIMIZERS[key](**kwargs)
    raise TypeError(f"optimizer must be a name or an Optimizer, got {optimizer!r}")
