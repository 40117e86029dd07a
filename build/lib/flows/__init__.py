"""The conversation: a pure state machine (`engine`) and its Redis store.

Platform-neutral events in, platform-neutral messages out; no platform SDK is imported here.
"""

from . import events, messages
from .engine import RULES, Completion, Config, Step, step
from .errors import FlowError, StoreBusy, StoreUnavailable
from .keys import SOLO, pseudonym
from .service import Conversations, Handled
from .session import Session, State
from .store import RedisStore, Ref

__all__ = [
    "RULES",
    "SOLO",
    "Completion",
    "Config",
    "Conversations",
    "FlowError",
    "Handled",
    "RedisStore",
    "Ref",
    "Session",
    "State",
    "Step",
    "StoreBusy",
    "StoreUnavailable",
    "events",
    "messages",
    "pseudonym",
    "step",
]
