"""What a feed or a page declares as an author, made into the display name a reader sees, or
None when it holds no name: `clean_author`.

What is taken off:
- e-mail addresses, with their brackets: ``Name (noreply@blogger.com)`` and RSS 2.0's
  ``jane@example.com (Jane Doe)`` give the name, ``Name <jane@example.com>`` and ``mailto:``
  links likewise;
- byline words before the name, in the languages Veille watches: "by", "Posted by", "View all
  posts by", "Written by", "par", "Écrit par", "Publié par", "von", "Geschrieben von", "Por",
  "Di", "Door", "Author:", "Auteur :"... ("Di" and "von" only where they cannot be the start
  of a surname: "Di Stefano" and "von der Leyen" stay);
- what follows the name: the instance of a fediverse name ("marrow @lemmy.example"), Drupal's
  "(non vérifié)", a date or a time ("am 26/10/13, 03:48 pm", "le 3 mars 2024",
  ", il y a 3 heures", "· vor 2 Stunden"), a role ("rédactrice en chef", "| Redakteur",
  "- Staff Writer", "(Senior Editor)"), a forum's rank printed in the same element ("DougG
  Junior Member"), the other lines of a block (a name over its role);
- invisible characters (zero-width spaces, direction marks, soft hyphens) and runs of
  whitespace of any kind, folded to one space.

Kept as written: "Anonymous", "Anonyme", "Gast", "Guest" (what the page says); several authors
("A, B et C"), as one display string: splitting them would need a rule for "Dupont et Fils"
or "Simon & Garfunkel" that the field does not give (a lowercase part after a comma is the
name's description, not an author: "Luca Bassi, responsabile qualità"); handles (``/u/jdoe``,
``@jdoe@mastodon.example``), but "@jdoe" is "jdoe" and "@jdoe Jane Doe" is "Jane Doe", the name
the forum's own pages show.

None:
- a bare e-mail address. It is personal data the page did not show as a name, its local part
  is often no name at all ("noreply", "contact", "redaction"), and a top-author list of
  addresses would leak them into reports. An author-less mention is still counted; an address
  would be a wrong author and a privacy problem;
- a URL (a profile link where a name was expected), a byline word alone ("Author"), a
  platform's placeholder ("Unknown", Blogger's);
- body text: a field that is too long, has several sentences, ends like a sentence or reads
  like prose (many words, mostly small lowercase ones): the start of an article a theme put
  in its author field.

`clean_author` is idempotent: a cleaned name cleans to itself, so builders may clean what
extractors already cleaned.
"""

from __future__ import annotations

import html
import re
import unicodedata

MAX_AUTHOR_CHARS = 120
"""Longer than any display name, or list of them, that a byline shows."""
_MAX_READ = 1000
"""Characters of a field read at most."""
_MAX_NAME_WORDS = 7
"""Words in one name (one comma-separated part) at most: more is a sentence."""

_EMAIL = r"(?:mailto:)?[\w.+'-]+@[\w-]+(?:\.[\w-]+)+"
_EMAIL_RE = re.compile(_EMAIL, re.IGNORECASE)
# RSS 2.0's "address (Name)", all of the field.
_EMAIL_THEN_NAME = re.compile(rf"^\s*<?{_EMAIL}>?\s*\(\s*(?P<name>[^()]+?)\s*\)\s*$", re.I)
_BRACKETED_EMAIL = re.compile(rf"[(<\[]\s*{_EMAIL}\s*[)>\]]", re.IGNORECASE)
_LEADING_HANDLE = re.compile(r"^@([\w.-]+)(?:\s+|$)")
_HANDLE = re.compile(r"^@[\w.-]+@[\w-]+(?:\.[\w-]+)+$")
_URL = re.compile(r"^(?:https?://|www\.)\S+$", re.IGNORECASE)

_BYLINE_WORDS = (
    r"view all posts by|voir tous les articles de|alle beiträge von|all posts by|"
    r"more posts by|plus d'articles de|articles de|"
    r"posted by|written by|published by|authored by|submitted by|"
    r"écrit par|ecrit par|publié par|publiée par|publie par|rédigé par|redige par|"
    r"proposé par|mis en ligne par|posté par|poste par|"
    r"geschrieben von|verfasst von|veröffentlicht von|gepostet von|eingestellt von|"
    r"escrito por|publicado por|scritto da|pubblicato da|"
    r"geschreven door|gepost door|gepubliceerd door|"
    r"author|auteur|auteure|autor|autorin|autore|auteur·e|"
    r"by|par|por|door|von|di|av|af|przez"
)
_BYLINE = re.compile(rf"^(?:{_BYLINE_WORDS})(?:\s*[:：]\s*|\s+)", re.IGNORECASE)
# "Posted on March 3, 2024 by Jane", "Publié le 3 mars 2024 par Claire": the name follows
# the last byline word.
_DATED_BYLINE = re.compile(
    r"^(?:posted|published|written|updated|publié|publiée|écrit|mis en ligne|mis à jour|"
    r"veröffentlicht|geschrieben|aktualisiert|publicado|pubblicato|gepubliceerd)\b.*?\b"
    r"(?:by|par|von|por|da|di|door)\s+(?P<name>.+)$",
    re.IGNORECASE,
)
# What a platform prints when it has no name (Blogger's "Unknown"), unlike "Anonymous", which
# is a name a commenter chose or a page shows.
_PLACEHOLDERS = frozenset({"unknown", "unknown author", "n/a", "none", "null", "undefined"})
_PARTICLES = frozenset({"der", "den", "dem", "und", "zu", "zum", "zur"})
_ONLY_BYLINE = re.compile(rf"^(?:{_BYLINE_WORDS}|posted|written|publié|écrit)\s*:?$", re.I)
# A forum's rank printed after the name in the same element ("DougG Junior Member", "Bertrand
# Membre"): taken off the end, never the name's first word.
_RANK_WORDS = frozenset(
    {
        "member", "members", "membre", "mitglied", "moderator", "moderatorin", "modérateur",
        "modératrice", "administrator", "administrateur", "administratrice", "posts", "messages",
        "beiträge", "junior", "senior", "new", "full", "regular", "nouveau", "neues", "aktives",
        "super", "elite", "veteran", "vip", "premium", "gold", "silver", "bronze",
    }
)  # fmt: skip

_MONTHS = (
    r"jan|janv|janvier|january|januar|enero|gennaio|janeiro|januari|feb|févr|fevr|février|"
    r"february|februar|febrero|febbraio|fevereiro|februari|mar|mars|march|märz|marzo|março|"
    r"maart|apr|avr|avril|april|abril|aprile|may|mai|mayo|maggio|maio|mei|jun|juin|june|juni|"
    r"junio|giugno|junho|jul|juil|juillet|july|juli|julio|luglio|julho|aug|août|aout|august|"
    r"agosto|augustus|sep|sept|septembre|september|septiembre|settembre|setembro|oct|octobre|"
    r"october|oktober|octubre|ottobre|outubro|nov|novembre|november|noviembre|novembro|dec|déc|"
    r"décembre|decembre|december|dezember|diciembre|dicembre|dezembro"
)
# Relative dates: words that are one, and words that start one before a number.
_RELATIVE = (
    r"aujourd'hui|aujourd’hui|hier|avant-hier|à l'instant|yesterday|today|just now|gestern|"
    r"heute|vorgestern|ayer|hoy|ontem|hoje|ieri|oggi|gisteren|vandaag"
)
_BEFORE_NUMBER = r"il y a|vor|hace|há|about|environ|circa|etwa"
_WEEKDAYS = (
    r"lun|lundi|mar|mardi|mer|mercredi|jeu|jeudi|ven|vendredi|sam|samedi|dim|dimanche|mon|"
    r"monday|tue|tuesday|wed|wednesday|thu|thursday|fri|friday|sat|saturday|sun|sunday|mo|"
    r"montag|di|dienstag|mi|mittwoch|do|donnerstag|fr|freitag|sa|samstag|so|sonntag"
)
# Where a date starts after a name: a connector word then a digit or a month, a digit, a
# relative date word, a weekday followed by a digit.
_UNITS = (
    r"s|sec|secs|seconds?|secondes?|sekunden?|min|mins|minutes?|minuten?|minuti|minutos|h|hrs?|"
    r"hours?|heures?|stunden?|ore|horas?|uur|days?|jours?|tagen?|giorni|días|dias|dagen|weeks?|"
    r"semaines?|wochen?|months?|mois|monaten?|years?|ans?|années?|jahren?"
)
# A number that is a date or a time, not a name's ("Nicole du 47", "toto 42" are names).
_NUMERIC_DATE = (
    rf"\d{{1,4}}[./-]\d{{1,2}}|\d{{1,2}}[:h]\d{{2}}|\d{{1,2}}(?:er|st|nd|rd|th|\.)?\s+(?:{_MONTHS})\b|"
    rf"\d+\s*(?:{_UNITS})\b"
)
_DATE_START = re.compile(
    rf"(?:^|\s)(?:(?:am|um|at|à|le|on|il|el|em|op|den)\s+)?"
    rf"(?:{_NUMERIC_DATE}|(?:{_MONTHS})\.?\s+\d|(?:{_RELATIVE})(?!\w)|"
    rf"(?:{_BEFORE_NUMBER})\s+\d|(?:{_WEEKDAYS})\.?,?\s+\d)",
    re.IGNORECASE,
)
# Drupal's mark of a comment by a visitor without an account, in the name's element.
_UNVERIFIED = re.compile(
    r"^(?:not verified|non vérifiée?|nicht überprüft|no verificad[oa]|non verificat[oa]|"
    r"niet geverifieerd|não verificad[oa])$",
    re.IGNORECASE,
)
# The instance after a fediverse name ("marrow @sh.itjust.example", as Lemmy shows it).
_INSTANCE = re.compile(r"(?<=\S)\s+@[\w-]+(?:\.[\w-]+)+$")
_ROLES = re.compile(
    r"\b(?:editor|editors|editor-in-chief|rédacteur|rédactrice|redacteur|redactrice|"
    r"rédac|redakteur|redakteurin|chefredakteur|chefredakteurin|redaktion|journaliste?|"
    r"journalistin|reporter|reporterin|writer|columnist|chroniqueur|chroniqueuse|"
    r"correspondent|correspondant|correspondante|korrespondent|korrespondentin|contributor|"
    r"contributeur|contributrice|staff|freelance|pigiste|stagiaire|intern|praktikant|"
    r"volontär|photographer|photographe|fotograf|founder|fondateur|fondatrice|gründer|ceo|"
    r"cto|director|directeur|directrice|direktor|manager|chef|chief|head of|senior|"
    r"associate|contributing|redattore|redattrice|giornalista|periodista|redactor|"
    r"redactora|jornalista|redacteur|verslaggever|administrator|administrateur|"
    r"administratrice|moderator|modérateur|modératrice|moderatorin|admin|modo|"
    r"team member|membre|mitglied|member|caporedattore|caporedattrice|responsabile|"
    r"redactor jefe|redactora jefa|editor-chefe|editora-chefe|hoofdredacteur|redacteur|"
    r"redaktör|chefredaktör|redaktor|redaktor naczelny|rzecznik|dziennikarz|dziennikarka|"
    r"portavoce|portavoz|porta-voz|woordvoerder|sprecher|sprecherin|pressesprecher|"
    r"spokesperson|spokesman|spokeswoman|porte-parole)\b",
    re.IGNORECASE,
)
# Between a name and what follows it on the same line.
_STRONG_SEPARATORS = re.compile(r"\s+[|·•–—/]\s+|\s+-\s+|\s*[|·•]\s*|\n+")
# An all-lowercase word ending a sentence, and more after it ("Mrs. Smith" is no sentence).
_SENTENCE_BREAK = re.compile(r"(?<![\w.])[a-zà-ÿß]{3,}[.!?…]\s+\S")
_SMALL_WORD = re.compile(r"^[a-zà-ÿß'’-]{3,}$")
_NAME_PARTICLES = frozenset(
    {
        "de",
        "la",
        "le",
        "du",
        "des",
        "van",
        "der",
        "den",
        "von",
        "zu",
        "da",
        "di",
        "del",
        "dos",
        "das",
        "ten",
        "ter",
        "het",
        "bin",
        "ibn",
        "al",
        "el",
        "and",
        "et",
        "und",
        "y",
        "e",
    }
)
_EDGES = " \t,;:|·•-–—"


def _fold(value: str) -> str:
    """Entities decoded, invisible characters dropped, every run of whitespace one space."""
    for _ in range(3):  # "&amp;amp;" in JSON-LD printed from escaped HTML: to a fixed point
        unescaped = html.unescape(value)
        if unescaped == value:
            break
        value = unescaped
    value = unicodedata.normalize("NFC", value)
    kept = "".join(
        " " if ch in "\n\r" else ch
        for ch in value
        if unicodedata.category(ch) not in ("Cf", "Cc") or ch in "\n\r\t"
    )
    return " ".join(kept.split())


def _unbyline(value: str) -> str:
    dated = _DATED_BYLINE.match(value)
    if dated:
        value = dated["name"]
    for _ in range(3):  # "By: Author: Jane"
        match = _BYLINE.match(value)
        if not match:
            break
        rest = value[match.end() :]
        word = match[0].strip(" :：").casefold()
        words = rest.split()
        if word == "di" and len(words) < 2:  # "Di Stefano" is a surname
            break
        if word == "von" and (not words or words[0].casefold() in _PARTICLES):
            break
        value = rest
    return value


def _is_date(part: str) -> bool:
    return bool(_DATE_START.match(part.strip()))


def _is_role(part: str) -> bool:
    return bool(_ROLES.search(part)) and len(part.split()) <= 6


def _without_date(part: str) -> str:
    """``part`` up to where a date begins after the name in it (the name is kept whole)."""
    for match in _DATE_START.finditer(part):
        if match.start() > 0 and part[: match.start()].strip(_EDGES):
            return part[: match.start()]
    return part


def _after_name(part: str) -> bool:
    """Whether a part after a comma says something of the name before it (a role, a date, a
    lowercase description: "responsabile qualità") rather than being another author."""
    return _is_role(part) or _is_date(part) or part[:1].islower()


def _without_handle(name: str) -> str:
    """ "@lumo_sam Sam" (Discourse's feeds) is Sam; "@mbrandt" alone is mbrandt, as the forum's
    pages show the name."""
    handle = _LEADING_HANDLE.match(name)
    if handle is None:
        return name
    return name[handle.end() :].strip() or handle[1]


def _without_rank(name: str) -> str:
    words = name.split(" ")
    if len(words) < 2 or words[-1].casefold() not in _RANK_WORDS:
        return name
    while len(words) > 1 and words[-1].casefold() in _RANK_WORDS:
        words.pop()
    return " ".join(words)


def _prose(name: str) -> bool:
    words = name.split()
    if len(name) > MAX_AUTHOR_CHARS or _SENTENCE_BREAK.search(name):
        return True
    if name.endswith((" !", " ?", "!", "?", "…", "...")) and len(words) >= 2:
        return True
    if name.endswith(".") and len(words) >= 2 and len(words[-1]) > 5:
        return True
    parts = [p.split() for p in re.split(r",|\s+(?:and|et|und|y|e|en|&)\s+", name)]
    if any(len(p) > _MAX_NAME_WORDS for p in parts):
        return True
    small = sum(1 for w in words if _SMALL_WORD.match(w) and w not in _NAME_PARTICLES)
    return len(words) >= 4 and small * 2 >= len(words)


def _parenthesised(value: str) -> str:
    """Drop a trailing ``(...)`` that holds a role, a date or Drupal's "(not verified)"; keep
    any other (a nickname)."""
    match = re.search(r"\s*\(([^()]*)\)\s*$", value)
    if match and value[: match.start()].strip():
        inside = match[1].strip()
        if not inside or _is_role(inside) or _is_date(inside) or _UNVERIFIED.match(inside):
            return value[: match.start()]
    return value


def clean_author(value: object) -> str | None:
    """The display name in what a page or a feed declares as an author, or None (see the
    module docstring for what is taken off and what is refused). Never raises."""
    if not isinstance(value, str):
        return None
    # A name is in the first lines of a block; what lies further is a bio or body text, and
    # bounding it keeps every pattern here linear in practice on a hostile page.
    lines = [_fold(line) for line in value[:_MAX_READ].replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        return None
    text = " | ".join(lines)
    named = _EMAIL_THEN_NAME.match(text)
    if named:
        text = named["name"]
    text = _INSTANCE.sub("", text)
    if not _HANDLE.match(text):  # "@jdoe@mastodon.example" is a handle, not an address
        text = _BRACKETED_EMAIL.sub(" ", text)
        text = " ".join(_EMAIL_RE.sub(" ", text).split())
    text = _unbyline(text.strip(_EDGES))
    if _URL.match(text):
        return None
    # A name, then what a theme prints after it: keep the first part that is no date or role.
    parts = [p.strip(_EDGES) for p in _STRONG_SEPARATORS.split(text)]
    parts = [_unbyline(p) for p in parts if p]
    undated = [p for p in parts if not _is_date(p)]
    if not undated:
        return None
    # A role alone is what the page says ("Redaktion"); beside a name, it is the name's role.
    name = next((p for p in undated if not _is_role(p)), undated[0])
    name = _parenthesised(_without_date(name).strip(_EDGES)).strip(_EDGES)
    # Comma-separated: authors ("A, B et C") are kept, roles and dates dropped.
    pieces = [p.strip() for p in name.split(",")]
    kept = [p for i, p in enumerate(pieces) if p and (i == 0 or not _after_name(p))]
    name = ", ".join(_parenthesised(p).strip(_EDGES) for p in kept).strip(_EDGES)
    name = _without_rank(_without_handle(name))
    if name.casefold() in _PLACEHOLDERS:
        return None
    if not name or _URL.match(name) or _ONLY_BYLINE.match(name) or _prose(name):
        return None
    return name
