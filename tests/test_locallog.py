"""What only the embedded log has to prove: retention, and recovery from crashed members."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from ingest.locallog import LocalLogBus


def test_retention_deletes_only_what_every_group_has_committed(tmp_path: Path) -> None:
    bus = LocalLogBus(tmp_path / "bus.db", partitions=1)
    fast, slow = bus.consumer("t", "fast"), bus.consumer("t", "slow")
    bus.publish("t", [(None, f"v{i}".encode()) for i in range(10)])
    assert len(fast.poll(timeout=0.5)) == 10
    fast.commit()
    assert bus.retain("t") == 0  # "slow" has read nothing yet
    assert len(slow.poll(max_records=4, timeout=0.5)) == 4
    slow.commit()
    assert bus.retain("t") == 4
    assert [m.value for m in bus.peek("t", 100)] == [f"v{i}".encode() for i in range(4, 10)]
    # A group that joins later starts at the earliest record still kept.
    late = bus.consumer("t", "late")
    assert late.poll(timeout=0.5)[0].value == b"v4"
    for c in (fast, slow, late):
        c.close()


def test_a_topic_no_group_reads_keeps_everything(tmp_path: Path) -> None:
    bus = LocalLogBus(tmp_path / "bus.db")
    bus.publish("mentions.dead", [(None, b"x")] * 3)
    assert bus.retain("mentions.dead") == 0
    assert len(bus.peek("mentions.dead")) == 3


def test_partitions_of_a_crashed_process_are_taken_over_at_once(tmp_path: Path) -> None:
    bus = LocalLogBus(tmp_path / "bus.db", partitions=2, session_timeout=3600)
    survivor = bus.consumer("t", "g")
    survivor.poll(timeout=0.1)
    # Another process on this machine joined the group, then died (SIGKILL: no goodbye).
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with bus.connection() as conn:
        conn.execute(
            "INSERT INTO members VALUES ('g', 't', ?, 1e12)",
            (f"{socket.gethostname()}:{gone}:dead",),
        )
    bus.publish("t", [(f"k{i}".encode(), f"v{i}".encode()) for i in range(20)])
    got = survivor.poll(max_records=100, timeout=1.0)
    assert len(got) == 20  # all partitions, without waiting an hour for the session to expire
    survivor.close()


def test_records_survive_the_connection_that_wrote_them(tmp_path: Path) -> None:
    writer = LocalLogBus(tmp_path / "bus.db")
    writer.publish("t", [(b"k", b"durable")])
    writer.close()
    reader = LocalLogBus(tmp_path / "bus.db")
    assert [m.value for m in reader.consumer("t", "g").poll(timeout=0.5)] == [b"durable"]
