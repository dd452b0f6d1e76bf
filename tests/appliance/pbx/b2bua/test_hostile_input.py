"""Whatever arrives, the B2BUA neither raises nor loses track of a call.

Real datagrams of a call, mutated (bytes flipped, lines dropped or duplicated, headers
swapped between messages), are thrown at the appliance while a call is up. Nothing raises,
and afterwards call control and the SIP legs agree: every call still in the appliance has its
caller's leg, and every leg a call. Some garbage sets up calls (a mutated INVITE from the
trunk's own address is a new call as far as anyone can tell) or makes the gateway give up on
its INVITE; without media nothing tells a queued call that its caller is gone, so a call may
still be waiting - but properly, in its queue.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.events import CallEnded, CallOffered
from tests.appliance.pbx.b2bua.harness import GATEWAY, MEDIA_PORTS, Lab, live_site, media_plane


def _recorded_call_datagrams() -> list[bytes]:
    lab = Lab(live_site(agents=1))
    lab.register_all()
    trace = lab.net.trace = []
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    phone = lab.phones["a1"]
    lab.do(phone, "answer", next(iter(phone.calls.values())).id)
    lab.run(1)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    return [data for *_, data in trace]


SAMPLES = _recorded_call_datagrams()


def _mutate(data: bytes, kind: int, position: int, value: int) -> bytes:
    lines = data.split(b"\r\n")
    if kind == 0 and data:  # flip a byte
        index = position % len(data)
        return data[:index] + bytes([value]) + data[index + 1:]
    if kind == 1 and len(lines) > 1:  # drop a line
        del lines[position % len(lines)]
    elif kind == 2:  # duplicate a line
        line = lines[position % len(lines)]
        lines.insert(position % len(lines), line)
    elif kind == 3:  # cut the datagram short
        return data[: position % (len(data) + 1)]
    elif kind == 4:  # another message's header in place of one of ours
        donor = SAMPLES[value % len(SAMPLES)].split(b"\r\n")
        lines[position % len(lines)] = donor[position % len(donor)]
    return b"\r\n".join(lines)


mutations = st.lists(
    st.tuples(st.integers(0, len(SAMPLES) - 1), st.integers(0, 4), st.integers(0, 10_000),
              st.integers(0, 255)),
    min_size=1, max_size=25)


def _attack(lab: Lab, attacks) -> tuple[set[int], set[int]]:
    """A call answered, the hostile datagrams, the caller's hang-up and five minutes; the
    calls offered and the calls ended."""
    lab.register_all()
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    phone = lab.phones["a1"]
    incoming = [c for c in phone.calls.values() if c.state == "incoming"]
    if incoming:
        lab.do(phone, "answer", incoming[0].id)
    for sample, kind, position, value in attacks:
        hostile = _mutate(SAMPLES[sample], kind, position, value)
        lab.box.receive_datagram(hostile, GATEWAY, lab.net.now)  # must not raise
        lab.net.poke(lab.box.local)
        lab.run(0.05)
    lab.do(lab.gateway, "hangup", call)
    lab.run(300)  # long enough for session timers to end anything left
    offered = {r.call for r in lab.log if isinstance(r, CallOffered)}
    ended = {r.call for r in lab.log if isinstance(r, CallEnded)}
    return offered, ended


@settings(max_examples=60, deadline=None)
@given(mutations)
def test_mutated_datagrams_during_calls_never_raise_and_every_call_ends(attacks) -> None:
    lab = Lab(live_site(agents=1, sip={"session_expires": 90, "min_se": 90}))
    offered, ended = _attack(lab, attacks)
    assert set(lab.box.cc.calls) == offered - ended
    assert set(lab.box.legs.callers) == offered - ended
    for waiting in offered - ended:
        assert lab.box.cc.calls[waiting].state.name == "QUEUED"


@settings(max_examples=40, deadline=None)
@given(mutations)
def test_with_media_anchored_every_call_ends_and_gives_its_ports_back(attacks) -> None:
    # With media, a caller that sends no RTP is gone after the media timeout: nothing waits.
    lab = Lab(live_site(agents=1, sip={"session_expires": 90, "min_se": 90}),
              media_for=media_plane(timeout=30.0))
    offered, ended = _attack(lab, attacks)
    assert offered == ended
    assert not lab.box.cc.calls and not lab.box.legs.callers
    media = lab.box.media
    assert not media.calls and not media.relay.sessions
    assert media.relay.calls_free == len(MEDIA_PORTS) // 4


def test_a_forged_invite_with_the_key_of_our_agent_invite_does_not_steal_its_answer() -> None:
    # Regression: one table held both the peers' INVITEs and ours, so a request carrying
    # the transaction key of our INVITE to the agent replaced it, and the agent's 200 was lost.
    lab = Lab(live_site(agents=1))
    lab.register_all()
    trace = lab.net.trace = []
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    ours = next(data for _, source, _, data in trace
                if data.startswith(b"INVITE sip:a1@") and source == lab.box.local)
    lab.box.receive_datagram(ours, GATEWAY, lab.net.now)  # replayed at us by the trunk
    lab.net.poke(lab.box.local)
    phone = lab.phones["a1"]
    lab.do(phone, "answer", next(iter(phone.calls.values())).id)
    lab.run(1)
    assert lab.gateway.calls[call].state == "answered"
