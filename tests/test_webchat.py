"""The web chat (issue 26) over real HTTP: the survey by plain forms (no script), reached by a
team's link or alone, with the same engine, dedup and anonymity as every platform; every input
from the open internet answered without a 5xx."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from slackkit import running_app

from bot.runtime import Runtime, runtime
from bot.settings import Settings
from flows.teams import Team

DE = ["nie", "selten", "manchmal", "oft", "immer"]


@pytest.fixture
async def app(redis_url: str, redis: Any) -> AsyncIterator[tuple[str, Runtime]]:
    settings = Settings(REDIS_URL=redis_url, RUHEPULS_SECRET="web-secret", RUHEPULS_WEB_CHAT="1")
    async with runtime(settings) as rt, running_app(settings) as base:
        yield base, rt


class Browser:
    """A phone's browser without JavaScript: follows redirects, keeps cookies, presses buttons."""

    def __init__(self, http: httpx.AsyncClient, base: str) -> None:
        self.http, self.base, self.html, self.last = http, base, "", httpx.Response(200)

    async def open(self, path: str = "/chat") -> httpx.Response:
        self.last = await self.http.get(f"{self.base}{path}", follow_redirects=True)
        self.html = self.last.text
        return self.last

    def buttons(self) -> dict[str, tuple[str, str]]:
        """label -> (action, csrf of its form)."""
        out = {}
        for form in re.findall(r'<form method="post" action="/chat".*?</form>', self.html, re.S):
            csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
            for value, label in re.findall(
                r'<button type="submit" name="a" value="([^"]*)">([^<]*)</button>', form
            ):
                out[_unescape(label)] = (_unescape(value), csrf)
        return out

    async def press(self, label: str, *, csrf: str | None = None) -> httpx.Response:
        action, token = self.buttons()[label]
        self.last = await self.http.post(
            f"{self.base}/chat", data={"a": action, "csrf": csrf or token}, follow_redirects=True
        )
        self.html = self.last.text
        return self.last

    def text(self) -> str:
        return _unescape(re.sub(r"<[^>]+>", " ", self.html))


def _unescape(s: str) -> str:
    import html

    return html.unescape(s)


async def test_a_whole_survey_by_plain_forms_ends_in_words_and_leaves_nothing(
    app: tuple[str, Runtime],
) -> None:
    base, rt = app
    async with httpx.AsyncClient(timeout=10) as http:
        b = Browser(http, base)
        r = await b.open()
        assert r.status_code == 200 and "Starten" in b.buttons()
        assert r.headers["cache-control"] == "no-store"
        assert "default-src 'none'" in r.headers["content-security-policy"]
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        await b.press("Starten")
        assert "Frage 1 von 12" in b.text()
        for n, label in enumerate([DE[4], DE[0], DE[0], DE[0]] * 3, start=1):
            assert f"Frage {n} von 12" in b.text()
            await b.press(label)
        assert "Konflikt ohne Rückendeckung" in b.text(), "A stands out"
        assert b.last.headers["cache-control"] == "no-store"
        helps = next(label for label in b.buttons() if label.startswith("Was hilft"))
        await b.press(helps)
        assert "Was helfen kann" in b.text()
        await b.press("Aus dem Chat entfernen")
        assert "Gelöscht" in b.text() and "Konflikt" not in b.text()
        assert (
            "rp_web=" in b.last.headers["set-cookie"] and "max-age=0" in b.last.headers["set-cookie"].lower()
        )
        await b.open()
        assert "Konflikt" not in b.text() and "Starten" in b.buttons(), "nothing of it is left to show"


async def test_english_from_the_browser_pause_and_pick_up_on_the_same_device(
    app: tuple[str, Runtime],
) -> None:
    base, rt = app
    async with httpx.AsyncClient(timeout=10, headers={"Accept-Language": "en-GB,en;q=0.9"}) as http:
        b = Browser(http, base)
        await b.open()
        assert "Start" in b.buttons() and "Deutsch" in b.buttons(), (
            "English from the browser, German one tap away"
        )
        await b.press("Start")
        await b.press("often")
        assert "Question 2 of 12" in b.text()
        await b.press("Pause")
        assert "Paused" in b.text() or "pause" in b.text().lower()
        await b.open()  # the next break, the same phone
        assert "Question 2 of 12" in b.text(), "picked up where it was left"
        person = rt.person("web", _id(http))
        session = await rt.conversations.session_of(person)
        assert session is not None and session.answers.startswith("3")
        for _ in range(11):
            await b.press("sometimes")
        assert "Your result" in b.text()
        assert await rt.conversations.session_of(person) is None, "nothing of the survey is kept after it"


async def test_a_double_tap_or_a_resent_form_applies_once(app: tuple[str, Runtime]) -> None:
    base, _ = app
    async with httpx.AsyncClient(timeout=10) as http:
        b = Browser(http, base)
        await b.open()
        await b.press("Starten")
        action, token = b.buttons()["oft"]
        for _ in range(3):  # the same form sent three times (a double tap, a reload)
            r = await http.post(f"{base}/chat", data={"a": action, "csrf": token}, follow_redirects=True)
        assert "Frage 2 von 12" in r.text


async def test_forged_missing_and_garbage_input_gets_a_clear_answer_never_a_5xx(
    app: tuple[str, Runtime],
) -> None:
    base, _ = app
    async with httpx.AsyncClient(timeout=10) as http:
        b = Browser(http, base)
        await b.open()
        await b.press("Starten")
        action, _ = b.buttons()["oft"]
        forged = await http.post(f"{base}/chat", data={"a": action, "csrf": "0" * 24 + ".x"})
        assert forged.status_code == 403
        async with httpx.AsyncClient(timeout=10) as stranger:  # no cookie: a cross-site post
            r = await stranger.post(f"{base}/chat", data={"a": action, "csrf": b.buttons()["oft"][1]})
            assert r.status_code == 403
        for body in (b"\xff\xfe", b"a=%ZZ&&&==", b"a=" + b"x" * 5000, b""):
            r = await http.post(
                f"{base}/chat", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
            )
            assert r.status_code < 500, body
        big = await http.post(f"{base}/chat", content=b"a=" + b"x" * (1 << 20))
        assert big.status_code == 413
        await b.open()
        assert "Frage 1 von 12" in b.text(), "nothing already saved was lost"


async def test_a_team_link_counts_the_survey_in_its_team_and_a_used_up_link_says_so(
    app: tuple[str, Runtime],
) -> None:
    base, rt = app
    team = await rt.teams.save_team(Team(id="floor", name="Floor", platform="web"), join_link=True)
    now = datetime.now(UTC)
    rnd = await rt.teams.open_round("floor", now - timedelta(hours=1), now + timedelta(days=7))
    personal = await rt.teams.members.join_link("floor", uses=1)
    async with httpx.AsyncClient(timeout=10) as http:
        b = Browser(http, base)
        r = await b.open(f"/j/{personal}")
        assert r.status_code == 200 and "Starten" in b.buttons()
        await b.press("Starten")
        for _ in range(12):
            await b.press("manchmal")
        assert "Ihr Ergebnis" in b.text()
    assert await rt.teams.members.team_of(rt.person("web", _id(http))) == "floor"
    async with httpx.AsyncClient(timeout=10) as other:
        gone = await other.get(f"{base}/j/{personal}")
        assert gone.status_code == 410 and "gilt nicht" in gone.text, "a personal link is used once"
        assert (await other.get(f"{base}/j/{'x' * 500}")).status_code == 410
    assert team.join_code and rnd.is_open


def _id(http: httpx.AsyncClient) -> str:
    return str(http.cookies.get("rp_web", "")).partition(".")[0]


def test_the_poster_is_a_pdf_whose_qr_code_opens_a_working_link(redis_url: str, redis: Any, tmp_path) -> None:
    """`ruhepuls web poster` as an admin runs it; the QR code read back from the PDF's image."""
    import asyncio
    import io
    import subprocess
    import sys

    import zxingcpp
    from conftest import REPO, python_env
    from PIL import Image
    from pypdf import PdfReader

    async def scenario() -> None:
        settings = Settings(REDIS_URL=redis_url, RUHEPULS_SECRET="poster-secret", RUHEPULS_WEB_CHAT="1")
        async with runtime(settings) as rt, running_app(settings) as base:
            await rt.teams.save_team(Team(id="floor", name="Floor", platform="web"), join_link=True)
            env = python_env(
                REDIS_URL=redis_url,
                RUHEPULS_SECRET="poster-secret",
                RUHEPULS_WEB_CHAT="1",
                RUHEPULS_PUBLIC_URL=base,
            )
            out = tmp_path / "poster.pdf"
            made = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "bot", "web", "poster", "--team", "floor", "--out", str(out)],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert made.returncode == 0, made.stderr
            page = PdfReader(out).pages[0]
            text = page.extract_text()
            assert "freiwillig und anonym" in text.lower() and "voluntary and anonymous" in text.lower()
            (image,) = page.images
            (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)).convert("L"))
            assert code.text.startswith(f"{base}/j/") and code.text in made.stdout
            async with httpx.AsyncClient(timeout=10) as http:
                b = Browser(http, base)
                r = await b.open(code.text.removeprefix(base))
                assert r.status_code == 200 and "Starten" in b.buttons()
            person = rt.person("web", _id(http))
            assert await rt.teams.members.team_of(person) == "floor", "the poster's link joins its team"
            bad = subprocess.run(
                [sys.executable, "-m", "bot", "web", "poster", "--team", "nope"],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert bad.returncode != 0 and "no web chat team" in bad.stderr

    asyncio.run(scenario())


CHROMIUM = __import__("shutil").which("chromium") or __import__("shutil").which("chromium-browser")


async def _axe(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it stands."""
    from pathlib import Path

    import axe_playwright_python

    await page.add_script_tag(path=str(Path(axe_playwright_python.__file__).parent / "axe.min.js"))
    found = await page.evaluate("async () => (await axe.run(document)).violations")
    return [f"{v['id']}: {v['help']}" for v in found if v["impact"] in ("serious", "critical")]


async def _fits(page: Any) -> bool:
    return bool(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (Debian: apt install chromium)")
@pytest.mark.parametrize("how", ["touch", "keyboard", "no-javascript"])
async def test_the_whole_survey_in_headless_chromium_at_phone_width(
    app: tuple[str, Runtime], how: str
) -> None:
    """From a poster's link to the result and its two views at 390 px: by taps, by keyboard
    alone, and with JavaScript off; axe-core finds nothing serious on any screen, and nothing
    scrolls sideways, at 390 px or at 200 % zoom."""
    from playwright.async_api import async_playwright

    base, rt = app
    await rt.teams.save_team(Team(id="floor", name="Floor", platform="web"), join_link=True)
    code = await rt.teams.members.join_link("floor", uses=1)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = await browser.new_context(
            viewport={"width": 390, "height": 844},
            locale="de-DE",
            has_touch=True,
            java_script_enabled=how != "no-javascript",
            bypass_csp=True,
        )
        page = await context.new_page()
        problems: list[str] = []

        async def check(screen: str) -> None:
            if how != "no-javascript":
                problems.extend(f"{screen}: {v}" for v in await _axe(page))
                assert await _fits(page), f"{screen} scrolls sideways at 390 px"

        async def press(label: str) -> None:
            button = page.get_by_role("button", name=label, exact=True).first
            if how == "keyboard":
                for _ in range(40):  # Tab until the button has the focus, then Enter
                    await page.keyboard.press("Tab")
                    if await button.evaluate("b => b === document.activeElement"):
                        break
                else:
                    raise AssertionError(f"{label!r} cannot be reached by keyboard")
            old = await page.get_attribute("#screen", "data-screen")
            if how == "no-javascript":
                async with page.expect_navigation():
                    await button.click()
                return
            if how == "keyboard":
                await page.keyboard.press("Enter")
            else:
                await button.tap()
            await page.wait_for_function(
                "old => document.querySelector('#screen')?.dataset.screen !== old", arg=old
            )  # answered in place: the next screen replaced this one

        await page.goto(f"{base}/j/{code}")
        loads: list[str] = []
        page.on("load", lambda _: loads.append(page.url))
        await check("intro")
        await press("Starten")
        for n in range(12):
            assert f"Frage {n + 1} von 12" in await page.content()
            await check(f"question {n + 1}")
            await press(["immer", "nie", "nie", "nie"][n % 4])
        assert "Konflikt ohne Rückendeckung" in await page.content()
        await check("result")
        helps = await page.get_by_role("button", name=re.compile("^Was hilft")).first.inner_text()
        await press(helps)
        assert "Was helfen kann" in await page.content()
        await check("what helps")
        await press("Wo es Hilfe gibt")
        assert "0800 111 0 111" in await page.content()
        await check("where to get help")
        if how != "no-javascript":
            assert loads == [], (
                f"with JavaScript every press is answered in place, not by a page load: {loads}"
            )
            focused = await page.evaluate("document.activeElement?.tagName")
            assert focused == "H1", "the new screen's heading has the focus (a screen reader reads it next)"
        if how == "touch":  # 200 % zoom: the same page in half the width
            await page.set_viewport_size({"width": 195, "height": 422})
            assert await _fits(page), "200 % zoom scrolls sideways"
        await browser.close()
    assert problems == [], problems
    assert await rt.teams.members.team_of(rt.person("web", "x")) is None


async def test_one_address_or_one_link_asking_too_fast_is_slowed_through_the_shared_limiter(
    app: tuple[str, Runtime],
) -> None:
    from bot.webchat.app import PER_ADDRESS, PER_LINK

    base, rt = app
    async with httpx.AsyncClient(timeout=10) as http:
        b = Browser(http, base)
        await b.open()
        action, token = b.buttons()["Starten"]
        # at once, as a script would, and three bursts' worth: the refill during the requests
        # (they take a while on a loaded machine) cannot make up for that
        presses = [
            http.post(f"{base}/chat", data={"a": action, "csrf": token}) for _ in range(3 * PER_ADDRESS.burst)
        ]
        answered = await asyncio.gather(*presses)
        statuses = [r.status_code for r in answered]
        assert 429 in statuses and 500 not in statuses, statuses
        # a press the burst had slowed: one pressed after it may already find a token refilled
        # (5 a second) when the burst took a while on a loaded machine
        slowed = next(r for r in answered if r.status_code == 429)
        assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) >= 1
        assert "Moment" in slowed.text
    await rt.teams.save_team(Team(id="floor", name="Floor", platform="web"), join_link=True)
    code = await rt.teams.members.join_link("floor")
    async with httpx.AsyncClient(timeout=10) as http:
        first = (await http.get(f"{base}/j/{code}")).status_code
        joins = [
            r.status_code
            for r in await asyncio.gather(*(http.get(f"{base}/j/{code}") for _ in range(3 * PER_LINK.burst)))
        ]
    assert first == 303 and 429 in joins and 500 not in joins, (first, joins)


def test_the_data_sheet_says_what_a_link_can_promise_only_where_the_web_chat_is_on() -> None:
    from bot.platform import declared_keys, said_of
    from bot.privacy import data_sheet

    def sheet(settings: Settings, lang: str) -> str:
        return data_sheet(settings, lang, said_of(settings), declared_keys())

    on = sheet(Settings(RUHEPULS_WEB_CHAT="1", RUHEPULS_SECRET="x"), "de")
    assert "persönlichen Einmal-Link" in on and "zweiten Browser" in on
    assert "Web chat" in sheet(Settings(RUHEPULS_WEB_CHAT="1", RUHEPULS_SECRET="x"), "en")
    assert "Web-Chat" not in sheet(Settings(RUHEPULS_SECRET="x"), "de")


async def test_a_link_keeps_no_trace_of_the_browser_only_where_its_survey_counts(
    app: tuple[str, Runtime], redis: Any
) -> None:
    base, rt = app
    await rt.teams.save_team(Team(id="floor", name="Floor", platform="web"), join_link=True)
    code = await rt.teams.members.join_link("floor")
    async with httpx.AsyncClient(timeout=10) as http:
        await Browser(http, base).open(f"/j/{code}")
        ident = _id(http)
    everything = b"".join([k + (await redis.dump(k) or b"") for k in await redis.keys("*")])
    assert ident.encode() not in everything, "the browser's id is stored nowhere"
    assert await rt.teams.members.joined_count("floor") == 0
    who = await redis.ttl(f"rp:who:{rt.person('web', ident)}")
    assert 0 < who <= rt.settings.session_ttl_seconds, (
        "where its survey counts, for the survey's lifetime only"
    )


async def test_in_place_a_press_is_answered_in_one_request_and_the_chosen_language_sticks(
    app: tuple[str, Runtime],
) -> None:
    """chat.js asks for the next screen in the press's own response (no redirect, so no second
    request and no second step through Redis); a chosen language is kept by the browser."""
    base, _ = app
    async with httpx.AsyncClient(timeout=10) as http:
        b = Browser(http, base)
        await b.open()
        action, token = b.buttons()["English"]
        switched = await http.post(
            f"{base}/chat", data={"a": action, "csrf": token}, headers={"X-Ruhepuls-In-Place": "1"}
        )
        assert switched.status_code == 200 and "rp_lang=en" in switched.headers["set-cookie"]
        await b.open()
        assert "Start" in b.buttons(), "English without asking Redis which language was chosen"
        await b.press("Start")
        action, token = b.buttons()["often"]
        r = await http.post(
            f"{base}/chat", data={"a": action, "csrf": token}, headers={"X-Ruhepuls-In-Place": "1"}
        )
        assert r.status_code == 200 and "Question 2 of 12" in r.text
        again = await http.post(
            f"{base}/chat", data={"a": action, "csrf": token}, headers={"X-Ruhepuls-In-Place": "1"}
        )
        assert again.status_code == 200 and "Question 2 of 12" in again.text, "a double tap applies once"
