"""nnscratch serve's JSON API, through Starlette's test client: what it answers, and how it
refuses bad input (a 4xx with one line of JSON) while serving the next request."""

import asyncio
import io
import json
import re
import struct
import threading
import time
import zlib

import numpy as np
import pytest
from PIL import Image
from scipy.signal import correlate2d
from starlette.testclient import TestClient

from nnscratch import load
from nnscratch.images import mnist_like, preprocess
from nnscratch.serve import Models, create_app, load_served_model, model_ids
from nnscratch.serve.inputs import MAX_UPLOAD_BYTES


@pytest.fixture(scope="module")
def models(served_models):
    paths = [served_models["mlp"], served_models["conv"]]
    return Models(load_served_model(p, i) for p, i in zip(paths, model_ids(paths), strict=True))


@pytest.fixture(scope="module")
def client(models):
    with TestClient(create_app(models)) as client:
        yield client


@pytest.fixture(scope="module")
def digits(mnist_standard):
    """The first MNIST test image of each digit 0-9, as (10, 28, 28) pixels in [0, 1]."""
    first = [np.flatnonzero(mnist_standard.y_test == k)[0] for k in range(10)]
    return mnist_standard.X_test[first].reshape(10, 28, 28)


def _png(pixels):
    """A PNG of grey levels in [0, 1] (0 black)."""
    buffer = io.BytesIO()
    Image.fromarray(np.round(np.asarray(pixels) * 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _drawing(digit):
    """An MNIST digit as the page sends one: enlarged to 200 px, black ink on a white
    280 x 280 pad, off-centre."""
    big = Image.fromarray(np.round(255 * (1 - digit)).astype(np.uint8)).resize((200, 200))
    pad = Image.new("L", (280, 280), 255)
    pad.paste(big, (60, 10))
    buffer = io.BytesIO()
    pad.save(buffer, "PNG")
    return buffer.getvalue()


def _png_header(width, height):
    """A PNG whose header claims ``width x height`` pixels and that holds no pixel data."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _predict_scope(content_type):
    """The ASGI scope of ``POST /api/predict`` without a Content-Length (to call the app
    directly, with a ``receive`` that hands over the body chunk by chunk)."""
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": "/api/predict", "raw_path": b"",
            "root_path": "", "query_string": b"",
            "headers": [(b"content-type", content_type.encode())],
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000)}


def _ok(client):
    """The next request is served: a JSON array of an MNIST-like stroke is read."""
    pixels = np.zeros((28, 28))
    pixels[4:24, 13:15] = 1.0
    response = client.post("/api/predict", json={"pixels": pixels.tolist()})
    assert response.status_code == 200, response.text
    return response.json()


# --- listing the models -------------------------------------------------------------------
def test_models_lists_each_model_with_its_run_metrics(client, served_models):
    """GET /api/models: ids from the run folder and file names, accuracy from metrics.json,
    the hidden layers' shapes; the first model is the default."""
    listing = client.get("/api/models").json()
    assert listing["default"] == "mlp"
    mlp, conv = listing["models"]
    metrics = json.loads((served_models["mlp"] / "metrics.json").read_text())
    assert mlp["id"] == "mlp" and mlp["architecture"] == "784-32-32-10"
    assert mlp["test_accuracy"] == metrics["test_accuracy"] > 0.9
    assert mlp["config"] == metrics["config"] and mlp["config"]["epochs"] == 3
    assert mlp["dataset"] == {"name": "mnist", "split": "standard"}
    assert mlp["parameters"] == 784 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10
    assert [(x["kind"], x["shape"]) for x in mlp["layers"]] == [("dense", [32]),
                                                                ("dense", [32])]
    assert conv["id"] == "conv" and conv["architecture"] == "1x28x28 -> conv4k5,pool2 -> 10"
    assert [(x["kind"], x["shape"]) for x in conv["layers"]] == [("conv", [4, 24, 24]),
                                                                 ("pool", [4, 12, 12])]
    assert conv["config"] == {"arch": "conv4k5,pool2", "epochs": 1}
    assert 0.5 < conv["test_accuracy"] < 1  # from the model file (no metrics.json beside it)


def test_models_says_what_each_model_reads(client, served_image_model):
    """GET /api/models tells the page, before any input, which kind of model each is: a
    digit model reads 28 x 28 grey digits 0-9; a folder model reads pictures of its input
    size, named by its class folders."""
    mlp, conv = client.get("/api/models").json()["models"]
    for digits in (mlp, conv):
        assert digits["kind"] == "digits"
        assert digits["class_names"] == [str(k) for k in range(10)]
        assert digits["input"] == {"height": 28, "width": 28, "channels": 1}
    images = TestClient(create_app(Models([load_served_model(served_image_model["run"],
                                                             "shapes")]), workers=1))
    (shapes,) = images.get("/api/models").json()["models"]
    assert shapes["kind"] == "images"
    assert shapes["class_names"] == ["cross", "horizontal bar", "vertical bar"]
    assert shapes["input"] == {"height": 12, "width": 16, "channels": 3}
    assert shapes["classes"] == 3 and shapes["architecture"].startswith("3x12x16 -> ")
    picture = io.BytesIO()
    Image.open(next((served_image_model["folder"] / "cross").iterdir())).resize((48, 36)).save(
        picture, "PNG")
    answer = images.post("/api/predict", content=picture.getvalue(),
                         headers={"Content-Type": "image/png"}).json()
    assert answer["classes"] == shapes["class_names"]
    assert np.shape(answer["prepared"]) == (12, 16, 3)  # what the page draws, in colour
    refused = images.post("/api/predict", content=b"these are notes, not a picture",
                          headers={"Content-Type": "image/png"})
    assert refused.status_code == 422
    assert refused.json() == {"error": "cannot read the upload as an image: not an image "
                                       "format Pillow reads"}


def test_model_ids_are_names_never_paths(tmp_path):
    """A run folder and its model.npz give the folder's name; equal names get -2, -3."""
    (tmp_path / "a" / "run").mkdir(parents=True)
    ids = model_ids([tmp_path / "a" / "run", tmp_path / "b" / "run" / "model.npz",
                     tmp_path / "m.npz", tmp_path / "c" / "m.npz"])
    assert ids == ["run", "run-2", "m", "m-2"]


# --- predictions ----------------------------------------------------------------------------
def test_a_drawing_is_read_as_nnscratch_predict_reads_the_file(client, served_models, digits,
                                                                tmp_path):
    """A PNG body gets the digit and probabilities that predict's path (preprocess, then
    predict_proba) gives for the same file, and the same prepared input."""
    network = load(served_models["mlp"] / "model.npz")
    for k in (0, 1, 7):
        data = _drawing(digits[k])
        path = tmp_path / f"{k}.png"
        path.write_bytes(data)
        x = preprocess([path])
        p = network.predict_proba(x)[0]
        answer = client.post("/api/predict", content=data,
                             headers={"Content-Type": "image/png"}).json()
        assert answer["model"] == "mlp"
        assert answer["digit"] == int(np.argmax(p)) == k
        np.testing.assert_allclose(answer["probabilities"], p, atol=1e-6)
        np.testing.assert_allclose(answer["prepared"], x[0].reshape(28, 28), atol=5e-4)
        assert answer["milliseconds"] > 0


def test_hidden_activations_match_an_independent_forward_pass(client, served_models, digits):
    """The dense layers' values are ReLU(x W + b) computed here from the saved weights."""
    network = load(served_models["mlp"] / "model.npz")
    answer = client.post("/api/predict", json={"pixels": digits[3].tolist()}).json()
    a = np.asarray(answer["prepared"], np.float64).ravel()
    (w1, b1), (w2, b2), (w3, b3) = [(layer.weights, layer.bias)
                                    for layer in network.dense_layers]
    h1 = np.maximum(a @ w1 + b1.ravel(), 0)
    h2 = np.maximum(h1 @ w2 + b2.ravel(), 0)
    z = h2 @ w3 + b3.ravel()
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert [layer["name"] for layer in answer["layers"]] == ["dense 32, relu"] * 2
    np.testing.assert_allclose(answer["layers"][0]["values"], h1, atol=2e-3)
    np.testing.assert_allclose(answer["layers"][1]["values"], h2, atol=2e-3)
    np.testing.assert_allclose(answer["probabilities"], p, atol=1e-3)
    assert answer["digit"] == 3


def test_feature_maps_match_scipy_correlation(client, served_models, digits):
    """A conv net's maps are ReLU(correlate(x, kernel) + bias) (scipy), then 2x2 max-pooled."""
    network = load(served_models["conv"])
    answer = client.post("/api/predict?model=conv", json={"pixels": digits[2].tolist()}).json()
    assert answer["model"] == "conv"
    x = np.asarray(answer["prepared"], np.float64)
    conv, pool = answer["layers"]
    assert (conv["kind"], conv["shape"], pool["kind"], pool["shape"]) == (
        "conv", [4, 24, 24], "pool", [4, 12, 12])
    layer = network.param_layers[0]
    maps = np.stack([np.maximum(correlate2d(x, layer.weights[c, 0], "valid") + layer.bias[c], 0)
                     for c in range(4)])  # (4, 24, 24)
    np.testing.assert_allclose(np.reshape(conv["values"], (4, 24, 24)), maps, atol=2e-3)
    pooled = maps.reshape(4, 12, 2, 12, 2).max(axis=(2, 4))
    np.testing.assert_allclose(np.reshape(pool["values"], (4, 12, 12)), pooled, atol=2e-3)


def test_pixels_are_prepared_as_a_28x28_image_file_is(client, digits, tmp_path):
    """A 28 x 28 array (or 784 numbers), either polarity, gets mnist_like's preparation, the
    same as the PNG of that array; an MNIST image comes back nearly as it was."""
    pixels = digits[0]
    flat = client.post("/api/predict", json={"pixels": pixels.ravel().tolist()}).json()
    square = client.post("/api/predict", json={"pixels": pixels.tolist()}).json()
    inverted = client.post("/api/predict", json={"pixels": (1 - pixels).tolist()}).json()
    as_png = client.post("/api/predict", content=_png(pixels)).json()
    expected = mnist_like(pixels).reshape(28, 28)
    for answer in (flat, square, inverted, as_png):
        np.testing.assert_allclose(answer["prepared"], expected, atol=5e-3)
    assert np.abs(np.asarray(square["prepared"]) - pixels).mean() < 0.05
    assert flat["digit"] == square["digit"] == inverted["digit"] == 0


def test_a_multipart_form_names_the_image_and_the_model(client, digits):
    """curl -F image=@digit.png -F model=conv works."""
    files = {"image": ("digit.png", _drawing(digits[4]), "image/png")}
    answer = client.post("/api/predict", files=files, data={"model": "conv"}).json()
    assert answer["model"] == "conv"
    assert len(answer["probabilities"]) == 10
    answer = client.post("/api/predict?model=mlp", files=files).json()
    assert answer["model"] == "mlp"


# --- bad input: one line of JSON, a 4xx, and the next request is served ----------------------
BLANK = Image.new("L", (280, 280), 255)


def _bytes(image, fmt="PNG"):
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


BAD_REQUESTS = {
    "not an image": (dict(content=b"hello, this is text", headers={"Content-Type": "image/png"}),
                     422, r"^cannot read the upload as an image: not an image format"),
    "0 bytes": (dict(content=b"", headers={"Content-Type": "image/png"}),
                400, r"^the request holds no image \(0 bytes\)"),
    "truncated PNG": (dict(content=_bytes(Image.new("L", (64, 64), 0))[:60]),
                      422, r"^cannot read the upload as an image"),
    "decompression bomb": (dict(content=_png_header(40_000, 40_000)),
                           422, r"decompression bomb"),
    "blank canvas": (dict(content=_bytes(BLANK), headers={"Content-Type": "image/png"}),
                     422, r"^no ink found: the image is blank"),
    "malformed JSON": (dict(content=b'{"pixels": [[0, 1,', headers={
        "Content-Type": "application/json"}), 400, r"^the body is not valid JSON: .*line 1"),
    "deeply nested JSON": (dict(content=b"[" * 100_000, headers={
        "Content-Type": "application/json"}), 400, r"nested too deeply"),
    "JSON not an object": (dict(json=[1, 2]), 400, r"must be an object .* got an array"),
    "JSON unknown key": (dict(json={"pixel": []}), 400, r"unknown key 'pixel'"),
    "JSON without pixels": (dict(json={"model": "mlp"}), 400, r'has no "pixels"'),
    "pixels of the wrong shape": (dict(json={"pixels": [[0.5] * 28] * 27}), 400,
                                  r"pixels must be a 28 x 28 array .* shape \(27, 28\)"),
    "ragged pixels": (dict(json={"pixels": [[0.5] * 28] * 27 + [[0.5]]}), 400,
                      r"rows of different lengths"),
    "pixels out of range": (dict(json={"pixels": [[255] * 28] * 28}), 400,
                            r"values from 255 to 255"),
    "blank pixels": (dict(json={"pixels": [[0] * 28] * 28}), 422, r"^no ink found"),
    "model not a string": (dict(json={"pixels": [[0] * 28] * 28, "model": 3}), 400,
                           r"model must be a model id \(a string\), got a number"),
    "form without image": (dict(files={"picture": ("d.png", b"x", "image/png")}), 400,
                           r"unknown field 'picture'"),
    "form with two files": (dict(files=[("image", ("a.png", b"x", "image/png")),
                                        ("image", ("b.png", b"y", "image/png"))]), 400,
                            r"[Tt]oo many files"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_input_is_a_4xx_with_one_line_of_json(client, case):
    """Each bad request gets its status and one line {"error": ...}; the next is served."""
    kwargs, status, message = BAD_REQUESTS[case]
    response = client.post("/api/predict", **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"] and "\n" not in body["error"]
    assert body["error"].strip() == body["error"] and len(body["error"]) < 300
    assert re.search(message, body["error"]), body["error"]
    assert _ok(client)["digit"] == 1


def test_unknown_model_is_404_listing_the_models(client):
    """A model is named by its id only: anything else, a path included, is a 404."""
    for name in ("nope", "../mlp", "/etc/passwd", "mlp/model.npz"):
        response = client.post(f"/api/predict?model={name}", json={"pixels": [[0.5] * 28] * 28})
        assert response.status_code == 404
        assert response.json() == {"error": f"no model {name!r}; the models are "
                                            "['mlp', 'conv']"}
    both = client.post("/api/predict?model=mlp", json={"pixels": [[1] * 28] * 28,
                                                       "model": "conv"})
    assert both.status_code == 400 and "two models named" in both.json()["error"]
    assert _ok(client)["model"] == "mlp"


def test_a_50_mb_upload_is_refused_without_reading_it(client, models):
    """A declared 50 MB body is refused from its Content-Length; one streamed without a
    length is refused once the limit is passed: the app stops pulling chunks there (413)."""
    big = b"\0" * (50 * 2**20)
    response = client.post("/api/predict", content=big)
    assert response.status_code == 413
    assert response.json() == {"error": "the upload is too large: at most 5,242,880 bytes "
                                        "(5 MiB), got 52,428,800 bytes"}
    assert _ok(client)

    pulled, sent = [], []

    async def receive():  # 50 chunks of 1 MiB, counted as the app pulls them
        pulled.append(1)
        return {"type": "http.request", "body": b"\0" * 2**20, "more_body": len(pulled) < 50}

    async def send(message):
        sent.append(message)

    asyncio.run(create_app(models)(_predict_scope("image/png"), receive, send))
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {"error": "the upload is too large: at most "
                                                    "5,242,880 bytes (5 MiB), got more"}
    assert len(pulled) == MAX_UPLOAD_BYTES // 2**20 + 1  # stopped at the first chunk past it


def test_the_pixel_limit_is_checked_before_decoding(models, digits):
    """An image of more pixels than max_pixels is refused from its header."""
    with TestClient(create_app(models, max_pixels=50_000)) as small:
        response = small.post("/api/predict", content=_drawing(digits[1]))  # 280 x 280
        assert response.status_code == 422
        assert response.json()["error"] == ("cannot read the upload as an image: it is 280 x "
                                            "280 pixels, more than the 50,000 allowed")
        assert _ok(small)


def test_wrong_routes_and_methods_are_json_errors(client):
    """No such page: 404; GET on the predict route: 405 naming the method to use."""
    response = client.get("/api/nothing")
    assert response.status_code == 404
    assert response.json() == {"error": "nothing at /api/nothing"}
    response = client.get("/api/predict")
    assert response.status_code == 405
    assert response.json() == {"error": "GET is not allowed on /api/predict; use POST"}
    assert client.get("/static/../../pyproject.toml").status_code == 404
    assert _ok(client)


# --- the page -------------------------------------------------------------------------------
def test_the_page_and_its_files_come_from_the_package(client):
    """/, /static/app.js and /static/style.css are served, refer to nothing outside the
    server (no CDN: the page works offline) and the page forbids other sources."""
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    texts = [page.text] + [client.get(f"/static/{name}").text for name in ("app.js",
                                                                          "style.css")]
    for text in texts:
        assert "http://" not in text and "https://" not in text and "//cdn" not in text
    assert '<script src="/static/app.js"' in page.text
    assert "/api/predict" in texts[1] and "/api/models" in texts[1]


@pytest.mark.parametrize("kind", ["image/png", "application/json"])
def test_images_are_read_one_per_worker_at_a_time(models, monkeypatch, kind):
    """With workers=2, six images at once are read at most two at a time (the memory that
    large images take is bounded), and all are answered; a 28 x 28 array is read on the
    event loop, one at a time."""
    active, most, lock = [0], [0], threading.Lock()
    read = type(models.default).read

    def slow_read(self, row):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return read(self, row)

    monkeypatch.setattr(type(models.default), "read", slow_read)
    app = create_app(models, workers=2)
    bar = [[0] * 13 + [1, 1] + [0] * 13] * 28
    body = _png(bar) if kind == "image/png" else json.dumps({"pixels": bar}).encode()

    async def call():
        sent, chunks = [], [{"type": "http.request", "body": body, "more_body": False}]

        async def receive():
            return chunks.pop() if chunks else {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)

        await app(_predict_scope(kind), receive, send)
        return sent[0]["status"]

    async def six():
        return await asyncio.gather(*(call() for _ in range(6)))

    assert asyncio.run(six()) == [200] * 6
    assert most[0] == (2 if kind == "image/png" else 1)


def test_a_bug_is_a_500_with_one_line_of_json_and_the_server_goes_on(models, monkeypatch):
    """An unexpected exception while reading: 500, {"error": "internal error: ..."}."""
    read = type(models.default).read
    calls = []

    def broken_once(self, row):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return read(self, row)

    monkeypatch.setattr(type(models.default), "read", broken_once)
    with TestClient(create_app(models), raise_server_exceptions=False) as client:
        response = client.post("/api/predict", json={"pixels": [[0] * 13 + [1, 1] + [0] * 13] * 28})
        assert response.status_code == 500
        assert response.json() == {"error": "internal error: RuntimeError: boom"}
        assert _ok(client)


@pytest.mark.parametrize(("pixels", "message"), [
    ([0.5] * 900_000, r"shape \(900000,\)"),
    ([[0.5] * 30_000] * 28, r"shape \(28, 30000\)"),
    ([[[0.5] * 28] * 28], r"shape \(1, 28, 28\)"),
    ([[0.5] * 28] * 27 + [[0.5] * 100_000], "rows of different lengths"),
    (3, "got a number"),
])
def test_pixels_of_the_wrong_shape_are_refused_before_numpy_reads_them(pixels, message,
                                                                       monkeypatch):
    """A JSON array near the upload limit is refused from its nesting and lengths alone:
    NumPy never converts it (that took tens of ms on the event loop)."""
    from nnscratch.serve import inputs
    from nnscratch.serve.inputs import RequestError, pixels_input

    def refuse(*args, **kwargs):
        raise AssertionError("converted by NumPy")

    monkeypatch.setattr(inputs.np, "asarray", refuse)
    with pytest.raises(RequestError, match=message):
        pixels_input(pixels)
