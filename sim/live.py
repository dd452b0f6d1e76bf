"""`ccbox serve` as a child process on 127.0.0.1, for live tests and benchmarks, with a site
written for the run (a trunk whose peer is the SIPp caller, phones with digest hashes)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from appliance.live.prompt_build import ensure_default_music, ensure_default_prompts
from appliance.net import Address
from appliance.pbx.sip.digest import ha1
from sim.traffic.sipp import free_udp_port, scenario_path

REALM = "live.ccbox"
ROOT = Path(__file__).resolve().parents[1]


def phone_passwords() -> dict[str, str]:
    """The users and passwords of the SIPp phones' injection file."""
    lines = scenario_path("users.csv").read_text().splitlines()[1:]
    return dict(line.split(";", 1) for line in lines if line.strip())


def media_port_window() -> tuple[int, int]:
    """The RTP ports this pytest-xdist worker's appliances may use (all of them outside
    pytest): below the kernel's ephemeral range (where SIPp's and the tests' own ports come
    from), and apart from every other worker's. An appliance binds its ports call by call, so
    a block free a moment ago may be taken later: two appliances running at once must never
    be given overlapping ports, and a worker runs one at a time."""
    low, high = 10_000, 32_000
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), 1)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    window = (high - low) // workers
    start = low + window * ((int(worker) if worker.isdigit() else 0) % workers)
    return start, start + window - 1


def media_port_range(size: int = 2000) -> tuple[int, int]:
    """`size` RTP ports for one appliance under test, at the start of `media_port_window()`."""
    low, high = media_port_window()
    if size > high - low + 1:
        raise ValueError(f"{size} media ports do not fit in a worker's {high - low + 1}")
    return low, low + size - 1


def write_site(path: Path, caller_port: int, users: dict[str, str] | None = None,
               sip: dict[str, Any] | None = None, channels: int = 2000,
               media: dict[str, Any] | None = None, trunk_kind: str = "sip",
               **queue: Any) -> Path:
    """A one-queue site for agents `users` (user -> password; SIPp's users.csv by default),
    calls accepted from 127.0.0.1:`caller_port`; recordings in `path`'s folder. Queued callers
    get early media unless `media` says otherwise, so that SIPp callers see the 200 when an
    agent answers."""
    users = users or phone_passwords()
    low, high = media_port_range()
    # The default prompts, built once for every run rather than in each run's state folder.
    media = {"prompts": str(ensure_default_prompts("en")), "music": str(ensure_default_music()),
             "rtp_port_min": low, "rtp_port_max": high, "queued_callers": "early_media",
             "recording": {"folder": str(path.parent / "recordings"), "stop_below_mb": 50,
                           "resume_above_mb": 100, "keep_free_mb": 100},
             **(media or {})}
    site = {
        "site": "live",
        "trunk_groups": [{"name": "gateway", "kind": trunk_kind, "channels": channels,
                          "peers": [f"127.0.0.1:{caller_port}"]}],
        "queues": [{"name": "service", "strategy": "longest_idle", "ring_timeout": 15,
                    **queue}],
        "agents": [{"id": f"{min(users)}-{max(users)}", "skills": {"service": 5}}],
        "routes": [{"trunk_group": "gateway", "queue": "service"}],
        "sip": {
            "realm": REALM,
            "session_expires": 90,
            "phones": [{"user": user, "ha1_md5": ha1(user, REALM, password, "MD5"),
                        "ha1_sha256": ha1(user, REALM, password, "SHA-256")}
                       for user, password in users.items()],
            **(sip or {}),
        },
        "media": media,
    }
    path.write_text(yaml.safe_dump(site, sort_keys=False))
    return path


def terminate(process: subprocess.Popen, timeout: float) -> int:
    """SIGTERM to `process` (its PID only), SIGKILL if it is not gone within `timeout`
    seconds; its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(5)


class ApplianceProcess:
    """Starts `ccbox serve`; `stop()` sends SIGTERM to its PID and returns the exit status."""

    def __init__(self, config: Path, workdir: Path, log_level: str = "info",
                 records: Path | None = None, log_name: str = "appliance.log") -> None:
        self.port = free_udp_port()
        self.records = records or workdir / "records.sqlite"
        self.log_path = workdir / log_name
        self._log = self.log_path.open("w")
        command = [sys.executable, "-m", "appliance", "serve", str(config),
                   "--address", "127.0.0.1", "--port", str(self.port),
                   "--state-dir", str(workdir / "state"),
                   "--records", str(self.records), "--grace", "5", "--log-level", log_level]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        # Started in its work folder: the appliance must write nothing where it is started.
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                        cwd=workdir, env=env)
        self._wait_until_answering(within=20)

    @property
    def address(self) -> Address:
        return "127.0.0.1", self.port

    def log(self) -> str:
        return self.log_path.read_text()

    def _wait_until_answering(self, within: float) -> None:
        wait_until_answering(self.address, self.process, self.log, within)

    def wait_for_log(self, pattern: str, within: float) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if re.search(pattern, self.log()):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"the appliance exited: {self.log()}")
            time.sleep(0.05)
        raise TimeoutError(f"no {pattern!r} in the appliance's log: {self.log()}")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the appliance has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout: float = 20) -> int:
        try:
            return terminate(self.process, timeout)
        finally:
            self._log.close()


def wait_until(condition: Callable[[], bool], within: float, what: str) -> None:
    """Poll `condition` until it holds; TimeoutError naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {within} s")
        time.sleep(0.05)


def wait_until_answering(address: Address, process: subprocess.Popen,
                         log: Callable[[], str], within: float) -> None:
    """Probe `address` with OPTIONS until the appliance answers (how a peer would check);
    RuntimeError if `process` exits first, TimeoutError after `within` seconds."""
    deadline = time.monotonic() + within
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        probe.settimeout(0.2)
        attempt = 0
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the appliance exited: {log()}")
            attempt += 1
            probe.sendto(_options(probe.getsockname()[1], attempt), address)
            try:
                if probe.recv(65535).startswith(b"SIP/2.0 200"):
                    return
            except TimeoutError:
                continue
    raise TimeoutError(f"the appliance never answered OPTIONS: {log()}")


def _options(port: int, attempt: int) -> bytes:
    return (f"OPTIONS sip:ccbox@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKprobe{attempt}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=probe\r\n"
            f"To: <sip:ccbox@127.0.0.1>\r\nCall-ID: probe-{port}\r\n"
            f"CSeq: {attempt} OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()
