"""``ccbox sim`` and ``ccbox bench``: the testbed's commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from appliance.config import ConfigError, Site, resolve_site
from appliance.kpi import summarize
from appliance.kpi.render import print_kpis, report_console
from appliance.kpi.storage import describe_storage
from sim.experiment import Experiment, run_once, run_replications, run_sip_once
from sim.media import announcement_timing, recording_storage_of
from sim.sipnet import LinkQuality

if TYPE_CHECKING:
    from sim.load.bench import LoadStep

bench_app = typer.Typer(
    help="Benchmarks, each printed against a baseline measured in the same run."
)


def site_with_traffic(config: str) -> Site:
    """The site `config` names, with its traffic; exits 2 saying why if there is none or
    the file does not validate."""
    try:
        site = resolve_site(config)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    if site.traffic is None:
        _fail(f"{config}: the site has no traffic section to simulate")
    return site


def _fail(message: str) -> NoReturn:
    """Say what is wrong and stop before anything runs."""
    typer.echo(f"ccbox: {message}", err=True)
    raise typer.Exit(2)


def _refuse(check: Callable[[Site], None], site: Site) -> None:
    """Stop with `check`'s reason if it refuses `site`."""
    try:
        check(site)
    except ValueError as error:
        _fail(str(error))


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def working_day_hours(site: Site) -> float:
    """The length of the site's daily traffic profile; 8 h for a constant rate."""
    traffic = site.traffic
    assert traffic is not None
    if isinstance(traffic.calls_per_hour, list):
        return len(traffic.calls_per_hour) * traffic.interval_minutes / 60.0
    return 8.0


def simulate_command(
    config: str = typer.Argument("small", help="Site configuration file, or small/medium/digital"),
    hours: float | None = typer.Option(
        None, min=0.01, help="Simulated hours per replication [default: the site's day profile]"
    ),
    seed: int = typer.Option(1, help="Seed of every random stream"),
    replications: int = typer.Option(1, min=1, help="Independent replications (run in parallel)"),
    warmup: float = typer.Option(0.0, min=0.0, help="Minutes at the start left out of the figures"),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON"),
    html: Path | None = typer.Option(None, "--html", metavar="FILE",
                                     help="Also write the report as an HTML page with its plots"),
    events: Path | None = typer.Option(None, help="Write the event log (JSON lines) here"),
    workers: int | None = typer.Option(None, min=1, help="Processes for replications"),
    fidelity: str = typer.Option(
        "call", help="call: callers and agents talk to call control (fast); sip: every leg "
        "is a SIP dialog over a simulated network"),
    latency: float = typer.Option(0.02, min=0.0, help="SIP fidelity: one-way delay, seconds"),
    jitter: float = typer.Option(0.01, min=0.0, help="SIP fidelity: extra random delay, s"),
    loss: float = typer.Option(0.0, min=0.0, max=0.5, help="SIP fidelity: datagram loss"),
) -> None:
    """Simulate a site with the appliance's own ACD and print its KPI report."""
    if fidelity not in ("call", "sip"):
        _fail(f"--fidelity: expected 'call' or 'sip'; got {fidelity!r}")
    site = site_with_traffic(config)
    if fidelity == "sip":
        from sim.sipfidelity import refuse_gateway_ports  # SIP's stack: only when asked for

        _refuse(refuse_gateway_ports, site)
    if hours is None:
        hours = working_day_hours(site)
    if warmup * 60 >= hours * 3600:
        _fail("--warmup must be shorter than --hours")
    for option, path in (("--events", events), ("--html", html)):
        if path is not None and not path.parent.is_dir():
            _fail(f"{option} {path}: no directory {path.parent} to write it in")
    experiment = Experiment(site, hours, seed, warmup * 60.0, events)
    # Builds the default prompts once, here, before any replication needs them.
    timing = announcement_timing(site)
    console = report_console(as_json)
    with progress_bar(console) as progress:
        if fidelity == "sip":
            quality = LinkQuality(latency, jitter, loss)
            task = progress.add_task(f"{replications} x {hours:g} h, SIP fidelity",
                                     total=replications)
            reports = []
            for replication in range(replications):
                reports.append(run_sip_once(experiment, quality, replication, replications))
                progress.advance(task)
        elif replications == 1:
            task = progress.add_task(f"simulating {hours:g} h", total=1.0)
            report = run_once(
                experiment, progress=lambda done: progress.update(task, completed=done)
            )
            reports = [report]
        else:
            task = progress.add_task(f"{replications} replications", total=replications)
            reports = run_replications(
                experiment, replications, workers, on_done=lambda _r: progress.advance(task)
            )
    title = f"{site.site}: {hours:g} h simulated, seed {seed}"
    if fidelity == "sip":
        title += f", SIP fidelity ({loss:.0%} loss, {latency * 1000:g} ms latency)"
    if replications == 1:
        data = reports[0]
    else:
        data = summarize(reports)
        title += f", {replications} replications (mean ± 95 % CI)"
    storage = recording_storage_of(site, data, working_day_hours(site))
    header = {"site": site.site, "hours": hours, "seed": seed, "replications": replications,
              "warmup_minutes": warmup}
    trailer = {"recordings": storage.to_dict() if storage is not None else None,
               "announcements": timing.note or None}
    print_kpis(data, console, title=title, as_json=as_json, header=header, trailer=trailer)
    if html is not None:
        from appliance.kpi.html import write_html  # matplotlib: only when a page is asked for

        write_html(data, html, title=title)
    if not as_json:
        if storage is not None:
            console.print(describe_storage(storage), highlight=False)
        if timing.note:
            console.print(timing.note, highlight=False)


@bench_app.command("sim")
def bench_sim_command(
    config: str = typer.Argument("small", help="Site configuration file, or small/medium/digital"),
    days: int = typer.Option(30, min=1, help="Simulated days (24 h) in each measured run"),
    repeats: int = typer.Option(5, min=1, help="Rounds of each model (the fastest is shown)"),
    beside: str = typer.Option(None, help="Also time this site's calls, in alternate rounds "
                               "(e.g. small beside small-ivr: what the IVR costs a call)"),
) -> None:
    """Simulated calls per wall-clock second: the site in call fidelity vs bare SimPy."""
    from sim.bench import bench_sim

    site = site_with_traffic(config)
    console = Console()
    with console.status("measuring"):
        ours, plain, ciw = bench_sim(site, days, repeats)
    table = Table(
        title=f"{site.site}: {days} simulated days per run, fastest of {repeats} rounds"
    )
    table.add_column("model")
    table.add_column("calls", justify="right")
    table.add_column("wall s", justify="right")
    table.add_column("calls / s", justify="right")
    rows = (
        (ours, "ccbox (real ACD, event log, KPIs)"),
        (plain, "plain SimPy M/M/c"),
        (ciw, "Ciw 3 M/M/c (a peer simulator)"),
    )
    for m, label in rows:
        table.add_row(label, f"{m.calls:,}", f"{m.seconds:.2f}", f"{m.calls_per_second:,.0f}")
    console.print(table)
    ratio = ours.calls_per_second / plain.calls_per_second
    console.print(f"ratio ccbox / plain SimPy: [bold]{ratio:.2f}[/bold] (target >= 0.3, aim 0.5)")
    versus_ciw = ours.calls_per_second / ciw.calls_per_second
    console.print(f"ratio ccbox / Ciw: [bold]{versus_ciw:.2f}[/bold]", highlight=False)
    console.print(
        "anchors (M/M/28 at 86 %, 200k calls, a 2-core machine like this one): "
        "SimPy 4.1.2 122k calls/s with a process per call, 183k with Resource callbacks; "
        "Ciw 3.2.7 47.6k calls/s",
        highlight=False,
    )
    if beside is not None:
        _print_beside(console, site, site_with_traffic(beside), days, repeats)


def _print_beside(console: Console, site: Site, other: Site, days: int, repeats: int) -> None:
    from sim.bench import bench_beside

    with console.status(f"measuring {site.site} beside {other.site}"):
        ours, theirs = bench_beside(site, other, days, repeats)
    cost, base = (1e6 / m.calls_per_second for m in (ours, theirs))
    console.print(
        f"{site.site} beside {other.site} (alternate rounds): {ours.calls_per_second:,.0f} vs "
        f"{theirs.calls_per_second:,.0f} calls/s, ratio [bold]"
        f"{ours.calls_per_second / theirs.calls_per_second:.2f}[/bold]; "
        f"{cost:.0f} vs {base:.0f} us a call: {site.site}'s calls cost "
        f"{cost - base:+.0f} us ({(cost - base) / base:+.0%}) more than {other.site}'s",
        highlight=False)


@bench_app.command("media")
def bench_media_command(
    seconds: float = typer.Option(5.0, min=1.0, help="Seconds of RTP at each step"),
    calls: list[int] = typer.Option([50, 100, 200, 300, 400], min=1,
                                    help="Concurrent calls at each step (repeat the option)"),
    record: bool = typer.Option(True, help="Record every call (WAVs in a temporary folder), "
                                "as the appliance does; --no-record measures the bare relay"),
    baseline: bool = typer.Option(True, help="With --record, also measure the bare relay at "
                                  "each step and print the ratios"),
) -> None:
    """Concurrent calls' RTP through the media relay, both ways, 20 ms packets."""
    from sim.bench_media import MAX_P999_MS, measure_media, recording_room

    console = Console()
    if record:
        free, needed = recording_room(max(calls), seconds)
        console.print(f"recordings go to a temporary folder with {free / 1e9:,.1f} GB free "
                      f"(the largest step needs {needed / 1e9:,.1f} GB"
                      f"{'' if free >= needed else ': TOO LITTLE'})", highlight=False)
    with console.status("relaying RTP"):
        figures = measure_media(sorted(calls), seconds, record=record, baseline=baseline)
    runs = [("recorded" if record else "bare", figures)]
    if "baseline" in figures:
        runs.append(("bare", figures["baseline"]))  # type: ignore[arg-type]
    table = Table(title="media relay on 127.0.0.1: one 20 ms G.711 packet each way per call")
    for column in ("calls", "mode", "packets", "lost", "p50 ms", "p99 ms", "p99.9 ms",
                   "CPU ms/call-s", "result"):
        table.add_column(column, justify="right")
    rows = sorted(((step["calls"], order, mode, step) for order, (mode, run) in enumerate(runs)
                   for step in run["steps"]), key=lambda row: row[:2])  # type: ignore[index]
    for count, _, mode, step in rows:
        table.add_row(str(count), mode, f"{step['sent']:,}", str(step["lost"]),
                      f"{step['p50_ms']:.1f}", f"{step['p99_ms']:.1f}",
                      f"{step['p999_ms']:.1f}", f"{step['relay_cpu_ms_per_call_second']:.2f}",
                      "pass" if step["passed"] else "FAIL")
    console.print(table)
    for count, _, _mode, step in rows:
        if step["recorded"]:
            console.print(
                f"{count} recorded: {step['recordings']} WAVs read back, durations within "
                f"{step['worst_duration_error_ms']:.0f} ms, {step['bytes_per_call_second']:,.0f} "
                f"bytes per call-second; starting one took the loop up to "
                f"{step['start_max_ms']:.1f} ms, starting and finishing "
                f"{step['start_and_finish_cpu_ms_per_call']:.2f} ms CPU a call", highlight=False)
    if "baseline" in figures:
        bare = {step["calls"]: step for step in figures["baseline"]["steps"]}  # type: ignore[index]
        for step in figures["steps"]:  # type: ignore[attr-defined]
            other = bare.get(step["calls"])
            if other is not None:
                cpu = _ratio(step["relay_cpu_ms_per_call_second"],
                             other["relay_cpu_ms_per_call_second"])
                console.print(f"{step['calls']} calls, recorded / bare: CPU per call-second "
                              f"{cpu}, p99.9 {_ratio(step['p999_ms'], other['p999_ms'])}",
                              highlight=False)
    what = "recorded" if record else "bare (not recorded)"
    line = (f"held: [bold]{figures['held']}[/bold] concurrent {what} calls with no loss and "
            f"p99.9 <= {MAX_P999_MS:g} ms")
    if "baseline" in figures:
        line += f" (bare relay: {figures['baseline']['held']})"  # type: ignore[index]
    console.print(line + "; target 200, aim 300", highlight=False)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


@bench_app.command("tones")
def bench_tones_command(
    seconds: float = typer.Option(60.0, min=1.0, help="Seconds of one line's audio"),
) -> None:
    """CPU per channel-second of listening for busy tone and DTMF in 20 ms G.711 packets."""
    from sim.bench_tones import measure_tones

    table = Table(title=f"in-band detectors, {seconds:g} s of one line, 20 ms u-law packets")
    for column in ("detector", "CPU us/channel-s", "channels per core"):
        table.add_column(column, justify="right")
    for cost in measure_tones(seconds):
        table.add_row(cost.name, f"{cost.us_per_channel_second:,.0f}",
                      f"{cost.channels_per_core:,.0f}")
    Console().print(table)


@bench_app.command("records")
def bench_records_command(
    records: int = typer.Option(200_000, min=1000, help="Event records to append"),
) -> None:
    """What writing detail records to SQLite costs the code that handles calls."""
    from appliance.records.bench import measure_append_overhead, measure_durable_wait

    figures = measure_append_overhead(records)
    console = Console()
    console.print(
        f"{records:,} records: appended {figures['plain_per_s']:,.0f}/s to the event log alone, "
        f"{figures['store_per_s']:,.0f}/s with the SQLite store subscribed "
        f"(+{figures['added_ns_per_record']:,.0f} ns a record on the calling thread; "
        f"the writer thread caught up {figures['drain_s']:.2f} s after the last one)",
        highlight=False)
    per_call = figures["added_ns_per_record"] * 9 / 1e6
    console.print(f"about {per_call:.3f} ms a call at 9 records a call, against the "
                  "appliance's few milliseconds of CPU a call (ccbox bench sip)", highlight=False)
    held = measure_durable_wait(max(100, records // 400))
    console.print(
        f"the 200 to a BYE waits for the call's end to be committed: median "
        f"{held['median_ms']:.2f} ms, p99 {held['p99_ms']:.2f} ms, max {held['max_ms']:.2f} ms "
        f"over {held['calls']:,.0f} calls one after the other "
        f"({held['calls_per_s']:,.0f} calls/s at one commit a call)", highlight=False)


@bench_app.command("sip")
def bench_sip_command(
    step_seconds: float = typer.Option(10.0, help="Seconds of calls at each rate step"),
    agents: int = typer.Option(1000, min=1, help="Registered agent phones"),
    concurrent: int = typer.Option(1000, min=0, help="Concurrent calls to hold (0: skip)"),
    ceiling_budget: float = typer.Option(60.0, help="Seconds for SIPp's own ceiling"),
    overload_seconds: float = typer.Option(
        60.0, min=0, help="Seconds of the overload ramp (0: skip the overload step)"),
    overload_factor: float = typer.Option(
        4.0, min=1, help="The ramp ends at this many times the sustained rate"),
    overload_held_after: float = typer.Option(
        60.0, min=0, help="Seconds after the ramp to look for calls and ports still held"),
    transfer: bool = typer.Option(
        True, help="Also step the rate with one blind transfer (REFER) in every call"),
) -> None:
    """Calls per second: SIPp against itself (the ceiling) vs SIPp through the appliance,
    with one blind transfer in every call beside it, then an overload step ramping past the
    rate the appliance sustained."""
    from sim.bench_b2bua import ASTERISK_ANCHOR, measure_b2bua, measure_concurrent
    from sim.bench_sip import ANCHOR, format_overload, measure_overload, measure_sipp_ceiling

    console = Console()
    with console.status("SIPp uac -> SIPp uas (the load generator's ceiling)"):
        ceiling = measure_sipp_ceiling(budget=ceiling_budget)
    with console.status("SIPp callers -> ccbox queue -> SIPp agents"):
        ours = measure_b2bua(seconds=step_seconds, agents=agents)
    console.print(_b2bua_table("ccbox serve: SIPp callers -> queue -> SIPp agents, 1 s calls, "
                               "UDP", ours["steps"]))  # type: ignore[arg-type]
    sustained, top = ours["sustained"], ceiling["ceiling"]
    console.print(f"SIPp ceiling (uac -> uas): [bold]{top}[/bold] calls/s; "
                  f"appliance sustained: [bold]{sustained}[/bold] calls/s "
                  f"(< 1 in 10,000 failed); ratio {sustained / top if top else 0:.3f}",
                  highlight=False)
    console.print(f"target >= 200 calls/s, aim 500. anchors: {ANCHOR}; {ASTERISK_ANCHOR}",
                  highlight=False)
    if transfer:
        with console.status("the same, each call blind-transferred to a second queue"):
            moved = measure_b2bua(seconds=step_seconds, agents=agents, transfer=True)
        console.print(_b2bua_table("the same, each call blind-transferred once (REFER to a "
                                   "second queue, a third of the way in)",
                                   moved["steps"]))  # type: ignore[arg-type]
        with_transfer = moved["sustained"]
        console.print(f"with a transfer in every call: [bold]{with_transfer}[/bold] calls/s "
                      f"beside {sustained} plain (ratio "
                      f"{with_transfer / sustained if sustained else 0:.2f}; a transferred "
                      f"call has two agent legs)", highlight=False)
    if concurrent:
        with console.status(f"holding {concurrent} concurrent calls"):
            held = measure_concurrent(concurrent)
        console.print(f"concurrent: {held['peak_concurrent']} calls up at once, "
                      f"{held['successful']} of {held['placed']} completed "
                      f"({'held' if held['held'] else 'NOT held'}; target 1,000)",
                      highlight=False)
    if overload_seconds and sustained:
        with console.status(f"overload: {sustained} -> {overload_factor * sustained:g} calls/s"):
            figures = measure_overload(sustained, overload_seconds, factor=overload_factor,
                                       agents=agents, held_after=overload_held_after)
        console.print(format_overload(figures), highlight=False)
        console.print("(figures from a shared machine are noisy: compare runs, not digits)",
                      highlight=False)


@bench_app.command("load")
def bench_load_command(
    step_seconds: float = typer.Option(20.0, min=2.0, help="Seconds of calls at each rate"),
    rates: list[float] = typer.Option(None, "--rate", min=0.1, help="A call rate to step "
                                      "through, calls/s (repeat) [default: 10 ... 400]"),
    seed: int = typer.Option(1, help="Seed of the callers and agents"),
) -> None:
    """The highest load `ccbox load` itself generates here: a synthetic site (one queue,
    1 s calls, agents enough, no IVR, no recording) driven live against a fresh local box
    at rising rates, until the load side falls behind or calls fail."""
    import tempfile

    from sim.load.bench import DEFAULT_RATES, measure_ceiling, summary

    console = Console()
    with (tempfile.TemporaryDirectory(prefix="ccbox-bench-load-") as scratch,
          console.status("starting") as status):
        ceiling = measure_ceiling(Path(scratch), rates or DEFAULT_RATES, step_seconds, seed,
                                  lambda rate: status.update(f"{rate:g} calls/s"))
    console.print(_load_table(ceiling.steps, step_seconds))
    for line in summary(ceiling):
        console.print(line, highlight=False)
    console.print("(figures from a shared machine are noisy: compare runs, not digits)",
                  highlight=False)


def _load_table(steps: list[LoadStep], seconds: float) -> Table:
    table = Table(title=f"ccbox load -> ccbox serve: 1 s calls, one queue, {seconds:g} s a "
                        "step; CPU per call and % of one core over the calls' window")
    for column in ("rate", "agents", "placed/s", "load ms/call", "load CPU",
                   "lag mean/worst ms", "box ms/call", "box CPU", "result"):
        table.add_column(column, justify="right")
    for step in steps:
        table.add_row(f"{step.rate:g}", f"{step.agents:,}", f"{step.placed_per_s:,.1f}",
                      f"{step.load_ms_per_call:.2f}", f"{step.load_percent:.0f} %",
                      f"{step.lag_mean * 1000:.1f}/{step.lag_worst * 1000:.0f}",
                      f"{step.box_ms_per_call:.2f}", f"{step.box_percent:.0f} %",
                      _load_result(step))
    return table


def _load_result(step: LoadStep) -> str:
    result = "pass" if step.passed else "FAIL " + "; ".join(step.problems)
    refused = step.warm_up_failures
    return f"{result} ({refused} logins refused)" if refused else result


def _b2bua_table(title: str, steps: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for column in ("rate", "placed", "achieved/s", "failed", "CPU ms/call", "result"):
        table.add_column(column, justify="right")
    for step in steps:
        unmoved = step.get("untransferred")
        failures = (step["failures"] or "") if not unmoved else f"{unmoved} not transferred"
        table.add_row(str(step["rate"]), str(step["placed"]), f"{step['achieved_rate']:.0f}",
                      str(step["failed"]), f"{step['cpu_ms_per_call']:.2f}",
                      "pass" if step["passed"] else f"FAIL {failures}")
    return table


def sweep_command(
    configs: list[str] = typer.Argument(..., help="Site files or built-in sites"),
    load: str = typer.Option("1", help="Traffic multipliers to try, e.g. 0.8,1,1.2"),
    replications: int = typer.Option(10, min=1, help="Replications per site and load"),
    hours: float = typer.Option(8.0, min=0.1, help="Simulated hours per run"),
    seed: int = typer.Option(1, help="Seed (replication r uses the same streams anywhere)"),
    scheduler: str = typer.Option("local", help="'local' starts a Dask cluster here; an "
                                  "address (tcp://host:8786) uses that one's workers; "
                                  "'none' runs in this process"),
    workers: int = typer.Option(None, help="Worker processes of the local cluster"),
    as_json: bool = typer.Option(False, "--json", help="Print the summaries as JSON"),
) -> None:
    """Many sites, loads and replications at once, on Dask: service level, ASA, abandonment
    and blocking per site and load, with 95 % intervals."""
    from sim.sweep import grid, run_locally, run_on_dask

    try:
        scales = [float(part) for part in load.split(",")]
    except ValueError:
        _fail(f"--load: expected numbers separated by commas; got {load!r}")
    if any(scale <= 0 for scale in scales):
        _fail(f"--load: expected multipliers above 0; got {load!r}")
    sites = [site_with_traffic(config) for config in configs]
    runs = grid(sites, scales, replications, hours, seed)
    console = Console(stderr=as_json)
    with progress_bar(console) as progress:
        task = progress.add_task(f"{len(runs)} runs", total=len(runs))

        def advance(done: int) -> None:
            progress.update(task, completed=done)

        if scheduler == "none":
            results = run_locally(runs, on_done=advance)
        else:
            results = run_on_dask(runs, scheduler, workers, on_done=advance)
    summaries = [{"site": r.site, "load": r.scale, "replications": len(r.reports),
                  "figures": r.summary()} for r in results]
    if as_json:
        typer.echo(json.dumps(summaries, indent=2))
        return
    table = Table(title=f"{len(runs)} runs of {hours:g} h, mean ± 95 % half-width")
    for heading in ("site", "load", "offered", "service level", "ASA s", "abandoned",
                    "blocked"):
        table.add_column(heading, justify="right")
    for summary in summaries:
        figures = summary["figures"]
        table.add_row(summary["site"], f"{summary['load']:g}x",
                      _figure(figures["offered"], "{:.0f}"),
                      _figure(figures["service_level"], "{:.1%}"),
                      _figure(figures["asa"], "{:.1f}"),
                      _figure(figures["abandon_rate"], "{:.1%}"),
                      _figure(figures["blocked_rate"], "{:.1%}"))
    console.print(table)


def _figure(figure: dict, form: str) -> str:
    if figure["mean"] is None:
        return "-"
    text = form.format(figure["mean"])
    if figure["half_width"] is not None:
        text += " ± " + form.format(figure["half_width"])
    return text


def register(app: typer.Typer) -> None:
    from sim.compare.command import compare_command
    from sim.forecast.command import register as register_forecast
    from sim.load.command import load_command
    from sim.sizing.command import size_command

    app.command("sim")(simulate_command)
    app.command("compare")(compare_command)
    register_forecast(app)
    app.command("size")(size_command)
    app.command("sweep")(sweep_command)
    app.command("load")(load_command)
    app.add_typer(bench_app, name="bench")
