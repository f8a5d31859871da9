"""Load on ``nnscratch serve``: 2,000 predictions from 16 concurrent clients, on 127.0.0.1.

The script starts ``nnscratch serve`` itself (a subprocess, listening on 127.0.0.1 only, on a
free port) with the blog's network, 784-32-32-10 (trained here for one epoch: the weights do
not change the work), and sends it, from 16 client threads with one keep-alive connection
each, a fixed number of requests of one kind:

``page``
    what the page sends after a stroke: a 280 x 280 PNG of a digit, black on white (200
    different MNIST test digits, enlarged and moved as a drawing would be), prepared on the
    server by the same MNIST-style pipeline as ``nnscratch predict``;
``array``
    a JSON body ``{"pixels": 28 x 28 grey levels}`` (the same digits, as MNIST has them).

It reports the latency of each request as a client sees it (median, 90th and 99th
percentile, largest), the throughput, the errors (any answer but 200 counts), and the
server's resident memory after a warm-up, at its largest during the run (sampled every
0.1 s) and at the end. Everything is bounded: a fixed number of requests, a 30 s timeout on
each, and the server is stopped at the end.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_serve.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_serve.py \\
        --kind array --requests 2000 --clients 16 [--model runs/<run>]
"""

import argparse
import http.client
import importlib.util
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from nnscratch.data import load_mnist

GOAL_P99_MS = 50
WARM_UP = 50  # requests sent (and not counted) before the measured ones
DIGITS = 200  # distinct inputs, cycled through


def drawings(data, n):
    """``n`` MNIST test digits as the page sends them: 280 x 280 PNGs, black on white."""
    rng = np.random.default_rng(0)
    bodies = []
    for i in range(n):
        ink = np.round(255 * (1 - data.X_test[i].reshape(28, 28))).astype(np.uint8)
        side = int(rng.integers(150, 230))
        pad = Image.new("L", (280, 280), 255)
        pad.paste(Image.fromarray(ink).resize((side, side), Image.Resampling.BILINEAR),
                  tuple(int(v) for v in rng.integers(0, 280 - side, size=2)))
        buffer = io.BytesIO()
        pad.save(buffer, "PNG")
        bodies.append((buffer.getvalue(), "image/png"))
    return bodies


def arrays(data, n):
    """``n`` MNIST test digits as JSON bodies of 28 x 28 grey levels."""
    return [(json.dumps({"pixels": np.round(data.X_test[i].reshape(28, 28), 3).tolist()})
             .encode(), "application/json") for i in range(n)]


def rss_mib(pid):
    """Resident memory of process ``pid`` and its child processes (the server's forked
    copies) in MiB, summed (Linux /proc)."""
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1]) / 1024
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        try:
            total += rss_mib(int(child))
        except FileNotFoundError:  # it ended meanwhile
            pass
    return total


def start_server(model, workers=None):
    """``nnscratch serve MODEL`` on a free port of 127.0.0.1: (process, port)."""
    more = [] if workers is None else ["--workers", str(workers)]
    process = subprocess.Popen([sys.executable, "-m", "nnscratch.cli", "serve", str(model),
                                "--host", "127.0.0.1", "--port", "0", *more],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if " at http://127.0.0.1:" not in line:
        process.kill()
        raise SystemExit(f"the server did not start: {line}{process.communicate()[1]}")
    return process, int(line.split(" at http://127.0.0.1:")[1].split("/")[0])


def load(port, bodies, requests, clients):
    """Send ``requests`` POSTs from ``clients`` threads: (latencies in s, errors, seconds)."""
    latencies, errors = [], []
    lock = threading.Lock()
    next_request = iter(range(requests))

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next(next_request, None)
            if i is None:
                break
            body, kind = bodies[i % len(bodies)]
            start = time.perf_counter()
            try:
                conn.request("POST", "/api/predict", body=body,
                             headers={"Content-Type": kind})
                response = conn.getresponse()
                answer = response.read()
                ok = response.status == 200 and b'"digit"' in answer
                error = None if ok else f"{response.status}: {answer[:200]!r}"
            except OSError as exc:  # a reset or a timeout: count it, reconnect
                error = f"{type(exc).__name__}: {exc}"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if error:
                    errors.append(error)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - start


def blog_model(folder):
    """The blog's network trained for one epoch by ``nnscratch train``: its run folder."""
    out = Path(folder) / "blog"
    subprocess.run([sys.executable, "-m", "nnscratch.cli", "train", "--epochs", "1",
                    "--no-bar", "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=["page", "array"], default="page",
                        help="what each request carries (default: page, a PNG drawing)")
    parser.add_argument("--requests", type=int, default=2000, help="default 2000")
    parser.add_argument("--clients", type=int, default=16, help="default 16")
    parser.add_argument("--model", default=None,
                        help="a run folder or model file (default: the blog's network, "
                        "trained here for one epoch)")
    parser.add_argument("--workers", type=int, default=None,
                        help="the server's --workers (default: its own, one per core)")
    args = parser.parse_args()
    if not 1 <= args.requests <= 100_000 or not 1 <= args.clients <= 256:
        parser.error("--requests must be in [1, 100000] and --clients in [1, 256]")

    data = load_mnist("standard", progress=False)
    bodies = (drawings if args.kind == "page" else arrays)(data, DIGITS)
    with tempfile.TemporaryDirectory() as folder:
        model = args.model or blog_model(folder)
        process, port = start_server(model, args.workers)
        try:
            load(port, bodies, WARM_UP, args.clients)
            rss_before = rss_mib(process.pid)
            peak, done = [rss_before], threading.Event()

            def sample():
                while not done.wait(0.1):
                    peak.append(rss_mib(process.pid))

            sampler = threading.Thread(target=sample)
            load_before = os.getloadavg()[0]
            sampler.start()
            latencies, errors, seconds = load(port, bodies, args.requests, args.clients)
            done.set()
            sampler.join()
            rss_after = rss_mib(process.pid)
            load_after = os.getloadavg()[0]
        finally:
            process.terminate()
            process.communicate(timeout=30)

    ms = 1000 * np.array(latencies)
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    result = {
        "kind": args.kind, "requests": len(latencies), "clients": args.clients,
        "workers": args.workers or "default",
        "p50_ms": round(float(p50), 1), "p90_ms": round(float(p90), 1),
        "p99_ms": round(float(p99), 1), "max_ms": round(float(ms.max()), 1),
        "mean_ms": round(float(statistics.fmean(ms)), 1),
        "throughput_per_s": round(len(latencies) / seconds, 1), "errors": len(errors),
        "rss_mib_before": round(rss_before, 1), "rss_mib_peak": round(max(peak), 1),
        "rss_mib_after": round(rss_after, 1), "seconds": round(seconds, 2),
        "cores": os.cpu_count(), "load_average_1min": [round(load_before, 2),
                                                       round(load_after, 2)],
        # what uvicorn runs on in this environment (it picks these up when installed)
        "http_parser": "httptools" if importlib.util.find_spec("httptools") else "h11",
        "event_loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
    }
    print(json.dumps(result, indent=2))
    for error in errors[:5]:
        print(f"error: {error}", file=sys.stderr)
    met = p99 <= GOAL_P99_MS and not errors
    print(f"{args.kind}: {len(latencies)} requests, {args.clients} clients: p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms, {result['throughput_per_s']:.0f}/s, {len(errors)} errors, "
          f"RSS {rss_before:.0f} -> {rss_after:.0f} MiB (peak {max(peak):.0f}); goal p99 <= "
          f"{GOAL_P99_MS} ms and no error: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
