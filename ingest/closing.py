"""`Closing`: the base of everything that holds a connection or a file (buses, stores, the app),
so that a ``with`` block closes it whatever happens inside."""

from __future__ import annotations

from typing import Self


class Closing:
    """``with obj:`` calls ``obj.close()`` on the way out, on success or error."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
