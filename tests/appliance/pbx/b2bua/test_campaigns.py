"""Outbound campaigns over a simulated network with the media anchored: the harness's gateway
is the trunk's route out the campaign dials through (`GATEWAY`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appliance.config import Site
from appliance.events import (
    CallEnded,
    CallOffered,
    CampaignAbandoned,
    CampaignDialed,
    CampaignFailed,
    CampaignStarted,
    CampaignStopped,
    OutsideCallEnded,
)
from appliance.pbx.features.campaign import Contact, Past
from tests.appliance.pbx.b2bua.harness import APPLIANCE, GATEWAY, Lab, live_site, media_plane

ROUTE = {"gateway": f"{GATEWAY[0]}:{GATEWAY[1]}", "ring_timeout": 20}
NUMBERS = ["5550001", "5550002"]


def campaign_site(tmp_path: Path, start: bool = True, **campaign: Any) -> Site:
    listed = tmp_path / "numbers.csv"
    listed.write_text("number,name\n" + "".join(f"{n},n{n}\n" for n in NUMBERS))
    spec = {"name": "spring", "list": str(listed), "trunk_group": "pstn", "queue": "service",
            "attempts": 2, "retry": {"busy": 5, "no_answer": 5, "failed": 5, "abandoned": 5},
            "start": start, **campaign}
    return live_site(agents=1, trunk={"outbound": ROUTE}, more={"campaigns": [spec]})


def started(site: Site) -> Lab:
    lab = Lab(site, media_for=media_plane())
    lab.register_all()
    run_campaigns(lab)
    return lab


def run_campaigns(lab: Lab) -> None:
    lists = {"spring": [Contact(n, {"name": f"n{n}"}) for n in NUMBERS]}
    lab.box.run_campaigns(lists, lab.net.now)
    lab.net.poke(APPLIANCE)
    lab.run(0.5)


def incoming(ua):
    return next((c for c in ua.calls.values() if c.state == "incoming"), None)


def dialed(lab: Lab) -> list[str]:
    return [r.number for r in lab.log if isinstance(r, CampaignDialed)]


def test_an_answered_customer_hears_music_until_the_agent_answers_and_frees_all_at_the_end(
        tmp_path: Path) -> None:
    lab = started(campaign_site(tmp_path))
    assert dialed(lab) == ["5550001"]  # one free agent: one call at a time
    far = incoming(lab.gateway)
    assert far is not None and far.invite.uri == f"sip:5550001@{GATEWAY[0]}:{GATEWAY[1]}"
    lab.do(lab.gateway, "answer", far.id)
    lab.run(0.5)
    [offered] = [r for r in lab.log if isinstance(r, CallOffered)]
    assert (offered.ani, offered.dnis) == ("5550001", "campaign:spring")
    assert lab.box.media.playing(offered.call) == "music"
    assert lab.box.cc.calls[offered.call].variables == {"name": "n5550001"}
    phone = lab.phones["a1"]
    ringing = incoming(phone)
    assert ringing is not None
    lab.do(phone, "answer", ringing.id)
    lab.run(1)
    assert lab.box.cc.acd.agents["a1"].state.value == "talking"
    assert dialed(lab) == ["5550001"]  # the agent is busy: nothing more
    lab.do(lab.gateway, "hangup", far.id)
    lab.run(1)
    assert [r.cause for r in lab.log if isinstance(r, OutsideCallEnded)] == ["far_hangup"]
    assert [r.cause.value for r in lab.log if isinstance(r, CallEnded)] == ["caller_hangup"]
    assert dialed(lab) == ["5550001", "5550002"]  # the agent is free again
    lab.do(lab.gateway, "reject", incoming(lab.gateway).id, 503, "Service Unavailable")
    lab.run(1)
    assert [(r.number, r.cause) for r in lab.log if isinstance(r, CampaignFailed)] == [
        ("5550002", "failed")]
    assert not lab.box.media.calls
    assert lab.box.cc.trunks.busy["pstn"] == 0


def test_a_customer_answering_when_no_agent_is_free_is_hung_up_and_tried_again(
        tmp_path: Path) -> None:
    lab = started(campaign_site(tmp_path))
    far = incoming(lab.gateway)
    assert far is not None
    lab.do(lab.phones["a1"], "call", "*44")  # the agent goes on a break while it rings
    lab.run(1)
    lab.do(lab.gateway, "answer", far.id)
    lab.run(1)
    assert [r.number for r in lab.log if isinstance(r, CampaignAbandoned)] == ["5550001"]
    assert lab.gateway.calls[far.id].state == "ended"  # our BYE
    assert not [r for r in lab.log if isinstance(r, CallOffered)]
    assert not lab.box.media.calls
    lab.do(lab.phones["a1"], "call", "*43")  # ready again
    lab.run(1)
    assert dialed(lab) == ["5550001", "5550002"]
    lab.do(lab.gateway, "reject", incoming(lab.gateway).id, 486, "Busy Here")
    lab.run(5)
    assert dialed(lab)[2] == "5550001"  # retried 5 s after it was abandoned


def test_a_reload_starts_and_stops_a_campaign_as_the_site_says(tmp_path: Path) -> None:
    site = campaign_site(tmp_path, start=False)
    lab = started(site)
    assert dialed(lab) == [] and not lab.gateway.calls
    lab.box.reload(campaign_site(tmp_path), lab.net.now)
    run_campaigns(lab)
    assert dialed(lab) == ["5550001"]
    lab.box.reload(site, lab.net.now)
    run_campaigns(lab)
    far = incoming(lab.gateway)
    assert far is not None
    lab.do(lab.gateway, "reject", far.id, 486, "Busy Here")
    lab.run(10)
    assert dialed(lab) == ["5550001"]  # stopped: no retry, nothing more
    assert [type(r) for r in lab.log if isinstance(r, (CampaignStarted, CampaignStopped))] == [
        CampaignStarted, CampaignStopped]


def test_two_campaigns_on_one_queue_share_its_one_free_agent(tmp_path: Path) -> None:
    site = campaign_site(tmp_path)
    second = site.campaigns[0].model_copy(update={"name": "autumn"})
    site = site.model_copy(update={"campaigns": [site.campaigns[0], second]})
    lab = Lab(site, media_for=media_plane())
    lab.register_all()
    contacts = [Contact(n, {}) for n in NUMBERS]
    lab.box.run_campaigns({"spring": contacts, "autumn": contacts}, lab.net.now)
    lab.net.poke(APPLIANCE)
    lab.run(0.5)
    assert [(r.campaign, r.number) for r in lab.log if isinstance(r, CampaignDialed)] == [
        ("spring", "5550001")]


def test_a_campaign_started_with_its_past_calls_only_the_numbers_not_done(
        tmp_path: Path) -> None:
    lab = Lab(campaign_site(tmp_path), media_for=media_plane())
    lab.register_all()
    lists = {"spring": [Contact(n, {}) for n in NUMBERS]}
    past = {"spring": {"5550001": Past(1, "connected", -60.0, True),
                       "5550002": Past(1, "busy", -60.0, False)}}
    lab.box.run_campaigns(lists, lab.net.now, past)
    lab.net.poke(APPLIANCE)
    lab.run(0.5)
    assert [(r.number, r.attempt) for r in lab.log if isinstance(r, CampaignDialed)] == [
        ("5550002", 2)]
