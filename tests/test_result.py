"""The personal result reads what the answers say: words, never numbers; the systemic sentence
from the type's systemic answer, the influence sentence from its influence answer; short enough
for a phone; 2-4 paths; why the signpost is shown; both languages."""

import itertools
import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import classifier
from classifier import Level, LoadType, Outcome, ResultKey, contribution, personal_result, phrase, result_key
from flows import compose, engine
from flows import events as ev
from flows.context import Ctx
from flows.texts import texts

Q = classifier.default()
IDS = [i.id for i in Q.items]
answer_vectors = st.fixed_dictionaries({i: st.one_of(st.none(), st.integers(0, 4)) for i in IDS})
FIRST_MESSAGE_WORDS = 70
CLAIMS_ROOM = re.compile(
    r"(haben Sie Spielraum|Sie haben Spielraum|Spielraum haben Sie|you have (some )?room|You have (some )?room)"
)


def words(*parts: str) -> int:
    return sum(len(p.split()) for p in parts)


def all_keys() -> list[ResultKey]:
    """Every result key there is: each outcome with every level of every named type's answers
    (for three and four tied types, every level of one type with the others at each level)."""
    levels = [None, Level.LOW, Level.MID, Level.HIGH]
    flags = [
        dict(zip(("exhaustion", "aggression", "counted"), f, strict=True))
        for f in itertools.product([False, True], repeat=3)
    ]
    keys: list[ResultKey] = []

    def possible(k: ResultKey) -> ResultKey:  # a type without an influence item has no such answer
        if not k.influence:
            return k
        return replace(
            k,
            influence=tuple(
                None if Q.influence_item(t) is None else i for t, i in zip(k.types, k.influence, strict=True)
            ),
        )

    for t in LoadType:
        for s, i, e in itertools.product(levels, levels, levels):
            keys += [ResultKey(Outcome.DOMINANT, (t,), (s,), (i,), (e,), **f) for f in flags]
    for pair in itertools.combinations(LoadType, 2):
        for s1, i1, s2, i2 in itertools.product(levels, repeat=4):
            for e in levels:
                keys.append(ResultKey(Outcome.MULTIPLE, pair, (s1, s2), (i1, i2), (e, e), True, True, True))
    for n in (3, 4):
        for named in itertools.combinations(LoadType, n):
            for s, i, e in itertools.product(levels, levels, levels):
                keys.append(
                    ResultKey(Outcome.MULTIPLE, named, (s,) * n, (i,) * n, (e,) * n, True, True, True)
                )
    for n in range(5):
        for named in itertools.combinations(LoadType, n):
            keys += [ResultKey(Outcome.MODERATE, named, **f) for f in flags]
    keys += [ResultKey(Outcome.LOW, (), **f) for f in flags]
    keys += [ResultKey(Outcome.NO_RESULT, (), **f) for f in flags]
    return list(dict.fromkeys(possible(k) for k in keys))


KEYS = all_keys()


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_combination_fits_a_phone_and_says_what_the_answers_say(lang: str) -> None:
    cfg = engine.Config()
    ctx = Ctx(cfg, lang, None)  # type: ignore[arg-type]
    t = texts()
    for key in KEYS:
        assert ResultKey.decode(key.encode()) == key, key
        assert len(ev.encode(ev.ShowResult("p", key.encode(), "en")).encode()) <= 64
        r = phrase(Q, key, lang)
        view = compose.result(ctx, key, "s", lang)
        n = words(view.title, *view.lines, view.note or "")
        assert n <= FIRST_MESSAGE_WORDS, (key, n, view.lines)
        said = [p for p in (view.title, *view.lines) if p != Q.signpost.acute(lang)]  # phone numbers aside
        assert not any(re.search(r"\d", p) for p in said), "no number"
        labels = [c.label for c in view.choices]
        assert t.support(lang) in labels and t.remove_result(lang) in labels, "help is one press away"
        if key.outcome is not Outcome.NO_RESULT:
            assert t.what_helps(lang) in labels and 2 <= len(r.paths) <= 4
        # the influence line follows the influence answer
        if key.outcome in (Outcome.DOMINANT, Outcome.MULTIPLE):
            shown = list(zip(key.types, key.influence, strict=True))
            if key.outcome is Outcome.MULTIPLE:  # every tied type is named
                assert all(Q.types[x].name(lang) in " ".join(r.lines) for x in key.types), key
            least = max(
                shown,
                key=lambda x: (
                    -2 if Q.influence_item(x[0]) is None else -1 if x[1] is None else int(x[1].value)
                ),
            )
            sentence = (r.influence or "").replace(Q.types[least[0]].name(lang), "")  # the name may say it
            claimed = CLAIMS_ROOM.search(sentence)
            own = Q.types[least[0]].own
            if own is not None:  # no influence item: the one sentence that presumes no answer
                assert own(lang) in (r.influence or "") and not claimed, (key, r.influence)
            elif least[1] in (Level.HIGH, None):
                assert not claimed and "Spielraum" not in sentence, (key, r.influence)
            if least[1] is Level.LOW:
                assert claimed, (key, r.influence)
            if key.outcome is Outcome.MULTIPLE:
                assert Q.types[least[0]].name(lang) in (r.influence or ""), "says which type it means"
            # the systemic sentence follows the systemic answer; never asserted without it
            multiple = key.outcome is Outcome.MULTIPLE
            skipped = Q.outcomes.multiple.systemic_skipped if multiple else Q.outcomes.systemic_skipped
            expected = []
            for typ, level in zip(key.types, key.systemic, strict=True):
                by_level = Q.outcomes.multiple.systemic if multiple else Q.types[typ].systemic
                expected.append(skipped(lang) if level is None else by_level(level)(lang))
            assert sorted(set(expected)) == sorted(r.systemic), (key, r.systemic)
            for sentence, level in zip(expected, key.systemic, strict=True):
                asserted = "nicht an Ihnen" in sentence or "not in you" in sentence
                assert asserted is (level is Level.HIGH), (key, sentence)
        if key.outcome is Outcome.MODERATE and key.types:
            assert all(Q.types[x].name(lang) in " ".join(r.lines) for x in key.types), (
                "names the partly marked"
            )
        if key.signpost:
            named = key.outcome in (Outcome.DOMINANT, Outcome.MULTIPLE)
            why = (
                Q.signpost.because_exhaustion(lang)
                if key.exhaustion and not key.aggression and not named
                else None
            )
            acute = key.outcome in (Outcome.LOW, Outcome.MODERATE)
            said = r.lines[-2] if acute else r.lines[-1]
            assert Q.signpost.pointer(lang) in said
            if why:
                assert why in said
            if acute:  # no "low" next to what the person reported, and the acute line
                assert r.lines[-1] == Q.signpost.acute(lang)
                assert Q.outcomes.low.systemic(lang) not in r.lines and Q.outcomes.low.title(lang) != r.title
            if key.exhaustion and key.outcome is not Outcome.NO_RESULT:
                assert Q.types[LoadType.D].paths[-1](lang) in r.paths, "the assistance path has a place"
        else:
            assert not any(Q.signpost.pointer(lang) in line for line in r.lines)
        if key.outcome is Outcome.NO_RESULT:
            again = Q.outcomes.no_result.outside_round(lang)
            assert (again in r.lines) is (not key.counted), "no 'start again' inside a round"


def test_views_replace_each_other_and_help_holds_the_crisis_line() -> None:
    key = ResultKey(
        Outcome.DOMINANT, (LoadType.A,), (Level.HIGH,), (Level.HIGH,), (Level.HIGH,), False, True, True
    )
    ctx = Ctx(
        engine.Config(contacts=("EAP: 0800 000 000",), offer="Deeskalation, Anmeldung: https://x"), "de", None
    )  # type: ignore[arg-type]
    summary = compose.result(ctx, key, "s", "de")
    paths = compose.result(ctx, key, "p", "de")
    help_ = compose.result(ctx, key, "h", "de")
    assert paths.items[:-1] == phrase(Q, key, "de").paths and "Anmeldung: https://x" in paths.items[-1]
    assert any("Stufenplan" in p for p in paths.items) and any("z. B." in p for p in paths.items)
    text = " ".join(help_.lines)
    assert "0800 111 0 111" in text and "116 123" in text and "112" in text and "EAP: 0800 000 000" in text
    for view in (summary, paths, help_):
        for c in view.choices:
            e = ev.decode(c.action)
            assert e is not None
            if isinstance(e, ev.ShowResult):
                assert ResultKey.decode(e.code) == key


@given(answer_vectors, st.sampled_from(["de", "en"]))
@settings(max_examples=300)
def test_result_from_answers_is_words(answers, lang) -> None:
    r = personal_result(Q, answers, lang)
    said = [p for p in (r.title, *r.lines, *r.paths) if p != Q.signpost.acute(lang)]  # phone numbers aside
    assert not any(re.search(r"\d", p) for p in said), "no number may reach the person"
    assert r.key == result_key(Q, answers)
    if r.key.outcome is Outcome.NO_RESULT:
        assert r.paths == ()
    else:
        assert 2 <= len(r.paths) <= 4


@pytest.mark.parametrize(
    ("a3", "room"), [(0, True), (1, True), (2, True), (3, False), (4, False), (None, False)]
)
def test_spielraum_only_where_the_influence_answer_says_so(a3, room) -> None:
    answers = {i: 0 for i in IDS} | {"a1": 4, "a2": 4, "a3": a3}
    r = personal_result(Q, answers, "de")
    assert r.key.outcome is Outcome.DOMINANT and r.key.types == (LoadType.A,)
    assert bool(r.influence and "Spielraum" in r.influence) is room, r.influence


def test_the_issue_example_no_latitude_claimed_for_pressure_without_latitude() -> None:
    answers = {i: 0 for i in IDS} | {"c1": 4, "c2": 4, "c3": 2}  # c1, c2 immer; c3 manchmal
    r = personal_result(Q, answers, "de")
    assert r.key.types == (LoadType.C,)
    assert r.influence == Q.types["C"].influence.some.de
    answers["c1"], answers["c2"], answers["c3"] = 4, 4, 4
    r = personal_result(Q, answers, "de")
    assert "Spielraum" not in (r.influence or "") and r.influence == Q.types["C"].influence.little.de


@pytest.mark.parametrize(
    ("changes", "exhaustion", "aggression"),
    [({"d3": 3}, True, False), ({"a1": 4}, False, True), ({"a1": 3, "d3": 2}, False, False)],
)
def test_signpost_says_why(changes, exhaustion, aggression) -> None:
    answers = {i.id: 1 for i in Q.items} | changes  # a low or moderate result: says why
    r = personal_result(Q, answers, "en")
    assert (r.key.exhaustion, r.key.aggression) == (exhaustion, aggression)
    if exhaustion:
        assert r.lines[-2].startswith(Q.signpost.because_exhaustion.en)
    if aggression:
        assert r.lines[-2].startswith(Q.signpost.because_aggression.en)
    if exhaustion or aggression:
        assert r.lines[-1] == Q.signpost.acute.en


def test_contribution_holds_only_counters() -> None:
    answers = {i.id: 2 for i in Q.items} | {"b2": None}
    c = contribution(Q, answers)
    assert c["n"] == 1
    assert sum(v for k, v in c.items() if k.startswith("b:")) == 4  # one band per type
    assert c["m:A"] == 12 and c["m:B"] == 12  # mean 2 of its answered items, times 6
    tension_types = {k[2:] for k in c if k.startswith("x:")}
    expected = {
        t.value
        for t in LoadType
        if (i := Q.influence_item(t)) is not None and "b2" not in (Q.systemic_item(t).id, i.id)
    }
    assert tension_types == expected
    # a type without an influence item (D) keeps its systemic answer alone, for the cause line
    assert {k for k in c if k.startswith("y")} == {"y:D", "ys:D"} and c["ys:D"] == 2
    assert contribution(Q, {i.id: None for i in Q.items}) == {}, "no result counts toward nothing"
