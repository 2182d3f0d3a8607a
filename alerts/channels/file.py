"""The file channel: each notification appended to a file as one JSON object per line, or, with
``path: "-"``, written as plain text on stdout (the demo, a terminal)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from alerts.channels.base import DeliveryError, Notifier
from alerts.notification import Notification, dumps
from alerts.render import message, plain
from alerts.settings import FileChannel


class FileNotifier(Notifier):
    _lock = threading.Lock()

    def __init__(self, name: str, settings: FileChannel, secrets: Iterable[str] = ()) -> None:
        super().__init__(name, settings, secrets)
        self.path = settings.path

    def deliver(self, notification: Notification) -> None:
        line = dumps(notification)
        with self._lock:
            if self.path == "-":
                print(plain(message(notification)), flush=True)
                return
            try:
                with Path(self.path).expanduser().open("a", encoding="utf-8") as out:
                    out.write(line + "\n")
            except OSError as exc:
                raise DeliveryError(f"cannot write {self.path}: {exc.strerror}") from None
