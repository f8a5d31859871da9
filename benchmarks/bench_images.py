"""A folder of colour images (the tinted digits of make_tinted_digits.py): the images
recipe's network, one epoch, nnscratch beside PyTorch eager; and ``--validate``, how the
images recipe was chosen.

    python benchmarks/make_tinted_digits.py ../tinted
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_images.py ../tinted \\
        --threads 2

Speed: both train the images recipe's network for the folder's size (``image_arch``, or
``--arch``) -> 10 (softmax and cross-entropy) from the same initial weights on DIR/train,
reshuffled every epoch (each by its own seeded generator), batch 64, AdamW (lr 0.002, weight
decay 0.05), float32, with the same thread count; each run in its own process, the two
interleaved. nnscratch reads the channels-last rows as ``nnscratch train`` does; PyTorch gets
the same pixels as a contiguous (N, C, H, W) tensor, its own layout. Prints seconds per epoch
(median [min-max]), the test accuracy each reaches, and the ratio.

``--validate '{"epochs": 10}' '{"epochs": 10, "augment": "shift"}' ...``: each candidate
(options over the images recipe) trained on DIR/train with the recipe's 10% validation split;
prints the validation loss after each epoch and the last one's validation accuracy. The test
images are not read.

PyTorch is optional (``pip install torch==2.13.0``); without it only nnscratch runs.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from workers import answer, run_worker, torch_twin

ROOT = Path(__file__).resolve().parents[1]
BATCH, LR, DECAY, SEED = 64, 0.002, 0.05, 0


def _data(folder):
    from nnscratch.data.folders import load_image_folder

    return load_image_folder(folder, bar=False, log=lambda *_: None)


def _network(arch, shape):
    from nnscratch import NeuralNetwork
    from nnscratch.architecture import parse_arch

    h, w, c = shape
    return NeuralNetwork.from_architecture(parse_arch(arch), (c, h, w), 10,
                                           head_activation="softmax", seed=SEED, init="he")


def _arch(args, shape):
    from nnscratch.recipes import image_arch

    return args.arch or image_arch(shape[0], shape[1])


def worker_nnscratch(folder, arch, epochs):
    from nnscratch import CrossEntropyLoss, train
    from nnscratch.optimizers import AdamW

    data = _data(folder)
    model = _network(arch, data.feature_shape)
    history = train(model, data.X_train, data.y_train, CrossEntropyLoss, epochs, BATCH,
                    bar=False, optimizer=AdamW(lr=LR, weight_decay=DECAY), seed=SEED)
    return {"seconds": history.epoch_seconds,
            "accuracy": model.score(data.X_test, data.y_test)}


def worker_torch(folder, arch, epochs):
    import torch
    from torch import nn

    data = _data(folder)
    h, w, c = data.feature_shape
    model = torch_twin(_network(arch, data.feature_shape))
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=DECAY)
    loss_fn = nn.CrossEntropyLoss()

    def images(X):  # channels-last rows -> a contiguous (N, C, H, W) tensor, PyTorch's layout
        return torch.from_numpy(np.ascontiguousarray(X.reshape(-1, h, w, c).transpose(0, 3, 1,
                                                                                        2)))
    X, y = images(data.X_train), torch.from_numpy(data.y_train)
    generator = torch.Generator().manual_seed(SEED)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        for idx in torch.randperm(len(X), generator=generator).split(BATCH):
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(X[idx]), y[idx]).backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        predicted = model(images(data.X_test)).argmax(1).numpy()
    return {"seconds": seconds, "accuracy": float((predicted == data.y_test).mean())}


def validate(folder, candidates):
    """Each candidate on DIR/train with the images recipe's validation split."""
    from nnscratch.experiment import run_training
    from nnscratch.recipes import make_config

    train_dir = Path(folder) / "train"
    for text in candidates:
        config = make_config("images", data=str(train_dir), **json.loads(text))
        start = time.perf_counter()

        def line(h):
            print(f"  epoch {h.epochs}: train_loss {h.train_losses[-1]:.4f} val_loss "
                  f"{h.val_losses[-1]:.4f} ({h.epoch_seconds[-1]:.0f} s)", flush=True)
        result = run_training(config, bar=False, log=lambda *_: None, on_epoch=line)
        h = result.history
        print(f"{text}: {config['arch']}; val_loss {h.val_losses[-1]:.4f} (best "
              f"{min(h.val_losses):.4f}), {h.epochs} epochs in "
              f"{time.perf_counter() - start:.0f} s", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="a train/ and test/ folder of 10 classes")
    parser.add_argument("--arch", default=None, help="layers (default: the images recipe's)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--validate", nargs="+", metavar="JSON", default=None,
                        help="candidates to compare on the validation split")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    if args.validate:
        validate(args.folder, args.validate)
        return
    if args.worker:
        answer(args.worker, args.threads,
               {"torch": worker_torch, "nnscratch": worker_nnscratch}, args.folder, args.arch,
               args.epochs)
        return
    from nnscratch.data.folders import ImagePipeline  # noqa: F401  (this checkout's)

    try:
        import torch

        impls, version = ["nnscratch", "torch"], f"PyTorch {torch.__version__}"
    except ImportError:
        impls, version = ["nnscratch"], "PyTorch not installed"
    shape = _data(args.folder).feature_shape
    arch = _arch(args, shape)
    print(f"{'x'.join(map(str, shape))} -> {arch} -> 10, batch {BATCH}, AdamW, float32, "
          f"{args.threads} thread(s), {args.epochs} epoch(s) per run, {args.repeats} "
          f"interleaved runs; {version}")
    results = {impl: [] for impl in impls}
    for _ in range(args.repeats):
        for impl in impls:
            results[impl].append(run_worker(__file__, impl, args.threads, args.folder,
                                            "--arch", arch, "--epochs", args.epochs))
    medians = {}
    for impl, runs in results.items():
        per_epoch = [s for run in runs for s in run["seconds"]]
        medians[impl] = statistics.median(per_epoch)
        print(f"{impl:<10} {medians[impl]:.2f} s/epoch [{min(per_epoch):.2f}-"
              f"{max(per_epoch):.2f}], test accuracy {runs[-1]['accuracy']:.4f}")
    if "torch" in medians:
        print(f"nnscratch / PyTorch: {medians['nnscratch'] / medians['torch']:.2f}x")


if __name__ == "__main__":
    main()
