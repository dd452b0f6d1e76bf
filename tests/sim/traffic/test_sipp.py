"""The SIPp wrapper and the shipped scenarios, against real SIPp on 127.0.0.1.

Each scenario is played against its SIPp counterpart (a caller against an
agent scenario), so the files are known to be accepted by SIPp and to make a
coherent dialog before they are ever pointed at the appliance.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.traffic import sipp
from sim.traffic.rtp_pcap import tone, write_rtp_pcap
from sim.traffic.sipp import (
    SCENARIOS,
    SippConfig,
    SippNotFound,
    SippResult,
    SippRun,
    build_command,
    free_udp_port,
    invite_outcomes,
    parse_sipp_time,
    read_counts,
    read_stat_rows,
    result_from_row,
    scenario_path,
)

# Every SIPp run in this module ends by this deadline, whatever happens.
BOUND = 30.0
USERS = SCENARIOS / "users.csv"

# A registrar for register.xml/unregister.xml: challenges, then checks the
# digest against the same injection file (both sides read it in sequence).
REGISTRAR = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="test registrar">
  <recv request="REGISTER"/>
  <send>
    <![CDATA[

      SIP/2.0 401 Unauthorized
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      WWW-Authenticate: Digest realm="ccbox", nonce="[pid][call_number]", algorithm=MD5
      Content-Length: 0

    ]]>
  </send>
  <recv request="REGISTER">
    <action>
      <verifyauth assign_to="authvalid" username="[field0]" password="[field1]"/>
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="good"/>
  <send next="end">
    <![CDATA[

      SIP/2.0 403 Forbidden
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <label id="good"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Contact:]
      Content-Length: 0

    ]]>
  </send>
  <label id="end"/>
</scenario>
"""


# An appliance at its limit: every INVITE gets 503 with Retry-After.
OVERLOADED = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="test overloaded">
  <recv request="INVITE"/>
  <send retrans="500">
    <![CDATA[

      SIP/2.0 503 Service Unavailable
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Retry-After: 7
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK"/>
</scenario>
"""


# An appliance leg that refreshes the session (RFC 4028) with an UPDATE and a
# re-INVITE while the caller talks, then waits for the caller's BYE.
REFRESHER = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="test session refresher">
  <recv request="INVITE" rrs="true"/>
  <send retrans="500">
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:queue@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=ccbox 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=sendrecv

    ]]>
  </send>
  <recv request="ACK">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="caller"/>
      <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="queue"/>
    </action>
  </recv>
  <pause milliseconds="200"/>
  <send retrans="500">
    <![CDATA[

      UPDATE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$queue]
      To: [$caller]
      Call-ID: [call_id]
      CSeq: 1 UPDATE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
  <pause milliseconds="200"/>
  <send retrans="500">
    <![CDATA[

      INVITE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$queue]
      To: [$caller]
      Call-ID: [call_id]
      CSeq: 2 INVITE
      Contact: <sip:queue@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=ccbox 1 2 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=sendrecv

    ]]>
  </send>
  <recv response="200"/>
  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$queue]
      To: [$caller]
      Call-ID: [call_id]
      CSeq: 2 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv request="BYE"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
"""


@pytest.fixture
def uas(tmp_path: Path) -> Iterator[SippRun]:
    """SIPp's built-in UAS, killed (by PID) at the end of the test."""
    with SippRun(SippConfig("uas"), timeout=BOUND, workdir=tmp_path / "uas") as run:
        run.wait_started()
        yield run


def _play(tmp_path: Path, server: SippConfig, client: SippConfig) -> tuple[SippResult, SippResult]:
    """Run ``client`` against ``server`` until both end on their own (within BOUND)."""
    with SippRun(server, timeout=BOUND, workdir=tmp_path / "server") as server_run:
        server_run.wait_started()
        client.remote = server_run.address
        with SippRun(client, timeout=BOUND, workdir=tmp_path / "client") as client_run:
            client_result = client_run.wait()
        server_result = server_run.wait()
    return client_result, server_result


def _assert_all_succeeded(result: SippResult, calls: int) -> None:
    assert (result.successful, result.failed, result.total) == (calls, 0, calls), result
    assert result.ok
    assert result.failures == {}


# The wrapper without SIPp


def test_find_sipp_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sipp.shutil, "which", lambda _name: None)
    with pytest.raises(SippNotFound, match="sip-tester"):
        sipp.find_sipp()


def test_parse_sipp_time() -> None:
    assert parse_sipp_time("00:00:01:250000") == pytest.approx(1.25)
    assert parse_sipp_time("01:02:03") == 3723.0
    assert parse_sipp_time("") == 0.0


def test_result_from_a_stat_line(tmp_path: Path) -> None:
    # Columns as SIPp 3.6.1 writes them (a subset, in its order).
    header = (
        "StartTime;LastResetTime;CurrentTime;TargetRate;TotalCallCreated;SuccessfulCall(C);"
        "FailedCall(C);FailedMaxUDPRetrans(C);FailedCallRejected(C);Retransmissions(C);"
        "ResponseTime1(C);CallLength(C);"
    )
    row = (
        "2026-11-23\t22:58:52.187304\t1795474732.187304;x;"
        "2026-11-23\t22:58:54.687304\t1795474734.687304;20;30;27;3;1;2;5;"
        "00:00:00:200000;00:00:01:500000;"
    )
    stat = tmp_path / "stat.csv"
    stat.write_text(f"{header}\n{row}\n")
    result = result_from_row(read_stat_rows(stat)[-1], 1, False, tmp_path)
    assert (result.successful, result.failed, result.total) == (27, 3, 30)
    assert result.failures == {"MaxUDPRetrans": 1, "CallRejected": 2}
    assert result.elapsed == pytest.approx(2.5)
    assert result.response_time == pytest.approx(0.2)
    assert result.call_length == pytest.approx(1.5)
    assert result.target_rate == 20.0
    assert result.failure_ratio == pytest.approx(0.1)
    assert not result.ok


def test_invite_outcomes_from_a_counts_file(tmp_path: Path) -> None:
    # The caller scenario's columns as SIPp 3.6.1 writes them with -trace_counts (a subset).
    header = ("CurrentTime;ElapsedTime;0_INVITE_Sent;0_INVITE_Retrans;0_INVITE_Timeout;"
              "1_100_Recv;1_100_Retrans;2_183_Recv;3_503_Recv;3_503_Retrans;4_487_Recv;"
              "5_200_Recv;5_200_Retrans;6_ACK_Sent;7_BYE_Sent;8_200_Recv;")
    rows = ["2026-12-07\t05:33:29.02;00:00:00:000000;0;0;0;0;0;0;0;0;0;0;0;0;0;0;",
            "2026-12-07\t05:33:30.02;00:00:01:000000;50;9;0;48;0;40;6;2;1;40;3;47;40;39;"]
    (tmp_path / "caller_123_counts.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    counts = read_counts(tmp_path)
    assert counts["0_INVITE_Sent"] == 50 and counts["8_200_Recv"] == 39
    outcomes = invite_outcomes(counts)
    # The BYE's 200 and retransmitted finals are not answers to an INVITE.
    assert (outcomes.sent, outcomes.answered, outcomes.refused) == (50, 40, 7)
    assert outcomes.without_final == 3
    assert read_counts(tmp_path / "nowhere") == {}


def test_command_line(tmp_path: Path) -> None:
    config = SippConfig(
        "uac",
        remote=("127.0.0.1", 5060),
        rate=12.5,
        call_limit=3,
        max_calls=7,
        duration_ms=250,
        variables={"ring_ms": 100},
        keys={"greeting": "hi"},
    )
    command = build_command(config, "sipp", 40000, 40001, tmp_path)
    text = " ".join(command)
    assert command[:4] == ["sipp", "-sn", "uac", "127.0.0.1:5060"]
    for part in (
        "-i 127.0.0.1 -p 40000 -cp 40001",
        "-r 12.5",
        "-l 3 -m 7 -d 250",
        "-set ring_ms 100",
        "-key greeting hi",
        "-nostdin",
    ):
        assert part in text
    assert f"-stf {tmp_path / 'stat.csv'}" in text


def test_free_udp_port_is_bindable() -> None:
    port = free_udp_port()
    assert 0 < port < 65536


# The wrapper with SIPp's built-in uac and uas


def test_uac_to_uas_counts_every_call(uas: SippRun, tmp_path: Path) -> None:
    config = SippConfig("uac", remote=uas.address, rate=50, max_calls=50)
    with SippRun(config, timeout=BOUND, workdir=tmp_path / "uac") as uac:
        result = uac.wait()
    _assert_all_succeeded(result, 50)
    assert result.exit_code == 0
    assert not result.timed_out


def test_calls_to_nobody_are_failures(tmp_path: Path) -> None:
    config = SippConfig(
        "uac",
        remote=("127.0.0.1", free_udp_port()),
        rate=10,
        max_calls=5,
        recv_timeout_ms=300,
    )
    with SippRun(config, timeout=BOUND, workdir=tmp_path) as uac:
        result = uac.wait()
    assert (result.successful, result.failed, result.total) == (0, 5, 5)
    assert sum(result.failures.values()) == 5
    assert not result.ok
    assert result.exit_code != 0


def test_rate_changes_while_running(uas: SippRun, tmp_path: Path) -> None:
    config = SippConfig("uac", remote=uas.address, rate=2)
    with SippRun(config, timeout=BOUND, workdir=tmp_path / "uac") as uac:
        uac.wait_started()
        uac.set_rate(40)
        _wait_for_target_rate(uac, 40.0)
        uac.stop()
        result = uac.wait()
    assert result.target_rate == 40.0
    assert result.failed == 0
    assert result.successful == result.total > 0


def _wait_for_target_rate(run: SippRun, rate: float) -> None:
    stat = run.workdir / "stat.csv"
    stop_at = time.monotonic() + 10.0
    while time.monotonic() < stop_at:
        rows = read_stat_rows(stat)
        if rows and float(rows[-1]["TargetRate"]) == rate:
            return
        time.sleep(0.1)
    pytest.fail(f"SIPp's target rate never became {rate}")


def test_deadline_ends_a_run_that_would_not_end(uas: SippRun, tmp_path: Path) -> None:
    config = SippConfig("uac", remote=uas.address, rate=5)
    run = SippRun(config, timeout=1.5, workdir=tmp_path / "uac")
    result = run.run()
    assert result.timed_out
    assert not result.ok
    assert not run.running()


def test_a_broken_scenario_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text('<?xml version="1.0"?><scenario><recv request="INVITE"></scenario>')
    run = SippRun(SippConfig(broken), timeout=BOUND, workdir=tmp_path / "run").start()
    with pytest.raises(sipp.SippError, match="exited"):
        run.wait_started()
    run.kill()


def test_a_port_taken_between_its_pick_and_sipps_start_is_picked_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process may bind a port `free_udp_port` saw free before SIPp does: SIPp
    exits at once, and the run starts it again on new ports."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind((sipp.LOCALHOST, 0))
        picks = iter([taken.getsockname()[1]])
        real = sipp.free_udp_port
        monkeypatch.setattr(sipp, "free_udp_port", lambda *host: next(picks, None) or real(*host))
        run = SippRun(SippConfig(scenario_path("agent.xml")), timeout=BOUND,
                      workdir=tmp_path / "run")
        with run.start():
            run.wait_started()
            assert run.running()
            assert taken.getsockname()[1] not in (run.local_port, run.control_port)
            run.kill()


# Every shipped scenario is accepted by SIPp


UAS_SCENARIOS = ("agent.xml", "agent_hangup.xml", "agent_noanswer.xml", "agent_busy.xml",
                 "agent_media.xml", "agent_transfer.xml", "agent_attended.xml",
                 "gateway_card.xml")
UAC_SCENARIOS = (
    "caller.xml",
    "caller_media.xml",
    "caller_info.xml",
    "caller_ivr.xml",
    "caller_abandon.xml",
    "caller_hold.xml",
    "caller_lost_bye.xml",
    "register.xml",
    "unregister.xml",
    "phone_call.xml",
    "phone_call_media.xml",
    "mwi_subscribe.xml",
    "fxo_port.xml",
)
# The scenarios that play a pcap: SIPp loads it (-key pcap) when it reads the scenario.
PCAP_SCENARIOS = ("agent_media.xml", "caller_media.xml", "caller_info.xml", "caller_ivr.xml",
                  "fxo_port.xml", "phone_call_media.xml")
# The scenarios that call from a given number (-key ani).
ANI_SCENARIOS = ("caller_ivr.xml", "fxo_port.xml")
# The scenarios of a phone's user, who authenticates (-key user, -key password).
PHONE_SCENARIOS = ("phone_call.xml", "phone_call_media.xml", "mwi_subscribe.xml")


def test_every_shipped_scenario_is_tested() -> None:
    shipped = {path.name for path in SCENARIOS.glob("*.xml")}
    assert shipped == set(UAS_SCENARIOS) | set(UAC_SCENARIOS)


def scenario_keys(name: str, folder: Path) -> dict[str, str]:
    keys = {}
    if name in PCAP_SCENARIOS:
        keys["pcap"] = str(write_rtp_pcap(folder / "a.pcap", tone(1000, 0.1)))
    if name in ANI_SCENARIOS:
        keys["ani"] = "13800138000"
    if name in PHONE_SCENARIOS:
        keys.update(user="1001", password="secret", waiting="1/0")
    return keys


@pytest.mark.parametrize("name", UAS_SCENARIOS + UAC_SCENARIOS)
def test_sipp_accepts_the_scenario(name: str, tmp_path: Path) -> None:
    remote = None if name in UAS_SCENARIOS else ("127.0.0.1", free_udp_port())
    config = SippConfig(
        scenario_path(name),
        remote=remote,
        rate=1,
        max_calls=1,
        recv_timeout_ms=200,
        injection=USERS if name.endswith("register.xml") else None,
        keys=scenario_keys(name, tmp_path),
    )
    with SippRun(config, timeout=BOUND, workdir=tmp_path) as run:
        run.wait_started()
        assert run.running() or run.result().exit_code in (0, 1)


# Scenarios played against their counterparts


@pytest.mark.slow
def test_caller_against_agent(tmp_path: Path) -> None:
    agent = SippConfig(scenario_path("agent.xml"), max_calls=5, variables={"ring_ms": 100})
    caller = SippConfig(
        scenario_path("caller.xml"), rate=10, max_calls=5, duration_ms=200, service="600"
    )
    caller_result, agent_result = _play(tmp_path, agent, caller)
    _assert_all_succeeded(caller_result, 5)
    _assert_all_succeeded(agent_result, 5)
    assert caller_result.response_time > 0


@pytest.mark.slow
def test_caller_abandons_an_agent_who_does_not_answer(tmp_path: Path) -> None:
    agent = SippConfig(scenario_path("agent_noanswer.xml"), max_calls=5)
    caller = SippConfig(scenario_path("caller_abandon.xml"), rate=10, max_calls=5, duration_ms=200)
    caller_result, agent_result = _play(tmp_path, agent, caller)
    _assert_all_succeeded(caller_result, 5)
    _assert_all_succeeded(agent_result, 5)


@pytest.mark.slow
def test_caller_holds_and_resumes(tmp_path: Path) -> None:
    agent = SippConfig(scenario_path("agent.xml"), max_calls=3)
    caller = SippConfig(scenario_path("caller_hold.xml"), rate=10, max_calls=3, duration_ms=200)
    caller_result, agent_result = _play(tmp_path, agent, caller)
    _assert_all_succeeded(caller_result, 3)
    _assert_all_succeeded(agent_result, 3)


@pytest.mark.slow
def test_agent_hangs_up_first(tmp_path: Path) -> None:
    agent = SippConfig(scenario_path("agent_hangup.xml"), max_calls=3, duration_ms=200)
    caller = SippConfig(scenario_path("caller.xml"), rate=10, max_calls=3, duration_ms=5000)
    caller_result, agent_result = _play(tmp_path, agent, caller)
    _assert_all_succeeded(caller_result, 3)
    _assert_all_succeeded(agent_result, 3)


@pytest.mark.slow
def test_caller_answers_session_refreshes(tmp_path: Path) -> None:
    refresher_xml = tmp_path / "refresher.xml"
    refresher_xml.write_text(REFRESHER)
    server = SippConfig(refresher_xml, max_calls=3)
    caller = SippConfig(scenario_path("caller.xml"), rate=10, max_calls=3, duration_ms=1500)
    caller_result, server_result = _play(tmp_path, server, caller)
    _assert_all_succeeded(caller_result, 3)
    _assert_all_succeeded(server_result, 3)


@pytest.mark.slow
def test_busy_agent_is_a_failed_call(tmp_path: Path) -> None:
    agent = SippConfig(scenario_path("agent_busy.xml"), max_calls=3)
    caller = SippConfig(scenario_path("caller.xml"), rate=10, max_calls=3)
    caller_result, agent_result = _play(tmp_path, agent, caller)
    assert (caller_result.successful, caller_result.failed) == (0, 3)
    # The caller's scenarios mark a final error as a failed test (see caller.xml).
    assert caller_result.failures == {"TestDoesntMatch": 3}
    _assert_all_succeeded(agent_result, 3)


@pytest.mark.slow
def test_lost_caller_answers_nothing(tmp_path: Path) -> None:
    # The agent's BYE goes unanswered: with one retransmission allowed it fails
    # fast, while the caller ends silently after its -d.
    agent = SippConfig(
        scenario_path("agent_hangup.xml"),
        max_calls=3,
        duration_ms=100,
        extra_args=("-max_non_invite_retrans", "1"),
    )
    caller = SippConfig(
        scenario_path("caller_lost_bye.xml"), rate=10, max_calls=3, duration_ms=3000
    )
    caller_result, agent_result = _play(tmp_path, agent, caller)
    _assert_all_succeeded(caller_result, 3)
    assert (agent_result.successful, agent_result.failed) == (0, 3)
    assert agent_result.failures == {"MaxUDPRetrans": 3}


@pytest.mark.slow
def test_overloaded_appliance_is_a_failed_call(tmp_path: Path) -> None:
    overloaded_xml = tmp_path / "overloaded.xml"
    overloaded_xml.write_text(OVERLOADED)
    server = SippConfig(overloaded_xml, max_calls=3)
    caller = SippConfig(scenario_path("caller.xml"), rate=10, max_calls=3)
    caller_result, server_result = _play(tmp_path, server, caller)
    assert (caller_result.successful, caller_result.failed) == (0, 3)
    assert caller_result.failures == {"TestDoesntMatch": 3}
    # The 503s were ACKed, and their Retry-After logged.
    _assert_all_succeeded(server_result, 3)
    assert (caller_result.workdir / "logs.log").read_text().count("Retry-After: 7") == 3


@pytest.mark.slow
def test_an_fxo_port_never_hangs_up_and_answers_the_far_ends_bye(tmp_path: Path) -> None:
    agent = SippConfig(scenario_path("agent_hangup.xml"), max_calls=2, duration_ms=300)
    port = SippConfig(scenario_path("fxo_port.xml"), rate=10, call_limit=1, max_calls=2,
                      service="1", recv_timeout_ms=5000,
                      keys={"pcap": str(write_rtp_pcap(tmp_path / "line.pcap", tone(450, 1.0))),
                            "ani": "13800138000"})
    port_result, agent_result = _play(tmp_path, agent, port)
    _assert_all_succeeded(port_result, 2)
    _assert_all_succeeded(agent_result, 2)
    byes = {name.partition("_")[2]: n for name, n in port_result.counts.items() if "BYE" in name}
    assert byes.get("BYE_Recv") == 2 and "BYE_Sent" not in byes  # it waits for the far end's
    logged = (port_result.workdir / "logs.log").read_text().split()
    assert (logged.count("audio"), logged.count("bye")) == (2, 2)


PROBE = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="test OPTIONS probe">
  <send retrans="500">
    <![CDATA[

      OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:box@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
"""


@pytest.mark.slow
@pytest.mark.parametrize("silent", [False, True])
def test_a_gateway_card_takes_calls_and_answers_options_unless_silent(
        silent: bool, tmp_path: Path) -> None:
    probe_xml = tmp_path / "probe.xml"
    probe_xml.write_text(PROBE)
    card = SippConfig(scenario_path("gateway_card.xml"),
                      variables={"silent_to_options": int(silent)})
    with SippRun(card, timeout=BOUND, workdir=tmp_path / "card") as card_run:
        card_run.wait_started()
        box = SippConfig(probe_xml, remote=card_run.address, rate=10, max_calls=2,
                         recv_timeout_ms=1000)
        probes = SippRun(box, timeout=BOUND, workdir=tmp_path / "probes").run()
        caller = SippConfig(scenario_path("caller.xml"), remote=card_run.address, rate=10,
                            max_calls=2, duration_ms=200, service="0301234567")
        calls = SippRun(caller, timeout=BOUND, workdir=tmp_path / "calls").run()
    _assert_all_succeeded(calls, 2)
    assert (probes.successful, probes.failed) == ((0, 2) if silent else (2, 0))


@pytest.mark.slow
def test_register_with_a_wrong_password_fails(tmp_path: Path) -> None:
    registrar_xml = tmp_path / "registrar.xml"
    registrar_xml.write_text(REGISTRAR)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("SEQUENTIAL\n1001;not-the-secret\n")
    registrar = SippConfig(registrar_xml, max_calls=1, injection=USERS)
    phone = SippConfig(scenario_path("register.xml"), rate=10, max_calls=1, injection=wrong)
    phone_result, _ = _play(tmp_path, registrar, phone)
    assert (phone_result.successful, phone_result.failed) == (0, 1)
    assert phone_result.failures == {"TestDoesntMatch": 1}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["register.xml", "unregister.xml"])
def test_register_with_digest(name: str, tmp_path: Path) -> None:
    registrar_xml = tmp_path / "registrar.xml"
    registrar_xml.write_text(REGISTRAR)
    registrar = SippConfig(registrar_xml, max_calls=3, injection=USERS)
    phone = SippConfig(scenario_path(name), rate=10, call_limit=1, max_calls=3, injection=USERS)
    phone_result, _ = _play(tmp_path, registrar, phone)
    _assert_all_succeeded(phone_result, 3)


def test_a_started_run_used_as_a_context_manager_is_one_sipp_and_ends_with_it(
        tmp_path: Path) -> None:
    import os

    run = SippRun(SippConfig("uas"), timeout=BOUND, workdir=tmp_path / "uas").start()
    first = run.pid
    with run as same:
        assert same.pid == first  # not a second SIPp beside the first
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)  # gone, not left running after the test
