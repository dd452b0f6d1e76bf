"""Registration with the default digest settings, as a new site gets them: Debian's baresip,
SIPp's REGISTER scenario and a phone that asks for SHA-256, against `ccbox serve` on 127.0.0.1.

The site is written without `sip.digest_algorithms`, so the appliance offers what it offers
out of the box: MD5 alone (baresip 1.0 gives up on a 401 with any other challenge in it, and
SIPp 3.6 knows only MD5), SHA-256 to the phones whose entries ask for it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance.pbx.sip import Headers, Request, Response, parse_auth_params
from appliance.pbx.sip.auth import digest_response, format_auth_params
from appliance.pbx.sip.message import parse
from sim.live import ApplianceProcess, phone_passwords, terminate, write_site
from sim.traffic.sipp import SippConfig, SippRun, free_udp_port, scenario_path
from tests.live.test_baresip import Baresip, wait_until_ready

BOUND = 60.0
pytestmark = pytest.mark.slow


def default_site(tmp_path: Path, users: dict[str, str] | None = None,
                 phone_changes: dict[str, dict[str, Any]] | None = None) -> Path:
    """write_site's site (its digest settings are the defaults); `phone_changes` are merged
    into the phone entries of the users they name."""
    path = write_site(tmp_path / "site.yaml", free_udp_port(), users=users)
    site = yaml.safe_load(path.read_text())
    assert "digest_algorithms" not in site["sip"]
    for phone in site["sip"]["phones"]:
        phone.update((phone_changes or {}).get(phone["user"], {}))
    path.write_text(yaml.safe_dump(site, sort_keys=False))
    return path


@pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip not installed")
def test_baresip_registers_with_the_default_digest_settings(tmp_path):
    user, password = "1001", "baresip-1001"
    box = ApplianceProcess(default_site(tmp_path, {user: password}), tmp_path)
    phone = None
    try:
        phone = Baresip(tmp_path, box.address, user, password)
        wait_until_ready(box.records, user, within=15, phone=phone)
        assert "Function not implemented" not in phone.log()
        assert phone.stop() == 0, phone.log()
        assert box.stop() == 0, box.log()
    finally:
        if phone is not None:
            phone.stop()
        box.stop()


def test_sipp_registers_with_the_default_digest_settings(tmp_path):
    passwords = phone_passwords()
    box = ApplianceProcess(default_site(tmp_path), tmp_path)
    try:
        csv = tmp_path / "phones.csv"
        csv.write_text("SEQUENTIAL\n" + "".join(f"{u};{p}\n" for u, p in passwords.items()))
        config = SippConfig(scenario_path("register.xml"), remote=box.address,
                            local_port=free_udp_port(), rate=20, call_limit=1,
                            max_calls=len(passwords), injection=csv)
        result = SippRun(config, timeout=BOUND, workdir=tmp_path / "register").run()
        assert (result.successful, result.failed) == (len(passwords), 0), result
        assert box.stop() == 0, box.log()
    finally:
        box.stop()


class DigestPhone:
    """A phone that REGISTERs over a UDP socket and answers the first challenge it is offered,
    in whichever algorithm that challenge names (as RFC 8760 asks of a client)."""

    def __init__(self, user: str, password: str, server: tuple[str, int]) -> None:
        self.user, self.password, self.server = user, password, server
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(5.0)
        self.cseq = 0

    def close(self) -> None:
        self.socket.close()

    def register(self, authorization: str | None = None) -> Response:
        self.cseq += 1
        host, port = self.socket.getsockname()
        aor = f"<sip:{self.user}@{self.server[0]}>"
        pairs = [("Via", f"SIP/2.0/UDP {host}:{port};branch=z9hG4bK-sha{self.cseq}"),
                 ("Max-Forwards", "70"), ("From", f"{aor};tag=sha256"), ("To", aor),
                 ("Call-ID", f"sha256-{port}@{host}"), ("CSeq", f"{self.cseq} REGISTER"),
                 ("Contact", f"<sip:{self.user}@{host}:{port}>"), ("Expires", "600")]
        if authorization is not None:
            pairs.append(("Authorization", authorization))
        request = Request("REGISTER", f"sip:{self.server[0]}:{self.server[1]}", Headers(pairs))
        self.socket.sendto(bytes(request), self.server)
        while True:
            response = parse(self.socket.recv(65535))
            if isinstance(response, Response) and response.status >= 200:
                return response

    def answer(self, challenge: Response) -> str:
        _, params = parse_auth_params(challenge.headers.get_all("WWW-Authenticate")[0])
        uri = f"sip:{self.server[0]}:{self.server[1]}"
        digest = digest_response(params["algorithm"], self.user, params["realm"], self.password,
                                 "REGISTER", uri, params["nonce"], "00000001", "0a4f113b",
                                 "auth")
        return format_auth_params("Digest", {
            "username": self.user, "realm": params["realm"], "nonce": params["nonce"],
            "uri": uri, "algorithm": params["algorithm"], "qop": "auth", "nc": "00000001",
            "cnonce": "0a4f113b", "opaque": params["opaque"], "response": digest})


def offered(response: Response) -> list[str]:
    return [parse_auth_params(value)[1]["algorithm"]
            for value in response.headers.get_all("WWW-Authenticate")]


def test_a_phone_that_asks_for_sha256_registers_with_it(tmp_path):
    users = {"1001": "md5-phone", "1002": "sha-phone"}
    box = ApplianceProcess(default_site(tmp_path, users, {"1002": {
        "digest_algorithms": ["SHA-256", "MD5"]}}), tmp_path)
    phones = [DigestPhone(user, password, box.address) for user, password in users.items()]
    try:
        challenges = [phone.register() for phone in phones]
        assert [offered(c) for c in challenges] == [["MD5"], ["SHA-256", "MD5"]]
        for phone, challenge in zip(phones, challenges, strict=True):
            registered = phone.register(phone.answer(challenge))
            assert registered.status == 200, (registered, box.log())
        wait_until_ready(box.records, "1002", within=5)
        assert box.stop() == 0, box.log()
    finally:
        for phone in phones:
            phone.close()
        box.stop()



class Linphone:
    """Debian's linphone (linphonec 5.1) as `user`'s phone, run headless: a `linphonec --pipe`
    daemon driven with `linphonecsh`. It needs its data folder to exist, or its core never
    starts. One per system user at a time (the daemon's pipe is named after the uid)."""

    def __init__(self, workdir: Path, registrar: tuple[str, int], user: str,
                 password: str) -> None:
        home = workdir / "linphone"
        (home / ".local" / "share" / "linphone").mkdir(parents=True)
        config = home / "linphonerc"
        config.write_text(f"[sip]\nsip_port={free_udp_port()}\nsip_tcp_port=-1\n"
                          "sip_tls_port=-1\nbind_address=127.0.0.1\n")
        self.env = {**os.environ, "HOME": str(home)}
        self.log_path = workdir / "linphone.log"
        self.process = subprocess.Popen(
            ["linphonec", "--pipe", "-c", str(config), "-d", "6", "-l", str(self.log_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            env=self.env)
        deadline = time.monotonic() + 15
        while self.command("generic", "help").returncode != 0:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"linphonec never answered its pipe: {self.log()}")
            time.sleep(0.2)
        host, port = registrar
        self.command("register", "--host", f"{host}:{port}", "--username", user,
                     "--password", password)

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["linphonecsh", *args], env=self.env, capture_output=True,
                              text=True, timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.command("exit")
        terminate(self.process, 10)


@pytest.mark.skipif(shutil.which("linphonecsh") is None,
                    reason="linphone not installed (Debian package linphone-cli)")
@pytest.mark.parametrize(("changes", "algorithm"), [
    ({}, "MD5"),
    ({"digest_algorithms": ["SHA-256", "MD5"]}, "SHA-256"),
])
def test_linphone_registers_by_default_and_with_sha256_where_its_entry_asks(
        tmp_path, changes, algorithm):
    user, password = "1001", "linphone-1001"
    box = ApplianceProcess(default_site(tmp_path, {user: password}, {user: changes}),
                           tmp_path)
    phone = None
    try:
        phone = Linphone(tmp_path, box.address, user, password)
        wait_until_ready(box.records, user, within=15)
        assert f"algorithm={algorithm}, opaque" in phone.log()
        phone.stop()
        assert box.stop() == 0, box.log()
    finally:
        if phone is not None:
            phone.stop()
        box.stop()


def test_a_phone_guessing_passwords_is_refused_and_the_log_says_so(tmp_path):
    path = default_site(tmp_path, {"1001": "right"})
    site = yaml.safe_load(path.read_text())
    site["sip"]["auth_failures"] = {"slow_after": 2, "slow_delay": 0.3, "block_after": 4,
                                    "block_for": 600}
    path.write_text(yaml.safe_dump(site, sort_keys=False))
    box = ApplianceProcess(path, tmp_path)
    try:
        csv = tmp_path / "wrong.csv"
        csv.write_text("SEQUENTIAL\n1001;wrong\n")
        config = SippConfig(scenario_path("register.xml"), remote=box.address,
                            local_port=free_udp_port(), rate=5, call_limit=1, max_calls=8,
                            injection=csv)
        result = SippRun(config, timeout=BOUND, workdir=tmp_path / "guesses").run()
        assert (result.successful, result.failed) == (0, 8), result
        box.wait_for_log(r"4 failed authentications from user 1001: refused for 600 s", 5)
        # Refused, so the right password from the same address fails too until block_for.
        right = DigestPhone("1001", "right", box.address)
        try:
            assert right.register().status == 403
        finally:
            right.close()
        assert box.stop() == 0, box.log()
        log = box.log()
        assert log.count("from source 127.0.0.1: refused") == 1
        assert log.count("from source 127.0.0.1: answers slowed down") == 1
    finally:
        box.stop()
