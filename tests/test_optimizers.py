"""Optimizers, schedules, initialisers and regularisation: each against its formula."""

import numpy as np
import pytest

from nnscratch import (
    SGD,
    Adam,
    AdamW,
    CrossEntropyLoss,
    Dropout,
    NeuralNetwork,
    Softmax,
    StepDecay,
    WarmupCosine,
    clip_grad_norm,
    train,
)
from nnscratch.initializers import glorot, he, normal


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
@pytest.mark.parametrize("optimizer, expected", [
    (SGD(lr=0.1), [0.95, 0.90, 0.85]),
    (SGD(lr=0.1, momentum=0.9), [0.95, 0.855, 0.7195]),
    (SGD(lr=0.1, momentum=0.9, nesterov=True), [0.905, 0.7695, 0.59755]),
    (SGD(lr=0.1, weight_decay=0.1), [0.94, 0.8806, 0.821794]),
    (Adam(lr=0.1), [0.9, 0.8, 0.7]),
    (AdamW(lr=0.1, weight_decay=0.1), [0.89, 0.7811, 0.673289]),
], ids=["sgd", "momentum", "nesterov", "sgd-weight-decay", "adam", "adamw"])
def test_first_three_steps_by_hand(optimizer, expected):
    """Each optimizer's first three steps match the update formula worked out by hand."""
    np.testing.assert_allclose(_three_steps(optimizer), expected, rtol=0, atol=2e-7)


def test_pytorch_defaults_and_names():
    """Hyper-parameter names and defaults are PyTorch's."""
    assert (Adam().lr, Adam().betas, Adam().eps, Adam().weight_decay) == \
        (0.001, (0.9, 0.999), 1e-8, 0.0)
    assert AdamW().weight_decay == 0.01
    assert (SGD().momentum, SGD().nesterov, SGD().weight_decay) == (0.0, False, 0.0)


TORCH_CASES = [
    ("SGD", {"lr": 0.1}), ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.01}), ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01}), ("AdamW", {"lr": 0.02, "weight_decay": 0.3, "eps": 1e-6}),
]


@pytest.mark.parametrize("name, kwargs", TORCH_CASES, ids=[f"{n}-{i}" for i, (n, _) in
                                                          enumerate(TORCH_CASES)])
def test_matches_pytorch(name, kwargs):
    """Same weights and gradients: the same three steps as ``torch.optim`` (float64)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours_params = [rng.normal(size=(4, 3)), rng.normal(size=(1, 3))]
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in ours_params]
    ours = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW}[name](**kwargs)
    reference = getattr(torch.optim, name)(theirs, **kwargs)
    for _ in range(3):
        grads = [rng.normal(size=p.shape) for p in ours_params]
        ours.step(ours_params, grads)
        for t, g in zip(theirs, grads, strict=True):
            t.grad = torch.tensor(g)
        reference.step()
        for p, t in zip(ours_params, theirs, strict=True):
            np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-12, atol=1e-14)


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
