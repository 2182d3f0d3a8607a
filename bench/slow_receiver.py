"""How many times a slow receiver is paged for one alert, this tree against a baseline revision.

Workload (issue 11, item 7, scaled down 5 times): a receiver that answers 8 s after each
request, channels that wait 2 s (``timeout``), one trigger queued for a Slack channel and a
webhook channel, and the alerts dispatcher running on the real clock for 30 s with
``retry_initial: 1s`` (everything else at its default). The issue saw 5 pages in 150 s with
40 s, 10 s and 5 s. The script prints, for each tree and channel, how many requests the receiver
got in the window and how many distinct idempotency keys they carried (none: the baseline sends
no key; one: a receiver that deduplicates on it pages once). The baseline is extracted with
``git archive`` into a temporary folder and runs with the same virtual environment, at the same
time as this tree.

    .venv/bin/python -m bench.slow_receiver [--baseline REV] [--window 30]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.startup import ROOT, extract

CHILD = r"""
import json, sys, tempfile, threading, time
from pathlib import Path

from alerts.channels import build
from alerts.db import AlertsDb
from alerts.delivery import Dispatcher
from alerts.history import History
from alerts.settings import AlertSettings
from ingest.clock import SystemClock
from tests.support.alerting import sample_record
from veille.demo.loopback import LoopbackServer, Reply

delay, timeout, window = (float(a) for a in sys.argv[1:4])


class Slow(LoopbackServer):
    methods = ("POST",)

    def __init__(self):
        super().__init__()
        self.seen = []
        self.lock = threading.Lock()

    def handle(self, request):
        key = request.headers.get("Idempotency-Key")
        with self.lock:
            self.seen.append((time.monotonic(), request.path, key))
        time.sleep(delay)
        return Reply(200, [], b"ok")


with Slow() as slow, tempfile.TemporaryDirectory() as tmp:
    channel = {"timeout": f"{timeout}s"}
    settings = AlertSettings.model_validate({
        "channels": {
            "slack": {"type": "slack", "url": f"{slow.url}/slack", **channel},
            "webhook": {"type": "webhook", "url": f"{slow.url}/webhook", **channel},
        },
        "delivery": {"retry_initial": "1s"},
    })
    db = AlertsDb(Path(tmp) / "alerts.db")
    history = History(db)
    notifiers = {name: build(name, c) for name, c in settings.channels.items()}
    clock = SystemClock()
    dispatcher = Dispatcher(history, notifiers, settings.delivery, clock)
    sample = sample_record(brand="Acme")
    with db.transaction() as conn:
        record = history.open(conn, sample.dedup, sample.why, sample.opened, paged=True)
        history.enqueue(conn, record, list(notifiers), "trigger", clock.now())
    start = time.monotonic()
    while time.monotonic() - start < window:
        dispatcher.run_once()
        time.sleep(0.1)
    seen = [s for s in slow.seen if s[0] - start < window]
    print(json.dumps({
        name: {
            "requests": sum(1 for s in seen if s[1] == f"/{name}"),
            "keys": len({s[2] for s in seen if s[1] == f"/{name}" and s[2]}),
        }
        for name in ("slack", "webhook")
    }))
    dispatcher.close()
"""


def start(tree: Path, window: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, "8", "2", str(window)],
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # the dispatchers' retry warnings
        text=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="e4bb877", help="the revision to compare with")
    parser.add_argument("--window", type=float, default=30.0, help="seconds to watch")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        baseline = extract(args.baseline, Path(tmp))
        runs = {args.baseline: start(baseline, args.window), "this tree": start(ROOT, args.window)}
        for name, process in runs.items():
            out, _ = process.communicate()
            for channel, figures in json.loads(out).items():
                print(
                    f"{name:>10}  {channel:<8} {figures['requests']} requests in "
                    f"{args.window:g} s, {figures['keys']} idempotency key(s)"
                )


if __name__ == "__main__":
    main()
