"""Export rate and memory: ``veille export``'s writer (`index.export.write_file` over
`Store.scan`) in each format, beside a raw baseline, on one SQLite store.

Workload: `bench.scale`'s synthetic month (five brands, French and English, retweets and
syndicated copies, clusters and influence computed as enrich does), ``--size`` mentions (default
100,000), loaded once (``--store PATH`` keeps and reuses the file). Every mention is exported,
times in Europe/Paris. Baseline: the stored JSON of every mention selected in one SQLite
statement, in the same order, and written with `csv.writer` (one column): the floor for reading
and writing the same rows without building `Mention` objects or columns. ``scan`` is
`Store.scan` alone (mentions read and validated, nothing written): what every format pays
before it writes a byte.

Rates are given per second of wall time and per second of the process's CPU time: on a shared,
loaded machine the second is the better guess of what an idle one would do. Each measure runs
in a fresh process, so its peak RSS is its own: the table gives the peak
before the export (interpreter, libraries, store open) and at its end; the difference is what
the export held, which must not grow with the size (run two sizes to see it).

    .venv/bin/python -m bench.export [--size 100000] [--store PATH] [--formats csv,xlsx,...]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

FORMATS = ("csv", "xlsx", "jsonl", "parquet")


def peak_mb() -> float:
    """This process's peak RSS in MB: VmHWM, which starts afresh at exec (ru_maxrss would
    carry the parent's peak over)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(path: Path, n: int) -> None:
    from bench.scale import load
    from veille.backends import open_store

    with open_store(f"sqlite://{path}") as store:
        load(store, n)


def measure_raw(store: Path, out: Path) -> dict[str, Any]:
    """The baseline: the stored JSON, in scan order, through `csv.writer`."""
    import csv
    import sqlite3

    before = peak_mb()
    start, cpu = time.perf_counter(), time.process_time()
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    n = 0
    with out.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter=";")
        for (doc,) in db.execute("SELECT doc FROM mentions ORDER BY published, id"):
            writer.writerow([doc])
            n += 1
    db.close()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"n": n, "seconds": seconds, "cpu": cpu, "before": before, "peak": peak_mb()}


def measure_scan(store: Path, out: Path) -> dict[str, Any]:
    """`Store.scan` alone: the mentions read and validated, nothing written."""
    from ingest.store import Filters
    from veille.backends import open_store

    with open_store(f"sqlite://{store}") as opened:
        before = peak_mb()
        start, cpu = time.perf_counter(), time.process_time()
        n = sum(len(batch) for batch in opened.scan(Filters()))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    out.write_bytes(b"")
    return {"n": n, "seconds": seconds, "cpu": cpu, "before": before, "peak": peak_mb()}


def measure_format(store: Path, fmt: str, out: Path) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    from index.export import Format, write_file
    from ingest.store import Filters
    from veille.backends import open_store

    library = {"xlsx": "xlsxwriter", "parquet": "pyarrow.parquet"}.get(fmt)
    if library:  # loaded before the clock starts: a library's import is no part of the rate
        importlib.import_module(library)
    with open_store(f"sqlite://{store}") as opened:
        before = peak_mb()
        start, cpu = time.perf_counter(), time.process_time()
        n = write_file(
            opened.scan(Filters()), cast(Format, fmt), out, zone=ZoneInfo("Europe/Paris")
        )
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"n": n, "seconds": seconds, "cpu": cpu, "before": before, "peak": peak_mb()}


def child(args: argparse.Namespace) -> None:
    out = Path(args.out)
    if args.one == "raw":
        result = measure_raw(Path(args.store), out)
    elif args.one == "scan":
        result = measure_scan(Path(args.store), out)
    else:
        result = measure_format(Path(args.store), args.one, out)
    result["bytes"] = out.stat().st_size
    out.unlink()
    print(json.dumps(result))


def run_one(what: str, store: Path, tmp: Path) -> dict[str, Any]:
    out = tmp / f"export.{what if what != 'raw' else 'raw.csv'}"
    done = subprocess.run(
        [sys.executable, "-m", "bench.export", "--one", what, "--store", str(store), "--out", out],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--store", help="The SQLite store: built if missing, kept.")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        child(args)
        return
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmpdir:
        tmp = Path(tmpdir)
        store = Path(args.store) if args.store else tmp / "veille.db"
        if not store.exists():
            print(f"building a store of {args.size:,} mentions in {store}...", file=sys.stderr)
            start = time.perf_counter()
            build(store, args.size)
            print(f"  built in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        print(f"load: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
        print(
            f"{'export':<10}{'mentions':>10}{'seconds':>9}{'mentions/s':>12}"
            f"{'CPU s':>7}{'per CPU s':>11}{'MB out':>8}{'RSS before':>12}{'RSS peak':>10}"
            f"{'held':>8}"
        )
        for what in ("raw", "scan", *args.formats.split(",")):
            r = run_one(what, store, tmp)
            print(
                f"{what:<10}{r['n']:>10,}{r['seconds']:>9.1f}{r['n'] / r['seconds']:>12,.0f}"
                f"{r['cpu']:>7.1f}{r['n'] / r['cpu']:>11,.0f}{r['bytes'] / 1e6:>8.1f}"
                f"{r['before']:>10.0f}MB{r['peak']:>8.0f}MB"
                f"{r['peak'] - r['before']:>6.0f}MB"
            )
        print(f"load: {os.getloadavg()[0]:.2f} (1 min) at the end")


if __name__ == "__main__":
    main()
