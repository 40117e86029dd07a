"""The web app: one FastAPI app under uvicorn for every platform.

POST /slack/events        Slack events, interactivity and slash commands (bolt)
POST /telegram/webhook    Telegram updates (python-telegram-bot), secret-token header checked
GET  /healthz             liveness and Redis reachability
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from .logs import clamp
from .runtime import Runtime, runtime
from .settings import Settings

log = logging.getLogger("ruhepuls.web")


def create_app(settings: Settings) -> FastAPI:
    clamp(settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        async with runtime(settings) as rt, contextlib.AsyncExitStack() as stack:
            api.state.rt = rt
            api.state.slack = None
            api.state.telegram = None
            if settings.slack_enabled:
                await _start_slack(api, rt, stack)
            if settings.telegram_enabled:
                await _start_telegram(api, rt, stack)
            yield

    api = FastAPI(title="Ruhepuls", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @api.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        rt: Runtime = request.app.state.rt
        try:
            await rt.redis.ping()
        except Exception:
            return JSONResponse({"status": "degraded", "redis": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @api.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        bolt = request.app.state.slack
        if bolt is None:
            return JSONResponse({"error": "slack is not configured"}, status_code=404)
        body = await _read_capped(request)
        if body is None:
            return JSONResponse({"error": "body too large"}, status_code=413)
        if not _slack_signed(request, body):  # over the raw bytes: nothing is decoded before
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response

        try:
            response = to_starlette_response(await bolt.async_dispatch(to_async_bolt_request(request, body)))
        except MALFORMED:
            log.info("slack request not understood")
            return JSONResponse({"error": "malformed request"}, status_code=400)
        if request.headers.get("x-slack-retry-num"):
            # Processing a retry is safe (the store drops an event id it has seen); tell Slack
            # to stop retrying either way.
            response.headers["x-slack-no-retry"] = "1"
        return response

    @api.post("/telegram/webhook")
    async def telegram_webhook(request: Request) -> Response:
        tg = request.app.state.telegram
        if tg is None:
            return JSONResponse({"error": "telegram is not configured"}, status_code=404)
        expected = settings.telegram_webhook_secret
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if expected is None or not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
            return JSONResponse({"error": "wrong secret token"}, status_code=403)
        from telegram import Update

        body = await _read_capped(request)
        if body is None:
            return JSONResponse({"error": "body too large"}, status_code=413)
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(data, tg.bot)
        except MALFORMED:
            log.info("telegram update not understood")
            return JSONResponse({"error": "malformed update"}, status_code=400)
        await tg.process_update(update)  # handler errors go to its error handler
        return JSONResponse({})

    return api


async def _start_telegram(api: FastAPI, rt: Runtime, stack: contextlib.AsyncExitStack) -> None:
    from .telegram import build_telegram_app

    if rt.settings.telegram_webhook_secret is None:  # no webhook without its secret: poll instead
        from .telegram.run import polling

        await stack.enter_async_context(polling(rt))
        return
    app = build_telegram_app(rt)
    await app.initialize()  # getMe
    stack.push_async_callback(app.shutdown)
    api.state.telegram = app


MAX_BODY = 1 << 20
"""Largest request body read (Slack and Telegram send a few kilobytes)."""
MALFORMED = (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError, UnicodeDecodeError)
"""What parsing a body that passed its check may raise: answered 400, never 500."""


async def _read_capped(request: Request) -> bytes | None:
    """The body, or None when it is (or announces to be) larger than MAX_BODY: nothing beyond
    the cap is read."""
    length = request.headers.get("content-length", "")
    if length and (not length.isdigit() or int(length) > MAX_BODY):
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _slack_signed(request: Request, body: bytes) -> bool:
    """Slack's HMAC-SHA256 signature over the raw bytes `v0:{timestamp}:{body}`, at most 5
    minutes old, compared in constant time. Nothing is decoded before it holds."""
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    signature = request.headers.get("x-slack-signature", "")
    if not timestamp.isdigit() or len(timestamp) > 12 or not signature.isascii():
        return False
    if abs(time.time() - int(timestamp)) > 300:
        return False
    secret: bytes = request.app.state.slack_secret
    mac = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return hmac.compare_digest(f"v0={mac.hexdigest()}".encode(), signature.encode())


async def _start_slack(api: FastAPI, rt: Runtime, stack: contextlib.AsyncExitStack) -> None:
    import aiohttp

    from .slack import build_slack_app
    from .slack.app import signing_secret

    session = aiohttp.ClientSession()  # one connection pool to the Web API for the app's life
    stack.push_async_callback(session.close)
    from flows.limits import Limiter

    from .slack.delivery import Delivery

    delivery = Delivery(Limiter(rt.redis, rt.secret), session)
    stack.push_async_callback(delivery.drain)  # queued cards go out before the session closes
    app = build_slack_app(rt, session, delivery)
    api.state.slack = app
    api.state.slack_secret = signing_secret(rt).encode()
    if rt.settings.slack_app_token:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        socket = AsyncSocketModeHandler(app, rt.settings.slack_app_token.get_secret_value())
        await socket.connect_async()  # type: ignore[no-untyped-call]
        stack.push_async_callback(socket.close_async)
        log.info("slack socket mode connected")


def serve(settings: Settings) -> None:
    config: dict[str, Any] = {"host": settings.host, "port": settings.port, "log_config": None}
    log.info("serving on http://%s:%s", settings.host, settings.port)
    uvicorn.run(create_app(settings), access_log=False, **config)  # our logging setup (bot.logs)
