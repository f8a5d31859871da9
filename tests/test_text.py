"""Text as data: reading a file of items, makemore's split and encoding, and every bad file's
one line."""

from pathlib import Path

import numpy as np
import pytest

from nnscratch.data.text import IGNORE, Vocabulary, load_text, read_items, split_items
from nnscratch.errors import DataFormatError

NAMES = Path(__file__).resolve().parents[1] / "data" / "names" / "names.txt"


def test_names_split_as_makemore():
    """32,033 names: 1,000 test items (the cap), the rest train, disjoint, the permutation
    by the seed; 26 letters and the end token; the longest name has 15 letters."""
    data = load_text(NAMES, seed=0)
    assert data.sizes == {"train": 31_033, "test": 1_000}
    items = NAMES.read_text(encoding="utf-8").splitlines()
    order = np.random.default_rng(0).permutation(len(items))
    assert data.test_items == [items[i] for i in order[-1000:]]
    assert sorted(data.train_items + data.test_items) == sorted(items)
    assert data.vocab.chars == "abcdefghijklmnopqrstuvwxyz"
    assert (data.vocab.size, data.vocab.block_size) == (27, 16)
    assert load_text(NAMES, seed=1).test_items != data.test_items


def test_small_file_tests_on_ten_percent(tmp_path):
    """Below 10,000 items the test set is int(10%) of them."""
    path = tmp_path / "w.txt"
    path.write_text("\n".join(f"w{'x' * (i % 7)}{i}" for i in range(57)), encoding="utf-8")
    data = load_text(path, seed=3)
    assert data.sizes == {"train": 52, "test": 5}
    assert split_items(list("abcdefghij"), 0)[1] == [list("abcdefghij")[
        np.random.default_rng(0).permutation(10)[-1]]]


def test_lines_are_stripped_and_blank_ones_dropped(tmp_path):
    """Whitespace around an item and blank lines are not items (makemore strips them); a
    byte-order mark and Windows line ends are read as text."""
    path = tmp_path / "w.txt"
    path.write_bytes("\ufeffanna \r\n\r\n  bob\r\n".encode() + b"\n".join(
        f"n{i}".encode() for i in range(10)))
    assert read_items(path)[:2] == ["anna", "bob"]
    assert len(read_items(path)) == 12


def test_encoding_is_makemores():
    """X: start token, the item, zeros; Y: the item, the end token, then -1 (ignored)."""
    vocab = Vocabulary.of(["ab", "b", "abc"])
    X, Y = vocab.encode(["ab", "c"])
    assert X.tolist() == [[0, 1, 2, 0], [0, 3, 0, 0]]
    assert Y.tolist() == [[1, 2, 0, IGNORE], [3, 0, IGNORE, IGNORE]]
    assert [vocab.decode(x[1:]) for x in X] == ["ab", "c"]
    assert Vocabulary.from_stored(vocab.to_stored()) == vocab
    with pytest.raises(ValueError, match=r"item 'abcd' has 4 characters; this vocabulary "
                                         r"encodes at most 3"):
        vocab.encode(["abcd"])
    with pytest.raises(ValueError, match=r"item 'z' has the character 'z', which is not in "
                                         r"the vocabulary 'abc'"):
        vocab.encode(["z"])


@pytest.mark.parametrize("content, message", [
    (b"", "is empty (0 bytes); expected UTF-8 text, one item a line"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a binary file (a NUL byte at offset 8); "
                                             "expected UTF-8 text, one item a line"),
    ("caf\u00e9\n".encode("latin-1") * 20, "is not UTF-8 text (byte 0xe9 at offset 3); save "
                                           "it as UTF-8, one item a line"),
    (b"\n \n\t\n", "holds only blank lines; expected one item a line"),
    (b"justone\n", "holds a single item ('justone'); expected one item a line, at least 10 "
                   "lines"),
    (b"a\nb\nc\nd\n", "holds 4 items; at least 10 are needed, so that 10% of them make a "
                      "test set"),
])
def test_bad_files_get_one_line(tmp_path, content, message):
    """Each bad file: one DataFormatError naming the file and saying what was expected."""
    path = tmp_path / "items.txt"
    path.write_bytes(content)
    with pytest.raises(DataFormatError) as info:
        load_text(path)
    assert str(info.value) == f"--data {path} {message}"


def test_missing_file_and_folder(tmp_path):
    """A missing file is a FileNotFoundError; a folder is named as one."""
    with pytest.raises(FileNotFoundError):
        load_text(tmp_path / "none.txt")
    (tmp_path / "d.txt").mkdir()
    with pytest.raises(IsADirectoryError, match=r"is a folder; give a text file, one item a "
                                                r"line"):
        load_text(tmp_path / "d.txt")
