"""A sweep's journal: each finished candidate's result, recorded the moment it completes.

``OUT/candidates.jsonl`` starts with a header line (what the sweep is: its configuration,
every candidate's parameters, the number of splits and samples), then gets one line per
finished candidate (its scores on every split, fit and score times, first error), appended
and flushed to disk as the candidate's last fit returns (:func:`nnscratch.files.append_line`).
``nnscratch sweep CONFIG --resume OUT`` reads it back and runs only the candidates it lacks;
a sweep whose configuration differs from the header is refused.
"""

import json
from pathlib import Path

from ..files import append_line, write_text
from ..jsonable import to_json

JOURNAL_FILE = "candidates.jsonl"
FORMAT = "nnscratch-sweep-journal"


class Journal:
    """The finished candidates of a sweep: ``done[index] = record``; written to ``path``
    (None: kept in memory only)."""

    def __init__(self, path, header, done=None):
        self.path, self.header, self.done = path, header, dict(done or {})

    @classmethod
    def start(cls, out_dir, header):
        """A new journal in ``out_dir`` (None: in memory); see :func:`check_folder`."""
        if out_dir is None:
            return cls(None, header)
        path = Path(out_dir) / JOURNAL_FILE
        write_text(path, _line(header) + "\n")
        return cls(path, header)

    @classmethod
    def resume(cls, out_dir, header):
        """The journal in ``out_dir``, checked against this sweep's ``header``.

        Lines that are incomplete (the last one, cut by a crash) or unreadable are dropped
        (their candidates run again), and the file is rewritten without them.

        Raises
        ------
        ValueError
            The journal is of another sweep (another configuration, seed or data).
        """
        path = Path(out_dir) / JOURNAL_FILE
        lines = path.read_bytes().split(b"\n")
        complete = lines[:-1]  # the last piece has no newline: empty, or cut by a crash
        records = [_parse(line) for line in complete]
        if not records or records[0] != header:
            theirs = records[0] if records and isinstance(records[0], dict) else {}
            raise ValueError(f"{out_dir} holds another sweep: {_difference(theirs, header)}; "
                             "resume it with its own configuration and seed, or start this "
                             "one in another folder")
        done = {}
        for record in records[1:]:
            if _valid(record, header):
                done[record["index"]] = record
        journal = cls(path, header, done)
        if len(done) != len(records) - 1 or lines[-1]:
            write_text(path, "".join(_line(r) + "\n" for r in (header, *done.values())))
        return journal

    def record(self, index, result):
        """Note candidate ``index``'s ``result`` (and append it to the file)."""
        record = {"index": index, **to_json(result, "result")}
        self.done[index] = record
        if self.path is not None:
            append_line(self.path, _line(record))


def check_folder(out_dir, resume):
    """Refuse a sweep's output folder before any work: one that holds a sweep already
    (unless ``resume``), or (``resume``) one that holds none.

    Raises
    ------
    FileExistsError, FileNotFoundError
    """
    path = Path(out_dir) / JOURNAL_FILE
    if resume and not path.is_file():
        raise FileNotFoundError(f"{out_dir} holds no sweep to resume (no {JOURNAL_FILE}; a "
                                "sweep writes it when it starts)")
    if not resume and path.exists():
        raise FileExistsError(f"{out_dir} holds a sweep already ({JOURNAL_FILE}); resume it "
                              f"(nnscratch sweep CONFIG --resume {out_dir}) or choose another "
                              "folder")


def make_header(config_json, candidates, n_splits, n_samples):
    """What identifies a sweep: configuration, candidates, splits and samples (as JSON)."""
    return to_json({"format": FORMAT, "sweep": config_json,
                    "candidates": list(candidates), "splits": n_splits,
                    "samples": n_samples}, "sweep")


def _line(record):
    return json.dumps(record, allow_nan=False, separators=(",", ":"))


def _parse(line):
    try:
        return json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _valid(record, header):
    """A complete record of one of the header's candidates."""
    n_splits = header["splits"]
    return (isinstance(record, dict) and isinstance(record.get("index"), int)
            and 0 <= record["index"] < len(header["candidates"])
            and record.get("params") == header["candidates"][record["index"]]
            and all(isinstance(record.get(key), list) and len(record[key]) == n_splits
                    for key in ("scores", "fit_seconds", "score_seconds"))
            and isinstance(record.get("error"), str))


def _difference(theirs, mine):
    """The first key in which two headers differ, in words."""
    if theirs.get("format") != FORMAT:
        return f"its {JOURNAL_FILE} is not a sweep journal"
    for key in ("sweep", "candidates", "splits", "samples"):
        a, b = theirs.get(key), mine.get(key)
        if key == "sweep" and isinstance(a, dict) and a != b:
            name = next(k for k in {**a, **b} if a.get(k) != b.get(k))
            return f"its {name} is {json.dumps(a.get(name))}, this one's {json.dumps(b.get(name))}"
        if a != b:
            return f"its {key} differ"
    return "its journal header is damaged"
