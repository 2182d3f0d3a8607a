"""What the renderers of the sample web's sites share (`veille.demo.blogs`, `veille.demo.forums`):
the `Site` a page belongs to, with its language and time zone, lists cut into pages, and French
month and day names."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

FR_MONTHS = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
)
FR_MONTHS_SHORT = [
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
]
FR_DAYS_SHORT = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]


@dataclass
class Site:
    """A site of the sample web: where it is served, its name, and how it writes dates."""

    host: str
    title: str
    lang: str = "fr"
    tz: str = "Europe/Paris"

    def local(self, when: datetime) -> datetime:
        """``when`` as the site shows it, in its time zone."""
        return when.astimezone(ZoneInfo(self.tz))


T = TypeVar("T")
Item_co = TypeVar("Item_co", covariant=True)


@dataclass(frozen=True)
class Page(Generic[Item_co]):
    """One page of a list cut into pages."""

    number: int
    """From 0."""
    count: int
    """How many pages the list makes (at least one, empty when the list is)."""
    size: int
    """Items a page."""
    items: Sequence[Item_co]

    @property
    def first(self) -> int:
        """The position of the page's first item in the whole list, from 0."""
        return self.number * self.size

    @property
    def has_next(self) -> bool:
        return self.number + 1 < self.count

    def numbered(self) -> Iterator[tuple[int, Item_co]]:
        """The items with their positions in the whole list, from 0."""
        return enumerate(self.items, self.first)


def page_count(items: int, per_page: int) -> int:
    """How many pages ``items`` items make, ``per_page`` a page: one at least."""
    return max(1, math.ceil(items / per_page))


def paged(items: Sequence[T], per_page: int) -> list[Page[T]]:
    count = page_count(len(items), per_page)
    return [
        Page(n, count, per_page, items[n * per_page : (n + 1) * per_page]) for n in range(count)
    ]
