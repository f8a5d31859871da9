"""The engine's behaviour: one SGD step by hand, stability, determinism, dtypes, the API."""

import inspect

import numpy as np
import pytest

from nnscratch import (
    BinaryCrossEntropyLoss,
    CrossEntropyLoss,
    Layer,
    MeanSquaredErrorLoss,
    NeuralNetwork,
    Relu,
    Sigmoid,
    Softmax,
    Tanh,
    accuracy,
    train,
)


def _hand_network():
    """The 2-2-1 network of the worked example below (ReLU hidden, no head activation)."""
    model = NeuralNetwork(2, 1, 2, 1, head_activation=None, hidden_activation=Relu,
                          dtype=np.float64, seed=0)
    first, head = model.layers
    first.weights[...] = [[0.1, -0.5], [0.3, 0.1]]
    first.bias[...] = [[0.0, 0.1]]
    head.weights[...] = [[0.5], [-0.3]]
    head.bias[...] = [[0.2]]
    return model


# Worked by hand, x = [1, 2], y = 1, MSE, lr = 0.1:
#   z1 = x W1 + b1 = [0.1 + 0.6, -0.5 + 0.2 + 0.1] = [0.7, -0.2];  a1 = relu(z1) = [0.7, 0]
#   z2 = a1 W2 + b2 = 0.35 + 0 + 0.2 = 0.55;  L = (0.55 - 1)^2 = 0.2025
#   dL/dz2 = 2 (0.55 - 1) / 1 = -0.9
#   dW2 = a1^T dz2 = [[-0.63], [0]];  db2 = [-0.9]
#   dL/da1 = dz2 W2^T = [-0.45, 0.27];  dz1 = [-0.45, 0] (the ReLU is off for unit 2)
#   dW1 = x^T dz1 = [[-0.45, 0], [-0.9, 0]];  db1 = [-0.45, 0]
#   after W -= 0.1 dW: W1 = [[0.145, -0.5], [0.39, 0.1]], b1 = [0.045, 0.1],
#                      W2 = [[0.563], [-0.3]],          b2 = [0.29]
EXPECTED_AFTER_STEP = [[[0.145, -0.5], [0.39, 0.1]], [[0.045, 0.1]], [[0.563], [-0.3]],
                       [[0.29]]]


def test_one_sgd_step_by_hand_through_backward():
    """The blog's ``model.backward(grad, learning_rate)`` takes exactly the hand-made step."""
    model = _hand_network()
    x, y = np.array([[1.0, 2.0]]), np.array([[1.0]])
    y_pred = model.forward(x)
    assert y_pred[0, 0] == pytest.approx(0.55)
    assert MeanSquaredErrorLoss.loss(y_pred, y) == pytest.approx(0.2025)
    np.testing.assert_allclose(MeanSquaredErrorLoss.grad(y_pred, y), [[-0.9]])
    model.backward(MeanSquaredErrorLoss.grad(y_pred, y), 0.1)
    for got, want in zip(model.parameters(), EXPECTED_AFTER_STEP, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_one_sgd_step_by_hand_through_train():
    """``train`` with one sample, one epoch, takes the same step."""
    model = _hand_network()
    history = train(model, [[1.0, 2.0]], [[1.0]], MeanSquaredErrorLoss, epochs=1,
                    batch_size=1, learning_rate=0.1, bar=False)
    assert history.train_losses == [pytest.approx(0.2025)]
    for got, want in zip(model.parameters(), EXPECTED_AFTER_STEP, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_gradients_are_stored_not_applied():
    """``backward`` without a learning rate leaves the weights alone and stores gradients."""
    model = _hand_network()
    before = [p.copy() for p in model.parameters()]
    model.forward(np.array([[1.0, 2.0]]))
    model.backward(np.array([[-0.9]]))
    for p, b in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p, b)
    np.testing.assert_allclose(model.layers[0].grad_weights, [[-0.45, 0], [-0.9, 0]])
    np.testing.assert_allclose(model.layers[1].grad_bias, [[-0.9]])


def test_first_layer_skips_the_unused_input_gradient(rng, monkeypatch):
    """In training the first layer computes no dL/dx; asking for it gives the right shape."""
    model = NeuralNetwork(5, 3, 4, 2, head_activation=Softmax, seed=0)
    X, y = rng.normal(size=(6, 5)), rng.integers(0, 3, 6)
    calls = []
    original = Layer.backward_z

    def spy(self, d_z, learning_rate=None, *, input_grad=True):
        calls.append(input_grad)
        return original(self, d_z, learning_rate, input_grad=input_grad)

    monkeypatch.setattr(Layer, "backward_z", spy)
    _, d_input = model.backprop(CrossEntropyLoss, model.forward(X), y)
    assert d_input is None and calls == [True, True, False]
    _, d_input = model.backprop(CrossEntropyLoss, model.forward(X), y, input_grad=True)
    assert d_input.shape == (6, 5)


@pytest.mark.parametrize("scale", [1e4, -1e4, 1e30])
def test_softmax_cross_entropy_at_extreme_logits(scale):
    """Logits of +-1e4: finite loss, exact loss value and exact fused gradient, no warning."""
    model = NeuralNetwork.from_sizes([3, 3], head_activation=Softmax, dtype=np.float64)
    model.layers[0].weights[...] = np.eye(3)  # the input *is* the logits
    logits = np.array([[scale, -scale, 0.0], [-scale, scale, 0.0]])
    labels = np.array([1, 1])
    p = model.forward(logits)
    loss, _ = model.backprop(CrossEntropyLoss, p, labels)
    # row 0: log-sum-exp = max(scale, 0) and z_y = -scale; row 1: the right class wins or ties
    expected_rows = [max(scale, -scale, 0) + scale, max(scale, -scale, 0) - scale]
    assert np.isfinite(loss) and loss == pytest.approx(np.mean(expected_rows))
    one_hot = np.eye(3)[labels]
    np.testing.assert_allclose(model.output_grad, (p - one_hot) / 2, atol=0)
    assert np.isfinite(model.layers[0].grad_weights).all()


@pytest.mark.parametrize("activation", [Sigmoid, Tanh, Softmax, Relu])
def test_activations_finite_at_any_magnitude(activation):
    """+-1e4 (and 1e30) never overflow or warn (pytest turns warnings into errors)."""
    x = np.array([[-1e30, -1e4, -50.0, 0.0, 50.0, 1e4, 1e30]], dtype=np.float32)
    act = activation()
    out = act.forward(x)
    grad = act.backward(np.ones_like(x))
    assert np.isfinite(out).all() and np.isfinite(grad).all()
    assert out.dtype == grad.dtype == np.float32


def test_sigmoid_values_are_exact_in_both_tails():
    """The stable sigmoid matches 1 / (1 + exp(-x)) where that formula is safe."""
    x = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(Sigmoid().forward(x), 1 / (1 + np.exp(-x)), rtol=1e-12)


def test_cross_entropy_from_the_softmax_log_probabilities(rng):
    """The loss read from Softmax's kept log-probabilities equals the loss from the logits
    and the textbook -mean(log p_y), for labels and for soft one-hot targets."""
    z = rng.standard_normal((7, 4)) * 3
    labels = rng.integers(0, 4, 7)
    soft = rng.dirichlet(np.ones(4), 7)
    softmax = Softmax()
    p = softmax.forward(z)
    np.testing.assert_allclose(np.exp(softmax.log_output), p, rtol=1e-15)
    textbook = -np.mean(np.log(p[np.arange(7), labels]))
    for y, expected in [(labels, textbook), (soft, -np.mean(np.sum(soft * np.log(p), 1)))]:
        assert CrossEntropyLoss.loss_from_log_probs(softmax.log_output, y) == \
            pytest.approx(expected, rel=1e-12)
        assert CrossEntropyLoss.loss_from_logits(z, y) == pytest.approx(expected, rel=1e-12)


def test_softmax_backward_is_the_true_vjp(rng):
    """Softmax.backward equals the explicit Jacobian product J^T g."""
    z, g = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    softmax = Softmax()
    p = softmax.forward(z)
    got = softmax.backward(g)
    for row in range(4):
        jacobian = np.diag(p[row]) - np.outer(p[row], p[row])
        np.testing.assert_allclose(got[row], jacobian.T @ g[row], rtol=1e-12, atol=1e-15)


def test_losses_finite_at_extreme_outputs():
    """Losses from probabilities stay finite at p = 0 and 1; BCE from logits at +-1e4."""
    p = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    y = np.array([[0.0, 1.0], [0.0, 1.0]], dtype=np.float32)
    assert np.isfinite(CrossEntropyLoss.loss(p, y))
    assert np.isfinite(CrossEntropyLoss.grad(p, y)).all()
    assert np.isfinite(BinaryCrossEntropyLoss.loss(p, y))
    assert np.isfinite(BinaryCrossEntropyLoss.grad(p, y)).all()
    z = np.array([[1e4, -1e4]])
    assert BinaryCrossEntropyLoss.loss_from_logits(z, np.array([[0.0, 0.0]])) == \
        pytest.approx(1e4 / 2)


def _train_digits(digits, seed, epochs=2):
    X, y = digits
    model = NeuralNetwork(64, 10, 16, 2, head_activation=Softmax, seed=seed)
    history = train(model, X[:600], np.eye(10)[y[:600]], CrossEntropyLoss, epochs, 32, 0.05,
                    X_test=X[600:800], y_test=np.eye(10)[y[600:800]], bar=False)
    return model, history


def test_same_seed_is_bit_identical(digits):
    """Same seed: identical weights and losses, bit for bit."""
    (m1, h1), (m2, h2) = _train_digits(digits, 7), _train_digits(digits, 7)
    assert h1.train_losses == h2.train_losses and h1.eval_losses == h2.eval_losses
    for a, b in zip(m1.parameters(), m2.parameters(), strict=True):
        assert np.array_equal(a, b)


def test_different_seeds_differ(digits):
    """Different seeds: different initial weights, so different losses."""
    (_, h1), (_, h2) = _train_digits(digits, 1), _train_digits(digits, 2)
    assert h1.train_losses != h2.train_losses


def test_global_numpy_random_state_is_never_used(digits):
    """Building and training reads and writes no global ``np.random`` state."""
    np.random.seed(99)  # noqa: NPY002 (the legacy global state is what is checked)
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    _train_digits(digits, None, epochs=1)
    NeuralNetwork(4, 2, 3, 1, seed=None)
    assert np.array_equal(np.random.get_state()[1], state)  # noqa: NPY002


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_end_to_end(dtype, rng):
    """Parameters, activations and gradients keep the network's dtype (no upcast)."""
    model = NeuralNetwork.from_sizes([6, 5, 4, 3], head_activation="softmax", dtype=dtype,
                                     dropout=0.2, seed=0)
    X = rng.normal(size=(8, 6))  # float64 input is converted once
    out = model.forward(X, training=True)
    model.backprop(CrossEntropyLoss, out, rng.integers(0, 3, 8))
    arrays = [out, *model.parameters(), *model.gradients(), model.output_grad]
    arrays += [layer.z for layer in model.dense_layers]
    assert {a.dtype for a in arrays} == {np.dtype(dtype)}


def test_blog_signatures():
    """The blog's constructor and ``train`` parameters, in the blog's order."""
    assert list(inspect.signature(NeuralNetwork).parameters)[:6] == [
        "input_size", "output_size", "hidden_layer_size", "num_hidden_layers",
        "head_activation", "hidden_activation"]
    assert list(inspect.signature(train).parameters)[:10] == [
        "model", "X_train", "y_train", "loss_fn", "epochs", "batch_size", "learning_rate",
        "X_test", "y_test", "bar"]
    assert list(inspect.signature(Layer).parameters)[:3] == [
        "input_size", "output_size", "activation"]


def test_from_sizes_builds_any_widths():
    """``from_sizes`` chains arbitrary widths, and the blog constructor equal ones."""
    model = NeuralNetwork.from_sizes([784, 256, 128, 10], hidden_activation=Relu,
                                     head_activation=Softmax, seed=0)
    assert [p.shape for p in model.parameters()] == [
        (784, 256), (1, 256), (256, 128), (1, 128), (128, 10), (1, 10)]
    assert model.sizes == [784, 256, 128, 10]
    assert NeuralNetwork(784, 10, 32, 2).sizes == [784, 32, 32, 10]
    assert model.n_parameters() == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10


def test_loss_accepts_class_instance_and_name(rng):
    """``loss_fn`` may be the class (as the blog passes it), an instance or a name."""
    X, y = rng.normal(size=(20, 3)), rng.normal(size=(20, 1))
    results = []
    for loss_fn in (MeanSquaredErrorLoss, MeanSquaredErrorLoss(), "mse"):
        model = NeuralNetwork(3, 1, 4, 1, seed=0, dtype=np.float64)
        results.append(train(model, X, y, loss_fn, 3, 8, 0.01, bar=False, seed=1).train_losses)
    assert results[0] == results[1] == results[2]


def test_history_unpacks_like_the_blog(digits):
    """``train_losses, eval_losses = train(...)``, one value per epoch."""
    _, history = _train_digits(digits, 0, epochs=3)
    train_losses, eval_losses = history
    assert len(train_losses) == len(eval_losses) == 3
    assert train_losses[-1] < train_losses[0]


def test_predict_predict_proba_and_accuracy(digits):
    """Classifier outputs: probabilities sum to 1, predict is their argmax."""
    X, y = digits
    model = NeuralNetwork(64, 10, 32, 1, head_activation=Softmax, seed=0)
    train(model, X[:1500], y[:1500], CrossEntropyLoss, 15, 32, 0.1, bar=False)
    proba = model.predict_proba(X[1500:])
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(model.predict(X[1500:]), proba.argmax(axis=1))
    acc = accuracy(model, X[1500:], np.eye(10)[y[1500:]])
    assert acc == model.score(X[1500:], y[1500:]) and acc > 0.85


def test_sigmoid_head_binary_classifier(rng):
    """A sigmoid head with binary cross-entropy learns a linearly separable problem."""
    X = rng.normal(size=(400, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(float).reshape(-1, 1)
    model = NeuralNetwork(2, 1, 8, 1, head_activation=Sigmoid, seed=0)
    train(model, X, y, BinaryCrossEntropyLoss, 30, 16, 0.5, bar=False)
    assert model.predict_proba(X).shape == (400, 2)
    assert np.mean(model.predict(X) == y[:, 0]) > 0.95


def test_repr_names_the_architecture():
    """Every class has a readable repr."""
    model = NeuralNetwork(4, 3, 5, 2, head_activation=Softmax)
    assert repr(model) == ("NeuralNetwork(4-5-5-3, hidden='relu', head='softmax', "
                           "dtype=float32, dropout=0.0)")
    assert repr(model.layers[0]) == "Layer(4, 5, activation='relu', dtype=float32)"


def test_pickled_model_carries_no_cached_batch(rng):
    """Pickling after a big forward pass stores only the parameters, and still works."""
    import pickle

    model = NeuralNetwork(50, 3, 20, 2, head_activation=Softmax, seed=0)
    X = rng.normal(size=(5000, 50))
    expected = model.predict_proba(X)
    blob = pickle.dumps(model)
    assert len(blob) < 2 * model.n_parameters() * 4 + 20_000  # no (5000, 50) input inside
    clone = pickle.loads(blob)
    np.testing.assert_array_equal(clone.predict_proba(X), expected)
    flat, _ = clone.flat_parameters()
    assert all(np.shares_memory(p, flat) for p in clone.parameters())  # relinked
    flat[...] = 0  # and independent of the original
    assert model.parameters()[0].any()
