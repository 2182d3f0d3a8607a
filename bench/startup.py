"""How long ``veille --version`` and ``veille --help`` take to answer, this tree against a
baseline revision, side by side in one run; with ``--config``, ``veille search``, ``report`` and
``status`` on that configuration's store and bus too.

Workload: each command runs ``--runs`` times (default 20) in a fresh Python process, this tree and
the baseline taking turns so that both meet the same machine load; the script prints the median
and the 90th percentile of the wall time, and which heavy libraries each tree imports for each
command. The baseline is the tree at ``--baseline`` (default: db6be59, the last commit before
the command line became a package, issue 10), extracted with ``git archive`` into a temporary
folder and run with the same virtual environment.

    .venv/bin/python bench/startup.py [--baseline REV] [--runs N] [--config PATH]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = (
    "elasticsearch",
    "kafka",
    "spacy",
    "scrapy",
    "twisted",
    "torch",
    "numpy",
    "scipy",
    "aiohttp",
    "httpx",
    "requests",
    "pyarrow",
    "lingua",
    "pydantic",
)
COMMANDS = [["--version"], ["--help"]]
WITH_CONFIG = [["search", "acme"], ["report"], ["status"]]


def extract(revision: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def run_once(tree: Path, args: list[str], cwd: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "veille.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - start


def heavy_imports(tree: Path, args: list[str], cwd: Path) -> list[str]:
    code = (
        "import sys\n"
        "from veille.cli import cli\n"
        "try:\n"
        f"    cli({args!r}, prog_name='veille')\n"
        "except SystemExit:\n"
        "    pass\n"
        "import json\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))), "
        "file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    )
    found: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="db6be59")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--config", type=Path, help="also time search, report and status on it")
    args = parser.parse_args()
    commands = COMMANDS + [
        ["--config", str(args.config.resolve()), *command]
        for command in (WITH_CONFIG if args.config else [])
    ]
    with tempfile.TemporaryDirectory() as tmp:
        base = extract(args.baseline, Path(tmp) / "baseline")
        cwd = Path(tmp) / "cwd"
        cwd.mkdir()
        trees = {f"baseline {args.baseline}": base, "this tree": ROOT}
        print(f"veille startup, {args.runs} runs each, wall time in ms (median / p90)\n")
        print(f"{'command':<12}" + "".join(f"{name:>24}" for name in trees) + f"{'speed-up':>10}")
        for command in commands:
            times: dict[str, list[float]] = {name: [] for name in trees}
            for _ in range(args.runs):
                for name, tree in trees.items():
                    times[name].append(run_once(tree, command, cwd) * 1000)
            cells = []
            medians = []
            for name in trees:
                ordered = sorted(times[name])
                median = statistics.median(ordered)
                p90 = ordered[int(0.9 * (len(ordered) - 1))]
                medians.append(median)
                cells.append(f"{median:>14.0f} / {p90:>5.0f}")
            speedup = medians[0] / medians[1]
            print(
                f"{' '.join(command[2:] if command[0] == '--config' else command):<12}"
                + "".join(f"{c:>24}" for c in cells)
                + f"{speedup:>9.1f}x"
            )
        for command in commands[1:]:
            shown = " ".join(command[2:] if command[0] == "--config" else command)
            print(f"\nheavy libraries imported by 'veille {shown}':")
            for name, tree in trees.items():
                print(f"  {name}: {', '.join(heavy_imports(tree, command, cwd)) or 'none'}")


if __name__ == "__main__":
    main()
