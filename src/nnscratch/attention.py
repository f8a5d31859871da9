"""``MultiHeadAttention``: scaled dot-product self-attention over a sequence, with heads.

For an input ``x`` of shape ``(N, T, E)`` and ``h`` heads of ``d = E / h`` channels:

    q, k, v = split(x @ in_proj_weight.T + in_proj_bias)         # each (N, h, T, d)
    p = softmax(q @ k.T / sqrt(d))   (a causal mask first)        # (N, h, T, T)
    y = out_proj(merge(p @ v))                                    # (N, T, E)

as ``torch.nn.MultiheadAttention(E, h, batch_first=True)`` computes it with
``need_weights=False``: the same parameter names and layouts, so weights copy across
(``out_proj`` is a :class:`~nnscratch.dense.Layer`, whose ``weights`` are PyTorch's
``out_proj.weight`` transposed). Every product runs on all sequences and heads at once
(``np.matmul`` on ``(N, h, T, d)`` arrays); nothing loops over the batch or the heads.
"""

import functools
import math

import numpy as np

from .dense import Layer
from .layerbase import ParamLayer, check_input, check_sizes, row_sums, setup, uniform
from .validation import check_fraction


@functools.lru_cache(maxsize=16)
def _causal_mask(t, dtype):
    """``(T, T)``: 0 on and below the diagonal, -inf above (added to the scores)."""
    mask = np.triu(np.full((t, t), -np.inf, dtype=dtype), k=1)
    mask.flags.writeable = False
    return mask


def _row_max(a):
    """``a.max(axis=-1, keepdims=True)`` by way of a transposed copy: NumPy reduces a short
    last axis row by row, 5x slower than across the rows of the copy (measured)."""
    rows = a.reshape(-1, a.shape[-1])
    return np.ascontiguousarray(rows.T).max(axis=0).reshape(*a.shape[:-1], 1)


class MultiHeadAttention(ParamLayer):
    """Self-attention ``(N, T, E) -> (N, T, E)``.

    Parameters
    ----------
    embed_dim : int
        ``E``, the channels in and out.
    num_heads : int
        ``h``; must divide ``embed_dim``.
    causal : bool
        Mask the future: position ``t`` attends to positions ``<= t`` only (a language
        model's decoder). Without it every position sees the whole sequence.
    dropout : float in [0, 1)
        Dropout on the attention probabilities in training (PyTorch's ``dropout``).
    rng : numpy.random.Generator or int, optional
        Source of the initial weights (Glorot-uniform for ``in_proj_weight``, as PyTorch)
        and of the dropout masks.
    dtype : {"float32", "float64"}

    Attributes
    ----------
    in_proj_weight : ndarray, shape (3E, E)
        The query, key and value projections stacked, in PyTorch's ``(out, in)`` layout.
    in_proj_bias : ndarray, shape (3E,)
    out_proj : Layer
        The output projection ``E -> E``.
    """

    param_names = ("in_proj_weight", "in_proj_bias")
    cache_names = ("x_rows", "q", "k", "v", "probs", "keep")

    def __init__(self, embed_dim, num_heads, causal=False, dropout=0.0, *, rng=None,
                 dtype=np.float32):
        embed_dim, num_heads = check_sizes(embed_dim=embed_dim, num_heads=num_heads)
        if embed_dim % num_heads:
            raise ValueError(f"num_heads must divide embed_dim, got embed_dim={embed_dim} "
                             f"and num_heads={num_heads}")
        self.rng, self.dtype = setup(rng, dtype)
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.causal, self.dropout = bool(causal), check_fraction(dropout, "dropout")
        bound = math.sqrt(6 / (embed_dim + 3 * embed_dim))                 # xavier_uniform_
        self._new_param("in_proj_weight", uniform(self.rng, bound, (3 * embed_dim, embed_dim),
                                                  self.dtype))             # (3E, E)
        self._new_param("in_proj_bias", np.zeros(3 * embed_dim, dtype=self.dtype))
        self.out_proj = Layer(embed_dim, embed_dim, rng=self.rng, dtype=self.dtype)
        self.out_proj.weights[...] = uniform(self.rng, 1 / math.sqrt(embed_dim),
                                             (embed_dim, embed_dim), self.dtype)

    def config(self):
        return {"embed_dim": self.embed_dim, "num_heads": self.num_heads,
                "causal": self.causal, "dropout": self.dropout}

    def named_parameters(self):
        return [*super().named_parameters(),
                *((f"out_proj.{name}", p) for name, p in self.out_proj.named_parameters())]

    def parameters(self):
        return [*super().parameters(), *self.out_proj.parameters()]

    def gradients(self):
        return [*super().gradients(), *self.out_proj.gradients()]

    def forward(self, x, training=False):
        """``(N, T, E) -> (N, T, E)``."""
        check_input(self, x, 3, self.embed_dim)
        n, t, e = x.shape
        h, d = self.num_heads, e // self.num_heads
        self.x_rows = x.reshape(n * t, e)                                   # (NT, E)
        qkv = self.x_rows @ self.in_proj_weight.T                          # (NT, 3E)
        qkv += self.in_proj_bias
        qkv = qkv.reshape(n, t, 3, h, d).transpose(2, 0, 3, 1, 4)          # (3, N, h, T, d)
        self.q, self.k, self.v = qkv[0], qkv[1], qkv[2]
        scores = self._scores(t, d)
        # softmax along each row, shifted by the row's maximum: exp sees numbers <= 0 (no
        # overflow), and the row's largest term is 1 (no division by an underflowed 0). Each
        # row's own maximum, not a shared one: an earlier row's output must not depend on
        # a later position, not even in its rounding
        scores -= _row_max(scores)
        np.exp(scores, out=scores)
        scores /= row_sums(scores)
        self.probs = scores
        self.keep = None
        if training and self.dropout:
            self.keep = ((self.rng.random(scores.shape, dtype=x.dtype) >= self.dropout)
                         * x.dtype.type(1 / (1 - self.dropout)))
            scores = scores * self.keep
        heads = scores @ self.v                                            # (N, h, T, d)
        merged = heads.transpose(0, 2, 1, 3).reshape(n, t, e)              # (N, T, E)
        return self.out_proj.forward(merged)

    def _scores(self, t, d):
        """``q k^T / sqrt(d)``, masked: ``(N, h, T, T)``."""
        # why scale by 1/sqrt(d): q.k sums d products, so without it the scores' spread
        # grows with d and the softmax saturates
        scores = self.q @ self.k.transpose(0, 1, 3, 2)                     # (N, h, T, T)
        scores *= scores.dtype.type(1 / math.sqrt(d))
        if self.causal:  # position i may not see j > i: its score is -inf, exp(-inf) = 0
            scores += _causal_mask(t, scores.dtype)
        return scores

    def _backward(self, d_output, input_grad):
        n, t, e = d_output.shape
        h, d = self.num_heads, e // self.num_heads
        d_merged = self.out_proj.backward(d_output)                        # (N, T, E)
        d_heads = d_merged.reshape(n, t, h, d).transpose(0, 2, 1, 3)       # (N, h, T, d)
        probs = self.probs if self.keep is None else self.probs * self.keep
        d_qkv = np.empty((3, n, h, t, d), dtype=d_output.dtype)
        np.matmul(probs.transpose(0, 1, 3, 2), d_heads, out=d_qkv[2])      # dv
        d_probs = d_heads @ self.v.transpose(0, 1, 3, 2)                   # (N, h, T, T)
        if self.keep is not None:
            d_probs *= self.keep
        # softmax's vector-Jacobian product, row by row: p * (g - <g, p>); masked entries
        # have p = 0 and get no gradient
        p = self.probs
        d_scores = d_probs
        d_scores -= row_sums(d_probs * p)
        d_scores *= p
        d_scores *= d_output.dtype.type(1 / math.sqrt(d))
        np.matmul(d_scores, self.k, out=d_qkv[0])                          # dq
        np.matmul(d_scores.transpose(0, 1, 3, 2), self.q, out=d_qkv[1])    # dk
        d_rows = d_qkv.transpose(1, 3, 0, 2, 4).reshape(n * t, 3 * e)      # (NT, 3E)
        np.matmul(d_rows.T, self.x_rows, out=self.grad_in_proj_weight)     # (3E, E)
        np.add.reduce(d_rows, axis=0, out=self.grad_in_proj_bias)
        if not input_grad:
            return None
        return (d_rows @ self.in_proj_weight).reshape(n, t, e)             # (N, T, E)
