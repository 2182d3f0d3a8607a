"""``veille kibana setup``: install the data view, saved search, visualizations and dashboard
that analysts start from in Kibana (see `index.elastic.kibana`)."""

from __future__ import annotations

from pathlib import Path

import click

from veille.cli.common import State, pass_state


@click.group()
def kibana() -> None:
    """Kibana dashboards on the Elasticsearch store."""


@kibana.command("setup")
@click.option(
    "--export",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the saved objects to this NDJSON file (for Kibana's import page) instead.",
)
@click.option(
    "--overwrite/--keep",
    default=True,
    show_default=True,
    help="Replace Kibana objects that have the same ids, or keep them.",
)
@pass_state
def setup(state: State, export: Path | None, overwrite: bool) -> None:
    """Import Veille's saved objects into Kibana (store.kibana.url); safe to run again."""
    from index.elastic.kibana import KibanaClient, saved_objects, to_ndjson, validate

    settings = state.settings
    objects = saved_objects(settings.store.elastic.index_prefix)
    validate(objects)
    if export is not None:
        export.write_bytes(to_ndjson(objects))
        click.echo(f"{len(objects)} saved objects written to {export}")
        return
    client = KibanaClient(settings.store.kibana)
    try:
        imported = client.import_objects(objects, overwrite=overwrite)
    finally:
        client.close()
    click.echo(
        f"Kibana at {client.display}: {imported} saved objects imported; open the dashboard "
        f"'Veille: overview'"
    )
