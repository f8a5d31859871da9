"""nnscratch serve's page in a real browser: headless Chromium driven by Playwright draws a 1
and a 0 with the mouse, opens and drops PNG files, switches models, and keeps a screenshot.

The browser is the system's Chromium (Debian's ``chromium`` package; Playwright's own
browser downloads are not used). Without one these tests are skipped with a message saying
how to get it, except under CI (``CI=true``), where they fail. The screenshot is written to
``test-artifacts/serve.png`` at the repository's root (``$NNSCRATCH_ARTIFACTS`` overrides the
folder).
"""

import io
import math
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnscratch import load
from nnscratch.images import preprocess
from nnscratch.serve import Models, create_app, load_served_model, model_ids
from nnscratch.serve.server import address, make_server, open_socket

HOW = ("the browser tests need Playwright for Python and Chromium: `make test` installs "
       "Debian's chromium when run as root (or run `sudo apt-get install chromium`, and `pip "
       "install playwright`), or set NNSCRATCH_CHROMIUM to a Chromium or Chrome binary")
ARTIFACTS = Path(os.environ.get("NNSCRATCH_ARTIFACTS",
                                Path(__file__).resolve().parents[1] / "test-artifacts"))
PAD = 280  # the drawing pad's side, in its own pixels


def _unavailable(reason):
    """Skip, with how to get a browser; under CI fail instead: there they must run."""
    message = f"{reason}; {HOW}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(message)


def _chromium():
    """The Chromium binary to drive, or None."""
    candidates = [os.environ.get("NNSCRATCH_CHROMIUM"), "/usr/bin/chromium",
                  shutil.which("chromium"), shutil.which("chromium-browser"),
                  shutil.which("google-chrome")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, launched once for the module."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed")
    path = _chromium()
    if path is None:
        _unavailable("no Chromium found")
    with sync_playwright() as playwright:
        try:
            # As root Chromium's sandbox cannot start: --no-sandbox (the page is our own).
            args = ["--no-sandbox"] if os.geteuid() == 0 else []
            chromium = playwright.chromium.launch(executable_path=path, args=args)
        except Error as exc:
            _unavailable(f"Chromium at {path} did not start: {str(exc).splitlines()[0]}")
        yield chromium
        chromium.close()


def _serve(paths):
    """The app serving the models at ``paths`` on a free port of 127.0.0.1, served by uvicorn
    in a thread: its address (a generator: the server stops after the yield)."""
    models = Models(load_served_model(p, i) for p, i in zip(paths, model_ids(paths),
                                                             strict=True))
    sock = open_socket("127.0.0.1", 0)
    uvicorn_server = make_server(create_app(models))
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]},
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uvicorn_server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert uvicorn_server.started, "the server did not start"
    yield address(sock)
    uvicorn_server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def server(served_models):
    """The two digit models (``mlp`` the default, ``conv``): the app's address."""
    yield from _serve([served_models["mlp"], served_models["conv"]])


@pytest.fixture(scope="module")
def images_server(served_image_model, served_models):
    """A model of a folder of pictures (``shapes-run``, the default) and a digit model
    (``mlp``): the app's address."""
    yield from _serve([served_image_model["run"], served_models["mlp"]])


def _open(browser, url):
    """``(page, problems)``: a fresh page showing the app once its models are listed, and the
    script errors it logs."""
    from playwright.sync_api import expect

    # reduced motion: no bar transitions, so a bar is measured at its final width
    page = browser.new_page(viewport={"width": 1100, "height": 1000}, reduced_motion="reduce")
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(url)
    expect(page.locator("#model option")).to_have_count(2)
    return page, problems


def _no_problems(page, problems):
    """Close ``page``; no script error may have happened (a blocked resource or a
    Content-Security-Policy violation is one). The page's own error responses (a 422 it
    shows) are logged by Chromium; nothing else."""
    page.close()
    problems = [p for p in problems if "status of 422" not in p]
    assert not problems, problems


@pytest.fixture
def page(browser, server):
    """A fresh page showing the digit models; at the end, no script error may have
    happened."""
    page, problems = _open(browser, server)
    yield page
    _no_problems(page, problems)


@pytest.fixture
def images_page(browser, images_server):
    """A fresh page showing the folder model (and a digit model); no script error after."""
    page, problems = _open(browser, images_server)
    yield page
    _no_problems(page, problems)


def _draw(page, strokes):
    """Draw ``strokes`` (lists of (x, y) in pad pixels) with the mouse; wait for the answer
    to the last one: its JSON."""
    box = page.locator("#canvas").bounding_box()
    scale = box["width"] / PAD

    def at(x, y):
        return box["x"] + x * scale, box["y"] + y * scale

    answer = None
    for stroke in strokes:
        page.mouse.move(*at(*stroke[0]))
        with page.expect_response("**/api/predict*") as response:
            page.mouse.down()
            for point in stroke[1:]:
                page.mouse.move(*at(*point))
            page.mouse.up()
        answer = response.value.json()
    return answer


ONE = [[(150, 35), (143, 140), (136, 245)]]
ZERO = [[(140 + 55 * math.sin(2 * math.pi * t / 24), 140 - 95 * math.cos(2 * math.pi * t / 24))
         for t in range(26)]]


def _shown(page):
    """What the page shows: (digit, the highlighted bar's digit, each bar's fill fraction)."""
    from playwright.sync_api import expect

    expect(page.locator("body")).to_have_class("answered")
    top = page.locator("#bars li.top")
    expect(top).to_have_count(1)
    fills = page.evaluate("""() => [...document.querySelectorAll("#bars li")].map((item) =>
        item.querySelector(".fill").getBoundingClientRect().width
        / item.querySelector(".track").getBoundingClientRect().width)""")
    return int(page.inner_text("#digit")), int(top.get_attribute("data-digit")), fills


def test_drawing_a_1_and_a_0_shows_the_digit_and_the_bars(page):
    """Mouse strokes of a 1, then (after Clear) of a 0: the page shows the server's digit,
    highlights its bar, draws every bar at its probability and shows the prepared input."""
    from playwright.sync_api import expect

    for strokes, digit in ((ONE, 1), (ZERO, 0)):
        page.click("#clear")
        expect(page.locator("#digit")).to_have_text("?")
        answer = _draw(page, strokes)
        shown, top, fills = _shown(page)
        assert shown == top == answer["digit"] == digit
        np.testing.assert_allclose(fills, answer["probabilities"], atol=0.01)
        assert fills[digit] > 0.5
        pixels = page.evaluate("""() => Array.from(document.getElementById("prepared")
            .getContext("2d").getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 == 0))""")
        np.testing.assert_allclose(np.reshape(pixels, (28, 28)) / 255, answer["prepared"],
                                   atol=1 / 255 + 1e-3)
        layers = page.locator(".layer[data-kind=dense]")
        expect(layers).to_have_count(2)
        expect(layers.first).to_contain_text("dense 32, relu")


def _digit_png(mnist_standard, k, path):
    """The first MNIST test image of digit ``k``, enlarged, black on white, as a PNG file."""
    first = np.flatnonzero(mnist_standard.y_test == k)[0]
    pixels = np.round(255 * (1 - mnist_standard.X_test[first].reshape(28, 28)))
    Image.fromarray(pixels.astype(np.uint8)).resize((200, 200)).save(path)
    return path


def test_an_opened_png_and_a_dropped_one_are_read(page, served_models, mnist_standard,
                                                  tmp_path):
    """A PNG chosen with "Open an image..." and one dropped on the pad are read as
    nnscratch predict reads the same files."""
    network = load(served_models["mlp"] / "model.npz")
    for k, how in ((7, "open"), (2, "drop")):
        path = _digit_png(mnist_standard, k, tmp_path / f"{k}.png")
        expected = int(network.predict(preprocess([path]))[0])
        with page.expect_response("**/api/predict*"):
            if how == "open":
                page.set_input_files("#file", path)
            else:
                data = page.evaluate_handle(
                    """([name, bytes]) => { const d = new DataTransfer();
                    d.items.add(new File([new Uint8Array(bytes)], name, {type: "image/png"}));
                    return d; }""", [path.name, list(path.read_bytes())])
                page.locator("#pad").dispatch_event("drop", {"dataTransfer": data})
        shown, top, _ = _shown(page)
        assert shown == top == expected == k


def _upload_a_file_that_is_no_image(page, tmp_path):
    """Upload text named .png: the page shows the API's one-line error and no answer."""
    from playwright.sync_api import expect

    notes = tmp_path / "notes.png"
    notes.write_bytes(b"these are notes, not a picture")
    page.set_input_files("#file", notes)
    expect(page.locator("#error")).to_have_text(
        "cannot read the upload as an image: not an image format Pillow reads")
    expect(page.locator("#digit")).to_have_text("?")


WAITING = "The activations appear once the network has read a {}."


def test_a_file_that_is_no_image_shows_the_error_and_the_page_goes_on(page, tmp_path):
    """The error replaces the last answer: no digit, and none of its activations left."""
    from playwright.sync_api import expect

    assert _draw(page, ONE)["digit"] == 1
    expect(page.locator(".layer[data-kind=dense]")).to_have_count(2)
    _upload_a_file_that_is_no_image(page, tmp_path)
    expect(page.locator(".layer")).to_have_count(0)
    expect(page.locator("#layers")).to_have_text(WAITING.format("digit"))
    page.click("#clear")
    expect(page.locator("#error")).to_be_hidden()
    assert _draw(page, ONE)["digit"] == 1
    expect(page.locator("#error")).to_be_hidden()


def test_switching_models_reads_the_digit_again_and_shows_feature_maps(page):
    """Choosing the conv net re-sends the drawing: its answer, and 4 feature maps per layer;
    then a screenshot is kept as the test's artifact."""
    from playwright.sync_api import expect

    _draw(page, ZERO)
    expect(page.locator("#model-info")).to_contain_text("784-32-32-10")
    with page.expect_response("**/api/predict?model=conv") as response:
        page.select_option("#model", "conv")
    answer = response.value.json()
    assert answer["model"] == "conv"
    expect(page.locator("#timing")).to_contain_text("read by conv")
    expect(page.locator("#model-info")).to_contain_text("1x28x28 -> conv4k5,pool2 -> 10")
    shown, top, fills = _shown(page)
    assert shown == top == answer["digit"]
    np.testing.assert_allclose(fills, answer["probabilities"], atol=0.01)
    expect(page.locator(".layer[data-kind=conv] canvas.map")).to_have_count(4)
    expect(page.locator(".layer[data-kind=pool] canvas.map")).to_have_count(4)
    expect(page.locator(".layer[data-kind=dense]")).to_have_count(0)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = page.screenshot(full_page=True)
    (ARTIFACTS / "serve.png").write_bytes(shot)
    assert Image.open(io.BytesIO(shot)).size[0] == 1100


SIZE = "[document.getElementById('prepared').width, document.getElementById('prepared').height]"


def _bar_labels(page):
    """The bars' labels, in order."""
    return page.evaluate("""() => [...document.querySelectorAll("#bars li .label")]
        .map((label) => label.textContent)""")


def _shows_digit_ui(page):
    """The page as for a digit model: the pad, bars 0-9, a 28 x 28 input."""
    from playwright.sync_api import expect

    expect(page.locator("h1")).to_contain_text("Draw a digit")
    expect(page.locator("#canvas")).to_be_visible()
    expect(page.locator("#clear")).to_be_visible()
    expect(page.locator("#upload")).to_be_hidden()
    assert _bar_labels(page) == [str(k) for k in range(10)]
    caption = page.locator(".prepared figcaption")
    expect(caption).to_contain_text("28 × 28 pixels", use_inner_text=True)
    expect(caption).not_to_contain_text("colour", use_inner_text=True)
    assert page.evaluate(SIZE) == [28, 28]


def test_a_folder_model_asks_for_a_picture_and_names_its_classes(images_page,
                                                                  served_image_model,
                                                                  tmp_path):
    """Served a model of a folder of pictures, the page at once (before any upload) asks for a
    picture, hides the pad, labels the bars with the class names and gives the model's input
    size; an upload shows the class predict gives, and the prepared input in colour. Choosing
    the digit model brings the pad back, and the folder model takes it away again."""
    from playwright.sync_api import expect

    page = images_page
    expect(page.locator("h1")).to_contain_text("Upload a picture")
    expect(page.locator("h1")).not_to_contain_text("digit")
    expect(page.locator("#canvas")).to_be_hidden()
    expect(page.locator("#clear")).to_be_hidden()
    expect(page.locator("#upload")).to_be_visible()
    expect(page.locator("#open")).to_have_text("Choose a picture…")
    assert _bar_labels(page) == ["cross", "horizontal bar", "vertical bar"]
    caption = page.locator(".prepared figcaption")
    expect(caption).to_contain_text("12 × 16 pixels, colour", use_inner_text=True)
    expect(caption).not_to_contain_text("28", use_inner_text=True)
    assert page.evaluate(SIZE) == [16, 12]
    blank = page.evaluate("""() => Array.from(document.getElementById("prepared")
        .getContext("2d").getImageData(0, 0, 16, 12).data.filter((_, i) => i % 4 != 3))""")
    assert set(blank) == {0xE4}  # before any picture: light grey, not a black square
    expect(page.locator("#layers")).to_have_text(WAITING.format("picture"))

    path = tmp_path / "cross.png"  # a training picture, four times larger
    Image.open(next((served_image_model["folder"] / "cross").iterdir())).resize(
        (64, 48), Image.Resampling.NEAREST).save(path)
    network = load(served_image_model["run"] / "model.npz")  # predict's path, in Python
    pixels = network.pipeline.image(path)
    p = network.predict_proba(network.pipeline.scale(pixels)[None])[0]
    expected = network.pipeline.classes[int(np.argmax(p))]
    # (Chromium does not keep the answer's body for Playwright after a file input's upload:
    # the page is compared with predict's path instead)
    with page.expect_response("**/api/predict*"):
        page.set_input_files("#file", path)
    expect(page.locator("body")).to_have_class("images answered")
    expect(page.locator("#digit")).to_have_text(expected)
    top = page.locator("#bars li.top")
    expect(top).to_have_count(1)
    assert top.get_attribute("data-label") == expected
    shown = page.evaluate("""() => [...document.querySelectorAll("#bars li")]
        .map((item) => Number(item.dataset.p))""")
    np.testing.assert_allclose(shown, p, atol=2e-6)
    rgb = page.evaluate("""() => Array.from(document.getElementById("prepared").getContext("2d")
        .getImageData(0, 0, 16, 12).data.filter((_, i) => i % 4 != 3))""")
    np.testing.assert_allclose(rgb, pixels, atol=1)  # in colour, at the model's 12 x 16

    with page.expect_response("**/api/predict?model=mlp"):  # the picture, read again
        page.select_option("#model", "mlp")
    _shows_digit_ui(page)
    with page.expect_response("**/api/predict?model=shapes-run"):
        page.select_option("#model", "shapes-run")
    expect(page.locator("h1")).to_contain_text("Upload a picture")
    expect(page.locator("#canvas")).to_be_hidden()
    expect(page.locator("#digit")).to_have_text(expected)
    assert _bar_labels(page) == ["cross", "horizontal bar", "vertical bar"]


def test_a_folder_model_shows_the_apis_error_for_a_file_that_is_no_image(images_page,
                                                                          tmp_path):
    _upload_a_file_that_is_no_image(images_page, tmp_path)


def test_a_drawing_is_cleared_when_the_model_reads_pictures(browser, images_server):
    """A digit drawn for the digit model is not sent to the folder model (it has no pad):
    the page asks for a picture instead."""
    from playwright.sync_api import expect

    page, problems = _open(browser, images_server)
    page.select_option("#model", "mlp")
    _shows_digit_ui(page)
    assert _draw(page, ONE)["digit"] == 1
    page.select_option("#model", "shapes-run")
    expect(page.locator("#digit")).to_have_text("?")
    expect(page.locator("#confidence")).to_have_text(
        "choose a picture to see the network's answer")
    expect(page.locator("#bars li.top")).to_have_count(0)
    _no_problems(page, problems)


def _tab_to_the_file_input(page):
    """Tab from Clear (or, where Clear is hidden, from the model menu) until the file input
    has the focus, as a keyboard user does; the outline each of Open and the hint then show."""
    page.focus("#clear" if page.locator("#clear").is_visible() else "#model")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "file":
            break
    assert page.evaluate("document.activeElement.id") == "file"
    return page.evaluate("""() => ["open", "drop-hint"].map((id) => {
        const style = getComputedStyle(document.getElementById(id));
        return style.outlineStyle + " " + style.outlineWidth; })""")


def test_the_keyboard_focus_on_the_file_input_shows_on_open_an_image(page):
    """The file input itself is invisible: its focus shows as an outline on the "Open an
    image" label next to it, not on the hint after it."""
    open_outline, hint_outline = _tab_to_the_file_input(page)
    assert open_outline == "solid 2px"
    assert hint_outline.startswith("none")


def test_the_keyboard_focus_shows_on_open_an_image_for_a_folder_model(images_page):
    open_outline, _ = _tab_to_the_file_input(images_page)
    assert open_outline == "solid 2px"
