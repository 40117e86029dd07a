"""Local stand-ins for the platforms' web APIs: small HTTP servers on their own thread that
answer like the real API and record every call. Only what the internet would be is faked."""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    result: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)
    """When it arrived (monotonic seconds)."""
    token: str | None = None
    """The bearer token it came with (Slack)."""


@dataclass
class FakeSlack:
    """Plays the Slack Web API (`/api/<method>`). `fail[method] = error` makes a method answer
    `{"ok": false, "error": ...}` once; `rate_limit[method] = n` answers 429 n times first."""

    bot_user: str = "UBOT"
    socket_url: str = ""
    channel_members: dict[str, list[str]] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds each chat.postMessage takes (to kill a worker half-way through)."""
    respond_delay: float = 0.0
    """Seconds each use of a response URL takes (applied at the end, as a slow Slack would)."""
    base_url: str = ""
    uploads: dict[str, int] = field(default_factory=dict)
    """File id -> bytes received by the upload URL."""
    """What `apps.connections.open` answers: the Socket Mode WebSocket URL."""
    calls: list[Call] = field(default_factory=list)
    fail: dict[str, str] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    """Channel -> error: every chat.postMessage there fails with it (a member who can't be reached)."""
    rate_limit: dict[str, int] = field(default_factory=dict)
    retry_after: int = 0
    """The Retry-After (seconds) of the 429s `rate_limit` asks for."""
    scopes: str = "chat:write,im:history,im:write,commands,users:read,channels:read,groups:read,files:write"
    """What auth.test says the token may do (its X-OAuth-Scopes header)."""
    enforce_limits: bool = False
    """Answer 429 with Retry-After as Slack does when a method's published limit is exceeded:
    Tier 3 (50 per minute, bursts of 10) for chat.update and chat.delete, Tier 4 for
    conversations.open, one chat.postMessage per second per channel."""
    response_urls: dict[str, int] = field(default_factory=dict)
    last_post: dict[str, str] = field(default_factory=dict)
    """Channel -> ts of the last message posted there."""
    """How often each response URL was used (Slack allows five within 30 minutes)."""
    in_flight: int = 0
    most_in_flight: int = 0
    """The most chat.postMessage calls the bot had under way at one moment."""
    workspaces: dict[str, str] = field(default_factory=dict)
    """Bot token -> the workspace (team id) it belongs to; a token not listed is T1's. With
    entries, a token that is not listed is refused (invalid_auth)."""
    codes: dict[str, str] = field(default_factory=dict)
    """OAuth: an authorisation code -> the workspace it installs the app in (oauth.v2.access
    answers with a new bot token for it, listed in `workspaces`); an id starting with `E` is an
    Enterprise Grid organisation, installed org-wide (no workspace in the answer)."""
    workspace_posts: tuple[float, int] | None = None
    """With `enforce_limits`: Slack's workspace-wide budget for chat.postMessage, all channels
    together, as (per second, burst); None: not enforced (Slack gives no exact figure)."""
    _buckets: dict[str, float] = field(default_factory=dict)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(
        self, method: str, params: dict[str, Any], token: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        if self.delay and method == "chat.postMessage":
            with self._lock:
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
            threading.Event().wait(self.delay)  # the way there; delivered once recorded below
            with self._lock:
                self.in_flight -= 1
        if self.respond_delay and method == "respond":
            threading.Event().wait(self.respond_delay)
        if method == "chat.postMessage" and str(params.get("channel", ""))[:1] in ("U", "W", "M"):
            params = {**params, "channel": f"D{params['channel']}"}  # a user id: Slack posts to the DM
        with self._lock:
            call = Call(method, params, token=token)
            self.calls.append(call)
            if (
                self.workspaces
                and token not in self.workspaces
                and method not in ("respond", "upload", "oauth.v2.access")
            ):
                call.result = {"ok": False, "error": "invalid_auth"}
                return 200, call.result
            status, call.result = self._answer(method, params)
            if method == "auth.test" and call.result.get("ok") and token in self.workspaces:
                call.result["team_id"] = self.workspaces[token]
        return status, call.result

    LIMITS = {
        "chat.update": (50 / 60, 10),
        "chat.delete": (50 / 60, 10),
        "conversations.open": (100 / 60, 20),
        "chat.postMessage": (1.0, 3),
    }

    def _limited(self, method: str, params: dict[str, Any]) -> float:
        """Seconds to wait when this call exceeds its limit (0: within it); GCRA per bucket."""
        if not self.enforce_limits or method not in self.LIMITS:
            return 0.0
        limits = [
            (
                method + (f":{params.get('channel')}" if method == "chat.postMessage" else ""),
                self.LIMITS[method],
            )
        ]
        if method == "chat.postMessage" and self.workspace_posts:
            limits.append((method, self.workspace_posts))
        now, waits, taken = time.monotonic(), [0.0], []
        for key, (rate, burst) in limits:
            interval = 1 / rate
            tat = max(self._buckets.get(key, now), now)
            if tat - now > interval * (burst - 1) + 1e-6:
                waits.append(tat - interval * (burst - 1) - now)
            taken.append((key, tat + interval))
        if max(waits) > 0:
            return max(waits)  # refused: no bucket is charged
        self._buckets.update(taken)
        return 0.0

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.rate_limit.get(method, 0) > 0:
            self.rate_limit[method] -= 1
            return 429, {"ok": False, "error": "ratelimited", "retry_after": self.retry_after}
        wait = self._limited(method, params)
        if wait > 0:
            return 429, {"ok": False, "error": "ratelimited", "retry_after": max(1, math.ceil(wait))}
        if method == "respond":
            if self.fail.pop("respond", None):
                return 404, {"ok": False, "error": "expired_url"}
            url = f"{params['channel']}/{params['ts']}/{params['url']}"
            self.response_urls[url] = self.response_urls.get(url, 0) + 1
            if self.response_urls[url] > 5:
                return 404, {"ok": False, "error": "expired_url"}
            return 200, {"ok": True}
        if method in self.fail:
            return 200, {"ok": False, "error": self.fail.pop(method)}
        if method == "chat.postMessage" and params.get("channel") in self.broken:
            return 200, {"ok": False, "error": self.broken[str(params["channel"])]}
        if method == "auth.test":
            return 200, {
                "ok": True,
                "user_id": self.bot_user,
                "bot_id": "BBOT",
                "team_id": "T1",
                "team": "Test",
                "user": "ruhepuls",
                "url": "https://test.slack.com/",
            }
        if method == "oauth.v2.access":
            workspace = self.codes.pop(str(params.get("code")), None)
            if workspace is None:
                return 200, {"ok": False, "error": "invalid_code"}
            token = f"xoxb-{workspace}-{next(self._ts)}"
            self.workspaces[token] = workspace
            org = workspace.startswith("E")
            return 200, {
                "ok": True,
                "app_id": "A1",
                "access_token": token,
                "token_type": "bot",
                "scope": self.scopes,
                "bot_user_id": self.bot_user,
                "team": None if org else {"id": workspace, "name": f"Workspace {workspace}"},
                "enterprise": {"id": workspace, "name": f"Organisation {workspace}"} if org else None,
                "is_enterprise_install": org,
                "authed_user": {"id": "UINSTALLER"},
            }
        if method == "files.getUploadURLExternal":
            fid = f"F{next(self._ts)}"
            return 200, {"ok": True, "upload_url": f"{self.base_url}/upload/{fid}", "file_id": fid}
        if method == "upload":
            self.uploads[params["file_id"]] = params["size"]
            return 200, {"ok": True}
        if method == "files.completeUploadExternal":
            return 200, {"ok": True, "files": [{"id": f["id"]} for f in _json(params.get("files")) or []]}
        if method == "conversations.history":
            channel = params.get("channel")
            posted = [
                c
                for c in self.calls
                if c.method == "chat.postMessage"
                and c.params.get("channel") == channel
                and c.result.get("ok")
            ]
            messages = [
                {
                    "type": "message",
                    "bot_id": "BBOT",
                    "ts": c.result.get("ts"),
                    "text": c.params.get("text"),
                    "metadata": _json(c.params.get("metadata")),
                }
                for c in reversed(posted)
            ]
            return 200, {
                "ok": True,
                "messages": messages[: int(params.get("limit") or 100)],
                "has_more": False,
            }
        if method == "conversations.members":
            everyone = self.channel_members.get(str(params.get("channel")), [])
            start, limit = int(params.get("cursor") or 0), int(params.get("limit") or 100)
            nxt = str(start + limit) if start + limit < len(everyone) else ""
            return 200, {
                "ok": True,
                "members": everyone[start : start + limit],
                "response_metadata": {"next_cursor": nxt},
            }
        if method == "apps.connections.open":
            return 200, {"ok": True, "url": self.socket_url}
        if method == "conversations.open":
            return 200, {"ok": True, "channel": {"id": f"D{params.get('users', 'X')}"}}
        if method == "chat.postMessage":
            ts = f"1700000000.{next(self._ts):06d}"
            self.last_post[str(params.get("channel"))] = ts
            return 200, {
                "ok": True,
                "channel": params.get("channel"),
                "ts": ts,
                "message": {"ts": ts, "text": params.get("text")},
            }
        if method in ("chat.update", "chat.delete"):
            return 200, {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        return 200, {"ok": True}

    def methods(self) -> list[str]:
        return [c.method for c in self.calls if c.method != "auth.test"]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.fail.clear()
            self.rate_limit.clear()


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _params(handler: BaseHTTPRequestHandler, body: bytes) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(urlparse(handler.path).query))
    ctype = handler.headers.get("Content-Type", "")
    if body and "multipart" in ctype:  # Telegram uploads: keep the plain fields, note the size
        params["size"] = len(body)
        for name, value in re.findall(
            rb'name="([^"]+)"\r\n(?:Content-Type: text/plain[^\r]*\r\n)?\r\n([^\r]{0,4096})\r\n', body
        ):
            params[name.decode()] = value.decode(errors="replace")
    elif body and "json" in ctype:
        params.update(json.loads(body))
    elif body:
        params.update(dict(parse_qsl(body.decode())))
    for key in ("blocks", "attachments", "reply_markup"):
        if isinstance(params.get(key), str):
            try:
                params[key] = json.loads(params[key])
            except ValueError:
                pass
    return params


class Threaded:
    """An HTTP server on a free port of 127.0.0.1, served from a thread of its own (so a fake
    the code under test reaches with blocking calls can't deadlock its event loop)."""

    httpd: ThreadingHTTPServer

    def serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeServer(Threaded):
    """Runs a fake on a free port of 127.0.0.1 in a thread."""

    def __init__(self, fake: Any, prefix: str) -> None:
        self.fake = fake
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = urlparse(self.path).path
                if path == "/_calls":  # for a test that runs this fake in a process of its own
                    data = json.dumps(
                        [[c.method, c.params, c.result] for c in list(outer.fake.calls)]
                    ).encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if path.startswith("/upload/"):
                    method, params = "upload", {"file_id": path.rsplit("/", 1)[-1], "size": len(body)}
                elif path.startswith("/respond/"):  # an interaction's response_url
                    _, _, channel, ts, nonce = path.split("/", 4)
                    method, params = (
                        "respond",
                        {"channel": channel, "ts": ts, "url": nonce, **json.loads(body or b"{}")},
                    )
                else:
                    method = path.removeprefix(prefix).rstrip("/").rsplit("/", 1)[-1]
                    params = _params(self, body)
                bearer = (self.headers.get("Authorization") or "").removeprefix("Bearer ") or None
                kw = {"token": bearer} if isinstance(outer.fake, FakeSlack) else {}
                status, payload = outer.fake.answer(method, params, **kw)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if status == 429:
                    self.send_header("Retry-After", str(payload.pop("retry_after", 0)))
                    data = json.dumps(payload).encode()
                if method == "auth.test" and getattr(outer.fake, "scopes", None):
                    self.send_header("X-OAuth-Scopes", outer.fake.scopes)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self.serve(Handler)

    def __enter__(self) -> FakeServer:
        if hasattr(self.fake, "base_url"):
            self.fake.base_url = self.url
        self.thread.start()
        return self


@dataclass
class FakeTelegram:
    """Plays the Telegram Bot API (`/bot<token>/<method>`). `fail[method] = (code, retry_after)`
    makes a method fail once with that error code; `updates` feeds getUpdates (polling)."""

    bot_id: int = 999
    calls: list[Call] = field(default_factory=list)
    fail: dict[str, tuple[int, int]] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    webhook: dict[str, Any] = field(
        default_factory=lambda: {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
    )
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(100))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def me(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Ruhepuls", "username": "ruhepuls_bot"}

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getUpdates":
            with self._lock:
                pending, self.updates = self.updates, []
            if not pending:
                threading.Event().wait(0.1)
            offset = int(params.get("offset") or 0)
            return 200, {"ok": True, "result": [u for u in pending if u["update_id"] >= offset]}
        with self._lock:
            call = Call(method, params)
            self.calls.append(call)
            status, call.result = self._answer(method, params)
            return status, call.result

    def photos(self) -> list[Call]:
        return [c for c in self.calls if c.method == "sendPhoto"]

    def _message(self, params: dict[str, Any], message_id: int) -> dict[str, Any]:
        chat_id = int(params.get("chat_id", 0))
        out = {
            "message_id": message_id,
            "date": 1_700_000_000,
            "from": self.me,
            "chat": {"id": chat_id, "type": "private"},
            "text": params.get("text", ""),
        }
        if params.get("reply_markup"):
            out["reply_markup"] = params["reply_markup"]
        return out

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method in self.fail:
            code, retry_after = self.fail.pop(method)
            body: dict[str, Any] = {
                "ok": False,
                "error_code": code,
                "description": "Forbidden: bot was blocked by the user"
                if code == 403
                else "Too Many Requests",
            }
            if retry_after:
                body["parameters"] = {"retry_after": retry_after}
            return code, body
        if method == "getMe":
            return 200, {"ok": True, "result": self.me}
        if method == "sendMessage":
            return 200, {"ok": True, "result": self._message(params, next(self._ids))}
        if method == "sendPhoto":
            msg = self._message(params, next(self._ids))
            msg["photo"] = [{"file_id": "p1", "file_unique_id": "u1", "width": 700, "height": 320}]
            return 200, {"ok": True, "result": msg}
        if method == "editMessageText":
            return 200, {"ok": True, "result": self._message(params, int(params["message_id"]))}
        if method == "setWebhook":
            self.webhook = {**self.webhook, "url": params.get("url", "")}
        if method == "getWebhookInfo":
            return 200, {"ok": True, "result": self.webhook}
        return 200, {"ok": True, "result": True}

    def methods(self) -> list[str]:
        return [c.method for c in self.calls if c.method != "getMe"]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.fail.clear()


if __name__ == "__main__":  # python tests/fakes.py PORT: a limit-enforcing fake Slack of its own
    import sys

    fake_slack = FakeSlack(enforce_limits=True)
    server = FakeServer(fake_slack, "/api")
    server.httpd.server_close()
    server.httpd = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), server.httpd.RequestHandlerClass)
    fake_slack.base_url = server.url
    server.httpd.serve_forever()
