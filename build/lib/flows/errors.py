"""The errors `flows` raises. The edge catches them, logs without personal data, and answers
the person politely."""


class FlowError(Exception):
    """Base of every error raised by flows."""


class StoreUnavailable(FlowError):
    """Redis could not be reached; nothing was changed."""


class StoreBusy(FlowError):
    """Too many concurrent changes to one session; nothing was changed by this event."""
