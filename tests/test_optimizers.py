"""Optimizers, schedules, initialisers and regularisation: each against its formula."""

import inspect

import numpy as np
import pytest

from nnscratch import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    CrossEntropyLoss,
    Dropout,
    NeuralNetwork,
    RMSprop,
    Softmax,
    StepDecay,
    WarmupCosine,
    clip_grad_norm,
    get_optimizer,
    train,
)
from nnscratch.initializers import glorot, he, normal
from nnscratch.optimizers import OPTIMIZERS


def _three_steps(optimizer, p0=1.0, g=0.5):
    """Positions after each of three steps with a constant gradient ``g``."""
    p = np.array([p0])
    out = []
    for _ in range(3):
        optimizer.step([p], [np.array([g])])
        out.append(float(p[0]))
    return out


# Constant gradient g = 0.5 from p = 1, lr = 0.1, worked out by hand:
#  SGD:                p -= 0.05 each step                     -> 0.95, 0.90, 0.85
#  momentum 0.9:       v = 0.5, 0.95, 1.355; p -= 0.1 v         -> 0.95, 0.855, 0.7195
#  Nesterov 0.9:       step along g + 0.9 v = 0.95, 1.355, 1.7195 -> 0.905, 0.7695, 0.59755
#  weight decay 0.1:   g' = 0.5 + 0.1 p = 0.6, 0.594, 0.58806   -> 0.94, 0.8806, 0.821794
#  Adam:               m_hat = 0.5 and v_hat = 0.25 at every t, so each step is
#                      0.1 * 0.5 / (0.5 + 1e-8)                 -> 0.9, 0.8, 0.7 (to 1e-7)
#  AdamW, decay 0.1:   p *= 1 - 0.01, then the Adam step 0.1    -> 0.89, 0.7811, 0.673289
#  RMSprop (defaults, lr = 0.01, alpha = 0.99): v_t = (1 - alpha^t) g^2, so (eps aside) the
#                      step t is s_t = lr / sqrt(1 - alpha^t)     -> 0.9, 0.829112, 0.771087
#  centered:           mean a_t = (1 - alpha^t) g, v_t - a_t^2 = alpha^t (1 - alpha^t) g^2:
#                      step lr / sqrt(alpha^t (1 - alpha^t))     -> 0.899496, 0.828103, 0.769570
#  momentum 0.9:       b = 10, 16.08881, 20.28242 (b = 0.9 b + s_t / lr); p -= lr b
#                                                                -> 0.9, 0.739112, 0.536288
#  Adagrad (lr = 0.1): s_t = t g^2, step lr / sqrt(t)            -> 0.9, 0.829289, 0.771554
#  lr_decay 0.5:       lr_t = 0.1 / (1 + 0.5 (t - 1)) = 0.1, 0.0667, 0.05, step lr_t / sqrt(t)
#                                                                -> 0.9, 0.852860, 0.823992
#  accumulator 0.75:   s_t = 0.75 + 0.25 t = 1, 1.25, 1.5, step 0.05 / sqrt(s_t)
#                                                                -> 0.95, 0.905279, 0.864454
_T = np.arange(1, 4)


@pytest.mark.parametrize("optimizer, expected", [
    (SGD(lr=0.1), [0.95, 0.90, 0.85]),
    (SGD(lr=0.1, momentum=0.9), [0.95, 0.855, 0.7195]),
    (SGD(lr=0.1, momentum=0.9, nesterov=True), [0.905, 0.7695, 0.59755]),
    (SGD(lr=0.1, weight_decay=0.1), [0.94, 0.8806, 0.821794]),
    (Adam(lr=0.1), [0.9, 0.8, 0.7]),
    (AdamW(lr=0.1, weight_decay=0.1), [0.89, 0.7811, 0.673289]),
    (RMSprop(), 1 - 0.01 * np.cumsum(1 / np.sqrt(1 - 0.99**_T))),
    (RMSprop(centered=True), 1 - 0.01 * np.cumsum(1 / np.sqrt(0.99**_T * (1 - 0.99**_T)))),
    (RMSprop(momentum=0.9), 1 - 0.01 * np.cumsum([10, 10 * 0.9 + 1 / np.sqrt(1 - 0.99**2),
                                                  (10 * 0.9 + 1 / np.sqrt(1 - 0.99**2)) * 0.9
                                                  + 1 / np.sqrt(1 - 0.99**3)])),
    (Adagrad(lr=0.1), 1 - 0.1 * np.cumsum(1 / np.sqrt(_T))),
    (Adagrad(lr=0.1, lr_decay=0.5), 1 - np.cumsum(0.1 / (1 + 0.5 * (_T - 1)) / np.sqrt(_T))),
    (Adagrad(lr=0.1, initial_accumulator_value=0.75),
     1 - np.cumsum(0.05 / np.sqrt(0.75 + 0.25 * _T))),
], ids=["sgd", "momentum", "nesterov", "sgd-weight-decay", "adam", "adamw", "rmsprop",
        "rmsprop-centered", "rmsprop-momentum", "adagrad", "adagrad-lr-decay",
        "adagrad-accumulator"])
def test_first_three_steps_by_hand(optimizer, expected):
    """Each optimizer's first three steps match the update formula worked out by hand."""
    np.testing.assert_allclose(_three_steps(optimizer), expected, rtol=0, atol=2e-7)


def test_pytorch_defaults_and_names():
    """Hyper-parameter names and defaults are PyTorch's."""
    assert (Adam().lr, Adam().betas, Adam().eps, Adam().weight_decay) == \
        (0.001, (0.9, 0.999), 1e-8, 0.0)
    assert AdamW().weight_decay == 0.01
    assert (SGD().momentum, SGD().nesterov, SGD().weight_decay) == (0.0, False, 0.0)
    rms = RMSprop()
    assert (rms.lr, rms.alpha, rms.eps, rms.weight_decay, rms.momentum, rms.centered) == \
        (0.01, 0.99, 1e-8, 0.0, 0.0, False)
    ada = Adagrad()
    assert (ada.lr, ada.lr_decay, ada.weight_decay, ada.initial_accumulator_value, ada.eps) == \
        (0.01, 0.0, 0.0, 0.0, 1e-10)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_defaults_are_torchs(name):
    """Every argument of ours has the name and default of the ``torch.optim`` class."""
    torch = pytest.importorskip("torch")
    ours = inspect.signature(OPTIMIZERS[name]).parameters
    theirs = inspect.signature(getattr(torch.optim, OPTIMIZERS[name].__name__)).parameters
    for arg, param in ours.items():
        assert arg in theirs, arg
        if (name, arg) != ("sgd", "lr"):  # torch 2.13's SGD has lr=0.001; ours keeps 0.01
            assert param.default == theirs[arg].default, arg


TORCH_CASES = [
    ("SGD", {"lr": 0.1}), ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.01}), ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01}), ("AdamW", {"lr": 0.02, "weight_decay": 0.3, "eps": 1e-6}),
    ("RMSprop", {}), ("RMSprop", {"lr": 0.003, "alpha": 0.9, "momentum": 0.8}),
    ("RMSprop", {"centered": True, "weight_decay": 0.1, "eps": 1e-6}),
    ("RMSprop", {"lr": 0.002, "momentum": 0.9, "centered": True, "weight_decay": 0.01}),
    ("Adagrad", {}), ("Adagrad", {"lr": 0.05, "lr_decay": 0.01, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.05, "initial_accumulator_value": 0.1, "eps": 1e-6}),
]


@pytest.mark.parametrize("name, kwargs", TORCH_CASES, ids=[f"{n}-{i}" for i, (n, _) in
                                                          enumerate(TORCH_CASES)])
def test_matches_pytorch(name, kwargs):
    """Same weights and gradients: the same three steps as ``torch.optim`` (float64)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours_params = [rng.normal(size=(4, 3)), rng.normal(size=(1, 3))]
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in ours_params]
    ours = globals()[name](**kwargs)
    reference = getattr(torch.optim, name)(theirs, **kwargs)
    for _ in range(3):
        grads = [rng.normal(size=p.shape) for p in ours_params]
        ours.step(ours_params, grads)
        for t, g in zip(theirs, grads, strict=True):
            t.grad = torch.tensor(g)
        reference.step()
        for p, t in zip(ours_params, theirs, strict=True):
            np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name, kwargs", TORCH_CASES, ids=[f"{n}-{i}" for i, (n, _) in
                                                          enumerate(TORCH_CASES)])
def test_trains_like_pytorch(name, kwargs):
    """200 full-batch steps of a small tanh network through ``train``: the same weights as
    the same network trained by ``torch.optim`` on autograd's gradients (float64)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(60, 4)), rng.integers(0, 3, size=60)
    model = NeuralNetwork.from_sizes([4, 8, 3], hidden_activation="tanh",
                                     head_activation="softmax", dtype=np.float64, seed=2)
    w1, b1, w2, b2 = theirs = [torch.tensor(p.copy(), requires_grad=True)
                               for p in model.parameters()]
    reference = getattr(torch.optim, name)(theirs, **kwargs)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for _ in range(200):
        reference.zero_grad()
        logits = torch.tanh(Xt @ w1 + b1) @ w2 + b2
        torch.nn.functional.cross_entropy(logits, yt).backward()
        reference.step()
    train(model, X, y, CrossEntropyLoss, 200, len(X), optimizer=globals()[name](**kwargs),
          bar=False, seed=0)
    moved = 0.0
    for p, t, p0 in zip(model.parameters(), theirs, reference.param_groups[0]["params"],
                        strict=True):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=0, atol=1e-6)
        moved = max(moved, float(np.abs(p - p0.detach().numpy()).max()))
    assert moved > 0  # the parameters trained


# Hyper-parameters that give every branch of each optimizer work to do.
BUSY = {"sgd": {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
        "adam": {"weight_decay": 0.01}, "adamw": {},
        "rmsprop": {"momentum": 0.5, "centered": True, "weight_decay": 0.01},
        "adagrad": {"lr_decay": 0.1, "weight_decay": 0.01, "initial_accumulator_value": 0.1}}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_steps_in_place_keep_the_dtype_and_lower_the_loss(name, dtype):
    """Every optimizer updates the given arrays themselves, keeps their dtype, holds its
    state in the order of the parameters, and descends a quadratic bowl."""
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(3, 2)).astype(dtype), rng.normal(size=(1, 2)).astype(dtype)]
    arrays = list(params)
    optimizer = get_optimizer(name, lr=0.1, **BUSY[name])
    start = sum(float((p**2).sum()) for p in params)
    for _ in range(20):
        optimizer.step(params, [2 * p for p in params])  # gradient of sum(p^2)
    assert all(p is a and p.dtype == dtype for p, a in zip(params, arrays, strict=True))
    assert sum(float((p**2).sum()) for p in params) < 0.5 * start
    assert len(optimizer.state) == len(params)
    for p, state in zip(params, optimizer.state, strict=True):
        for s in state if isinstance(state, tuple) else [state]:
            assert s is None or (s.shape == p.shape and s.dtype == dtype)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_named_optimizer_and_repr(name):
    """The registry builds each optimizer by name; its repr shows its hyper-parameters."""
    optimizer = get_optimizer(name.upper(), lr=0.03, **BUSY[name])
    assert type(optimizer) is OPTIMIZERS[name] and optimizer.lr == 0.03
    text = repr(optimizer)
    assert text.startswith(f"{type(optimizer).__name__}(") and "lr=0.03" in text
    for arg, value in BUSY[name].items():
        assert f"{arg}={value!r}" in text
    assert "state" not in text


@pytest.mark.parametrize("cls, kwargs, message", [
    (RMSprop, {"lr": 0}, r"lr must be a positive finite number, got 0"),
    (RMSprop, {"alpha": 1.0}, r"alpha must be a number in \[0, 1\), got 1.0"),
    (RMSprop, {"eps": -1e-8}, r"eps must be a finite number >= 0, got -1e-08"),
    (RMSprop, {"weight_decay": float("nan")}, r"weight_decay must be a finite number >= 0"),
    (RMSprop, {"momentum": -0.1}, r"momentum must be a number in \[0, 1\), got -0.1"),
    (Adagrad, {"lr": -0.1}, r"lr must be a positive finite number, got -0.1"),
    (Adagrad, {"lr_decay": -1}, r"lr_decay must be a finite number >= 0, got -1"),
    (Adagrad, {"weight_decay": "0.1"}, r"weight_decay must be a finite number >= 0, got '0.1'"),
    (Adagrad, {"initial_accumulator_value": -0.5},
     r"initial_accumulator_value must be a finite number >= 0, got -0.5"),
    (Adagrad, {"eps": float("inf")}, r"eps must be a finite number >= 0, got inf"),
])
def test_bad_hyper_parameters(cls, kwargs, message):
    """Each hyper-parameter is checked, and the message names it."""
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_dropout_is_identity_at_evaluation(rng):
    """Evaluation mode: the output is the input, unchanged."""
    x = rng.normal(size=(50, 40))
    layer = Dropout(0.5, rng=0)
    assert layer.forward(x, training=False) is x
    np.testing.assert_array_equal(layer.backward(x), x)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_keeps_the_right_fraction_and_scales(rate):
    """Training mode: about 1 - rate survive, scaled by 1 / (1 - rate); the mean is kept."""
    x = np.ones((400, 500))
    out = Dropout(rate, rng=1).forward(x, training=True)
    kept = out != 0
    n = x.size
    assert abs(kept.mean() - (1 - rate)) < 4 * np.sqrt(rate * (1 - rate) / n)  # 4 sigma
    np.testing.assert_allclose(out[kept], 1 / (1 - rate))
    assert abs(out.mean() - 1) < 4 * np.sqrt(rate / (1 - rate) / n)


def test_dropout_masks_come_from_the_networks_generator(rng):
    """Same seed, same masks; the global state is not used."""
    X = rng.normal(size=(8, 5))
    outputs = []
    for _ in range(2):
        model = NeuralNetwork.from_sizes([5, 16, 3], head_activation="softmax", dropout=0.5,
                                         seed=3)
        outputs.append(model.forward(X, training=True))
    np.testing.assert_array_equal(*outputs)
    assert not np.array_equal(outputs[0], model.forward(X, training=True))


def test_schedules_follow_their_formulas():
    """Step decay and warm-up + cosine, epoch by epoch."""
    step = StepDecay(step_size=2, gamma=0.5)
    assert [step(e, 1.0) for e in range(5)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    cosine = WarmupCosine(epochs=6, warmup=2)
    rates = [cosine(e, 0.3) for e in range(6)]
    np.testing.assert_allclose(rates[:2], [0.1, 0.2])  # 0.3 * (e + 1) / 3
    np.testing.assert_allclose(rates[2:], [0.3 * (1 + np.cos(np.pi * t)) / 2
                                           for t in (0, 0.25, 0.5, 0.75)])


def test_one_cycle_rises_then_falls_along_half_cosines():
    """lr/25 at the start, lr at 30% of the training, lr/25e4 at the end; monotone in each
    phase; the midpoint of each phase halfway between its ends."""
    from nnscratch.schedules import OneCycle

    cycle = OneCycle(epochs=10)
    assert cycle(0, 1.0) == pytest.approx(1 / 25)
    assert cycle(3, 1.0) == pytest.approx(1.0)
    assert cycle(10, 1.0) == pytest.approx(1 / 25e4)
    assert cycle(1.5, 1.0) == pytest.approx((1 / 25 + 1) / 2)
    assert cycle(6.5, 1.0) == pytest.approx((1 + 1 / 25e4) / 2)
    rates = [cycle(t, 1.0) for t in np.linspace(0, 10, 201)]
    assert np.all(np.diff(rates[:61]) > 0) and np.all(np.diff(rates[60:]) < 0)
    with pytest.raises(ValueError, match=r"pct_start must be in \(0, 1\), got 1"):
        OneCycle(10, pct_start=1)


def test_one_cycle_is_set_before_every_batch(digits):
    """A per-step schedule changes the rate within an epoch: every batch of a one-epoch run
    gets its own rate, along the cycle."""
    from nnscratch.callbacks import Callback

    class Rates(Callback):
        def __init__(self):
            self.seen = []

        def on_train_batch_end(self, batch, logs=None):
            self.seen.append(self.loop.optimizer.lr)

    X, y = digits
    rates = Rates()
    model = NeuralNetwork(64, 10, 16, 1, head_activation=Softmax, seed=0)
    train(model, X[:320], y[:320], CrossEntropyLoss, 1, 32, 0.1, bar=False,
          optimizer="adam", schedule="onecycle", callbacks=[rates])
    assert len(rates.seen) == 10 and len(set(rates.seen)) == 10
    assert rates.seen[0] == pytest.approx(0.1 / 25)
    assert max(rates.seen) == rates.seen[3] and rates.seen[-1] < rates.seen[3]


def test_learning_rate_recorded_per_epoch(digits):
    """The rate used in each epoch is in the history; the optimizer's base rate is kept."""
    X, y = digits
    model = NeuralNetwork(64, 10, 16, 1, head_activation=Softmax, seed=0)
    optimizer = SGD(lr=0.2, momentum=0.5)
    history = train(model, X[:300], y[:300], CrossEntropyLoss, 4, 32, optimizer=optimizer,
                    schedule=StepDecay(step_size=1, gamma=0.5), bar=False)
    np.testing.assert_allclose(history.learning_rates, [0.2, 0.1, 0.05, 0.025])
    assert optimizer.lr == 0.2


@pytest.mark.parametrize("init, std", [
    (normal, lambda i, o: np.sqrt(1 / i)), (he, lambda i, o: np.sqrt(2 / i)),
    (glorot, lambda i, o: np.sqrt(2 / (i + o))),  # U(-a, a) has std a / sqrt(3)
])
def test_initialisers_have_their_scale(init, std):
    """Each initialiser draws weights with its standard deviation (within 3%)."""
    w = init(400, 300, np.random.default_rng(0), np.float64)
    assert w.shape == (400, 300)
    assert abs(w.std() / std(400, 300) - 1) < 0.03 and abs(w.mean()) < 0.01


def test_clip_grad_norm():
    """The global norm is clipped to max_norm, directions kept; small norms untouched."""
    grads = [np.array([3.0, 0.0]), np.array([[0.0, 4.0]])]
    assert clip_grad_norm(grads, 1.0) == 5.0
    np.testing.assert_allclose(grads[0], [0.6, 0.0])
    np.testing.assert_allclose(grads[1], [[0.0, 0.8]])
    assert clip_grad_norm(grads, 10.0) == pytest.approx(1.0)
    np.testing.assert_allclose(grads[1], [[0.0, 0.8]])


class _UnfoldedSGD(SGD):
    """SGD through ``optimizer.step``: train() folds the learning rate only for SGD itself."""


def test_plain_sgd_with_the_learning_rate_folded_in_takes_the_same_steps(digits):
    """train() back-propagates lr * dL/dz for plain SGD and steps p -= g. Same weights and
    losses as the unfolded p -= lr * g, with a schedule changing lr between epochs, and
    the stored gradients are the true gradients of the last batch afterwards."""
    X, y = digits[0][:300], digits[1][:300]
    runs = []
    for optimizer in (SGD(lr=0.2), _UnfoldedSGD(lr=0.2)):
        model = NeuralNetwork.from_sizes([64, 20, 10], head_activation=Softmax,
                                         dtype=np.float64, seed=1)
        history = train(model, X, y, CrossEntropyLoss, 3, 50, optimizer=optimizer,
                        schedule="cosine", bar=False, seed=2)
        runs.append((model, history))
    (folded, h1), (unfolded, h2) = runs
    np.testing.assert_allclose(h1.train_losses, h2.train_losses, rtol=1e-12)
    for a, b in zip(folded.parameters() + folded.gradients(),
                    unfolded.parameters() + unfolded.gradients(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)

    # one full batch: the step is exactly -lr times the gradient at the initial weights
    model = NeuralNetwork.from_sizes([64, 20, 10], head_activation=Softmax,
                                     dtype=np.float64, seed=1)
    start = model.copy()
    start.backprop(CrossEntropyLoss, start.forward(X), y)
    train(model, X, y, CrossEntropyLoss, 1, len(X), 0.2, bar=False, seed=2)
    for p, p0, g, g0 in zip(model.parameters(), start.parameters(), model.gradients(),
                            start.gradients(), strict=True):
        np.testing.assert_allclose(p, p0 - 0.2 * g0, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(g, g0, rtol=1e-12, atol=1e-15)


def test_early_stopping_restores_the_best_weights(digits):
    """With patience, training stops and the weights of the best validation epoch are kept."""
    X, y = digits
    model = NeuralNetwork(64, 10, 64, 2, head_activation=Softmax, seed=0)
    history = train(model, X[:400], y[:400], CrossEntropyLoss, 60, 16, optimizer="adam",
                    learning_rate=0.01, val_split=0.25, patience=3, bar=False, seed=0)
    assert history.stopped_early and history.epochs < 60
    best = history.best_epoch
    assert history.val_losses[best - 1] == min(history.val_losses)
    assert history.epochs == best + 3
    # the kept weights give the best epoch's validation loss again
    order = np.random.default_rng(0).permutation(400)
    X_val, y_val = X[:400][order[:100]], y[:400][order[:100]]
    assert model.loss(X_val, y_val, CrossEntropyLoss) == pytest.approx(
        history.val_losses[best - 1], rel=1e-5)


def test_a_validation_split_without_patience_keeps_the_last_weights(digits):
    """Without patience the last epoch's weights are kept, so no epoch is named the best
    one kept (before, ``best_epoch`` named the lowest validation loss, and ``info`` and the
    losses figure said "Best epoch (35, kept)" of a model holding epoch 125's weights)."""
    X, y = digits
    model = NeuralNetwork(64, 10, 64, 2, head_activation=Softmax, seed=0)
    history = train(model, X[:400], y[:400], CrossEntropyLoss, 12, 16, optimizer="adam",
                    learning_rate=0.01, val_split=0.25, bar=False, seed=0)
    assert history.epochs == 12 and not history.stopped_early
    assert np.argmin(history.val_losses) < 11  # a lower validation loss than the last's
    assert history.best_epoch is None
    order = np.random.default_rng(0).permutation(400)
    X_val, y_val = X[:400][order[:100]], y[:400][order[:100]]
    assert model.loss(X_val, y_val, CrossEntropyLoss) == pytest.approx(
        history.val_losses[-1], rel=1e-5)


@pytest.mark.parametrize("name", ["adam", "adamw"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_steps_slice_by_slice_to_the_whole_array_s_numbers(name, dtype):
    """Adam's step runs over slices of CHUNK parameters (for the cache): the same numbers,
    bit for bit, as the whole array at once, for a flat vector longer than several slices,
    a 2-D weight and a non-contiguous array (which is updated whole)."""
    size = 3 * OPTIMIZERS[name].CHUNK + 123
    results = []
    # slices on 1, 2 and 3 threads (runs of 2, 1 and 1 slices), then the whole array at once
    for chunk, threads in ((OPTIMIZERS[name].CHUNK, 1), (OPTIMIZERS[name].CHUNK, 2),
                           (OPTIMIZERS[name].CHUNK, 3), (10**9, 1)):
        rng = np.random.default_rng(0)
        params = [rng.standard_normal(size).astype(dtype),
                  rng.standard_normal((300, 700)).astype(dtype),
                  np.asfortranarray(rng.standard_normal((40, 30)).astype(dtype))]
        optimizer = OPTIMIZERS[name](lr=0.01, weight_decay=0.1)
        optimizer.CHUNK, optimizer.threads = chunk, threads
        for step in range(3):
            grads = [np.random.default_rng(step).standard_normal(p.shape).astype(dtype)
                     for p in params]
            optimizer.step(params, grads)
        results.append(params)
    for run in results[:-1]:
        for sliced, whole in zip(run, results[-1], strict=True):
            assert sliced.dtype == dtype
            np.testing.assert_array_equal(sliced, whole)


def _subnormal(a):
    return int(np.count_nonzero((a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)))


@pytest.mark.parametrize("dtype, betas, steps", [(np.float32, (0.9, 0.999), 1500),
                                                 (np.float32, (0.5, 0.9), 1500),
                                                 (np.float64, (0.5, 0.6), 2000)])
def test_adam_zeroes_moments_before_they_turn_subnormal(monkeypatch, dtype, betas, steps):
    """A parameter whose gradient stops (a weight of a pixel that no later image lights) has
    moment estimates that shrink by beta a step: without the flush they become subnormal
    numbers (slow arithmetic), with it they are zeroed first, and the parameters come out
    bit for bit the same."""
    from nnscratch import optimizers

    def run(flush):
        if not flush:
            monkeypatch.setattr(optimizers, "_flush_every", lambda beta: 0)
        p = np.linspace(-1, 1, 64).astype(dtype)
        optimizer = AdamW(lr=0.01, betas=betas)
        optimizer.step([p], [np.linspace(-3, 3, 64).astype(dtype)])
        worst = 0
        for _ in range(steps):
            optimizer.step([p], [np.zeros_like(p)])
            worst = max(worst, *(_subnormal(moment) for moment in optimizer.state[0]))
        monkeypatch.undo()
        return p, worst

    (flushed, worst_flushed), (plain, worst_plain) = run(True), run(False)
    assert worst_plain > 0  # the moments do turn subnormal without the flush
    assert worst_flushed == 0
    np.testing.assert_array_equal(flushed, plain)



@pytest.mark.parametrize("dtype, momentum, nesterov, steps", [(np.float32, 0.9, False, 1200),
                                                              (np.float32, 0.5, True, 300),
                                                              (np.float64, 0.5, False, 1500)])
def test_sgd_zeroes_velocities_before_they_turn_subnormal(monkeypatch, dtype, momentum,
                                                           nesterov, steps):
    """SGD's velocity decays by the momentum a step once the gradient stops, as Adam's
    moments do: zeroed before it turns subnormal, with the parameters bit for bit the same."""
    from nnscratch import optimizers

    def run(flush):
        if not flush:
            monkeypatch.setattr(optimizers, "_flush_every", lambda beta: 0)
        p = np.linspace(-1, 1, 64).astype(dtype)
        optimizer = SGD(lr=0.01, momentum=momentum, nesterov=nesterov)
        optimizer.step([p], [np.linspace(-3, 3, 64).astype(dtype)])
        worst = 0
        for _ in range(steps):
            optimizer.step([p], [np.zeros_like(p)])
            worst = max(worst, _subnormal(optimizer.state[0]))
        monkeypatch.undo()
        return p, worst, optimizer.t

    (flushed, worst_flushed, t), (plain, worst_plain, _) = run(True), run(False)
    assert worst_plain > 0
    assert worst_flushed == 0
    assert t == steps + 1
    np.testing.assert_array_equal(flushed, plain)


def test_sgd_resumes_from_a_state_without_a_step_count():
    """Checkpoints written before SGD counted its steps (``t`` None) still load; the count
    starts from 0."""
    p = np.ones(4, np.float32)
    before = SGD(lr=0.1, momentum=0.9)
    before.step([p], [np.full(4, 0.5, np.float32)])
    state = {**before.state_dict(), "t": None}
    after = SGD(lr=0.1, momentum=0.9)
    after.load_state_dict(state, [p])
    assert after.t == 0
    np.testing.assert_array_equal(after.state[0], before.state[0])


def test_the_training_loop_runs_adam_on_as_many_threads_as_blas(monkeypatch):
    """The step's threads follow BLAS's (so --threads 1 keeps it on one core), for the
    loop's steps only: afterwards the optimizer is as it was."""
    from threadpoolctl import threadpool_limits

    from nnscratch import training

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 4)).astype(np.float32), rng.integers(0, 3, 64)
    for blas in (1, 3):
        monkeypatch.setattr(training, "_blas_threads", lambda blas=blas: blas)
        net = NeuralNetwork.from_sizes([4, 8, 3], head_activation=Softmax, seed=0)
        optimizer, seen = AdamW(lr=0.01), []
        train(net, X, y, CrossEntropyLoss, 2, 16, optimizer=optimizer, bar=False, seed=0,
              on_epoch=lambda h, o=optimizer, seen=seen: seen.append(o.threads))
        assert seen == [blas, blas]
        assert "threads" not in vars(optimizer) and optimizer.threads == 1
    monkeypatch.undo()
    with threadpool_limits(1, user_api="blas"):
        assert training._blas_threads() == 1
