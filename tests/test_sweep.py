"""``nnscratch sweep``: results, best model, the same answer on a Dask cluster, and errors."""

import argparse
import contextlib
import csv
import io
import json
import socket
import sys

import numpy as np
import pytest

from nnscratch import sweep
from nnscratch.cli import cmd_sweep, main
from nnscratch.data import load_digits
from nnscratch.serialization import load

GRID = {"hidden": [[16], [32, 16]], "lr": [0.02, 0.2]}
CONFIG = f"""
dataset = "digits"
metric = "accuracy"
cv = 3
seed = 1
train_samples = 600
[fixed]
epochs = 6
batch_size = 32
[grid]
hidden = {GRID["hidden"]}
lr = {GRID["lr"]}
"""


def _write(tmp_path, text, name="sweep.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _cli(argv):
    """Run ``nnscratch`` in-process; return (exit status, stdout)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(argv)
    return status, out.getvalue()


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    """The test sweep, run once by the command line with two local joblib processes."""
    folder = tmp_path_factory.mktemp("sweep")
    config = _write(folder, CONFIG)
    status, stdout = _cli(["sweep", str(config), "--jobs", "2", "--out", str(folder / "out")])
    assert status == 0
    return config, folder / "out", stdout


def test_results_csv_has_one_row_per_candidate(local_sweep):
    """results.csv: one row per grid point, ranked, with per-fold scores and fit times."""
    _, out, _ = local_sweep
    rows = _read_csv(out / "results.csv")
    assert len(rows) == len(GRID["hidden"]) * len(GRID["lr"])
    seen = {(r["hidden"], float(r["lr"])) for r in rows}  # the configuration's names
    assert seen == {(json.dumps(h), lr) for h in GRID["hidden"] for lr in GRID["lr"]}
    assert [int(r["rank"]) for r in rows] == sorted(int(r["rank"]) for r in rows)
    for r in rows:
        folds = [float(r[f"split{i}_accuracy"]) for i in range(3)]
        assert float(r["mean_accuracy"]) == pytest.approx(np.mean(folds))
        assert float(r["mean_fit_seconds"]) > 0


def test_printed_best_equals_best_json(local_sweep):
    """The printed best configuration and scores are those in best.json and the top CSV row."""
    _, out, stdout = local_sweep
    best = json.loads((out / "best.json").read_text(encoding="utf-8"))
    pairs = ", ".join(f"{k}={json.dumps(v)}" for k, v in best["best_params"].items())
    assert f"best configuration: {pairs}\n" in stdout
    assert (f"best accuracy: {100 * best['best_score']:.2f}% +/- "
            f"{100 * best['best_std']:.2f}%") in stdout
    assert f"test accuracy of the refitted model: {100 * best['test_score']:.2f}%" in stdout
    top = _read_csv(out / "results.csv")[0]
    assert json.loads(top["hidden"]) == best["best_params"]["hidden"]
    assert float(top["lr"]) == best["best_params"]["lr"]
    assert float(top["mean_accuracy"]) == max(float(r["mean_accuracy"])
                                              for r in _read_csv(out / "results.csv"))
    assert best["train_config"]["hidden"] == best["best_params"]["hidden"]
    assert best["train_config"]["lr"] == best["best_params"]["lr"]


def test_best_model_file_scores_the_reported_test_accuracy(local_sweep):
    """best_model.npz, reloaded, scores the printed test accuracy on the digits test set."""
    _, out, _ = local_sweep
    best = json.loads((out / "best.json").read_text(encoding="utf-8"))
    model = load(out / "best_model.npz")
    assert model.sizes == [64, *best["best_params"]["hidden"], 10]
    data = load_digits()
    assert model.score(data.X_test, data.y_test) == pytest.approx(best["test_score"])
    assert model.metadata["config"]["lr"] == best["best_params"]["lr"]


def test_dask_cluster_gives_the_same_sweep(local_sweep, tmp_path):
    """The sweep on a 2-worker LocalCluster finds the same scores and best configuration."""
    from dask.distributed import LocalCluster

    config, local_out, _ = local_sweep
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        status, stdout = _cli(["sweep", str(config), "--dask-scheduler",
                               cluster.scheduler_address, "--out", str(tmp_path)])
    assert status == 0
    assert f"backend: dask at {cluster.scheduler_address}, 2 workers" in stdout
    on_dask = json.loads((tmp_path / "best.json").read_text(encoding="utf-8"))
    local = json.loads((local_out / "best.json").read_text(encoding="utf-8"))
    assert on_dask["backend"] == "dask" and local["backend"] == "joblib"
    assert on_dask["best_params"] == local["best_params"]
    assert on_dask["best_score"] == local["best_score"]
    scores = [{k: v for k, v in r.items() if "seconds" not in k}
              for r in _read_csv(tmp_path / "results.csv")]
    assert scores == [{k: v for k, v in r.items() if "seconds" not in k}
                      for r in _read_csv(local_out / "results.csv")]


def test_random_search_draws_from_distributions(tmp_path):
    """A random search draws n_iter candidates, within a distribution's bounds, on a
    hold-out split."""
    config = _write(tmp_path, """
        dataset = "digits"
        search = "random"
        n_iter = 3
        val_split = 0.25
        train_samples = 300
        metric = "f1_macro"
        [fixed]
        epochs = 2
        [grid]
        lr = {distribution = "loguniform", low = 0.01, high = 0.3}
        batch_size = {distribution = "randint", low = 16, high = 64}
    """)
    result = sweep.run_sweep(config, out_dir=tmp_path / "out", log=lambda line: None)
    rows = _read_csv(tmp_path / "out" / "results.csv")
    assert len(rows) == len(result.rows) == 3
    assert all(0.01 <= float(r["lr"]) <= 0.3 for r in rows)
    assert all(16 <= int(r["batch_size"]) <= 64 for r in rows)
    assert "split0_f1_macro" in rows[0] and "split1_f1_macro" not in rows[0]
    assert len({r["lr"] for r in rows}) == 3


def test_random_search_over_a_small_grid_takes_each_point_once(tmp_path):
    """n_iter larger than the grid: every grid point once, no warning."""
    config = _write(tmp_path, CONFIG.replace("cv = 3", 'search = "random"\nn_iter = 9\ncv = 2')
                    .replace("epochs = 6", "epochs = 1"))
    result = sweep.run_sweep(config, log=lambda line: None)
    assert len(result.rows) == len(GRID["hidden"]) * len(GRID["lr"])


def test_a_failing_candidate_is_scored_nan_and_not_chosen(tmp_path):
    """A candidate whose fits fail ranks last with no score, its error in results.csv and in
    one printed line; the sweep goes on."""
    config = _write(tmp_path, CONFIG.replace(f"lr = {GRID['lr']}", "early_stopping = [false, "
                                             "true]").replace("[fixed]", "[fixed]\n"
                                                              "validation_fraction = 0.999"))
    lines = []
    result = sweep.run_sweep(config, out_dir=tmp_path / "out", log=lines.append)
    assert result.best_params["early_stopping"] is False
    failed = [r for r in result.rows if r["mean_accuracy"] is None]
    assert len(failed) == 2 and {r["early_stopping"] for r in failed} == {True}
    assert json.loads((tmp_path / "out" / "best.json").read_text())["n_failed"] == 2
    assert "2 of 4 candidates failed to fit (score NaN): see results.csv" in lines
    rows = _read_csv(tmp_path / "out" / "results.csv")
    error = ("ValueError: With n_samples=400, test_size=0.999 and train_size=None, the "
             "resulting train set will be empty. Adjust any of the aforementioned parameters.")
    assert [r["fit_error"] for r in rows if r["early_stopping"] == "True"] == [error] * 2
    assert [r["fit_error"] for r in rows if r["early_stopping"] == "False"] == [""] * 2
    printed = [line for line in lines if " failed: " in line]
    assert sorted(printed) == [f"candidate hidden=[16], early_stopping=true failed: {error}",
                               f"candidate hidden=[32, 16], early_stopping=true failed: {error}"]


def test_every_candidate_failing_is_an_error(tmp_path):
    """When no candidate trains, the sweep stops with the error."""
    config = _write(tmp_path, CONFIG.replace("epochs = 6", "epochs = 6\nearly_stopping = true"
                                             "\nvalidation_fraction = 0.999"))
    with pytest.raises(ValueError, match="every candidate failed to fit; the last error: "
                       r"ValueError: With n_samples=400, test_size=0.999 and train_size=None, the "
                       "resulting train set will be empty"):
        sweep.run_sweep(config, log=lambda line: None)


def _args(config, **options):
    defaults = {"jobs": None, "dask_scheduler": None, "out": None, "data_dir": None,
                "seed": None, "resume": None}
    return argparse.Namespace(config=str(config), **{**defaults, **options})


@pytest.mark.parametrize(("text", "message"), [
    ("dataset = 'digits\n", r"sweep.toml is not valid TOML: "),
    (CONFIG.replace("[grid]", "[grid]\nhiden = [[8]]"),
     r"\[grid\] has an unknown option 'hiden' \(did you mean 'hidden'\?\)"),
    (CONFIG.replace("epochs = 6", "epoch = 6"),
     r"\[fixed\] has an unknown option 'epoch' \(did you mean 'epochs'\?\)"),
    (CONFIG.replace(f"lr = {GRID['lr']}", "lr = []"), r"\[grid\] lr is an empty list"),
    (CONFIG.replace(f"lr = {GRID['lr']}", "lr = 0.1"), r"\[grid\] lr must be a list"),
    (CONFIG.replace('"accuracy"', '"acuracy"'),
     r"metric 'acuracy' is not a scikit-learn scorer \(did you mean 'accuracy'\?\)"),
    (CONFIG.replace("cv = 3", "folds = 3"), r"unknown key 'folds'"),
    (CONFIG.replace("cv = 3", "cv = 1"), "cv must be an integer >= 2, got 1"),
    (CONFIG.replace("cv = 3", "cv = 3\nval_split = 0.2"), "either cv .* or val_split"),
    (CONFIG.replace('"digits"', '"cifar"'),
     r"dataset must be one of \['mnist', 'digits'\], got 'cifar'"),
    (CONFIG.replace(f"lr = {GRID['lr']}", "lr = [0.1, -1]"),
     r"\[grid\] lr = -1: lr must be a positive finite number, got -1"),
    (CONFIG.replace("epochs = 6", "epochs = 6\nlr = 0.1"),
     r"lr is both in \[fixed\] and in \[grid\]; keep one"),
    (CONFIG.replace("[grid]", "[grid]\nlr2 = {distribution = 'loguniform', low = 0, "
                    "high = 1}"), "unknown option 'lr2'"),
    (CONFIG.replace(f"lr = {GRID['lr']}",
                    "lr = {distribution = 'loguniform', low = 0.01, high = 0.1}"),
     'needs search = "random"'),
    (CONFIG.replace('dataset = "digits"', 'dataset = "digits"\nsearch = "random"')
     .replace(f"lr = {GRID['lr']}", "lr = {distribution = 'loguniform', low = 0, high = 1}"),
     r"a loguniform distribution needs finite numbers 0 < low < high, got low=0"),
])
def test_configuration_mistakes_are_value_errors(tmp_path, text, message):
    """Each configuration mistake raises a ValueError naming the file and the mistake."""
    config = _write(tmp_path, text)
    with pytest.raises(ValueError, match=message):
        cmd_sweep(_args(config))


def test_missing_configuration_file(tmp_path):
    """A missing configuration file is a FileNotFoundError naming it."""
    with pytest.raises(FileNotFoundError, match=r"sweep configuration .*nope.toml not found"):
        cmd_sweep(_args(tmp_path / "nope.toml"))


def test_jobs_zero_is_refused(tmp_path):
    """--jobs 0 is refused."""
    with pytest.raises(ValueError, match=r"jobs must be a non-zero integer \(-1 = every core\)"):
        cmd_sweep(_args(_write(tmp_path, CONFIG), jobs=0))


def test_dask_not_installed(tmp_path, monkeypatch):
    """--dask-scheduler without dask.distributed says what to install."""
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(ValueError, match=r"pip install 'nnscratch\[dask\]'"):
        cmd_sweep(_args(_write(tmp_path, CONFIG), dask_scheduler="tcp://127.0.0.1:8786"))


def test_unreachable_scheduler(tmp_path, monkeypatch):
    """A scheduler address where nothing listens fails with a one-line error."""
    monkeypatch.setattr("nnscratch.sweep.backend._CONNECT_TIMEOUT", "1s")
    with socket.socket() as s:  # a loopback port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(ValueError, match=f"cannot reach the Dask scheduler at '{address}'"):
        cmd_sweep(_args(_write(tmp_path, CONFIG), dask_scheduler=address))


def test_cli_reports_a_mistake_in_one_line(tmp_path, capsys):
    """`nnscratch sweep` with a bad configuration: exit status 2 and one line on stderr."""
    config = _write(tmp_path, CONFIG.replace('"accuracy"', '"acuracy"'))
    assert main(["sweep", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnscratch sweep: error: ") and err.count("\n") == 1
    assert "metric 'acuracy' is not a scikit-learn scorer" in err


def test_cli_help_names_every_option(capsys):
    """`nnscratch sweep --help` documents CONFIG and every option."""
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    text = capsys.readouterr().out
    for option in ("CONFIG", "--jobs N", "--dask-scheduler ADDRESS", "--out DIR",
                   "--data-dir DIR", "--seed SEED", "GridSearchCV"):
        assert option in text


def test_yaml_configuration_reads_like_toml(tmp_path):
    """The same sweep written in YAML parses to the same configuration; --seed overrides."""
    yaml_text = """
dataset: digits
metric: accuracy
cv: 3
seed: 1
train_samples: 600
fixed: {epochs: 6, batch_size: 32}
grid:
  hidden: [[16], [32, 16]]
  lr: [0.02, 0.2]
"""
    from_toml = sweep.parse_config(sweep.read_config(_write(tmp_path, CONFIG)))
    from_yaml = sweep.parse_config(sweep.read_config(_write(tmp_path, yaml_text, "s.yaml")))
    assert from_yaml == from_toml
    assert from_toml.grid["hidden_layer_sizes"] == [(16,), (32, 16)]
    reseeded = sweep.parse_config(sweep.read_config(_write(tmp_path, CONFIG)), seed=5)
    assert reseeded.seed == 5 and from_toml.seed == 1


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_ends_a_sweep_in_one_line(tmp_path, jobs):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) during a sweep in
    this process or in two joblib processes: exit 130, one line, no traceback, no worker's
    "Training interrupted" warning and no leaked-resource warning; only the journal is left
    (to resume from). (In this process the estimator's fit catches the interrupt, as
    scikit-learn's MLP does: the sweep must stop all the same, not go on to the next fit.)"""
    import os
    import signal
    import subprocess
    import time

    config = _write(tmp_path, CONFIG.replace("epochs = 6", "epochs = 3000")
                    .replace("train_samples = 600", "train_samples = 1400"))
    process = subprocess.Popen(
        [sys.executable, "-m", "nnscratch.cli", "sweep", str(config), "--jobs", jobs, "--out",
         str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True, env={**os.environ, "MPLBACKEND": "Agg"},
        # a terminal's Ctrl-C, even when the tests run in the background (SIGINT ignored)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    lines = []
    while time.monotonic() < deadline:  # wait until the fits have started
        lines.append(process.stdout.readline())
        if lines[-1].startswith("grid search:"):
            break
    time.sleep(1.5)
    os.killpg(process.pid, signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    time.sleep(1)  # a resource tracker would complain after the parent left
    assert process.returncode == 130, "".join(lines) + rest
    assert rest.strip().splitlines() == ["nnscratch sweep: interrupted"], rest
    assert os.listdir(tmp_path / "out") == ["candidates.jsonl"]  # to --resume from; no results


def test_a_sweep_over_architectures(tmp_path):
    """`arch` is a sweep option like any other: a grid over two conv nets on the digits."""
    config = _write(tmp_path, """
        dataset = "digits"
        cv = 2
        train_samples = 400
        [fixed]
        epochs = 2
        init = "he"
        [grid]
        arch = ["conv4k3,pool2", "conv8k3same,pool2,dense16"]
    """)
    result = sweep.run_sweep(config, out_dir=tmp_path / "out", log=lambda line: None)
    assert {r["arch"] for r in result.rows} == {"conv4k3,pool2", "conv8k3same,pool2,dense16"}
    assert all(r["mean_accuracy"] is not None for r in result.rows)
    best = load(tmp_path / "out" / "best_model.npz")
    assert best.architecture is not None and best.input_shape == (1, 8, 8)


# --- faults: a killed sweep resumes, a killed Dask worker costs only its fits -------------
def _table(out):
    """results.csv without the fit times."""
    return [{k: v for k, v in row.items() if "seconds" not in k}
            for row in _read_csv(out / "results.csv")]


def _best(out):
    """best.json without the wall-clock time and the backend's name."""
    best = json.loads((out / "best.json").read_text(encoding="utf-8"))
    return {k: v for k, v in best.items() if k not in ("seconds", "backend")}


#: ``nnscratch sweep ARGV`` that SIGKILLs itself once N candidates are recorded, when the
#: next one completes: with ``cut``, after writing the start of its journal line (a test-only
#: seam, patched here).
SWEEP_KILLER = """
import os, signal, sys
n, cut, argv = int(sys.argv[1]), sys.argv[2] == "cut", sys.argv[3:]
from nnscratch.sweep.journal import Journal
record = Journal.record
def record_or_die(self, index, result):
    if len(self.done) == n:
        if cut:
            with open(self.path, "ab") as f:
                f.write(b'{"index":' + str(index).encode() + b',"params":{"hidden_la')
        os.kill(os.getpid(), signal.SIGKILL)
    record(self, index, result)
Journal.record = record_or_die
from nnscratch.cli import main
sys.exit(main(argv))
"""


@pytest.mark.parametrize(("n", "cut"), [(1, "cut"), (3, "whole")])
def test_killed_sweep_resumes_with_only_the_missing_candidates(n, cut, local_sweep, tmp_path,
                                                               monkeypatch):
    """SIGKILL after n candidates (the next one's line cut short or not), then --resume: only
    the others are fitted, and the table and best configuration are the uninterrupted ones."""
    import signal
    import subprocess

    config, uninterrupted, _ = local_sweep
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", SWEEP_KILLER, str(n), cut, "sweep",
                           str(config), "--out", str(out)], capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["candidates.jsonl"]
    fits = []
    fit_and_score = sweep.backend._fit_and_score
    monkeypatch.setattr(sweep.backend, "_fit_and_score",
                        lambda *args: fits.append(args[4:6]) or fit_and_score(*args))
    status, stdout = _cli(["sweep", str(config), "--resume", str(out)])
    assert status == 0
    n_candidates = len(GRID["hidden"]) * len(GRID["lr"])
    assert (f"resuming {out}: {n} of {n_candidates} candidates done, {n_candidates - n} to "
            "run") in stdout
    assert len(fits) == 3 * (n_candidates - n) and len({i for i, _ in fits}) == n_candidates - n
    assert _table(out) == _table(uninterrupted) and _best(out) == _best(uninterrupted)
    lines = (out / "candidates.jsonl").read_text().splitlines()
    assert len(lines) == 1 + n_candidates and all(json.loads(line) for line in lines)


def test_resume_refuses_another_sweep(local_sweep, tmp_path, capsys):
    """--resume with another seed, a folder without a sweep, or --out a sweep's folder: one
    line each, exit 2."""
    config, out, _ = local_sweep
    for argv, message in (
            (["--resume", str(out), "--seed", "2"], f"{out} holds another sweep: its seed is 1, "
                                                    "this one's 2; resume it with its own"),
            (["--resume", str(tmp_path)], f"{tmp_path} holds no sweep to resume (no "
                                          "candidates.jsonl"),
            (["--out", str(out)], f"{out} holds a sweep already (candidates.jsonl); resume it "
                                  f"(nnscratch sweep CONFIG --resume {out})"),
            (["--out", str(out), "--resume", str(out)], "give --resume OUT (to continue the "
                                                         "sweep there) or --out DIR")):
        assert _cli(["sweep", str(config), *argv])[0] == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err


SLOW_CONFIG = CONFIG.replace("epochs = 6", "epochs = 120")  # fits of ~0.1 s: time to kill


def test_dask_worker_killed_mid_sweep_costs_only_its_fits(tmp_path, monkeypatch):
    """A LocalCluster worker process SIGKILLed while it fits: Dask runs its fits again
    elsewhere, and the sweep's results equal a fault-free sweep's."""
    import os
    import signal
    import time

    from dask.distributed import Client, LocalCluster

    from nnscratch.sweep.journal import Journal

    config = _write(tmp_path, SLOW_CONFIG)
    sweep.run_sweep(config, out_dir=tmp_path / "fault-free", log=lambda line: None)
    killed = []
    record = Journal.record

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, \
            Client(cluster.scheduler_address) as client:
        pids = client.run(os.getpid)  # {worker address: its process id}

        def record_then_kill(self, index, result):
            record(self, index, result)
            if killed:
                return
            deadline = time.monotonic() + 60  # after the first candidate: a busy worker
            while time.monotonic() < deadline:
                busy = [w for w, keys in client.processing().items() if keys and w in pids]
                if busy:
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed.append((busy[0], len(self.done)))
                    return
                time.sleep(0.005)

        monkeypatch.setattr(Journal, "record", record_then_kill)
        result = sweep.run_sweep(config, dask_scheduler=cluster.scheduler_address,
                                 out_dir=tmp_path / "dask", log=lambda line: None)
    n_candidates = len(GRID["hidden"]) * len(GRID["lr"])
    assert killed and killed[0][1] < n_candidates  # a worker died mid-sweep
    assert len(result.rows) == n_candidates and not any(r["fit_error"] for r in result.rows)
    assert _table(tmp_path / "dask") == _table(tmp_path / "fault-free")
    assert _best(tmp_path / "dask") == _best(tmp_path / "fault-free")


def test_binary_table_sweep_saves_a_softmax_model(tmp_path):
    """A sweep on a two-class table saves its best model as nnscratch train does (two
    softmax outputs), which `evaluate` scores as the sweep did."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    label = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    lines = ["a,b,c,label"] + [f"{a},{b},{c},{t}" for (a, b, c), t in zip(X, label,
                                                                          strict=True)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = _write(tmp_path, f'data = "{(tmp_path / "t.csv").as_posix()}"\nmetric = '
                    '"accuracy"\ncv = 2\nseed = 0\n[fixed]\nepochs = 5\n[grid]\n'
                    'lr = [0.05, 0.1]\n')
    result = sweep.run_sweep(config, out_dir=tmp_path / "out", log=lambda line: None)
    model = load(tmp_path / "out" / "best_model.npz")
    assert model.head_activation == "softmax" and model.output_size == 2
    status, out = _cli(["evaluate", str(tmp_path / "out" / "best_model.npz"), "--json"])
    assert status == 0
    assert json.loads(out)["accuracy"] == pytest.approx(result.test_score)
