"""When the bot may write to people, and when reminders fall due. Pure: time is an argument.

Invitations and reminders go out only on working days outside quiet hours, in the team's own
time zone; what falls into the night waits for the next allowed moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class SendingHours:
    start_hour: int = 8
    """First local hour at which messages may go out."""
    end_hour: int = 18
    """Messages stop at this local hour."""
    workdays: frozenset[int] = frozenset(range(5))
    """Weekdays (0 = Monday) on which messages may go out."""

    @classmethod
    def parse(cls, quiet: str, workdays: str) -> SendingHours:
        """`quiet` like "18-8" (quiet from 18:00 to 08:00); `workdays` like "mon-fri" or
        "mon,tue,sat"."""
        end_s, _, start_s = quiet.partition("-")
        end, start = int(end_s), int(start_s)
        if not (0 <= start < end <= 24):
            raise ValueError("quiet hours must look like 18-8 (quiet from 18:00 until 08:00)")
        days: set[int] = set()
        for part in workdays.lower().split(","):
            a, _, b = part.strip().partition("-")
            lo, hi = DAYS.index(a), DAYS.index(b or a)
            if hi < lo:
                raise ValueError("workday ranges run forwards, e.g. mon-fri")
            days.update(range(lo, hi + 1))
        return cls(start, end, frozenset(days))


def allowed(now: datetime, tz: str, hours: SendingHours) -> bool:
    """May a message go out at `now` (aware) for a team in time zone `tz`?"""
    local = now.astimezone(ZoneInfo(tz))
    return local.weekday() in hours.workdays and hours.start_hour <= local.hour < hours.end_hour


def next_allowed(now: datetime, tz: str, hours: SendingHours) -> datetime:
    """The first allowed moment at or after `now`."""
    if not hours.workdays:
        raise ValueError("no workdays: messages could never go out")
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    for day in range(8):
        date = (local + timedelta(days=day)).date()
        if date.weekday() not in hours.workdays:
            continue
        start = datetime(date.year, date.month, date.day, hours.start_hour, tzinfo=zone)
        end = datetime(date.year, date.month, date.day, 0, tzinfo=zone) + timedelta(hours=hours.end_hour)
        if local < end:
            return max(local, start).astimezone(now.tzinfo)
    raise AssertionError("unreachable: a workday falls within a week")


def reminder_times(opened: datetime, ends: datetime) -> tuple[datetime, datetime]:
    """At most two reminders: after 40 % and 75 % of the round."""
    span = ends - opened
    return opened + span * 0.4, opened + span * 0.75


def iso_week(now: date) -> str:
    """The ISO week of a day or a moment, as `2026-W48`."""
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"
