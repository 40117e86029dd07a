"""The `ruhepuls` command.

ruhepuls            serve the platforms that are configured; with none, the local chat
ruhepuls chat       take the survey in this terminal
ruhepuls serve      the web app for Slack, Telegram and Teams (uvicorn)
ruhepuls worker     scheduled and queued work
ruhepuls check      validate the questionnaire and the settings
ruhepuls <platform> …  a platform's own verbs (`ruhepuls telegram set-webhook URL`, `ruhepuls teams package`)
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
    from .platform import platforms

    try:
        settings = Settings()
        for platform in platforms().values():  # each platform's section, checked now, not at first use
            platform.section(settings)
        return settings
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        sys.exit(f"ruhepuls: invalid settings: {problems}")


def _check(settings: Settings, loaded: list[str]) -> None:
    for line in loaded:
        print(line)
    from .platform import platforms

    states = []
    for name, p in platforms().items():
        why = p.off_reason(settings)
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
    sub.add_parser("serve", help="run the web app for the configured platforms")
    sub.add_parser("worker", help="run scheduled and queued work")
    sub.add_parser("check", help="validate the questionnaire and settings")
    sub.add_parser("doctor", help="check a deployment (Redis, persistence, secrets) and say how to fix it")
    from .platform import declared_keys, enabled, platforms, said_of, secret_values, verb_owner

    for platform in platforms().values():
        platform.commands(sub)
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

    setup(settings.log_level, secret_values(settings), settings.log_format)
    from .runtime import preflight

    try:
        loaded = preflight(t for p in platforms().values() if (t := p.texts()) is not None)
    except classifier.QuestionnaireError as exc:
        sys.exit(f"ruhepuls: {exc}")

    command = args.command or ("serve" if enabled(settings) else "chat")
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
    if command == "check":
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
        for platform in platforms().values():
            if (refusal := platform.refuse_serving(settings)) is not None:
                sys.exit(f"ruhepuls: {refusal}")
        serve(settings)
    elif (owner := verb_owner(command)) is not None:
        owner.run(settings, args)
    elif command == "privacy":
        from .privacy import data_sheet, stored_list

        if args.stored:
            print(stored_list(settings, "en" if args.lang == "en" else "de", declared_keys()))
        else:
            print(data_sheet(settings, args.lang, said_of(settings), declared_keys()))
    elif command in ("team", "round", "audit", "summary", "measure", "report", "stufenplan"):
        from .cli_admin import run

        run(settings, args)
    elif command == "worker":
        from .worker import run_worker

        run_worker(settings)


if __name__ == "__main__":
    main()
