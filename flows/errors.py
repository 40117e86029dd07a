"""The errors `flows` raises. The edge catches them, logs without personal data, and answers
the person politely."""


class FlowError(Exception):
    """Base of every error raised by flows."""


class StoreUnavailable(FlowError):
    """Redis could not be reached; nothing was changed."""


class StoreBusy(FlowError):
    """Too many concurrent changes to one session; nothing was changed by this event."""


class TeamError(Exception):
    """A team or round operation that cannot be done. `key` names the text an admin is shown
    (bot/texts.yaml), `params` fill it; neither ever holds a person's data."""

    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
