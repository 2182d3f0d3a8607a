"""Logging for every command: one format, to stderr, with secrets masked wherever they appear.

The secrets are the settings' (`veille.settings.secret_values`), masked in every form a server
may echo them in (`ingest.secrets.Masker`): a field typed as a secret is masked without a word
of code here.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

from ingest.secrets import Masker


def mask(text: str) -> str:
    """``text`` with the secrets logging masks (those `setup_logging` was given) masked: for
    what a command prints beside its logs, such as the error line a server's answer ends up in.
    """
    for handler in logging.getLogger().handlers:
        for found in handler.filters:
            if isinstance(found, RedactingFilter):
                return found.mask(text)
    return Masker()(text)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secrets (in any form a server echoes them) and any password
    inside a URL replaced by ``***``."""
    return Masker(secrets)(text)


class RedactingFilter(logging.Filter):
    """Masks secrets in the final message, arguments and tracebacks included."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.mask = Masker(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg = self.mask(message)
        record.args = None
        return True


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (it may be replaced after set-up)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        return


def setup_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    handler = _StderrHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    )
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "kafka", "elastic_transport", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
