"""A newcomer's first hour with `ccbox serve` and `ccbox check`: mistakes are explained, not
dumped as tracebacks; nothing is created before the appliance can listen; nothing is written
outside the state folder; a site that can take no call says so; a shipped site takes a call."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from appliance.records.store import RecordReader
from sim.live import (
    ROOT,
    ApplianceProcess,
    media_port_range,
    terminate,
    wait_until_answering,
)
from sim.traffic.sipp import SippConfig, SippRun, free_udp_port, scenario_path

BOUND = 60.0


def ccbox(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "appliance", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def small_site(tmp_path: Path, **changes: object) -> Path:
    site = yaml.safe_load((ROOT / "appliance" / "sites" / "small.yaml").read_text())
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = site
        for name in parents:
            node = node.setdefault(name, {})
        node[last] = value
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site, sort_keys=False))
    return path


def test_a_records_path_in_a_missing_folder_is_refused_in_a_sentence(tmp_path: Path) -> None:
    done = ccbox("serve", "small", "--port", str(free_udp_port()),
                 "--state-dir", str(tmp_path / "state"),
                 "--records", "/no/such/dir/r.sqlite", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "--records: /no/such/dir is not a folder" in done.stderr
    assert not (tmp_path / "state").exists()


def test_a_taken_port_is_reported_before_anything_is_created(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        done = ccbox("serve", "small", "--port", str(port), "--state-dir",
                     str(tmp_path / "state"), cwd=tmp_path)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_check_refuses_what_serve_would_refuse(tmp_path: Path) -> None:
    site = small_site(tmp_path, media__prompts=str(tmp_path / "no-prompts"))
    done = ccbox("check", str(site), "--state-dir", str(tmp_path / "state"), cwd=tmp_path)
    assert done.returncode == 2
    assert f"media.prompts: {tmp_path / 'no-prompts'} is not a folder" in done.stderr
    served = ccbox("serve", str(site), "--port", str(free_udp_port()),
                   "--state-dir", str(tmp_path / "state"), cwd=tmp_path)
    assert served.returncode == 2
    assert f"media.prompts: {tmp_path / 'no-prompts'} is not a folder" in served.stderr
    assert not (tmp_path / "state").exists()


def test_a_site_that_can_take_no_call_is_warned_about(tmp_path: Path) -> None:
    site = small_site(tmp_path, trunk_groups=[{"name": "pstn", "kind": "analog",
                                               "channels": 4}], sip={})
    done = ccbox("check", str(site), "--state-dir", str(tmp_path / "state"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "no trunk group has peers" in done.stderr
    assert "no agent has a phone in sip.phones" in done.stderr
    box = ApplianceProcess(site, tmp_path)
    try:
        box.wait_for_log("no trunk group has peers", within=10)
        box.wait_for_log("no agent has a phone", within=10)
    finally:
        assert box.stop() == 0


def test_serve_writes_only_under_its_state_folder(tmp_path: Path) -> None:
    started_in, state = tmp_path / "here", tmp_path / "state"
    started_in.mkdir()
    port = free_udp_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "appliance", "serve", "small", "--port", str(port),
             "--state-dir", str(state)], cwd=started_in, env=env, stdout=out,
            stderr=subprocess.STDOUT)
    try:
        wait_until_answering(("127.0.0.1", port), process, log.read_text, within=BOUND)
    finally:
        assert terminate(process, 20) == 0, log.read_text()
    assert list(started_in.iterdir()) == []
    assert (state / "records.sqlite").is_file()
    assert (state / "prompts" / "en" / "welcome.wav").is_file()
    package = ROOT / "appliance"
    assert not list(package.rglob("*.sqlite")) and not list(package.rglob("*.wav"))


def small_on_this_workers_ports(folder: Path) -> Path:
    """The shipped small site as it is, but for its RTP ports: its default range (10000-20000)
    overlaps the windows other test workers' appliances bind at the same time."""
    low, high = media_port_range()
    variant = folder / "small-here.yaml"
    variant.write_text(yaml.safe_dump({"extends": "small", "media": {
        "rtp_port_min": low, "rtp_port_max": high}}))
    return variant


@pytest.mark.slow
def test_the_shipped_small_site_takes_a_call_out_of_the_box(tmp_path: Path) -> None:
    """Phone 1001 registers with the documented example password and the site's default digest
    settings; a caller from the example gateway address (127.0.0.1:5070) reaches it."""
    box = ApplianceProcess(small_on_this_workers_ports(tmp_path), tmp_path)
    try:
        phone_port = free_udp_port()
        users = tmp_path / "phones.csv"
        users.write_text("SEQUENTIAL\n1001;1001-example\n")
        registered = SippRun(SippConfig(scenario_path("register.xml"), remote=box.address,
                                        local_port=phone_port, rate=1, call_limit=1,
                                        max_calls=1, injection=users),
                             timeout=BOUND, workdir=tmp_path / "register").run()
        assert (registered.successful, registered.failed) == (1, 0), registered
        agent = SippRun(SippConfig(scenario_path("agent.xml"), local_port=phone_port),
                        timeout=BOUND, workdir=tmp_path / "agent").start()
        agent.wait_started()
        with agent:
            caller = SippRun(SippConfig(scenario_path("caller.xml"), remote=box.address,
                                        local_port=5070, rate=1, max_calls=1,
                                        duration_ms=6000, service="100"),
                             timeout=BOUND, workdir=tmp_path / "caller").run()
        assert caller.successful == 1, caller
    finally:
        assert box.stop() == 0, box.log()
    (call,) = RecordReader(box.records).calls()
    assert call.agent == "1001"
    assert call.answered_at is not None
