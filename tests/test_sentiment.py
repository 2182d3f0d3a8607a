"""Sentiment: the lexicon's rules, the trained model's features, complaints, labelled files,
metrics and their confidence intervals, training, the shipped model, and the quality gate.

The quality gate (``../shared/data/sentiment``) holds honest figures: the trained model's
macro-F1 by cross-validation on the UMSAB French and English train sets (3 folds with the
parameters nested cross-validation chose, ``python -m bench.sentiment_cv --quick``: the nested
run itself takes minutes per language), at floors a little below what was measured (see the
README); then the final check on val, where the shipped model must beat the lexicon in each of
its eight languages and the lexicon must hold its floors. A change that makes sentiment worse
fails CI.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from enrich.sentiment import from_probabilities, open_sentiment
from enrich.sentiment.evaluate import Labeled, bootstrap_interval, load_labeled, macro_f1, metrics
from enrich.sentiment.features import FAMILIES, complaint_cues, is_complaint, mark_negation
from enrich.sentiment.lexicon import LexiconSentiment, english_lexicon, french_lexicon, score_text
from enrich.sentiment.trained import (
    Params,
    TrainedSentiment,
    default_model_path,
    load,
    save,
    train,
)
from enrich.settings import SentimentSettings
from ingest.errors import ConfigError
from veille.cli import cli

# Floors for the CI gate: measured values (README, "Sentiment quality") minus about 1.5 points.
LEXICON_FLOORS = {"fr": 61.0, "en": 60.5}
CV_FLOORS = {"fr": 67.0, "en": 60.0}
"""The trained model by 3-fold CV on UMSAB train with fixed parameters (--quick)."""
UMSAB = ("fr", "en", "de", "es", "it", "pt", "ar", "hi")


def fr(text: str) -> float:
    return score_text(text, french_lexicon())


def en(text: str) -> float:
    return score_text(text, english_lexicon())


# -- the lexicon's rules ----------------------------------------------------------------------


def test_french_negation_ne_pas_flips_the_word_it_frames() -> None:
    assert fr("je suis content") > 0.3
    assert fr("je ne suis pas content") < -0.2
    assert fr("je suis pas content") < -0.2  # spoken French drops the "ne"
    assert fr("ce n'est jamais décevant") > 0
    assert fr("sans aucun problème") > 0
    assert fr("un emballage moins toxique") > 0
    assert fr("au moins c'est rapide") > 0


def test_negators_inside_a_phrase_negate_nothing_else() -> None:
    assert fr("pas de souci") > 0
    assert fr("pas de souci, super accueil") > fr("pas de souci")
    assert fr("pas mal du tout") > 0
    assert fr("pas terrible") < 0


def test_elision_is_read_as_words() -> None:
    assert fr("j'adore") > 0.5
    assert fr("c’est nul") < -0.5  # typographic apostrophe
    assert fr("l'horreur") < -0.5


def test_intensifiers_and_dampeners() -> None:
    assert fr("très bon") > fr("bon") > fr("assez bon") > 0
    assert fr("vraiment nul") < fr("nul") < 0


def test_inflected_forms_are_found_from_the_listed_ones() -> None:
    lexicon = french_lexicon()
    for form, base in [
        ("decevantes", "decevante"),
        ("dangereuses", "dangereux"),
        ("detestent", "deteste"),
        ("adorait", "adore"),
        ("geniales", "geniale"),
        ("cruelle", "cruel"),
    ]:
        assert form not in lexicon.words
        assert lexicon.valence(form) == lexicon.valence(base), form
    assert lexicon.valence("genere") is None  # "généré" is not "gêné"
    assert fr("Elles sont déçues") < -0.3


def test_emoji_emoticons_and_hashtags() -> None:
    assert fr("Livraison reçue 😍") > 0.3
    assert fr("Livraison reçue 😡") < -0.3
    assert fr("Livraison reçue 👍") > 0.3
    assert fr("Livraison reçue :(") < 0
    assert fr("#JeSuisDéçu par la livraison") < -0.3  # camel-case hashtag, split into words
    assert fr("#catastrophe") < -0.3


def test_urls_and_capitals() -> None:
    assert fr("voir https://exemple.fr/page") == 0.0  # ":/" in a URL is not a frown
    assert en("this is GREAT news") > en("this is great news") > 0


def test_contrast_weighs_what_follows() -> None:
    assert fr("le vélo est beau mais la batterie est nulle") < 0
    assert en("The bike looks good but the battery is awful") < 0


def test_each_language_has_its_own_neutral_threshold() -> None:
    backend = LexiconSentiment()
    [weak_en, weak_fr] = backend.score(["it is fine I guess", "c'est correct"], ["en", "fr"])
    assert weak_en.model.startswith("lexicon-en@")
    assert weak_fr.model.startswith("lexicon-fr@")
    assert 0 < weak_en.score < english_lexicon().neutral
    assert weak_en.label == "neutral"
    forced = LexiconSentiment(neutral_threshold=0.0).score(["it is fine I guess"], ["en"])
    assert forced[0].label == "positive"


def test_undetermined_language_takes_the_lexicon_with_more_to_say() -> None:
    [verdict] = LexiconSentiment().score(["franchement nul, une honte"], ["und"])
    assert verdict.label == "negative"
    assert verdict.model.startswith("lexicon-fr@")


def test_probabilities_below_the_confidence_threshold_are_neutral() -> None:
    probabilities: dict[Any, float] = {"negative": 0.2, "neutral": 0.35, "positive": 0.45}
    confident = from_probabilities(probabilities, min_confidence=0.4, model="m@1")
    unsure = from_probabilities(probabilities, min_confidence=0.5, model="m@1")
    assert (confident.label, unsure.label) == ("positive", "neutral")
    assert confident.score == pytest.approx(0.25)
    assert unsure.confidence == pytest.approx(0.45)


# -- labelled files and metrics ---------------------------------------------------------------


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows)
        + "\n",
        encoding="utf-8",
    )
    return path


def test_later_labels_correct_earlier_ones_and_bad_lines_are_reported(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "labels.jsonl",
        [
            {"text": "Livraison  rapide", "label": "neutral", "lang": "fr"},
            {"id": "abc123", "text": "Bof", "label": "negative", "lang": "fr"},
            "not json",
            {"text": "x", "label": "great"},
            {"text": "Livraison rapide", "label": "positive", "lang": "fr"},  # a correction
            {"id": "abc123", "text": "Bof, en fait c'est bien", "label": "positive"},
            {"text": "Service client au top", "label": "positive", "lang": "FR"},
        ],
    )
    labeled = load_labeled(path)
    assert [(e.text, e.label, e.lang) for e in labeled.examples] == [
        ("Livraison rapide", "positive", "fr"),
        ("Bof, en fait c'est bien", "positive", "und"),
        ("Service client au top", "positive", "fr"),
    ]
    assert labeled.overridden == 2
    assert [p.split(": ", 1)[0] for p in labeled.problems] == [f"{path}:3", f"{path}:4"]
    assert "'label' must be one of" in labeled.problems[1]


def test_a_missing_labelled_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read labelled data"):
        load_labeled(tmp_path / "missing.jsonl")


def test_metrics_by_hand() -> None:
    gold = ["negative", "negative", "neutral", "positive"]
    predicted = ["negative", "neutral", "neutral", "negative"]
    report = metrics(gold, predicted)
    # negative: P 1/2, R 1/2, F1 .5; neutral: P 1/2, R 1, F1 2/3; positive: 0.
    assert report["per_class"]["negative"] == {
        "precision": 50.0,
        "recall": 50.0,
        "f1": 50.0,
        "support": 2,
    }
    assert report["macro_f1"] == pytest.approx((50 + 66.7 + 0) / 3, abs=0.05)
    assert report["macro_recall"] == pytest.approx(50.0)
    assert report["accuracy"] == 50.0
    assert report["confusion"]["positive"] == {"negative": 1, "neutral": 0, "positive": 0}


def test_eval_command_prints_the_report_as_json(tmp_path: Path) -> None:
    data = write_jsonl(
        tmp_path / "val.jsonl",
        [
            {"text": "Service client génial, merci !", "label": "positive", "lang": "fr"},
            {"text": "Une honte, je résilie", "label": "negative", "lang": "fr"},
            {"text": "La box arrive mardi", "label": "neutral", "lang": "fr"},
            {"text": "Terrible support, what a disaster", "label": "negative", "lang": "en"},
        ],
    )
    result = CliRunner().invoke(
        cli,
        ["sentiment", "eval", "--data", str(data), "--format", "json", "--backend", "lexicon"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {"n", "macro_f1", "macro_recall", "accuracy", "per_class", "confusion"} <= set(report)
    assert report["n"] == 4
    assert report["accuracy"] == 100.0
    assert report["macro_f1_ci"] == [100.0, 100.0]
    assert report["backend"] == "lexicon"
    assert "nothing learnt" in report["how"]


def test_eval_says_how_the_figure_was_obtained_and_its_interval(tmp_path: Path) -> None:
    rows = [
        {"text": "Service client génial, merci !", "label": "positive", "lang": "fr"},
        {"text": "Une honte, je résilie", "label": "negative", "lang": "fr"},
        {"text": "La box arrive mardi", "label": "neutral", "lang": "fr"},
        {"text": "Terrible support, what a disaster", "label": "negative", "lang": "en"},
        {"text": "Love the new app, great job", "label": "positive", "lang": "en"},
    ]
    data = write_jsonl(tmp_path / "val.jsonl", rows)
    result = CliRunner().invoke(
        cli, ["sentiment", "eval", "--data", str(data)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith("trained on val.jsonl: n=5  macro-F1 ")
    assert "[95% CI " in first
    assert "how: trained backend (trained@" in result.output
    assert "the model shipped with Veille" in result.output
    assert "nested cross-validation" in result.output
    assert "bootstrap over the texts" in result.output
    assert "training data" not in result.stderr


def test_eval_warns_when_the_texts_were_in_the_training_data(tmp_path: Path) -> None:
    rows = [
        {"text": f"le forfait zorglub numéro {i}", "label": "negative", "lang": "fr"}
        for i in range(6)
    ] + [
        {"text": f"la box plimplim modèle {i}", "label": "neutral", "lang": "fr"} for i in range(6)
    ]
    data = write_jsonl(tmp_path / "labels.jsonl", rows)
    path = save(train(load_labeled(data).examples), tmp_path)
    result = CliRunner().invoke(
        cli,
        ["sentiment", "eval", "--data", str(data), "--backend", "trained", "--model", str(path)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "12 of these 12 texts were in the model's training data" in result.stderr
    assert "training score, not a quality figure" in result.output


def test_a_backend_without_its_model_is_a_usage_error(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "val.jsonl", [{"text": "top", "label": "positive"}])
    result = CliRunner().invoke(
        cli, ["sentiment", "eval", "--data", str(data), "--backend", "transformers"]
    )
    assert result.exit_code == 2
    assert "--backend transformers needs --model PATH" in result.output


def test_the_bootstrap_interval_holds_the_figure_and_narrows_with_more_texts() -> None:
    gold = ["negative", "neutral", "positive"] * 40
    predicted = ["negative", "neutral", "positive", "neutral", "neutral", "positive"] * 20
    point = macro_f1(gold, predicted)
    low, high = bootstrap_interval(gold, predicted)
    assert low < point < high
    assert bootstrap_interval(gold, predicted) == (low, high)  # seeded: the same every time
    wide = bootstrap_interval(gold[:30], predicted[:30])
    assert wide[1] - wide[0] > high - low
    assert round(point, 1) == metrics(gold, predicted)["macro_f1"]


def test_training_needs_enough_labels() -> None:
    few = [Labeled(f"texte {i}", "positive", "fr") for i in range(20)]
    with pytest.raises(ConfigError, match="at least 2 of each of at least 2 labels"):
        train(few)


def test_a_model_trained_on_corrected_labels_learns_the_corrections(tmp_path: Path) -> None:
    rows = []
    for i in range(12):
        rows.append({"text": f"le forfait zorglub numéro {i}", "label": "negative", "lang": "fr"})
        rows.append({"text": f"la box plimplim modèle {i}", "label": "neutral", "lang": "fr"})
    # The analyst corrects every "zorglub" label: those mentions were positive after all.
    rows += [{**r, "label": "positive"} for r in rows if "zorglub" in r["text"]]
    data = write_jsonl(tmp_path / "labels.jsonl", rows)
    result = CliRunner().invoke(
        cli,
        ["sentiment", "train", "--data", str(data), "--out", str(tmp_path)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "12 earlier labels replaced by corrections" in result.output
    [path] = tmp_path.glob("sentiment-*.npz")
    backend = TrainedSentiment(path)
    [verdict] = backend.score(["le forfait zorglub numéro 99"], ["fr"])
    assert verdict.label == "positive"
    assert verdict.model == f"trained@{path.stem.removeprefix('sentiment-')}"
    assert backend.model.examples == {"negative": 0, "neutral": 12, "positive": 12}


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "model.npz"
    junk.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="not a Veille sentiment model"):
        TrainedSentiment(junk)
    with pytest.raises(ConfigError, match="not found"):
        TrainedSentiment(tmp_path / "missing.npz")
    import pickle

    old = tmp_path / "sentiment-0123456789ab.joblib"  # format 2 was a (joblib) pickle
    old.write_bytes(pickle.dumps({"format": 2, "model": None}))
    with pytest.raises(ConfigError, match=r"earlier Veille .*train it again"):
        TrainedSentiment(old)


def test_a_model_file_round_trips_without_pickles_and_training_is_reproducible(
    tmp_path: Path,
) -> None:
    import numpy as np

    examples = [
        Labeled(text, label, lang)
        for i in range(15)
        for text, label, lang in [
            (f"service génial numéro {i}, bravo", "positive", "fr"),
            (f"panne encore, nul {i}", "negative", "fr"),
            (f"great support, thanks {i}", "positive", "en"),
            (f"awful outage again {i}", "negative", "en"),
            (f"the box {i} ships on Tuesday", "neutral", "en"),
        ]
    ]
    small = Params(min_examples=20, words=500, chars=1000)
    first, second = train(examples, small), train(examples, small)
    assert first.version == second.version
    assert sorted(first.pairs) == ["*", "en", "fr"]
    path = save(first, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as arrays:  # nothing in it needs a pickle
        assert "fr/words" in arrays.files
    loaded = load(path)
    texts = ["bravo pour le service", "awful again", "hallo welt"]
    langs = ["fr", "en", "de"]  # German has no model of its own: the "*" pair answers
    for a, b, c in zip(
        first.probabilities(texts, langs),
        second.probabilities(texts, langs),
        loaded.probabilities(texts, langs),
        strict=True,
    ):
        assert a == b
        assert a == pytest.approx(c, abs=2e-3)  # coefficients are stored as float16
    assert loaded.version == first.version
    assert loaded.languages == {"fr": 30, "en": 45}


# -- the shipped model, the default ----------------------------------------------------------


def test_the_shipped_model_is_the_default_and_loads_offline() -> None:
    assert SentimentSettings().backend == "trained"
    assert SentimentSettings().model is None
    backend = open_sentiment(SentimentSettings())
    assert isinstance(backend, TrainedSentiment)
    assert backend.shipped
    assert backend.path == default_model_path()
    assert default_model_path().stat().st_size < 5_000_000
    model = backend.model
    assert set(model.languages) == set(UMSAB)
    assert set(model.pairs) == {*UMSAB, "*"} - {"hi"}  # Hindi: the shared models (Params)
    assert sum(model.examples.values()) > 14_000
    [fr_verdict, en_verdict] = backend.score(
        ["Franchement nul, une honte", "I love it, thank you so much!"], ["fr", "en"]
    )
    assert (fr_verdict.label, en_verdict.label) == ("negative", "positive")
    assert fr_verdict.model == f"trained@{model.version}"


# -- customer-service complaints -------------------------------------------------------------
# Written for these tests (from no dataset): complaints to a brand with no negative word.

FRENCH_COMPLAINTS = [
    "Toujours pas de réponse à mon mail de la semaine dernière",
    "ça fait 3 semaines que j'attends mon remboursement",
    "Commande annulée sans prévenir, merci pour l'info",
    "On m'avait promis un rappel hier, j'attends encore",
    "Mis en attente 40 minutes au téléphone pour finalement raccrocher",
    "Colis jamais reçu et personne ne répond au service client",
    "Depuis 10 jours ma box devait être livrée",
    "Trois appels, toujours rien, le technicien devait passer lundi",
    "J'attends toujours le remboursement promis par @Lumen",
]
ENGLISH_COMPLAINTS = [
    "still waiting for a reply to my email from last week",
    "on hold for an hour and counting",
    "no refund yet, 3 weeks after returning the parcel",
    "My order was cancelled without any notice",
    "You promised me a callback yesterday, nobody called",
    "Package never arrived and no one answers the phone",
    "Been waiting 45 minutes for someone to pick up",
    "I was told the technician would come on Monday. It's Thursday.",
    "Where is my refund @acme? It's been two weeks",
]
SERVICE_PRAISE = [
    ("fr", "Remboursement reçu en deux jours, merci, super service !"),
    ("fr", "remboursement reçu en deux jours, merci !"),
    ("fr", "Réponse rapide du service client, au top"),
    ("en", "Got my refund within two days, great service, thank you!"),
    ("en", "Quick reply from support, love it"),
]


def test_complaint_cues_are_found_in_both_languages() -> None:
    assert {FAMILIES[i] for i, on in enumerate(complaint_cues("no refund yet")) if on} == {"refund"}
    assert complaint_cues("on hold for an hour")[FAMILIES.index("on_hold")]
    assert complaint_cues("on m'avait promis un rappel")[FAMILIES.index("broken_promise")]
    assert complaint_cues("commande annulée sans prévenir")[FAMILIES.index("cancelled")]
    assert complaint_cues("TOUJOURS PAS DE RÉPONSE")[FAMILIES.index("no_answer")]
    for text in FRENCH_COMPLAINTS + ENGLISH_COMPLAINTS:
        assert is_complaint(text), text
    for text in ["I have been waiting for this album all year!", "Bonne attente à tous"]:
        assert not is_complaint(text), text


def test_negation_marks_the_words_that_follow_until_punctuation() -> None:
    assert mark_negation("I don't like it, but fine") == "i don't NEG_like NEG_it but fine"
    assert mark_negation("Ce n'est pas terrible du tout !") == (
        "ce n'est pas NEG_terrible NEG_du NEG_tout"
    )
    assert mark_negation("no refund yet") == "no NEG_refund NEG_yet"
    assert mark_negation("Das ist nicht gut") == "das ist nicht NEG_gut"


@pytest.mark.parametrize(
    ("lang", "text"),
    [("fr", t) for t in FRENCH_COMPLAINTS] + [("en", t) for t in ENGLISH_COMPLAINTS],
)
def test_complaints_without_a_negative_word_are_negative(lang: str, text: str) -> None:
    [verdict] = open_sentiment(SentimentSettings()).score([text], [lang])
    assert verdict.label == "negative", (text, verdict)


@pytest.mark.parametrize(("lang", "text"), SERVICE_PRAISE)
def test_praise_of_the_service_stays_positive(lang: str, text: str) -> None:
    [verdict] = open_sentiment(SentimentSettings()).score([text], [lang])
    assert verdict.label == "positive", (text, verdict)


# -- the quality gate (../shared/data) ---------------------------------------------------------


def _eval(data: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        cli,
        ["sentiment", "eval", "--data", str(data), "--format", "json", *args],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.output)
    return report


@pytest.mark.shared_data
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_lexicon_macro_f1_on_umsab_val_holds_its_floor(shared_data: Path, lang: str) -> None:
    report = _eval(shared_data / "sentiment" / f"umsab_{lang}_val.jsonl", "--backend", "lexicon")
    assert report["n"] == 324
    assert report["macro_f1"] >= LEXICON_FLOORS[lang], report


@pytest.mark.shared_data
def test_french_is_at_least_as_good_as_english_with_the_lexicon(shared_data: Path) -> None:
    scores = {
        lang: _eval(shared_data / "sentiment" / f"umsab_{lang}_val.jsonl", "--backend", "lexicon")[
            "macro_f1"
        ]
        for lang in ("fr", "en")
    }
    assert scores["fr"] >= scores["en"], scores


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_trained_macro_f1_by_cross_validation_on_umsab_train_holds_its_floor(
    shared_data: Path, lang: str
) -> None:
    from bench.sentiment_cv import cross_validate

    examples = load_labeled(shared_data / "sentiment" / f"umsab_{lang}_train.jsonl").examples
    trained, lexicon = cross_validate(lang, examples, (Params(folds=3),), 3)
    score = macro_f1(trained.gold, trained.predicted)
    assert score >= CV_FLOORS[lang], trained.line()
    assert score > macro_f1(lexicon.gold, lexicon.predicted), (trained.line(), lexicon.line())


@pytest.mark.shared_data
@pytest.mark.parametrize("lang", UMSAB)
def test_the_shipped_model_beats_the_lexicon_on_every_val_set(shared_data: Path, lang: str) -> None:
    val = shared_data / "sentiment" / f"umsab_{lang}_val.jsonl"
    trained = _eval(val)
    lexicon = _eval(val, "--backend", "lexicon")
    assert trained["backend"] == "trained"
    assert trained["seen_in_training"] == 0
    assert trained["macro_f1"] > lexicon["macro_f1"], (trained, lexicon)


def test_a_relative_model_path_is_relative_to_the_configuration_file(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    from veille.settings import load_settings

    path = write_config({"enrich": {"sentiment": {"backend": "trained", "model": "m/s.joblib"}}})
    settings = load_settings(path)
    assert settings.enrich.sentiment.model == tmp_path / "m" / "s.joblib"
