"""Lines of text as data: one item a line (a name, a word), for a character-level language
model, as makemore reads them.

:func:`load_text` reads a UTF-8 ``.txt`` file, strips each line and drops the empty ones,
builds the character :class:`Vocabulary` (token 0 is the start/end token, written ``.``) and
splits the items as makemore does: a seeded permutation, whose last ``min(1000, 10%)`` items
are the test set. :meth:`Vocabulary.encode` turns items into the ``(X, Y)`` integer arrays a
model trains on. A file that cannot be that is one :class:`~nnscratch.errors.DataFormatError`
naming it: empty, binary or not UTF-8, a single item, too few items to split.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFormatError

#: The suffixes a text data file may have.
SUFFIXES = (".txt",)
#: The test set: the last ``min(TEST_MAX, TEST_FRACTION * n)`` items of the permutation.
TEST_FRACTION, TEST_MAX = 0.1, 1000
#: Fewest items a file may hold: 10% of them must make a test set of at least one.
MIN_ITEMS = 10
#: Token 0 starts and ends every item (makemore's convention); it prints as this character.
END = "."
#: The target of a position past an item's end: the loss ignores it (PyTorch's
#: ``ignore_index=-1``, as makemore uses it).
IGNORE = -1


def is_text_file(path):
    """Whether ``path`` names a text data file (by its suffix, ``.txt``)."""
    return Path(path).suffix.lower() in SUFFIXES


@dataclass(frozen=True)
class Vocabulary:
    """The characters of a text data set; token ``i + 1`` is ``chars[i]``, token 0 the
    start/end token.

    Parameters
    ----------
    chars : str
        Every character of the items, sorted, each once.
    max_length : int
        The longest item's length, in characters.
    """

    chars: str
    max_length: int

    @classmethod
    def of(cls, items):
        """The vocabulary of ``items`` (a list of str)."""
        return cls("".join(sorted(set("".join(items)))), max(len(w) for w in items))

    @property
    def size(self):
        """Number of tokens: the characters and the start/end token."""
        return len(self.chars) + 1

    @property
    def block_size(self):
        """Positions of one encoded item: the start token, then up to ``max_length``
        characters (makemore's ``get_output_length``)."""
        return self.max_length + 1

    def encode(self, items):
        """Items as makemore's training pairs.

        Returns
        -------
        X : ndarray of int64, shape (N, block_size)
            Token 0, then the item's tokens, then 0s.
        Y : ndarray of int64, shape (N, block_size)
            The next token at each position: the item's tokens, then 0 (its end), then
            :data:`IGNORE` for the padding.

        Raises
        ------
        ValueError
            An item is longer than ``max_length`` or has a character outside the vocabulary.
        """
        index = {c: i + 1 for i, c in enumerate(self.chars)}
        X = np.zeros((len(items), self.block_size), np.int64)
        Y = np.full((len(items), self.block_size), IGNORE, np.int64)
        for row, item in enumerate(items):
            if len(item) > self.max_length:
                raise ValueError(f"item {item!r} has {len(item)} characters; this vocabulary "
                                 f"encodes at most {self.max_length}")
            try:
                tokens = [index[c] for c in item]
            except KeyError as exc:
                raise ValueError(f"item {item!r} has the character {exc.args[0]!r}, which "
                                 f"is not in the vocabulary {self.chars!r}") from None
            n = len(tokens)
            X[row, 1:n + 1] = tokens
            Y[row, :n] = tokens
            Y[row, n] = 0
        return X, Y

    def decode(self, tokens):
        """The item a row of tokens spells, up to its first 0 (the end token)."""
        out = []
        for t in tokens:
            if t == 0:
                break
            out.append(self.chars[int(t) - 1])
        return "".join(out)

    def to_stored(self):
        """As JSON data (for a model file)."""
        return {"chars": self.chars, "max_length": self.max_length}

    @classmethod
    def from_stored(cls, stored):
        """From :meth:`to_stored`; TypeError or ValueError if it is not one."""
        chars, max_length = stored["chars"], stored["max_length"]
        if not isinstance(chars, str) or not chars or len(set(chars)) != len(chars):
            raise ValueError(f"chars must be a non-empty string of distinct characters, got "
                             f"{chars!r:.60}")
        if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1:
            raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
        return cls(chars, max_length)


@dataclass(frozen=True, eq=False)
class TextData:
    """A text data set split into training and test items.

    Attributes
    ----------
    train_items, test_items : list of str
    vocab : Vocabulary
        Of every item (both parts: a test item's characters are known to the model).
    name : str
        The file's stem, e.g. ``"names"``.
    path : str
    """

    train_items: list
    test_items: list
    vocab: Vocabulary
    name: str
    path: str

    def arrays(self, part):
        """``(X, Y)`` of ``"train"`` or ``"test"`` (:meth:`Vocabulary.encode`)."""
        return self.vocab.encode(getattr(self, f"{part}_items"))

    @property
    def sizes(self):
        """Split sizes, e.g. ``{"train": 31033, "test": 1000}``."""
        return {"train": len(self.train_items), "test": len(self.test_items)}

    def summary(self):
        """One line for a log."""
        return (f"{self.name}: {len(self.train_items):,} train / {len(self.test_items):,} "
                f"test items, {self.vocab.size} tokens ({self.vocab.chars!r:.50} and "
                f"{END!r} for start/end), up to {self.vocab.max_length} characters")


def read_items(path, flag="--data"):
    """The items of a text file: its lines, stripped, the empty ones dropped.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    DataFormatError
        The file is empty, binary or not UTF-8, or holds fewer than :data:`MIN_ITEMS`
        items (one line, naming it).
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{flag} {path} is a folder; give a text file, one item a line")
    raw = path.read_bytes()
    if not raw:
        raise DataFormatError(f"{flag} {path} is empty (0 bytes); expected UTF-8 text, one "
                              "item a line")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise DataFormatError(f"{flag} {path} is a binary file (a NUL byte at offset {nul}); "
                              "expected UTF-8 text, one item a line")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{flag} {path} is not UTF-8 text (byte "
                              f"0x{raw[exc.start]:02x} at offset {exc.start}); save it as "
                              "UTF-8, one item a line") from None
    items = [line.strip() for line in text.removeprefix("\ufeff").splitlines()]
    items = [item for item in items if item]
    if not items:
        raise DataFormatError(f"{flag} {path} holds only blank lines; expected one item a "
                              "line")
    if len(items) == 1:
        raise DataFormatError(f"{flag} {path} holds a single item ({items[0]!r:.40}); "
                              f"expected one item a line, at least {MIN_ITEMS} lines")
    if len(items) < MIN_ITEMS:
        raise DataFormatError(f"{flag} {path} holds {len(items)} items; at least {MIN_ITEMS} "
                              "are needed, so that 10% of them make a test set")
    return items


def split_items(items, seed):
    """makemore's split: a permutation by ``seed``; its last ``min(1000, int(10% of n))``
    items are the test set. Returns ``(train, test)``."""
    n_test = min(TEST_MAX, int(len(items) * TEST_FRACTION))
    order = np.random.default_rng(seed).permutation(len(items))
    return [items[i] for i in order[:-n_test]], [items[i] for i in order[-n_test:]]


def load_text(path, *, seed=0, flag="--data"):
    """Read, check and split a text file of items (see the module docstring).

    Parameters
    ----------
    path : path
        A UTF-8 text file, one item a line.
    seed : int
        Seed of the split's permutation.
    flag : str
        How error messages name the file's argument.

    Returns
    -------
    TextData
    """
    items = read_items(path, flag)
    train, test = split_items(items, seed)
    return TextData(train, test, Vocabulary.of(items), Path(path).stem, str(path))
