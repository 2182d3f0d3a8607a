"""``veille sentiment``: the sentiment models.

- ``veille sentiment eval --data FILE.jsonl [--backend NAME] [--model PATH]``: how well a
  backend agrees with labelled texts (macro-F1 with its 95 % bootstrap interval, macro-recall,
  accuracy, per class, confusion) and how the figure was obtained (which model, learnt from
  what, and whether any of the texts were in its training data);
- ``veille sentiment train --data labeled.jsonl [--out PATH]``: learn a model file for the
  ``trained`` backend from an analyst's labels (later corrections win).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from veille.cli.common import State, pass_state
from veille.output import format_option, note, table

if TYPE_CHECKING:
    from enrich.sentiment import SentimentBackend

BACKENDS = ("lexicon", "trained", "transformers")
"""The names of `enrich.settings.SentimentBackendName`."""


@click.group()
def sentiment() -> None:
    """Sentiment models: evaluate a backend, train one from labelled mentions."""


def _backend(state: State, name: str | None, model: Path | None) -> SentimentBackend:
    from pydantic import ValidationError

    from enrich.sentiment import open_sentiment

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
    help="Model file (trained) or directory (transformers); default: enrich.sentiment.model "
    "(trained: the shipped model when none is set).",
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
    low, high = report["macro_f1_ci"]
    note(
        f"{report['backend']} on {data.name}: n={report['n']}  macro-F1 {report['macro_f1']} "
        f"[95% CI {low}, {high}]  macro-recall {report['macro_recall']}  "
        f"accuracy {report['accuracy']}"
    )
    note(f"how: {report['how']}")
    if report.get("seen_in_training"):
        click.echo(
            f"warning: {report['seen_in_training']} of these {report['n']} texts were in the "
            "model's training data; this figure is not a quality claim",
            err=True,
        )
    rows = [
        [label, c["precision"], c["recall"], c["f1"], c["support"]]
        for label, c in report["per_class"].items()
    ]
    click.echo(table(rows, ["label", "precision", "recall", "F1", "n"]))
    note("\nconfusion (rows: label, columns: predicted)")
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
    help="Model file or directory (default: <data_dir>/models/sentiment-<version>.npz).",
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
