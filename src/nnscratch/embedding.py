"""``Embedding``: a learned vector per token, looked up by integer index.

The forward pass is a row lookup, ``weights[idx]``. Its backward adds each position's
gradient into the row it came from; the indices get no gradient (they are not numbers one
can nudge), so ``backward`` returns None.
"""

import numpy as np

from .layerbase import ParamLayer, check_sizes, setup

_ONE_HOT_LIMIT = 1 << 21  # entries of the one-hot matrix of a backward product (8 MB float32)


class Embedding(ParamLayer):
    """``(N, T)`` integer indices in ``[0, num_embeddings)`` -> ``(N, T, embedding_dim)``.

    Parameters
    ----------
    num_embeddings : int
        Vocabulary size ``V``: the rows of the table.
    embedding_dim : int
        ``E``: the length of each vector.
    rng : numpy.random.Generator or int, optional
        Source of the initial table, ``N(0, 1)`` as PyTorch's.
    dtype : {"float32", "float64"}

    Attributes
    ----------
    weights : ndarray, shape (num_embeddings, embedding_dim)
        The table (PyTorch's ``Embedding.weight``).

    Any integer array of indices works, ``(N,)`` or ``(N, T)`` or more: the output adds an
    axis of ``E`` at the end.
    """

    param_names = ("weights",)
    cache_names = ("indices",)

    def __init__(self, num_embeddings, embedding_dim, *, rng=None, dtype=np.float32):
        num_embeddings, embedding_dim = check_sizes(num_embeddings=num_embeddings,
                                                    embedding_dim=embedding_dim)
        rng, self.dtype = setup(rng, dtype)
        self._new_param("weights", rng.standard_normal((num_embeddings, embedding_dim))
                        .astype(self.dtype))                          # (V, E)

    @property
    def num_embeddings(self):
        return self.weights.shape[0]

    @property
    def embedding_dim(self):
        return self.weights.shape[1]

    def config(self):
        return {"num_embeddings": int(self.num_embeddings),
                "embedding_dim": int(self.embedding_dim)}

    def check_indices(self, indices):
        """``indices`` as an integer array, or a ValueError saying what is wrong."""
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu":
            raise ValueError(f"{self!r} expects integer indices, got an array of "
                             f"{indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_embeddings):
            bad = indices[(indices < 0) | (indices >= self.num_embeddings)].flat[0]
            raise ValueError(f"{self!r} expects indices in [0, {self.num_embeddings}), got "
                             f"{bad}")
        return indices

    def forward(self, x, training=False):
        """``(N, T)`` integers -> ``(N, T, E)``: the table's rows."""
        self.indices = self.check_indices(x)
        return np.take(self.weights, self.indices, axis=0)

    def _backward(self, d_output, input_grad):
        """Scatter-add ``d_output`` (N, T, E) into the rows that were read; return None.

        Why a product when it is small: ``one_hot(indices).T @ d_output`` adds the rows with
        one matrix product, faster than ``np.add.at``'s per-index loop; for a large
        vocabulary times batch the one-hot matrix would be too big and ``np.add.at`` is used.
        """
        flat = self.indices.reshape(-1)                                # (rows,)
        rows = d_output.reshape(-1, self.embedding_dim)                # (rows, E)
        if self.num_embeddings * flat.size <= _ONE_HOT_LIMIT:
            one_hot = np.zeros((self.num_embeddings, flat.size), dtype=rows.dtype)
            one_hot[flat, np.arange(flat.size)] = 1                    # (V, rows)
            np.matmul(one_hot, rows, out=self.grad_weights)            # (V, E)
        else:
            self.grad_weights[...] = 0
            np.add.at(self.grad_weights, flat, rows)
        return None

    def __repr__(self):
        return f"Embedding({self.num_embeddings}, {self.embedding_dim}, dtype={self.dtype.name})"
