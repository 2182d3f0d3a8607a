"""What alerts say, in English and French (``alerts.language``): every phrase of a headline and a
notification, by key, and numbers written the language's way (``1.5`` and ``1,234`` in English,
``1,5`` and ``1 234`` in French).

An alert's why records the language it was written in (``Why.lang``), so its headline and the
notices rendered from it (resolution, acknowledgement) agree.
"""

from __future__ import annotations

from typing import Any, Literal

Language = Literal["en", "fr"]
LANGUAGES: tuple[Language, ...] = ("en", "fr")

NARROW_NBSP = "\u202f"
"""French groups thousands with a narrow no-break space, and puts one before ``:``."""

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        # headlines
        "spike": "{brand}: {observed} {metric} in {window} min where {expected}, p={p}, "
        "since {since}",
        "expected.none": "almost none were expected",
        "expected.some": "{expected} were expected ({ratio})",
        "influencer": "{brand}: negative post by influential author {author}{followers} on {site}",
        "terms": "{brand}: words suddenly frequent in negative mentions of the last {window} min: "
        "{words}",
        "test": "Test from Veille: rule {rule} on {brand} reaches this channel",
        # metrics and severities
        "metric.negative": "negative mentions",
        "metric.total": "mentions",
        "metric.negative_share": "share of negative mentions",
        "metric.negative_reach": "reach-weighted negative mentions",
        "severity.critical": "critical",
        "severity.warning": "warning",
        "severity.info": "info",
        # titles and summaries
        "tag.trigger": "{severity}",
        "tag.repeat": "{severity}, still going on",
        "tag.test": "TEST",
        "resolved.title": "[RESOLVED] {brand}: back to normal ({rule})",
        "resolved.summary": "The alert opened {opened} is resolved. It was: {headline}",
        "ack.title": "[ACK] {brand}: acknowledged by {who}",
        "ack.someone": "someone",
        # facts
        "fact.brand": "Brand",
        "fact.rule": "Rule",
        "fact.severity": "Severity",
        "fact.metric": "Metric",
        "fact.observed": "Observed / expected",
        "fact.observed.value": "{observed} / {expected} in {window} min",
        "fact.unusual": "How unusual",
        "fact.seen": "Seen lately",
        "fact.seen.value": "{per_week} buckets a week this unusual",
        "fact.since": "Since",
        "fact.alert": "Alert",
        # sections
        "section.mentions": "Top negative mentions",
        "section.authors": "Authors",
        "section.terms": "Emerging terms",
        "section.sites": "Sites",
        "section.search": "Search",
        "open_kibana": "Open in Kibana",
        "influencer.badge": "influencer",
        "followers": "{n} followers",
        "mentions.one": "{n} mention",
        "mentions.many": "{n} mentions",
        "author": "{line}: {count}",
    },
    "fr": {
        "spike": "{brand} : {observed} {metric} en {window} min {expected}, p={p}, depuis le "
        "{since}",
        "expected.none": "alors que presque aucune n'était attendue",
        "expected.some": "alors que {expected} étaient attendues ({ratio})",
        "influencer": "{brand} : message négatif de l'auteur influent {author}{followers} sur "
        "{site}",
        "terms": "{brand} : mots soudain fréquents dans les mentions négatives des {window} "
        "dernières minutes : {words}",
        "test": "Test de Veille : la règle {rule} sur {brand} atteint ce canal",
        "metric.negative": "mentions négatives",
        "metric.total": "mentions",
        "metric.negative_share": "part de mentions négatives",
        "metric.negative_reach": "mentions négatives pondérées par l'audience",
        "severity.critical": "critique",
        "severity.warning": "avertissement",
        "severity.info": "info",
        "tag.trigger": "{severity}",
        "tag.repeat": "{severity}, toujours en cours",
        "tag.test": "TEST",
        "resolved.title": "[RÉSOLU] {brand} : retour à la normale ({rule})",
        "resolved.summary": "L'alerte ouverte le {opened} est résolue. Motif : {headline}",
        "ack.title": "[PRIS EN CHARGE] {brand} : par {who}",
        "ack.someone": "quelqu'un",
        "fact.brand": "Marque",
        "fact.rule": "Règle",
        "fact.severity": "Gravité",
        "fact.metric": "Indicateur",
        "fact.observed": "Observé / attendu",
        "fact.observed.value": "{observed} / {expected} en {window} min",
        "fact.unusual": "Rareté",
        "fact.seen": "Vu récemment",
        "fact.seen.value": "{per_week} intervalles par semaine aussi inhabituels",
        "fact.since": "Depuis",
        "fact.alert": "Alerte",
        "section.mentions": "Principales mentions négatives",
        "section.authors": "Auteurs",
        "section.terms": "Termes émergents",
        "section.sites": "Sites",
        "section.search": "Recherche",
        "open_kibana": "Ouvrir dans Kibana",
        "influencer.badge": "influenceur",
        "followers": "{n} abonnés",
        "mentions.one": "{n} mention",
        "mentions.many": "{n} mentions",
        "author": "{line} : {count}",
    },
}


def say(lang: str, key: str, **values: Any) -> str:
    """The phrase ``key`` in ``lang`` (English for a language Veille does not speak)."""
    phrases = PHRASES.get(lang, PHRASES["en"])
    text = phrases[key].format(**values)
    return text.replace(" :", f"{NARROW_NBSP}:") if lang == "fr" else text


def colon(lang: str) -> str:
    """``:`` as the language writes it after a word (French puts a narrow space before it)."""
    return f"{NARROW_NBSP}:" if lang == "fr" else ":"


def written(value: float, spec: str, lang: str) -> str:
    """``value`` formatted by ``spec`` (``,.0f``, ``.2f``...), written the language's way."""
    text = format(value, spec)
    return text.replace(",", NARROW_NBSP).replace(".", ",") if lang == "fr" else text


def number(value: float, lang: str) -> str:
    """A count or a rate as people read it: whole from 10 up, one decimal below."""
    return written(value, ",.0f" if value >= 10 or value == int(value) else ",.1f", lang)


def significant(value: float, lang: str) -> str:
    """``value`` to two significant digits (an expected count): ``0.37``, ``12``."""
    if "e" in format(value, ".2g"):  # 1.2e+02 and the like: large expectations read whole
        return number(value, lang)
    return written(value, ".2g", lang)
