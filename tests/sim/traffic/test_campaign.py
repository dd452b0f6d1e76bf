"""An outbound campaign in call fidelity: the simulated answer and busy rates match the
campaign's model, progressive dialing never has more calls ringing than free agents times the
ratio, and every number ends with one outcome."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import yaml

from appliance.config import Site, parse_site
from appliance.events import (
    CallEnded,
    CallOffered,
    CampaignAbandoned,
    CampaignAnswered,
    CampaignBusy,
    CampaignDialed,
    CampaignDone,
    CampaignNumberDone,
    Record,
)
from sim.world import RunSpec, World
from tests.factories import site_dict

NUMBERS = 1200
ANSWER, BUSY = 0.35, 0.15


def campaign_site(folder: Path, **campaign: object) -> Site:
    folder.joinpath("list.csv").write_text(
        "number,name\n" + "".join(f"0301{i:06d},n{i}\n" for i in range(NUMBERS)),
        encoding="utf-8")
    data = site_dict(agents=8, trunks=40, wrap_up=5, traffic={
        "calls_per_hour": 2,
        "call_types": [{"name": "general", "trunk_group": "pstn",
                        "talk_time": {"dist": "exponential", "mean": 60}}]})
    data["trunk_groups"][0]["outbound"] = {"gateway": "192.0.2.9:5060", "ring_timeout": 25}
    data["campaigns"] = [{
        "name": "reminder", "list": str(folder / "list.csv"), "trunk_group": "pstn",
        "queue": "service", "ratio": 1.5, "attempts": 1,
        "model": {"answer_probability": ANSWER, "busy_probability": BUSY,
                  "ring_time": {"dist": "uniform", "low": 3, "high": 12},
                  "talk_time": {"dist": "exponential", "mean": 50}},
        **campaign}]
    return parse_site(yaml.safe_dump(data), source="<test>")


def within_95(hits: int, trials: int, p: float) -> bool:
    return abs(hits / trials - p) <= 1.96 * math.sqrt(p * (1 - p) / trials)


def test_the_answer_and_busy_rates_match_the_model_within_the_95_interval(tmp_path) -> None:
    log = World(campaign_site(tmp_path), RunSpec(hours=6, seed=11)).run()
    kinds = Counter(type(r) for r in log)
    dialed = kinds[CampaignDialed]
    assert dialed == NUMBERS
    answered = kinds[CampaignAnswered] + kinds[CampaignAbandoned]
    assert within_95(answered, dialed, ANSWER), answered / dialed
    assert within_95(kinds[CampaignBusy], dialed, BUSY), kinds[CampaignBusy] / dialed
    done = Counter(r.number for r in log if type(r) is CampaignNumberDone)
    assert len(done) == NUMBERS and set(done.values()) == {1}
    assert kinds[CampaignDone] == 1


def test_progressive_dialing_rings_no_more_than_free_agents_times_the_ratio(tmp_path) -> None:
    world = World(campaign_site(tmp_path, attempts=2), RunSpec(hours=3, seed=5))
    dialing = world.campaigns[0]
    seen: list[tuple[int, int]] = []

    def dialed(_record: Record) -> None:
        seen.append((dialing.dialer.ringing, world.core.free_agents("service")))

    world.log.subscribe(dialed, (CampaignDialed,))
    log = world.run()
    assert len(seen) > NUMBERS / 2
    assert all(ringing <= math.floor(free * 1.5) for ringing, free in seen)
    # Answered calls reach agents: offered to the queue from the listed number, and ended.
    offered = {r.call for r in log if type(r) is CallOffered and r.dnis == "campaign:reminder"}
    ended = {r.call for r in log if type(r) is CallEnded}
    assert offered and offered <= ended
    assert world.core.trunks.busy["pstn"] == 0
