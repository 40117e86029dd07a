"""A platform is its folder: the registry finds a package under bot/ that exposes PLATFORM,
and the web app serves whatever routes its router holds (a page as well as a webhook)."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from slackkit import running_app

import bot
from bot.platform import platforms
from bot.settings import Settings

ECHO = '''
"""A platform for the test only: a page and a webhook, found through its folder alone."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from ..platform import webhook


class Echo:
    name = "echo"

    def enabled(self, settings):
        return True

    async def receive(self, rt, stack):
        async def said(request: Request, body: bytes) -> Response:
            return PlainTextResponse(body.decode()[::-1])

        routes = webhook("/echo/hook", said)

        @routes.get("/echo/page")
        async def page() -> Response:
            return PlainTextResponse("a page of its own")

        return routes

    async def reach(self, rt, stack):
        raise NotImplementedError

    async def check(self, rt):
        return []


PLATFORM = Echo()
'''


@pytest.fixture
def echo_folder(tmp_path: Path) -> Iterator[None]:
    folder = tmp_path / "echo"
    folder.mkdir()
    (folder / "__init__.py").write_text(textwrap.dedent(ECHO))
    bot.__path__.append(str(tmp_path))
    platforms.cache_clear()
    try:
        yield
    finally:
        bot.__path__.remove(str(tmp_path))
        sys.modules.pop("bot.echo", None)
        platforms.cache_clear()


async def test_a_new_folder_is_a_platform_with_routes_of_any_method(
    echo_folder: None, redis_url: str
) -> None:
    assert "echo" in platforms()
    async with running_app(Settings(REDIS_URL=redis_url, RUHEPULS_SECRET="platform-test")) as base:
        async with httpx.AsyncClient(timeout=10) as http:
            page = await http.get(f"{base}/echo/page")
            assert page.status_code == 200 and page.text == "a page of its own"
            hook = await http.post(f"{base}/echo/hook", content=b"hallo")
            assert hook.status_code == 200 and hook.text == "ollah"
            big = await http.post(f"{base}/echo/hook", content=b"x" * (1 << 20 | 1))
            assert big.status_code == 413, "the webhook's body cap holds for a new platform too"
