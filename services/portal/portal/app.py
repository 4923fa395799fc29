"""The portal's application: kit defaults (logging, correlation ids, request metrics, /healthz, /readyz,
/metrics) without the event-service parts (no store, no Kafka), and the pages."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from servicekit.auth import TokenVerifier
from servicekit.metrics import kit_metrics, render_latest
from servicekit.middleware import CorrelationIdMiddleware, MetricsMiddleware

from portal import pages
from portal.apis import Apis
from portal.oidc import Oidc
from portal.sessions import SessionCodec
from portal.settings import PortalSettings

STATIC_DIR = Path(__file__).parent / "static"


def _session_key(settings: PortalSettings) -> bytes:
    if settings.session_key is not None:
        return settings.session_key.get_secret_value().encode()
    if settings.environment == "prod":
        raise RuntimeError("PORTAL_SESSION_KEY is not set: the portal refuses to start in prod without it")
    # dev/test without a key: derived from the JWT secret when there is one, so restarts keep sessions.
    seed = settings.jwt_secret.get_secret_value() if settings.jwt_secret else "ipo-portal-dev (not for production)"
    return base64.urlsafe_b64encode(hashlib.sha256(b"portal-session:" + seed.encode()).digest())


def create_app(settings: PortalSettings | None = None, apis: Apis | None = None) -> FastAPI:
    settings = settings or PortalSettings()
    verifier = TokenVerifier(settings)
    used_apis = apis or Apis({"trading": settings.trading_url, "registry": settings.registry_url,
                              "training": settings.training_url, "publicity": settings.publicity_url},
                             settings.api_timeout_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await used_apis.close()

    app = FastAPI(title="IPO portal", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.token_verifier = verifier
    app.state.apis = used_apis
    app.state.sessions = SessionCodec(_session_key(settings), settings.session_max_age_seconds)
    app.state.oidc = Oidc(settings, verifier)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        # Ready when the built assets are there; the APIs' own readiness is theirs to report (a page
        # whose API is down says so).
        ok = (STATIC_DIR / "vendor" / "htmx.min.js").exists()
        checks: dict[str, Any] = {"assets": "ok" if ok else "missing: run `make install`"}
        return JSONResponse({"status": "ok" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(render_latest(), media_type="text/plain; version=0.0.4; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    app.include_router(pages.router)
    pages.install_error_pages(app)
    app.add_middleware(MetricsMiddleware, metrics=kit_metrics("portal"))
    app.add_middleware(CorrelationIdMiddleware)
    return app
