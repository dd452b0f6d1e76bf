"""Answers that tell a peer its call was answered or has ended wait until the log is durable:
a peer never hears of an answer or an end that the records could still lose."""

from __future__ import annotations

from appliance.events import CallAnswered, CallEnded
from tests.appliance.pbx.b2bua.harness import Lab, live_site


class SlowDisk:
    """A record store as the core sees it: marks, and how many records each covered."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.covered: list[int] = []

    def mark(self) -> int:
        self.covered.append(len(self.lab.log))
        return len(self.covered)


def heard_by_gateway(lab: Lab) -> list[bytes]:
    """Every datagram the trunk gateway receives from now on."""
    gateway = lab.gateway
    received: list[bytes] = []
    receive = gateway.receive_datagram

    def tap(data: bytes, source: tuple[str, int], now: float) -> None:
        received.append(data)
        receive(data, source, now)

    gateway.receive_datagram = tap  # type: ignore[method-assign]
    return received


def status_lines(datagrams: list[bytes], method: str) -> list[str]:
    return [d.split(b"\r\n", 1)[0].decode() for d in datagrams
            if d.startswith(b"SIP/2.0") and f" {method}\r\n".encode() in d]


def durable_lab() -> tuple[Lab, SlowDisk]:
    lab = Lab(live_site(agents=1))
    disk = SlowDisk(lab)
    lab.log.durability = disk
    lab.register_all()
    return lab, disk


def commit(lab: Lab, mark: int) -> None:
    """The store reports everything up to `mark` durable."""
    lab.box.log_durable(mark, lab.net.now)
    lab.net.poke(lab.box.local)
    lab.run(0.5)


def index_of(lab: Lab, kind: type) -> int:
    (index,) = [i for i, r in enumerate(lab.log) if type(r) is kind]
    return index


def answer_the_call(lab: Lab, disk: SlowDisk) -> int:
    """A gateway call that the agent answers; returns the gateway's call id once the gateway
    has its 200 (everything committed as soon as it is marked)."""
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    phone = lab.phones["a1"]
    (incoming,) = [c for c in phone.calls.values() if c.state == "incoming"]
    lab.do(phone, "answer", incoming.id)
    lab.run(0.5)
    commit(lab, len(disk.covered))
    return call


def test_the_callers_200_waits_for_the_answer_to_be_durable() -> None:
    lab, disk = durable_lab()
    received = heard_by_gateway(lab)
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    phone = lab.phones["a1"]
    (incoming,) = phone.calls.values()
    lab.do(phone, "answer", incoming.id)
    lab.run(0.4)  # less than T1: the 200 is not retransmitted yet
    assert "SIP/2.0 200 OK" not in status_lines(received, "INVITE")
    assert index_of(lab, CallAnswered) < disk.covered[-1]
    commit(lab, len(disk.covered))
    assert status_lines(received, "INVITE")[-1] == "SIP/2.0 200 OK"
    assert [e.kind for e in lab.gateway.take_events()] == ["ringing", "answered"]


def test_the_200_to_a_bye_waits_for_the_calls_end_to_be_durable() -> None:
    lab, disk = durable_lab()
    call = answer_the_call(lab, disk)
    received = heard_by_gateway(lab)
    lab.do(lab.gateway, "hangup", call)
    lab.run(5)  # the gateway retransmits its BYE; nothing answers it yet
    assert status_lines(received, "BYE") == []
    assert not lab.box.is_idle()
    assert index_of(lab, CallEnded) < disk.covered[-1]  # the mark covers the call's end
    commit(lab, len(disk.covered))
    assert set(status_lines(received, "BYE")) == {"SIP/2.0 200 OK"}


def test_a_mark_below_the_held_one_releases_nothing() -> None:
    lab, disk = durable_lab()
    call = answer_the_call(lab, disk)
    received = heard_by_gateway(lab)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    commit(lab, len(disk.covered) - 1)
    assert status_lines(received, "BYE") == []
    commit(lab, len(disk.covered))
    assert set(status_lines(received, "BYE")) == {"SIP/2.0 200 OK"}


def test_the_487_to_a_cancelled_call_waits_for_its_end_but_the_200_to_cancel_does_not() -> None:
    lab, disk = durable_lab()
    lab.do(lab.phones["a1"], "register", 0)  # no agent: the call waits in the queue
    lab.run(1)
    received = heard_by_gateway(lab)
    call = lab.do(lab.gateway, "call", "100")
    lab.run(5)
    lab.do(lab.gateway, "hangup", call)  # CANCEL
    lab.run(1)
    assert status_lines(received, "CANCEL") == ["SIP/2.0 200 OK"]
    assert not [line for line in status_lines(received, "INVITE") if " 487 " in line]
    assert index_of(lab, CallEnded) < disk.covered[-1]
    commit(lab, len(disk.covered))
    assert status_lines(received, "INVITE")[-1] == "SIP/2.0 487 Request Terminated"
    assert lab.box.is_idle()


def test_without_a_durable_store_nothing_waits() -> None:
    lab = Lab(live_site(agents=1))
    lab.register_all()
    received = heard_by_gateway(lab)
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    phone = lab.phones["a1"]
    (incoming,) = phone.calls.values()
    lab.do(phone, "answer", incoming.id)
    lab.run(0.1)
    lab.do(lab.gateway, "hangup", call)
    lab.run(0.1)
    assert status_lines(received, "INVITE")[-1] == "SIP/2.0 200 OK"
    assert set(status_lines(received, "BYE")) == {"SIP/2.0 200 OK"}


def test_a_slow_commit_holds_the_callers_200_past_its_retransmission_times() -> None:
    lab, disk = durable_lab()
    received = heard_by_gateway(lab)
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    phone = lab.phones["a1"]
    (incoming,) = phone.calls.values()
    lab.do(phone, "answer", incoming.id)
    lab.run(3)  # T1, 2 T1 and 4 T1 pass: a 200 sent would have been retransmitted by now
    assert "SIP/2.0 200 OK" not in status_lines(received, "INVITE")
    commit(lab, len(disk.covered))
    assert status_lines(received, "INVITE")[-1] == "SIP/2.0 200 OK"
    assert [e.kind for e in lab.gateway.take_events()] == ["ringing", "answered"]


def test_a_refusal_that_ends_a_call_waits_for_its_end_to_be_durable() -> None:
    lab = Lab(live_site(agents=1, trunks=1))
    disk = SlowDisk(lab)
    lab.log.durability = disk
    lab.register_all()
    received = heard_by_gateway(lab)
    lab.do(lab.gateway, "call", "100")  # holds the only trunk
    lab.run(0.5)
    lab.do(lab.gateway, "call", "100")  # blocked: all trunks busy
    lab.run(0.5)
    ended = [r for r in lab.log if isinstance(r, CallEnded)]
    assert len(ended) == 1
    assert refusals(received) == []
    commit(lab, len(disk.covered))
    assert len(refusals(received)) == 1


def refusals(datagrams: list[bytes]) -> list[str]:
    """The final answers of 300 and above to INVITEs among `datagrams`."""
    return [line for line in status_lines(datagrams, "INVITE") if int(line.split()[1]) >= 300]


def test_cancel_crossing_200_held_for_the_log_is_too_late_and_the_call_goes_on() -> None:
    lab, disk = durable_lab()
    heard = heard_by_gateway(lab)
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    phone = lab.phones["a1"]
    lab.do(phone, "answer", max(phone.calls))
    lab.run(0.5)  # the caller's 200 waits for the answer's record to be durable
    lab.do(lab.gateway, "hangup", call)  # ... and the caller's CANCEL crosses it
    lab.run(0.5)
    assert status_lines(heard, "INVITE") == ["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing"]
    commit(lab, len(disk.covered))
    commit(lab, len(disk.covered))  # the BYE's 200, after the call's end record
    assert status_lines(heard, "INVITE")[-1] == "SIP/2.0 200 OK"  # no 487: too late
    assert [type(r) for r in lab.log if type(r) in (CallAnswered, CallEnded)] == [
        CallAnswered, CallEnded]
    assert [r.cause.value for r in lab.log if type(r) is CallEnded] == ["caller_hangup"]
    assert lab.box.is_idle()
