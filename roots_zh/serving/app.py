"""HTTP JSON service (FastAPI + uvicorn) over a batched task handler.

``POST /predict`` ``{"text": "..."}`` or ``{"texts": ["...", ...]}`` -> ``{"results": [...]}``
(a ``"result"`` dict for ``text``). Limits: body bytes and texts/characters per request (413),
malformed JSON or fields (422); a request the model cannot answer within ``request_timeout_s``
(admission, see ``admission.py``) or past ``max_connections`` gets 429/503 at once with
``Retry-After``; shutting down or timed out: 503. ``GET /health``, ``GET /metrics``.
``serve`` runs the model in its own process (``worker.py``) so the event loop never waits for it.
On SIGTERM/SIGINT uvicorn stops accepting connections, in-flight requests finish, then the
batcher drains and the model process exits.
"""

import asyncio
import json
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any, List, Optional

from ..utils.validation import check_positive_int
from .admission import Admission
from .batching import Closed, DynamicBatcher, Handler, QueueFull
from .metrics import Metrics

logger = logging.getLogger(__name__)


@dataclass
class ServerSettings:
    max_batch_size: int = 32  # items merged into one model call
    max_wait_ms: float = 5.0  # how long the first request waits for company
    max_queue: int = 4096  # queued requests before 429 (the throughput-derived item limit is usually lower)
    max_body_bytes: int = 64 * 1024
    max_texts: int = 64  # per request
    max_chars: int = 2000  # per text
    request_timeout_s: float = 30.0
    shutdown_timeout_s: float = 30.0
    max_connections: int = 4096  # HTTP requests in the app at once before 503 + Retry-After
    backlog: int = 4096  # listen backlog (connections not yet accepted)

    def validate(self) -> None:
        for name in ("max_batch_size", "max_queue", "max_body_bytes", "max_texts", "max_chars", "max_connections",
                     "backlog"):
            check_positive_int(getattr(self, name), name)
        for name in ("max_wait_ms", "request_timeout_s", "shutdown_timeout_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"`{name}` must be a non-negative number, got {value!r}")


class RequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def parse_request(body: bytes, settings: ServerSettings) -> tuple[List[str], bool]:
    """Body bytes -> (texts, single); raises ``RequestError`` with 413/422."""
    if len(body) > settings.max_body_bytes:
        raise RequestError(413, f"body is {len(body)} bytes; the limit is {settings.max_body_bytes}")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(422, f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict) or (("text" in payload) == ("texts" in payload)):
        raise RequestError(422, 'send a JSON object with exactly one of "text" (str) or "texts" (list of str)')
    single = "text" in payload
    texts = [payload["text"]] if single else payload["texts"]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise RequestError(422, '"text" must be a str and "texts" a non-empty list of str')
    if len(texts) > settings.max_texts:
        raise RequestError(413, f"{len(texts)} texts in one request; the limit is {settings.max_texts}")
    longest = max(len(t) for t in texts)
    if longest > settings.max_chars:
        raise RequestError(413, f"a text has {longest} characters; the limit is {settings.max_chars}")
    return texts, single


class ConnectionLimit:
    """ASGI middleware: past ``limit`` HTTP requests in flight, answer 503 + Retry-After at once."""

    def __init__(self, app, limit: int, retry_after, metrics: Metrics) -> None:
        self.app, self.limit, self.retry_after, self.metrics = app, limit, retry_after, metrics
        self.active = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.active >= self.limit:
            body = json.dumps({"error": f"server busy: {self.active} requests in flight "
                                        f"(max_connections={self.limit}); retry later"}).encode()
            self.metrics.record_response(503, 0.0)
            await send({"type": "http.response.start", "status": 503,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                    (b"retry-after", str(self.retry_after()).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


def create_app(handler: Handler, settings: Optional[ServerSettings] = None, task: str = "custom",
               items_per_s: Optional[float] = None):
    """A FastAPI app serving ``handler`` (items -> results) with dynamic batching.

    ``items_per_s``: the handler's measured throughput on full batches (admission starts from it;
    otherwise it learns from the first batches). A handler with ``close()`` is closed after draining."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    settings = settings or ServerSettings()
    settings.validate()
    metrics = Metrics()
    admission = Admission(settings.request_timeout_s, settings.max_batch_size, settings.max_queue)
    if items_per_s is not None:
        admission.calibrate(items_per_s)
    batcher = DynamicBatcher(handler, settings.max_batch_size, settings.max_wait_ms, settings.max_queue, metrics,
                             admission)

    @asynccontextmanager
    async def lifespan(_app):
        await batcher.start()
        yield
        await batcher.drain(settings.shutdown_timeout_s)
        if callable(getattr(handler, "close", None)):
            handler.close()

    app = FastAPI(title=f"roots-zh {task}", lifespan=lifespan)
    app.state.batcher, app.state.metrics, app.state.settings = batcher, metrics, settings

    def reply(status: int, body: Any, start: float, retry_after: Optional[int] = None) -> JSONResponse:
        metrics.record_response(status, time.perf_counter() - start)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return JSONResponse(body, status_code=status, headers=headers)

    @app.post("/predict")
    async def predict(request: Request):
        start = time.perf_counter()
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > settings.max_body_bytes:
            return reply(413, {"error": f"body is {declared} bytes; the limit is {settings.max_body_bytes}"}, start)
        try:
            texts, single = parse_request(await request.body(), settings)
            future = batcher.submit(texts)
        except RequestError as exc:
            return reply(exc.status, {"error": exc.message}, start)
        except QueueFull as exc:
            return reply(429, {"error": f"server busy: {exc}; retry later"}, start, exc.retry_after)
        except Closed as exc:
            return reply(503, {"error": str(exc)}, start, 5)
        try:
            remaining = settings.request_timeout_s - (time.perf_counter() - start)
            results = await asyncio.wait_for(future, max(remaining, 0.001))
        except asyncio.TimeoutError:
            return reply(503, {"error": f"timed out after {settings.request_timeout_s}s"}, start,
                         batcher.retry_after())
        except Exception as exc:  # noqa: BLE001 - the handler failed; the server keeps running
            return reply(500, {"error": f"{type(exc).__name__}: {exc}"}, start)
        return reply(200, {"result": results[0]} if single else {"results": results}, start)

    @app.get("/health")
    async def health():
        status = 503 if batcher.closing else 200
        return JSONResponse({"status": "closing" if batcher.closing else "ok", "task": task}, status_code=status)

    @app.get("/metrics")
    async def get_metrics():
        return {**metrics.snapshot(), "task": task, "settings": asdict(settings)}

    app.add_middleware(ConnectionLimit, limit=settings.max_connections, retry_after=batcher.retry_after,
                       metrics=metrics)
    return app


def serve(task: str = "text_classification", model: Optional[str] = None, host: str = "127.0.0.1",
          port: int = 8000, settings: Optional[ServerSettings] = None, in_process: bool = False,
          calibrate: bool = True, **task_options: Any) -> None:
    """Build the task's handler and run the server until SIGINT/SIGTERM (the CLI's ``serve``).

    The model runs in a child process (``in_process=True``: in a thread of this one, as before);
    ``calibrate`` times full batches at start-up so admission knows the throughput from the start."""
    import uvicorn

    from .tasks import build_handler
    from .worker import ProcessHandler

    check_positive_int(port, "port")
    settings = settings or ServerSettings()
    settings.validate()
    rate = None
    if in_process:
        handler = build_handler(task, model, **task_options)
    else:
        handler = ProcessHandler(task, model, **task_options).start()
    try:
        if calibrate and not in_process:
            rate = handler.calibrate(settings.max_batch_size)
            logger.info("calibrated: %.1f items/s on batches of %d; queue limit %d items for request_timeout_s=%g",
                        rate, settings.max_batch_size, int(rate * settings.request_timeout_s * 0.7),
                        settings.request_timeout_s)
        app = create_app(handler, settings, task, items_per_s=rate)
        server = uvicorn.Server(uvicorn.Config(
            app, host=host, port=port, log_level="warning", backlog=settings.backlog, timeout_keep_alive=65,
            timeout_graceful_shutdown=int(settings.shutdown_timeout_s) or None))
        app.state.batcher.open_connections = lambda: len(server.server_state.connections)
        try:
            server.run()
        except KeyboardInterrupt:  # SIGINT, re-raised after the graceful shutdown (as uvicorn.run)
            pass
    finally:
        if callable(getattr(handler, "close", None)):
            handler.close()
