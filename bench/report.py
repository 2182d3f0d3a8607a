"""What the weekly report costs on a large store: ``veille report weekly`` in each format, from a
synthetic SQLite store of 1,000,000 mentions, its time and peak memory beside a baseline
measured in the same run, and the rate and peak memory of ``veille export`` of the whole store
in CSV and XLSX.

Workload: `bench.scale`'s synthetic month (five brands, French and English, 30 days, retweets,
syndicated copies, 20,000 authors), written to the store with each copy's cluster. The report is
the week 2026-W48 (the corpus' last complete week) of the largest brand, Acme, against its
competitors Globex and Initech (configured brands), about 80,000 mentions that week and as many
the week before. Each format runs in a fresh process (`veille report weekly --format F`), so its
peak memory (the process's maximum resident set) is its own.

Baseline: the least any weekly report must do, in the same process layout: a fresh Python
process that selects the two weeks' stored JSON of the brand with one SQL statement and parses
each mention (``json.loads``), which reading each mention once costs.

    .venv/bin/python -m bench.report [--size 1000000] [--keep DIR]

With ``--keep DIR`` the store is kept there and reused by the next run of the same size.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.scale import corpus
from index.base import epoch_ms
from index.report import Period
from veille.backends import open_store

FORMATS = ("json", "md", "html", "xlsx", "pdf")
CONFIG = """\
data_dir: {data}
store: {{url: 'sqlite://{store}'}}
brands:
  - {{name: Acme, query: acme, competitors: [Globex, Initech]}}
  - {{name: Globex, query: globex}}
  - {{name: Initech, query: initech}}
"""

BASELINE = """
import json, resource, sqlite3, sys, time
start = time.perf_counter()
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = conn.execute(
    "SELECT m.doc FROM mentions m JOIN mention_brands b ON b.mention = m.rowid"
    " WHERE b.brand = 'Acme' AND m.published >= ? AND m.published < ?",
    (int(sys.argv[2]), int(sys.argv[3])),
)
n = sum(1 for (text,) in rows if json.loads(text))
print(json.dumps({"seconds": time.perf_counter() - start, "mentions": n,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CHILD = """
import json, resource, sys, time
from click.testing import CliRunner
from veille.cli import cli
start = time.perf_counter()
result = CliRunner().invoke(cli, sys.argv[1:], catch_exceptions=False)
assert result.exit_code == 0, result.output
print(json.dumps({"seconds": time.perf_counter() - start,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    ).stdout
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return figures


def build(store_path: Path, size: int) -> None:
    """The synthetic store. Copies (retweets, syndicated articles) share their text, so each
    text's hash stands for its near-duplicate cluster: what the report reads, without the cost
    of clustering a million mentions (`bench.scale` and `bench.clusters` measure that)."""
    if store_path.exists():
        print(f"reusing {store_path}", file=sys.stderr)
        return
    with open_store(f"sqlite://{store_path}") as store:
        started = time.perf_counter()
        for batch in corpus(size):
            clustered = []
            for m in batch:
                assert m.enrichment is not None
                text = m.text.split(": ", 1)[1] if m.text.startswith("RT @") else m.text
                key = hashlib.sha1(f"{m.title or ''} {text}".encode()).hexdigest()[:16]
                clustered.append(
                    m.with_enrichment(m.enrichment.model_copy(update={"cluster": key}))
                )
            assert store.upsert(clustered) == []
        print(f"loaded {size:,} mentions in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="Keep (and reuse) the store in this folder.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        store = root / f"report-{args.size}.db"
        build(store, args.size)
        config = Path(tmp) / "veille.yaml"
        config.write_text(CONFIG.format(data=Path(tmp) / "data", store=store))
        load_average = Path("/proc/loadavg").read_text().split()[:3]
        print(f"weekly report of Acme, 2026-W48, from {args.size:,} mentions on SQLite")
        print(f"load average before: {' '.join(load_average)}")
        week = Period.iso_week("2026-W48", ZoneInfo("Europe/Paris"))
        since, until = week.previous().start, week.end  # the week and the week before
        base = child(BASELINE, str(store), str(epoch_ms(since)), str(epoch_ms(until)))
        print(
            f"  {'baseline: read the 2 weeks':<30}{base['seconds']:>8.2f} s{base['rss_mib']:>9.0f}"
            f" MiB   ({base['mentions']:,.0f} mentions parsed)"
        )
        for fmt in FORMATS:
            out = Path(tmp) / f"weekly.{fmt}"
            figures = child(
                CHILD,
                "--config",
                str(config),
                "report",
                "weekly",
                "--brand",
                "Acme",
                "--week",
                "2026-W48",
                "--format",
                fmt,
                "--out",
                str(out),
            )
            print(
                f"  {'report weekly --format ' + fmt:<30}{figures['seconds']:>8.2f} s"
                f"{figures['rss_mib']:>9.0f} MiB   ({out.stat().st_size / 1024:,.0f} KiB,"
                f" {figures['seconds'] / base['seconds']:.1f}x the baseline)"
            )
        for fmt in ("csv", "xlsx"):
            out = Path(tmp) / f"export.{fmt}"
            try:
                figures = child(
                    CHILD, "--config", str(config), "export", "--format", fmt, "--out", str(out)
                )
            except subprocess.CalledProcessError as exc:
                print(f"  export --format {fmt}: not measured ({exc.stderr.strip()[-200:]})")
                continue
            rate = args.size / figures["seconds"]
            print(
                f"  {'export --format ' + fmt:<30}{rate:>8,.0f} mentions/s"
                f"{figures['rss_mib']:>9.0f} MiB   ({out.stat().st_size / 2**20:,.0f} MiB)"
            )
        print(f"load average after: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    main()
