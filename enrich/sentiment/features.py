"""What the trained sentiment model reads in a text, besides its words: negation scope and
customer-service complaints.

- `prepare`: URLs and @handles become placeholders (``http``, ``@user``), so that they neither
  make the vocabulary grow nor tell one author from another;
- `mark_negation`: the words that follow a negator ("not", "pas", "jamais", "nicht", "non",
  "não", "لا", "नहीं"...) up to the next punctuation mark, three words at most, get a ``NEG_``
  prefix, so that "not good" and "good" are different words to the word n-gram model;
- `complaint_cues`: how a customer complains without a negative word, in French and English:
  waiting ("still waiting for a reply", "ça fait 3 semaines que j'attends"), no answer ("no
  reply", "personne ne répond"), on hold ("on hold for an hour", "mis en attente"), cancelled
  ("commande annulée sans prévenir"), refund ("no refund yet", "toujours pas remboursé"),
  broken promise ("on m'avait promis un rappel", "was supposed to arrive"), not received
  ("never arrived", "colis jamais reçu"). Each family is a feature of the trained model, and
  `is_complaint` says when a text is one.

The patterns run on folded text (`ingest.text.index_text`: lower case, no accents, no
punctuation; "don't" is "don t"), so "réponse", "reponse" and "RÉPONSE" are one word.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ingest.text import index_text

VERSION = "1"
"""Changes when what the features read changes: a model's version includes it."""

_URL = re.compile(r"https?://\S+|\bwww\.\S+|\bhttp\b")
_HANDLE = re.compile(r"@\w+")

_NEGATOR_WORDS = """
    not no never nothing nobody none nor neither without cannot cant dont doesnt didnt isnt
    arent wasnt werent wont wouldnt shouldnt couldnt havent hasnt hadnt aint
    pas jamais rien aucun aucune sans ni personne guere
    nicht kein keine keinen keinem keiner keines nie niemals nichts ohne niemand
    nunca nada nadie sin tampoco jamas
    non mai niente nulla nessuno nessuna senza
    nao nenhum nenhuma sem nem ninguem
    لا لم لن ليس ليست غير بدون ما
    नहीं न ना मत बिना कभी
    """
NEGATORS = frozenset(index_text(w).replace(" ", "") for w in _NEGATOR_WORDS.split())
"""Negators of the eight UMSAB languages, folded (no accents, apostrophes dropped)."""

_SCOPE = 3
_WORDS = re.compile(r"[.,!?;:()\[\]\"]+|[^\s.,!?;:()\[\]\"]+")
_PUNCT = re.compile(r"[.,!?;:()]+")


def prepare(text: str) -> str:
    """``text`` with URLs as ``http`` and @handles as ``@user``."""
    return _HANDLE.sub("@user", _URL.sub(" http ", text))


@lru_cache(maxsize=100_000)
def mark_negation(text: str) -> str:
    """The words of ``text`` (lower case), those within a negator's scope prefixed ``NEG_``."""
    out: list[str] = []
    scope = 0
    for item in _WORDS.findall(text.lower()):
        if _PUNCT.fullmatch(item):
            scope = 0
            continue
        word = item.replace("’", "'")
        key = word.replace("'", "")
        if not key.isascii():
            key = index_text(key).replace(" ", "")
        if key in NEGATORS:
            out.append(word)
            scope = _SCOPE
            continue
        if scope:
            out.append("NEG_" + word)
            scope -= 1
        else:
            out.append(word)
    return " ".join(out)


_NUMBER = (
    r"(?:\d+|an|a|one|two|three|four|five|six|several|few"
    r"|une|un|deux|trois|quatre|cinq|six|plusieurs|quelques)"
)
_UNIT_EN = r"(?:min(?:ute)?s?|hours?|hrs?|days?|weeks?|months?)"
_UNIT_FR = r"(?:min(?:ute)?s?|heures?|h|jours?|semaines?|mois)"
_NOT_EN = (
    r"(?:not|never|didn t|did not|haven t|have not|hasn t|has not|still no|still not|yet to|no)"
)

COMPLAINTS: dict[str, tuple[str, ...]] = {
    "waiting": (
        r"\b(?:still|keep|kept) waiting\b",
        rf"\bwait(?:ed|ing)? (?:for )?(?:over |more than |almost )?{_NUMBER} {_UNIT_EN}\b",
        rf"\b{_NUMBER} {_UNIT_EN} (?:and (?:still|counting|nothing)|of waiting)\b",
        r"\bstill (?:no|nothing|haven t|hasn t|have not|has not) (?:reply|response|answer|word"
        r"|news|refund|update|call|email|help|delivery|package|parcel|order|heard|received|got"
        r"|gotten|had)\b",
        r"\bwhere is my\b",
        r"\bj (?:attends|ai attendu)\b",
        r"\b(?:toujours|encore) (?:pas|rien|aucun|aucune|en attente|j attends|sans)\b",
        rf"\b(?:ca|cela) fait {_NUMBER} {_UNIT_FR}\b",
        rf"\bdepuis (?:plus de |presque )?{_NUMBER} {_UNIT_FR}\b",
        rf"\b{_NUMBER} {_UNIT_FR} (?:d attente|que j attends|plus tard|et toujours)\b",
        r"\b(?:ou est|ou en est) (?:ma|mon|mes)\b",
        r"\btoujours (?:rien|pas) recu\b",
    ),
    "no_answer": (
        r"\bno (?:reply|replies|response|responses|answer|answers|callback|call back|word|news"
        r"|one (?:answers|replies|responds|picks up|called back))\b",
        rf"\b{_NOT_EN} (?:heard back|(?:got|get|gotten|had) (?:a |any )?(?:reply|response|answer"
        rf"|call back|callback))\b",
        r"\b(?:never|didn t|did not|haven t|have not|hasn t|has not|doesn t|don t|won t|nobody|no"
        r" one) (?:reply|replied|respond|responded|answer|answered|call(?:ed)? (?:me )?back|get"
        r" back|got back|pick(?:ed)? up)\b",
        r"\b(?:ignor(?:ed|ing) (?:me|my|us|our)|ghosted)\b",
        r"\b(?:pas|aucune|aucun|sans|jamais eu) (?:de |d )?(?:reponse|retour|nouvelles|rappel)\b",
        r"\b(?:personne|on) ne (?:repond|rappelle|decroche|m a (?:rappele|repondu))\b",
        r"\b(?:ne|n) (?:repond|repondent|rappelle|rappellent|decroche|decrochent)\b",
        r"\b(?:jamais|pas) (?:rappele|rappelee|repondu|eu de reponse)\b",
        r"\b(?:injoignable|injoignables|ignore (?:mes|mon|ma))\b",
    ),
    "on_hold": (
        r"\bon hold\b",
        r"\bhold music\b",
        r"\b(?:in|stuck in) (?:the |a )?queue\b",
        r"\b(?:transferred|passed) (?:\w+ )?(?:times|again|around)\b",
        r"\b(?:mis|mise|reste|restee) en attente\b",
        r"\bmusique d attente\b",
        rf"\b{_NUMBER} {_UNIT_FR} (?:au telephone|en ligne|pendu)\b",
        r"\bbalade de service en service\b",
    ),
    "cancelled": (
        r"\bcancel+(?:ed|led) (?:my|our|the|without)\b",
        r"\b(?:my|our) (?:order|flight|booking|reservation|subscription) (?:was|got|has been)"
        r" cancel+ed\b",
        r"\bannul(?:e|ee|es|ees) sans\b",
        r"\b(?:commande|vol|reservation|abonnement|rendez vous|livraison) annul(?:e|ee|es|ees)\b",
        r"\bon (?:m a|nous a) annule\b",
    ),
    "refund": (
        r"\b(?:no|still no|not|never|without|waiting for|waiting on|where is) (?:a |my |the |any"
        r" )?refund",
        r"\brefund (?:yet|still)\b",
        r"\b(?:charged|billed|debited) (?:twice|two times|again|double)\b",
        r"\bwant (?:my|our) money back\b",
        r"\b(?:pas|jamais|toujours pas|aucun|sans|attends|attente de|attendre) (?:de |d |mon |le "
        r"|un )?rembours",
        r"\b(?:preleve|prelevee|debite|debitee|facture|facturee) (?:deux fois|2 fois|a tort)\b",
    ),
    "broken_promise": (
        r"\b(?:was|were|you) (?:promised|told|supposed to)\b",
        r"\bpromised (?:me|us|a|to|that)\b",
        r"\bsaid (?:they|you|it) (?:would|d)\b",
        r"\b(?:m|nous) (?:avait|avaient|a|ont) (?:promis|assure|garanti)\b",
        r"\b(?:etait|etaient) cense(?:e|s|es)?\b",
        r"\b(?:devait|devaient|devais) (?:arriver|etre|me|nous|m)\b",
        r"\bon m (?:a|avait) dit que\b",
    ),
    "not_received": (
        r"\b(?:never|still not|hasn t|has not|haven t|have not|didn t|did not|not yet) (?:arrived"
        r"|received|delivered|shown up|showed up|come|came|got it)\b",
        r"\b(?:lost|lose) (?:my|our) (?:package|parcel|luggage|bag|bags|order)\b",
        r"\b(?:pas|jamais|toujours pas) (?:recu|recue|arrive|arrivee|livre|livree)\b",
        r"\b(?:colis|commande|valise|bagage)s? (?:perdu|perdue|perdus|egare)\b",
    ),
}
"""The complaint families and their patterns, on folded text."""

_COMPILED = {name: re.compile("|".join(p)) for name, p in COMPLAINTS.items()}
FAMILIES = tuple(COMPLAINTS)


@lru_cache(maxsize=100_000)
def complaint_cues(text: str) -> tuple[int, ...]:
    """For each complaint family (`FAMILIES`, in order), 1 when ``text`` has one of its cues."""
    folded = index_text(text.replace("’", "'"))
    return tuple(int(bool(_COMPILED[name].search(folded))) for name in FAMILIES)


def is_complaint(text: str) -> bool:
    """Whether ``text`` has a cue of any complaint family."""
    return any(complaint_cues(text))
