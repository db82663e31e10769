"""The FastAPI app: a thin HTTP face over `Predictor`, with micro-batching and limits.

    POST /v1/predict   {"texts": [...], "attention": false} -> a prediction per text, in order
    GET  /v1/model     the model card: labels, data, settings, scores, limits
    GET  /healthz      the process answers
    GET  /readyz       the model is loaded (503 until then)
    GET  /             the web page (every asset served from /static, no CDN)
    GET  /docs         OpenAPI docs (/openapi.json): Swagger UI, and ReDoc at /redoc, both
                       from local assets (`docs.py`), so they work offline

The model is loaded in a worker thread after start-up, so /healthz answers at once and /readyz
turns 200 when the model is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from tweetsent.errors import TweetsentError
from tweetsent.runs.predict import Prediction, Predictor
from tweetsent.runs.rundir import LoadedRun
from tweetsent.serve.batcher import Busy, MicroBatcher
from tweetsent.serve.card import model_card
from tweetsent.serve.docs import add_docs
from tweetsent.serve.errors import ApiError, BodyLimit, install_handlers
from tweetsent.serve.precision import apply_precision
from tweetsent.serve.schemas import ErrorResponse, PredictRequest, PredictResponse, Status
from tweetsent.serve.settings import ServeSettings
from tweetsent.version import __version__

log = logging.getLogger("tweetsent.serve")
STATIC = Path(__file__).parent / "static"
ARRIVAL = "tweetsent.settle"  # scope key: settles a request's announcement to the batcher
# The page and its assets come from this server only.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in (
        (413, "Over a limit: body size, texts per request or characters per text"),
        (422, "Malformed JSON, wrong types or unknown fields"),
        (503, "The model is loading, or too many requests are waiting"),
    )
}


class ModelState:
    """The predictor once loaded, and the one function the batcher's worker thread calls."""

    def __init__(self, run: Path | LoadedRun, settings: ServeSettings, predictor: Predictor | None):
        self.run = run  # a path, or the run directory already read (by `serve`)
        self.settings = settings
        self.predictor = predictor
        self.card: dict[str, Any] | None = None
        self.failed = False
        self.min_rows = 1
        if predictor is not None:
            self._prepare(predictor)

    @property
    def run_dir(self) -> Path:
        return self.run.path if isinstance(self.run, LoadedRun) else self.run

    def load(self) -> None:
        """Runs in a worker thread: read the run directory, build the model, warm it up."""
        try:
            torch.set_num_threads(self.settings.threads or os.cpu_count() or 1)
            predictor = Predictor.from_run(self.run, device=self.settings.device)
            self._prepare(predictor)
            # The ~200k long-lived objects (torch, the app, the vocabulary) leave the garbage
            # collector's view: a full collection over them paused every request for ~0.1-0.3 s.
            gc.collect()
            gc.freeze()
            log.info("model ready: %s", self.card["summary"] if self.card else self.run_dir)
        except TweetsentError as exc:  # a damaged run directory: one line, no traceback
            self.failed = True
            log.error("cannot load the model: %s", exc)
        except Exception:
            self.failed = True
            log.exception("cannot load the model from %s", self.run_dir)

    def _prepare(self, predictor: Predictor) -> None:
        self.min_rows = apply_precision(predictor.model, self.settings.precision)
        self._run(predictor, ["warm up"], predictor.has_attention)
        self.card = model_card(predictor.run, self.settings, predictor.has_attention)
        self.predictor = predictor  # last: from here on, /readyz says ready

    def predict(self, texts: Sequence[str], attention: bool) -> list[Prediction]:
        """What the batcher's worker thread calls."""
        assert self.predictor is not None
        return self._run(self.predictor, texts, attention)

    def _run(self, predictor: Predictor, texts: Sequence[str], attention: bool):
        filler = [""] * max(0, self.min_rows - len(texts))  # short batches: empty filler rows
        return predictor.predict([*texts, *filler], attention=attention)[: len(texts)]


def create_app(
    run_dir: str | Path | LoadedRun,
    settings: ServeSettings | None = None,
    predictor: Predictor | None = None,
) -> FastAPI:
    """The app for one run directory (already read, or an already loaded `predictor` of it)."""
    settings = settings or ServeSettings()
    run = run_dir if isinstance(run_dir, LoadedRun) else Path(run_dir)
    state = ModelState(run, settings, predictor)
    batcher = MicroBatcher(
        state.predict, settings.max_batch, settings.max_wait_ms, settings.max_pending
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        await batcher.start()
        loader = None if state.predictor else asyncio.create_task(asyncio.to_thread(state.load))
        yield
        if loader is not None:
            loader.cancel()
        await batcher.stop()

    app = FastAPI(
        title="tweetsent",
        version=__version__,
        description="Tweet sentiment with recurrent networks: predictions, model card, health.",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load Swagger UI / ReDoc from a CDN: ours are local
        redoc_url=None,
    )
    app.state.model = state
    app.state.batcher = batcher
    install_handlers(app)
    app.add_middleware(Arrivals, batcher=batcher)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    _add_routes(app, state, batcher, settings)
    add_docs(app)
    return app


def _add_routes(
    app: FastAPI, state: ModelState, batcher: MicroBatcher, settings: ServeSettings
) -> None:
    @app.post(
        "/v1/predict",
        response_model=PredictResponse,
        response_model_exclude_none=True,
        responses=ERRORS,
        tags=["predict"],
        dependencies=[Depends(_json_body)],
    )
    async def predict(request: PredictRequest, raw: Request) -> JSONResponse:
        """Label tweets: for each text, in order, its label, the probability of every class,
        whether nothing was left after cleaning and, with `attention`, token/weight pairs."""
        predictor = _ready(state)
        check_limits(request.texts, settings)
        settle = raw.scope.get(ARRIVAL)
        try:
            preds = await batcher.submit(request.texts, request.attention, settle)
        except Busy:
            raise ApiError(
                503, "busy", "too many requests waiting; retry shortly", {"Retry-After": "1"}
            ) from None
        body = {
            "labels": predictor.labels,
            "attention_available": predictor.has_attention,
            "predictions": [_prediction(pred) for pred in preds],
        }
        return JSONResponse(body)  # built from the schema's fields: no second validation pass

    @app.get("/v1/model", responses={503: ERRORS[503]}, tags=["model"])
    async def model() -> dict[str, Any]:
        """The model card: labels, data, settings, validation scores, and the request limits."""
        _ready(state)
        return state.card or {}

    @app.get("/healthz", response_model=Status, tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up (says nothing about the model)."""
        return {"status": "ok"}

    @app.head("/healthz", include_in_schema=False)
    async def healthz_head() -> Response:
        return Response(status_code=200)

    @app.get("/readyz", response_model=Status, responses={503: {"model": Status}}, tags=["health"])
    async def readyz():
        """200 once the model is loaded and warmed up; 503 while loading or if loading failed."""
        if state.predictor is not None:
            return {"status": "ready"}
        return JSONResponse({"status": "failed" if state.failed else "loading"}, status_code=503)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=_page_headers())

    app.mount("/static", StaticFiles(directory=STATIC), name="static")


async def _json_body(raw: Request) -> None:
    """415 for a body that does not say it is JSON (before the body is parsed)."""
    kind = raw.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send the body as JSON with Content-Type: application/json (got {kind or 'none'!r})",
        )


class Arrivals:
    """ASGI middleware: announces each `POST /v1/predict` to the batcher as soon as its body is
    in, so that a batch being formed waits for it; settled when submitted or finished."""

    def __init__(self, app: ASGIApp, batcher: MicroBatcher) -> None:
        self.app = app
        self.batcher = batcher

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/predict":
            await self.app(scope, receive, send)
            return
        settle = scope[ARRIVAL] = self.batcher.announce()
        try:
            await self.app(scope, receive, send)
        finally:
            settle()


def check_limits(texts: Sequence[str], settings: ServeSettings) -> None:
    if len(texts) > settings.max_texts:
        raise ApiError(
            413,
            "too_many_texts",
            f"{len(texts)} texts in one request; at most {settings.max_texts}",
        )
    for i, text in enumerate(texts):
        if len(text) > settings.max_chars:
            raise ApiError(
                413,
                "text_too_long",
                f"texts.{i}: {len(text):,} characters; at most {settings.max_chars:,}",
            )


def _ready(state: ModelState) -> Predictor:
    if state.predictor is None:
        message = "the model failed to load" if state.failed else "the model is still loading"
        raise ApiError(503, "not_ready", message, {"Retry-After": "1"})
    return state.predictor


def _prediction(pred: Prediction) -> dict[str, Any]:
    out: dict[str, Any] = {"label": pred.label, "probs": pred.probs, "empty": pred.empty}
    if pred.attention is not None and pred.tokens is not None:
        out["attention"] = [
            {"token": _utf8(token), "weight": round(float(weight), 6)}
            for token, weight in zip(pred.tokens, pred.attention, strict=False)
        ]
    return out


def _utf8(text: str) -> str:
    """A lone surrogate (valid in a JSON string, not in UTF-8) becomes '?' on the way out."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _page_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": PAGE_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
