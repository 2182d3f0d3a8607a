"""Commands for enrichment: sentiment models and their evaluation, authors, enrich workers.

- ``veille sentiment eval --data FILE.jsonl [--backend NAME] [--model PATH]``: how well a
  backend agrees with labelled texts (macro-F1, macro-recall, accuracy, per class, confusion);
- ``veille sentiment train --data labeled.jsonl [--out PATH]``: learn a model file for the
  ``trained`` backend from an analyst's labels (later corrections win);
- ``veille authors top [--brand B] [--since 7d]``: the most influential authors;
- `run_enrich_processes`: ``veille enrich --workers N``, N processes in one consumer group.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import ValidationError

from enrich.sentiment import SentimentBackend, open_sentiment
from enrich.settings import SentimentBackendName
from veille.output import format_option, table

if TYPE_CHECKING:
    # veille.cli imports this module to register its commands: its helpers are imported where
    # they are used, so that either module can be imported first.
    from veille.cli import State

log = logging.getLogger("veille")

BACKENDS: tuple[SentimentBackendName, ...] = ("lexicon", "trained", "transformers")
pass_state = click.pass_obj  # the `veille.cli.State` that the ``veille`` group made


@click.group()
def sentiment() -> None:
    """Sentiment models: evaluate a backend, train one from labelled mentions."""


def _backend(state: State, name: str | None, model: Path | None) -> SentimentBackend:
    settings = state.settings.enrich.sentiment
    update: dict[str, Any] = {}
    if name:
        update["backend"] = name
    if model:
        update["model"] = model
    try:
        chosen = settings.model_validate({**settings.model_dump(), **update})
    except ValidationError:
        raise click.UsageError(
            f"--backend {name} needs --model PATH (or enrich.sentiment.model in the settings)"
        ) from None
    return open_sentiment(chosen)


@sentiment.command("eval")
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help='Labelled texts: one {"text", "label", "lang"} JSON object per line.',
)
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    help="Default: the configured backend (enrich.sentiment.backend).",
)
@click.option(
    "--model",
    type=click.Path(exists=True, path_type=Path),
    help="Model file (trained) or directory (transformers); default: enrich.sentiment.model.",
)
@format_option()
@pass_state
def sentiment_eval(
    state: State, data: Path, backend: str | None, model: Path | None, fmt: str
) -> None:
    """Score labelled texts with a backend and report how well it agrees with the labels."""
    from enrich.sentiment.evaluate import evaluate, load_labeled

    labeled = load_labeled(data)
    for problem in labeled.problems:
        click.echo(f"warning: skipped {problem}", err=True)
    if not labeled.examples:
        raise click.UsageError(f"{data} holds no usable labelled text")
    report = evaluate(_backend(state, backend, model), labeled.examples)
    if fmt == "json":
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    click.echo(
        f"{report['backend']} on {data.name}: n={report['n']}  macro-F1 {report['macro_f1']}"
        f"  macro-recall {report['macro_recall']}  accuracy {report['accuracy']}"
    )
    rows = [
        [label, c["precision"], c["recall"], c["f1"], c["support"]]
        for label, c in report["per_class"].items()
    ]
    click.echo(table(rows, ["label", "precision", "recall", "F1", "n"]))
    click.echo("\nconfusion (rows: label, columns: predicted)")
    labels = list(report["confusion"])
    rows = [[g, *(report["confusion"][g][p] for p in labels)] for g in labels]
    click.echo(table(rows, ["", *labels]))


@sentiment.command("train")
@click.option(
    "--data",
    "data_files",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    multiple=True,
    help="Labelled mentions, one JSON object per line; a later label of the same id or text "
    "replaces an earlier one. Repeat to learn from several files (read in order).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Model file or directory (default: <data_dir>/models/sentiment-<version>.joblib).",
)
@pass_state
def sentiment_train(state: State, data_files: tuple[Path, ...], out: Path | None) -> None:
    """Learn a sentiment model (the trained backend) from labelled mentions."""
    from enrich.sentiment.evaluate import load_labeled
    from enrich.sentiment.trained import save, train

    labeled = load_labeled(*data_files)
    for problem in labeled.problems:
        click.echo(f"warning: skipped {problem}", err=True)
    replaced = labeled.overridden
    click.echo(
        f"training on {len(labeled.examples)} labelled texts"
        + (f" ({replaced} earlier labels replaced by corrections)" if replaced else "")
        + " ...",
        err=True,
    )
    model = train(labeled.examples)
    if out is None:
        out = state.settings.data_dir / "models"
        out.mkdir(parents=True, exist_ok=True)
    path = save(model, out)
    counts = ", ".join(f"{k} {v}" for k, v in model.examples.items())
    click.echo(f"wrote {path} (model {model.name}; {counts})")
    click.echo(
        f"use it with:\n  enrich:\n    sentiment:\n      backend: trained\n      model: {path}"
    )


@click.group()
def authors() -> None:
    """Authors: who writes about the brands, and who matters."""


@authors.command("top")
@click.option("--brand", help="Only the authors of this brand's mentions.")
@click.option("--since", help="Mentions from this date or duration ago: 2026-11-01, 24h, 7d.")
@click.option("--until", help="Mentions up to this date or duration ago.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@format_option()
@pass_state
def authors_top(
    state: State, brand: str | None, since: str | None, until: str | None, limit: int, fmt: str
) -> None:
    """The most influential authors of a brand's mentions, highest influence score first."""
    from veille.cli import _filters

    filters = _filters(None, brand, None, None, None, since, until)
    app = state.app()
    try:
        ranked = app.store.top_authors(filters, limit)
        threshold = app.store.author_score_at(state.settings.enrich.influence.percentile)
    finally:
        app.close()
    influencer = {
        r.author.key: threshold is not None and r.author.score >= threshold for r in ranked
    }
    if fmt == "json":
        for r in ranked:
            a = r.author
            row = {
                "author": a.display,
                "key": a.key,
                "score": round(a.score, 2),
                "influencer": influencer[a.key],
                "mentions": r.mentions,
                "all_mentions": a.mentions,
                "reach": a.reach,
                "engagement": a.engagement,
                "pagerank": round(a.pagerank, 4),
                "sites": list(a.sites),
                "last_seen": a.last_seen.isoformat(),
            }
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    rows = [
        [
            r.author.display,
            round(r.author.score, 2),
            "yes" if influencer[r.author.key] else "",
            r.mentions,
            r.author.reach,
            r.author.engagement,
            ", ".join(r.author.sites),
        ]
        for r in ranked
    ]
    headers = ["author", "score", "influencer", "mentions", "reach", "engagement", "sites"]
    click.echo(table(rows, headers))


# -- several enrich processes -------------------------------------------------------------------


def _enrich_process(config: str | None, log_level: str | None, once: bool) -> None:
    """One enrich worker process: a member of the ``enrich`` consumer group. SIGTERM (from the
    parent) stops it between batches; Ctrl-C reaches the parent, which relays it."""
    from veille.cli import State

    stop = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    app = State(config, log_level).app()
    try:
        app.runner("enrich").run(stop, until_idle=once)
    finally:
        app.close()


def run_enrich_processes(state: State, workers: int, once: bool) -> int:
    """Run ``workers`` enrich processes until stopped (or, with ``once``, until idle); each
    loads its models once. Return 1 if one of them failed."""
    from veille.cli import _stop_on_signals

    # No lock or event is shared with the children (one that dies holding it would hang the
    # others): they are told to stop by SIGTERM.
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=_enrich_process,
            args=(state.config, state.log_level, once),
            name=f"enrich-{i + 1}",
        )
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    log.info("running %d enrich processes; Ctrl-C to stop", workers)
    with _stop_on_signals() as stopping:
        while any(p.is_alive() for p in processes) and not stopping.is_set():
            if any(p.exitcode not in (None, 0) for p in processes):
                log.error("an enrich process failed; stopping the others")
                break
            stopping.wait(0.5)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                log.warning("%s did not stop within 60 s; killing it", process.name)
                process.kill()
                process.join()
    return 1 if any(p.exitcode not in (0, -signal.SIGTERM) for p in processes) else 0
