"""`ruhepuls privacy`: the plain-language data sheet for works councils and data-protection
officers, generated from the same settings and constants the code uses; the words are in
bot/privacy.yaml."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict

import classifier
from classifier import Lang, Text
from classifier.disclosure import WIDESPREAD_FROM
from classifier.text import load_texts
from flows.datasheet import KeyKind, stored

from .settings import Settings

PUBLICATION_DAYS = 60
AUDIT_ENTRIES = 100_000


class PrivacyTexts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    where_embedded: Text
    where_redis: Text
    higher_k: Text
    contacts: Text
    stored_sessions: Text
    stored_data: Text
    shared_persists: Text
    sheet: Text


@cache
def privacy_texts() -> PrivacyTexts:
    return load_texts(__package__ or "bot", "privacy.yaml", PrivacyTexts)


def _where(s: Settings, lang: Lang) -> str:
    t = privacy_texts()
    if s.sentinels:
        return t.where_redis(lang).format(host=", ".join(h for h, _ in s.sentinels))
    if not s.redis_url:
        return t.where_embedded(lang).format(path=s.data_dir.resolve())
    return t.where_redis(lang).format(host=urlparse(s.redis_url).hostname or "unix socket")


def stored_list(s: Settings, lang: Lang, kinds: Sequence[KeyKind]) -> str:
    """What is stored, from the declared key list (`kinds`: the engine's and each platform's,
    `bot.platform.declared_keys`): the data sheet's list, and README's "What is stored"
    (`ruhepuls privacy --stored --lang en`)."""
    t = privacy_texts()
    headings = (t.stored_sessions(lang), t.stored_data(lang))
    return stored(lang, s.session_ttl_days, headings, kinds, s.min_group_size)


def data_sheet(
    s: Settings, lang: str | None, said: Callable[[Lang], list[str]], kinds: Sequence[KeyKind]
) -> str:
    """The data sheet; `said(lang)`: what each enabled platform says of itself, at its end
    (`bot.platform.said_of`); `kinds`: every kind of key (`bot.platform.declared_keys`)."""
    q = classifier.default()
    exhaustion_item = q.item(q.signpost.exhaustion_item)
    exhaustion = exhaustion_item.text
    k_exh = s.min_group_size_exhaustion
    higher = k_exh is not None and k_exh > s.min_group_size
    exh_name = q.types[exhaustion_item.type].name
    t = privacy_texts()
    shared = s.external_redis and not (s.session_redis_url or s.session_sentinel_list)

    def one(lg: Lang) -> str:
        extra = "".join(f"\n\n{line}" for line in said(lg))
        sheet = t.sheet(lg).format(
            version=q.version,
            where=_where(s, lg),
            ttl=s.session_ttl_days,
            k=s.min_group_size,
            k_exhaustion=t.higher_k(lg).format(name=exh_name(lg), k=k_exh) if higher else "",
            widespread_from=WIDESPREAD_FROM,
            audit_entries=f"{AUDIT_ENTRIES:,}",
            publication_days=PUBLICATION_DAYS,
            exhaustion=exhaustion(lg),
            stored=stored_list(s, lg, kinds),
            persistence=t.shared_persists(lg).format(where=_where(s, lg)) if shared else "",
            contacts=t.contacts(lg).format(contacts="; ".join(s.support_contacts))
            if s.support_contacts
            else "",
        )
        return sheet + extra  # what each enabled platform says of itself

    if lang == "de":
        return one("de")
    if lang == "en":
        return one("en")
    return one("de") + "\n\n" + "-" * 72 + "\n\n" + one("en")
