"""Telegram: inbound conversion, outbound rendering, handler registration (python-telegram-bot)."""

from .app import build_telegram_app

__all__ = ["build_telegram_app"]
