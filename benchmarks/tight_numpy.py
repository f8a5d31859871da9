"""The blog's algorithm as the tightest NumPy loop we could write: a bound, not a design.

One function, no objects, every buffer allocated once, every operation in place: the batch is
gathered into a buffer, each layer's product writes into its own pre-activation buffer, the
softmax and the cross-entropy are fused (the loss is read from the shifted logits), the
learning rate is folded into the output gradient, the first layer skips its input gradient,
and one subtraction updates a single vector that every weight and bias views. It records the
mean loss of each epoch, as the blog does, and nothing else: no per-batch average gradient,
no divergence check, no progress bar, no Ctrl-C handling.

``bench_train.py`` runs it beside nnscratch: no NumPy engine that makes the same NumPy calls
for the same algorithm can be much faster than this loop, so it shows what the ratio targets
would ask of any such engine on this machine. It is not part of the package.
"""

import time

import numpy as np


def train(weights, X, y, epochs, batch_size, learning_rate, rng):
    """Train a ReLU network with a softmax head on integer labels ``y`` with plain SGD.

    ``weights`` is ``[(W1, b1), (W2, b2), ...]`` (copied). Returns ``(layers, epoch_losses,
    epoch_seconds)`` where ``layers`` is the trained ``[(W, b), ...]``.
    """
    dtype = X.dtype
    n, n_layers = len(X), len(weights)
    if n % batch_size:
        raise ValueError(f"the tight loop needs len(X) divisible by batch_size, got {n} "
                         f"and {batch_size}")
    # Every parameter in one vector, every gradient in another; W, b and their gradients
    # are views, so the step is one subtraction.
    total = sum(w.size + b.size for w, b in weights)
    flat, flat_grad = np.empty(total, dtype), np.empty(total, dtype)
    Ws, bs, dWs, dbs = [], [], [], []
    offset = 0
    for w, b in weights:
        for source, params, grads in ((w, Ws, dWs), (b, bs, dbs)):
            end = offset + source.size
            flat[offset:end] = source.ravel()
            params.append(flat[offset:end].reshape(source.shape))
            grads.append(flat_grad[offset:end].reshape(source.shape))
            offset = end
    widths = [w.shape[1] for w in Ws]
    x_batch = np.empty((batch_size, X.shape[1]), dtype)
    y_batch = np.empty(batch_size, y.dtype)
    z = [np.empty((batch_size, m), dtype) for m in widths]        # pre-activations
    a = [x_batch] + [np.empty((batch_size, m), dtype) for m in widths[:-1]]  # layer inputs
    d = [np.empty((batch_size, m), dtype) for m in widths]        # dL/dz, times lr
    row_max = np.empty((batch_size, 1), dtype)
    row_sum = np.empty((batch_size, 1), dtype)
    rows = np.arange(batch_size)
    scale = dtype.type(learning_rate / batch_size)
    epoch_losses, epoch_seconds = [], []
    for _ in range(epochs):
        start_time = time.perf_counter()
        order = rng.permutation(n)
        loss_sum = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            X.take(idx, axis=0, out=x_batch, mode="clip")  # "raise" would buffer
            y.take(idx, axis=0, out=y_batch, mode="clip")
            for i in range(n_layers):
                np.matmul(a[i], Ws[i], out=z[i])
                z[i] += bs[i]
                if i < n_layers - 1:
                    np.maximum(z[i], 0, out=a[i + 1])
            logits, p = z[-1], d[-1]
            np.max(logits, axis=1, keepdims=True, out=row_max)
            logits -= row_max                       # shifted: exp never overflows
            np.exp(logits, out=p)
            np.sum(p, axis=1, keepdims=True, out=row_sum)
            # cross-entropy = mean(log(sum exp) - shifted logit of the true class)
            loss_sum += float(np.log(row_sum).sum() - logits[rows, y_batch].sum())
            p /= row_sum
            p[rows, y_batch] -= 1
            p *= scale                              # lr * (p - y) / N
            for i in range(n_layers - 1, -1, -1):
                np.matmul(a[i].T, d[i], out=dWs[i])
                np.sum(d[i], axis=0, keepdims=True, out=dbs[i])
                if i > 0:
                    np.matmul(d[i], Ws[i].T, out=d[i - 1])
                    d[i - 1] *= a[i] > 0
            flat -= flat_grad
        epoch_losses.append(loss_sum / n)
        epoch_seconds.append(time.perf_counter() - start_time)
    layers = [(w.copy(), b.copy()) for w, b in zip(Ws, bs, strict=True)]
    return layers, epoch_losses, epoch_seconds
