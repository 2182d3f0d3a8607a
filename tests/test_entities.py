"""Entities: the configured names in every language, spaCy's French NER, one load per process."""

from __future__ import annotations

import pytest

from enrich.entities import EntityExtractor
from ingest.errors import ConfigError
from ingest.record import Entity
from ingest.settings import Brand

BRANDS = [
    Brand(
        name="Lumen Télécom",
        query="lumen",
        products=["Lumen Box 5"],
        competitors=["Orange"],
        people=["Anne Morel"],
    )
]


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor(BRANDS, {"fr": "fr_core_news_md"})


def test_configured_names_in_any_case_and_accents_in_every_language(
    extractor: EntityExtractor,
) -> None:
    [english, undetermined] = extractor.extract(
        [
            "The LUMEN BOX 5 by Lumen Telecom beats Orange, says Anne Morel. Lumen Telecom rocks.",
            "lumen télécom",
        ],
        ["en", "und"],
    )
    assert english == (
        Entity(text="LUMEN BOX 5", label="PRODUCT", kb_id="Lumen Box 5"),
        Entity(text="Lumen Telecom", label="BRAND", kb_id="Lumen Télécom"),
        Entity(text="Orange", label="COMPETITOR", kb_id="Orange"),
        Entity(text="Anne Morel", label="PERSON", kb_id="Anne Morel"),
    )
    assert undetermined == (Entity(text="lumen télécom", label="BRAND", kb_id="Lumen Télécom"),)


@pytest.mark.slow
def test_french_text_also_gets_spacy_entities(extractor: EntityExtractor) -> None:
    [french] = extractor.extract(
        ["Emmanuel Macron a visité à Angers l'usine de Lumen Télécom avec Anne Morel."], ["fr"]
    )
    found = {(e.text, e.label, e.kb_id) for e in french}
    assert ("Emmanuel Macron", "PERSON", None) in found
    assert ("Angers", "LOC", None) in found
    # The ruler runs first: the configured names keep their labels and canonical names.
    assert ("Lumen Télécom", "BRAND", "Lumen Télécom") in found
    assert ("Anne Morel", "PERSON", "Anne Morel") in found
    assert extractor.pipeline("fr") is extractor.pipeline("fr")  # loaded once


def test_labels_can_be_restricted() -> None:
    only_brands = EntityExtractor(BRANDS, {}, labels=["BRAND"])
    [found] = only_brands.extract(["Lumen Télécom contre Orange"], ["fr"])
    assert [e.label for e in found] == ["BRAND"]


def test_a_missing_model_is_a_configuration_error() -> None:
    missing = EntityExtractor(BRANDS, {"de": "de_core_news_nope"})
    with pytest.raises(ConfigError, match="cannot load spaCy model 'de_core_news_nope'"):
        missing.extract(["Lumen"], ["de"])


def test_an_alias_counts_under_the_brand_name_and_the_longest_name_wins() -> None:
    brand = Brand(name="Lumen Télécom", query="lumen", aliases=["Lumen"], products=["Lumen Box 5"])
    [found] = EntityExtractor([brand]).extract(
        ["Lumen is down again; my Lumen Box 5 blinks red. Lumen Télécom says nothing."], ["en"]
    )
    assert found == (
        Entity(text="Lumen", label="BRAND", kb_id="Lumen Télécom"),
        Entity(text="Lumen Box 5", label="PRODUCT", kb_id="Lumen Box 5"),
        Entity(text="Lumen Télécom", label="BRAND", kb_id="Lumen Télécom"),
    )


FRENCH = [
    "Emmanuel Macron a visité à Angers l'usine de Lumen Télécom avec Anne Morel.",
    "Le fabricant de vélos électriques Velora a inauguré jeudi une usine d'assemblage à Angers. "
    "Le site emploiera 120 personnes, a déclaré Anne Morel, directrice chez Lumen Télécom.",
    "Panne chez Lumen depuis ce matin à Lyon et à Marseille, le service client de la Lumen Box 5 "
    "ne répond pas. Orange et SFR n'ont rien eu, d'après Le Monde et l'AFP.",
    "J'ai appelé trois fois le support : personne. Franchement, #LumenTelecom, c'est nul. "
    "Merci quand même à Julie de l'agence de Nantes.",
    "La Commission européenne enquête sur les tarifs des opérateurs en France et en Belgique.",
]


@pytest.mark.slow
def test_only_what_ner_needs_is_loaded_and_finds_what_the_model_finds_without_its_parser(
    extractor: EntityExtractor,
) -> None:
    """What is left out (tok2vec, morphologizer, attribute ruler, lemmatizer, senter) changes no
    entity. The parser is left out too, by choice: it sets sentence boundaries, which spaCy's
    NER does not cross, so with it some spans differ (about 17 % of French tweets, at a third of
    the speed); Veille's entities are the model's NER without sentence boundaries."""
    import spacy
    from spacy.pipeline import EntityRuler

    from enrich.entities import ruler_patterns
    from tests.support.corpus import corpus

    assert extractor.pipeline("fr").pipe_names == ["entity_ruler", "ner"]
    assert extractor.pipeline("und").pipe_names == ["entity_ruler"]
    whole = spacy.load("fr_core_news_md", exclude=["parser"])
    assert {"tok2vec", "morphologizer", "lemmatizer"} <= set(whole.pipe_names)
    ruler = whole.add_pipe("entity_ruler", before="ner")
    assert isinstance(ruler, EntityRuler)
    ruler.add_patterns(ruler_patterns(BRANDS))
    texts = FRENCH + [f"{m.title}.\n{m.text}" if m.title else m.text for m in corpus()]
    lean = extractor.pipeline("fr")
    for text, slim, full in zip(texts, lean.pipe(texts), whole.pipe(texts), strict=True):
        assert [(e.start, e.end, e.label_, e.ent_id_) for e in slim.ents] == [
            (e.start, e.end, e.label_, e.ent_id_) for e in full.ents
        ], text
    assert sum(len(doc.ents) for doc in lean.pipe(FRENCH)) > 10
