"""A user's folder of images, one subfolder per class: found, read with Pillow, resized and
scaled into channels-last rows, and the input pipeline a model keeps to do it again.

The layouts are torchvision's ``ImageFolder`` and Keras' ``image_dataset_from_directory``:
``DIR/<class>/<any name>``, split 80/20 per class by the seed, or ``DIR/train/<class>/...``
and ``DIR/test/<class>/...``, which give the split. Every file Pillow can open is an image
(PNG, JPEG, GIF, BMP, TIFF, WebP, ...; grey, palette, colour, 16-bit, with transparency),
whatever its name; any other file is skipped with one line. Each image is converted to RGB
or grey (its transparency laid on white), resized with Pillow to the model's ``H x W`` and
stored as a row of ``H * W * C`` numbers in ``(h, w, c)`` order, divided by 255.

:class:`ImagePipeline` records those choices (size, colour mode, scaling, resampling, class
names); a model file stores it as JSON, and ``predict`` prepares a new picture with it.
"""

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFormatError
from .datasets import Dataset

#: Values of ``--color``: ``auto`` is rgb unless every image is grey.
COLORS = ("auto", "rgb", "gray")
#: The default image size is the median size, shrunk (keeping its shape) to fit this.
MAX_AUTO_SIZE = 64
#: Default bound (GiB) on the memory the loaded images may take as floats.
MAX_MEMORY_GB = 2.0
#: Pillow modes without colour.
GREY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
_SHOWN_SKIPS = 10  # unreadable files named one per line; the rest are counted


@dataclass(frozen=True)
class ImagePipeline:
    """What a model trained on an image folder does to a picture before the network sees it.

    Parameters
    ----------
    height, width : int
        The size every image is resized to (Pillow, ``resample``).
    color : {"rgb", "gray"}
        Colour mode: 3 channels, or 1.
    classes : tuple of str
        The class folder names, in the order of the network's outputs.
    divisor : float
        Pixels are stored as ``value / divisor`` (255: in [0, 1]).
    resample : str
        Pillow's resampling filter, by name.
    """

    height: int
    width: int
    color: str
    classes: tuple
    divisor: float = 255.0
    resample: str = "bilinear"

    kind = "image"

    @property
    def channels(self):
        """3 for rgb, 1 for gray."""
        return 3 if self.color == "rgb" else 1

    @property
    def shape(self):
        """One image as ``(H, W, C)``."""
        return (self.height, self.width, self.channels)

    @property
    def n_features(self):
        """Numbers per row, ``H * W * C``."""
        return self.height * self.width * self.channels

    def image(self, source):
        """One picture (a path or an open ``PIL.Image``) as a row ``(H*W*C,)`` of uint8,
        channels-last. Raises Pillow's errors (``OSError`` and others) for an unreadable one."""
        from PIL import Image

        if isinstance(source, Image.Image):
            return self._prepare(source)
        with Image.open(source) as im:
            return self._prepare(im)

    def _prepare(self, im):
        """Converted, resized and flattened."""
        from PIL import Image, ImageOps

        im = _as_8bit(ImageOps.exif_transpose(im))
        im = _flatten_alpha(im).convert("RGB" if self.color == "rgb" else "L")
        if im.size != (self.width, self.height):
            im = im.resize((self.width, self.height),
                           getattr(Image.Resampling, self.resample.upper()))
        return np.asarray(im, dtype=np.uint8).reshape(-1)

    def scale(self, pixels, dtype=np.float32):
        """uint8 rows as the network's inputs: ``pixels / divisor``."""
        return np.divide(pixels, self.divisor, dtype=dtype)

    def transform(self, paths, dtype=np.float32):
        """The rows ``(n, H*W*C)`` of the pictures at ``paths``, prepared as in training."""
        rows = np.stack([self.image(p) for p in paths]) if len(paths) else \
            np.zeros((0, self.n_features), np.uint8)
        return self.scale(rows, dtype)

    def summary(self):
        """One line, e.g. ``"32x32 RGB images (Pillow bilinear resize), pixels / 255, 10
        classes"``."""
        colour = "RGB" if self.color == "rgb" else "grey"
        return (f"{self.height}x{self.width} {colour} images (Pillow {self.resample} resize, "
                "channels last), pixels / "
                f"{self.divisor:g}, {len(self.classes)} classes")

    def describe(self):
        """``[(what, how)]`` for ``nnscratch info``."""
        shown = ", ".join(self.classes[:20]) + (
            f", ... ({len(self.classes) - 20} more)" if len(self.classes) > 20 else "")
        return [("input size", f"{self.height}x{self.width}x{self.channels} (height x width x "
                               "channels)"),
                ("colour", "RGB" if self.color == "rgb" else "grey"),
                ("scaling", f"pixels / {self.divisor:g}"),
                ("resize", f"Pillow, {self.resample}"),
                ("classes", shown)]

    def to_stored(self):
        """``(json_dict, arrays)``: what a model file holds (no arrays)."""
        return {"kind": self.kind, "height": self.height, "width": self.width,
                "color": self.color, "classes": list(self.classes), "divisor": self.divisor,
                "resample": self.resample}, {}

    @classmethod
    def from_stored(cls, described, arrays=None):
        """The pipeline :meth:`to_stored` gave. ``ValueError`` if the JSON is not one."""
        h, w, color = described["height"], described["width"], described["color"]
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (h, w)):
            raise ValueError(f"height and width must be positive integers, got {h!r}, {w!r}")
        if color not in ("rgb", "gray"):
            raise ValueError(f"color must be 'rgb' or 'gray', got {color!r}")
        classes = described["classes"]
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise ValueError("classes must be a list of names")
        divisor = float(described["divisor"])
        if not math.isfinite(divisor) or divisor <= 0:
            raise ValueError(f"divisor must be a positive number, got {divisor!r}")
        from PIL import Image

        if not hasattr(Image.Resampling, str(described["resample"]).upper()):
            raise ValueError(f"unknown resample filter {described['resample']!r}")
        return cls(h, w, color, tuple(classes), divisor, described["resample"])


def _as_8bit(im):
    """16-bit and float grey images as 8-bit ``L`` (Pillow's ``convert`` would clip them)."""
    from PIL import Image

    if im.mode not in ("I", "F") and not im.mode.startswith("I;16"):
        return im
    a = np.asarray(im, dtype=np.float64)
    top = 65535.0 if im.mode.startswith("I;16") or a.max(initial=0) > 255 else 255.0
    if im.mode == "F" and a.max(initial=0) <= 1:
        top = 1.0
    return Image.fromarray(np.clip(np.rint(a * (255 / top)), 0, 255).astype(np.uint8), "L")


def _flatten_alpha(im):
    """An image with transparency laid on white; others as they are."""
    from PIL import Image

    if im.mode in ("RGBA", "LA", "La", "RGBa", "PA") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im


def is_image_folder(path):
    """True when ``path`` is a folder (tables are files)."""
    return Path(path).is_dir()


@dataclass(frozen=True)
class _Found:
    """The readable images of a folder: paths, class indices, sizes, and the skipped."""

    paths: list
    labels: np.ndarray
    parts: np.ndarray  # 0 train, 1 test (or 0 for all, before the split)
    sizes: list  # (width, height)
    grey: list  # bool per image
    skipped: list  # (path, why)


def _class_folders(root, part, name):
    """The class folders of ``part`` (sorted), each with its files; one error for none,
    one class, or an empty class."""
    if not part.is_dir():
        raise DataFormatError(f"{name} {root}: expected a folder of class folders, got "
                              f"{'a file' if part.exists() else 'nothing'} at {part}")
    folders = sorted(d for d in part.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not folders:
        raise DataFormatError(f"{name} {root}: {part} holds no class folders; expected one "
                              f"subfolder per class, e.g. {part / 'cat' / '1.png'}, "
                              f"{part / 'dog' / '2.png'} (or train/ and test/ folders of them)")
    found = {}
    for d in folders:
        files = sorted(p for p in d.rglob("*") if p.is_file()
                       and not any(s.startswith(".") for s in p.relative_to(d).parts))
        if not files:
            raise DataFormatError(f"{name} {root}: the class folder {d} is empty; add its "
                                  "images or remove it")
        found[d.name] = files
    return found


#: Folder names that hold a split of the images, not a class (any case): a training part,
#: and the held-out part that gives the test split (test/, or val/ when there is no test/).
SPLIT_NAMES = {"train": ("train", "training"), "test": ("test", "testing"),
               "val": ("val", "valid", "validation")}


def _split_folders(root):
    """``{"train": Path, "test": Path, "val": Path}`` for the split folders ``root`` holds:
    a folder of such a name that holds folders and no image file of its own (a class folder
    named "valid" holds images; Windows' Thumbs.db beside class folders is no image)."""
    from PIL import Image

    image_suffixes = set(Image.registered_extensions())
    found = {}
    for d in sorted(root.iterdir()):
        kind = next((k for k, names in SPLIT_NAMES.items() if d.name.lower() in names), None)
        if kind is None or not d.is_dir():
            continue
        inside = [c for c in d.iterdir() if not c.name.startswith(".")]
        if any(c.is_dir() for c in inside) and not any(
                c.is_file() and c.suffix.lower() in image_suffixes for c in inside):
            found.setdefault(kind, d)
    return found


def scan_folder(root, *, name="--data", log=None):
    """The files of an image folder, by part and class.

    ``DIR/<class>/...`` is split 80/20 later. ``DIR/train/<class>/...`` with ``DIR/test/``
    gives the split; with ``DIR/val/`` and no ``test/``, ``val/`` is the test part (the
    layout of many data sets, and torchvision's evaluation); with both, ``val/`` is not
    read, and ``log`` gets one line saying so. (Names of any case; also ``training``,
    ``testing``, ``valid``, ``validation``.)

    Returns
    -------
    (classes, {part: {class: [paths]}}, split)
        ``classes`` sorted; ``part`` is ``"train"``/``"test"`` (split folders,
        ``split="train/test folders"``, with the folders' own names) or ``"all"``
        (``split="80/20"``).

    Raises
    ------
    DataFormatError
        No class folders, one class only, an empty class folder, test classes that the
        training folder lacks, or a held-out folder without a training one.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataFormatError(f"{name} {root}: expected a folder of class folders, got "
                              f"{'a file' if root.exists() else 'nothing'}")
    splits = _split_folders(root)
    held = splits.get("test", splits.get("val"))
    if "train" in splits and held is not None:
        train = splits["train"]
        parts = {"train": _class_folders(root, train, name),
                 "test": _class_folders(root, held, name)}
        split = f"{train.name}/{held.name} folders"
        extra = sorted(set(parts["test"]) - set(parts["train"]))
        if extra:
            raise DataFormatError(f"{name} {root}: {held.name}/ has class folders that "
                                  f"{train.name}/ lacks: {', '.join(extra)}")
        if "test" in splits and "val" in splits and log is not None:
            log(f"{name} {root}: {splits['val'].name}/ is not read: {held.name}/ is the test "
                f"split, and the validation images come from {train.name}/ (--val-split)")
    elif held is not None or "train" in splits:
        present = [d.name + "/" for d in splits.values()]
        one = len(present) == 1
        raise DataFormatError(f"{name} {root}: {' and '.join(present)} "
                              f"{'looks like a split folder' if one else 'look like split folders'}"
                              ", not a class; give train/ with test/ (or val/) beside it, each "
                              "holding one folder per class, or one folder per class alone")
    else:
        parts, split = {"all": _class_folders(root, root, name)}, "80/20"
    classes = sorted(parts.get("train", parts.get("all")))
    if len(classes) < 2:
        raise DataFormatError(f"{name} {root}: only one class folder ({classes[0]!r}); a "
                              "classifier needs two or more, one subfolder per class")
    return classes, parts, split


def _headers(root, classes, parts, bar):
    """Open every file's header (size, mode) with Pillow; the unreadable are skipped."""
    from PIL import Image
    from tqdm.auto import tqdm

    paths, labels, part_ids, sizes, grey, skipped = [], [], [], [], [], []
    index = {c: i for i, c in enumerate(classes)}
    todo = [(p, index[c], int(part == "test")) for part, by_class in parts.items()
            for c, files in by_class.items() for p in files]
    for path, label, part in tqdm(todo, desc="Reading image headers", unit="file",
                                  disable=not bar, leave=False):
        try:
            with Image.open(path) as im:
                size, mode = im.size, im.mode
                palette_grey = mode == "P" and _grey_palette(im)
        except Exception as exc:  # Pillow raises many types on a non-image or damaged file
            skipped.append((path, _why(exc, path)))
            continue
        paths.append(path)
        labels.append(label)
        part_ids.append(part)
        sizes.append(size)
        grey.append(mode in GREY_MODES or palette_grey)
    return _Found(paths, np.array(labels, dtype=np.int64), np.array(part_ids, dtype=np.int8),
                  sizes, grey, skipped)


def _grey_palette(im):
    """A palette image whose colours are all greys."""
    palette = im.getpalette() or []
    rgb = np.array(palette[:len(palette) // 3 * 3]).reshape(-1, 3)
    return bool(len(rgb)) and bool((rgb == rgb[:, :1]).all())


def _why(exc, path=None):
    """A short reason for a skipped file (without the path, which Pillow repeats)."""
    text = " ".join(str(exc).split())
    if path is not None:
        text = text.replace(f" '{path}'", "").replace(f" {path}", "")
    return text[:120] if text else type(exc).__name__


def parse_image_size(text, name="--image-size"):
    """``"32"`` or ``"32x48"`` as ``(height, width)``; a ValueError naming ``name``."""
    parts = str(text).lower().split("x")
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        sizes = []
    if len(sizes) not in (1, 2) or any(s < 1 for s in sizes):
        raise ValueError(f"{name} must be a size like 32 or 32x48 (height x width, in "
                         f"pixels), got {text!r}")
    return (sizes[0], sizes[-1])


def auto_size(sizes):
    """The median ``(height, width)`` of ``(width, height)`` sizes, shrunk to fit
    :data:`MAX_AUTO_SIZE` with its shape kept."""
    h = float(np.median([s[1] for s in sizes]))
    w = float(np.median([s[0] for s in sizes]))
    factor = min(1.0, MAX_AUTO_SIZE / max(h, w))
    return max(1, round(h * factor)), max(1, round(w * factor)), (round(h), round(w))


def load_image_folder(path, *, image_size=None, color="auto", test_fraction=0.2, seed=0,
                      dtype=np.float32, max_memory=MAX_MEMORY_GB, pipeline=None, bar=True,
                      log=print, name="--data", all_test=False):
    """Read a folder of images into a split :class:`Dataset` of channels-last rows.

    Parameters
    ----------
    path : path
        ``DIR/<class>/...`` or ``DIR/train/<class>/...`` with ``DIR/test/<class>/...``.
    image_size : (int, int) or str, optional
        ``(height, width)`` or ``"HxW"``; default: the median size, capped at 64 (printed).
    color : {"auto", "rgb", "gray"}
        ``auto``: rgb unless every image is grey.
    test_fraction, seed
        The per-class split of a folder without ``train/`` and ``test/``.
    dtype : {float32, float64}
    max_memory : float
        GiB the rows may take; above it the folder is refused before it is read.
    pipeline : ImagePipeline, optional
        A trained model's: its size, colour and classes are used (evaluating).
    bar : bool
        Progress bars.
    log : callable
        Where the counts, the chosen size and the skipped files are written.
    name : str
        How messages name the folder's option.
    all_test : bool
        Every image in the test part, none in training (evaluating a model on a folder).

    Returns
    -------
    Dataset
        ``feature_shape`` ``(H, W, C)``, ``classes`` the folder names, ``pipeline`` an
        :class:`ImagePipeline`.

    Raises
    ------
    DataFormatError
        The layout (see :func:`scan_folder`), a class without one readable image, or more
        memory than ``max_memory``.
    """
    from tqdm.auto import tqdm

    root = Path(path)
    if color not in COLORS:
        raise ValueError(f"color must be one of {list(COLORS)}, got {color!r}")
    classes, parts, split = scan_folder(root, name=name, log=log)
    n_files = sum(len(f) for by_class in parts.values() for f in by_class.values())
    counts = ""
    if "all" not in parts:  # split folders: each part's count, by its folder's name
        names = split.removesuffix(" folders").split("/")  # e.g. "train/val folders"
        counts = ", ".join(f"{folder} {sum(map(len, parts[part].values())):,}"
                           for part, folder in zip(("train", "test"), names, strict=True))
    log(f"{name} {root}: {n_files:,} files in {len(classes)} class folders"
        + (f" ({counts})" if counts else ""))
    if pipeline is not None:
        unknown = sorted(set(classes) - set(pipeline.classes))
        if unknown:
            raise DataFormatError(f"{name} {root}: the class folders {', '.join(unknown)} are "
                                  f"not classes of the model ({', '.join(pipeline.classes)})")
        classes = list(pipeline.classes)
    found = _headers(root, classes, parts, bar)
    for p, why in found.skipped[:_SHOWN_SKIPS]:
        log(f"skipped {p}: not an image Pillow can read ({why})")
    if len(found.skipped) > _SHOWN_SKIPS:
        log(f"... and {len(found.skipped) - _SHOWN_SKIPS:,} more unreadable files skipped")
    _check_every_class(root, classes, found, parts, name)
    if pipeline is None:
        if image_size is None:
            h, w, median = auto_size(found.sizes)
            how = (f"the median size {median[0]}x{median[1]}"
                   + (f" shrunk to fit {MAX_AUTO_SIZE}" if (h, w) != median else ""))
        else:
            (h, w), how = (parse_image_size(image_size) if isinstance(image_size, str)
                           else tuple(image_size)), "--image-size"
        chosen = color
        if color == "auto":
            chosen = "gray" if all(found.grey) else "rgb"
        pipeline = ImagePipeline(h, w, chosen, tuple(classes))
        log(f"Images: {h}x{w} ({how}; --image-size to change), "
            f"{'RGB' if chosen == 'rgb' else 'grey'}"
            + (f" ({'every image is grey' if chosen == 'gray' else 'some are in colour'}; "
               "--color to change)" if color == "auto" else " (--color)"))
    n = len(found.paths)
    need = n * pipeline.n_features * np.dtype(dtype).itemsize
    log(f"{n:,} images of {pipeline.height}x{pipeline.width}x{pipeline.channels} take "
        f"{_gb(need)} as {np.dtype(dtype).name}")
    if need > max_memory * 2**30:
        raise DataFormatError(f"{name} {root}: {n:,} images of {pipeline.height}x"
                              f"{pipeline.width}x{pipeline.channels} need {_gb(need)} as "
                              f"{np.dtype(dtype).name}, above --max-memory {max_memory:g} "
                              "GB; raise --max-memory, or choose a smaller --image-size")
    pixels = np.empty((n, pipeline.n_features), dtype=np.uint8)
    keep = np.ones(n, dtype=bool)
    late = []
    for i, p in enumerate(tqdm(found.paths, desc="Loading images", unit="image",
                               disable=not bar, leave=False)):
        try:
            pixels[i] = pipeline.image(p)
        except Exception as exc:  # a file whose header was fine but whose data is damaged
            keep[i] = False
            late.append((p, _why(exc, p)))
    for p, why in late[:_SHOWN_SKIPS]:
        log(f"skipped {p}: Pillow cannot decode it ({why})")
    skipped = len(found.skipped) + len(late)
    labels, part_ids = found.labels[keep], found.parts[keep]
    if late:
        _check_every_class(root, classes, _Found([p for p, k in zip(found.paths, keep,
                                                                   strict=True) if k],
                                                 labels, part_ids, [], [], []), parts, name)
    X = pipeline.scale(pixels[keep], dtype)
    if all_test:
        part_ids, split = np.ones(len(labels), dtype=np.int8), "every image"
    elif split == "80/20":
        part_ids = _split(labels, len(classes), test_fraction, seed)
    train, test = part_ids == 0, part_ids == 1
    log(f"Loaded {int(keep.sum()):,} images: {int(train.sum()):,} train / "
        f"{int(test.sum()):,} test ({split}), {len(classes)} classes"
        + (f"; skipped {skipped:,} unreadable file{'s' * (skipped != 1)}" if skipped else ""))
    return Dataset(X[train], labels[train], X[test], labels[test], name=root.name or str(root),
                   split=split, n_classes=len(classes), feature_shape=pipeline.shape,
                   classes=tuple(classes), pipeline=pipeline)


def _check_every_class(root, classes, found, parts, name):
    """Each class folder of the training part holds at least one readable image."""
    have = set(found.labels[found.parts == 0].tolist())
    train = parts.get("train", parts.get("all"))
    for i, c in enumerate(classes):
        if c in train and i not in have:
            where = "train/" if "train" in parts else ""
            raise DataFormatError(f"{name} {root}: the class folder {where}{c} holds no image "
                                  "Pillow can read; add images or remove it")


def _split(labels, n_classes, test_fraction, seed):
    """0 (train) / 1 (test) per image: ``test_fraction`` of each class (rounded; none of a
    class of one image), drawn by ``seed``."""
    rng = np.random.default_rng(seed)
    parts = np.zeros(len(labels), dtype=np.int8)
    for c in range(n_classes):
        members = np.flatnonzero(labels == c)
        n_test = min(len(members) - 1, round(test_fraction * len(members)))
        if n_test > 0:
            parts[rng.permutation(members)[:n_test]] = 1
    return parts


def _gb(n_bytes):
    """``"141.2 MB"`` or ``"2.3 GB"``."""
    return f"{n_bytes / 2**30:.1f} GB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:.1f} MB"


def find_images(paths, name="IMAGE"):
    """The image files named, a folder standing for every file under it (sorted)."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file()
                            and not p.name.startswith("."))
            if not inside:
                raise FileNotFoundError(f"{name} folder {path} holds no files")
            files += inside
        else:
            files.append(path)
    return files
