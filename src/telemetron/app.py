"""The ASGI application: routers, middleware, and the handlers that turn errors into the ext-v1 specification's error body."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.resources
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from telemetron import __version__, web
from telemetron.api import customers, devices, tickets  # noqa: F401  (they register their operations)
from telemetron.api.docs import extend_openapi
from telemetron.api.middleware import RequestContextMiddleware
from telemetron.api.routing import FastLane, ext_v1
from telemetron.clock import utcnow
from telemetron.config import Settings, get_settings
from telemetron.db.engine import Database
from telemetron.errors import AppError
from telemetron.idempotency.service import purge_expired
from telemetron.mail import http_api as _mail_http_api  # noqa: F401  (POST /api/inbound/email)
from telemetron.observability.http import ObservedApp, configure_access_log
from telemetron.observability.metrics import metrics_endpoint
from telemetron.observability.readiness import readiness_endpoint
from telemetron.outbox.repository import PURGE_CHUNK, purge_finished
from telemetron.outbox.worker import worker_from_settings
from telemetron.ratelimit.limiter import KeyLimiter
from telemetron.ratelimit.middleware import RateLimitMiddleware
from telemetron.triage.llm import LLMSettings
from telemetron.triage.runtime import Categorizer

logger = logging.getLogger("telemetron")
_API_DOCS_FILES = str(importlib.resources.files("fastapi_offline") / "static")
PURGE_INTERVAL_SECONDS = 3600


@dataclass(slots=True)
class AppContext:
    settings: Settings
    db: Database
    categorizer: Categorizer
    llm: LLMSettings | None = None
    _http: aiohttp.ClientSession | None = None

    def http(self) -> aiohttp.ClientSession:
        """One HTTP client per process for outgoing calls made by requests (the LLM engine)."""
        if self._http is None:
            self._http = aiohttp.ClientSession(trust_env=False)
        return self._http


def _json(status: int, body: dict, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


async def _app_error(_request: Request, exc: AppError) -> Response:
    return _json(exc.status, exc.body())


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 404 and not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    ):  # a person in a browser, not an API client: the web app's page
        return await web.not_found_page(request)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "HTTP error"
    if exc.status_code == 404 and message == "Not Found":
        message = "No such endpoint"
    return _json(exc.status_code, {"error": message, "code": code}, getattr(exc, "headers", None))


async def _validation_error(_request: Request, exc: RequestValidationError) -> Response:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    field = ".".join(str(p) for p in first["loc"][1:]) or None
    return _json(400, {"error": f"{field}: {first['msg']}" if field else first["msg"], "code": "invalid_request", "field": field})


async def _purge_history(ctx: AppContext) -> None:
    """Hourly: expired idempotency keys, and delivered notifications past ``outbox_keep_days``
    (a chunk per transaction, so that the server's own units never wait long behind it)."""
    while True:
        try:
            await ctx.db.run_in_thread(purge_expired, ttl_hours=ctx.settings.idempotency_ttl_hours)
            cutoff = utcnow() - timedelta(days=ctx.settings.outbox_keep_days)
            while await ctx.db.run_in_thread(purge_finished, older_than=cutoff) == PURGE_CHUNK:
                await asyncio.sleep(0)
        except Exception:  # keep the loop alive; the next run tries again
            logger.exception("purging history failed")
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)


class TelemetronAPI(FastAPI):
    """FastAPI, entered through ``FastLane``: createTicket and the other fixed-path ext-v1 calls
    skip FastAPI's middleware stack (api/routing.py)."""

    def build_middleware_stack(self):
        fast = FastLane(super().build_middleware_stack(), ext_v1, _app_error)
        return ObservedApp(fast, {op.path for op in ext_v1.operations if "{" not in op.path}, fast.fixed_path)


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """The application: its context, middleware, error handlers, routes and background tasks."""
    settings = settings or get_settings()
    owns_db = db is None
    db = db or Database(settings.database_url, pool_size=settings.db_pool_size)
    ctx = AppContext(settings=settings, db=db, categorizer=Categorizer(db), llm=_llm_settings(settings))
    app = TelemetronAPI(
        title="Telemetron",
        version=__version__,
        summary="Self-hosted support ticketing, compatible with the ext-v1 specification.",
        lifespan=_lifespan(ctx, owns_db),
        # /docs is served below with Swagger UI's files from a package, not a CDN: the service
        # must work on a machine without internet. (ReDoc fetches its logo from a CDN: off.)
        docs_url=None,
        redoc_url=None,
        # FastAPI's own OpenTelemetry hooks look for a provider on every request; the service's
        # metrics are Prometheus' (observability/).
        telemetry={"tracing": False, "metrics": False, "logs": False},
        exception_handlers={AppError: _app_error, StarletteHTTPException: _http_error,
                            RequestValidationError: _validation_error},
    )
    app.state.ctx = ctx
    app.state.rate_limiter = KeyLimiter.from_settings(settings, db)
    app.add_middleware(RateLimitMiddleware)  # ext-v1 calls with a path parameter (FastLane has its own)
    app.add_middleware(RequestContextMiddleware)
    app.router.routes.extend(ext_v1.routes())
    app.router.routes.extend(web.routes())  # the agents' and admins' pages (telemetron.web)
    _add_api_docs(app)
    _add_probes(app, db)
    configure_access_log(settings.access_log)
    app.openapi = _openapi_of(app)  # type: ignore[method-assign]
    return app


def _llm_settings(settings: Settings) -> LLMSettings | None:
    if not (settings.triage_llm_base_url and settings.triage_llm_model):
        return None
    return LLMSettings(settings.triage_llm_base_url, settings.triage_llm_model, settings.triage_llm_api_key,
                       settings.triage_llm_timeout_seconds)


def _lifespan(ctx: AppContext, owns_db: bool):
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        # What start-up made (modules, schemas, compiled statements) lives as long as the process:
        # out of the collector's way, full collections stop scanning it on the request path.
        gc.freeze()
        background = _Background.start(ctx)
        try:
            yield
        finally:
            await background.stop()
            if owns_db:
                ctx.db.dispose()

    return lifespan


@dataclass
class _Background:
    """What runs beside the requests while the application does."""

    ctx: AppContext
    cancelled_at_stop: list[asyncio.Task]  # history purge, model warm-up, retraining
    finished_at_stop: list[asyncio.Task]  # the outbox worker, then the mailbox poller: a graceful stop
    stop_event: asyncio.Event

    @classmethod
    def start(cls, ctx: AppContext) -> _Background:
        settings = ctx.settings
        background = cls(ctx, [
            asyncio.create_task(_purge_history(ctx)),
            asyncio.create_task(ctx.categorizer.warm_up(load_model=settings.triage_preload)),
            asyncio.create_task(ctx.categorizer.retrain_forever()),
        ], [], asyncio.Event())
        if settings.run_worker:
            worker = worker_from_settings(ctx.db, settings)
            background.finished_at_stop.append(asyncio.create_task(worker.run(background.stop_event)))
            logger.info("delivering notifications in this process as worker %s", worker.name)
            from telemetron.mail.imap_poll import poll_forever, server_categorizer

            background.finished_at_stop.append(asyncio.create_task(
                poll_forever(ctx.db, settings, background.stop_event, server_categorizer(ctx.db, ctx))))
        return background

    async def stop(self) -> None:
        for task in self.cancelled_at_stop:
            task.cancel()
        self.ctx.categorizer.close()
        if self.ctx._http is not None:
            await self.ctx._http.close()
        self.stop_event.set()
        for task in self.finished_at_stop:
            await task


def _add_api_docs(app: FastAPI) -> None:
    # Swagger UI 5 as the fastapi-offline package ships it (FastAPI's OpenAPI is 3.1, which
    # Swagger UI 4 refuses to render; a real-browser test checks /docs).
    app.mount("/static/api-docs", StaticFiles(directory=_API_DOCS_FILES), name="api-docs")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Telemetron API",
            swagger_js_url="/static/api-docs/swagger-ui-bundle.js",
            swagger_css_url="/static/api-docs/swagger-ui.css",
            swagger_favicon_url="/static/api-docs/favicon.png",
        )


def _add_probes(app: FastAPI, db: Database) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return {"ok": True}

    app.add_route("/readyz", readiness_endpoint(db), include_in_schema=False)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)


def _openapi_of(app: FastAPI) -> Callable[[], dict]:
    """The OpenAPI document, made on first use: FastAPI's, completed by the ext-v1 operations."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            ext_v1.document(schema)
            app.openapi_schema = extend_openapi(schema)
        return app.openapi_schema

    return openapi
