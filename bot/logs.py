"""One logging setup for every command: our own loggers at RUHEPULS_LOG_LEVEL, every third-party
logger clamped to WARNING (their INFO and DEBUG lines carry bot tokens in URLs, message bodies,
user ids and member lists), and a filter on the handler that masks tokens and secrets in
whatever still reaches it, tracebacks included, at any level."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime

THIRD_PARTY = [
    "httpx",
    "httpcore",
    "aiohttp",
    "saq",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "asyncio",
    "redis",
    "websockets",
    "matplotlib",
    "PIL",
    "hpack",
    "urllib3",
    "msal",
    "jwt",
]
"""Libraries held at WARNING (each platform adds its SDK's loggers through `learn`)."""
TOKEN_SHAPES = [
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # a JWT
    re.compile(r"(?i)\b(bearer)(\s+)[^'\",\s]+"),
    re.compile(r"(?i)\b(authorization)(['\":= ]+)[^'\",\s]+"),
]
"""Shapes masked wherever they appear (each platform adds its tokens' through `learn`)."""
TERSE: list[str] = []


def learn(shapes: Iterable[re.Pattern[str]], loggers: Iterable[str], terse: Iterable[str]) -> None:
    """A platform's token shapes and SDK loggers (called by the platform registry)."""
    TOKEN_SHAPES.extend(s for s in shapes if s not in TOKEN_SHAPES)
    THIRD_PARTY.extend(n for n in loggers if n not in THIRD_PARTY)
    TERSE.extend(n for n in terse if n not in TERSE)


MASK = "***"


class Redact(logging.Filter):
    """Masks known secrets and anything shaped like a token, in the message and the traceback."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def clean(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, MASK)
        for shape in TOKEN_SHAPES:
            text = shape.sub(lambda m: m.group(1) + m.group(2) + MASK if m.re.groups == 2 else MASK, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.clean(record.getMessage()), ()
        if record.exc_info:
            record.exc_text = self.clean(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return True


class Terse(logging.Filter):
    """For an SDK that logs `str(exception)` (which can quote a request body): a line with an
    exception keeps only the exception's type."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg, record.args = f"{type(record.exc_info[1]).__name__} in {record.name}", ()
            record.exc_info, record.exc_text = None, None
        return True


REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The id of the HTTP request being handled (set by bot.web), for every line logged meanwhile."""


class WithRequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message and, inside a request, its id.
    The message has passed the redaction filter like every text line."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            out["request_id"] = request_id
        if record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, ensure_ascii=False)


def setup(level: str, secrets: Iterable[str] = (), fmt: str = "text") -> None:
    """Configure the root logger once for this process (replacing any earlier handlers): text
    lines, or one JSON object per line (`fmt="json"`, RUHEPULS_LOG_FORMAT), for web and worker."""
    numeric = logging.getLevelName(level.upper())
    numeric = numeric if isinstance(numeric, int) else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Redact(secrets))
    handler.addFilter(WithRequestId())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    clamp(numeric)


def clamp(level: int | str = logging.INFO) -> None:
    """Ours at the chosen level, everything else at WARNING or above (an allow-list: the root
    logger stays at WARNING, so a library nobody named, fontTools in `ruhepuls report` say, says
    nothing below it); also applied by the web app and the worker themselves, so that an
    embedding process gets it too. Libraries that set a level of their own are named in
    THIRD_PARTY and held at WARNING as well."""
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    numeric = numeric if isinstance(numeric, int) else logging.INFO
    logging.getLogger("ruhepuls").setLevel(numeric)
    root = logging.getLogger()
    root.setLevel(max(logging.WARNING, numeric))
    for name in THIRD_PARTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, numeric))
    for name in TERSE:
        logger = logging.getLogger(name)
        if not any(isinstance(f, Terse) for f in logger.filters):
            logger.addFilter(Terse())
