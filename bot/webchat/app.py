"""The web chat's routes: /chat (the survey page: GET shows where the person is, POST takes one
press), /j/<code> (a team's link or a personal one: joins the team, then /chat) and /chat.css.

The browser keeps one random id in an HttpOnly, SameSite=Strict cookie, signed with the server
secret; the survey is the engine's, under the pseudonym of that id, and ends like every other.
Every form carries a token bound to that id (CSRF) and a nonce, so a double tap or a reload
applies a press once. Answers go post-redirect-get; what must be seen once (the result, where
to get help) is the answer to the POST itself. Every response is `no-store` under a strict
Content-Security-Policy: the back button and a shared PC show no earlier answers or result."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from classifier import Lang
from flows import events as ev
from flows import messages as msg
from flows.limits import Limiter, Rate

from ..platform import MALFORMED, webhook
from . import page
from .texts import web_texts

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger("ruhepuls.web")

COOKIE = "rp_web"
SCRIPT = (resources.files(__package__ or "bot.webchat") / "chat.js").read_text("utf-8")
"""Answers in place when the browser runs scripts (the forms work without)."""
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _mac(secret: bytes, what: str, value: str) -> str:
    return hmac.new(secret, f"web\x1f{what}\x1f{value}".encode(), hashlib.sha256).hexdigest()[:24]


LANG_COOKIE = "rp_lang"
"""The language the person chose (the engine's Language button), so the page knows it without
asking Redis; otherwise the browser's own."""


def _lang(request: Request) -> Lang:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in ("de", "en"):
        return "en" if chosen == "en" else "de"
    return "en" if request.headers.get("accept-language", "").lower().startswith("en") else "de"


PER_ADDRESS = Rate(5.0, burst=30)
"""Presses from one address: a person answers a question every few seconds; a break room's
shared Wi-Fi may be many people behind one address, hence the burst."""
PER_LINK = Rate(2.0, burst=60)
"""Joins through one link: a whole shift scanning the poster at once passes, a script does not."""


def router(rt: Runtime) -> APIRouter:
    secret, cfg = rt.secret, rt.conversations.config
    ttl = rt.settings.session_ttl_seconds
    limiter = Limiter(rt.sessions, rt.secret)

    async def too_fast(kind: str, who: str, rate: Rate, lang: Lang) -> Response | None:
        """Through the shared limiter: a 429 page when `who` (an address, a link; kept only as a
        keyed hash) asks faster than `rate`, else None."""
        wait = await limiter.reserve(limiter.bucket("web", kind, "req", who), rate, only_if_free=True)
        if wait <= 0:
            return None
        response = reply(page.notice(web_texts()("slow_down", lang), lang, ("/chat", "Ruhepuls")), 429)
        response.headers["Retry-After"] = str(max(1, round(wait)))
        return response

    def browser(request: Request) -> str | None:
        """The browser's id, if its cookie was made here."""
        raw = request.cookies.get(COOKIE, "")
        ident, _, mac = raw.partition(".")
        if len(ident) == 24 and hmac.compare_digest(mac, _mac(secret, "id", ident)):
            return ident
        return None

    def remember(response: Response, ident: str) -> None:
        """The browser's id, signed, in a cookie no script can read and no other site can send."""
        response.set_cookie(
            COOKIE,
            f"{ident}.{_mac(secret, 'id', ident)}",
            max_age=ttl,
            httponly=True,
            samesite="strict",
            secure=rt.settings.public,
            path="/",
        )

    def reply(body: str, status: int = 200, ident: str | None = None, clear: bool = False) -> Response:
        response = HTMLResponse(body, status_code=status, headers=HEADERS)
        if ident is not None:
            remember(response, ident)
        if clear:
            for name in (COOKIE, LANG_COOKIE):
                response.delete_cookie(name, path="/", httponly=True, samesite="strict")
        return response

    def screen(messages: tuple[msg.Message, ...], ident: str, lang: Lang) -> str:
        token = f"{_mac(secret, 'csrf', ident)}.{secrets.token_urlsafe(9)}"
        return page.render(messages, token, lang, cfg.texts.support(lang))

    routes = APIRouter()

    @routes.get("/chat.css")
    async def style() -> Response:
        return Response(page.STYLE, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    @routes.get("/chat.js")
    async def script() -> Response:
        return Response(SCRIPT, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"})

    @routes.get("/chat")
    async def show(request: Request) -> Response:
        ident = browser(request)
        fresh = ident is None
        ident = ident or secrets.token_urlsafe(18)
        person, lang = rt.person("web", ident), _lang(request)
        handled = await rt.handle("web", person, ev.Resume(), lang=lang)
        return reply(screen(handled.messages, ident, lang), ident=ident if fresh else None)

    @routes.get("/j/{code}")
    async def join(code: str, request: Request) -> Response:
        ident = browser(request) or secrets.token_urlsafe(18)
        lang = _lang(request)
        if (slow := await too_fast("link", code[:64], PER_LINK, lang)) is not None:
            return slow
        # nobody is invited on the web: the browser's id is not kept, only where its survey counts
        team = await rt.teams.members.join(code[:64], None, rt.person("web", ident), ttl)
        if team is None:
            return reply(
                page.notice(web_texts()("link_gone", lang), lang, ("/chat", web_texts()("solo_link", lang))),
                410,
            )
        response = RedirectResponse("/chat", status_code=303, headers=HEADERS)
        remember(response, ident)
        return response

    async def press(request: Request, body: bytes) -> Response:
        lang = _lang(request)
        address = request.client.host if request.client else "-"
        if (slow := await too_fast("address", address, PER_ADDRESS, lang)) is not None:
            return slow
        ident = browser(request)
        try:
            form = parse_qs(body.decode("utf-8"), max_num_fields=8)
            action, token = form.get("a", [""])[0], form.get("csrf", [""])[0]
        except MALFORMED:
            return reply(page.notice(web_texts()("refused", lang), lang, ("/chat", "Ruhepuls")), 400)
        mac, _, nonce = token.partition(".")
        if ident is None or not hmac.compare_digest(mac, _mac(secret, "csrf", ident)) or not nonce:
            return reply(page.notice(web_texts()("refused", lang), lang, ("/chat", "Ruhepuls")), 403)
        person = rt.person("web", ident)
        event = ev.decode(action)
        if isinstance(event, ev.Dismiss):  # the result's own "remove": off this screen, cookie gone
            return reply(
                page.notice(web_texts()("cleared", lang), lang, ("/chat", web_texts()("again", lang))),
                clear=True,
            )
        if event is None:
            return RedirectResponse("/chat", status_code=303, headers=HEADERS)
        if isinstance(event, ev.Language):
            lang = event.lang
        handled = await rt.handle("web", person, event, event_id=f"w{nonce[:16]}", lang=lang)
        in_place = request.headers.get("x-ruhepuls-in-place") == "1"  # chat.js: no second request
        if not in_place and (handled.duplicate or all(isinstance(m, msg.Question) for m in handled.messages)):
            response: Response = RedirectResponse(
                "/chat", status_code=303, headers=HEADERS
            )  # post-redirect-get
        elif handled.duplicate:
            response = reply(
                screen((await rt.handle("web", person, ev.Resume(), lang=lang)).messages, ident, lang)
            )
        else:
            response = reply(screen(handled.messages, ident, lang))
        if isinstance(event, ev.Language):
            response.set_cookie(
                LANG_COOKIE,
                lang,
                max_age=ttl,
                httponly=True,
                samesite="strict",
                secure=rt.settings.public,
                path="/",
            )
        return response

    routes.include_router(webhook("/chat", press))
    return routes
