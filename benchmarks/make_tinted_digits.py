"""Build the tinted-digits image set offline: MNIST digits, tinted, scaled and placed on
coloured, textured backgrounds, 32x32 RGB, written as PNG folders of classes.

    python benchmarks/make_tinted_digits.py OUT [--train 2000] [--test 500] [--seed 0]

writes ``OUT/train/<zero..nine>/<n>.png`` and ``OUT/test/<zero..nine>/<n>.png``: ``--train``
and ``--test`` images per class, from MNIST's training and test images respectively (the
repository's data/mnist; no download). Each image is drawn from ``--seed`` alone:

* the background: a linear blend of two random colours along a random direction, plus a
  texture: stripes, a checkerboard or smoothed noise, of random scale, amplitude 10-35%;
* the digit: its 28x28 MNIST strokes resized (Pillow, bilinear) to 20-30 pixels, placed at a
  random position that keeps it whole, and tinted a random colour at least 0.45 (in [0, 1]
  RGB units, Euclidean) from the background's mean colour, so it stays readable.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SIZE = 32


def background(rng):
    """A ``(32, 32, 3)`` float background in [0, 1]."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1)
    angle = rng.uniform(0, 2 * np.pi)
    t = (np.cos(angle) * xx + np.sin(angle) * yy)
    t = (t - t.min()) / max(np.ptp(t), 1e-9)
    a, b = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    img = a + (b - a) * t[..., None]
    kind = rng.integers(3)
    if kind == 0:  # stripes
        freq, phase, theta = rng.uniform(2, 8), rng.uniform(0, 2 * np.pi), rng.uniform(0, np.pi)
        texture = np.sin(2 * np.pi * freq * (np.cos(theta) * xx + np.sin(theta) * yy) + phase)
    elif kind == 1:  # checkerboard
        cell = rng.integers(2, 9)
        ii, jj = np.mgrid[0:SIZE, 0:SIZE]
        texture = 2.0 * (((ii // cell) + (jj // cell)) % 2) - 1
    else:  # smoothed noise
        from scipy.ndimage import gaussian_filter

        noise = gaussian_filter(rng.normal(size=(SIZE, SIZE)), rng.uniform(0.8, 3))
        texture = noise / max(np.abs(noise).max(), 1e-9)
    amplitude = rng.uniform(0.10, 0.35)
    tint = rng.uniform(0.5, 1, 3)  # the texture has a colour too
    return np.clip(img + amplitude * texture[..., None] * tint, 0, 1)


def digit_colour(rng, mean):
    """A colour at least 0.45 from ``mean``."""
    while True:
        c = rng.uniform(0, 1, 3)
        if np.linalg.norm(c - mean) >= 0.45:
            return c


def tinted(digit, rng):
    """One 32x32 RGB uint8 image of a 28x28 uint8 MNIST ``digit``."""
    bg = background(rng)
    side = int(rng.integers(20, 31))
    strokes = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR),
                         dtype=np.float64) / 255
    top, left = rng.integers(0, SIZE - side + 1, size=2)
    mask = np.zeros((SIZE, SIZE))
    mask[top:top + side, left:left + side] = strokes
    colour = digit_colour(rng, bg.reshape(-1, 3).mean(axis=0))
    img = bg * (1 - mask[..., None]) + colour * mask[..., None]
    return np.rint(img * 255).astype(np.uint8)


def write_part(out, images, labels, per_class, rng):
    """``per_class`` images of each digit (the first ones of MNIST's order) under ``out``."""
    for c, name in enumerate(NAMES):
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        for n, i in enumerate(np.flatnonzero(labels == c)[:per_class]):
            Image.fromarray(tinted(images[i], rng)).save(folder / f"{n:05d}.png")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="folder to write (train/ and test/ inside)")
    parser.add_argument("--train", type=int, default=2000, help="training images per class")
    parser.add_argument("--test", type=int, default=500, help="test images per class")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from nnscratch.data import load_mnist

    mnist = load_mnist("standard", download=False, progress=False)
    to_uint8 = lambda X: np.rint(X * 255).astype(np.uint8).reshape(-1, 28, 28)  # noqa: E731
    rng = np.random.default_rng(args.seed)
    out = Path(args.out)
    write_part(out / "train", to_uint8(mnist.X_train), mnist.y_train, args.train, rng)
    write_part(out / "test", to_uint8(mnist.X_test), mnist.y_test, args.test, rng)
    print(f"wrote {10 * args.train:,} training and {10 * args.test:,} test images to {out}")


if __name__ == "__main__":
    main()
