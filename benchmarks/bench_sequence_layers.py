"""The sequence layers' forward + backward beside PyTorch's modules (issue #30, point 1).

For each layer (and a makemore-sized transformer: 4 blocks of LayerNorm, causal 4-head
attention and a GELU MLP, 64 channels, 16 positions, batch 32, 27 tokens) both libraries run
forward and backward on the same input, float32, with the same thread count; prints the best
of 5 alternating repeats of the mean over ``--steps`` calls, in milliseconds, and the ratio
(below 1: nnscratch is faster). Weights are not copied: the timings do not depend on
them. The optimizer step is not included.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_sequence_layers.py \\
        --threads 2

Needs PyTorch (``pip install torch==2.13.0``).
"""

import argparse
import time

import numpy as np

N, T, E, HEADS, V = 32, 16, 64, 4, 27


def _ours():
    from nnscratch.layers import (
        GRU,
        LSTM,
        RNN,
        Embedding,
        Layer,
        LayerNorm,
        MultiHeadAttention,
        Residual,
    )

    blocks = []
    for i in range(4):
        blocks += [Residual(LayerNorm(E), MultiHeadAttention(E, HEADS, causal=True, rng=i)),
                   Residual(LayerNorm(E), Layer(E, 4 * E, "gelu", rng=i),
                            Layer(4 * E, E, rng=i))]
    transformer = [Embedding(V, E, rng=0), *blocks, LayerNorm(E), Layer(E, V, rng=0)]
    return {"LayerNorm": [LayerNorm(E)],
            "MultiHeadAttention": [MultiHeadAttention(E, HEADS, causal=True, rng=0)],
            "Linear+GELU": [Layer(E, 4 * E, "gelu", rng=0)],
            "RNN": [RNN(E, E, rng=0)], "LSTM": [LSTM(E, E, rng=0)], "GRU": [GRU(E, E, rng=0)],
            "transformer": transformer}


def _step_ours(layers, x):
    out = x
    for layer in layers:
        out = layer.forward(out, True)
    d = np.ones_like(out) / out.size
    for layer in reversed(layers):
        d = layer.backward(d)


def _theirs(torch):
    nn = torch.nn
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(E, HEADS, batch_first=True)

        def forward(self, x):
            return self.attn(x, x, x, attn_mask=mask, need_weights=False)[0]

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.attn, self.ln2 = nn.LayerNorm(E), Attention(), nn.LayerNorm(E)
            self.mlp = nn.Sequential(nn.Linear(E, 4 * E), nn.GELU(), nn.Linear(4 * E, E))

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class Recurrent(nn.Module):
        def __init__(self, cls):
            super().__init__()
            self.rnn = cls(E, E, batch_first=True)

        def forward(self, x):
            return self.rnn(x)[0]

    return {"LayerNorm": nn.LayerNorm(E), "MultiHeadAttention": Attention(),
            "Linear+GELU": nn.Sequential(nn.Linear(E, 4 * E), nn.GELU()),
            "RNN": Recurrent(nn.RNN), "LSTM": Recurrent(nn.LSTM), "GRU": Recurrent(nn.GRU),
            "transformer": nn.Sequential(nn.Embedding(V, E), *[Block() for _ in range(4)],
                                         nn.LayerNorm(E), nn.Linear(E, V))}


def _best(steps_a, steps_b, steps):
    """Best ms per call of each, the two timed in alternation (a busy machine slows both)."""
    for _ in range(3):
        steps_a()
        steps_b()
    times = ([], [])
    for _ in range(5):
        for step, kept in zip((steps_a, steps_b), times, strict=True):
            start = time.perf_counter()
            for _ in range(steps):
                step()
            kept.append((time.perf_counter() - start) / steps * 1e3)
    return min(times[0]), min(times[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, T, E)).astype(np.float32)
    tokens = rng.integers(0, V, size=(N, T))
    ours, theirs = _ours(), _theirs(torch)
    print(f"threads {args.threads}, batch {N}, positions {T}, channels {E}: ms per forward + "
          "backward (best of 5)")
    with threadpool_limits(args.threads):
        for name, layers in ours.items():
            inp = tokens if name == "transformer" else x
            tx = torch.from_numpy(inp) if name == "transformer" else (
                torch.from_numpy(inp).requires_grad_())
            module = theirs[name]

            def step_theirs(module=module, tx=tx):
                out = module(tx)
                module.zero_grad(set_to_none=True)
                out.backward(torch.ones_like(out) / out.numel())

            a, b = _best(lambda layers=layers, inp=inp: _step_ours(layers, inp), step_theirs,
                         args.steps)
            print(f"{name:20s} nnscratch {a:7.3f}  pytorch {b:7.3f}  ratio {a / b:.2f}")


if __name__ == "__main__":
    main()
