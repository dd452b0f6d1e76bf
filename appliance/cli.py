"""The ``ccbox`` command.

Commands that belong to the appliance are defined here; others (the simulator,
benchmarks) are registered by their own packages through the ``ccbox.commands``
entry-point group, so the appliance never imports them.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

app = typer.Typer(
    name="ccbox",
    help="A call-center appliance and the testbed that drives its real code.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command("check")
def check(
    config: str = typer.Argument(..., help="Site configuration file, or a built-in site name"),
) -> None:
    """Validate a site configuration and summarise it."""
    from rich.console import Console

    from appliance.config import ConfigError, resolve_site

    console = Console()
    try:
        site = resolve_site(config)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    trunks = sum(g.channels for g in site.trunk_groups)
    console.print(
        f"{site.site}: valid - {trunks} trunk channels in {len(site.trunk_groups)} groups, "
        f"{len(site.queues)} queues, {len(site.expanded_agents())} agents, "
        f"{len(site.routes)} routes",
        highlight=False,
    )


def _register_plugins() -> None:
    for entry in entry_points(group="ccbox.commands"):
        entry.load()(app)


def main() -> None:
    _register_plugins()
    app()
