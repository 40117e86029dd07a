"""The web app: one FastAPI app under uvicorn for every platform.

POST /slack/events        Slack events, interactivity and slash commands (bolt)
POST /telegram/webhook    Telegram updates (python-telegram-bot), secret-token header checked
POST /api/messages        Microsoft Teams activities (microsoft-teams-apps), Bot Framework token checked
GET  /healthz             liveness and Redis reachability
GET  /privacy             the data sheet (what is stored, where, how long, who sees what)

Each route belongs to an enabled platform (bot.platform) and is added at start; every body is
read through one cap (`bot.platform.MAX_BODY`) before the platform's check sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import re
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logs import REQUEST_ID, clamp
from .platform import declared_keys, enabled, platforms, said_of
from .runtime import Runtime, runtime
from .settings import Settings

log = logging.getLogger("ruhepuls.web")


def create_app(settings: Settings) -> FastAPI:
    platforms()  # the registry teaches the logs each SDK's loggers before they are clamped
    clamp(settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        async with runtime(settings) as rt, contextlib.AsyncExitStack() as stack:
            api.state.rt = rt
            if settings.metrics_port:
                from .metrics import serve

                stop = serve(settings.metrics_port, settings.host)
                if stop is not None:
                    stack.callback(stop)
            for platform in enabled(settings):
                routes = await platform.receive(rt, stack)
                if routes is not None:  # the platform's own router: webhooks, pages, sockets
                    api.include_router(routes)
            # What start-up made (libraries, texts, the questionnaire) lives as long as the
            # process: out of the collector's sight, a full collection takes a few milliseconds
            # instead of tens, which every request waiting behind it would feel.
            gc.collect()
            gc.freeze()
            try:
                yield
            finally:
                gc.unfreeze()

    api = FastAPI(
        title="Ruhepuls",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # no OpenTelemetry here: FastAPI would otherwise look for its providers on every request
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )

    api.add_middleware(RequestIds)

    @api.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        rt: Runtime = request.app.state.rt
        try:  # within a second, whatever the socket timeouts and retries would take
            await asyncio.wait_for(rt.redis.ping(), timeout=1.0)
        except Exception:
            return JSONResponse({"status": "degraded", "redis": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @api.get("/metrics")
    async def metrics(request: Request) -> Response:
        """Prometheus metrics. With RUHEPULS_METRICS_TOKEN set only for `Authorization: Bearer
        <token>`; without one only on a loopback HOST. With RUHEPULS_METRICS_PORT set (and no
        token) they are served on that port only, not beside the platforms' routes."""
        from .metrics import CONTENT_TYPE, scrape

        token = settings.metrics_token
        if token is not None:
            given = request.headers.get("authorization", "").removeprefix("Bearer ")
            if not secrets.compare_digest(given.encode(), token.get_secret_value().encode()):
                return JSONResponse({"error": "unauthorized"}, status_code=401)
        elif settings.public or settings.metrics_port:
            return JSONResponse({"error": "not found"}, status_code=404)
        return Response(scrape(), media_type=CONTENT_TYPE)

    @api.get("/report/{token}")
    async def report_page(request: Request, token: str) -> Response:
        """A team report behind a signed link that expires (no accounts): read-only, rendered
        here, nothing on it that is not in the PDF."""
        from flows.store import REDIS_DOWN

        from .report import gather, page
        from .report_link import usable, verify
        from .texts import report_texts as texts

        rt: Runtime = request.app.state.rt
        headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}

        def notice(text: str, status: int, **extra: str) -> HTMLResponse:
            return HTMLResponse(
                f"<!doctype html><meta charset=utf-8><p>{text}</p>",
                status_code=status,
                headers=headers | extra,
            )

        grant = verify(rt.secret, token)
        if grant is None:
            return notice(texts()("refused", settings.language), 403)
        try:
            team = await rt.teams.team(grant.team)
            if not usable(grant, team.report_key if team else None, datetime.now(UTC)):
                return notice(texts()("refused", grant.lang), 410)
            r = await gather(rt, grant.team, grant.start, grant.end, grant.lang)
        except REDIS_DOWN:
            return notice("Ruhepuls: 503", 503, **{"Retry-After": "30"})
        if r is None:
            return notice(texts()("refused", grant.lang), 404)
        return HTMLResponse(page(rt.conversations.config.questionnaire, r, grant.expires), headers=headers)

    @api.get("/terms")
    async def terms() -> PlainTextResponse:
        """The terms of use (linked from the Teams app package), both languages."""
        from .texts import say

        return PlainTextResponse(f"{say('terms', 'de')}\n\n{say('terms', 'en')}")

    @api.get("/privacy")
    async def privacy() -> PlainTextResponse:
        """The data sheet of this deployment (linked from the Teams app package)."""
        from .privacy import data_sheet

        return PlainTextResponse(data_sheet(settings, None, said_of(settings), declared_keys()))

    return api


_PLAIN_ID = re.compile(rb"[A-Za-z0-9._-]{8,64}")
_ID_PREFIX = secrets.token_hex(4).encode()
"""Our own request ids: this process's random prefix and a counter (no system call per request)."""
_ID_COUNT = itertools.count(1)


class RequestIds:
    """Every HTTP request gets an id (a load balancer's `X-Request-Id` if it is a plain token),
    on each log line written while it is handled and on the response. Plain ASGI, so that
    request bodies still stream (the body cap reads them chunk by chunk)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        rid = given if _PLAIN_ID.fullmatch(given) else b"%s%08x" % (_ID_PREFIX, next(_ID_COUNT))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid)]
            await send(message)

        token = REQUEST_ID.set(rid.decode())
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


def serve(settings: Settings) -> None:
    config: dict[str, Any] = {"host": settings.host, "port": settings.port, "log_config": None}
    log.info("serving on http://%s:%s", settings.host, settings.port)
    uvicorn.run(create_app(settings), access_log=False, **config)  # our logging setup (bot.logs)
