"""Races between a caller's hang-up and the agent's leg, each in a test named after it (the
races that are a row of a leg's table, `appliance/pbx/legs`, after that row: CANCEL crossing
200, BYE during re-INVITE, re-INVITEs crossing, lost ACK, 486 after CANCEL, BYE before ACK),
with the B2BUA's
invariants checked after every datagram and deadline: no agent leg up without its caller, no
call or media without a caller leg, every agent leg reachable."""

from __future__ import annotations

from random import Random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.events import CallEnded, EndCause
from appliance.pbx.b2bua.invariants import broken_invariants
from appliance.pbx.legs.offer import OfferState
from appliance.pbx.sip.message import Request, parse_name_addr
from sim.sipnet import LinkQuality
from sim.sipua import UserAgent, offer_sdp
from tests.appliance.pbx.b2bua.harness import (
    APPLIANCE,
    GATEWAY,
    Lab,
    live_site,
    media_plane,
    password,
)


class CheckedLab(Lab):
    """A `Lab` whose appliance fails the test on the first input that breaks an invariant."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        box = self.box
        receive, wake = box.receive_datagram, box.on_deadline

        def checked_receive(data: bytes, source: tuple[str, int], now: float) -> None:
            receive(data, source, now)
            self.check(f"after {data.split(b' ', 2)[:2]} from {source} at {now:.3f}")

        def checked_wake(now: float) -> None:
            wake(now)
            self.check(f"after deadlines at {now:.3f}")

        box.receive_datagram = checked_receive  # type: ignore[method-assign]
        box.on_deadline = checked_wake  # type: ignore[method-assign]

    def check(self, when: str) -> None:
        broken = broken_invariants(self.box)
        assert not broken, f"{when}: {broken}"

    def settle(self) -> None:
        """Run well past every SIP timer; the appliance must then hold nothing."""
        self.run(70)
        self.check("at the end")
        box = self.box
        assert box.is_idle(), (box.legs.dialogs, box.legs.invites_out, box.dialogs.requests)
        assert box.active_calls == 0 and not box.cc.calls
        if box.media is not None:
            assert box.media.relay.sessions == {}


def lab_with_media(agents: int = 1, **site: Any) -> CheckedLab:
    """Queued callers answered at once (their BYE can come while an agent rings)."""
    lab = CheckedLab(live_site(agents=agents, **site), media_for=media_plane())
    lab.register_all()
    return lab


def until(lab: Lab, condition: Any, step: float = 0.001, limit: float = 5.0) -> None:
    """Run the network in small steps until `condition()` holds."""
    stop = lab.net.now + limit
    while not condition():
        assert lab.net.now < stop, "the condition never held"
        lab.run(step)


def deafen(lab: Lab, address: tuple[str, int]) -> list[bool]:
    """Lose every datagram sent to `address` while the returned flag list holds True."""
    deaf = [True]
    transmit = lab.net._transmit

    def lossy(source: Any, destination: Any, data: bytes) -> None:
        if not (deaf[0] and destination == address):
            transmit(source, destination, data)

    lab.net._transmit = lossy  # type: ignore[method-assign]
    return deaf


def lose(lab: Lab, dropped: Any) -> None:
    """Lose every datagram for which `dropped(source, destination, data)` is true."""
    transmit = lab.net._transmit

    def lossy(source: Any, destination: Any, data: bytes) -> None:
        if not dropped(source, destination, data):
            transmit(source, destination, data)

    lab.net._transmit = lossy  # type: ignore[method-assign]


def ringing(phone: UserAgent) -> int:
    """The phone's latest call still ringing."""
    return max(c.id for c in phone.calls.values() if c.state == "incoming")


def causes(lab: Lab) -> list[EndCause]:
    return [r.cause for r in lab.log if isinstance(r, CallEnded)]


def kinds(ua: UserAgent) -> list[str]:
    return [event.kind for event in ua.take_events()]


def test_caller_bye_while_the_agent_rings() -> None:
    lab = lab_with_media()
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    phone = lab.phones["a1"]
    lab.do(phone, "ring", ringing(phone))
    lab.run(0.5)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert kinds(phone) == ["incoming", "cancelled"]
    assert causes(lab) == [EndCause.ABANDONED]
    lab.settle()


def test_caller_bye_before_the_agents_phone_says_anything() -> None:
    lab = lab_with_media()
    call = lab.do(lab.gateway, "call", "100")
    until(lab, lambda: bool(lab.box.legs.rings))  # our INVITE to the phone just left
    lab.do(lab.gateway, "hangup", call)  # the BYE arrives before the phone's 100
    lab.run(1)
    assert kinds(lab.phones["a1"]) == ["incoming", "cancelled"]
    lab.settle()


def test_cancel_crossing_200_of_the_agents_phone_is_acked_and_byed() -> None:
    lab = lab_with_media()
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    phone = lab.phones["a1"]
    incoming = ringing(phone)
    # Both at once: our CANCEL and the phone's 200 pass each other on the wire.
    lab.net.at(lab.net.now, lambda: lab.do(lab.gateway, "hangup", call))
    lab.net.at(lab.net.now, lambda: lab.do(phone, "answer", incoming))
    lab.run(1)
    assert kinds(phone) == ["incoming", "ended_by_peer"]  # ACKed and BYE'd at once
    assert causes(lab) == [EndCause.ABANDONED]
    lab.settle()


def test_cancel_crossing_200_before_any_provisional_is_acked_and_byed() -> None:
    lab = lab_with_media()
    phone = lab.phones["a1"]
    call = lab.do(lab.gateway, "call", "100")
    until(lab, lambda: any(c.state == "incoming" for c in phone.calls.values()))
    lab.do(phone, "answer", ringing(phone))  # answers the moment it rings
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert kinds(phone) == ["incoming", "ended_by_peer"]
    lab.settle()


def test_bye_during_reinvite_of_the_caller_ends_both_legs() -> None:
    lab = lab_with_media()
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    phone = lab.phones["a1"]
    lab.do(phone, "answer", ringing(phone))
    lab.run(1)
    # The caller puts the call on hold and hangs up before the agent's phone has answered
    # the relayed re-INVITE.
    lab.do(lab.gateway, "reinvite", call, offer_sdp(GATEWAY[0], 40000, "sendonly"))
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert "ended_by_peer" in kinds(phone)
    assert causes(lab) == [EndCause.CALLER_HANGUP]
    lab.settle()


def test_bye_during_reinvite_of_the_agent_answers_the_pending_one_487() -> None:
    lab = lab_with_media()
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    phone = lab.phones["a1"]
    incoming = ringing(phone)
    lab.do(phone, "answer", incoming)
    lab.run(1)
    trace = lab.net.trace = []
    lab.do(phone, "reinvite", incoming, offer_sdp("10.0.1.1", 42000, "sendonly"))
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    answers = [data.split(b"\r\n", 1)[0] for _, source, to, data in trace
               if source == APPLIANCE and to == phone.local and data.startswith(b"SIP/2.0")]
    # RFC 3261 15.1.2: a request pending in a dialog that ends is answered 487.
    assert b"SIP/2.0 487 Request Terminated" in answers
    lab.settle()


class AnswersCrossingReinvites491(UserAgent):
    """A party that does what RFC 3261 14.2 asks: a re-INVITE that arrives while one of its
    own is in progress in the same dialog is answered 491 Request Pending."""

    def _on_request(self, request: Request, now: float) -> None:
        to_tag = parse_name_addr(request.headers.get("To") or "").tag or ""
        call = self._by_dialog.get((request.headers.get("Call-ID") or "", to_tag))
        if (request.method == "INVITE" and call is not None
                and any(mine is call for mine in self._reinvites.values())):
            self._reply(request, 491, "Request Pending", now, call.local_tag)
        else:
            super()._on_request(request, now)


def lab_of_parties_that_know_glare(media_timeout: float = 30.0, **sip: Any) -> CheckedLab:
    lab = CheckedLab(live_site(agents=1, sip=sip), media_for=media_plane(media_timeout))
    lab.gateway = AnswersCrossingReinvites491("gw", "", GATEWAY, APPLIANCE, Random("gw"))
    phone = AnswersCrossingReinvites491("a1", password("a1"), lab.phones["a1"].local,
                                        APPLIANCE, Random("a1"))
    lab.phones["a1"] = phone
    lab.net.attach(GATEWAY, lab.gateway)
    lab.net.attach(phone.local, phone)
    lab.register_all()
    return lab


def answers_to(trace: list[Any], party: tuple[str, int]) -> list[bytes]:
    """The status lines of the final answers the appliance sent `party`, in order."""
    return [data.split(b"\r\n", 1)[0] for _, source, to, data in trace
            if source == APPLIANCE and to == party and data.startswith(b"SIP/2.0")
            and not data.startswith(b"SIP/2.0 1")]


def test_reinvite_crossing_ours_gets_491_and_both_parties_can_retry() -> None:
    lab = lab_of_parties_that_know_glare()
    gateway, phone = lab.gateway, lab.phones["a1"]
    call = lab.do(gateway, "call", "100")
    lab.run(0.5)
    incoming = ringing(phone)
    lab.do(phone, "answer", incoming)
    lab.run(1)
    trace = lab.net.trace = []
    # Both parties put the call on hold at once: whichever re-INVITE the appliance takes
    # first goes on to the other party and crosses that party's own.
    caller_hold = offer_sdp(GATEWAY[0], 40000, "sendonly")
    agent_hold = offer_sdp(phone.local[0], 42000, "sendonly")
    lab.net.at(lab.net.now, lambda: lab.do(gateway, "reinvite", call, caller_hold))
    lab.net.at(lab.net.now, lambda: lab.do(phone, "reinvite", incoming, agent_hold))
    lab.run(1)
    # The one that crossed ours got our 491; ours got the other party's 491 (RFC 3261
    # 14.1), which went back to the party whose re-INVITE it relayed.
    assert answers_to(trace, GATEWAY) == [b"SIP/2.0 491 Request Pending"]
    assert answers_to(trace, phone.local) == [b"SIP/2.0 491 Request Pending"]
    box = lab.box
    assert [leg.offer for leg in box.legs.dialogs.values()] == [OfferState.IDLE] * 2
    assert box.relay.pending == {}
    trace.clear()
    lab.do(phone, "reinvite", incoming, agent_hold)  # each tries again in turn
    lab.run(1)
    lab.do(gateway, "reinvite", call, caller_hold)
    lab.run(1)
    assert answers_to(trace, phone.local) == [b"SIP/2.0 200 OK"]
    assert answers_to(trace, GATEWAY) == [b"SIP/2.0 200 OK"]
    assert "reinvited" in kinds(gateway) and "reinvited" in kinds(phone)
    lab.do(gateway, "hangup", call)
    lab.settle()


def invite_answers(trace: list[Any]) -> list[bytes]:
    """The gateway's final answers to the appliance's (re-)INVITEs, in order."""
    return [data.split(b"\r\n", 1)[0] for _, source, _, data in trace
            if source == GATEWAY and data.startswith(b"SIP/2.0 ")
            and not data.startswith(b"SIP/2.0 1") and b" INVITE\r\n" in data]


def test_session_refresh_crossing_the_callers_reinvite_both_get_491_and_both_retry() -> None:
    lab = lab_of_parties_that_know_glare(media_timeout=300, session_expires=90, min_se=90)
    gateway, phone = lab.gateway, lab.phones["a1"]
    call = lab.do(gateway, "call", "100")
    lab.run(0.5)
    lab.do(phone, "answer", ringing(phone))
    lab.run(0.5)
    next(iter(lab.box.legs.callers.values())).allows_update = False  # refreshed by re-INVITE
    transmit = lab.net._transmit
    hold = offer_sdp(GATEWAY[0], 40000, "sendonly")
    held: list[float] = []

    def hold_as_our_refresh_leaves(source: Any, destination: Any, data: bytes) -> None:
        if destination == GATEWAY and data.startswith(b"INVITE ") and not held:
            held.append(lab.net.now)
            lab.net.at(lab.net.now, lambda: lab.do(gateway, "reinvite", call, hold))
        transmit(source, destination, data)

    lab.net._transmit = hold_as_our_refresh_leaves  # type: ignore[method-assign]
    trace = lab.net.trace = []
    lab.run(46)  # our refresh, half the 90 s in, crosses the caller's hold
    # RFC 3261 14.1: each side's re-INVITE meets the other's: both get 491.
    assert held and answers_to(trace, GATEWAY) == [b"SIP/2.0 491 Request Pending"]
    assert invite_answers(trace) == [b"SIP/2.0 491 Request Pending"]  # to our refresh
    trace.clear()
    lab.run(4)  # we try again 2.1 to 4 s later, and are answered
    assert invite_answers(trace) == [b"SIP/2.0 200 OK"]
    lab.do(gateway, "reinvite", call, hold)  # so does the caller
    lab.run(1)
    assert answers_to(trace, GATEWAY) == [b"SIP/2.0 200 OK"]
    assert causes(lab) == []
    lab.do(gateway, "hangup", call)
    lab.settle()


def test_bye_before_ack_of_our_200_ends_the_call() -> None:
    lab = lab_with_media()
    net = lab.net
    transmit = net._transmit
    acks_dropped = []

    def lose_the_callers_first_ack(source: Any, destination: Any, data: bytes) -> None:
        if source == GATEWAY and data.startswith(b"ACK ") and not acks_dropped:
            acks_dropped.append(data)
            return
        transmit(source, destination, data)

    net._transmit = lose_the_callers_first_ack  # type: ignore[method-assign]
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.2)  # answered while queued; its ACK is lost
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert acks_dropped
    assert causes(lab) == [EndCause.ABANDONED]
    assert "ended_by_peer" not in kinds(lab.phones["a1"])
    lab.settle()


def test_the_same_agent_rung_again_while_our_cancel_is_unanswered() -> None:
    lab = lab_with_media(ring_timeout=2)
    phone = lab.phones["a1"]
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    first = ringing(phone)
    lab.do(phone, "ring", first)
    lab.run(0.1)
    # The phone stops hearing us (a busy network): our CANCEL after the ring timeout is lost.
    deaf = deafen(lab, phone.local)
    lab.run(2)
    deaf[0] = False
    box = lab.box
    box.cc.agent_ready(lab.net.now, "a1")  # the agent is made ready at once
    box._pump(lab.net.now)
    lab.net.poke(APPLIANCE)
    lab.run(0.5)
    second = ringing(phone)
    assert second != first
    lab.do(phone, "answer", second)
    lab.run(0.5)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert phone.calls[second].state == "ended"  # BYE'd when the caller hung up
    assert phone.calls[first].state == "ended"  # the CANCEL got through in the end
    assert causes(lab) == [EndCause.CALLER_HANGUP]
    lab.settle()


def test_cancel_crossing_200_of_the_caller_is_too_late_and_the_call_goes_on() -> None:
    lab = lab_with_media()
    gateway = lab.gateway
    # The gateway gives up the moment it calls; the appliance answers (queued callers are
    # answered at once) before the CANCEL arrives.
    call = lab.do(gateway, "call", "100")
    lab.do(gateway, "hangup", call)
    lab.run(1)
    assert kinds(gateway)[-1] == "ended"  # the 200 came anyway: the gateway ACKed and BYE'd
    assert causes(lab) == [EndCause.ABANDONED]
    assert kinds(lab.phones["a1"]) in ([], ["incoming", "cancelled"])
    lab.settle()


def test_lost_ack_of_our_200_ends_the_call_after_64_t1() -> None:
    lab = CheckedLab(live_site(agents=1), media_for=media_plane(timeout=120))
    lab.register_all()
    acks = []

    def lose_every_ack(source: Any, destination: Any, data: bytes) -> bool:
        if source == GATEWAY and data.startswith(b"ACK "):
            acks.append(data)
            return True
        return False

    lose(lab, lose_every_ack)
    lab.do(lab.gateway, "call", "100")
    lab.run(31)
    assert causes(lab) == []  # still retransmitting the 200
    lab.run(9)  # the first retransmission time past 64*T1: BYE, and the call ends
    assert acks and causes(lab) == [EndCause.ABANDONED]
    assert "ended_by_peer" in kinds(lab.gateway)
    lab.settle()


def test_486_after_cancel_is_no_decline_of_the_agents_next_ring() -> None:
    lab = lab_with_media(ring_timeout=2)
    phone = lab.phones["a1"]
    lose(lab, lambda source, destination, data: (destination == phone.local
                                                 and data.startswith(b"CANCEL ")))
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    first = ringing(phone)
    lab.do(phone, "ring", first)
    lab.run(2)  # the ring times out; our CANCEL never reaches the phone
    box = lab.box
    box.cc.agent_ready(lab.net.now, "a1")  # rung again at once for the same call
    box._pump(lab.net.now)
    lab.net.poke(APPLIANCE)
    lab.run(0.5)
    second = ringing(phone)
    lab.do(phone, "reject", first)  # the first ring's 486 comes after our CANCEL
    lab.run(0.5)
    assert phone.calls[second].state == "incoming"  # the second ring goes on
    lab.do(phone, "answer", second)
    lab.run(0.5)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert phone.calls[second].state == "ended"
    assert causes(lab) == [EndCause.CALLER_HANGUP]
    lab.settle()


def test_an_invite_whose_cancel_is_never_answered_is_given_up() -> None:
    lab = lab_with_media(ring_timeout=2)
    phone = lab.phones["a1"]
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    lab.do(phone, "ring", ringing(phone))
    lab.run(0.1)
    deafen(lab, phone.local)  # the phone hears nothing more after its 180
    lab.run(2)
    assert lab.box.legs.invites_out  # CANCEL sent, no final response
    lab.do(lab.gateway, "hangup", call)
    lab.settle()  # 64*T1 after the CANCEL the INVITE is forgotten


# --- any interleaving ----------------------------------------------------------------------

STEPS = st.lists(
    st.tuples(st.sampled_from(["call", "caller_hangs_up", "ring", "answer", "reject",
                               "agent_hangs_up", "caller_reinvite", "agent_reinvite", "wait"]),
              st.integers(0, 3), st.sampled_from([0.0, 0.002, 0.005, 0.011, 0.3, 2.5])),
    max_size=25)


def live_calls(ua: UserAgent) -> list[Any]:
    """Calls `ua` can still act on (a call it CANCELled waits for the final response)."""
    return [c for c in ua.calls.values() if c.state != "ended" and not c.cancelled]


def _step(lab: CheckedLab, action: str, pick: int) -> None:
    gateway = lab.gateway
    phones = list(lab.phones.values())
    phone = phones[pick % len(phones)]
    if action == "call":
        lab.do(gateway, "call", "100")
        return
    own = live_calls(gateway if action.startswith("caller") else phone)
    if not own:
        return
    target = own[pick % len(own)]
    ua = gateway if action.startswith("caller") else phone
    if action in ("caller_hangs_up", "agent_hangs_up"):
        lab.do(ua, "hangup", target.id)
    elif action in ("ring", "answer", "reject") and target.state == "incoming":
        lab.do(ua, action, target.id)
    elif action.endswith("reinvite") and target.dialog is not None:
        direction = "sendonly" if pick % 2 else "sendrecv"
        lab.do(ua, "reinvite", target.id, offer_sdp(ua.local[0], 40000, direction))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(STEPS, st.integers(0, 2**16), st.sampled_from([0.0, 0.1]))
def test_any_interleaving_keeps_the_invariants_and_leaves_nothing_behind(
        steps: list[tuple[str, int, float]], seed: int, loss: float) -> None:
    lab = lab_with_media(agents=2, ring_timeout=3)
    lab.net.quality = LinkQuality(latency=0.005, jitter=0.004, loss=loss)
    lab.net.rng.seed(seed)
    for action, pick, wait in steps:
        _step(lab, action, pick)
        lab.run(wait)
    lab.net.quality = LinkQuality()  # the network heals; everyone hangs up
    for ua in (lab.gateway, *lab.phones.values()):
        for call in live_calls(ua):
            lab.do(ua, "hangup", call.id)
    lab.settle()
