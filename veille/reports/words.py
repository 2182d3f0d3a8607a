"""The words of a report in French and English, and numbers, percentages and dates written the
language's way (Babel's CLDR data: ``1 234``, ``12,5 %``, ``lundi 23 novembre 2026``)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

LOCALES = {"fr": "fr_FR", "en": "en_GB"}

WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Rapport de veille",
        "weekly": "Rapport hebdomadaire",
        "week": "Semaine {week} : du {start} au {end}",
        "period": "Du {start} au {end}",
        "generated": "Généré le {when} ({zone})",
        "headline": "Chiffres clés",
        "figure": "Indicateur",
        "this_period": "Cette période",
        "previous_period": "Période précédente",
        "change": "Évolution",
        "mentions": "Mentions",
        "authors": "Auteurs uniques",
        "reach": "Audience potentielle",
        "negative_share": "Part de négatif",
        "net_sentiment": "Sentiment net",
        "satisfaction": "Indice de satisfaction",
        "negative": "Négatif",
        "neutral": "Neutre",
        "positive": "Positif",
        "unknown": "Non évalué",
        "total": "Total",
        "day": "Jour",
        "timeline": "Mentions par jour et par tonalité",
        "timeline_note": "Les alertes de la période sont marquées sur la frise.",
        "negative_trend": "Part de négatif jour par jour",
        "share_of_voice": "Part de voix",
        "sov_note": "Les concurrents sans requête propre sont comptés parmi les mentions "
        "collectées qui les nomment.",
        "name": "Nom",
        "kind_brand": "marque suivie",
        "kind_named": "cité",
        "share": "Part",
        "top_sources": "Principales sources",
        "source": "Source",
        "top_sites": "Principaux sites",
        "site": "Site",
        "top_authors": "Auteurs les plus actifs",
        "author": "Auteur",
        "influencers": "Principaux influenceurs",
        "followers": "Abonnés",
        "stories": "Principaux sujets",
        "stories_note": "Un sujet repris par plusieurs médias n'est compté qu'une fois.",
        "story": "Sujet",
        "outlets": "Médias",
        "first": "Premier à publier",
        "engaging": "Mentions les plus engageantes",
        "most_negative": "Mentions les plus négatives",
        "engagement": "Engagement",
        "published": "Publié",
        "sentiment": "Tonalité",
        "link": "Lien",
        "terms": "Termes émergents",
        "term": "Terme",
        "sources_moved": "Sources en hausse et en baisse",
        "grew": "En hausse",
        "fell": "En baisse",
        "before": "Avant",
        "now": "Maintenant",
        "incidents": "Incidents de la semaine",
        "no_incident": "Aucune alerte sur la période.",
        "started": "Début",
        "peak": "Pic",
        "acknowledged": "Pris en compte",
        "resolved": "Résolu",
        "status": "État",
        "why": "Pourquoi",
        "completeness": "Complétude des données",
        "completeness_note": "Mentions par source et par jour ; un jour sans mention d'une "
        "source habituellement active est signalé.",
        "gaps": "Jours sans donnée",
        "other_sources": "Et {n} autres sources, sans interruption (toutes dans le classeur).",
        "none": "aucun",
        "nothing": "Rien sur la période.",
        "mentions_of": "{n} mentions",
        "status_open": "ouvert",
        "status_acknowledged": "pris en compte",
        "status_resolved": "résolu",
        "summary": "Veille de {brands}, {period} : {mentions} mentions ({change}), "
        "{negative} de négatif, {incidents} incident(s).",
        "contents": "Sommaire",
        "page": "Page",
    },
    "en": {
        "title": "Monitoring report",
        "weekly": "Weekly report",
        "week": "Week {week}: {start} to {end}",
        "period": "{start} to {end}",
        "generated": "Generated on {when} ({zone})",
        "headline": "Key figures",
        "figure": "Figure",
        "this_period": "This period",
        "previous_period": "Previous period",
        "change": "Change",
        "mentions": "Mentions",
        "authors": "Unique authors",
        "reach": "Potential reach",
        "negative_share": "Negative share",
        "net_sentiment": "Net sentiment",
        "satisfaction": "Satisfaction index",
        "negative": "Negative",
        "neutral": "Neutral",
        "positive": "Positive",
        "unknown": "Not rated",
        "total": "Total",
        "day": "Day",
        "timeline": "Mentions per day by sentiment",
        "timeline_note": "The period's alerts are marked on the timeline.",
        "negative_trend": "Negative share day by day",
        "share_of_voice": "Share of voice",
        "sov_note": "Competitors without a query of their own are counted among the collected "
        "mentions that name them.",
        "name": "Name",
        "kind_brand": "watched brand",
        "kind_named": "named",
        "share": "Share",
        "top_sources": "Top sources",
        "source": "Source",
        "top_sites": "Top sites",
        "site": "Site",
        "top_authors": "Most active authors",
        "author": "Author",
        "influencers": "Top influencers",
        "followers": "Followers",
        "stories": "Top stories",
        "stories_note": "A story carried by several outlets is counted once.",
        "story": "Story",
        "outlets": "Outlets",
        "first": "First to publish",
        "engaging": "Most engaging mentions",
        "most_negative": "Most negative mentions",
        "engagement": "Engagement",
        "published": "Published",
        "sentiment": "Sentiment",
        "link": "Link",
        "terms": "Emerging terms",
        "term": "Term",
        "sources_moved": "Sources that grew and fell",
        "grew": "Grew",
        "fell": "Fell",
        "before": "Before",
        "now": "Now",
        "incidents": "The week's incidents",
        "no_incident": "No alert over the period.",
        "started": "Started",
        "peak": "Peak",
        "acknowledged": "Acknowledged",
        "resolved": "Resolved",
        "status": "Status",
        "why": "Why",
        "completeness": "Data completeness",
        "completeness_note": "Mentions per source and day; a day without mentions from a "
        "usually active source is flagged.",
        "gaps": "Days without data",
        "other_sources": "And {n} other sources, without gaps (all of them in the workbook).",
        "none": "none",
        "nothing": "Nothing over the period.",
        "mentions_of": "{n} mentions",
        "status_open": "open",
        "status_acknowledged": "acknowledged",
        "status_resolved": "resolved",
        "summary": "Monitoring of {brands}, {period}: {mentions} mentions ({change}), "
        "{negative} negative, {incidents} incident(s).",
        "contents": "Contents",
        "page": "Page",
    },
}


class Words:
    """A report's words and number formats in one language, dates in one time zone."""

    def __init__(self, lang: str, zone: ZoneInfo) -> None:
        self.lang = lang if lang in WORDS else "en"
        self.locale = LOCALES[self.lang]
        self.zone = zone
        # The locale's own percent pattern (``#,##0 %`` in French, ``#,##0%`` in English) with
        # the decimals a report needs.
        pattern = Locale.parse(self.locale).percent_formats[None].pattern
        self._percent = pattern.replace("0", "0.0", 1) if "0.0" not in pattern else pattern
        self._whole_percent = pattern

    def __call__(self, key: str, **values: object) -> str:
        return WORDS[self.lang][key].format(**values)

    def number(self, value: float | None) -> str:
        if value is None:
            return "–"
        return format_decimal(
            value, format="#,##0" if value == int(value) else "#,##0.0", locale=self.locale
        )

    def percent(self, value: float | None) -> str:
        return "–" if value is None else format_percent(value, self._percent, locale=self.locale)

    def signed(self, value: float | None) -> str:
        """A net sentiment from -1 to 1, written -100 to +100."""
        if value is None:
            return "–"
        points = round(value * 100)
        return ("+" if points > 0 else "") + format_decimal(points, locale=self.locale)

    def change(self, now: float | None, before: float | None, *, points: bool = False) -> str:
        """How ``now`` moved from ``before``: a relative change, or ``points`` for shares."""
        if now is None or before is None:
            return "–"
        if points:
            delta = (now - before) * 100
            text = format_decimal(round(delta, 1), format="#,##0.0", locale=self.locale)
            unit = " pt" if self.lang == "fr" else " pts"
            return ("+" if delta > 0 else "") + text + unit
        if before == 0:
            return "–" if now == 0 else "+∞"
        ratio = (now - before) / before
        text = format_percent(ratio, self._whole_percent, locale=self.locale)
        return ("+" if ratio > 0 else "") + text

    def day(self, value: date) -> str:
        """``lundi 23 novembre 2026``."""
        return format_date(value, "EEEE d MMMM y", locale=self.locale)

    def short_day(self, value: date) -> str:
        """``lun. 23/11``."""
        return format_date(value, "EEE dd/MM", locale=self.locale)

    def date(self, value: date) -> str:
        """``23 novembre 2026``."""
        return format_date(value, "d MMMM y", locale=self.locale)

    def when(self, value: datetime | None) -> str:
        """``23/11/2026 14:05`` in the report's zone."""
        if value is None:
            return "–"
        return format_datetime(value, "dd/MM/y HH:mm", tzinfo=self.zone, locale=self.locale)

    def status(self, value: str) -> str:
        return WORDS[self.lang].get(f"status_{value}", value)

    def sentiment(self, value: str) -> str:
        return WORDS[self.lang].get(value, value)
