"""Tests of nnscratch.data.tables: a user's CSV or .npz table in, a split Dataset out."""

import csv
import re

import numpy as np
import pytest

from nnscratch import CrossEntropyLoss, MeanSquaredErrorLoss, NeuralNetwork, Softmax, Tanh, train
from nnscratch.data import (
    MAX_AUTO_CLASSES,
    Dataset,
    NotUTF8Warning,
    RowIndexWarning,
    load_features,
    load_table,
    write_predictions,
)
from nnscratch.errors import DataFormatError


def write(tmp_path, text, name="data.csv"):
    """Write ``text`` to ``tmp_path / name`` and return the path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def table(header, rows):
    """CSV text from a header and rows of cells."""
    return "\n".join(",".join(map(str, r)) for r in [header, *rows]) + "\n"


def labelled_csv(tmp_path, labels, name="data.csv"):
    """A CSV with an id-like feature ``x0`` (the row number), a noise feature and ``label``."""
    rows = [(i, (7 * i) % 5 / 4, label) for i, label in enumerate(labels)]
    return write(tmp_path, table(["x0", "x1", "label"], rows), name)


def label_of(data, part):
    """The original label of each row of a part, as written by :func:`labelled_csv`."""
    return [data.classes[k] for k in getattr(data, f"y_{part}")]


# --- classification ---------------------------------------------------------------------------

def test_string_labels_map_to_sorted_indices(tmp_path):
    """Text labels become 0..K-1 in sorted order; classes keeps the originals."""
    labels = ["dog", "cat", "bird"] * 10
    data = load_table(labelled_csv(tmp_path, labels), scale=False)
    assert data.task == "classification"
    assert data.classes == ("bird", "cat", "dog")
    assert data.n_classes == 3
    assert data.feature_names == ("x0", "x1")
    assert data.target == "label"
    assert data.X_train.shape == (24, 2) and data.X_test.shape == (6, 2)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert data.y_train.shape == (24,)
    for part in ("train", "test"):  # x0 is the row number: every row kept its own label
        rows = getattr(data, f"X_{part}")[:, 0].astype(int)
        assert label_of(data, part) == [labels[i] for i in rows]
    assert sorted(np.concatenate([data.X_train[:, 0], data.X_test[:, 0]])) == list(range(30))


def test_integer_labels_keep_their_values(tmp_path):
    """Whole-number labels (also written as 5.0) are classes with int values."""
    labels = ["7", "3", "5.0", "5"] * 6
    data = load_table(labelled_csv(tmp_path, labels), scale=False)
    assert data.task == "classification"
    assert data.classes == (3, 5, 7)
    assert all(type(c) is int for c in data.classes)
    rows = data.X_train[:, 0].astype(int)
    assert label_of(data, "train") == [int(float(labels[i])) for i in rows]


def test_split_is_stratified(tmp_path):
    """Each class keeps its share in the test set: 60/40 over 100 rows -> 12/8 of 20."""
    data = load_table(labelled_csv(tmp_path, ["a"] * 60 + ["b"] * 40))
    assert np.bincount(data.y_test).tolist() == [12, 8]
    assert np.bincount(data.y_train).tolist() == [48, 32]


def test_split_is_deterministic_for_a_seed(tmp_path):
    """The same seed gives the same split; another seed a different one."""
    path = labelled_csv(tmp_path, ["a", "b"] * 20)
    one, two, other = (load_table(path, seed=s) for s in (3, 3, 4))
    np.testing.assert_array_equal(one.X_test, two.X_test)
    np.testing.assert_array_equal(one.y_train, two.y_train)
    assert not np.array_equal(one.X_test, other.X_test)
    assert "seed=3" in one.split and "stratified" in one.split


def test_test_fraction_sets_the_test_size(tmp_path):
    """test_fraction rounds up, as scikit-learn does: 0.25 of 30 rows -> 8."""
    data = load_table(labelled_csv(tmp_path, ["a", "b", "c"] * 10), test_fraction=0.25)
    assert data.sizes == {"train": 22, "test": 8}


@pytest.mark.parametrize(("n_distinct", "task"), [(2, "classification"),
                                                  (MAX_AUTO_CLASSES, "classification"),
                                                  (MAX_AUTO_CLASSES + 1, "regression")])
def test_auto_task_counts_distinct_whole_numbers(tmp_path, n_distinct, task):
    """Whole numbers are classes up to MAX_AUTO_CLASSES distinct values, then a quantity."""
    labels = [i % n_distinct for i in range(4 * n_distinct)]
    assert load_table(labelled_csv(tmp_path, labels), test_fraction=0.5).task == task


def test_auto_task_fractions_are_regression(tmp_path):
    """A target with a fraction in it is a regression target, whatever its count."""
    data = load_table(labelled_csv(tmp_path, [0, 1, 0.5, 1] * 5))
    assert data.task == "regression" and data.n_classes is None and data.classes is None


def test_task_override(tmp_path):
    """task= forces either reading: labels as numbers, fractions as classes."""
    path = labelled_csv(tmp_path, [0, 1, 2] * 10)
    data = load_table(path, task="regression")
    assert data.task == "regression" and data.y_train.shape == (24, 1)
    assert set(np.unique(data.y_train)) == {0.0, 1.0, 2.0}
    data = load_table(labelled_csv(tmp_path, [0.5, 1.5] * 10), task="classification")
    assert data.classes == (0.5, 1.5)


# --- regression -------------------------------------------------------------------------------

def test_regression_csv(tmp_path):
    """A numeric target is (n, 1) float of the requested dtype; the split is not stratified."""
    rows = [(i, i / 7, round(0.1 * i**2 - 3.3, 4)) for i in range(50)]
    path = write(tmp_path, table(["a", "b", "y"], rows))
    data = load_table(path, dtype="float64", scale=False)
    assert data.task == "regression"
    assert data.X_train.dtype == np.float64 and data.y_train.dtype == np.float64
    assert data.y_train.shape == (40, 1) and data.y_test.shape == (10, 1)
    for X, y in ((data.X_train, data.y_train), (data.X_test, data.y_test)):
        np.testing.assert_allclose(y[:, 0], np.round(0.1 * X[:, 0] ** 2 - 3.3, 4))
    assert "stratified" not in data.split


def test_target_column_by_name(tmp_path):
    """target= picks any column; the others, in file order, are the features."""
    path = write(tmp_path, table(["a", "kind", "b"], [(i, "xy"[i % 2], -i) for i in range(10)]))
    data = load_table(path, target="kind", test_fraction=0.4, scale=False)
    assert data.feature_names == ("a", "b")
    np.testing.assert_array_equal(data.X_train[:, 1], -data.X_train[:, 0])
    assert label_of(data, "train") == ["xy"[int(a) % 2] for a in data.X_train[:, 0]]


def test_csv_dialect_details(tmp_path):
    """A UTF-8 BOM, CRLF line ends, blank lines, quoted cells and spaces are all read."""
    text = ('\ufeff"a" , b,label\r\n\r\n 1.5, "2",yes\r\n3,4 , no \r\n,,\r\n'
            '5,6,yes\r\n7,8,no\r\n\r\n')
    data = load_table(write(tmp_path, text), test_fraction=0.5, scale=False)
    assert data.feature_names == ("a", "b")
    assert data.classes == ("no", "yes")
    X = np.concatenate([data.X_train, data.X_test])
    assert sorted(X[:, 0].tolist()) == [1.5, 3, 5, 7]


# --- .npz ---------------------------------------------------------------------------------------

def test_npz_classification_and_regression(tmp_path, rng):
    """X and y from an archive: int labels, text labels, a 1-D and a 2-D numeric target."""
    X = rng.normal(size=(40, 3))
    path = tmp_path / "t.npz"
    np.savez(path, X=X, y=np.repeat([4, 9], 20))
    data = load_table(path)
    assert data.classes == (4, 9) and data.X_train.shape == (32, 3)
    assert data.feature_names == ("x0", "x1", "x2") and data.target is None
    np.savez(path, X=X, y=np.repeat(["no", "yes"], 20))
    assert load_table(path).classes == ("no", "yes")
    np.savez(path, X=X, y=np.arange(40) < 10)
    assert load_table(path).classes == (False, True)
    np.savez(path, X=X, y=X[:, 0] * 2.5)
    data = load_table(path, dtype="float64", scale=False)
    assert data.task == "regression" and data.y_train.shape == (32, 1)
    np.testing.assert_allclose(data.y_train[:, 0], 2.5 * data.X_train[:, 0])
    np.savez(path, X=X, y=X[:, :2] + 1)
    data = load_table(path)
    assert data.task == "regression" and data.y_test.shape == (8, 2)


def test_dataset_checks_names_and_classes():
    """Dataset refuses feature_names or classes that do not fit its arrays."""
    X, y = np.ones((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"feature_names has 3 names but X has 2 features"):
        Dataset(X, y, X, y, name="t", split="s", n_classes=2, feature_names=("a", "b", "c"))
    with pytest.raises(ValueError, match=r"classes has 3 labels but n_classes is 2"):
        Dataset(X, y, X, y, name="t", split="s", n_classes=2, classes=("a", "b", "c"))
    assert Dataset(X, y, X, y, name="t", split="s").task == "regression"


# --- errors: the file ---------------------------------------------------------------------------

def test_missing_file(tmp_path):
    """No file: a FileNotFoundError naming the path."""
    with pytest.raises(FileNotFoundError, match=r"data file not found: .*nope.csv"):
        load_table(tmp_path / "nope.csv")


GOOD = "".join(f"{i},{i % 3},{'xy'[i % 2]}\n" for i in range(20))  # rows that split well


@pytest.mark.parametrize(("name", "text", "message"), [
    ("data.txt", "a,b\n1,2\n", r"data.txt: unknown file type '.txt'; expected a table file "
                               r"\(.csv, .tsv, .npz, .parquet, .xlsx\)"),
    ("data", "a,b\n1,2\n", r"unknown file type '\(no suffix\)'"),
    ("data.csv", "", r"data.csv is empty \(0 bytes\)"),
    ("data.csv", "\n \n\n", r"data.csv is empty: it holds only blank lines"),
    ("data.csv", "a,b,label\n", r"data.csv has a header but no data rows"),
    ("data.csv", "a,b,label\n" + GOOD + "1,2,x,7\n",
     r"data.csv: line 22 has 4 cells, but the header has 3"),
    ("data.csv", "a,b,label\n1,2,x,5\n3,4,y,6\n", r"its rows have more cells than the header "
                                                   r"has columns \(3\); name every column"),
    ("data.csv", ",a,label\n0,1,x\n0,2,y\n", r"column 1 of the header has no name.*"
                                                r"index=False"),
    ("data.csv", "a,,label\n0,1,x\n1,2,y\n", r"column 2 of the header has no name.*"
                                               r"index=False"),
    ("data.csv", "a,b,a\n1,2,3\n", r"the header names column 'a' twice \(columns 1 and 3\)"),
    ("data.csv", "label\nx\n", r"single column 'label'; a table needs at least one feature"),
])
def test_bad_files(tmp_path, name, text, message):
    """Each unusable file gets one line naming the file and the problem."""
    with pytest.raises(DataFormatError, match=message):
        load_table(write(tmp_path, text, name))


def test_separators_commas_semicolons_tabs_and_a_closing_delimiter(tmp_path):
    """';' (European Excel) and tab separated files read as commas do; a delimiter that
    closes every row is no extra column."""
    rows = GOOD.splitlines()
    for sep, end in ((";", ""), ("\t", ""), (",", ",")):
        text = f"a{sep}b{sep}label\n" + "".join(r.replace(",", sep) + end + "\n" for r in rows)
        data = load_table(write(tmp_path, text), scale=False)
        assert data.feature_names == ("a", "b") and data.classes == ("x", "y")
        assert sorted(np.concatenate([data.X_train, data.X_test])[:, 0]) == list(range(20))


def test_a_tsv_file_is_read_by_its_tabs(tmp_path):
    """.tsv: tab-separated, even where a header name holds a comma or a semicolon."""
    rows = GOOD.splitlines()
    text = "a, first\tb;second\tlabel\n" + "".join(r.replace(",", "\t") + "\n" for r in rows)
    data = load_table(write(tmp_path, text, "data.tsv"), scale=False)
    assert data.feature_names == ("a, first", "b;second") and data.classes == ("x", "y")


@pytest.mark.parametrize("sep", [";", "\t"])
def test_decimal_commas_are_numbers_where_commas_do_not_separate(tmp_path, sep):
    """European Excel writes ``2,5`` in ``;``-separated files: those columns are numbers (the
    same features as with points), and a column with one word among them stays text."""
    rows = [(f"{i},5", f"{-i / 4:.2f}".replace(".", ","), i, "xy"[i % 2]) for i in range(20)]
    lines = [sep.join(["a", "b", "c", "label"])] + [sep.join(map(str, r)) for r in rows]
    commas = write(tmp_path, "\n".join(lines) + "\n", "commas.csv")
    points = write(tmp_path, table(["a", "b", "c", "label"],
                                   [(r[0].replace(",", "."), r[1].replace(",", "."), *r[2:])
                                    for r in rows]), "points.csv")
    got, want = load_table(commas, scale=False), load_table(points, scale=False)
    assert got.pipeline.describe() == want.pipeline.describe()
    np.testing.assert_array_equal(got.X_train, want.X_train)
    assert sorted(got.X_train[:, 0].tolist() + got.X_test[:, 0].tolist()) == \
        [i + 0.5 for i in range(20)]
    lines[5] = lines[5].replace("4,5", "four", 1)
    commas.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"line 6, column 'a': expected a number, got "
                                              r"'four'"):
        load_table(commas, scale=False)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_pandas_row_index_is_left_out_with_one_warning(tmp_path, suffix):
    """``DataFrame.to_csv(path)`` without ``index=False`` writes an unnamed first column of
    row numbers: read as pandas would (``index_col=0``), with one warning, when training and
    predicting; the same features as the file without it."""
    pd = pytest.importorskip("pandas")
    if suffix == ".xlsx":
        pytest.importorskip("openpyxl")
    frame = pd.DataFrame({"a": [i % 7 for i in range(30)], "s": ["uv"[i % 2] for i in range(30)],
                          "label": ["xyz"[i % 3] for i in range(30)]},
                         index=range(100, 130))
    indexed, plain = tmp_path / f"indexed{suffix}", tmp_path / f"plain{suffix}"
    write_frame = "to_csv" if suffix == ".csv" else "to_excel"
    getattr(frame, write_frame)(indexed)
    getattr(frame, write_frame)(plain, index=False)
    with pytest.warns(RowIndexWarning, match=r"indexed\S*: column 1 has no name and a different "
                                              r"value in each row \(100, 101, 102, \.\.\.\): "
                                              r"pandas' row index .*left out"):
        got = load_table(indexed)
    want = load_table(plain)
    assert got.feature_names == want.feature_names == ("a", "s=u", "s=v")
    np.testing.assert_array_equal(got.X_train, want.X_train)
    with pytest.warns(RowIndexWarning):
        X, names = load_features(indexed, pipeline=got.pipeline)
    assert names == ("a", "s") and X.shape == (30, 3)


def test_folder_is_not_a_file(tmp_path):
    """A folder given for the file."""
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(DataFormatError, match=r"d.csv is a folder; expected a table file"):
        load_table(tmp_path / "d.csv")


def test_not_utf8_is_read_as_excels_windows_1252_with_a_warning(tmp_path):
    """European Excel's CSV: Windows-1252 text, ';' separators and decimal commas. Read, with
    one warning that shows the first line that is not UTF-8 as it was decoded."""
    path = tmp_path / "data.csv"
    words = ("th\xe9", "caf\xe9")
    rows = "".join(f"{i},5;{words[i % 2]};{'xy'[i % 2]}\n" for i in range(20))
    path.write_bytes(("a;b;label\n" + rows).encode("cp1252"))
    with pytest.warns(NotUTF8Warning, match=r"data.csv is not UTF-8 text \(byte 0xe9, line 2\); "
                                            r"read as Windows-1252, .*: line 2 reads "
                                            r"'0,5;th\xe9;x'"):
        data = load_table(path, scale=False)
    assert data.feature_names == ("a", "b=caf\xe9", "b=th\xe9")
    assert sorted(np.concatenate([data.X_train, data.X_test])[:, 0]) == [i + 0.5
                                                                         for i in range(20)]


def test_a_binary_file_is_not_a_table(tmp_path):
    """Bytes that no text holds (a NUL, or none of Windows-1252's characters): one line."""
    path = tmp_path / "data.csv"
    for raw in (b"a,b\n\x00\xff\x81\n", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xe9"):
        path.write_bytes(raw)
        with pytest.raises(DataFormatError, match=r"data.csv is not UTF-8 text \(cannot decode "
                                                  r"byte 0x[0-9a-f]{2}\); save it as UTF-8 CSV"):
            load_table(path)


# --- errors: the cells --------------------------------------------------------------------------

@pytest.mark.parametrize(("bad", "message"), [
    ((3, "abc", "y"), r"data.csv: line 22, column 'b': expected a number, got 'abc' \(the "
                      r"column's other cells are numbers; fix the cell, or empty it"),
    ((1, "inf", "x"), r"line 22, column 'b': inf is not a finite number; infinity"),
    (("-inf", 4, "y"), r"line 22, column 'a': -inf is not a finite number"),
])
def test_bad_cells(tmp_path, bad, message):
    """A cell that cannot be a number is named by line (the header is line 1), column and
    value."""
    text = "a,b,label\n" + GOOD + ",".join(map(str, bad)) + "\n"
    with pytest.raises(DataFormatError, match=message):
        load_table(write(tmp_path, text))


def test_too_large_for_float32(tmp_path):
    """A value float32 cannot hold is refused when it is not standardised."""
    text = "a,b,label\n" + GOOD + "1e39,4,y\n"
    with pytest.raises(DataFormatError, match=r"line 22, column 'a': the value is too large "
                                              r"for float32"):
        load_table(write(tmp_path, text), scale=False)


def test_line_numbers_count_blank_lines(tmp_path):
    """Line numbers are the file's, as an editor shows them, blank lines included."""
    text = "a,label\n\n1,x\n\n2,y\nbad,x\n3,y\n4,x\n"
    with pytest.raises(DataFormatError, match=r"line 6, column 'a': expected a number"):
        load_table(write(tmp_path, text))


def test_text_target_for_regression(tmp_path):
    """Forcing regression on a text column names the first cell that is not a number."""
    path = write(tmp_path, table(["a", "y"], [(1, 2.5), (2, "high"), (3, 1)]))
    with pytest.raises(DataFormatError, match=r"line 3, column 'y': expected a number, got "
                                              r"'high' \(a regression target must be numeric"):
        load_table(path, task="regression")


@pytest.mark.parametrize("empty", ["", "nan", "NA"])
def test_rows_without_a_target_are_dropped_and_counted(tmp_path, empty):
    """A target cell that is empty (or NaN, NA) drops its row; the summary says so."""
    rows = [(i, i % 3, "xy"[i % 2]) for i in range(20)] + [(99, 1, empty), (98, 2, empty)]
    data = load_table(write(tmp_path, table(["a", "b", "label"], rows)), scale=False)
    assert sum(data.sizes.values()) == 20
    assert 99 not in np.concatenate([data.X_train, data.X_test])[:, 0]
    assert "2 rows without a target dropped" in data.summary()
    assert data.pipeline.rows_without_target == 2


def test_none_is_a_category_and_na_a_missing_cell(tmp_path):
    """pandas reads "None" as missing; in a real table it is a value ("how often do you
    exercise: Freq, Some, None"), so it stays a class here, while NA and NULL are missing."""
    rows = [(i, ("Freq", "Some", "None")[i % 3]) for i in range(30)] + [(99, "NA"), (98, "NULL")]
    data = load_table(write(tmp_path, table(["a", "exercise"], rows)), scale=False)
    assert list(data.classes) == ["Freq", "None", "Some"]
    assert "2 rows without a target dropped" in data.summary()


def test_a_question_mark_is_a_missing_cell(tmp_path):
    """"?" (the UCI repository's mark for an unknown value) is missing, in a numeric column
    (imputed with the median) as in a text one (set to the most frequent value)."""
    rows = [(" ?" if i % 4 == 0 else i, "?" if i % 5 == 0 else "ab"[i % 2], "xy"[i % 2])
            for i in range(40)]  # spaces around a cell are ignored
    data = load_table(write(tmp_path, table(["n", "t", "label"], rows)), scale=False)
    assert data.feature_names == ("n", "t=a", "t=b")  # no category "?"
    assert re.search(r"1 numeric column \(not scaled; \d+ missing values imputed with the "
                     r"median\), 1 text column \(one-hot: 2 features; \d+ missing values set "
                     r"to the most frequent\)", data.summary())
    X = np.concatenate([data.X_train, data.X_test])
    assert np.isfinite(X).all() and X.shape == (40, 3)


@pytest.mark.parametrize("name", ["rownames", "index", "ID", "row_id", "PassengerId",
                                  "customer_id", "Row.names"])
@pytest.mark.parametrize("order", ["in order", "shuffled"])
def test_a_row_number_column_is_refused(tmp_path, name, order):
    """A numeric column named as a row number or an identifier, a different whole number in
    every row, is refused: on a table sorted by class the network would learn the row's
    place. Rows without a target do not hide it."""
    numbers = list(range(1, 31))
    if order == "shuffled":
        numbers = list(np.random.default_rng(0).permutation(numbers) + 100)
    rows = [(k, i % 3, "xy"[i // 15] if i != 7 else "") for i, k in enumerate(numbers)]
    path = write(tmp_path, table([name, "b", "label"], rows))
    first = ", ".join(map(str, numbers[:3]))
    with pytest.raises(DataFormatError, match=rf"data.csv: column {name!r} holds a different "
                       rf"whole number in each of its 30 rows \({first}, ...\): a row number "
                       rf"or an identifier, which says where a row is, not what it holds; "
                       rf"leave it out with --drop {name}"):
        load_table(path)
    data = load_table(path, drop=[name])
    assert data.feature_names == ("b",)


@pytest.mark.parametrize("name, cells", [
    ("width", list(range(1, 31))),           # a measurement may count up: the name decides
    ("valid", list(range(1, 31))),           # 'id' inside a word is not an identifier
    ("id", [i // 2 for i in range(30)]),     # repeated values
    ("id", [i + 0.5 for i in range(30)]),    # not whole numbers
    ("id", list(range(1, 21))),              # 20 rows: too few to tell
])
def test_columns_that_are_not_row_numbers_train(tmp_path, name, cells):
    """Only the name and a different whole number in every row together refuse a column."""
    rows = [(c, "xy"[i % 2]) for i, c in enumerate(cells)]
    data = load_table(write(tmp_path, table([name, "label"], rows)))
    assert data.feature_names == (name,)


def test_a_target_with_no_value_at_all(tmp_path):
    """A target column that is empty in every row is one line."""
    path = write(tmp_path, "a,label\n1,\n2,\n")
    with pytest.raises(DataFormatError, match=r"the target column 'label' is empty in every "
                                              r"row"):
        load_table(path)


def test_missing_target_column_suggests_close_names(tmp_path):
    """An unknown target lists the columns and suggests the closest."""
    path = labelled_csv(tmp_path, ["a", "b"] * 5)
    with pytest.raises(DataFormatError, match=r"data.csv has no column 'lable'; did you mean "
                                              r"'label'\? \(columns: 'x0', 'x1', 'label'\)"):
        load_table(path, target="lable")
    with pytest.raises(DataFormatError, match=r"no column 'zzz' \(columns: 'x0', 'x1'"):
        load_table(path, target="zzz")


# --- errors: classes and splits -----------------------------------------------------------------

def test_one_class_only(tmp_path):
    """A classification target needs at least two classes."""
    with pytest.raises(DataFormatError, match=r"data.csv: the target column 'label' holds one "
                                              r"class only \('spam'\); classification needs"):
        load_table(labelled_csv(tmp_path, ["spam"] * 10))


def test_class_with_one_row(tmp_path):
    """A stratified split needs two rows of every class."""
    with pytest.raises(DataFormatError, match=r"class 'c' has only 1 row; a stratified split "
                                              r"needs at least 2"):
        load_table(labelled_csv(tmp_path, ["a", "b"] * 10 + ["c"]))


def test_fewer_test_rows_than_classes(tmp_path):
    """0.2 of 10 rows is 2 test rows, too few for 3 classes."""
    with pytest.raises(DataFormatError, match=r"test_fraction of 0.2 of 10 rows gives 2 test "
                                              r"rows, fewer than the 3 classes"):
        load_table(labelled_csv(tmp_path, ["a", "b", "c"] * 3 + ["a"]))
    with pytest.raises(DataFormatError, match=r"gives 2 training rows, fewer than the 3"):
        load_table(labelled_csv(tmp_path, ["a", "b", "c"] * 3 + ["a"]), test_fraction=0.8)


def test_too_few_rows_to_split(tmp_path):
    """One row cannot be split into a training and a test part."""
    path = write(tmp_path, table(["a", "y"], [(1, 0.5)]))
    with pytest.raises(DataFormatError, match=r"data.csv has 1 data row: a test_fraction of "
                                              r"0.2 puts 1 in the test set and leaves none"):
        load_table(path)


# --- errors: .npz --------------------------------------------------------------------------------

@pytest.mark.parametrize(("arrays", "message"), [
    ({"X": np.ones((4, 2))}, r"t.npz has no array 'y' \(it holds 'X'\)"),
    ({"data": np.ones((4, 2)), "y": np.arange(4)}, r"has no array 'X' \(it holds 'data', 'y'\)"),
    ({"X": np.ones(4), "y": np.arange(4)}, r"X must be 2-D \(n_samples, n_features\), got "
                                           r"shape \(4,\)"),
    ({"X": np.ones((4, 2)), "y": np.arange(3)}, r"X has 4 rows but y has 3"),
    ({"X": np.array([["a", "b"]] * 4), "y": np.arange(4)}, r"X must hold numbers, got dtype"),
    ({"X": np.zeros((0, 2)), "y": np.arange(0)}, r"X is empty \(shape \(0, 2\)\)"),
    ({"X": np.array([[1, 2], [3, np.inf]] * 5), "y": np.arange(10) % 2},
     r"t.npz: row 2, column 'x1': inf is not a finite number"),
    ({"X": np.ones((4, 2)), "y": np.ones((4, 2, 2))}, r"y must be 1-D .* got shape \(4, 2, 2\)"),
    ({"X": np.ones((4, 2)), "y": np.array([1.0, 2.5, np.inf, 1])}, r"y\[2\]: inf is not a fin"),
    ({"X": np.ones((4, 2)), "y": np.array([None, 1, 2, 3])}, r"array 'y' holds Python objects"),
])
def test_bad_npz(tmp_path, arrays, message):
    """An archive without a proper X and y; object arrays are refused, never unpickled."""
    path = tmp_path / "t.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataFormatError, match=message):
        load_table(path)


def test_npz_that_is_not_an_archive(tmp_path):
    """A text file or a single .npy array saved under an .npz name."""
    with pytest.raises(DataFormatError, match=r"t.npz is not an .npz archive \(not a zip"):
        load_table(write(tmp_path, "X,y\n1,2\n", "t.npz"))
    path = tmp_path / "a.npz"
    with open(path, "wb") as f:
        np.save(f, np.ones((3, 2)))
    with pytest.raises(DataFormatError, match=r"a.npz holds a single .npy array"):
        load_table(path)


def test_npz_classification_needs_1d_labels(tmp_path):
    """A 2-D y cannot be forced to classification."""
    path = tmp_path / "t.npz"
    np.savez(path, X=np.ones((6, 2)), y=np.ones((6, 2)))
    with pytest.raises(DataFormatError, match=r"classification needs one label per row"):
        load_table(path, task="classification")


# --- errors: the arguments ----------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "message"), [
    ({"task": "clustering"}, r"task must be one of 'auto', 'classification', 'regression', "
                             r"got 'clustering'"),
    ({"test_fraction": 1.0}, r"test_fraction must be a number in \(0, 1\), got 1.0"),
    ({"test_fraction": 0}, r"test_fraction must be a number in \(0, 1\), got 0"),
    ({"seed": -1}, r"seed must be an integer in \[0, 2\*\*32\), got -1"),
    ({"seed": None}, r"seed must be an integer .* got None"),
    ({"target": 2}, r"target must be a column name \(str\), got 2"),
    ({"dtype": "int32"}, r"dtype must be float32 or float64, got 'int32'"),
])
def test_bad_arguments(tmp_path, kwargs, message):
    """Bad arguments are ValueErrors naming the argument."""
    with pytest.raises(ValueError, match=message):
        load_table(labelled_csv(tmp_path, ["a", "b"] * 5), **kwargs)


def test_target_with_npz(tmp_path):
    """An .npz file has no columns to name."""
    path = tmp_path / "t.npz"
    np.savez(path, X=np.ones((6, 2)), y=np.arange(6) % 2)
    with pytest.raises(ValueError, match=r"target names a CSV column, but .*t.npz is an .npz"):
        load_table(path, target="y")


# --- prediction inputs and outputs ---------------------------------------------------------------

def test_load_features_reorders_and_drops_the_target(tmp_path):
    """Columns are matched by name, put in the model's order; the target may be there or not."""
    with_target = write(tmp_path, table(["b", "label", "a"], [(2, "x", 1), (4, "y", 3)]))
    without = write(tmp_path, table(["b", "a"], [(2, 1), (4, 3)]), "new.csv")
    for path in (with_target, without):
        X, names = load_features(path, feature_names=["a", "b"], target="label")
        assert names == ("a", "b") and X.dtype == np.float32
        np.testing.assert_array_equal(X, [[1, 2], [3, 4]])


def test_load_features_names_missing_and_extra_columns(tmp_path):
    """A CSV whose columns differ from the model's names what is missing and what is extra."""
    path = write(tmp_path, table(["a", "c", "d"], [(1, 2, 3)]))
    with pytest.raises(DataFormatError, match=r"data.csv: the columns differ from the model's: "
                                              r"missing 'b'; unexpected 'c', 'd' \(the model "
                                              r"was trained on 'a', 'b'\)"):
        load_features(path, feature_names=["a", "b"])


def test_load_features_by_count(tmp_path):
    """Without names, the number of feature columns must match."""
    path = write(tmp_path, table(["a", "b", "y"], [(1, 2, 3)]))
    X, names = load_features(path, n_features=2, target="y", dtype="float64")
    assert names == ("a", "b") and X.dtype == np.float64 and X.shape == (1, 2)
    with pytest.raises(DataFormatError, match=r"data.csv has 3 feature columns \('a', 'b', "
                                              r"'y'\); the model expects 2"):
        load_features(path, n_features=2)
    with pytest.raises(ValueError, match=r"n_features is 3 but feature_names has 2 names"):
        load_features(path, n_features=3, feature_names=["a", "b"])


def test_load_features_checks_cells_and_npz(tmp_path):
    """The cells are checked as in training; an .npz gives its X."""
    path = write(tmp_path, table(["a", "b"], [(1, 2), (3, "x")]))
    with pytest.raises(DataFormatError, match=r"line 3, column 'b': expected a number, got 'x'"):
        load_features(path, feature_names=["a", "b"])
    path = write(tmp_path, table(["a", "b"], [(1, 2), (3, "")]))
    with pytest.raises(DataFormatError, match=r"line 3, column 'b': the cell is empty \(this "
                                              r"model was trained without missing values"):
        load_features(path, feature_names=["a", "b"])  # a model without a pipeline
    npz = tmp_path / "x.npz"
    np.savez(npz, X=np.arange(6.0).reshape(3, 2))
    X, names = load_features(npz, n_features=2)
    assert X.shape == (3, 2) and names == ("x0", "x1")
    with pytest.raises(DataFormatError, match=r"x.npz has 2 feature columns \('x0', 'x1'\); "
                                              r"the model expects 4"):
        load_features(npz, n_features=4)


def read_csv(path):
    """The rows of a CSV file as lists of str (header first)."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_write_classification_predictions(tmp_path):
    """The predicted label in the user's values, then one probability column per class."""
    proba = np.array([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1]], dtype=np.float32)
    path = write_predictions(tmp_path / "out" / "p.csv", proba,
                             classes=("bird", "cat", "dog, big"), target="species")
    rows = read_csv(path)
    assert rows[0] == ["row", "species", "p_bird", "p_cat", "p_dog, big"]
    assert [r[:2] for r in rows[1:]] == [["1", "cat"], ["2", "bird"]]
    np.testing.assert_allclose([[float(v) for v in r[2:]] for r in rows[1:]], proba, rtol=1e-6)
    assert sorted(p.name for p in path.parent.iterdir()) == ["p.csv"]  # no temporary left


def test_write_regression_predictions(tmp_path):
    """One column per output; values read back exactly."""
    y = np.array([[0.1], [1 / 3], [-2e-7]], dtype=np.float32)
    rows = read_csv(write_predictions(tmp_path / "r.csv", y))
    assert rows[0] == ["row", "prediction"]
    np.testing.assert_array_equal(np.array([r[1] for r in rows[1:]], dtype=np.float32), y[:, 0])
    rows = read_csv(write_predictions(tmp_path / "r2.csv", np.ones((2, 2)), target="y"))
    assert rows[0] == ["row", "y_0", "y_1"] and rows[2] == ["2", "1.0", "1.0"]


def test_write_predictions_rejects_bad_shapes(tmp_path):
    """Probabilities must have one column per class."""
    with pytest.raises(ValueError, match=re.escape("outputs must be probabilities of shape "
                                                   "(n_samples, 2) for 2 classes, got shape (3,)")):
        write_predictions(tmp_path / "p.csv", np.ones(3), classes=("a", "b"))
    with pytest.raises(ValueError, match=r"outputs must hold numbers"):
        write_predictions(tmp_path / "p.csv", ["a", "b"])
    assert not (tmp_path / "p.csv").exists()


# --- end to end ----------------------------------------------------------------------------------

@pytest.fixture
def iris_csv(tmp_path):
    """scikit-learn's bundled iris as a CSV with text species labels."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    rows = [(*x, iris.target_names[t]) for x, t in zip(iris.data, iris.target, strict=True)]
    return write(tmp_path, table([*names, "species"], rows), "iris.csv")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_iris_table_trains_and_predicts(tmp_path, iris_csv, seed):
    """A 4-16-3 network reaches >= 90 % test accuracy on the loaded iris table (measured
    0.93-1.0 over seeds 0-9), and predictions written back use the species names."""
    data = load_table(iris_csv, seed=seed)
    model = NeuralNetwork(data.n_features, data.n_classes, 16, 1, head_activation=Softmax,
                          seed=seed)
    train(model, data.X_train, data.y_train, CrossEntropyLoss, epochs=100, batch_size=16,
          optimizer="adam", learning_rate=0.01, bar=False)
    assert model.score(data.X_test, data.y_test) >= 0.9

    X, _ = load_features(iris_csv, pipeline=data.pipeline)
    rows = read_csv(write_predictions(tmp_path / "pred.csv", model.predict_proba(X),
                                      classes=data.classes, target=data.target))
    truth = [r[-1] for r in read_csv(iris_csv)[1:]]
    assert np.mean([r[1] == t for r, t in zip(rows[1:], truth, strict=True)]) >= 0.9


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regression_table_trains(tmp_path, seed):
    """A 2-32-32-1 tanh network fits sin(a) + b^2/2 + N(0, 0.1^2) noise (variance 0.92) to a
    test MSE <= 0.05 (measured 0.009-0.025 over seeds 0-9; the noise alone is 0.01)."""
    gen = np.random.default_rng(0)
    X = gen.uniform(-2, 2, size=(400, 2))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2 + gen.normal(0, 0.1, 400)
    rows = [(repr(float(a)), repr(float(b)), repr(float(t))) for (a, b), t in zip(X, y,
                                                                                  strict=True)]
    data = load_table(write(tmp_path, table(["a", "b", "y"], rows)), seed=seed)
    assert data.task == "regression"
    model = NeuralNetwork(2, 1, 32, 2, hidden_activation=Tanh, seed=seed)
    train(model, data.X_train, data.y_train, MeanSquaredErrorLoss, epochs=200, batch_size=16,
          optimizer="adam", learning_rate=0.01, bar=False)
    assert MeanSquaredErrorLoss.loss(model.forward(data.X_test), data.y_test) <= 0.05
