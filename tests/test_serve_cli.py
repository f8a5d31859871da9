"""``nnscratch serve`` on the command line: its options, the models it finds or trains, one
line per failure at start, bad input over a real socket, and stopping on Ctrl-C."""

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest

from nnscratch import NeuralNetwork, Softmax, save
from nnscratch.cli import _served_models, main


def _one_error_line(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


# --- refused at start: exit status 2 and one line ----------------------------------------------
def test_a_model_that_cannot_be_served_stops_serve_at_start(tmp_path, capsys):
    """A missing path, a file that is no model, a model of 64 inputs, a regression:
    one line, exit 2."""
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model")
    small = save(NeuralNetwork.from_sizes([64, 10], head_activation=Softmax, seed=0),
                 tmp_path / "small.npz")
    regression = save(NeuralNetwork.from_sizes([784, 2], seed=0), tmp_path / "fit.npz")
    expected = {
        tmp_path / "missing": "MODEL .*missing does not exist; give a run folder or its "
                              "model.npz",
        notes: r"cannot load model .*notes\.txt: it is not an \.npz archive",
        small: r"MODEL .*small\.npz takes 64 inputs \(a 64-10 network\); serve needs 784",
        regression: r"MODEL .*fit\.npz has an identity output layer; serve needs a "
                    "classifier with a softmax output layer",
    }
    for path, message in expected.items():
        assert main(["serve", str(path), "--port", "0"]) == 2
        line = _one_error_line(capsys)
        assert line.startswith("nnscratch serve: error: ")
        assert re.search(message, line), line


@pytest.mark.parametrize("value", ["abc", "-1", "65536", "8000.5"])
def test_bad_port_values_name_the_flag(value, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--port", value])
    assert exit_.value.code == 2
    assert _one_error_line(capsys) == (
        f"nnscratch serve: error: argument --port: expected a port number from 0 to 65535 "
        f"(0: any free port), got '{value}' (see 'nnscratch serve --help')")


def test_a_port_in_use_is_one_line(served_models, capsys):
    """Bound before any model is loaded: the message names the port and what to do."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["serve", str(served_models["mlp"]), "--port", str(port)]) == 2
    assert _one_error_line(capsys) == (
        f"nnscratch serve: error: --port {port}: 127.0.0.1:{port} is already in use (another "
        "server?); choose another port, or --port 0 for any free one")


def test_a_host_that_is_not_this_machine_is_one_line(served_models, capsys):
    assert main(["serve", str(served_models["mlp"]), "--host", "192.0.2.1"]) == 2
    assert _one_error_line(capsys) == (
        "nnscratch serve: error: --host 192.0.2.1: not an address of this machine; use "
        "127.0.0.1 (this machine only) or 0.0.0.0 (every network)")


# --- which models: named, found under runs/, or trained once --------------------------------
def test_without_runs_it_trains_the_blog_network_once_and_keeps_it(tmp_path, monkeypatch,
                                                                    capsys):
    """No MODEL and no runs/: the blog's network is trained (here for 1 epoch) into runs/,
    through nnscratch train's code; the next start finds that run instead of training."""
    import nnscratch.recipes

    make_config = nnscratch.recipes.make_config
    monkeypatch.setattr(nnscratch.recipes, "make_config",
                        lambda recipe, **kw: {**make_config(recipe, **kw), "epochs": 1})
    monkeypatch.chdir(tmp_path)
    args = Namespace(models=[], data_dir=None, no_bar=True)
    models = _served_models(args)
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "model.npz").is_file()
    assert [m.id for m in models] == [runs[0].name]
    metrics = json.loads((runs[0] / "metrics.json").read_text())
    assert metrics["config"]["recipe"] == "blog" and metrics["config"]["hidden"] == [32, 32]
    out, err = capsys.readouterr()
    assert "no runs under runs/ to serve: training the blog's network once" in err
    assert "Test accuracy: " in out

    monkeypatch.setattr(nnscratch.recipes, "make_config", None)  # training again would fail
    assert [m.id for m in _served_models(args)] == [runs[0].name]
    assert len(list((tmp_path / "runs").iterdir())) == 1


# --- a real server in a subprocess --------------------------------------------------------------
def _start(args, cwd):
    """``nnscratch serve ARGS --port 0`` in a subprocess: (process, address)."""
    process = subprocess.Popen([sys.executable, "-m", "nnscratch.cli", "serve", *args,
                                "--port", "0"], cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line:
        process.kill()
        pytest.fail(f"serve did not start: {process.communicate()[1]}")
    return process, line.split(" at ")[1].split()[0]


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, json.loads(response.read())


def _post(url, body, content_type="image/png"):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _oversized(address, chunked):
    """POST 50 MB of zeros over a raw socket, stopping as soon as the server answers:
    ``(status line, JSON error, bytes sent)``."""
    host, port = address.split("//")[1].strip("/").rsplit(":", 1)
    framing = (b"Transfer-Encoding: chunked" if chunked
               else b"Content-Length: %d" % (50 * 2**20))
    chunk = b"\0" * 2**16
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                     + framing + b"\r\n\r\n")
        try:
            while sent < 50 * 2**20 and not select.select([conn], [], [], 0)[0]:
                conn.sendall(frame)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: read its answer
        answer = b""
        while b"}" not in answer:
            data = conn.recv(65536)
            if not data:
                break
            answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), json.loads(body), sent


@pytest.mark.parametrize(("host", "stop"), [("127.0.0.1", signal.SIGINT),
                                            ("0.0.0.0", signal.SIGTERM)])
def test_serve_finds_the_runs_refuses_bad_input_and_stops_cleanly(served_models, tmp_path,
                                                                  host, stop):
    """No MODEL: the runs under runs/ are served (a broken one is skipped with a warning);
    0.0.0.0 is warned about; oversized bodies get 413 over a real socket and the server goes
    on; Ctrl-C (or SIGTERM) stops it with one line and exit status 0."""
    shutil.copytree(served_models["mlp"], tmp_path / "runs" / "mlp")
    (tmp_path / "runs" / "broken").mkdir()
    (tmp_path / "runs" / "broken" / "model.npz").write_bytes(b"garbage")
    process, address = _start(["--host", host], tmp_path)
    try:
        status, listing = _get(address + "api/models")
        assert status == 200 and [m["id"] for m in listing["models"]] == ["mlp"]
        for chunked in (False, True):
            status_line, error, sent = _oversized(address, chunked)
            assert status_line == "HTTP/1.1 413 Request Entity Too Large"
            assert error["error"].startswith("the upload is too large: at most 5,242,880 bytes")
            assert sent < 40 * 2**20  # answered long before the 50 MB were sent
        assert _post(address + "api/predict", b"") == (400, {"error": (
            'the request holds no image (0 bytes): send an image file, a form with an "image" '
            'file, or JSON {"pixels": [...]}')})
        pixels = np.zeros((28, 28))
        pixels[4:24, 13:15] = 1
        status, answer = _post(address + "api/predict", json.dumps(
            {"pixels": pixels.tolist()}).encode(), "application/json")
        assert status == 200 and answer["digit"] == 1
        time.sleep(0.2)
        process.send_signal(stop)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err and out == ""
    lines = err.strip().splitlines()
    assert lines[-1] == "nnscratch serve: stopped"
    assert lines[0].startswith("nnscratch serve: warning: skipped cannot load model ")
    assert "broken" in lines[0]
    warned = any("--host 0.0.0.0 lets every machine" in line for line in lines)
    assert warned == (host == "0.0.0.0")
    assert len(lines) == 2 + warned


def test_bad_workers_values_name_the_flag(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--workers", "0"])
    assert exit_.value.code == 2
    assert _one_error_line(capsys) == (
        "nnscratch serve: error: argument --workers: expected a positive integer, got '0' "
        "(see 'nnscratch serve --help')")


def _children(pid):
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="--workers > 1 needs Linux")
def test_server_copies_answer_and_stop_with_the_first_process(served_models, tmp_path):
    """--workers 2: a forked copy shares the socket; every request is answered; when the
    first process stops (SIGTERM) or dies (SIGKILL), its copy stops too."""
    body = json.dumps({"pixels": np.eye(28).tolist()}).encode()
    for stop in (signal.SIGTERM, signal.SIGKILL):
        process, address = _start([str(served_models["mlp"]), "--workers", "2"], tmp_path)
        try:
            deadline = time.monotonic() + 10  # the copy is forked after the address is printed
            while not _children(process.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            copies = _children(process.pid)
            assert len(copies) == 1
            answers = [_post(address + "api/predict", body, "application/json")
                       for _ in range(20)]
            assert all(status == 200 for status, _ in answers)
            assert len({answer["digit"] for _, answer in answers}) == 1
            process.send_signal(stop)
            process.communicate(timeout=20)
            deadline = time.monotonic() + 10
            while Path(f"/proc/{copies[0]}").exists() and time.monotonic() < deadline:
                try:  # reap it if it is ours (SIGTERM), else init does
                    os.waitpid(copies[0], os.WNOHANG)
                except ChildProcessError:
                    pass
                time.sleep(0.1)
            status = Path(f"/proc/{copies[0]}/stat")
            assert not status.exists() or status.read_text().split()[2] == "Z", stop
        finally:
            if process.poll() is None:
                process.kill()
