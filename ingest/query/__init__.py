"""The boolean query language: parse once, match in memory here, compile to stores in `index`."""

from ingest.query.matcher import Doc, matches
from ingest.query.parser import parse
from ingest.query.tree import (
    FIELDS,
    And,
    Field,
    Near,
    Node,
    Not,
    Or,
    Text,
    depth,
    positive_texts,
    terms,
)

__all__ = [
    "FIELDS",
    "And",
    "Doc",
    "Field",
    "Near",
    "Node",
    "Not",
    "Or",
    "Text",
    "depth",
    "matches",
    "parse",
    "positive_texts",
    "terms",
]
