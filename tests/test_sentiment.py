"""Sentiment: the lexicon's rules, labelled files, metrics, training, and the quality gate.

The quality gate pins each backend's macro-F1 on the UMSAB French and English val sets
(``../shared/data/sentiment``) at floors a little below what was measured (see the README):
a change that makes sentiment worse fails CI.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from enrich.sentiment import from_probabilities
from enrich.sentiment.evaluate import Labeled, load_labeled, metrics
from enrich.sentiment.lexicon import LexiconSentiment, english_lexicon, french_lexicon, score_text
from enrich.sentiment.trained import TrainedSentiment, save, train
from ingest.errors import ConfigError
from veille.cli import cli

# Floors for the CI gate: measured values (README, "Sentiment quality") minus about 1.5 points.
LEXICON_FLOORS = {"fr": 61.0, "en": 60.5}
TRAINED_FLOORS = {"fr": 66.0, "en": 64.5}


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
        cli, ["sentiment", "eval", "--data", str(data), "--format", "json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {"n", "macro_f1", "macro_recall", "accuracy", "per_class", "confusion"} <= set(report)
    assert report["n"] == 4
    assert report["accuracy"] == 100.0
    assert report["backend"] == "lexicon"


def test_a_backend_without_its_model_is_a_usage_error(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "val.jsonl", [{"text": "top", "label": "positive"}])
    result = CliRunner().invoke(
        cli, ["sentiment", "eval", "--data", str(data), "--backend", "trained"]
    )
    assert result.exit_code == 2
    assert "--backend trained needs --model PATH" in result.output


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
    [path] = tmp_path.glob("sentiment-*.joblib")
    backend = TrainedSentiment(path)
    [verdict] = backend.score(["le forfait zorglub numéro 99"], ["fr"])
    assert verdict.label == "positive"
    assert verdict.model == f"trained@{path.stem.removeprefix('sentiment-')}"
    assert backend.model.examples == {"negative": 0, "neutral": 12, "positive": 12}


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "model.joblib"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(ConfigError, match="not a Veille sentiment model"):
        TrainedSentiment(junk)
    with pytest.raises(ConfigError, match="not found"):
        TrainedSentiment(tmp_path / "missing.joblib")


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
        lang: _eval(shared_data / "sentiment" / f"umsab_{lang}_val.jsonl")["macro_f1"]
        for lang in ("fr", "en")
    }
    assert scores["fr"] >= scores["en"], scores


@pytest.fixture(scope="module")
def umsab_model(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Path]:
    """Train the trained backend on UMSAB French and English train, once for the module."""
    made: dict[str, Path] = {}

    def build(shared: Path) -> Path:
        if "model" not in made:
            out = tmp_path_factory.mktemp("umsab-model")
            files = [shared / "sentiment" / f"umsab_{lang}_train.jsonl" for lang in ("fr", "en")]
            made["model"] = save(train(load_labeled(*files).examples), out)
        return made["model"]

    return build


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_training_on_umsab_train_beats_the_lexicon_on_val(
    shared_data: Path, umsab_model: Callable[[Path], Path], lang: str
) -> None:
    model = umsab_model(shared_data)
    val = shared_data / "sentiment" / f"umsab_{lang}_val.jsonl"
    trained = _eval(val, "--backend", "trained", "--model", str(model))
    lexicon = _eval(val, "--backend", "lexicon")
    assert trained["macro_f1"] > lexicon["macro_f1"], (trained, lexicon)
    assert trained["macro_f1"] >= TRAINED_FLOORS[lang], trained


def test_a_relative_model_path_is_relative_to_the_configuration_file(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    from veille.settings import load_settings

    path = write_config({"enrich": {"sentiment": {"backend": "trained", "model": "m/s.joblib"}}})
    settings = load_settings(path)
    assert settings.enrich.sentiment.model == tmp_path / "m" / "s.joblib"
