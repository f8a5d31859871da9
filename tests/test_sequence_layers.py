"""The sequence layers and new activations: finite differences, PyTorch, masks, errors."""

import json

import numpy as np
import pytest

from nnscratch.activations import ACTIVATIONS, get_activation
from nnscratch.gradcheck import check_layer_gradients
from nnscratch.layers import (
    GRU,
    LAYERS,
    LSTM,
    RNN,
    Dropout,
    Embedding,
    Layer,
    LayerNorm,
    MultiHeadAttention,
    Residual,
    layer_from_config,
    layer_from_spec,
    layer_spec,
    layer_state,
    load_layer_state,
)

F64 = np.float64
NEW_ACTIVATIONS = ["leaky_relu", "elu", "selu", "gelu", "silu", "softplus"]


def _layers(dtype=F64):
    """One of each layer with parameters, small, seeded (non-trivial affine for LayerNorm)."""
    norm = LayerNorm(6, dtype=dtype)
    norm.weights[...] = np.linspace(0.5, 1.5, 6)
    norm.bias[...] = np.linspace(-0.3, 0.4, 6)
    return {
        "LayerNorm": norm,
        "Dense3D": Layer(6, 5, "tanh", rng=1, dtype=dtype),
        "MultiHeadAttention": MultiHeadAttention(6, 2, rng=2, dtype=dtype),
        "MultiHeadAttention-causal": MultiHeadAttention(6, 3, causal=True, rng=3,
                                                        dtype=dtype),
        "RNN": RNN(6, 5, rng=4, dtype=dtype),
        "LSTM": LSTM(6, 5, rng=5, dtype=dtype),
        "GRU": GRU(6, 5, rng=6, dtype=dtype),
        "Residual": Residual(LayerNorm(6, dtype=dtype), Layer(6, 7, "gelu", rng=7, dtype=dtype),
                             Layer(7, 6, rng=8, dtype=dtype)),
    }


def _assert_close(errors, tol=1e-7):
    worst = max(errors, key=errors.get)
    assert errors[worst] < tol, f"{worst}: relative error {errors[worst]:.2e}"


# --- finite differences --------------------------------------------------------------------
@pytest.mark.parametrize("name", list(_layers()))
def test_layer_gradients_match_finite_differences(name, rng):
    """The input's and every parameter's gradient, float64, central differences."""
    layer = _layers()[name]
    for p in layer.parameters():  # off the initial values (zero biases, unit gains)
        p += rng.normal(scale=0.1, size=p.shape)
    errors = check_layer_gradients(layer, rng.normal(size=(3, 4, 6)))
    assert set(errors) == {n for n, _ in layer.named_parameters()} | {"input"}
    _assert_close(errors)


def test_embedding_gradient_matches_finite_differences(rng):
    """Repeated indices add up in the table's gradient; the indices get none (None)."""
    layer = Embedding(5, 3, rng=0, dtype=F64)
    idx = rng.integers(0, 5, size=(4, 6))
    _assert_close(check_layer_gradients(layer, idx))
    layer.forward(idx)
    assert layer.backward(np.ones((4, 6, 3))) is None


def test_embedding_large_table_uses_the_same_gradient(rng, monkeypatch):
    """The scatter-add fallback (a big table) gives the one-hot product's gradient."""
    import nnscratch.embedding as embedding

    layer = Embedding(50, 4, rng=0, dtype=F64)
    idx, d = rng.integers(0, 50, size=(3, 7)), rng.normal(size=(3, 7, 4))
    layer.forward(idx)
    layer.backward(d)
    by_product = layer.grad_weights.copy()
    monkeypatch.setattr(embedding, "_ONE_HOT_LIMIT", 0)
    layer.backward(d)
    np.testing.assert_allclose(layer.grad_weights, by_product, atol=1e-12)
    expected = np.zeros((50, 4))
    for i, row in zip(idx.ravel(), d.reshape(-1, 4), strict=True):
        expected[i] += row
    np.testing.assert_allclose(by_product, expected, atol=1e-12)


@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
def test_activation_gradients_match_finite_differences(name, rng):
    """Each new activation's derivative, away from a kink (leaky_relu at 0)."""
    x = rng.normal(scale=2, size=(4, 5))
    x[np.abs(x) < 1e-3] = 0.5
    layer = Layer(5, 5, name, rng=1, dtype=F64)
    layer.weights[...] = np.eye(5)
    errors = check_layer_gradients(layer, x)
    _assert_close(errors)


def test_dropout_in_attention_is_back_propagated(rng):
    """With attention dropout, a frozen mask gives matching gradients (backward uses it)."""
    layer = MultiHeadAttention(6, 2, causal=True, dropout=0.3, rng=5, dtype=F64)
    x = rng.normal(size=(2, 5, 6))
    layer.forward(x, training=True)
    keep = layer.keep
    assert keep is not None and (keep == 0).any()

    # The same mask every evaluation: swap the Generator for one that repeats its draw.
    draws = layer.rng.random(keep.shape)

    class Repeat:
        def random(self, shape, dtype):
            return draws.astype(dtype)

    layer.rng = Repeat()
    _assert_close(check_layer_gradients(layer, x, training=True))
    out_eval = layer.forward(x, training=False)
    assert layer.keep is None and np.isfinite(out_eval).all()


# --- behaviour -----------------------------------------------------------------------------
def test_causal_attention_never_sees_later_positions(rng):
    """Changing position j leaves every output before j exactly unchanged."""
    layer = MultiHeadAttention(8, 2, causal=True, rng=0)
    x = rng.normal(size=(2, 6, 8)).astype(np.float32)
    out = layer.forward(x)
    for j in range(6):
        changed = x.copy()
        changed[:, j] += 10
        out_changed = layer.forward(changed)
        np.testing.assert_array_equal(out_changed[:, :j], out[:, :j])
        assert not np.allclose(out_changed[:, j:], out[:, j:])
    probs = layer.probs
    assert np.all(probs[..., np.triu_indices(6, k=1)[0], np.triu_indices(6, k=1)[1]] == 0)


def test_attention_without_mask_sees_every_position(rng):
    """Without ``causal`` the first output depends on the last input."""
    layer = MultiHeadAttention(8, 4, rng=0)
    x = rng.normal(size=(1, 5, 8)).astype(np.float32)
    changed = x.copy()
    changed[:, -1] += 1
    assert not np.allclose(layer.forward(changed)[:, 0], layer.forward(x)[:, 0])


def test_attention_softmax_is_stable_for_huge_scores():
    """Inputs of 1e4 (scores ~1e8) stay finite and warning-free."""
    layer = MultiHeadAttention(4, 1, causal=True, rng=0)
    x = np.full((1, 3, 4), 1e4, dtype=np.float32)
    out = layer.forward(x)
    assert np.isfinite(out).all()
    assert np.isfinite(layer.backward(np.ones_like(out))).all()


def test_rnn_one_step_is_the_dense_step_it_unrolls_to(rng):
    """Over one step from the zero state, h = tanh(x W_ih^T + b_ih + b_hh): a tanh Dense."""
    rnn = RNN(4, 3, rng=0, dtype=F64)
    dense = Layer(4, 3, "tanh", dtype=F64)
    dense.weights[...] = rnn.weight_ih.T
    dense.bias[...] = rnn.bias_ih + rnn.bias_hh
    x = rng.normal(size=(5, 1, 4))
    np.testing.assert_allclose(rnn.forward(x)[:, 0], dense.forward(x[:, 0]), rtol=1e-12)
    d = rng.normal(size=(5, 1, 3))
    np.testing.assert_allclose(rnn.backward(d)[:, 0], dense.backward(d[:, 0]), rtol=1e-12)
    np.testing.assert_allclose(rnn.grad_weight_ih, dense.grad_weights.T, rtol=1e-12)
    np.testing.assert_allclose(rnn.grad_bias_ih, dense.grad_bias[0], rtol=1e-12)
    np.testing.assert_array_equal(rnn.grad_weight_hh, 0)  # h_0 = 0 multiplied W_hh


def test_dense_on_sequences_equals_dense_on_rows(rng):
    """``Layer`` on (N, T, E) is ``Layer`` on the (N*T, E) rows, forward and backward."""
    layer = Layer(5, 3, "gelu", rng=0)
    x = rng.normal(size=(2, 4, 5)).astype(np.float32)
    d = rng.normal(size=(2, 4, 3)).astype(np.float32)
    out = layer.forward(x)
    dx = layer.backward(d)
    gw = layer.grad_weights.copy()
    assert out.shape == (2, 4, 3) and dx.shape == (2, 4, 5)
    np.testing.assert_array_equal(out.reshape(8, 3), layer.forward(x.reshape(8, 5)))
    np.testing.assert_array_equal(dx.reshape(8, 5), layer.backward(d.reshape(8, 3)))
    np.testing.assert_array_equal(gw, layer.grad_weights)


def test_residual_adds_its_input(rng):
    inner = Layer(3, 3, rng=0, dtype=F64)
    x = rng.normal(size=(2, 3))
    np.testing.assert_allclose(Residual(inner).forward(x), x + inner.forward(x))


def test_layernorm_normalises_the_last_axis(rng):
    x = rng.normal(3, 5, size=(2, 3, 8))
    y = LayerNorm(8, dtype=F64).forward(x)
    np.testing.assert_allclose(y.mean(axis=-1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=-1), 1, rtol=1e-4)  # eps = 1e-5 shrinks it a bit


@pytest.mark.parametrize("name", [n for n in _layers() if n != "Residual"] + ["Embedding"])
def test_float32_in_float32_out(name, rng):
    """No accidental float64: outputs, input gradients and parameter gradients keep float32."""
    if name == "Embedding":
        layer, x = Embedding(7, 6, rng=0), rng.integers(0, 7, size=(3, 4))
    else:
        layer, x = _layers(np.float32)[name], rng.normal(size=(3, 4, 6)).astype(np.float32)
    out = layer.forward(x, training=True)
    assert out.dtype == np.float32
    d = layer.backward(np.ones_like(out))
    assert d is None or d.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.gradients())
    assert all(p.dtype == np.float32 for p in layer.parameters())


@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
def test_activations_keep_float32_and_stay_finite(name):
    x = np.array([[-1e4, -30, -1, 0, 1, 30, 1e4]], dtype=np.float32)
    act = get_activation(name)
    y = act.forward(x)
    g = act.backward(np.ones_like(x))
    assert y.dtype == np.float32 and g.dtype == np.float32
    assert np.isfinite(y).all() and np.isfinite(g).all()


def test_gradients_are_written_in_place(rng):
    """backward overwrites the same gradient arrays (optimizers keep references to them)."""
    for layer in _layers(np.float32).values():
        grads = layer.gradients()
        out = layer.forward(rng.normal(size=(2, 3, 6)).astype(np.float32))
        layer.backward(np.ones_like(out))
        assert all(a is b for a, b in zip(grads, layer.gradients(), strict=True))
        assert any(np.any(g != 0) for g in grads)


def test_learning_rate_takes_an_sgd_step(rng):
    layer = LSTM(3, 2, rng=0, dtype=F64)
    before = [p.copy() for p in layer.parameters()]
    out = layer.forward(rng.normal(size=(2, 4, 3)))
    layer.backward(np.ones_like(out), 0.5)
    for p, b, g in zip(layer.parameters(), before, layer.gradients(), strict=True):
        np.testing.assert_allclose(p, b - 0.5 * g)


# --- errors --------------------------------------------------------------------------------
def test_embedding_rejects_bad_indices():
    layer = Embedding(5, 3, rng=0)
    with pytest.raises(ValueError, match=r"Embedding\(5, 3, .*\) expects indices in \[0, 5\), "
                                         r"got 5"):
        layer.forward(np.array([[0, 5]]))
    with pytest.raises(ValueError, match=r"expects indices in \[0, 5\), got -1"):
        layer.forward(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match="expects integer indices, got an array of float64"):
        layer.forward(np.array([[0.0, 1.0]]))


@pytest.mark.parametrize("layer, x, expected", [
    (LayerNorm(8), np.zeros((2, 3, 7)), r"LayerNorm\(8, dtype=float32\) expects inputs of "
                                        r"shape \(\.\.\., 8\), got \(2, 3, 7\)"),
    (MultiHeadAttention(8, 2), np.zeros((2, 8)), r"MultiHeadAttention\(embed_dim=8, "
                                                 r".*expects inputs of shape \(N, T, 8\), "
                                                 r"got \(2, 8\)"),
    (RNN(4, 3), np.zeros((2, 5, 3)), r"RNN\(input_size=4, .*expects inputs of shape "
                                     r"\(N, T, 4\), got \(2, 5, 3\)"),
    (LSTM(4, 3), np.zeros((2, 4)), r"LSTM\(.*\(N, T, 4\), got \(2, 4\)"),
    (GRU(4, 3), np.zeros((2, 5, 6)), r"GRU\(.*\(N, T, 4\), got \(2, 5, 6\)"),
    (Layer(4, 3), np.zeros((2, 5, 6)), r"Layer\(4, 3, .*expects inputs of shape \(\.\.\., 4\), "
                                       r"got \(2, 5, 6\)"),
    (Residual(Layer(4, 3)), np.zeros((2, 5, 4)), r"Residual: its layers turn \(2, 5, 4\) into "
                                                 r"\(2, 5, 3\)"),
])
def test_wrong_shapes_name_the_layer_and_the_expected_shape(layer, x, expected):
    with pytest.raises(ValueError, match=expected):
        layer.forward(x.astype(np.float32))


@pytest.mark.parametrize("make, expected", [
    (lambda: MultiHeadAttention(10, 3), "num_heads must divide embed_dim, got embed_dim=10 "
                                        "and num_heads=3"),
    (lambda: Embedding(0, 3), "num_embeddings"),
    (lambda: RNN(3, 0), "hidden_size"),
    (lambda: LayerNorm((3, 4)), "normalized_shape must be an int or"),
    (lambda: GRU(3, 2, dtype=np.int32), "dtype must be float32 or float64"),
    (lambda: MultiHeadAttention(4, 2, dropout=1.0), "dropout"),
])
def test_bad_constructor_arguments(make, expected):
    with pytest.raises(ValueError, match=expected):
        make()


# --- registry ------------------------------------------------------------------------------
def _stack(dtype):
    """A small model using every registered layer, each feeding the next."""
    return [Embedding(9, 6, rng=0, dtype=dtype), LayerNorm(6, dtype=dtype),
            Residual(LayerNorm(6, dtype=dtype), MultiHeadAttention(6, 2, causal=True, rng=1,
                                                                   dtype=dtype)),
            Residual(Layer(6, 8, "gelu", rng=2, dtype=dtype), Layer(8, 6, rng=3, dtype=dtype)),
            RNN(6, 5, rng=4, dtype=dtype), LSTM(5, 5, rng=5, dtype=dtype),
            GRU(5, 6, rng=6, dtype=dtype), Dropout(0.2),
            MultiHeadAttention(6, 3, rng=7, dtype=dtype), Layer(6, 9, "softmax", rng=8,
                                                               dtype=dtype)]


@pytest.mark.parametrize("dtype", [np.float32, F64])
def test_every_layer_rebuilds_from_its_json_spec(dtype, rng):
    """spec -> JSON -> layers, arrays by name: the same parameters and the same outputs."""
    stack = _stack(dtype)
    assert {type(layer).__name__ for layer in stack} == set(LAYERS)
    for layer in stack:
        for p in layer.parameters():
            p += rng.normal(scale=0.1, size=p.shape).astype(dtype)
    specs = json.loads(json.dumps([layer_spec(layer) for layer in stack]))
    arrays = {k: v.copy() for i, layer in enumerate(stack)
              for k, v in layer_state(layer, f"{i}.").items()}
    rebuilt = [layer_from_spec(spec, dtype) for spec in specs]
    for i, layer in enumerate(rebuilt):
        load_layer_state(layer, arrays, f"{i}.")
    a = b = rng.integers(0, 9, size=(2, 4))
    for old, new in zip(stack, rebuilt, strict=True):
        assert repr(old) == repr(new)
        for p, q in zip(old.parameters(), new.parameters(), strict=True):
            assert p.dtype == q.dtype == dtype
            np.testing.assert_array_equal(p, q)
        a, b = old.forward(a), new.forward(b)
        np.testing.assert_array_equal(a, b)
    assert a.shape == (2, 4, 9) and a.dtype == dtype


def test_a_layer_outside_the_registry_is_refused():
    class Mine(Layer):
        pass

    with pytest.raises(ValueError, match="a model file cannot store a Mine layer"):
        layer_spec(Mine(2, 2))


def test_registry_errors():
    with pytest.raises(ValueError, match="unknown layer type 'Conv9'; expected one of"):
        layer_from_config("Conv9", {})
    with pytest.raises(ValueError, match="the config of a LayerNorm layer does not fit it"):
        layer_from_config("LayerNorm", {"size": 3})
    layer = LayerNorm(4)
    with pytest.raises(ValueError, match=r"the saved arrays lack '0.bias'"):
        load_layer_state(layer, {"0.weights": np.ones(4)}, "0.")
    with pytest.raises(ValueError, match=r"the saved array 'weights' has shape \(5,\); "
                                         r"LayerNorm\(4, dtype=float32\) needs \(4,\)"):
        load_layer_state(layer, {"weights": np.ones(5), "bias": np.ones(4)})


def test_new_activations_are_registered():
    assert set(NEW_ACTIVATIONS) <= set(ACTIVATIONS)
