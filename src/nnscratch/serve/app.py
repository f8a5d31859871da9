"""The web app's routes (Starlette): the page, its static files and the JSON API.

``GET /`` is the page, ``GET /static/...`` its script and style (shipped in the package: no
CDN, it works offline), ``GET /api/models`` lists the models and ``POST /api/predict`` reads
one input (see docs/api.md). Every failure is answered with a 4xx status and one line of
JSON, ``{"error": "..."}``, and the next request is served as usual. A request body is read
only up to the upload limit; the image work runs in worker threads, off the event loop, as
many at a time as there are cores (which also bounds the memory large images take at once).
A 28 x 28 array is read on the event loop: it takes less time than handing it to a thread,
and than the loop waiting for that thread's turn to hold the interpreter (the GIL).
"""

import functools
import os
import threading
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..images import ImageError
from .inputs import (
    MAX_PIXELS,
    MAX_UPLOAD_BYTES,
    RequestError,
    image_input,
    parse_json,
    pixels_input,
)
from .models import UnknownModelError

STATIC = Path(__file__).with_name("static")
# The page loads nothing from elsewhere and runs no inline script.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
UNPROCESSABLE = 422  # a well-formed request whose image cannot be read as a digit


def create_app(models, *, max_upload=MAX_UPLOAD_BYTES, max_pixels=MAX_PIXELS, workers=None):
    """The Starlette application serving ``models``.

    Parameters
    ----------
    models : nnscratch.serve.models.Models
        The models, loaded once; requests name them by id.
    max_upload : int
        Largest request body read, in bytes; a larger one is refused with 413 as soon as it
        is known to be larger (from its Content-Length, or while it is read).
    max_pixels : int
        Largest image, in pixels, that is decoded (a decompression bomb is refused with 422).
    workers : int, optional
        Inputs prepared and read at the same time (default: one per core). The others wait
        their turn: this bounds the memory that large images take at once, and more threads
        than cores would only take turns on them.

    Returns
    -------
    starlette.applications.Starlette
    """
    turns = threading.BoundedSemaphore(workers or os.cpu_count() or 1)

    def read(model, prepare, data):  # in a worker thread
        with turns:
            return model.read(prepare(data))

    async def page(request):
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    async def list_models(request):
        return JSONResponse({"models": [m.describe() for m in models],
                             "default": models.default.id})

    async def predict(request):
        start = time.perf_counter()
        try:
            body = await _read_body(request, max_upload)
            prepare, data, named = await _input_of(request, body, max_upload, max_pixels)
            model = models.get(_model_named(request.query_params.get("model"), named))
            if model.pipeline is not None:  # a model of a folder's images: prepared its way
                if prepare is pixels_input:
                    raise RequestError(f"model {model.id!r} reads uploaded images (its classes: "
                                       f"{', '.join(model.pipeline.classes[:10])}), not a "
                                       "pixels array: send an image file")
                prepare = functools.partial(model.prepare_upload, max_pixels=max_pixels)
            if prepare is pixels_input:  # 784 numbers: quicker read here than handed over
                result = model.read(prepare(data))
            else:
                result = await run_in_threadpool(read, model, prepare, data)
        except RequestError as exc:
            return _error(exc.status, exc)
        except ImageError as exc:
            return _error(UNPROCESSABLE, exc)
        except UnknownModelError as exc:
            return _error(404, exc)
        except ClientDisconnect:  # nobody is left to answer
            return _error(400, "the client disconnected before sending the whole body")
        result["milliseconds"] = round(1000 * (time.perf_counter() - start), 2)
        return JSONResponse(result)

    routes = [
        Route("/", page, methods=["GET", "HEAD"]),
        Route("/api/models", list_models, methods=["GET", "HEAD"]),
        Route("/api/predict", predict, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_error,
                                                         Exception: _server_error})


async def _read_body(request, limit):
    """The request's body, read only while it stays within ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestError(_too_large(int(declared), limit), 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(_too_large(None, limit), 413)
        chunks.append(chunk)
    return b"".join(chunks)


async def _input_of(request, body, limit, max_pixels):
    """``(prepare, data, model)``: how to prepare the body's input, the input, and the model
    the body names (None if none), by the body's Content-Type."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        pixels, named = parse_json(body)
        return pixels_input, pixels, named
    named = None
    if kind == "multipart/form-data":
        body, named = await _form_image(request, body, limit)
    if not body:
        raise RequestError('the request holds no image (0 bytes): send an image file, a form '
                           'with an "image" file, or JSON {"pixels": [...]}')
    return functools.partial(image_input, max_pixels=max_pixels), body, named


def _model_named(in_address, in_body):
    """The model id a request names (None: the default)."""
    if None not in (in_address, in_body) and in_address != in_body:
        raise RequestError(f"two models named: {in_address!r} in the address and {in_body!r} "
                           "in the body; name one")
    return in_body if in_body is not None else in_address


def _too_large(size, limit):
    """The 413 message: the limit, and the size when it is known."""
    got = f"{size:,} bytes" if size is not None else "more"
    return f"the upload is too large: at most {limit:,} bytes ({limit / 2**20:g} MiB), got {got}"


async def _form_image(request, body, limit):
    """``(image bytes, model or None)`` from a multipart form's ``image`` and ``model``."""
    async def replay():  # the body was already read (within the limit): parse it from memory
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form(max_files=1, max_fields=1,
                                                     max_part_size=limit)
    try:
        unknown = [key for key in form if key not in ("image", "model")]
        if unknown:
            raise RequestError(f"the form has the unknown field {unknown[0][:40]!r}; expected "
                               '"image" (a file) and optionally "model"')
        image, model = form.get("image"), form.get("model")
        if image is None or isinstance(image, str):
            raise RequestError('the form has no "image" file: send the image as '
                               "image=@digit.png")
        if model is not None and not isinstance(model, str):
            raise RequestError('the form\'s "model" must be text (a model id), not a file')
        return await image.read(), model
    finally:
        await form.close()


def _error(status, message):
    """A JSON error response: one line, ``{"error": "..."}``."""
    return JSONResponse({"error": " ".join(str(message).split())}, status_code=status)


async def _http_error(request, exc):
    """Starlette's own errors (no such page, wrong method, a malformed form) as JSON."""
    if exc.status_code == 404:
        message = f"nothing at {request.url.path}"
    elif exc.status_code == 405:
        message = (f"{request.method} is not allowed on {request.url.path}; use "
                   f"{exc.headers.get('Allow', 'another method') if exc.headers else 'another'}")
    else:
        message = exc.detail
    response = _error(exc.status_code, message)
    response.headers.update(exc.headers or {})
    return response


async def _server_error(request, exc):
    """A bug: answered as JSON too (and logged with its traceback by the server)."""
    return _error(500, f"internal error: {type(exc).__name__}: {exc}")
