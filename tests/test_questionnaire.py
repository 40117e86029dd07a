from copy import deepcopy
from fractions import Fraction
from importlib import resources

import pytest
import yaml
from pydantic import BaseModel

import classifier
from classifier import Facet, LoadType, QuestionnaireError
from flows.texts import texts


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(resources.files("classifier").joinpath("questionnaire.yaml").read_text())


def test_shipped_questionnaire_is_valid() -> None:
    q = classifier.default()
    assert len(q.items) == 12
    assert q.languages == ("de", "en")
    for t in LoadType:
        facets = {i.facet for i in q.items_of(t)}
        # every type asks how often its stressor occurs; D, beside its strain item, asks about
        # self-control itself, so D is never named on exhaustion alone (issue 23)
        assert facets == (
            {Facet.EXPOSURE, Facet.SYSTEMIC, Facet.STRAIN}
            if t is LoadType.D
            else {Facet.EXPOSURE, Facet.SYSTEMIC, Facet.INFLUENCE}
        )
        assert 2 <= len(q.types[t].paths) <= 4
    assert [i.id for i in q.items if i.facet is Facet.STRAIN] == [q.signpost.exhaustion_item]
    assert q.thresholds.dominance_margin == Fraction(2, 3)
    assert [i.id for i in q.items if i.health_adjacent] == [q.signpost.exhaustion_item]


def test_every_text_exists_in_both_languages_and_has_no_clinical_words() -> None:
    q = classifier.default()

    def walk(node: object) -> list[classifier.Text]:
        if isinstance(node, classifier.Text):
            return [node]
        if isinstance(node, BaseModel):
            return [t for name in type(node).model_fields for t in walk(getattr(node, name))]
        if isinstance(node, dict):
            return [t for v in node.values() for t in walk(v)]
        if isinstance(node, (tuple, list)):
            return [t for v in node for t in walk(v)]
        return []

    found = walk(q) + walk(texts())
    assert len(found) > 80
    for text in found:
        assert text.de.strip() and text.en.strip()
        for word in ("burnout", "diagnose", "diagnosis", "score", "prozent", "percent"):
            assert word not in text.de.lower() and word not in text.en.lower()


def test_items_use_the_recall_stem() -> None:
    q = classifier.default()
    assert q.stem.de.startswith("In den letzten 4 Wochen")
    assert all(i.text.de.startswith("…") and i.text.en.startswith("…") for i in q.items)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r["items"][0]["text"].pop("en"), "items.0.text.en"),
        (lambda r: r["types"]["B"].pop("systemic"), "types.B.systemic"),
        (lambda r: r["thresholds"].update(partly="abc"), "thresholds.partly"),
        (lambda r: r["items"][1].update(type="E"), "items.1.type"),
        (lambda r: r["types"]["C"].update(paths=r["types"]["C"]["paths"][:1]), "types.C.paths"),
        (lambda r: r["items"].pop(), "type D needs three items"),
        (lambda r: r["signpost"].update(exhaustion_item="zz"), "signpost.exhaustion_item"),
        (lambda r: r["thresholds"].update(partly="3", clear="2"), "partly < clear"),
    ],
)
def test_a_broken_file_names_the_field(raw: dict, mutate, field: str) -> None:
    broken = deepcopy(raw)
    mutate(broken)
    with pytest.raises(QuestionnaireError) as info:
        classifier.parse(broken)
    assert field in str(info.value)


def test_broken_yaml_fails_clearly(tmp_path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text("version: [unclosed")
    with pytest.raises(QuestionnaireError, match="not valid YAML"):
        classifier.load(path)
