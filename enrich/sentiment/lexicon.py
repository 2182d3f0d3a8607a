"""The lexicon sentiment backend: offline, fast, French and English.

One scoring algorithm (after VADER, Hutto and Gilbert 2014) runs over a lexicon per language:

- English: VADER's lexicon and modifiers, read from the installed ``vaderSentiment`` package;
- French: Veille's own lexicon and modifiers (``lexicons/fr*.tsv``).

Each word's valence is changed by what precedes it: an intensifier ("très", "very") strengthens
it, a negator within three words ("pas", "jamais", "not"; both halves of "ne ... pas") flips and
damps it, a word in capitals among lowercase words strengthens it. A contrast word ("mais",
"but") halves what comes before it and strengthens what comes after. Phrases ("pas mal", "pas de
souci", "fed up") are scored as one item, and the negators inside them negate nothing else.
Elided words are words of their own ("n'est" is "n" "est", "j'adore" is "j" "adore").

French words are also found through their inflections: "déçues", "dangereuses", "détestent"
and "adorait" are scored as "déçu", "dangereux", "déteste" and "adore" (`Lexicon.valence`).
Emoji are scored from their descriptions; hashtags count as their words, with the words of a
camel-case hashtag separated (``#JeSuisDéçu``). URLs are not read. Exclamation marks amplify.

The sum is squashed into ``compound`` in [-1, 1]; ``|compound|`` below the neutral threshold is
neutral.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

from ingest.record import Sentiment, SentimentLabel
from ingest.text import tokenize

VERSION = "2"
# Neutral thresholds, chosen on UMSAB train (the macro-F1 plateau of each language).
FRENCH_NEUTRAL = 0.05
ENGLISH_NEUTRAL = 0.3
_NEGATION_SCALAR = -0.74
_CAPS_BOOST = 0.733
_EXCLAMATION = 0.292
_ALPHA = 15.0
_TOKEN = re.compile(r"[^\W_]+|[\U0001F000-\U0001FAFF\u2600-\u27BF]|[:;=][-']?[()DPp/\\|]|<3")
_URL = re.compile(r"https?://\S+|\bwww\.\S+")
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(r"(?<=[a-zà-öø-ÿ])(?=[A-ZÀ-ÖØ-Þ])")
# French inflections, tried in order on a word the lexicon lacks (folded, five letters or more):
# plural and feminine forms of adjectives and nouns, then common verb endings.
_FR_ENDINGS = (
    ("s", ""), ("x", ""), ("es", "e"), ("ees", "e"), ("e", ""), ("es", ""),
    ("euse", "eux"), ("euses", "eux"), ("ive", "if"), ("ives", "if"), ("lle", "l"),
    ("lles", "l"), ("nne", "n"), ("nnes", "n"), ("aux", "al"), ("ere", "er"), ("eres", "er"),
    ("trice", "teur"), ("trices", "teur"), ("ent", "e"), ("ons", "e"), ("ez", "e"),
    ("ais", "e"), ("ait", "e"), ("aient", "e"), ("er", "e"), ("era", "e"), ("erait", "e"),
    ("eront", "e"), ("ee", "e"),
)  # fmt: skip
_MISSING = object()
_EMOTICONS = {
    ":)": 2.0,
    ":-)": 2.0,
    ";)": 1.5,
    ":D": 2.3,
    ":-D": 2.3,
    ":(": -1.9,
    ":-(": -1.9,
    ":'(": -2.2,
    ":/": -1.2,
    ":-/": -1.2,
    ":p": 1.0,
    ":P": 1.0,
    "<3": 2.4,
}
# Emoji whose VADER description says nothing (pouting face, thumbs up) or the wrong thing
# (broken heart: "broken" + "heart").
_EMOJI = {
    "😡": -2.8,
    "🤬": -3.2,
    "😤": -1.8,
    "😒": -1.6,
    "🙄": -1.4,
    "😑": -0.8,
    "🤮": -2.8,
    "💩": -2.2,
    "👎": -1.8,
    "💔": -2.2,
    "👍": 1.8,
    "👏": 1.8,
    "🙏": 1.2,
    "💪": 1.6,
    "🔥": 1.0,
}


@dataclass(frozen=True)
class Lexicon:
    """The words and modifiers of one language. Keys are folded (see `ingest.text`)."""

    lang: str
    words: dict[str, float]
    phrases: dict[tuple[str, ...], float]
    negators: frozenset[str]
    boosters: dict[str, float]
    contrasts: frozenset[str]
    neutral: float = 0.05
    """A compound score closer to 0 than this is neutral: each lexicon's own threshold,
    because a dense lexicon (VADER's English) finds some valence in almost any text."""
    endings: tuple[tuple[str, str], ...] = ()
    _found: dict[str, float | None] = field(default_factory=dict, compare=False, repr=False)
    _starts: dict[str, list[tuple[int, float]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        # Phrases by their first word, longest first: most words start none.
        for phrase, valence in self.phrases.items():
            self._starts.setdefault(phrase[0], []).append((len(phrase), valence))
        for options in self._starts.values():
            options.sort(reverse=True)

    def phrase_at(self, tokens: list[str], i: int) -> tuple[int, float] | None:
        """The longest phrase starting at ``tokens[i]``: its length and valence."""
        for width, _ in self._starts.get(tokens[i], ()):
            valence = self.phrases.get(tuple(tokens[i : i + width]))
            if valence is not None:
                return width, valence
        return None

    @property
    def model(self) -> str:
        return f"lexicon-{self.lang}@{VERSION}"

    def valence(self, word: str) -> float | None:
        """The valence of ``word``, or of the base form its ending points to (French)."""
        value = self.words.get(word)
        if value is not None or not self.endings or len(word) < 5:
            return value
        found = self._found.get(word, _MISSING)
        if found is _MISSING:
            found = None
            for ending, base in self.endings:
                if word.endswith(ending):
                    found = self.words.get(word[: len(word) - len(ending)] + base)
                    if found is not None:
                        break
            if len(self._found) < 200_000:
                self._found[word] = found
        return found  # type: ignore[return-value]


def _add(
    words: dict[str, float], phrases: dict[tuple[str, ...], float], key: str, valence: float
) -> None:
    tokens = tuple(tokenize(key))
    if len(tokens) == 1:
        words[tokens[0]] = valence
    elif tokens:
        phrases[tokens] = valence


def _rows(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@cache
def _emoji_valences() -> dict[str, float]:
    """Emoji valence from VADER's emoji descriptions, scored with the English lexicon."""
    english = english_lexicon()
    table = resources.files("vaderSentiment").joinpath("emoji_utf8_lexicon.txt").read_text("utf-8")
    out: dict[str, float] = {}
    for row in _rows(table):
        if len(row) >= 2:
            valence = sum(english.words.get(w, 0.0) for w in tokenize(row[1]))
            if valence:
                out[row[0]] = max(-4.0, min(4.0, valence))
    return out | _EMOJI


@cache
def english_lexicon() -> Lexicon:
    from vaderSentiment import vaderSentiment as vader

    words: dict[str, float] = {}
    phrases: dict[tuple[str, ...], float] = {}
    table = resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text("utf-8")
    for row in _rows(table):
        if len(row) >= 2 and any(c.isalnum() for c in row[0]):
            _add(words, phrases, row[0], float(row[1]))
    for idiom, valence in vader.SENTIMENT_LADEN_IDIOMS.items():
        _add(words, phrases, idiom, float(valence))
    negators = {"".join(tokenize(w)) for w in vader.NEGATE}
    return Lexicon(
        lang="en",
        words=words,
        phrases=phrases,
        negators=frozenset(negators | {"not", "no", "never", "without", "nothing"}),
        boosters={w: float(b) for w, b in vader.BOOSTER_DICT.items() if " " not in w},
        contrasts=frozenset({"but", "however", "although", "yet"}),
        neutral=ENGLISH_NEUTRAL,
    )


@cache
def french_lexicon() -> Lexicon:
    base = Path(__file__).parent / "lexicons"
    words: dict[str, float] = {}
    phrases: dict[tuple[str, ...], float] = {}
    for row in _rows((base / "fr.tsv").read_text("utf-8")):
        _add(words, phrases, row[0], float(row[1]))
    negators: set[str] = set()
    boosters: dict[str, float] = {}
    contrasts: set[str] = set()
    for row in _rows((base / "fr_modifiers.tsv").read_text("utf-8")):
        kind, word = row[0], "".join(tokenize(row[1]))
        if kind == "negator":
            negators.add(word)
        elif kind == "booster":
            boosters[word] = float(row[2])
        elif kind == "contrast":
            contrasts.add(word)
    return Lexicon(
        "fr",
        words,
        phrases,
        frozenset(negators),
        boosters,
        frozenset(contrasts),
        neutral=FRENCH_NEUTRAL,
        endings=_FR_ENDINGS,
    )


def _split_hashtag(match: re.Match[str]) -> str:
    return " " + _CAMEL.sub(" ", match.group(1)) + " "


@lru_cache(maxsize=200_000)
def _fold_item(item: str) -> str | None:
    """A matched item's folded word, or None for an emoji or emoticon."""
    folded = tokenize(item)
    return folded[0] if folded else None


def _tokens(text: str) -> tuple[list[str], list[bool]]:
    """Folded tokens (emoji kept as themselves) and whether each was written in capitals."""
    if "://" in text or "www." in text:
        text = _URL.sub(" ", text)
    if "#" in text:
        text = _HASHTAG.sub(_split_hashtag, text)
    tokens: list[str] = []
    caps: list[bool] = []
    for item in _TOKEN.findall(text.replace("’", "'")):
        word = _fold_item(item)
        if word is None:  # emoji or emoticon
            tokens.append(item)
            caps.append(False)
            continue
        # English contractions: "don't" -> "dont", as VADER's negators are written.
        if word == "t" and tokens and tokens[-1].endswith("n"):
            tokens[-1] += "t"
            continue
        tokens.append(word)
        caps.append(item.isupper() and len(item) > 1)
    return tokens, caps


def score_text(text: str, lexicon: Lexicon) -> float:
    """The compound score of ``text`` in [-1, 1]."""
    tokens, caps = _tokens(text)
    if not tokens:
        return 0.0
    shouting = sum(caps) > len(tokens) / 2  # all caps: no word stands out
    emoji = _emoji_valences()
    valences = [0.0] * len(tokens)
    in_phrase = [False] * len(tokens)
    i = 0
    while i < len(tokens):
        valence, width = None, 1
        phrase = lexicon.phrase_at(tokens, i)
        if phrase is not None:
            width, valence = phrase
            in_phrase[i : i + width] = [True] * width
        token = tokens[i]
        if valence is None:
            valence = lexicon.valence(token)
            if valence is None:
                valence = _EMOTICONS.get(token) or emoji.get(token)
            elif (
                token in lexicon.boosters
                and i + 1 < len(tokens)
                and lexicon.valence(tokens[i + 1]) is not None
            ):
                valence = None  # "super bien": an intensifier here, not a word of its own
        if valence:
            valences[i] = _modify(valence, tokens, caps, in_phrase, i, lexicon, shouting)
        i += width
    for i, token in enumerate(tokens):
        if token in lexicon.contrasts:
            valences = [v * 0.5 for v in valences[:i]] + [v * 1.5 for v in valences[i:]]
            break
    total = sum(valences)
    if total:
        total += math.copysign(min(text.count("!"), 4) * _EXCLAMATION, total)
    return total / math.sqrt(total * total + _ALPHA)


def _modify(
    valence: float,
    tokens: list[str],
    caps: list[bool],
    in_phrase: list[bool],
    i: int,
    lexicon: Lexicon,
    shouting: bool,
) -> float:
    sign = 1.0 if valence > 0 else -1.0
    if caps[i] and not shouting:
        valence += sign * _CAPS_BOOST
    for distance, decay in ((1, 1.0), (2, 0.95), (3, 0.9)):
        if i - distance < 0:
            break
        boost = lexicon.boosters.get(tokens[i - distance])
        if boost:
            valence += sign * boost * decay
    # A phrase that holds its own negation ("pas mal", "pas de souci") is not negated again by
    # the "ne" of "ce n'est pas mal".
    negated_already = in_phrase[i] and tokens[i] in lexicon.negators
    if not negated_already and any(
        tokens[j] in lexicon.negators and not in_phrase[j] for j in range(max(0, i - 3), i)
    ):
        valence *= _NEGATION_SCALAR
    return valence


class LexiconSentiment:
    """The lexicon backend: French or English lexicon chosen by the mention's language."""

    name = "lexicon"

    def __init__(self, neutral_threshold: float | None = None) -> None:
        self.neutral_threshold = neutral_threshold
        self._lexicons = {"fr": french_lexicon(), "en": english_lexicon()}

    def _label(self, compound: float, lexicon: Lexicon) -> SentimentLabel:
        threshold = lexicon.neutral if self.neutral_threshold is None else self.neutral_threshold
        if compound >= threshold:
            return "positive"
        if compound <= -threshold:
            return "negative"
        return "neutral"

    def compound(self, text: str, lang: str) -> tuple[float, Lexicon]:
        """The compound score of ``text`` and the lexicon that gave it."""
        lexicon = self._lexicons.get(lang)
        if lexicon is None:
            # Undetermined or unlisted language: take the lexicon that finds more to say.
            scored = [(score_text(text, lex), lex) for lex in self._lexicons.values()]
            return max(scored, key=lambda s: abs(s[0]))
        return score_text(text, lexicon), lexicon

    def features(self, text: str, lang: str) -> list[float]:
        """What the trained backend learns from: the compound score in the text's language
        (0 for other languages), its positive and negative parts, and the French and English
        scores."""
        french = score_text(text, self._lexicons["fr"])
        english = score_text(text, self._lexicons["en"])
        own = {"fr": french, "en": english}.get(lang, 0.0)
        return [own, max(own, 0.0), min(own, 0.0), french, english]

    def score(self, texts: Sequence[str], langs: Sequence[str]) -> list[Sentiment]:
        out = []
        for text, lang in zip(texts, langs, strict=True):
            compound, lexicon = self.compound(text, lang)
            out.append(
                Sentiment(
                    label=self._label(compound, lexicon),
                    score=round(compound, 4),
                    confidence=round(abs(compound), 4),
                    model=lexicon.model,
                )
            )
        return out
