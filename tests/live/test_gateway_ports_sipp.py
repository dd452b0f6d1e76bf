"""Gateway ports through `ccbox serve`, with SIPp playing the gateways.

A port of a 4-port FXO card (fxo_port.xml) passes its line's call on and plays the line's
audio from a pcap made here: talk, a menu key as an in-band DTMF tone, then China's busy
tone once the caller has gone - and never a BYE. The menu hears the key and queues the
caller where it picks, the appliance hears the tone and sends its BYE within the tone's
detection bound, and the same port's next call is answered. Two cards (gateway_card.xml)
take calls out; one goes silent to OPTIONS while it would still answer calls, and once the
appliance has given up on it the calls out go through the other card's ports.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from appliance.events import CallEnded, CallQueued, DigitReceived
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess
from sim.traffic.rtp_pcap import dtmf_tone, write_rtp_pcap
from sim.traffic.sipp import SippConfig, SippResult, SippRun, free_udp_port, scenario_path
from tests.appliance.hw.test_tones import cadenced
from tests.live.test_gateway_ports import BUSY, PASSWORDS, site_with_cards
from tests.talk import RATE, pcm, speech_like

BOUND = 60.0
MARGIN = 1.0
"""Seconds allowed past the tone's detection delay for SIPp's pacing and the box's load."""
KEY = "2"  # the menu's key for sales
CALLER = "13800138000"


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE))


def line_audio() -> tuple[np.ndarray, float]:
    """What the line carries once the call is up: two seconds of talk, the menu key in
    band, a pause, then busy tone for longer than its detection bound; and the second the
    tone starts."""
    before_tone = [speech_like(np.random.default_rng(17), 2.0), silence(0.4),
                   dtmf_tone(KEY, 0.12).astype(float), silence(1.5)]
    tone_at = sum(len(part) for part in before_tone) / RATE
    busy = cadenced(BUSY, BUSY.detection_delay + MARGIN + 2.0)
    return pcm(np.concatenate([*before_tone, busy])), tone_at


def menu_site(path: Path, card_port: int) -> Path:
    """`site_with_cards`' site with one card, whose calls go to a menu: 1 for service,
    2 for sales (the menu plays no prompt: the key is all it waits for)."""
    config = site_with_cards(path, {"fxo1": card_port})
    site: dict[str, Any] = yaml.safe_load(config.read_text())
    site["queues"].append({**site["queues"][0], "name": "sales"})
    site["agents"][0]["skills"]["sales"] = 5
    site["routes"] = [{"trunk_group": "gateway", "flow": "main"}]
    site["ivr"] = {"flows": [{"name": "main", "start": "menu", "nodes": [
        {"name": "menu", "kind": "play_option", "prompts": [], "timeout": 10, "retries": 0,
         "options": {"1": "service", "2": "sales"}, "default": "service"},
        {"name": "service", "kind": "to_queue", "queue": "service"},
        {"name": "sales", "kind": "to_queue", "queue": "sales"}]}]}
    config.write_text(yaml.safe_dump(site, sort_keys=False))
    return config


def times(result: SippResult, what: str) -> list[float]:
    """The epoch seconds fxo_port.xml logged as `what` ("audio" or "bye"), call by call."""
    text = (result.workdir / "logs.log").read_text()
    found = re.findall(rf"^{what} (\d+) ([\d.]+) ([\d.]+)$", text, re.MULTILINE)
    return [float(s) + float(us) / 1e6 for _, s, us in sorted(found, key=lambda f: int(f[0]))]


def fxo_port_calls(box: ApplianceProcess, card_port: int, pcap: Path, calls: int) -> SippResult:
    """Port 1 of the card passes `calls` calls on, one after another."""
    config = SippConfig(scenario_path("fxo_port.xml"), remote=box.address, local_port=card_port,
                        rate=1, call_limit=1, max_calls=calls, service="1",
                        recv_timeout_ms=20_000, keys={"pcap": str(pcap), "ani": CALLER},
                        extra_args=("-aa",))  # the card answers the box's OPTIONS
    return SippRun(config, timeout=BOUND, workdir=box.log_path.parent / "fxo1").run()


def test_a_sipp_fxo_port_keys_the_menu_in_band_and_its_busy_tone_ends_the_call(
        tmp_path: Path) -> None:
    card_port = free_udp_port()
    audio, tone_at = line_audio()
    pcap = write_rtp_pcap(tmp_path / "line.pcap", audio)
    box = ApplianceProcess(menu_site(tmp_path / "site.yaml", card_port), tmp_path)
    try:
        result = fxo_port_calls(box, card_port, pcap, calls=2)
    finally:
        assert box.stop() == 0, box.log()
    # Both calls answered, and each ended by the box's BYE (the port sends none).
    assert (result.successful, result.failed) == (2, 0), result
    for played, bye in zip(times(result, "audio"), times(result, "bye"), strict=True):
        assert 0.0 < bye - (played + tone_at) <= BUSY.detection_delay + MARGIN
    records = RecordReader(box.records).events()
    assert [(r.digit, r.via) for r in records if isinstance(r, DigitReceived)] == [
        (KEY, "inband")] * 2
    assert [r.queue for r in records if isinstance(r, CallQueued)] == ["sales"] * 2
    assert len([r for r in records if isinstance(r, CallEnded)]) == 2


def card(port: int, folder: Path, silent_to_options: bool = False) -> SippRun:
    config = SippConfig(scenario_path("gateway_card.xml"), local_port=port,
                        variables={"silent_to_options": int(silent_to_options)})
    run = SippRun(config, timeout=BOUND + 40, workdir=folder).start()
    run.wait_started()
    return run


def register(box: ApplianceProcess, folder: Path) -> None:
    users = folder / "phones.csv"
    users.write_text("SEQUENTIAL\n" + "".join(f"{u};{p}\n" for u, p in PASSWORDS.items()))
    config = SippConfig(scenario_path("register.xml"), remote=box.address, max_calls=1,
                        injection=users)
    result = SippRun(config, timeout=BOUND, workdir=folder / "register").run()
    assert result.ok, result


def calls_out(box: ApplianceProcess, number: str, calls: int, folder: Path) -> SippResult:
    """Phone 1001 dials `number` `calls` times, one after another."""
    host, port = box.address
    config = SippConfig(scenario_path("phone_call.xml"), remote=box.address, rate=1,
                        call_limit=1, max_calls=calls, duration_ms=300, service=number,
                        keys={"user": "1001", "password": PASSWORDS["1001"]},
                        extra_args=("-auth_uri", f"{number}@{host}:{port}"))
    return SippRun(config, timeout=BOUND, workdir=folder / "phone").run()


def invites(run: SippRun) -> int:
    return run.result().counts.get("1_INVITE_Recv", 0)


def test_a_sipp_card_silent_to_options_is_taken_out_and_calls_go_out_on_the_other_card(
        tmp_path: Path) -> None:
    ports = {"fxo1": free_udp_port(), "fxo2": free_udp_port()}
    box = ApplianceProcess(site_with_cards(tmp_path / "site.yaml", ports, probe_interval=1.0),
                           tmp_path)
    cards = {name: card(port, tmp_path / name) for name, port in ports.items()}
    try:
        register(box, tmp_path)
        time.sleep(1.5)  # both cards have answered a probe
        cards["fxo1"].kill()  # the first card comes back silent to OPTIONS
        cards["fxo1"] = card(ports["fxo1"], tmp_path / "fxo1-silent", silent_to_options=True)
        time.sleep(32 + 2.5)  # its probe's Timer F
        result = calls_out(box, "90301234567", 2, tmp_path)
    finally:
        for run in cards.values():
            run.kill()
        assert box.stop() == 0, box.log()
    assert (result.successful, result.failed) == (2, 0), result
    assert (invites(cards["fxo1"]), invites(cards["fxo2"])) == (0, 2)
    log = box.log()
    assert log.index("(gateway fxo1) answers OPTIONS") < log.index(
        "(gateway fxo1) does not answer OPTIONS")
