"""The makemore table, measured: every ``--arch`` trained on names.txt, its test loss and wall
time, beside the same model in PyTorch (written here from makemore's description) from the
same seed, on the same batches, for the same steps, in the same run.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_makemore.py \
        --epochs 1 --threads 2 --out benchmarks/makemore.md

Ours is nnscratch's run of ``nnscratch train --data data/names/names.txt --arch ARCH`` with
makemore's training (AdamW at a constant 5e-4, makemore's betas, weight decay 0.01, batches of
32, no dropout unless ``--dropout``), without a run folder; a last row gives the bigram solved
by counting. The PyTorch model of each arch has the same sizes:
bigram (a table of logits), mlp (Bengio's, makemore's sizes), rnn/lstm/gru (an embedding,
``torch.nn.RNN``/``LSTM``/``GRU``, a linear head), transformer (makemore's: 4 blocks of
layernorm + causal attention + GELU MLP with residuals, 4 heads, 64 channels, learned
positions). It trains as makemore does, on every position of the block (ours leaves out
the positions past the batch's longest name, which change no loss nor gradient: the
``trimmed`` column says how much of our time per step that saves, by timing ours without
it too when ``--untrimmed`` is given). Losses are nats per character on the 1,000 test names.
"""

import argparse
import contextlib
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from nnscratch import language  # noqa: E402
from nnscratch.data.text import IGNORE, load_text  # noqa: E402
from nnscratch.language import ARCHS, SIZES  # noqa: E402
from nnscratch.recipes import make_config  # noqa: E402
from nnscratch.textrun import BETAS  # noqa: E402

NAMES = ROOT / "data" / "names" / "names.txt"


def makemore_training(dropout=0.0):
    """makemore's training, whatever the text recipe now sets: AdamW at a constant 5e-4,
    weight decay 0.01, batches of 32, no validation split."""
    return {"optimizer": "adamw", "lr": 5e-4, "weight_decay": 0.01, "batch_size": 32,
            "schedule": "constant", "warmup": 0, "val_split": 0.0, "patience": None,
            "clip": None, "dropout": dropout}


# --- ours --------------------------------------------------------------------------------
def train_ours(arch, data, epochs, seed, dropout=0.0, trim=True):
    """Train ours as ``nnscratch train`` does (the text recipe); ``(test_loss, seconds,
    steps)``."""
    from nnscratch.experiment import run_training

    config = make_config("text", data=str(NAMES), arch=arch, epochs=epochs, seed=seed,
                         **makemore_training(dropout))
    saved = language._trim
    if not trim:
        language._trim = lambda x, y: (x, y)
    try:
        start = time.perf_counter()
        result = run_training(config, bar=False, log=lambda *a: None)
        seconds = time.perf_counter() - start
    finally:
        language._trim = saved
    steps = epochs * math.ceil(data.sizes["train"] / config["batch_size"])
    return result.metrics["test_loss"], sum(result.history.epoch_seconds), steps, seconds


# --- PyTorch: the same models, from makemore's description -------------------------------
def torch_model(arch, V, T, torch):
    """The PyTorch model of ``arch`` for ``V`` tokens and ``T`` positions (makemore's
    sizes): a module whose ``forward(idx)`` gives logits ``(B, T, V)``."""
    nn = torch.nn
    e, h, n_layer, n_head = (SIZES[k] for k in ("n_embd", "n_embd2", "n_layer", "n_head"))

    class Bigram(nn.Module):
        def __init__(self):
            super().__init__()
            self.logits = nn.Parameter(torch.zeros(V, V))

        def forward(self, idx):
            return self.logits[idx]

    class MLP(nn.Module):  # Bengio et al.: the T previous tokens' embeddings, concatenated
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(V + 1, e)  # V: the blank before the start
            self.hidden, self.head = nn.Linear(T * e, h), nn.Linear(h, V)

        def forward(self, idx):
            B, t = idx.shape
            padded = torch.cat([torch.full((B, T - 1), V, dtype=idx.dtype), idx], dim=1)
            cols = (torch.arange(t)[:, None] + (T - 1) - torch.arange(T)[None, :])
            x = self.wte(padded[:, cols]).reshape(B, t, T * e)
            return self.head(torch.tanh(self.hidden(x)))

    class Recurrent(nn.Module):
        def __init__(self, cell):
            super().__init__()
            self.wte = nn.Embedding(V, e)
            self.cell = cell(e, h, batch_first=True)
            self.head = nn.Linear(h, V)

        def forward(self, idx):
            out, _ = self.cell(self.wte(idx))
            return self.head(out)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(e), nn.LayerNorm(e)
            self.c_attn, self.c_proj = nn.Linear(e, 3 * e), nn.Linear(e, e)
            self.fc, self.proj = nn.Linear(e, 4 * e), nn.Linear(4 * e, e)
            self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)))

        def attention(self, x):
            B, t, C = x.shape
            q, k, v = self.c_attn(x).split(C, dim=2)
            q, k, v = (a.view(B, t, n_head, C // n_head).transpose(1, 2) for a in (q, k, v))
            att = (q @ k.transpose(-2, -1)) / math.sqrt(C // n_head)
            att = att.masked_fill(~self.mask[:t, :t], float("-inf")).softmax(dim=-1)
            return self.c_proj((att @ v).transpose(1, 2).reshape(B, t, C))

        def forward(self, x):
            x = x + self.attention(self.ln_1(x))
            return x + self.proj(nn.functional.gelu(self.fc(self.ln_2(x)), approximate="tanh"))

    class Transformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(V, e), nn.Embedding(T, e)
            self.blocks = nn.Sequential(*[Block() for _ in range(n_layer)])
            self.ln_f, self.head = nn.LayerNorm(e), nn.Linear(e, V, bias=False)

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))[None]
            return self.head(self.ln_f(self.blocks(x)))

    if arch == "bigram":
        return Bigram()
    if arch == "mlp":
        return MLP()
    if arch in ("rnn", "lstm", "gru"):
        return Recurrent({"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[arch])
    return Transformer()


def train_torch(arch, data, epochs, seed, config):
    """The PyTorch model trained on the same batches (one permutation per epoch, drawn as
    ours is, from ``seed``) with ``torch.optim.AdamW``; ``(test_loss, seconds, steps)``."""
    import torch

    torch.manual_seed(seed)
    X, Y = (torch.from_numpy(a) for a in data.arrays("train"))
    Xt, Yt = (torch.from_numpy(a) for a in data.arrays("test"))
    model = torch_model(arch, data.vocab.size, data.vocab.block_size, torch)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config["lr"], betas=BETAS,
                                  weight_decay=config["weight_decay"], eps=1e-8)
    rng = np.random.default_rng(seed)
    batch, steps, seconds = config["batch_size"], 0, 0.0
    loss_of = torch.nn.functional.cross_entropy
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(X)))
        start = time.perf_counter()
        for i in range(0, len(X), batch):
            idx = order[i:i + batch]
            logits = model(X[idx])
            loss = loss_of(logits.reshape(-1, logits.shape[-1]), Y[idx].reshape(-1),
                           ignore_index=IGNORE)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            steps += 1
        seconds += time.perf_counter() - start
    with torch.no_grad():
        logits = model(Xt)
        test = loss_of(logits.reshape(-1, logits.shape[-1]), Yt.reshape(-1),
                       ignore_index=IGNORE).item()
    return test, seconds, steps


# --- the table ---------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", default=",".join(ARCHS),
                        help=f"comma-separated, of {','.join(ARCHS)} (default: all)")
    parser.add_argument("--epochs", type=int, default=1,
                        help="passes over the 31,033 training names (970 steps each)")
    parser.add_argument("--seed", type=int, default=3407, help="makemore's seed (default)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS and torch threads")
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--no-torch", action="store_true", help="ours only")
    parser.add_argument("--untrimmed", action="store_true",
                        help="also time ours on every position of the block, as PyTorch's")
    parser.add_argument("--out", default=None, help="also write the markdown table here")
    args = parser.parse_args(argv)
    archs = args.archs.split(",")
    unknown = [a for a in archs if a not in ARCHS]
    if unknown:
        parser.error(f"--archs: unknown {unknown[0]!r}; expected some of {list(ARCHS)}")
    data = load_text(NAMES, seed=args.seed)
    config = make_config("text", data=str(NAMES), **makemore_training(args.dropout))
    torch = None
    if not args.no_torch:
        with contextlib.suppress(ImportError):
            import torch

            torch.set_num_threads(args.threads)
    load = os.getloadavg()
    rows = []
    header = ["arch", "steps", "nnscratch test loss", "nnscratch s", "nnscratch ms/step"]
    if args.untrimmed:
        header.append("nnscratch untrimmed ms/step")
    if torch is not None:
        header += ["PyTorch test loss", "PyTorch s", "PyTorch ms/step",
                   "time ratio (ours / PyTorch)"]
    for arch in archs:
        with threadpool_limits(args.threads):
            loss, train_seconds, steps, _ = train_ours(arch, data, args.epochs, args.seed,
                                                       args.dropout)
            row = [arch, f"{steps:,}", f"{loss:.4f}", f"{train_seconds:.1f}",
                   f"{1000 * train_seconds / steps:.2f}"]
            if args.untrimmed:
                _, untrimmed, _, _ = train_ours(arch, data, args.epochs, args.seed,
                                                args.dropout, trim=False)
                row.append(f"{1000 * untrimmed / steps:.2f}")
        if torch is not None:
            t_loss, t_seconds, t_steps = train_torch(arch, data, args.epochs, args.seed, config)
            assert t_steps == steps
            row += [f"{t_loss:.4f}", f"{t_seconds:.1f}", f"{1000 * t_seconds / t_steps:.2f}",
                    f"{train_seconds / t_seconds:.2f}x"]
        rows.append(row)
        print(" | ".join(row), flush=True)
    if "bigram" in archs:  # the bigram solved: counted pairs, plus one
        counted = language.LanguageModel("bigram", data.vocab).count_bigrams(
            *data.arrays("train"))
        rows.append(["bigram, counted (+1)", "0", f"{counted.loss(*data.arrays('test')):.4f}",
                     *["" for _ in header[3:]]])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    note = (f"\nnames.txt, seed {args.seed}, {args.epochs} epoch(s), batches of 32, AdamW 5e-4 "
            f"(betas {BETAS}, weight decay 0.01), dropout {args.dropout:g}; {args.threads} "
            f"threads; {platform.processor() or platform.machine()}, numpy {np.__version__}"
            + (f", torch {torch.__version__}" if torch is not None else "") +
            f"; load average at the start {load[0]:.2f}, at the end {os.getloadavg()[0]:.2f} "
            f"(the machine's other work shares its {os.cpu_count()} cores)\n")
    table = "\n".join(lines) + "\n" + note
    print("\n" + table)
    if args.out:
        Path(args.out).write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
