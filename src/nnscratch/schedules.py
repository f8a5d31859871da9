"""Learning-rate schedules: the rate to use in each epoch, from the base rate.

A schedule is a callable ``schedule(epoch, base_lr) -> lr`` with ``epoch`` counted from 0;
:func:`~nnscratch.training.train` sets the optimizer's ``lr`` from it before every epoch and
records it in the history.
"""

import math


class Constant:
    """The same rate every epoch (the blog)."""

    name = "constant"

    def __call__(self, epoch, base_lr):
        return base_lr

    def __repr__(self):
        return "Constant()"


class StepDecay:
    """Multiply the rate by ``gamma`` every ``step_size`` epochs."""

    name = "step"

    def __init__(self, step_size=10, gamma=0.1):
        if not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"step_size must be an integer >= 1, got {step_size!r}")
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
        self.step_size, self.gamma = step_size, gamma

    def __call__(self, epoch, base_lr):
        return base_lr * self.gamma ** (epoch // self.step_size)

    def __repr__(self):
        return f"StepDecay(step_size={self.step_size}, gamma={self.gamma})"


class WarmupCosine:
    """Linear warm-up over ``warmup`` epochs, then a cosine decay to ``min_lr`` at ``epochs``.

    During warm-up epoch ``e`` uses ``base_lr * (e + 1) / (warmup + 1)``, so no epoch has a
    zero rate; afterwards ``min_lr + (base_lr - min_lr) (1 + cos(pi t)) / 2`` with ``t``
    running from 0 to 1 over the remaining epochs.
    """

    name = "cosine"

    def __init__(self, epochs, warmup=0, min_lr=0.0):
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
        if not isinstance(warmup, int) or not 0 <= warmup < epochs:
            raise ValueError(f"warmup must be an integer in [0, epochs={epochs}), "
                             f"got {warmup!r}")
        if min_lr < 0:
            raise ValueError(f"min_lr must be >= 0, got {min_lr!r}")
        self.epochs, self.warmup, self.min_lr = epochs, warmup, min_lr

    def __call__(self, epoch, base_lr):
        if epoch < self.warmup:
            return base_lr * (epoch + 1) / (self.warmup + 1)
        decay_epochs = self.epochs - self.warmup
        t = min(epoch - self.warmup, decay_epochs) / decay_epochs
        return self.min_lr + (base_lr - self.min_lr) * (1 + math.cos(math.pi * t)) / 2

    def __repr__(self):
        return f"WarmupCosine(epochs={self.epochs}, warmup={self.warmup}, min_lr={self.min_lr})"


class OneCycle:
    """Smith's one-cycle policy, as PyTorch's ``OneCycleLR`` with its defaults: the rate
    rises from ``base_lr / div`` to ``base_lr`` over the first ``pct_start`` of the training,
    then falls to ``base_lr / (div * final_div)``, both along a half cosine.

    It is set before every batch, not every epoch (``per_step``): the loop calls it with
    the fractional epoch ``epoch + batch / batches``, so that a one-epoch run still makes
    its whole cycle. (PyTorch also cycles SGD's momentum against the rate; not done here.)
    """

    name = "onecycle"
    per_step = True

    def __init__(self, epochs, pct_start=0.3, div=25.0, final_div=1e4):
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
        if not 0 < pct_start < 1:
            raise ValueError(f"pct_start must be in (0, 1), got {pct_start!r}")
        self.epochs, self.pct_start, self.div, self.final_div = epochs, pct_start, div, final_div

    def __call__(self, epoch, base_lr):
        t = min(max(epoch / self.epochs, 0.0), 1.0)  # the fraction of the training done
        start, low = base_lr / self.div, base_lr / (self.div * self.final_div)
        if t < self.pct_start:
            return _cosine(start, base_lr, t / self.pct_start)
        return _cosine(base_lr, low, (t - self.pct_start) / (1 - self.pct_start))

    def __repr__(self):
        return (f"OneCycle(epochs={self.epochs}, pct_start={self.pct_start}, div={self.div}, "
                f"final_div={self.final_div})")


def _cosine(a, b, f):
    """From ``a`` (f = 0) to ``b`` (f = 1) along a half cosine."""
    return b + (a - b) * (1 + math.cos(math.pi * f)) / 2


SCHEDULES = ("constant", "step", "cosine", "onecycle")


def get_schedule(schedule, *, epochs=None, warmup=0, step_size=10, gamma=0.1):
    """Return a schedule from a name in :data:`SCHEDULES`, a callable, or ``None``."""
    if schedule is None or schedule == "constant":
        return Constant()
    if callable(schedule):
        return schedule
    if schedule == "step":
        return StepDecay(step_size, gamma)
    if schedule == "cosine":
        return WarmupCosine(epochs, warmup)
    if schedule == "onecycle":
        return OneCycle(epochs)
    raise ValueError(f"schedule must be one of {list(SCHEDULES)} or a callable, "
                     f"got {schedule!r}")
