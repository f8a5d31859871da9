"""Checkpoints and ``--resume``: a run killed anywhere continues to the very weights, history and
metrics of a run that was never stopped; damaged or foreign checkpoints are refused."""

import json
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from nnscratch import NeuralNetwork, train
from nnscratch.checkpoint import previous_path, read_checkpoint
from nnscratch.cli import main
from nnscratch.errors import CheckpointError, CheckpointWarning
from nnscratch.optimizers import OPTIMIZERS, get_optimizer
from nnscratch.runs import read_history_csv
from nnscratch.serialization import load

DIGITS = ["--dataset", "digits", "--no-bar"]
#: Small trainings on the digits (18-23 batches an epoch), each setting the kill tests need:
#: both dtypes, each augmentation, dropout, a schedule, momentum and Adam state, clipping,
#: and early stopping that stops.
CONFIGS = {
    "sgd": ["--epochs", "4", "--lr", "0.1"],
    "adamw-elastic": ["--dtype", "float64", "--optimizer", "adamw", "--lr", "0.01",
                      "--schedule", "cosine", "--warmup", "1", "--dropout", "0.2",
                      "--augment", "elastic", "--val-split", "0.2", "--epochs", "5"],
    "early-stop": ["--dtype", "float64", "--optimizer", "adamw", "--lr", "0.02",
                   "--dropout", "0.2", "--augment", "affine", "--val-split", "0.2",
                   "--patience", "1", "--epochs", "10"],
    "momentum-shift": ["--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.05",
                       "--augment", "shift", "--dropout", "0.3", "--clip", "1.0",
                       "--val-split", "0.1", "--epochs", "4"],
}

#: Runs ``nnscratch train ARGV`` and SIGKILLs itself at a chosen point (test-only seams,
#: patched here: the package has no such switch). Modes: ``batch N`` before the N-th training
#: step of the run; ``write N`` / ``empty N`` while writing the N-th checkpoint, after half of
#: its bytes / before any (the current one is already renamed to .prev); ``end`` after the
#: last checkpoint, before the run's files are written.
KILLER = """
import io, os, signal, sys
mode, n, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
calls = [0]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if mode == "batch":
    from nnscratch.network import NeuralNetwork
    step = NeuralNetwork.train_batch
    def train_batch(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == n:
            die()
        return step(self, *args, **kwargs)
    NeuralNetwork.train_batch = train_batch
elif mode in ("write", "empty"):
    from nnscratch import checkpoint
    write = checkpoint._write_archive
    def write_archive(f, arrays):
        calls[0] += 1
        if calls[0] == n:
            buffer = io.BytesIO()
            write(buffer, arrays)
            data = buffer.getvalue()
            f.write(data[:len(data) // 2] if mode == "write" else b"")
            f.flush()
            os.fsync(f.fileno())
            die()
        write(f, arrays)
    checkpoint._write_archive = write_archive
elif mode == "end":
    from nnscratch import experiment
    experiment.write_run = lambda *args, **kwargs: die()
from nnscratch.cli import main
sys.exit(main(argv))
"""


def _train(argv, capsys):
    """``nnscratch train ARGV`` in this process: (exit status, stdout, stderr)."""
    try:
        status = main(["train", *argv])
    except SystemExit as exit_:  # argparse's errors
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def _killed(mode, n, argv):
    """Run ``nnscratch train ARGV`` in a subprocess that SIGKILLs itself (see KILLER)."""
    done = subprocess.run([sys.executable, "-c", KILLER, mode, str(n), "train", *argv],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """``reference(name)``: the folder of an uninterrupted run of ``CONFIGS[name]``."""
    runs = {}

    def get(name):
        if name not in runs:
            out = tmp_path_factory.mktemp(name) / "run"
            assert main(["train", *DIGITS, *CONFIGS[name], "--out", str(out)]) == 0
            runs[name] = out
        return runs[name]

    return get


def _params(run):
    return load(run / "model.npz").parameters()


def _rows(run):
    """history.csv's rows, without the wall-clock column."""
    return [{k: v for k, v in row.items() if k != "seconds"}
            for row in read_history_csv(run / "history.csv").rows()]


def _metrics(run):
    """metrics.json without the wall-clock time (which no rerun can repeat)."""
    metrics = json.loads((run / "metrics.json").read_text())
    return {k: v for k, v in metrics.items() if k != "seconds"}


def assert_same_run(run, reference):
    """Bit-identical weights, history and metrics (wall-clock seconds apart)."""
    assert all(np.array_equal(a, b) for a, b in zip(_params(run), _params(reference),
                                                    strict=True))
    assert _rows(run) == _rows(reference)
    assert _metrics(run) == _metrics(reference)
    assert sorted(p.name for p in run.iterdir()) == sorted(p.name for p in reference.iterdir())


@pytest.mark.parametrize(("name", "mode", "n", "extra"), [
    ("sgd", "batch", 50, []),  # mid-epoch 3
    ("sgd", "write", 2, []),  # halfway through writing checkpoint 2
    ("adamw-elastic", "empty", 3, []),  # checkpoint 2 renamed to .prev, 3 not yet written
    ("adamw-elastic", "batch", 60, []),
    ("early-stop", "batch", 70, []),  # mid-epoch 4 of a run that stops after epoch 5
    ("early-stop", "end", 0, []),  # stopped early and checkpointed, no run files yet
    ("momentum-shift", "write", 1, []),  # the first checkpoint cut short: start again
    ("momentum-shift", "batch", 80, ["--checkpoint-every", "2"]),  # resumes after epoch 2
], ids=lambda v: str(v) if not isinstance(v, list) else "-".join(v) or "every-1")
def test_killed_run_resumes_to_the_uninterrupted_result(name, mode, n, extra, reference,
                                                         tmp_path, capsys):
    """SIGKILL mid-epoch or mid-checkpoint, then --resume: the same run, bit for bit."""
    if name == "early-stop":  # it does stop early (after epoch 5)
        assert _metrics(reference(name))["stopped_early"]
    run = tmp_path / "run"
    _killed(mode, n, [*DIGITS, *CONFIGS[name], *extra, "--out", str(run)])
    assert not (run / "model.npz").exists() and (run / "config.json").is_file()
    assert bool(list(run.glob(".checkpoint.npz.*.tmp"))) == (mode in ("write", "empty"))
    status, out, err = _train(["--resume", str(run)], capsys)
    assert status == 0, err
    assert not list(run.glob(".*.tmp"))  # the killed writer's half-written file is gone
    assert f"Resuming {run} with its own configuration" in out
    assert_same_run(run, reference(name))
    if mode in ("write", "empty") and n > 1:  # killed after checkpoint.npz became .prev
        assert err.count("\n") == 1 and err.startswith("nnscratch train: warning: checkpoint")
        assert "is missing (the run was stopped while replacing it); resuming from the " \
               f"previous checkpoint, {run / 'checkpoint.prev.npz'} (epoch {n - 1})" in err
    else:
        assert err == ""


def test_run_killed_from_outside_resumes(reference, tmp_path, capsys):
    """A SIGKILL sent by another process, wherever it lands after epoch 2's line."""
    run = tmp_path / "run"
    argv = ["--dataset", "digits", *CONFIGS["adamw-elastic"], "--out", str(run)]
    with subprocess.Popen([sys.executable, "-m", "nnscratch.cli", "train", *argv],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True) as proc:  # not a terminal: a line per epoch
        for line in proc.stdout:
            if line.startswith("epoch 2:"):
                proc.send_signal(signal.SIGKILL)
                break
        proc.stdout.read()
    assert proc.returncode == -signal.SIGKILL
    assert _train(["--resume", str(run)], capsys)[0] == 0
    assert_same_run(run, reference("adamw-elastic"))


def test_run_stopped_by_ctrl_c_resumes(ctrl_c_at_batch, reference, tmp_path, capsys):
    """Ctrl-C saves the run so far (marked interrupted) and keeps its checkpoints: --resume
    continues from the last one to the uninterrupted result."""
    run = tmp_path / "run"
    ctrl_c_at_batch(50)
    status, out, _ = _train([*DIGITS, *CONFIGS["sgd"], "--out", str(run)], capsys)
    assert status == 130 and "interrupted: model and history so far were saved" in out
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 2
    ctrl_c_at_batch(10 ** 9)
    status, out, _ = _train(["--resume", str(run)], capsys)
    assert status == 0 and "(resumed after epoch 2)" in out
    assert_same_run(run, reference("sgd"))


def test_resuming_a_finished_run_changes_nothing(reference, capsys):
    """--resume of a finished run says so, exits 0 and leaves every file as it was."""
    run = reference("sgd")
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    status, out, err = _train(["--resume", str(run)], capsys)
    assert status == 0 and err == ""
    assert out == f"{run} is a finished run (4 epochs); nothing to resume, nothing changed\n"
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


class _Crash(BaseException):
    """Stands for a kill in the in-process tests: nothing after it runs, no file is saved."""


@pytest.fixture
def crashed(monkeypatch):
    """``crashed(argv, batch)``: run ``nnscratch train ARGV`` in this process until it dies
    at the ``batch``-th training step, leaving its checkpoints behind."""
    def crash(argv, batch):
        calls = []
        step = NeuralNetwork.train_batch

        def train_batch(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == batch:
                raise _Crash
            return step(self, *args, **kwargs)

        monkeypatch.setattr(NeuralNetwork, "train_batch", train_batch)
        with pytest.raises(_Crash):
            main(["train", *argv])
        monkeypatch.setattr(NeuralNetwork, "train_batch", step)

    return crash


def _flip_bytes(path):
    """Damage a file in the middle, as a bad disk or copy would."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2:len(data) // 2 + 16] = bytes(16)
    path.write_bytes(bytes(data))


def test_damaged_checkpoint_falls_back_on_the_previous_one(crashed, reference, tmp_path,
                                                            capsys):
    """A damaged checkpoint.npz: one warning line, then the previous one, same result."""
    run = tmp_path / "run"
    crashed([*DIGITS, *CONFIGS["sgd"], "--out", str(run)], 80)  # epoch 3 of 4 done
    assert read_checkpoint(run / "checkpoint.npz").epoch == 3
    _flip_bytes(run / "checkpoint.npz")
    capsys.readouterr()
    status, _, err = _train(["--resume", str(run)], capsys)
    assert status == 0 and err.count("\n") == 1
    assert err.startswith(f"nnscratch train: warning: checkpoint {run / 'checkpoint.npz'} "
                          "refused: it is damaged")
    assert err.endswith(f"resuming from the previous checkpoint, {run / 'checkpoint.prev.npz'}"
                        " (epoch 2)\n")
    assert_same_run(run, reference("sgd"))


@pytest.mark.parametrize(("damage", "message"), [
    ("flip", "refused: it is damaged"),
    ("empty", "refused: the file is empty"),
    ("model", "refused: it is not an nnscratch checkpoint (format 'nnscratch-model'"),
    ("foreign", "refused: it belongs to another training: its optimizer's lr is 0.2, this "
                "one's is 0.1"),
])
def test_unusable_checkpoint_without_a_previous_one_is_refused(damage, message, crashed,
                                                               tmp_path, capsys):
    """No usable checkpoint: exit 2, one line naming the file and what is wrong with it."""
    run = tmp_path / "run"
    crashed([*DIGITS, *CONFIGS["sgd"], "--out", str(run)], 50)
    latest = run / "checkpoint.npz"
    previous_path(latest).unlink()
    if damage == "flip":
        _flip_bytes(latest)
    elif damage == "empty":
        latest.write_bytes(b"")
    elif damage == "model":
        assert main(["train", *DIGITS, "--epochs", "1", "--out", str(tmp_path / "m")]) == 0
        shutil.copy(tmp_path / "m" / "model.npz", latest)
    else:  # the checkpoint of a run with another learning rate
        other = tmp_path / "other"
        crashed([*DIGITS, *CONFIGS["sgd"][:-1], "0.2", "--out", str(other)], 50)
        shutil.copy(other / "checkpoint.npz", latest)
    before = latest.read_bytes()
    capsys.readouterr()
    status, _, err = _train(["--resume", str(run)], capsys)
    assert status == 2 and err.count("\n") == 1
    assert err.startswith(f"nnscratch train: error: checkpoint {latest} {message}")
    assert "no previous checkpoint (checkpoint.prev.npz) to fall back on" in err
    assert latest.read_bytes() == before and not (run / "model.npz").exists()


def test_force_keeps_the_old_run_until_the_new_one_ends(reference, tmp_path, capsys):
    """--force on a finished run, killed: the old run is intact; --resume finishes the new one
    and only then replaces the old folder, whole."""
    run = tmp_path / "run"
    assert _train([*DIGITS, "--epochs", "2", "--out", str(run)], capsys)[0] == 0
    (run / "figures").mkdir()
    old = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    _killed("batch", 50, [*DIGITS, *CONFIGS["sgd"], "--out", str(run), "--force"])
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == old
    staged = tmp_path / ".run.new"
    assert (staged / "checkpoint.npz").is_file()
    status, _, err = _train([*DIGITS, "--out", str(run)], capsys)
    assert status == 2 and "already exists" in err
    status, out, _ = _train(["--resume", str(run)], capsys)
    assert status == 0 and f"(the run that is to replace it, in {staged})" in out
    assert not staged.exists() and not (run / "figures").exists()
    assert_same_run(run, reference("sgd"))


def test_unfinished_out_folder_points_to_resume(crashed, tmp_path, capsys):
    """Training again into a killed run's folder says how to continue it."""
    run = tmp_path / "run"
    crashed([*DIGITS, *CONFIGS["sgd"], "--out", str(run)], 30)
    capsys.readouterr()
    status, _, err = _train([*DIGITS, "--out", str(run)], capsys)
    assert status == 2 and err == (f"nnscratch train: error: --out {run} holds an unfinished "
                                   f"run; continue it with 'nnscratch train --resume {run}', "
                                   "or add --force to replace it\n")


@pytest.mark.parametrize(("argv", "message"), [
    (["--lr", "0.1"], "--resume continues {run} with its own configuration (its "
                      "config.json); drop --lr, or start a new run"),
    (["--recipe", "fast"], "drop --recipe"),
    (["--force"], "drop --force"),
    (["--checkpoint-every", "-1"], "argument --checkpoint-every: expected an integer >= 0, "
                                   "got '-1'"),
])
def test_resume_refuses_other_settings(argv, message, crashed, tmp_path, capsys):
    """--resume takes the run's own configuration: any training option is a one-line error."""
    run = tmp_path / "run"
    crashed([*DIGITS, *CONFIGS["sgd"], "--out", str(run)], 30)
    capsys.readouterr()
    status, _, err = _train(["--resume", str(run), *argv], capsys)
    assert status == 2 and err.count("\n") == 1 and message.format(run=run) in err


def test_resume_of_what_is_no_run(tmp_path, capsys):
    """A missing folder, or one that nnscratch train did not write: one line, exit 2."""
    status, _, err = _train(["--resume", str(tmp_path / "nope")], capsys)
    assert status == 2 and f"--resume {tmp_path / 'nope'} does not exist" in err
    status, _, err = _train(["--resume", str(tmp_path)], capsys)
    assert status == 2 and "has no config.json, so it is not a run that can be resumed" in err


# --- the library -------------------------------------------------------------------------
def _fit(digits, checkpoint, stop_after=None, **settings):
    """A small training on the digits with ``train(checkpoint=...)``; with ``stop_after``
    it dies (an exception) after that many epochs, as a killed process would."""
    X, y = digits

    def on_epoch(history):
        if history.epochs == stop_after:
            raise _Crash

    model = NeuralNetwork.from_sizes([64, 24, 10], head_activation="softmax", seed=3,
                                     dtype=settings.pop("dtype", "float32"),
                                     dropout=settings.pop("dropout", 0.0))
    history = train(model, X, y, "cross_entropy", 6, 32, bar=False, checkpoint=checkpoint,
                    on_epoch=on_epoch, **settings)
    return model, history


@pytest.mark.parametrize("settings", [
    {"learning_rate": 0.1},
    {"optimizer": "adam", "learning_rate": 0.05, "schedule": "cosine", "dtype": "float64",
     "dropout": 0.2, "val_split": 0.2, "patience": 1},  # stops after epoch 4 of 6
    {"optimizer": "rmsprop", "learning_rate": 0.003, "clip": 0.5, "seed": 7},
])
def test_train_continues_from_its_checkpoint(settings, digits, tmp_path):
    """train(checkpoint=PATH) after a crash at every epoch: the uninterrupted weights and
    history (epoch_seconds apart)."""
    model, history = _fit(digits, tmp_path / "reference.npz", **dict(settings))
    assert history.stopped_early == ("patience" in settings)
    for stop in range(1, history.epochs):
        path = tmp_path / f"ck{stop}.npz"
        with pytest.raises(_Crash):
            _fit(digits, path, stop_after=stop, **dict(settings))
        resumed_model, resumed = _fit(digits, path, **dict(settings))
        assert resumed.resumed_from == (stop - 1 or None)  # the crash came before its write
        assert all(np.array_equal(a, b) for a, b in zip(model.parameters(),
                                                        resumed_model.parameters(),
                                                        strict=True))
        keep = [k for k in history.state() if k != "epoch_seconds"]
        assert {k: resumed.state()[k] for k in keep} == {k: history.state()[k] for k in keep}


def test_train_refuses_the_checkpoint_of_other_data(digits, tmp_path):
    """Another training's checkpoint is refused, naming what differs."""
    path = tmp_path / "ck.npz"
    with pytest.raises(_Crash):
        _fit(digits, path, stop_after=3, learning_rate=0.1)
    X, y = digits
    with pytest.raises(CheckpointError, match=r"its data is .*, this one's is"):
        _fit((X[:-1], y[:-1]), path, learning_rate=0.1)


def test_previous_checkpoint_is_kept_and_never_overwritten_by_a_refused_one(digits,
                                                                            tmp_path):
    """After falling back, the refused file is replaced, and the good one stays previous."""
    path = tmp_path / "ck.npz"
    with pytest.raises(_Crash):
        _fit(digits, path, stop_after=4, learning_rate=0.1)  # checkpoints 2 and 3
    path.write_bytes(b"not a checkpoint")
    with pytest.warns(CheckpointWarning, match="not an .npz archive.*previous.*epoch 2"), \
            pytest.raises(_Crash):
        _fit(digits, path, stop_after=4, learning_rate=0.1)  # writes epoch 3 again
    assert read_checkpoint(path).epoch == 3 and read_checkpoint(previous_path(path)).epoch == 2


def test_checkpoint_every_zero_writes_none(digits, tmp_path):
    """checkpoint_every=0: nothing is written (a checkpoint there is still read)."""
    _fit(digits, tmp_path / "ck.npz", learning_rate=0.1, checkpoint_every=0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_state_continues_exactly(name, rng):
    """state_dict / load_state_dict: steps after a reload equal steps without one."""
    params = [rng.standard_normal(20).astype(np.float32)]
    grads = [rng.standard_normal((6, 20)).astype(np.float32)]
    kwargs = {"momentum": 0.9} if name in ("sgd", "rmsprop") else {}
    straight = get_optimizer(name, lr=0.01, **kwargs)
    reloaded = get_optimizer(name, lr=0.01, **kwargs)
    a, b = [params[0].copy()], [params[0].copy()]
    for g in grads[0][:3]:
        straight.step(a, [g])
        reloaded.step(b, [g])
    state = reloaded.state_dict()
    fresh = get_optimizer(name, lr=0.01, **kwargs)
    fresh.load_state_dict({**state, "arrays": {k: v.copy() for k, v in state["arrays"].items()}},
                          b)
    for g in grads[0][3:]:
        straight.step(a, [g])
        fresh.step(b, [g])
    assert np.array_equal(a[0], b[0])
    with pytest.raises(ValueError, match="parameter arrays, this network has 2"):
        get_optimizer(name, lr=0.01, **kwargs).load_state_dict(state, [*b, *b])


# --- the run's own threads, its lock, and what a refused run leaves ----------------------
@pytest.fixture
def blas_limits(monkeypatch):
    """The ``--threads`` limits the command line sets (threadpoolctl spied on)."""
    import threadpoolctl

    limits = []
    real = threadpoolctl.threadpool_limits

    def spy(*args, **kwargs):
        limits.append(kwargs.get("limits", args[0] if args else None))
        return real(*args, **kwargs)

    monkeypatch.setattr(threadpoolctl, "threadpool_limits", spy)
    return limits


def test_resume_keeps_the_runs_threads(crashed, blas_limits, tmp_path, capsys):
    """--threads is stored with the run and used again by --resume without --threads; another
    number warns that the result will not be bit-identical."""
    run = tmp_path / "run"
    crashed([*DIGITS, *CONFIGS["sgd"], "--threads", "1", "--out", str(run)], 30)
    assert json.loads((run / "config.json").read_text())["threads"] == 1
    assert blas_limits == [1]
    capsys.readouterr()
    status, _, err = _train(["--resume", str(run)], capsys)
    assert status == 0 and err == "" and blas_limits == [1, 1]
    other = tmp_path / "other"
    crashed([*DIGITS, *CONFIGS["sgd"], "--threads", "1", "--out", str(other)], 30)
    capsys.readouterr()
    status, _, err = _train(["--resume", str(other), "--threads", "2"], capsys)
    assert status == 0 and blas_limits[-1] == 2
    assert err == ("nnscratch train: warning: --threads 2 differs from the run's own (1): it "
                   "will not end bit-identical to a run that was never stopped\n")


def test_second_resume_of_a_run_is_refused(crashed, tmp_path, capsys):
    """While a process trains a run (it holds the lock on its config.json), --resume of it is
    refused with one line and changes nothing; once that process is gone (even killed), the
    resume goes ahead."""
    run = tmp_path / "run"
    crashed([*DIGITS, *CONFIGS["sgd"], "--out", str(run)], 30)
    with subprocess.Popen(
            [sys.executable, "-c", "import time\nfrom nnscratch.runs import hold_run\n"
             f"with hold_run({str(run)!r}):\n    print('held', flush=True)\n"
             "    time.sleep(60)"], stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdout.readline() == "held\n"
        before = {p.name: p.read_bytes() for p in run.iterdir()}
        capsys.readouterr()
        status, out, err = _train(["--resume", str(run)], capsys)
        assert status == 2 and out == ""
        assert err == (f"nnscratch train: error: {run} is being trained by another process "
                       "now; wait for it to end, or stop it, then resume it\n")
        assert {p.name: p.read_bytes() for p in run.iterdir()} == before
        holder.kill()  # SIGKILL: the kernel releases the lock
    status, out, _ = _train(["--resume", str(run)], capsys)
    assert status == 0 and "resumed after epoch 1" in out


def test_refused_resume_prints_no_resuming_line(crashed, tmp_path, capsys):
    """A resume refused by its checkpoint says only why: no 'Resuming ...' before it."""
    run = tmp_path / "run"
    crashed([*DIGITS, *CONFIGS["sgd"], "--out", str(run)], 50)
    previous_path(run / "checkpoint.npz").unlink()
    (run / "checkpoint.npz").write_bytes(b"")
    capsys.readouterr()
    status, out, err = _train(["--resume", str(run)], capsys)
    assert status == 2 and "Resuming" not in out and "refused: the file is empty" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["--data", "{table}", "--augment", "shift"], "augment 'shift' distorts images"),
    (["--data", "{empty}"], "{empty}"),
])
def test_run_refused_at_the_start_leaves_nothing(argv, message, tmp_path, capsys):
    """A run refused before training starts (its data, or a setting the data cannot take)
    prints no resume hint and leaves no folder."""
    table, empty = tmp_path / "table.csv", tmp_path / "empty.csv"
    table.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    empty.write_text("a,b,label\n")
    run = tmp_path / "run"
    argv = [a.format(table=table, empty=empty) for a in argv]
    status, out, err = _train([*argv, "--no-bar", "--epochs", "1", "--out", str(run)], capsys)
    assert status == 2 and message.format(empty=empty.name) in err
    assert "--resume" not in out and "Run folder" not in out
    assert not run.exists() and not (tmp_path / ".run.new").exists()
