"""Character-level language models: gradients, causality, the bigram against counting,
seeded sampling, the model file, and learning on names.txt."""

from pathlib import Path

import numpy as np
import pytest

from nnscratch import load, save
from nnscratch.data.text import IGNORE, Vocabulary, load_text
from nnscratch.gradcheck import numeric_gradient
from nnscratch.language import (
    ARCHS,
    GeluTanh,
    LanguageModel,
    TokenCrossEntropy,
    bigram_counts,
)
from nnscratch.optimizers import AdamW

NAMES = Path(__file__).resolve().parents[1] / "data" / "names" / "names.txt"
WORDS = ["ab", "abc", "ba", "cab", "b", "acca", "bca", "cc", "a", "bb", "abba", "cabc"]
TINY = {"n_embd": 8, "n_embd2": 6, "n_layer": 2, "n_head": 2}


@pytest.fixture(scope="module")
def names():
    return load_text(NAMES, seed=0)


def _tiny(arch, dtype=np.float64, seed=0, **kwargs):
    return LanguageModel(arch, Vocabulary.of(WORDS), dtype=dtype, seed=seed,
                         **{**TINY, **kwargs})


@pytest.mark.parametrize("arch", ARCHS)
def test_gradients_match_finite_differences(arch):
    """Every parameter's gradient of the masked cross-entropy, through the whole model
    (embeddings, contexts, positions, blocks), equals central differences in float64."""
    model = _tiny(arch)
    p, g = model.flat_parameters()
    p += np.random.default_rng(1).normal(0, 0.3, p.shape)  # a bigram starts at zeros
    X, Y = model.vocab.encode(WORDS[:5])

    def loss():
        return TokenCrossEntropy.loss_and_grad(model.forward(X), Y, grad=False)[0]

    model.train_batch(X, Y)
    numeric = numeric_gradient(loss, p, eps=1e-6)
    assert np.max(np.abs(g - numeric)) < 1e-7 * max(1, np.max(np.abs(numeric))) * 100


@pytest.mark.parametrize("arch", ARCHS)
def test_no_position_reads_a_later_token(arch):
    """Changing the tokens after position t leaves the logits up to t unchanged."""
    model = _tiny(arch)
    model.flat_parameters()[0][...] += np.random.default_rng(2).normal(0, 0.3,
                                                                        model.n_parameters())
    X, _ = model.vocab.encode(WORDS)
    before = model.forward(X)
    for t in range(X.shape[1] - 1):
        changed = X.copy()
        changed[:, t + 1:] = np.random.default_rng(t).integers(0, 4, changed[:, t + 1:].shape)
        np.testing.assert_allclose(model.forward(changed)[:, :t + 1], before[:, :t + 1],
                                   rtol=1e-12, atol=1e-12)


def test_padding_is_ignored_and_trimmed():
    """The loss counts only targets that are not -1, and a batch trimmed to its longest item
    gives the loss and gradients of the whole block."""
    model = _tiny("transformer")
    X, Y = model.vocab.encode(["ab", "b"])
    logits = model.forward(X)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    keep = Y != IGNORE
    expected = -log_p[keep, Y[keep]].mean()
    loss, d = TokenCrossEntropy.loss_and_grad(logits, Y)
    assert loss == pytest.approx(expected, rel=1e-12)
    assert np.all(d[~keep] == 0)
    model.backward(d)
    full = model.flat_parameters()[1].copy()
    trimmed_loss, _ = model.train_batch(X, Y)  # the batch's longest item: 3 of 5 positions
    assert trimmed_loss == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(model.flat_parameters()[1], full, rtol=1e-10, atol=1e-14)


def test_bigram_gradient_is_zero_at_the_counts(names):
    """The counted table (log-frequencies of the pairs) is where a bigram's training loss
    is least: its gradient there is zero."""
    X, Y = (a[:5000] for a in names.arrays("train"))
    table = bigram_counts(X, Y, names.vocab.size)
    seen = np.isfinite(table)
    model = LanguageModel("bigram", names.vocab, dtype=np.float64)
    model.fill({"param_0": np.where(seen, table, -60.0)})
    model.train_batch(X, Y)
    assert np.max(np.abs(model.flat_parameters()[1])) < 1e-12


def test_trained_bigram_equals_counting(names):
    """AdamW on the table, without weight decay, ends at the counted frequencies: every
    seen pair's probability within 0.005, the training loss within 0.001 of the minimum."""
    X, Y = (a[:500] for a in names.arrays("train"))
    counted = np.exp(bigram_counts(X, Y, names.vocab.size))
    model = LanguageModel("bigram", names.vocab, dtype=np.float64, seed=0)
    params, grads = model.flat_parameters()
    optimizer = AdamW(lr=0.05, weight_decay=0.0)
    for _ in range(800):  # full batches: the gradient of the whole loss
        model.train_batch(X, Y)
        optimizer.step([params], [grads])
    table = params.reshape(names.vocab.size, -1)
    p = np.exp(table - table.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    rows = np.isfinite(np.log(counted.sum(1)))  # current tokens that occur (not the end)
    assert np.max(np.abs(p[rows] - counted[rows])) < 0.005
    minimum = LanguageModel("bigram", names.vocab, dtype=np.float64).count_bigrams(
        X, Y, smoothing=1e-9).loss(X, Y)
    assert model.loss(X, Y) - minimum < 1e-3


def test_counted_bigram_on_names(names):
    """makemore's bigram by counting (plus one): about 2.45 nats per character on the test
    names."""
    model = LanguageModel("bigram", names.vocab).count_bigrams(*names.arrays("train"))
    assert 2.43 < model.loss(*names.arrays("test")) < 2.47
    with pytest.raises(ValueError, match=r"count_bigrams sets a bigram's table; this model "
                                         r"is a mlp"):
        LanguageModel("mlp", names.vocab).count_bigrams(*names.arrays("train"))


def test_sampling_is_seeded(names):
    """The same seed gives the same items, another seed others; items are of the
    vocabulary and no longer than the longest training item."""
    model = LanguageModel("bigram", names.vocab).count_bigrams(*names.arrays("train"))
    first = model.sample(30, seed=5)
    assert first == model.sample(30, seed=5)
    assert first != model.sample(30, seed=6)
    assert len(first) == 30
    assert all(set(item) <= set(names.vocab.chars) and len(item) <= names.vocab.max_length
               for item in first)
    assert len(set(first)) > 20  # draws, not the argmax


@pytest.mark.parametrize("arch", ARCHS)
def test_model_file_round_trip(arch, tmp_path):
    """A saved language model loads with the same parameters, logits and samples; the file
    is format version 5 and opens without pickle."""
    model = _tiny(arch, dtype=np.float32, seed=3)
    model.flat_parameters()[0][...] += 0.1
    path = save(model, tmp_path / "m.npz", config={"arch": arch}, metrics={"test_loss": 1.0})
    loaded = load(path)
    assert isinstance(loaded, LanguageModel) and repr(loaded) == repr(model)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.parameters(), model.parameters(),
                                                    strict=True))
    X, _ = model.vocab.encode(WORDS)
    np.testing.assert_array_equal(loaded.forward(X), model.forward(X))
    assert loaded.sample(5, seed=1) == model.sample(5, seed=1)
    assert loaded.metadata["format_version"] == 5
    assert loaded.metadata["metrics"] == {"test_loss": 1.0}
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(["metadata", *model.expected_arrays()])


def test_damaged_language_file_is_refused(tmp_path):
    """A language model file with a missing or reshaped array gets one line naming it."""
    from nnscratch.errors import ModelFormatError

    model = _tiny("gru", dtype=np.float32)
    path = save(model, tmp_path / "m.npz")
    with np.load(path) as npz:
        arrays = dict(npz)
    arrays["param_1"] = arrays["param_1"][:-1]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelFormatError, match=r"cannot load model .*bad.npz: param_1 has "
                                               r"shape .*, but its gru language model needs"):
        load(tmp_path / "bad.npz")
    del arrays["param_1"]
    np.savez(tmp_path / "bad2.npz", **arrays)
    with pytest.raises(ModelFormatError, match=r"lacks the arrays \['param_1'\] of its gru "
                                               r"language model"):
        load(tmp_path / "bad2.npz")


def test_older_model_files_still_load(tmp_path, digits):
    """A dense network's file (format 1) still loads beside the new format 5."""
    from nnscratch import NeuralNetwork

    network = NeuralNetwork.from_sizes([64, 8, 10], seed=0)
    save(network, tmp_path / "dense.npz")
    loaded = load(tmp_path / "dense.npz")
    assert loaded.metadata["format_version"] == 1
    assert np.array_equal(loaded.forward(digits[0][:5]), network.forward(digits[0][:5]))


def test_gelu_tanh_gradient_and_torch():
    """The tanh GELU's backward matches finite differences, and PyTorch's
    gelu(approximate='tanh') where PyTorch is installed."""
    x = np.linspace(-6, 6, 41)
    act = GeluTanh()
    y = act.forward(x)
    d = act.backward(np.ones_like(x))
    numeric = (GeluTanh().forward(x + 1e-6) - GeluTanh().forward(x - 1e-6)) / 2e-6
    np.testing.assert_allclose(d, numeric, rtol=1e-6, atol=1e-8)
    torch = pytest.importorskip("torch")
    expected = torch.nn.functional.gelu(torch.from_numpy(x), approximate="tanh").numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-14)


def test_tiny_transformer_learns_names(names):
    """Two blocks of 32 channels, a few seconds of AdamW on names.txt: the test loss falls
    from log(27) = 3.30 to below 2.55 (the counted bigram is 2.45)."""
    model = LanguageModel("transformer", names.vocab, n_embd=32, n_layer=2, n_head=4, seed=0)
    X, Y = names.arrays("train")
    params, grads = model.flat_parameters()
    optimizer = AdamW(lr=3e-3, betas=(0.9, 0.99))
    rng = np.random.default_rng(0)
    for _ in range(300):
        idx = rng.integers(0, len(X), 32)
        model.train_batch(X[idx], Y[idx])
        optimizer.step([params], [grads])
    assert model.loss(*names.arrays("test")) < 2.55


def test_bad_sizes_are_refused():
    vocab = Vocabulary.of(WORDS)
    with pytest.raises(ValueError, match=r"arch must be one of \['bigram', 'mlp', 'rnn', "
                                         r"'lstm', 'gru', 'transformer'\], got 'cnn'"):
        LanguageModel("cnn", vocab)
    with pytest.raises(ValueError, match=r"n_embd 10 must be a multiple of n_head 4"):
        LanguageModel("transformer", vocab, n_embd=10)
    with pytest.raises(ValueError, match=r"n_layer must be a positive integer, got 0"):
        LanguageModel("transformer", vocab, n_layer=0)
