"""`Server` and `serve`: configuration at start and on reload, graceful stop, signals.

The signal tests run `serve` in a child process (cwd the project root, so that this package
imports) and signal only that child.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance.config import ConfigError, Site, builtin_site_path
from appliance.live import EXIT_CONFIG_ERROR, Server, serve
from appliance.live.logsetup import LOG_FORMAT, configure_logging
from appliance.pbx.sip import Response, parse
from tests.appliance.live.test_options_core import OptionsCore, options_request
from tests.appliance.live.test_udp import LOOPBACK, WAIT, Client

ROOT = Path(__file__).resolve().parents[3]
CHILD_WAIT = 30.0  # a child process imports pydantic and friends before it answers


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    shutil.copyfile(builtin_site_path("small"), path)
    return path


def break_yaml(path: Path) -> None:
    path.write_text("site: small\nqueues: [\n", encoding="utf-8")


def break_field(path: Path) -> None:
    text = builtin_site_path("small").read_text(encoding="utf-8")
    path.write_text(text.replace("channels: 4 ", "channels: many "), encoding="utf-8")


def rename_site(path: Path, name: str) -> None:
    text = builtin_site_path("small").read_text(encoding="utf-8")
    path.write_text(text.replace("site: small", f"site: {name}"), encoding="utf-8")


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(4 * WAIT):
            await scenario()

    asyncio.run(bounded())


def exit_code(scenario: Callable[[], Awaitable[None]]) -> object:
    """The code of the SystemExit `scenario` raises (None if it returns)."""
    async def bounded() -> object:
        try:
            async with asyncio.timeout(4 * WAIT):
                await scenario()
        except SystemExit as exit_:
            return exit_.code
        return None

    return asyncio.run(bounded())


async def ask(client: Client, server: tuple[str, int], branch: str) -> Response:
    client.send(options_request(client.address, branch), server)
    return await client.receive()


# -- in process ---------------------------------------------------------------------------------


def test_start_reload_and_graceful_stop(config: Path, caplog: pytest.LogCaptureFixture) -> None:
    cores: list[OptionsCore] = []

    def factory(site: object) -> OptionsCore:
        cores.append(OptionsCore(site))  # type: ignore[arg-type]
        return cores[-1]

    async def scenario() -> None:
        server = Server(factory, str(config), LOOPBACK, 0, grace=WAIT)
        address = await server.start()
        client = Client()
        try:
            assert (await ask(client, address, "s1")).headers.get("Organization") == "small"
            break_field(config)
            assert not server.reload()
            assert (await ask(client, address, "s2")).headers.get("Organization") == "small"
            rename_site(config, "small-two")
            assert server.reload()
            assert (await ask(client, address, "s3")).headers.get("Organization") == "small-two"
            server.request_stop()
            assert await server.run()
            assert server.driver is not None and server.driver.closed
            assert not server.socket_lost
        finally:
            client.close()

    with caplog.at_level(logging.INFO, logger="appliance.live"):
        run(scenario)
    (core,) = cores
    assert core.is_idle()
    assert [name for name, _ in core.reloads] == ["small-two"]
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert ("INFO", f"listening on {LOOPBACK}:{_port(messages)} (site small)") in messages
    (error,) = [m for level, m in messages if level == "ERROR"]
    assert str(config) in error
    assert "trunk_groups[0] (pstn).channels" in error
    assert ("INFO", "reload applies: site: 'small' -> 'small-two'") in messages
    assert ("INFO", "configuration reloaded (site small-two): 1 changes applied, "
                    "0 need a restart") in messages
    assert ("INFO", "all calls ended") in messages


def test_a_reload_whose_media_cannot_be_read_changes_nothing(
        config: Path, caplog: pytest.LogCaptureFixture) -> None:
    cores: list[OptionsCore] = []
    applied: list[str] = []

    def factory(site: object) -> OptionsCore:
        cores.append(OptionsCore(site))  # type: ignore[arg-type]
        return cores[-1]

    def media_hook(site: Site) -> Callable[[], None]:
        if site.site == "small-bad-music":
            raise ConfigError(str(config), [("media.music", "no such file: music.wav")])
        return lambda: applied.append(site.site)

    async def scenario() -> None:
        server = Server(factory, str(config), LOOPBACK, 0, grace=WAIT, on_reload=media_hook)
        await server.start()
        rename_site(config, "small-bad-music")
        assert not server.reload()
        rename_site(config, "small-two")
        assert server.reload()
        server.request_stop()
        await server.run()

    with caplog.at_level(logging.INFO, logger="appliance.live"):
        run(scenario)
    assert [name for name, _ in cores[0].reloads] == ["small-two"]
    assert applied == ["small-two"]
    (error,) = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert "configuration not reloaded" in error and "media.music" in error


def _port(messages: list[tuple[str, str]]) -> str:
    (line,) = [m for _, m in messages if m.startswith("listening on")]
    return line.split(":")[1].split(" ")[0]


def test_calls_are_refused_while_shutting_down(config: Path) -> None:
    async def scenario() -> None:
        server = Server(OptionsCore, str(config), LOOPBACK, 0, grace=WAIT)
        address = await server.start()
        client = Client()
        try:
            stopping = asyncio.ensure_future(server.shutdown())
            await asyncio.sleep(0)
            assert (await ask(client, address, "late")).status == 503
            assert await stopping
        finally:
            client.close()

    run(scenario)


def test_grace_runs_out_on_a_core_that_never_ends(config: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        server = Server(lambda site: OptionsCore(site, drain=None), str(config), LOOPBACK, 0,
                        grace=0.05)
        await server.start()
        assert not await server.shutdown()

    with caplog.at_level(logging.WARNING, logger="appliance.live"):
        run(scenario)
    assert any("calls still up" in r.getMessage() for r in caplog.records)


def test_second_stop_request_ends_the_wait(config: Path) -> None:
    async def scenario() -> None:
        server = Server(lambda site: OptionsCore(site, drain=None), str(config), LOOPBACK, 0,
                        grace=60.0)
        await server.start()
        server.request_stop()
        asyncio.get_running_loop().call_later(0.05, server.request_stop)
        assert not await asyncio.wait_for(server.run(), WAIT)

    run(scenario)


def test_reload_before_start_is_an_error(config: Path) -> None:
    with pytest.raises(RuntimeError):
        Server(OptionsCore, str(config), LOOPBACK, 0).reload()


def test_config_error_at_start_exits_2_before_building_anything(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    built: list[object] = []
    missing = tmp_path / "nowhere.yaml"

    def factory(site: object) -> OptionsCore:
        built.append(site)
        return OptionsCore(site)  # type: ignore[arg-type]

    assert exit_code(lambda: serve(factory, str(missing), LOOPBACK, 0)) == EXIT_CONFIG_ERROR
    assert built == []
    assert str(missing) in capsys.readouterr().err


def test_port_in_use_exits_1(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        taken.bind((LOOPBACK, 0))
        port = taken.getsockname()[1]
        assert exit_code(lambda: serve(OptionsCore, str(config), LOOPBACK, port)) == 1
    finally:
        taken.close()
    assert f"cannot listen on {LOOPBACK}:{port}" in capsys.readouterr().err


def test_configure_logging_writes_readable_lines_to_stderr(
        capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("debug")
        configure_logging("info")
        logging.getLogger("appliance.live.test").info("hello %s", "there")
        logging.getLogger("appliance.live.test").debug("not shown")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].endswith(" INFO appliance.live.test: hello there")
    assert LOG_FORMAT == "%(asctime)s %(levelname)s %(name)s: %(message)s"


# -- a child process, with signals ----------------------------------------------------------------

CHILD = """
import asyncio, sys
from appliance.live import serve
from appliance.live.logsetup import configure_logging
from tests.appliance.live.test_options_core import OptionsCore

configure_logging("INFO")
asyncio.run(serve(OptionsCore, sys.argv[1], "127.0.0.1", 0, grace=10.0,
                  on_ready=lambda address: print(address[1], flush=True)))
"""


class Child:
    """`serve` in a child process; its stdout says the port, its stderr is the log."""

    def __init__(self, config: Path, workdir: Path) -> None:
        self.out = workdir / "child.out"
        self.err = workdir / "child.err"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-c", CHILD, str(config)],
                cwd=ROOT, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def log(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, text: str, start: int = 0) -> str:
        deadline = time.monotonic() + CHILD_WAIT
        while text not in self.log()[start:]:
            assert self.process.poll() is None, f"child exited early:\n{self.log()}"
            assert time.monotonic() < deadline, f"no {text!r} in the child's log:\n{self.log()}"
            time.sleep(0.02)
        return self.log()[start:]

    def port(self) -> int:
        deadline = time.monotonic() + CHILD_WAIT
        while not self.out.read_text(encoding="utf-8").endswith("\n"):
            assert self.process.poll() is None, f"child exited early:\n{self.log()}"
            assert time.monotonic() < deadline, f"child never became ready:\n{self.log()}"
            time.sleep(0.02)
        return int(self.out.read_text(encoding="utf-8"))

    def signal(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(WAIT)


def ask_child(port: int, branch: str) -> Response:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        sock.settimeout(WAIT)
        sock.sendto(options_request(sock.getsockname(), branch), (LOOPBACK, port))
        answer = parse(sock.recv(65535))
    assert isinstance(answer, Response)
    return answer


def test_child_reloads_on_sighup_and_stops_gracefully_on_sigterm(config: Path,
                                                                  tmp_path: Path) -> None:
    child = Child(config, tmp_path)
    try:
        port = child.port()
        assert f"listening on 127.0.0.1:{port} (site small)" in child.log()
        assert ask_child(port, "c1").headers.get("Organization") == "small"

        for n, breaking in enumerate((break_yaml, break_field)):
            seen = len(child.log())
            breaking(config)
            child.signal(signal.SIGHUP)
            error = child.wait_for_log("configuration not reloaded", seen)
            assert str(config) in error
            assert " ERROR " in error
            answer = ask_child(port, f"broken{n}")
            assert (answer.status, answer.headers.get("Organization")) == (200, "small")
        assert "cannot parse YAML" in child.log()
        assert "trunk_groups[0] (pstn).channels" in child.log()

        seen = len(child.log())
        rename_site(config, "small-fixed")
        child.signal(signal.SIGHUP)
        child.wait_for_log("configuration reloaded", seen)
        assert ask_child(port, "c2").headers.get("Organization") == "small-fixed"

        child.signal(signal.SIGTERM)
        assert child.process.wait(CHILD_WAIT) == 0
        log = child.log()
        assert log.index("shutting down") < log.index("options core: last call ended")
        assert log.index("options core: last call ended") < log.index("all calls ended")
        assert "calls still up" not in log
        assert "Traceback" not in log
    finally:
        child.stop()


def test_child_stops_on_sigint(config: Path, tmp_path: Path) -> None:
    child = Child(config, tmp_path)
    try:
        port = child.port()
        assert ask_child(port, "i1").status == 200
        child.signal(signal.SIGINT)
        assert child.process.wait(CHILD_WAIT) == 0
        assert "all calls ended" in child.log()
    finally:
        child.stop()


def test_child_with_a_bad_config_exits_2_without_binding(config: Path, tmp_path: Path) -> None:
    break_field(config)
    child = Child(config, tmp_path)
    try:
        assert child.process.wait(CHILD_WAIT) == EXIT_CONFIG_ERROR
    finally:
        child.stop()
    assert child.out.read_text(encoding="utf-8") == ""
    log = child.log()
    assert str(config) in log
    assert "trunk_groups[0] (pstn).channels" in log
    assert "listening on" not in log


# -- the appliance itself, with SIPp phones -------------------------------------------------------


def rewrite_site(path: Path, agents: list[str], media: dict[str, Any]) -> None:
    """Keep the phones of the site at `path`; give it these agents and media settings."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["agents"] = [{"id": agent, "skills": {"service": 5}} for agent in agents]
    recording = {**data["media"]["recording"], **media.get("recording", {})}
    data["media"] = {**data["media"], **media, "recording": recording}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


@pytest.mark.slow
def test_sighup_to_ccbox_serve_applies_agents_and_recordings_and_names_what_needs_a_restart(
        tmp_path: Path) -> None:
    from tests.live.test_sipp_calls import Floor

    floor = Floor(tmp_path)
    try:
        config, box = tmp_path / "site.yaml", floor.box
        rewrite_site(config, ["1001"], {})
        box.process.send_signal(signal.SIGHUP)
        box.wait_for_log(r"configuration reloaded \(site live\): 1 changes", 20)
        low = yaml.safe_load(config.read_text())["media"]["rtp_port_min"]
        moved = tmp_path / "moved"
        rewrite_site(config, ["1002"], {"recording": {"folder": str(moved)},
                                        "rtp_port_min": low + 2})
        box.process.send_signal(signal.SIGHUP)
        box.wait_for_log(r"configuration reloaded \(site live\): 3 changes applied, 1 need", 20)
        log = box.log()
        assert "reload applies: agents: added 1002 (may log in)" in log
        assert "reload applies: agents: removed 1001" in log
        old = tmp_path / "recordings"
        assert f"reload applies: media.recording.folder: {old} -> {moved}" in log
        assert f"WARNING appliance.live.serve: needs a restart: media.rtp_port_min: {low}" in log
        floor.register_phones()  # 1002 logs in as its phone registers; 1001 is no agent now
        with floor.agents() as agents:
            result = floor.callers(calls=1).run()
            agents.stop()
        assert (result.successful, result.failed) == (1, 0), result
        (detail,) = floor.stop()
        assert detail.agent == "1002"
        assert detail.recording is not None and Path(detail.recording).is_relative_to(moved)
        assert "Traceback" not in box.log()
    finally:
        floor.box.stop()
