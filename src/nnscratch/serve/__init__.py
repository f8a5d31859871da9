"""``nnscratch serve``: a local web app to draw a digit and watch the network read it.

:mod:`~nnscratch.serve.models` loads the models named at start and reads an input through
one of them; :mod:`~nnscratch.serve.inputs` turns a request's image or array into that input;
:mod:`~nnscratch.serve.app` holds the routes (Starlette); :mod:`~nnscratch.serve.server`
runs them on uvicorn. The page itself is ``static/`` (plain HTML, JavaScript and CSS).
"""

from .app import create_app
from .models import Models, ServedModel, UnknownModelError, load_served_model, model_ids

__all__ = ["Models", "ServedModel", "UnknownModelError", "create_app", "load_served_model",
           "model_ids"]
