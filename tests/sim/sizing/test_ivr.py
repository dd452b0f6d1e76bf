"""`ccbox size` and the IVR: its figures measured from a site's own flows, the time callers
spend in it before the queue counted on the trunks, options that still win, and sites
without flows sized exactly as before."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance.config import Site, parse_site
from sim.sizing.formulas import answer_interval
from sim.sizing.inputs import SizingInputs
from sim.sizing.ivr import MIN_HOURS, measure_ivr, routes_into_flows
from sim.sizing.simulate import interval_site
from sim.world import World
from tests.factories import site_dict
from tests.sim.sizing.test_size import run
from tests.sim.traffic.test_ivr import BYE, DELAY, FLOW, MENU, PROMPTS, TIMING

SELF_SERVICE = 0.3  # of the callers, those who press 1 for their balance (and hang up)


def flow_site_dict(caller: dict[str, Any] | None = None) -> dict[str, Any]:
    """A site whose one route sends every call into a menu: 1 for self-service, 2 for the
    queue; its callers press 1 with SELF_SERVICE's probability, else 2, DELAY after the menu."""
    call_type = {"name": "general", "trunk_group": "pstn",
                 "talk_time": {"dist": "exponential", "mean": 60},
                 "patience": {"dist": "fixed", "value": 600},
                 "ivr": caller or {"choices": {"main.menu": {"1": SELF_SERVICE,
                                                             "2": 1 - SELF_SERVICE}},
                                   "key_delay": {"dist": "fixed", "value": DELAY}}}
    data = site_dict(agents=10, trunks=20,
                     traffic={"calls_per_hour": 300, "call_types": [call_type]})
    data["routes"] = [{"trunk_group": "pstn", "flow": "main"}]
    data["ivr"] = {"prompts": PROMPTS, "flows": [FLOW]}
    return data


def parsed(data: dict[str, Any]) -> Site:
    return parse_site(yaml.safe_dump(data), source="<test>")


def site_file(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


# --- the measurement ----------------------------------------------------------------------


def test_the_self_service_share_and_the_times_are_those_the_flow_and_callers_make():
    figures = measure_ivr(parsed(flow_site_dict()), hours=20, seed=2, timing=TIMING)
    assert figures.calls > 5000
    sigma = math.sqrt(SELF_SERVICE * (1 - SELF_SERVICE) / figures.calls)
    assert abs(figures.share - SELF_SERVICE) <= 3 * sigma + 0.0005  # the share's rounding
    assert figures.share_half_width == pytest.approx(1.96 * sigma, abs=0.001)
    # By hand: the menu plays (no barge-in), the key comes DELAY later; 1 hears goodbye.
    assert figures.seconds == pytest.approx(MENU + DELAY + BYE)
    assert figures.queue_seconds == pytest.approx(MENU + DELAY)


def test_callers_who_hang_up_in_the_ivr_never_reach_agents():
    caller = {"choices": {"main.menu": {"1": 0.0}},  # nobody presses: the menu waits
              "patience": {"dist": "fixed", "value": 1.0}}
    figures = measure_ivr(parsed(flow_site_dict(caller)), hours=2, seed=1, timing=TIMING)
    assert figures.share == 1.0
    assert figures.seconds == pytest.approx(1.0)


def test_calls_routed_straight_to_a_queue_go_on_to_agents_with_no_ivr_time():
    data = flow_site_dict()
    data["trunk_groups"].append({"name": "lines", "kind": "sip", "channels": 20})
    data["routes"].append({"trunk_group": "lines", "queue": "service"})
    straight = {**data["traffic"]["call_types"][0], "name": "direct", "trunk_group": "lines"}
    data["traffic"]["call_types"].append(straight)
    for call_type in data["traffic"]["call_types"]:
        call_type["share"] = 0.5
    figures = measure_ivr(parsed(data), hours=20, seed=2, timing=TIMING)
    # Half the calls meet the menu: half the share, and the menu's time spread over twice
    # the calls that go on.
    going_on = (1 - SELF_SERVICE) / 2
    assert figures.share == pytest.approx(SELF_SERVICE / 2, abs=0.02)
    assert figures.seconds == pytest.approx(MENU + DELAY + BYE)
    expected = going_on * (MENU + DELAY) / (going_on + 0.5)
    assert figures.queue_seconds == pytest.approx(expected, abs=0.2)


def test_calls_routing_sends_away_count_neither_way():
    data = flow_site_dict()
    data["trunk_groups"].append({"name": "lines", "kind": "sip", "channels": 20})
    data["routes"].append({"trunk_group": "lines", "prompt": "closed"})
    late = {**data["traffic"]["call_types"][0], "name": "late", "trunk_group": "lines"}
    data["traffic"]["call_types"].append(late)
    for call_type in data["traffic"]["call_types"]:
        call_type["share"] = 0.5
    figures = measure_ivr(parsed(data), hours=20, seed=2, timing=TIMING)
    # Only the menu's calls count: the closed line's do not dilute the share or the time.
    sigma = math.sqrt(SELF_SERVICE * (1 - SELF_SERVICE) / figures.calls)
    assert abs(figures.share - SELF_SERVICE) <= 3 * sigma + 0.0005
    assert figures.queue_seconds == pytest.approx(MENU + DELAY)


def test_only_routes_into_flows_call_for_a_measurement():
    assert routes_into_flows(parsed(flow_site_dict()))
    data = flow_site_dict()
    data["routes"] = [{"trunk_group": "pstn", "queue": "service"}]  # the IVR is unused
    assert not routes_into_flows(parsed(data))


# --- the trunks ---------------------------------------------------------------------------


@pytest.mark.parametrize("share", [0.0, 0.3])
def test_trunk_sizing_grows_with_the_time_callers_spend_in_the_ivr_before_the_queue(share):
    plain = SizingInputs(calls_per_hour=(600,), aht=180, ivr_share=share, trunks=40)
    loads, trunks, channels = [], [], []
    for seconds in (0.0, 20.0, 60.0, 180.0):
        inputs = plain.model_copy(update={"ivr_queue_seconds": seconds})
        answer = answer_interval(inputs, 0, 600)
        loads.append(answer.trunk_load)
        trunks.append(answer.trunks)
        channels.append(interval_site(inputs, 600, 20).trunk_groups[0].channels)
        # The agents' side does not change: the IVR holds a trunk, not an agent.
        assert answer.erlang_c == answer_interval(plain, 0, 600).erlang_c
    assert loads == sorted(set(loads))
    # 600 calls an hour, 70 % or all of them going on: 180 s each is 21 or 30 Erlangs more.
    assert loads[-1] - loads[0] == pytest.approx(600 * (1 - share) * 180 / 3600)
    assert trunks == sorted(trunks) and trunks[-1] > trunks[0]
    # The simulated site keeps fewer trunks for the queue's calls: the IVR holds the rest.
    assert channels == sorted(channels, reverse=True) and channels[-1] < channels[0]


def test_the_measured_time_before_the_queue_adds_trunks(tmp_path):
    path = site_file(tmp_path, flow_site_dict())
    code, out, err = run(path, "--no-simulate", "--json")
    assert code == 0, err
    measured = json.loads(out)
    code, out, err = run(path, "--no-simulate", "--json", "--ivr-queue-seconds", "0")
    assert code == 0, err
    ignored = json.loads(out)
    time_there = measured["inputs"]["ivr_queue_seconds"]
    assert time_there > 0
    assert measured["intervals"][0]["trunk_load"] > ignored["intervals"][0]["trunk_load"]
    assert any(f"spend {time_there:g} s in the IVR first" in note
               for note in measured["intervals"][0]["notes"])


# --- the command --------------------------------------------------------------------------


def test_size_uses_the_figures_measured_from_the_sites_flows_and_says_so(tmp_path):
    path = site_file(tmp_path, flow_site_dict())
    code, out, err = run(path, "--no-simulate", "--json", "--hours", "12")
    assert code == 0, err
    document = json.loads(out)
    ivr, inputs = document["ivr"], document["inputs"]
    measured = ivr["measured"]
    assert ivr["sources"] == dict.fromkeys(("ivr_share", "ivr_seconds", "ivr_queue_seconds"),
                                           "measured")
    assert (inputs["ivr_share"], inputs["ivr_seconds"], inputs["ivr_queue_seconds"]) == (
        measured["share"], measured["seconds"], measured["queue_seconds"])
    assert abs(measured["share"] - SELF_SERVICE) < 3 * measured["share_half_width"]
    assert measured["hours"] == 12 and measured["calls"] > 3000
    assert f"measured from the site's flows over {measured['calls']} simulated calls" in (
        ivr["note"])
    assert any("of calls end in the IVR" in note for note in document["intervals"][0]["notes"])
    code, out, err = run(path, "--no-simulate")
    assert code == 0, err
    assert "measured from the site's flows over" in " ".join(out.split())


def test_an_option_given_overrides_the_measured_figure(tmp_path):
    path = site_file(tmp_path, flow_site_dict())
    code, out, err = run(path, "--no-simulate", "--json", "--ivr-share", "0.5",
                         "--ivr-seconds", "90")
    assert code == 0, err
    document = json.loads(out)
    inputs, ivr = document["inputs"], document["ivr"]
    assert (inputs["ivr_share"], inputs["ivr_seconds"]) == (0.5, 90)
    assert inputs["ivr_queue_seconds"] == ivr["measured"]["queue_seconds"]
    assert ivr["measured"]["hours"] == MIN_HOURS  # never fewer, whatever --hours says
    assert ivr["sources"] == {"ivr_share": "given", "ivr_seconds": "given",
                              "ivr_queue_seconds": "measured"}
    assert "--ivr-share, --ivr-seconds given (the site's flows measured" in ivr["note"]
    assert "the rest measured over" in ivr["note"]


def test_the_report_says_where_the_ivr_figures_came_from(tmp_path):
    path = site_file(tmp_path, flow_site_dict())
    code, _, err = run(path, "--no-simulate", "--report", str(tmp_path / "report"))
    assert code == 0, err
    page = " ".join((tmp_path / "report" / "index.html").read_text().split())
    assert "measured from the site&#39;s flows over" in page or (
        "measured from the site's flows over" in page)
    assert "Time in the IVR before the queue" in page


def test_a_site_without_flows_is_sized_as_before(monkeypatch: pytest.MonkeyPatch):
    def no_simulation(*_args, **_kwargs):
        raise AssertionError("a site without flows was simulated")

    monkeypatch.setattr(World, "run", no_simulation)
    code, out, err = run("small", "--no-simulate", "--json", "--ivr-share", "0.2")
    assert code == 0, err
    document = json.loads(out)
    assert "ivr" not in document
    assert "ivr_queue_seconds" not in document["inputs"]
    inputs = SizingInputs(calls_per_hour=(240,), ivr_share=0.2, ivr_seconds=45)
    # The trunks' load as it always was: the IVR's calls, then the agents' wait and talk.
    answer = answer_interval(inputs, 0, 240)
    assert answer.trunk_load == 240 * 0.2 / 3600 * 45 + 240 * 0.8 / 3600 * (
        answer.erlang_c_asa + 180)
    code, out, err = run("small", "--no-simulate")
    assert code == 0, err
    assert "IVR:" not in out
