"""`ruhepuls privacy`: the plain-language data sheet for works councils and data-protection
officers, generated from the same settings and constants the code uses."""

from __future__ import annotations

from urllib.parse import urlparse

import classifier
from classifier.disclosure import WIDESPREAD_FROM

from .settings import Settings

PUBLICATION_DAYS = 60
AUDIT_ENTRIES = 100_000


def _where(s: Settings) -> dict[str, str]:
    if not s.redis_url:
        path = s.data_dir.resolve()
        return {"de": f"in einer privaten Redis-Instanz auf diesem Server (Verzeichnis {path}, nur über einen Unix-Socket erreichbar)",
                "en": f"in a private Redis instance on this server (directory {path}, reachable only through a unix socket)"}  # fmt: skip
    host = urlparse(s.redis_url).hostname or "unix socket"
    return {
        "de": f"in der Redis-Datenbank unter {host} (REDIS_URL)",
        "en": f"in the Redis database at {host} (REDIS_URL)",
    }


def data_sheet(s: Settings, lang: str | None = None) -> str:
    q = classifier.default()
    k, ttl, where = s.min_group_size, s.session_ttl_days, _where(s)
    exhaustion = q.item(q.signpost.exhaustion_item).text
    de = f"""RUHEPULS – DATENBLATT (Fragebogen {q.version})

Was Ruhepuls ist: eine Orientierung in zwölf Fragen zur Belastung im Kundenservice, keine
vollständige Gefährdungsbeurteilung nach § 5 ArbSchG. Nur Selbstauskunft; keine Auswertung von
Stimme, Bild oder anderen biometrischen Daten.

Gespeichert wird, {where["de"]}:
1. Während eine Umfrage läuft: die bisherigen Antworten einer Person, unter einem Schlüssel aus
   einem verschlüsselten Hash (HMAC-SHA256) ihrer Plattform-Kennung, nie der Kennung selbst.
   Gelöscht sofort beim Abschluss oder Abbruch, spätestens {ttl} Tage nach der letzten Antwort.
2. Nach dem Abschluss innerhalb einer Teamrunde: nur Zählwerte je Team und Kalenderwoche (wie oft
   jede Antwort je Frage gegeben wurde, wie oft jedes Muster vorkam). Keine Kennung, keine
   Uhrzeit. Ohne Teamrunde wird nichts aufbewahrt. Nach der Veröffentlichung im Wochenbericht
   werden die Zählwerte gelöscht; es bleiben die veröffentlichten Bänder in Worten.
3. Das persönliche Ergebnis wird nirgends gespeichert; die Person kann es aus dem Chat löschen.
4. Solange eine Umfrage läuft (höchstens {ttl} Tage): Kennungen bereits verarbeiteter
   Plattform-Ereignisse (gegen doppelte Zählung); danach nur eine Versionsnummer und die
   Kennung des letzten Ereignisses.
5. Solange eine Runde offen ist: verschlüsselte Hashes derer, die teilgenommen haben (gegen doppelte
   Teilnahme; der Schlüssel wird beim Schließen der Runde gelöscht), und wer eingeladen oder
   erinnert wurde (als Pseudonym).
6. Betriebsdaten, nie mit Antworten verknüpft: Teams, Teamzugehörigkeit (als Pseudonym; bei
   Telegram die Nutzer-ID derer, die über den Einladungslink beigetreten sind), das Audit-Log der
   Admin-Aktionen (höchstens {AUDIT_ENTRIES:,} Einträge), Wochenberichte ({PUBLICATION_DAYS} Tage).

Wer sieht was:
- Die teilnehmende Person: nur ihr eigenes Ergebnis, in Worten, ohne Punktwerte.
- Teamleitungen: einmal pro Woche zusammengefasste Muster, nur ab {k} Personen; ab {WIDESPREAD_FROM}
  Personen zusätzlich grobe Worte zur Verbreitung („bei einigen“, „bei vielen“) und den Trend.
  Nie Einzelantworten, nie Zahlen unter {WIDESPREAD_FROM}, nie „alle“ oder „niemand“, keine Rangfolgen,
  keine Vergleiche zwischen Teams, keine Verknüpfung mit Leistungskennzahlen. Zu kleine Teams
  werden mit ihrer übergeordneten Gruppe und einem weiteren Team zusammengefasst.
- Admins: ob eine Runde offen ist und ob die Mindestgröße erreicht ist, nie wer teilgenommen hat.
- Protokolle (Logs) enthalten keine Antworten, Ergebnisse, Kennungen oder Zugangsdaten.

Rechtliches: Die Frage „{exhaustion.de}“ betrifft die Erschöpfung und kann als Gesundheitsdatum
(Art. 9 DSGVO) gelten; pseudonyme Daten sind personenbezogen. Vor dem Einsatz sind eine
Datenschutz-Folgenabschätzung und eine Betriebsvereinbarung (§ 87 Abs. 1 Nr. 6 BetrVG) zu
erwarten. Gruppendaten unter {k} Personen gibt Ruhepuls nie heraus (vgl. BAG 1 ABR 6/94)."""
    en = f"""RUHEPULS – DATA SHEET (questionnaire {q.version})

What Ruhepuls is: a twelve-question orientation on work load in customer service, not a full
risk assessment under § 5 ArbSchG. Self-report only; no analysis of voice, image or any other
biometric data.

Stored {where["en"]}:
1. While a survey is in progress: a person's answers so far, under a key made from a keyed hash
   (HMAC-SHA256) of their platform id, never the id itself. Deleted at once on completion or
   cancel, at the latest {ttl} days after the last answer.
2. After completion within a team round: only counters per team and calendar week (how often each
   answer was given to each question, how often each pattern occurred). No id, no time of day.
   Outside a round nothing is kept. Once published in a weekly summary, the counters are deleted;
   what remains are the published bands in words.
3. The personal result is stored nowhere; the person can remove it from the chat.
4. While a survey is in progress (at most {ttl} days): ids of platform events already handled
   (so nothing counts twice); afterwards only a version number and the last event's id.
5. While a round is open: keyed hashes of who took part (against answering twice; the key is
   deleted when the round closes), and who was invited or reminded (as pseudonyms).
6. Operational data, never linked to answers: teams, team membership (as pseudonyms; for Telegram,
   the user ids of those who joined by the invitation link), the audit log of admin actions (at
   most {AUDIT_ENTRIES:,} entries), weekly summaries ({PUBLICATION_DAYS} days).

Who sees what:
- The person taking part: only their own result, in words, without scores.
- Team leads: once a week, combined patterns, only from {k} people; from {WIDESPREAD_FROM} people also
  coarse words on spread ("for some", "for many") and the trend. Never single answers, never
  numbers below {WIDESPREAD_FROM}, never "all" or "nobody", no rankings, no comparisons between teams, no
  link to performance figures. Teams that are too small are combined with their parent group and
  one more team.
- Admins: whether a round is open and whether the minimum size is reached, never who took part.
- Logs hold no answers, results, ids or credentials.

Legal: the question "{exhaustion.en}" concerns exhaustion and may count as health data
(Art. 9 GDPR); pseudonymous data is personal data. A data protection impact assessment and a
works agreement (§ 87 (1) no. 6 BetrVG) are to be expected before use. Ruhepuls never releases
group data of fewer than {k} people (cf. BAG 1 ABR 6/94)."""
    if lang == "de":
        return de
    if lang == "en":
        return en
    return de + "\n\n" + "-" * 72 + "\n\n" + en
