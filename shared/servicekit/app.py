"""The API factory: every service's FastAPI app gets the same defaults from one call.

/healthz (the process is alive), /readyz (MongoDB and Kafka really reachable), /metrics, problem+json
errors, correlation ids, request metrics by route template and a request-size limit, all as pure ASGI.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
import uvloop
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp

from servicekit import openapi
from servicekit.auth import TokenVerifier
from servicekit.logging import configure_logging
from servicekit.metrics import render_latest
from servicekit.middleware import (
    BodySizeLimitMiddleware,
    CorrelationIdMiddleware,
    MetricsMiddleware,
    require_json_bodies,
)
from servicekit.outcomes import StoreBudgetMiddleware
from servicekit.problems import PROBLEM_JSON, install_problem_handlers, problem_body
from servicekit.service import ServiceContext, ServiceDefinition
from servicekit.settings import ServiceSettings

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
DOCS_ASSETS_URL = "/docs/assets"


# The collector's thresholds in a server process (Python's defaults: 700, 10, 10). With the defaults an
# object that lived some 10 ms (a batch's working data, a request's documents) was examined twice and
# promoted to the oldest generation, and once those promotions reached a quarter of the heap a full
# collection walked the whole heap, the caches too: in the trading API while a segment fold ran, about
# one a second, 70 ms on average and up to 145 ms, freeing nothing, every request waiting meanwhile
# (README, "A fold makes room for requests"). A young generation of 50,000 lets short-lived work die
# before it is examined; reference counting frees almost everything anyway, the collector only finds
# cycles.
SERVER_GC_THRESHOLDS = (50_000, 10, 10)


def create_app(definition: ServiceDefinition, settings: ServiceSettings | None = None, *,
               freeze_heap_after_start: bool = False) -> FastAPI:
    settings = settings or definition.settings_factory()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = ServiceContext(definition, settings)
        app.state.ctx = ctx
        await ctx.start(run_relay=True)
        if freeze_heap_after_start:
            # Everything made so far (modules, the app, its routes and models) lives as long as the
            # process. Frozen, the collector stops walking it at every full collection: those took 60-90 ms
            # each in the publicity API under the check-in benchmark, a pause every request waiting at
            # that moment shares. Only for a server process: in a test process it would keep every app
            # the tests made alive.
            gc.freeze()
            gc.set_threshold(*SERVER_GC_THRESHOLDS)
        try:
            yield
        finally:
            await ctx.stop()

    # The docs pages load Swagger UI and ReDoc from the process itself (fastapi-offline ships the
    # assets), so they work where there is no internet.
    app = FastAPIOffline(
        title=definition.title or f"{definition.name} service",
        description=definition.description,
        version="1.0.0",
        lifespan=lifespan,
        openapi_url="/v1/openapi.json",
        docs_url=DOCS_URL,
        redoc_url=REDOC_URL,
        static_url=DOCS_ASSETS_URL,
    )
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(settings)
    install_problem_handlers(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        ctx: ServiceContext = request.app.state.ctx
        checks = await ctx.readiness()
        if all(v == "ok" for v in checks.values()):
            return JSONResponse({"status": "ok", "checks": checks})
        failing = ", ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok")
        body = problem_body(503, "Not ready", f"Dependencies not ready: {failing}", "not-ready", "/readyz",
                            checks=checks)
        return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(render_latest(), media_type="text/plain; version=0.0.4; charset=utf-8")

    for router in definition.routers:
        app.include_router(router)
    require_json_bodies(app)
    openapi.install(app)

    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(StoreBudgetMiddleware, budget_seconds=settings.request_store_budget_seconds)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(MetricsMiddleware, metrics=ServiceContext.metrics_for(definition))
    app.add_middleware(CorrelationIdMiddleware)
    return app


def run_api(definition: ServiceDefinition, settings: ServiceSettings) -> None:
    configure_logging(definition.name, settings.log_level)
    serve(create_app(definition, settings, freeze_heap_after_start=True), settings.http_host, settings.http_port)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """An event loop for a process of the kit's that runs one outside `serve` (the trading API's segment
    folder, a process of its own): uvloop's, as the APIs run on (`serve`), for the same reason: the loop's
    own work (polling, socket writes to the store, callbacks) in C rather than in Python."""
    return uvloop.new_event_loop()


# How long a served app keeps an idle client connection open (uvicorn's default, named because the
# clients that pool connections to these apps depend on it). A client that reuses a pooled connection
# at the moment the server closes it gets "Server disconnected without sending a response"; httpx's
# own default expiry is also 5 s, so the two race (seen once as a 500 from the portal's home page in a
# CI run). Clients let idle connections go at half the server's time: CLIENT_KEEPALIVE_EXPIRY_SECONDS.
SERVER_KEEP_ALIVE_SECONDS = 5
CLIENT_KEEPALIVE_EXPIRY_SECONDS = SERVER_KEEP_ALIVE_SECONDS / 2


def serve(app: ASGIApp, host: str, port: int) -> None:
    """Serve an HTTP app (a service's API, the portal) until SIGTERM, one process.

    On uvloop (also one of uvicorn's standard extras): an API spends a fifth to a quarter of its CPU in
    the event loop itself (polling, socket writes to the store, Kafka and clients, task scheduling),
    which uvloop does in C. Measured with the publish benchmark at 1,000 listings, 1,500 create +
    publish, side by side: the trading API's CPU per create + publish 15.7 -> 13.6 ms, 44.1 -> 49.1
    publishes/s."""
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, proxy_headers=False,
                timeout_graceful_shutdown=10, timeout_keep_alive=SERVER_KEEP_ALIVE_SECONDS, loop="uvloop")
