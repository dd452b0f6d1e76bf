"""The `serve` loop: a site configuration, a core, a `UdpDriver`, and the signals of a daemon.

SIGTERM and SIGINT end the appliance gracefully: the core is told to end every call, and the
process returns once it is idle or after a grace period. SIGHUP reloads the configuration: all
of it applies to new calls, calls up keep going, and the log names each change and what needs a
restart instead (`appliance.config.changes`); a configuration that does not validate is logged
and the old one stays in force. A configuration
that does not validate at start stops the appliance before it binds anything: it never runs
half-configured.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
from collections.abc import Callable

from appliance.config import ConfigError, Site, resolve_site
from appliance.config.changes import compare, effective
from appliance.live.core import Address, ServedCore
from appliance.live.udp import UdpDriver

_log = logging.getLogger(__name__)

EXIT_CONFIG_ERROR = 2
"""Exit status when the site configuration cannot be used at start (as `ccbox check`)."""


class StartError(Exception):
    """The machine, not the site file, keeps the appliance from starting (a folder it cannot
    write, a database it cannot open); the message says what and where, for the user."""

CoreFactory = Callable[[Site], ServedCore]
StartHook = Callable[[ServedCore, UdpDriver], None]
ReloadHook = Callable[[Site], Callable[[], None]]
"""Given the new site, reads what it needs (raising `ConfigError` if it cannot: then nothing is
applied) and returns what applies it, called right after the core took the new site."""


class Server:
    """One appliance process: `start()`, then `run()` until `request_stop()` (or a signal).

    `reload()` and `request_stop()` are what SIGHUP and SIGTERM/SIGINT call; they may as well
    be called directly (tests, a console command).
    """

    def __init__(self, core_factory: CoreFactory, config_path: str, host: str, port: int, *,
                 grace: float = 10.0, on_started: StartHook | None = None,
                 on_reload: ReloadHook | None = None) -> None:
        self.core_factory = core_factory
        self.on_started = on_started
        self.on_reload = on_reload
        self.config_path = config_path
        self.host = host
        self.port = port
        self.grace = grace
        self.site: Site | None = None
        self.core: ServedCore | None = None
        self.driver: UdpDriver | None = None
        self._stop: asyncio.Event | None = None
        self._hurry: asyncio.Event | None = None
        self.socket_lost = False
        """True when `run()` ended because the socket closed, not because it was asked to."""

    async def start(self) -> Address:
        """Load the site, build the core and bind; returns the bound address.

        Raises `ConfigError` before binding anything if the site does not validate.
        """
        site = resolve_site(self.config_path)
        # Before the core is built: building it creates the records and state folders, and
        # nothing is created by an appliance that cannot listen.
        await _check_can_listen(self.host, self.port)
        core = self.core_factory(site)
        driver = UdpDriver(core, self.host, self.port)
        self._stop = asyncio.Event()
        self._hurry = asyncio.Event()
        address = await driver.start()
        bind = getattr(core, "bind", None)
        if bind is not None:  # the core names itself in Via and Contact
            bind(address)
        self.site, self.core, self.driver = site, core, driver
        if self.on_started is not None:  # e.g. the media sockets, beside the SIP socket
            self.on_started(core, driver)
        _log.info("listening on %s:%d (site %s)", address[0], address[1], site.site)
        return address

    def reload(self) -> bool:
        """Load the configuration file again and apply it to new calls; True if it was applied.

        Each change is logged (INFO), and each one that needs a restart as a WARNING
        "needs a restart: ..." - those keep their running value, the rest applies. A
        configuration that does not validate (or names prompts or music that cannot be read)
        is logged as an ERROR naming the file and the fields, and nothing changes.
        """
        core, driver = self._started()
        running = self.site
        assert running is not None
        try:
            read = resolve_site(self.config_path)
            site = effective(running, read)
            apply_hook = None if self.on_reload is None else self.on_reload(site)
        except ConfigError as error:
            _log.error("configuration not reloaded, still running site %s: %s",
                       running.site, error)
            return False
        try:
            core.reload(site, driver.now())
            if apply_hook is not None:
                apply_hook()
        except Exception:
            _log.exception("core failed to apply the configuration from %s", self.config_path)
            driver.flush()
            return False
        self.site = site
        driver.flush()
        changes = compare(running, read)
        for line in changes.applied:
            _log.info("reload applies: %s", line)
        for line in changes.restart:
            _log.warning("needs a restart: %s", line)
        _log.info("configuration reloaded (site %s): %d changes applied, %d need a restart",
                  site.site, len(changes.applied), len(changes.restart))
        return True

    def request_stop(self) -> None:
        """Begin a graceful shutdown; asked a second time, stop waiting for calls to end."""
        if self._stop is None or self._hurry is None:
            return
        if self._stop.is_set():
            _log.warning("second stop request: not waiting for calls to end")
            self._hurry.set()
        self._stop.set()

    async def run(self) -> bool:
        """Serve until a stop is requested or the socket fails, then shut down gracefully.

        Returns True if the core became idle within the grace period.
        """
        self._started()
        assert self._stop is not None and self.driver is not None
        stop = asyncio.ensure_future(self._stop.wait())
        lost = asyncio.ensure_future(self.driver.wait_closed())
        try:
            await asyncio.wait((stop, lost), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            lost.cancel()
        self.socket_lost = self.driver.closed and not self._stop.is_set()
        return await self.shutdown()

    async def shutdown(self) -> bool:
        """Tell the core to end every call, wait until it is idle (at most `grace` seconds,
        less if `request_stop()` comes again) and close the socket."""
        core, driver = self._started()
        assert self._hurry is not None
        idle = False
        if not driver.closed:
            _log.info("shutting down: ending calls (grace %.1f s)", self.grace)
            try:
                core.shutdown(driver.now())
            except Exception:
                _log.exception("core failed to begin its shutdown")
            driver.flush()
            idle = await _idle_unless_hurried(driver, self.grace, self._hurry)
        if idle:
            _log.info("all calls ended")
        elif not driver.closed:
            _log.warning("closing with calls still up")
        driver.close()
        await driver.wait_closed()
        _log.info("stopped")
        return idle

    def _started(self) -> tuple[ServedCore, UdpDriver]:
        if self.core is None or self.driver is None:
            raise RuntimeError("the server has not been started")
        return self.core, self.driver


async def _idle_unless_hurried(driver: UdpDriver, grace: float, hurry: asyncio.Event) -> bool:
    """Whether the core became idle within `grace` seconds; False at once if `hurry` is set."""
    idle = asyncio.ensure_future(driver.wait_idle(grace))
    hurried = asyncio.ensure_future(hurry.wait())
    try:
        done, _ = await asyncio.wait((idle, hurried), return_when=asyncio.FIRST_COMPLETED)
    finally:
        hurried.cancel()
        idle.cancel()  # nothing happens to a finished task
    return idle in done and idle.result()


async def serve(core_factory: CoreFactory, config_path: str, host: str, port: int, *,
                grace: float = 10.0,
                on_ready: Callable[[Address], None] | None = None,
                on_started: StartHook | None = None,
                on_reload: ReloadHook | None = None) -> None:
    """Run the appliance on (`host`, `port`) until SIGTERM or SIGINT, then end gracefully.

    SIGHUP reloads `config_path`. If the configuration does not validate at start, the error
    is printed on stderr and `SystemExit(2)` raised before anything is bound. If the socket
    cannot be bound, or fails while serving, `SystemExit(1)` is raised. `on_ready` is called
    with the bound address once the appliance answers.
    """
    server = Server(core_factory, config_path, host, port, grace=grace, on_started=on_started,
                    on_reload=on_reload)
    try:
        address = await server.start()
    except ConfigError as error:
        print(error, file=sys.stderr)
        raise SystemExit(EXIT_CONFIG_ERROR) from None
    except StartError as error:
        print(f"cannot start: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except OSError as error:  # the port is taken, the address is not ours ...
        print(f"cannot listen on {host}:{port}: {error.strerror or error}", file=sys.stderr)
        raise SystemExit(1) from None
    loop = asyncio.get_running_loop()
    handlers = {signal.SIGTERM: server.request_stop, signal.SIGINT: server.request_stop,
                signal.SIGHUP: server.reload}
    installed = [signum for signum, handler in handlers.items()
                 if _add_signal_handler(loop, signum, handler)]
    try:
        if on_ready is not None:
            on_ready(address)
        await server.run()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
        if server.driver is not None and not server.driver.closed:
            server.driver.close()
    if server.socket_lost:
        raise SystemExit(1)


async def _check_can_listen(host: str, port: int) -> None:
    """Raise OSError if (`host`, `port`) cannot be bound for UDP now (taken, not ours)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM,
                                       flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise OSError(error.errno, f"cannot resolve {host!r}: {error.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.bind(address)


def _add_signal_handler(loop: asyncio.AbstractEventLoop, signum: signal.Signals,
                        handler: Callable[[], object]) -> bool:
    try:
        loop.add_signal_handler(signum, handler)
    except (NotImplementedError, RuntimeError, ValueError) as error:
        # Not the main thread, or a platform without POSIX signals.
        _log.warning("cannot handle %s: %s", signum.name, error)
        return False
    return True


__all__ = ["EXIT_CONFIG_ERROR", "CoreFactory", "ReloadHook", "Server", "StartError",
           "serve"]
