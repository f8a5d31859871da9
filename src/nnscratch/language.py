"""Character-level language models, as in makemore: bigram, MLP, RNN/LSTM/GRU, transformer.

A :class:`LanguageModel` reads a batch of items encoded as tokens ``(N, T)`` (token 0 first,
see :mod:`nnscratch.data.text`) and gives, at every position, the logits of the next token
``(N, T, V)``. It is trained on the cross-entropy of every position whose target is not
:data:`~nnscratch.data.text.IGNORE` (the padding after an item's end), and it writes new
items by sampling one token at a time until the end token.

The architectures (``arch``), with makemore's sizes (``n_embd`` 64, ``n_embd2`` 64,
``n_layer`` 4, ``n_head`` 4):

- ``bigram``: a ``V x V`` table of logits, the next token's given the current one;
- ``mlp``: Bengio et al. (2003): the embeddings of the ``block_size`` previous tokens,
  concatenated, through a tanh layer of ``n_embd2`` units;
- ``rnn``, ``lstm``, ``gru``: token embeddings through one recurrent layer of ``n_embd2``;
- ``transformer``: token and learned position embeddings, ``n_layer`` blocks of
  ``x + attention(layernorm(x))`` (causal, ``n_head`` heads) and
  ``x + mlp(layernorm(x))`` (``4 n_embd`` GELU units), a final layernorm.

Each ends in a dense layer to the ``V`` logits. The layers are :mod:`nnscratch.layers`'; the
model wires them, owns the loss and keeps every parameter in one flat vector for the
optimizer (as :class:`~nnscratch.network.NeuralNetwork` does).
"""

import numpy as np

from .activations import Activation
from .data.text import IGNORE, Vocabulary
from .layers import (
    GRU,
    LSTM,
    RNN,
    Dropout,
    Embedding,
    Layer,
    LayerNorm,
    MultiHeadAttention,
    Residual,
)

#: The architectures, as ``--arch`` names them.
ARCHS = ("bigram", "mlp", "rnn", "lstm", "gru", "transformer")
#: makemore's sizes.
SIZES = {"n_embd": 64, "n_embd2": 64, "n_layer": 4, "n_head": 4}
_RECURRENT = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
_CHUNK = 1000  # items per forward pass when evaluating a whole set: bounds the memory


class GeluTanh(Activation):
    """GELU in its tanh form, ``0.5 x (1 + tanh(c (x + 0.044715 x^3)))`` with
    ``c = sqrt(2 / pi)``: makemore's (GPT-2's) ``NewGELU``, PyTorch's
    ``gelu(approximate="tanh")``. Within 1e-3 of the exact ``erf`` form, and several times
    faster in NumPy (one ``tanh`` instead of ``erf`` and ``exp``).

    Why the backward has this form: with ``u = c (x + a x^3)`` and ``t = tanh(u)``,
    ``f' = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2)``.
    """

    name = "gelu_tanh"
    _A = 0.044715

    def forward(self, x):
        c = x.dtype.type(np.sqrt(2 / np.pi))
        self.input = x
        x2 = x * x
        self.t = np.tanh(x * (c + (c * x.dtype.type(self._A)) * x2))
        return x * (self.t + 1) * x.dtype.type(0.5)

    def backward(self, d_output):
        x, t = self.input, self.t
        one, half = x.dtype.type(1), x.dtype.type(0.5)
        c = x.dtype.type(np.sqrt(2 / np.pi))
        x2 = x * x
        slope = (one - t * t) * x * (c + (c * x.dtype.type(3 * self._A)) * x2)
        slope += t
        slope += one
        slope *= half
        return d_output * slope

    def __getstate__(self):
        return {k: v for k, v in vars(self).items() if k not in ("input", "t")}


class TokenCrossEntropy:
    """Mean cross-entropy of the next token over the positions whose target is not
    ``IGNORE`` (PyTorch's ``cross_entropy(..., ignore_index=-1)``), in nats per token."""

    name = "token_cross_entropy"

    @staticmethod
    def loss_and_grad(logits, targets, grad=True):
        """``(loss, dL/dlogits)`` of logits ``(N, T, V)`` against targets ``(N, T)``.

        Why the gradient is so simple: for softmax followed by cross-entropy,
        ``dL/dz = p - onehot(y)`` per position; averaging over the ``n`` counted positions
        divides it by ``n``, and an ignored position contributes nothing.
        """
        V = logits.shape[-1]
        z = logits.reshape(-1, V)                                       # (N*T, V)
        y = targets.reshape(-1)                                         # (N*T,)
        keep = y != IGNORE
        n = max(int(np.count_nonzero(keep)), 1)
        shifted = z - z.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)                          # (N*T, 1)
        rows = np.flatnonzero(keep)
        log_p = shifted[rows, y[rows]] - np.log(total[rows, 0])
        loss = -float(log_p.sum(dtype=np.float64)) / n
        if not grad:
            return loss, None
        d = exp / total                                                 # softmax
        d[rows, y[rows]] -= 1
        d[~keep] = 0
        d *= d.dtype.type(1 / n)
        return loss, d.reshape(logits.shape)

    def __repr__(self):
        return "TokenCrossEntropy()"


class LanguageModel:
    """A character-level language model (see the module docstring).

    Parameters
    ----------
    arch : {"bigram", "mlp", "rnn", "lstm", "gru", "transformer"}
    vocab : Vocabulary
        The tokens (its ``size`` V) and the longest item (its ``block_size`` T: the
        positions the model reads).
    n_embd, n_embd2, n_layer, n_head : int
        Sizes as makemore names them: embedding width, hidden width (mlp, recurrent),
        transformer blocks and attention heads.
    dropout : float
        Dropout rate (transformer: after the embeddings, the attention and the MLP of every
        block; mlp and recurrent: before the output layer). 0: none, as makemore.
    dtype : {float32, float64}
    seed : int, optional; rng : numpy.random.Generator, optional
        Source of the initial weights and the dropout masks.
    """

    def __init__(self, arch, vocab, *, n_embd=64, n_embd2=64, n_layer=4, n_head=4,
                 dropout=0.0, dtype=np.float32, seed=None, rng=None):
        if arch not in ARCHS:
            raise ValueError(f"arch must be one of {list(ARCHS)}, got {arch!r}")
        if not isinstance(vocab, Vocabulary):
            raise TypeError(f"vocab must be a Vocabulary, got {type(vocab).__name__}")
        for name, value in (("n_embd", n_embd), ("n_embd2", n_embd2), ("n_layer", n_layer),
                            ("n_head", n_head)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if arch == "transformer" and n_embd % n_head:
            raise ValueError(f"n_embd {n_embd} must be a multiple of n_head {n_head} (each "
                             "head reads n_embd / n_head channels)")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.arch, self.vocab = arch, vocab
        self.sizes = {"n_embd": int(n_embd), "n_embd2": int(n_embd2), "n_layer": int(n_layer),
                      "n_head": int(n_head)}
        self.dropout = float(dropout)
        self.dtype = np.dtype(dtype)
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self.metadata = {}  # filled by nnscratch.load: training config, metrics, versions
        self.pipeline = None  # what the run machinery asks of every model
        _BUILD[arch](self)
        self._flatten()

    # --- structure ----------------------------------------------------------------------
    @property
    def vocab_size(self):
        return self.vocab.size

    @property
    def block_size(self):
        return self.vocab.block_size

    def _dense(self, fan_in, fan_out, activation=None):
        return Layer(fan_in, fan_out, activation, rng=self.rng, dtype=self.dtype)

    def _drop(self):
        return [Dropout(self.dropout, rng=self.rng)] if self.dropout else []

    @property
    def layers(self):
        """Every layer, in the order of :meth:`parameters` (the training loop finds their
        Generators here)."""
        return [*self.embeddings, *self.body]

    def parameters(self):
        """Every learned array, in a fixed order; optimizers update them in place."""
        return [p for layer in self.layers for p in layer.parameters()]

    def gradients(self):
        """The gradients of :meth:`parameters`, in the same order, as left by ``backward``."""
        return [g for layer in self.layers for g in layer.gradients()]

    def n_parameters(self):
        return sum(p.size for p in self.parameters())

    def buffers(self):
        """Arrays kept but not learned: none."""
        return []

    def _flatten(self):
        """One vector of every parameter and one of every gradient.

        Why: an optimizer step on one vector is a handful of NumPy calls instead of a handful
        per array. The layers keep their own arrays; :meth:`_load_params` copies the vector
        into them before a forward pass, :meth:`_gather_grads` the gradients out after a
        backward one (two copies of the parameters a step: little next to the products).
        """
        params = self.parameters()
        self._flat_params = np.concatenate([p.ravel() for p in params]).astype(self.dtype)
        self._flat_grads = np.zeros_like(self._flat_params)
        bounds = np.cumsum([0, *(p.size for p in params)])
        self._views = [self._flat_params[a:b].reshape(p.shape)
                       for a, b, p in zip(bounds[:-1], bounds[1:], params, strict=True)]

    def flat_parameters(self):
        """``(parameters, gradients)`` as two vectors: the optimizer steps the first, a
        training step fills the second."""
        return self._flat_params, self._flat_grads

    def _load_params(self):
        """Copy the flat vector into the layers' arrays (it is what an optimizer, a
        checkpoint or a model file changed)."""
        for p, view in zip(self.parameters(), self._views, strict=True):
            p[...] = view

    def _gather_grads(self, scale=1):
        np.concatenate([g.ravel() for g in self.gradients()], out=self._flat_grads)
        if scale != 1:
            self._flat_grads *= scale

    def __repr__(self):
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes.items()
                          if k in _USES[self.arch])
        return (f"LanguageModel({self.arch!r}, vocab_size={self.vocab_size}, block_size="
                f"{self.block_size}{', ' + sizes if sizes else ''}, dropout={self.dropout}, "
                f"dtype={self.dtype.name})")

    def describe(self):
        """One line for ``nnscratch info``: the architecture and its sizes."""
        sizes = ", ".join(f"{k} {v}" for k, v in self.sizes.items() if k in _USES[self.arch])
        return (f"{self.arch} language model ({sizes + ', ' if sizes else ''}"
                f"{self.vocab_size} tokens, {self.block_size} positions, dropout "
                f"{self.dropout:g}, {self.dtype.name})")

    # --- forward and backward -----------------------------------------------------------
    def forward(self, idx, training=False):
        """Logits of the next token ``(N, T, V)`` for tokens ``idx`` ``(N, T)``, ``T <=
        block_size``."""
        idx = np.asarray(idx)
        if idx.ndim != 2 or idx.shape[1] > self.block_size or idx.dtype.kind not in "iu":
            raise ValueError(f"idx must be integer tokens of shape (N, T) with T <= "
                             f"{self.block_size}, got {idx.dtype} {idx.shape}")
        self._load_params()
        return self._forward(idx, training)

    def backward(self, d_logits):
        """Back-propagate ``dL/dlogits`` ``(N, T, V)``; every gradient is stored."""
        self._backward(d_logits)
        self._gather_grads()

    def train_batch(self, x, y, loss_fn=None, *, grad_scale=1.0):
        """One training step's forward and backward pass (the training loop's call).

        Returns
        -------
        loss : float
            The batch's mean loss per counted token.
        grad_size : float
            ``mean |dL/dlogits|`` over the batch.
        """
        self._load_params()
        x, y = _trim(x, y)
        logits = self._forward(x, training=True)
        loss, d = TokenCrossEntropy.loss_and_grad(logits, y)
        self._backward(d)
        self._gather_grads(grad_scale)
        return loss, float(np.abs(d).mean())

    def evaluate(self, X, Y, loss_fn=None):
        """Mean loss per counted token on a whole set, in chunks; and the share of those
        tokens predicted best (the argmax), as the score."""
        self._load_params()
        total, hits, count = 0.0, 0, 0
        for i in range(0, len(X), _CHUNK):
            x, y = _trim(X[i:i + _CHUNK], Y[i:i + _CHUNK])
            logits = self._forward(x, training=False)
            loss, _ = TokenCrossEntropy.loss_and_grad(logits, y, grad=False)
            n = int(np.count_nonzero(y != IGNORE))
            total += loss * n
            count += n
            hits += int(np.count_nonzero((logits.argmax(axis=-1) == y) & (y != IGNORE)))
        return total / max(count, 1), hits / max(count, 1)

    def loss(self, X, Y):
        """Mean cross-entropy per counted token (nats per character) of ``(X, Y)``."""
        return self.evaluate(X, Y)[0]

    def _forward(self, idx, training):
        return _FORWARD[self.arch](self, idx, training)

    def _backward(self, d):
        _BACKWARD[self.arch](self, d)

    # --- sampling -----------------------------------------------------------------------
    def sample(self, n=20, *, seed=None, rng=None, temperature=1.0):
        """``n`` new items, drawn one token at a time from the model's distribution.

        Parameters
        ----------
        n : int
        seed : int, optional; rng : numpy.random.Generator, optional
            The draws' source: the same seed gives the same items.
        temperature : float
            Divides the logits: below 1 sharper, above 1 flatter.

        Returns
        -------
        list of str
        """
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        rng = rng if rng is not None else np.random.default_rng(seed)
        self._load_params()
        idx = np.zeros((n, 1), np.int64)                                # the start token
        done = np.zeros(n, bool)
        for _ in range(self.block_size - 1):
            logits = self._forward(idx, training=False)[:, -1, :] / temperature  # (n, V)
            p = np.exp(logits - logits.max(axis=1, keepdims=True), dtype=np.float64)
            cdf = np.cumsum(p, axis=1)
            u = rng.random(n)[:, None] * cdf[:, -1:]
            nxt = np.minimum((cdf <= u).sum(axis=1), self.vocab_size - 1)
            nxt[done] = 0
            done |= nxt == 0
            idx = np.concatenate([idx, nxt[:, None]], axis=1)
            if done.all():
                break
        return [self.vocab.decode(row[1:]) for row in idx]

    def count_bigrams(self, X, Y, smoothing=1.0):
        """Set a bigram's table to what counting the pairs of ``(X, Y)`` gives (each count
        plus ``smoothing``): the minimum of the training loss, without a gradient step
        (:func:`bigram_counts`). Returns the model."""
        if self.arch != "bigram":
            raise ValueError(f"count_bigrams sets a bigram's table; this model is a "
                             f"{self.arch}")
        if not smoothing > 0:
            raise ValueError(f"smoothing must be > 0 (a pair never seen would get "
                             f"probability 0, an infinite loss), got {smoothing!r}")
        table = bigram_counts(np.asarray(X), np.asarray(Y), self.vocab_size, smoothing)
        self.fill({"param_0": table.astype(self.dtype)})
        return self

    # --- storage ------------------------------------------------------------------------
    def to_stored(self):
        """``(description, arrays)``: what a model file holds (JSON data, and the
        parameters as ``param_i``)."""
        self._load_params()
        described = {"arch": self.arch, "vocab": self.vocab.to_stored(), "sizes": self.sizes,
                     "dropout": self.dropout, "dtype": self.dtype.name}
        return described, {f"param_{i}": p for i, p in enumerate(self.parameters())}

    @classmethod
    def from_stored(cls, described, arrays=None):
        """The model :meth:`to_stored` described, with its arrays when given (each checked:
        shape and dtype); ValueError, TypeError or KeyError if it does not fit."""
        vocab = Vocabulary.from_stored(described["vocab"])
        sizes = described["sizes"]
        unknown = set(sizes) - set(SIZES)
        if unknown:
            raise ValueError(f"unknown sizes {sorted(unknown)}")
        if described["dtype"] not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {described['dtype']!r}")
        model = cls(described["arch"], vocab, dropout=described["dropout"],
                    dtype=described["dtype"], **sizes)
        if arrays is not None:
            model.fill(arrays)
        return model

    def expected_arrays(self):
        """``{"param_i": shape}`` of this model's arrays."""
        return {f"param_{i}": p.shape for i, p in enumerate(self.parameters())}

    def fill(self, arrays):
        """Set every parameter from ``{"param_i": array}`` (checked)."""
        for i, view in enumerate(self._views):
            a = arrays[f"param_{i}"]
            if a.shape != view.shape or a.dtype != self.dtype:
                raise ValueError(f"param_{i} has shape {a.shape} and dtype {a.dtype}; the "
                                 f"model needs {view.shape}, {self.dtype.name}")
            view[...] = a
        self._load_params()


def _trim(x, y):
    """``x, y`` without the positions past the longest item's end.

    Why it changes nothing but the time: every architecture here is causal (a position reads
    only the tokens before it), so the positions after an item's end, whose targets are
    ignored, influence no counted position: leaving them out gives the same loss and the
    same gradients. A batch of names is ~11 positions long instead of 16.
    """
    T = int((y != IGNORE).sum(axis=1).max())
    return (x, y) if T == y.shape[1] else (x[:, :T], y[:, :T])


# --- the architectures: build, forward, backward ------------------------------------------
#: The sizes each architecture uses (the others are ignored, and not shown).
_USES = {"bigram": (), "mlp": ("n_embd", "n_embd2"), "rnn": ("n_embd", "n_embd2"),
         "lstm": ("n_embd", "n_embd2"), "gru": ("n_embd", "n_embd2"),
         "transformer": ("n_embd", "n_layer", "n_head")}


def _build_bigram(m):
    # A table of logits: row = the current token. It starts at zeros, as makemore's.
    table = Embedding(m.vocab_size, m.vocab_size, rng=m.rng, dtype=m.dtype)
    table.weights[...] = 0
    m.embeddings, m.body = [table], []


def _forward_bigram(m, idx, training):
    return m.embeddings[0].forward(idx, training)                       # (N, T, V)


def _backward_bigram(m, d):
    m.embeddings[0].backward(d)


def _build_mlp(m):
    # Token V is makemore's <BLANK>: what the context holds before the item's start.
    e, h, T = m.sizes["n_embd"], m.sizes["n_embd2"], m.block_size
    m.embeddings = [Embedding(m.vocab_size + 1, e, rng=m.rng, dtype=m.dtype)]
    m.body = [m._dense(T * e, h, "tanh"), *m._drop(), m._dense(h, m.vocab_size)]


def _contexts(idx, blank, width):
    """``(N, T, width)``: at position t, the tokens at t, t-1, ..., t-width+1 (``blank``
    before the start), as makemore's MLP reads them."""
    N, T = idx.shape
    padded = np.concatenate([np.full((N, width - 1), blank, idx.dtype), idx], axis=1)
    # window k of position t is padded[t + width - 1 - k]
    cols = np.arange(T)[:, None] + (width - 1) - np.arange(width)[None, :]  # (T, width)
    return padded[:, cols]


def _forward_mlp(m, idx, training):
    N, T = idx.shape
    x = m.embeddings[0].forward(_contexts(idx, m.vocab_size, m.block_size), training)
    x = x.reshape(N, T, -1)                                             # (N, T, T_max * E)
    for layer in m.body:
        x = layer.forward(x, training)
    return x


def _backward_body(m, d):
    for layer in reversed(m.body):
        d = layer.backward(d)
    return d


def _backward_mlp(m, d):
    d = _backward_body(m, d)                                            # (N, T, T_max * E)
    N, T = d.shape[:2]
    m.embeddings[0].backward(d.reshape(N, T, m.block_size, -1))


def _build_recurrent(m):
    e, h = m.sizes["n_embd"], m.sizes["n_embd2"]
    m.embeddings = [Embedding(m.vocab_size, e, rng=m.rng, dtype=m.dtype)]
    cell = _RECURRENT[m.arch](e, h, rng=m.rng, dtype=m.dtype)
    m.body = [cell, *m._drop(), m._dense(h, m.vocab_size)]


def _forward_sequential(m, idx, training):
    x = m.embeddings[0].forward(idx, training)                          # (N, T, E)
    for layer in m.body:
        x = layer.forward(x, training)
    return x


def _backward_sequential(m, d):
    m.embeddings[0].backward(_backward_body(m, d))


def _build_transformer(m):
    e, V = m.sizes["n_embd"], m.vocab_size
    m.embeddings = [Embedding(V, e, rng=m.rng, dtype=m.dtype),           # tokens
                    Embedding(m.block_size, e, rng=m.rng, dtype=m.dtype)]  # positions
    body = [*m._drop()]
    for _ in range(m.sizes["n_layer"]):
        body.append(Residual(LayerNorm(e, dtype=m.dtype),
                             MultiHeadAttention(e, m.sizes["n_head"], causal=True, rng=m.rng,
                                                dtype=m.dtype), *m._drop()))
        body.append(Residual(LayerNorm(e, dtype=m.dtype), m._dense(e, 4 * e, GeluTanh),
                             m._dense(4 * e, e), *m._drop()))
    m.body = [*body, LayerNorm(e, dtype=m.dtype), m._dense(e, V)]


def _forward_transformer(m, idx, training):
    T = idx.shape[1]
    tokens, positions = m.embeddings
    x = tokens.forward(idx, training) + positions.forward(np.arange(T)[None, :], training)
    for layer in m.body:                                                # (N, T, E)
        x = layer.forward(x, training)
    return x


def _backward_transformer(m, d):
    d = _backward_body(m, d)                                            # (N, T, E)
    tokens, positions = m.embeddings
    tokens.backward(d)
    positions.backward(d.sum(axis=0, keepdims=True))                    # (1, T, E)


_BUILD = {"bigram": _build_bigram, "mlp": _build_mlp, "rnn": _build_recurrent,
          "lstm": _build_recurrent, "gru": _build_recurrent, "transformer": _build_transformer}
_FORWARD = {"bigram": _forward_bigram, "mlp": _forward_mlp, "rnn": _forward_sequential,
            "lstm": _forward_sequential, "gru": _forward_sequential,
            "transformer": _forward_transformer}
_BACKWARD = {"bigram": _backward_bigram, "mlp": _backward_mlp, "rnn": _backward_sequential,
             "lstm": _backward_sequential, "gru": _backward_sequential,
             "transformer": _backward_transformer}


def bigram_counts(X, Y, vocab_size, smoothing=0.0):
    """The bigram table that counting gives: ``log P(next | current)`` from the pairs of
    ``(X, Y)`` (the padding ignored), each count plus ``smoothing``.

    Why it is the answer: the cross-entropy of a table of logits is minimised when each
    row's softmax equals the observed frequencies of the next token, so with no smoothing
    this is the trained bigram's limit, found without a gradient step.

    Returns
    -------
    ndarray of float64, shape (V, V)
        ``-inf`` where a pair never occurs (no smoothing).
    """
    keep = Y != IGNORE
    counts = np.zeros((vocab_size, vocab_size))
    np.add.at(counts, (X[keep], Y[keep]), 1)
    counts += smoothing
    with np.errstate(divide="ignore"):
        return np.log(counts) - np.log(counts.sum(axis=1, keepdims=True))
