"""Hostile query shapes: as deep, as long and as negated as a query can be, built from any words.

Each builder returns query text. The shapes within `ingest.query.limits` must be answered the same
by the matcher and both stores (`tests/test_query_consistency.py`, `tests/test_store_parity.py`);
those past them must be refused with a `QuerySyntaxError` that points at the place
(`tests/test_hostile_query.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import cycle, islice

from ingest.query.limits import MAX_DEPTH, MAX_LENGTH, MAX_TERMS


def nested_parentheses(levels: int, inner: str = "acme") -> str:
    """``((((acme))))``: parentheses that change nothing."""
    return "(" * levels + inner + ")" * levels


def stacked_nots(count: int, inner: str = "acme") -> str:
    """``NOT NOT NOT acme``."""
    return "NOT " * count + inner


def nested_nots(count: int, inner: str = "acme") -> str:
    """``NOT (NOT (NOT (acme)))``."""
    return "NOT (" * count + inner + ")" * count


def alternating(words: Sequence[str], depth: int) -> str:
    """``w0 AND (w1 OR (w2 AND (...)))``: a tree ``depth`` levels deep, AND and OR in turn."""
    return _nested(words, depth, lambda i, term, inner: f"{term} {_TURNS[i % 2]} ({inner})")


def negated_alternatives(words: Sequence[str], levels: int) -> str:
    """``NOT (w0 OR NOT (w1 OR (...)))``: two levels (a NOT and an OR) per step."""
    return _nested(words, levels, lambda i, term, inner: f"NOT ({term} OR {inner})")


_TURNS = ("AND", "OR")


def _nested(words: Sequence[str], levels: int, step: Callable[[int, str, str], str]) -> str:
    """The last of ``levels + 1`` words wrapped ``levels`` times by ``step``, from the inside."""
    terms = list(islice(cycle(words), levels + 1))
    query = terms[-1]
    for i in reversed(range(levels)):
        query = step(i, terms[i], query)
    return query


def long_or(words: Sequence[str], count: int) -> str:
    """``words`` and then made-up words, ``count`` terms joined by OR."""
    return " OR ".join(islice([*words, *(f"zz{i}" for i in range(count))], count))


def many_nots(first: str, words: Sequence[str], count: int) -> str:
    """``first NOT w1 NOT w2 ...``, ``count`` NOTs: one AND of many negations."""
    excluded = islice([*words, *(f"zz{i}" for i in range(count))], count)
    return first + " " + " ".join(f"NOT {w}" for w in excluded)


def within_limits(words: Sequence[str], fields: Sequence[str]) -> dict[str, str]:
    """The hostile shapes a query may take within the limits, named: each must be answered."""
    return {
        "200 nested parentheses": nested_parentheses(200, words[0]),
        "201 stacked NOTs": stacked_nots(201, words[0]),
        "150 nested NOTs": nested_nots(150, words[0]),
        f"AND/OR {MAX_DEPTH} deep": alternating(words, MAX_DEPTH),
        f"AND/OR of fields {MAX_DEPTH} deep": alternating(fields, MAX_DEPTH),
        f"NOT/OR {MAX_DEPTH} deep": negated_alternatives(words, MAX_DEPTH // 2),
        f"NOT/OR of fields {MAX_DEPTH} deep": negated_alternatives(fields, MAX_DEPTH // 2),
        f"{MAX_TERMS} terms OR": long_or(words, MAX_TERMS),
        f"{MAX_TERMS - 1} NOTs": many_nots(words[0], words[1:], MAX_TERMS - 1),
        f"{MAX_TERMS} fields OR": " OR ".join(islice(cycle(fields), MAX_TERMS)),
        f"{MAX_TERMS} NEAR pairs": f"({long_or(words, 25)}) NEAR/3 ({long_or(words[3:], 40)})",
    }


def past_limits(words: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Queries past a limit, named: each with the words its error must say."""
    return {
        f"AND/OR {MAX_DEPTH + 1} deep": (
            alternating(words, MAX_DEPTH + 1),
            f"more than {MAX_DEPTH} levels deep",
        ),
        "AND/OR 200 deep": (alternating(words, 200), f"more than {MAX_DEPTH} levels deep"),
        "NOT/OR 200 deep": (
            negated_alternatives(words, 200),
            f"more than {MAX_DEPTH} levels deep",
        ),
        "10,000 terms OR": (long_or(words, 10_000), f"at most {MAX_LENGTH:,}"),
        "10,000 terms in few characters": (" ".join(["a"] * 10_000), "10,000 terms"),
        f"{MAX_TERMS + 1} terms OR": (long_or(words, MAX_TERMS + 1), f"at most {MAX_TERMS:,}"),
        "NEAR/99999999999999999999": ("acme NEAR/99999999999999999999 panne", "at most 1000"),
    }
