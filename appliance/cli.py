"""The ``ccbox`` command.

Commands that belong to the appliance are defined here; others (the simulator,
benchmarks) are registered by their own packages through the ``ccbox.commands``
entry-point group, so the appliance never imports them.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from appliance.state import StateFolder

if TYPE_CHECKING:
    from appliance.config import Site

app = typer.Typer(
    name="ccbox",
    help="A call-center appliance and the testbed that drives its real code.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


STATE_DIR_HELP = ("Folder for records, recordings and built prompts (default: "
                  "/var/lib/ccbox as root, else ~/.local/share/ccbox; or $CCBOX_STATE_DIR)")


def _state(state_dir: Path | None) -> StateFolder:
    return StateFolder.default() if state_dir is None else StateFolder(state_dir)


@app.command("check")
def check(
    config: str = typer.Argument(..., help="Site configuration file, or a built-in site name"),
    state_dir: Path = typer.Option(None, help=STATE_DIR_HELP),
    against: str = typer.Option(None, "--against", metavar="RUNNING",
                                help="The configuration the appliance runs: print what a "
                                     "reload (SIGHUP) to CONFIG would change, and what of it "
                                     "needs a restart"),
) -> None:
    """Validate a site configuration and summarise it, with every check `serve` makes before
    it starts (prompts, music, folders) and what would keep the site from taking calls.
    Exits with 2 if a file is invalid or cannot be served."""
    from rich.console import Console

    from appliance.config import ConfigError, resolve_site
    from appliance.live.preflight import preflight
    from appliance.wiring import wiring_tables

    console = Console()
    try:
        site = resolve_site(config)
        checked = preflight(site, _state(state_dir))
        if checked.problems:
            raise ConfigError(config, checked.problems, "cannot serve this site configuration")
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    for warning in checked.warnings:
        typer.echo(f"warning: {warning}", err=True)
    trunks = sum(g.channels for g in site.trunk_groups)
    console.print(
        f"{site.site}: valid - {trunks} trunk channels in {len(site.trunk_groups)} groups, "
        f"{len(site.queues)} queues, {len(site.expanded_agents())} agents, "
        f"{len(site.routes)} routes",
        highlight=False, soft_wrap=True,
    )
    for table in wiring_tables(site):
        console.print(table)
    if against is not None:
        _print_reload_changes(against, site)


def _print_reload_changes(running_config: str, new: Site) -> None:
    """What a reload from ``running_config`` to ``new`` changes, one line each."""
    from appliance.config import ConfigError, resolve_site
    from appliance.config.changes import compare, describe

    try:
        running = resolve_site(running_config)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    for line in describe(compare(running, new)):
        typer.echo(line)


@app.command("serve")
def serve_command(
    config: str = typer.Argument(..., help="Site configuration file, or a built-in site name"),
    address: str = typer.Option("127.0.0.1", help="Address to listen on (UDP)"),
    port: int = typer.Option(5060, help="Port to listen on (UDP)"),
    state_dir: Path = typer.Option(None, help=STATE_DIR_HELP),
    records: Path = typer.Option(None, help="SQLite database for the event log and detail "
                                 "records [STATE_DIR/records.sqlite]"),
    grace: float = typer.Option(10.0, help="Seconds to let calls end on SIGTERM"),
    log_level: str = typer.Option("info", help="debug, info, warning or error"),
    media_address: str = typer.Option(None, help="Address for RTP, given in SDP "
                                      "(default: ADDRESS, or the primary one if that is 0.0.0.0)"),
) -> None:
    """Run the appliance: SIP on ADDRESS:PORT, RTP on the site's media ports, records in an
    SQLite database, recordings under the site's media.recording.folder (relative to the state
    folder). It writes nothing outside the state folder (and --records).

    SIGTERM ends calls with BYE and flushes records; SIGHUP reloads CONFIG (a configuration
    that does not validate is reported and the running one kept).
    """
    from appliance.live.app import run_appliance
    from appliance.live.logsetup import configure_logging

    configure_logging(log_level.upper())
    run_appliance(config, address, port, _state(state_dir), records, grace,
                  media_address=media_address)


@app.command("passwd")
def passwd_command(
    user: str = typer.Argument(..., help="The phone's user name (an agent id for a seat)"),
    realm: str = typer.Option("ccbox", help="The site's sip.realm"),
    password: str = typer.Option(..., prompt=True, hide_input=True,
                                 help="The phone's password (asked for if not given)"),
) -> None:
    """Print a phone entry for a site's sip.phones: digest hashes, never the password."""
    from appliance.pbx.sip.digest import ha1

    typer.echo(f'- user: "{user}"')
    typer.echo(f"  ha1_md5: {ha1(user, realm, password, 'MD5')}")
    typer.echo(f"  ha1_sha256: {ha1(user, realm, password, 'SHA-256')}")


@app.command("prompts")
def prompts_command(
    out: Path = typer.Option(Path("prompts"), help="Folder for the prompt sets"),
    language: list[str] = typer.Option(["en", "zh"], help="Languages to build"),
) -> None:
    """Generate the default prompt sets (espeak-ng and sox): OUT/<language>/<prompt>.wav."""
    from appliance.live.prompt_build import PromptBuildError, build_prompts

    try:
        written = build_prompts(out, language)
    except (PromptBuildError, KeyError) as error:
        typer.echo(f"ccbox prompts: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{len(written)} prompts in {out}/ ({', '.join(language)})")


@app.command("report")
def report_command(
    records: Path = typer.Argument(..., help="The records database: STATE_DIR/records.sqlite "
                                   "of a running or stopped appliance (or its --records)"),
    start: str = typer.Option(None, "--from", help="First moment, on the box's clock: "
                              "2026-12-07T08:00, or 08:00 on the first record's day "
                              "[default: the first record]"),
    end: str = typer.Option(None, "--to", help="End, the same way [default: the last record]"),
    interval: str = typer.Option("30m", help="Interval length: 30m, 1h, 900s"),
    queue: str = typer.Option(None, help="Only the calls that visited this queue"),
    config: str = typer.Option(None, help="The site file the box runs: its queues' service-"
                               "level and short-abandon thresholds [default: 20 s each]"),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON"),
    html: Path = typer.Option(None, "--html", metavar="FILE",
                              help="Also write the report as an HTML page with its plots"),
) -> None:
    """The KPI report of the appliance's own records, as `ccbox sim` prints a simulation's:
    the same figures by the same code. Exits with 2 if the records cannot be read."""
    from appliance.config import ConfigError, resolve_site
    from appliance.kpi.boxreport import ReportError, box_report, read_timeline
    from appliance.kpi.render import print_kpis, report_console
    from appliance.kpi.settings import queue_thresholds

    try:
        if html is not None and not html.parent.is_dir():
            raise ReportError(f"--html {html}: no directory {html.parent} to write it in")
        thresholds = None if config is None else queue_thresholds(resolve_site(config))
        timeline = read_timeline(records, start, end)
        made = box_report(timeline, interval, start, end, queue, thresholds)
    except (ReportError, ConfigError) as error:
        typer.echo(f"ccbox report: {error}", err=True)
        raise typer.Exit(2) from None
    title = f"{records.name}: {made.period} (the box's clock)"
    if queue is not None:
        title += f", calls of queue {queue}"
    console = report_console(as_json)
    print_kpis(made.kpis, console, title=title, as_json=as_json, header=made.header(records),
               trailer={"outside_calls": made.outside.to_dict()})
    if made.outside.placed and not as_json:
        from appliance.kpi.outside import outside_table

        console.print(outside_table(made.outside))
    if html is not None:
        from appliance.kpi.html import write_html

        write_html(made.kpis, html, title=title)


@app.command("voicemail")
def voicemail(
    config: str = typer.Argument(..., help="Site configuration file, or a built-in site name"),
    mailbox: str = typer.Option(None, help="Only this mailbox's messages"),
    state_dir: Path = typer.Option(None, help=STATE_DIR_HELP),
) -> None:
    """List the voicemail messages the site's mailboxes hold, oldest first: when, mailbox,
    status (new/old), caller, length and the WAV file. Exits with 2 if the file is invalid."""
    from appliance.config import ConfigError, resolve_site
    from appliance.live.voicemail import list_messages

    try:
        site = resolve_site(config)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    folder = _state(state_dir).resolve(site.voicemail.folder)
    for message in list_messages(folder, mailbox):
        typer.echo(f"{message.received}  {message.mailbox}  {message.status:<3}  "
                   f"{message.caller or '-'}  {message.seconds:6.1f} s  {message.file}")


@app.command("campaign")
def campaign_command(
    records: Path = typer.Argument(..., help="The records database: STATE_DIR/records.sqlite "
                                   "of a running or stopped appliance (or its --records)"),
    name: str = typer.Option(None, "--campaign", help="Only this campaign"),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON"),
) -> None:
    """Each campaign's numbers done so far, by final outcome (connected, do_not_call, and,
    once their attempts were used up, no_answer, busy, failed, abandoned), with the calls
    placed to them. Exits with 2 if the records cannot be read."""
    import json

    from appliance.records import RecordReader
    from appliance.records.campaign import outcomes_by_campaign

    if not records.is_file():
        typer.echo(f"ccbox campaign: {records}: no such file", err=True)
        raise typer.Exit(2)
    found = outcomes_by_campaign(RecordReader(records).campaign_numbers(campaign=name))
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    for campaign, counts in found.items():
        done = sum(count for outcome, count in counts.items() if outcome != "attempts")
        parts = ", ".join(f"{outcome} {count}" for outcome, count in counts.items())
        typer.echo(f"{campaign}: {done} numbers done - {parts}")


def _register_plugins() -> None:
    for entry in entry_points(group="ccbox.commands"):
        entry.load()(app)


def main() -> None:
    _register_plugins()
    app()
