"""Serving: a REST API and a web page over `Predictor` (FastAPI + uvicorn).

>>> from tweetsent.serve import ServeSettings, create_app, serve
>>> serve("runs/default", ServeSettings(port=8000))  # tweetsent serve runs/default
"""

from tweetsent.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app", "serve"]


def __getattr__(name: str):
    # FastAPI and uvicorn are imported only when the server is used.
    if name == "create_app":
        from tweetsent.serve.app import create_app

        return create_app
    if name == "serve":
        from tweetsent.serve.server import serve

        return serve
    raise AttributeError(name)
