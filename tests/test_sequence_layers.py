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


@pytest.mark.parametrize("dtype", [np.float32, F64])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_equals_a_plain_reference_even_when_rows_underflow(dtype, causal, rng):
    """The forward pass equals a textbook per-sequence, per-head loop with each row shifted
    by its own maximum, also when one sequence's scores dwarf another's."""
    layer = MultiHeadAttention(8, 2, causal=causal, rng=0, dtype=dtype)
    x = rng.normal(size=(3, 5, 8))
    x[1] *= 300  # scores ~1e5 here, ~1 elsewhere
    x = x.astype(dtype)
    w, b = layer.in_proj_weight.astype(F64), layer.in_proj_bias.astype(F64)
    expected = np.empty((3, 5, 8))
    for n in range(3):
        q, k, v = np.split(x[n].astype(F64) @ w.T + b, 3, axis=1)
        heads = []
        for h in range(2):
            cols = slice(4 * h, 4 * h + 4)
            s = q[:, cols] @ k[:, cols].T / 2.0
            if causal:
                s[np.triu_indices(5, k=1)] = -np.inf
            p = np.exp(s - s.max(axis=1, keepdims=True))
            heads.append(p / p.sum(axis=1, keepdims=True) @ v[:, cols])
        expected[n] = np.hstack(heads) @ layer.out_proj.weights + layer.out_proj.bias
    out = layer.forward(x)
    assert out.dtype == dtype and np.isfinite(out).all()
    scale = np.abs(expected).max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out / scale, expected / scale,
                               atol=1e-5 if dtype == np.float32 else 1e-12)


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


# --- PyTorch, same weights (optional) ------------------------------------------------------
def _torch_pair(name, torch):
    """(our layer, torch module, [(our parameter's name, torch's name, transposed?)])."""
    nn = torch.nn
    torch.set_default_dtype(torch.float64)  # restored by the fixture below
    if name == "LayerNorm":
        return LayerNorm(6, dtype=F64), nn.LayerNorm(6), [("weights", "weight", False),
                                                          ("bias", "bias", False)]
    if name == "Embedding":
        return Embedding(7, 6, rng=0, dtype=F64), nn.Embedding(7, 6), [("weights", "weight",
                                                                        False)]
    if name == "Linear":  # our Dense weights are (in, out), torch's (out, in)
        return Layer(6, 5, rng=0, dtype=F64), nn.Linear(6, 5), [("weights", "weight", True),
                                                                ("bias", "bias", False)]
    if name in ("RNN", "LSTM", "GRU"):
        ours = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}[name](6, 5, rng=0, dtype=F64)
        theirs = getattr(nn, name)(6, 5, batch_first=True)
        return ours, theirs, [(n, f"{n}_l0", False) for n in ours.param_names]
    causal = name.endswith("causal")
    ours = MultiHeadAttention(6, 3, causal=causal, rng=0, dtype=F64)
    theirs = nn.MultiheadAttention(6, 3, batch_first=True)
    return ours, theirs, [("in_proj_weight", "in_proj_weight", False),
                          ("in_proj_bias", "in_proj_bias", False),
                          ("out_proj.weights", "out_proj.weight", True),
                          ("out_proj.bias", "out_proj.bias", False)]


@pytest.fixture
def _torch_default_dtype():
    torch = pytest.importorskip("torch")
    saved = torch.get_default_dtype()
    yield
    torch.set_default_dtype(saved)


TORCH_LAYERS = ["LayerNorm", "Embedding", "Linear", "RNN", "LSTM", "GRU",
                "MultiHeadAttention", "MultiHeadAttention-causal"]


@pytest.mark.parametrize("name", TORCH_LAYERS)
@pytest.mark.usefixtures("_torch_default_dtype")
def test_layers_match_pytorch(name, rng):
    """Forward, input gradient and every parameter gradient equal PyTorch's module of the
    same name with the same (random) weights, in float64, to 1e-6."""
    torch = pytest.importorskip("torch")
    ours, theirs, names = _torch_pair(name, torch)
    mine = dict(ours.named_parameters())
    grads = dict(zip(mine, ours.gradients(), strict=True))
    params = dict(theirs.named_parameters())
    assert len(names) == len(mine) == len(params)
    with torch.no_grad():
        for our_name, torch_name, transposed in names:
            value = rng.normal(scale=0.5, size=params[torch_name].shape)
            params[torch_name].copy_(torch.from_numpy(value))
            mine[our_name][...] = (value.T if transposed else value).reshape(
                mine[our_name].shape)
    if name == "Embedding":
        x = rng.integers(0, 7, size=(3, 4))
        tx = torch.from_numpy(x)
    else:
        x = rng.normal(size=(3, 4, 6))
        tx = torch.from_numpy(x).requires_grad_()
    if name.startswith("MultiHeadAttention"):
        mask = torch.triu(torch.ones(4, 4, dtype=torch.bool), 1) if ours.causal else None
        t_out = theirs(tx, tx, tx, attn_mask=mask, need_weights=False)[0]
    elif name in ("RNN", "LSTM", "GRU"):
        t_out = theirs(tx)[0]
    else:
        t_out = theirs(tx)
    out = ours.forward(x)
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-6, atol=1e-9)
    d = rng.normal(size=out.shape)
    t_out.backward(torch.from_numpy(d))
    dx = ours.backward(d)
    if name != "Embedding":
        np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-6, atol=1e-9)
    for our_name, torch_name, transposed in names:
        expected = params[torch_name].grad.numpy()
        expected = (expected.T if transposed else expected).reshape(grads[our_name].shape)
        np.testing.assert_allclose(grads[our_name], expected, rtol=1e-6, atol=1e-9,
                                   err_msg=our_name)


TORCH_ACTIVATIONS = {"leaky_relu": "LeakyReLU", "elu": "ELU", "selu": "SELU", "gelu": "GELU",
                     "silu": "SiLU", "softplus": "Softplus", "relu": "ReLU", "tanh": "Tanh",
                     "sigmoid": "Sigmoid"}


@pytest.mark.parametrize("name", list(TORCH_ACTIVATIONS))
def test_activations_match_pytorch(name, rng):
    """Value and derivative equal PyTorch's module of the same name (float64, 1e-6), over
    both signs and the large inputs where the naive formulas overflow."""
    torch = pytest.importorskip("torch")
    x = np.concatenate([rng.normal(scale=3, size=200), [-50.0, -19.0, 19.0, 50.0, 500.0]])
    x = x[np.abs(x) > 1e-6]  # off ReLU's kink
    tx = torch.from_numpy(x).requires_grad_()
    t_out = getattr(torch.nn, TORCH_ACTIVATIONS[name])()(tx)
    d = rng.normal(size=x.shape)
    t_out.backward(torch.from_numpy(d))
    act = get_activation(name)
    np.testing.assert_allclose(act.forward(x), t_out.detach().numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(act.backward(d), tx.grad.numpy(), rtol=1e-6, atol=1e-9)


def test_float32_gelu_is_as_exact_as_float32():
    """The float32 GELU (a rational erf formula, not scipy's) stays within a few float32
    roundings of the float64 one, value and derivative, over every magnitude."""
    x = np.concatenate([np.linspace(-12, 12, 20001), [-1e30, -1e4, 1e4, 1e30, 0.0, -0.0]])
    fast, exact = get_activation("gelu"), get_activation("gelu")
    y32 = fast.forward(x.astype(np.float32))
    g32 = fast.backward(np.ones_like(y32))
    y64 = exact.forward(x.astype(np.float32).astype(F64))
    g64 = exact.backward(np.ones_like(y64))
    assert y32.dtype == g32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(g32, g64, atol=5e-6)


# --- model files and the command line ------------------------------------------------------
@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
def test_model_file_stores_new_activations_by_name(name, tmp_path, rng):
    """A network with a new hidden activation saves and loads (same predictions); the file
    names the activation, in the format that older files have."""
    from nnscratch import NeuralNetwork
    from nnscratch.serialization import load, read_metadata, save

    model = NeuralNetwork.from_sizes([4, 6, 3], hidden_activation=name,
                                     head_activation="softmax", seed=1)
    path = save(model, tmp_path / "m.npz")
    meta = read_metadata(path)
    assert meta["hidden_activation"] == name and meta["format_version"] == 1
    again = load(path)
    assert again.hidden_activation == name
    X = rng.normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))


def test_a_model_file_written_before_the_new_activations_still_loads(rng):
    """tests/data/model-v1-before-issue30.npz was written by nnscratch before this change
    (a 4-5-3 tanh/softmax network); it loads and predicts what its arrays compute."""
    from pathlib import Path

    from nnscratch.serialization import load

    path = Path(__file__).parent / "data" / "model-v1-before-issue30.npz"
    model = load(path)
    arrays = np.load(path)
    X = rng.normal(size=(6, 4)).astype(np.float32)
    hidden = np.tanh(X @ arrays["weights_0"] + arrays["bias_0"])
    logits = hidden @ arrays["weights_1"] + arrays["bias_1"]
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(X), expected, rtol=1e-5)
    assert model.hidden_activation == "tanh" and model.sizes == [4, 5, 3]


def test_cli_trains_with_a_new_activation(tmp_path):
    """``nnscratch train --activation gelu`` runs and its model file says gelu."""
    from nnscratch.cli import main
    from nnscratch.serialization import load

    assert main(["train", "--dataset", "digits", "--epochs", "2", "--activation", "gelu",
                 "--no-bar", "--out", str(tmp_path / "run")]) == 0
    assert load(tmp_path / "run" / "model.npz").hidden_activation == "gelu"
