"""``veille networks run`` (the social-network connectors as their own worker, for scale-out) and
``veille sources test NAME`` (check a connector's credentials and show what one poll would
bring, publishing and saving nothing)."""

from __future__ import annotations

import sys

import click

from veille.cli.common import State, pass_state
from veille.output import table


@click.group()
def networks() -> None:
    """The social-network connectors (sources.networks)."""


@networks.command("run")
@click.option("--once", is_flag=True, help="Poll every connector now, then exit (1 if one failed).")
@pass_state
def networks_run(state: State, once: bool) -> None:
    """Run the connectors: social networks -> mentions.raw."""
    from veille.workers import stop_on_signals

    with state.app() as app:
        poller = app.network_poller()
        if once:
            try:
                outcomes = poller.poll_due(force=True)
            finally:
                poller.close()
            rows = [[o.connector, o.status, o.new, o.deletions, o.error or ""] for o in outcomes]
            click.echo(table(rows, ["connector", "status", "new", "deleted", "note"]))
            if any(o.status != "ok" for o in outcomes):
                sys.exit(1)
            return
        with stop_on_signals() as stop:
            poller.run(stop)


@click.group()
def sources() -> None:
    """Check the configured sources."""


@sources.command("test")
@click.argument("name")
@click.option("--show", type=click.IntRange(0, 1000), default=10, help="Mentions to list.")
@pass_state
def sources_test(state: State, name: str, show: int) -> None:
    """Check connector NAME's credentials and print what one poll would bring (nothing is
    published, no cursor is moved)."""
    from crawlers.networks.base import ConnectorError
    from veille.logs import redact
    from veille.settings import secret_values

    settings = state.settings
    names = [n.name for n in settings.sources.networks]
    if name not in names:
        known = ", ".join(names) or "none is configured"
        raise click.UsageError(f"no connector named '{name}' in sources.networks ({known})")
    secrets = secret_values(settings)
    with state.app() as app:
        connector = next(c for c in app.connectors() if c.name == name)
        cursors = app.network_state.get(connector.name, connector.platform).cursor_map()
        try:
            for line in connector.test():
                click.echo(f"ok  {redact(line, secrets)}")
            batch = connector.poll(cursors)
        except ConnectorError as exc:
            click.echo(f"failed  {exc.status}: {redact(str(exc), secrets)}", err=True)
            sys.exit(1)
        finally:
            connector.close()
    limit = batch.rate_limit
    click.echo(
        f"one poll: {len(batch.mentions)} mentions, {len(batch.deletions)} deletions, "
        f"{batch.requests} requests"
        + (f", rate limit {limit.remaining}/{limit.limit} left" if limit else "")
        + (", more pages left" if batch.more else "")
    )
    rows = [
        [
            m.when.isoformat(timespec="minutes"),
            m.author.display if m.author else "",
            m.lang or "",
            (m.title or m.text).replace("\n", " ")[:80],
            m.url,
        ]
        for m in sorted(batch.mentions, key=lambda m: m.when, reverse=True)[:show]
    ]
    if rows:
        click.echo(table(rows, ["published", "author", "lang", "text", "url"], flex=3))
    if batch.error is not None:
        click.echo(f"failed  {batch.error.status}: {redact(str(batch.error), secrets)}", err=True)
        sys.exit(1)
