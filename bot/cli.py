"""The `ruhepuls` command.

ruhepuls            serve the platforms that are configured; with none, the local chat
ruhepuls chat       take the survey in this terminal
ruhepuls serve      the web app for Slack, Telegram and Teams (uvicorn)
ruhepuls worker     scheduled and queued work
ruhepuls check      validate the questionnaire and the settings
ruhepuls telegram set-webhook URL | poll
ruhepuls team add|list|remove, ruhepuls round open|close|status, ruhepuls audit
ruhepuls summary preview --team T, ruhepuls privacy
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from pydantic import ValidationError

import classifier

from .settings import Settings

log = logging.getLogger("ruhepuls")


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        sys.exit(f"ruhepuls: invalid settings: {problems}")


def _chat(settings: Settings, lang: str | None) -> None:
    from .chat import run_chat
    from .runtime import runtime

    async def main() -> None:
        async with runtime(settings) as rt:
            await run_chat(rt, "en" if (lang or settings.language) == "en" else "de")

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print()


def _check(settings: Settings, loaded: list[str]) -> None:
    for line in loaded:
        print(line)
    from .platform import platforms

    states = []
    for name, p in platforms().items():
        why = settings.teams_off_reason() if name == "teams" else None
        states.append(f"{name}: {'on' if p.enabled(settings) else 'off'}" + (f" ({why})" if why else ""))
    print("; ".join(states))


def _doctor(settings: Settings) -> None:
    from .doctor import check, line, platform_checks
    from .runtime import runtime

    async def run() -> bool:
        async with runtime(settings) as rt:
            findings = await check(settings, rt.redis, rt.sessions)
            if findings and findings[0].ok:  # Redis answers: the rest can be checked
                findings += await platform_checks(rt)
        for f in findings:
            print(line(f))
        return all(f.ok for f in findings)

    if not asyncio.run(run()):
        sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ruhepuls", description="Ruhepuls, the work-load check-in bot")
    sub = parser.add_subparsers(dest="command")
    chat = sub.add_parser("chat", help="take the survey in this terminal")
    chat.add_argument("--lang", choices=["de", "en"], default=None)
    sub.add_parser("serve", help="run the web app for the configured platforms")
    sub.add_parser("worker", help="run scheduled and queued work")
    sub.add_parser("check", help="validate the questionnaire and settings")
    sub.add_parser("doctor", help="check a deployment (Redis, persistence, secrets) and say how to fix it")
    tg = sub.add_parser("telegram", help="Telegram: register the webhook, or run by long polling")
    tg_sub = tg.add_subparsers(dest="telegram_command", required=True)
    hook = tg_sub.add_parser(
        "set-webhook", help="register URL (ending in /telegram/webhook) once at deploy time"
    )
    hook.add_argument("url")
    tg_sub.add_parser("poll", help="run the bot by long polling (no public URL needed)")
    teams = sub.add_parser("teams", help="Microsoft Teams: write the app package for the admin center")
    teams_sub = teams.add_subparsers(dest="teams_command", required=True)
    package = teams_sub.add_parser("package", help="write the Teams app package (zip) to upload")
    package.add_argument(
        "--url", required=True, help="the bot's public https address (its /privacy is linked)"
    )
    package.add_argument("--out", default="ruhepuls-teams.zip", help="where to write the zip")
    package.add_argument("--developer", default="Ruhepuls", help="the organisation named as developer")
    package.add_argument("--version", default="1.0.0", help="the package version (raise it for each upload)")
    teams_sub.add_parser(
        "list", help="the Teams teams the app is installed in, with the ids `team add` takes"
    )
    from .cli_admin import add_parsers

    add_parsers(sub)
    privacy = sub.add_parser("privacy", help="the data sheet: what is stored, where, how long, who sees what")
    privacy.add_argument(
        "--lang", choices=["de", "en"], default=None, help="one language only (default: both)"
    )
    privacy.add_argument("--stored", action="store_true", help="only the list of what is stored (Markdown)")
    args = parser.parse_args(argv)

    settings = _settings()
    from .logs import setup

    setup(settings.log_level, settings.secret_values(), settings.log_format)
    from .runtime import preflight

    try:
        loaded = preflight()
    except classifier.QuestionnaireError as exc:
        sys.exit(f"ruhepuls: {exc}")

    command = args.command or ("serve" if settings.any_platform else "chat")
    if (
        command not in ("chat", "check", "doctor", "privacy")
        and settings.external_redis
        and not settings.secret
    ):
        sys.exit(
            "ruhepuls: set RUHEPULS_SECRET (the key of every pseudonym, 32+ random bytes) in the "
            "environment, away from the data: with a Redis of your own every command but "
            "`ruhepuls chat` needs it"
        )
    if command == "chat":
        _chat(settings, getattr(args, "lang", None))
    elif command == "check":
        _check(settings, loaded)
    elif command == "doctor":
        _doctor(settings)
    elif command == "serve":
        from .web import serve

        if settings.public and settings.secret is None:
            sys.exit(
                "ruhepuls: a public HOST needs RUHEPULS_SECRET (the key of every pseudonym), set "
                "in the environment and kept away from the data; a generated one is for local trials"
            )
        if settings.teams_allow_unauthenticated:
            if settings.public:
                sys.exit(
                    "ruhepuls: TEAMS_DANGEROUSLY_ALLOW_UNAUTHENTICATED accepts forged Teams activities; "
                    "it is refused with a public HOST (use it only on 127.0.0.1 with the Bot Framework "
                    "Emulator on this machine; behind a tunnel, use the bot's real credentials)"
                )
            import logging

            logging.getLogger("ruhepuls").warning(
                "TEAMS_DANGEROUSLY_ALLOW_UNAUTHENTICATED is set: Teams activities are NOT verified. "
                "Development only: answered only for a serviceUrl on this machine, never through a proxy."
            )
        serve(settings)
    elif command == "telegram":
        from .telegram.run import poll, set_webhook

        if not settings.telegram_enabled:
            sys.exit("ruhepuls: set TELEGRAM_BOT_TOKEN first")
        if args.telegram_command == "set-webhook":
            set_webhook(settings, args.url)
        else:
            poll(settings)
    elif command == "teams" and args.teams_command == "list":
        from .msteams.package import installed

        print(installed(settings))
    elif command == "teams":
        from .msteams.package import build

        if not settings.teams_app_id:
            sys.exit("ruhepuls: set TEAMS_APP_ID first (the bot's Microsoft App ID)")
        try:
            data = build(settings.teams_app_id, args.url, args.developer, args.version)
        except ValueError as exc:
            sys.exit(f"ruhepuls: {exc}")
        with open(args.out, "wb") as out:
            out.write(data)
        print(f"wrote {args.out}: upload it in the Teams admin center (Teams apps > Manage apps > Upload)")
    elif command == "privacy":
        from .privacy import data_sheet, stored_list

        if args.stored:
            print(stored_list(settings, "en" if args.lang == "en" else "de"))
        else:
            print(data_sheet(settings, args.lang))
    elif command in ("team", "round", "audit", "summary", "measure", "report"):
        from .cli_admin import run

        run(settings, args)
    elif command == "worker":
        from .worker import run_worker

        run_worker(settings)


if __name__ == "__main__":
    main()
