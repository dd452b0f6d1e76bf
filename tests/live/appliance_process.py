"""`ccbox serve` as a child process on 127.0.0.1, with a site written for the test."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from appliance.pbx.sip.digest import ha1
from sim.traffic.sipp import free_udp_port, scenario_path

REALM = "live.ccbox"
ROOT = Path(__file__).resolve().parents[2]


def phone_passwords() -> dict[str, str]:
    """The users and passwords of the SIPp phones' injection file."""
    lines = scenario_path("users.csv").read_text().splitlines()[1:]
    return dict(line.split(";", 1) for line in lines if line.strip())


def write_site(path: Path, caller_port: int, **queue: Any) -> Path:
    users = phone_passwords()
    site = {
        "site": "live",
        "trunk_groups": [{"name": "gateway", "kind": "sip", "channels": 2000,
                          "peers": [f"127.0.0.1:{caller_port}"]}],
        "queues": [{"name": "service", "strategy": "longest_idle", "ring_timeout": 15,
                    **queue}],
        "agents": [{"id": f"{min(users)}-{max(users)}", "skills": {"service": 5}}],
        "routes": [{"trunk_group": "gateway", "queue": "service"}],
        "sip": {
            "realm": REALM,
            "session_expires": 90,
            "digest_algorithms": ["MD5"],  # SIPp 3.6.1 answers only MD5, and only the first
            "phones": [{"user": user, "ha1_md5": ha1(user, REALM, password, "MD5"),
                        "ha1_sha256": ha1(user, REALM, password, "SHA-256")}
                       for user, password in users.items()],
        },
    }
    path.write_text(yaml.safe_dump(site, sort_keys=False))
    return path


class ApplianceProcess:
    """Starts `ccbox serve`; `stop()` sends SIGTERM to its PID and returns the exit status."""

    def __init__(self, config: Path, workdir: Path) -> None:
        self.port = free_udp_port()
        self.records = workdir / "records.sqlite"
        self.log_path = workdir / "appliance.log"
        self._log = self.log_path.open("w")
        command = [sys.executable, "-m", "appliance", "serve", str(config),
                   "--address", "127.0.0.1", "--port", str(self.port),
                   "--records", str(self.records), "--grace", "5"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                        cwd=ROOT, env=env)
        self._wait_for(r"listening on 127\.0\.0\.1:\d+", within=20)

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def log(self) -> str:
        return self.log_path.read_text()

    def _wait_for(self, pattern: str, within: float) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if re.search(pattern, self.log()):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"the appliance exited: {self.log()}")
            time.sleep(0.05)
        raise TimeoutError(f"no {pattern!r} in the appliance's log: {self.log()}")

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)
        finally:
            self._log.close()
