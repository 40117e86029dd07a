"""Slack: inbound conversion, outbound rendering, handler registration (slack-bolt)."""

from .app import build_slack_app

__all__ = ["build_slack_app"]
