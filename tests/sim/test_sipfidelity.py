"""SIP fidelity: a site's traffic through real SIP legs over a lossy simulated network."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from appliance.cli import _register_plugins, app
from appliance.config import resolve_site
from appliance.eventlog import record_to_json
from appliance.events import CallEnded, CallOffered, EndCause
from sim.sipfidelity import SipRunSpec, SipWorld, simulate_sip
from sim.sipnet import LinkQuality

LOSSY = LinkQuality(latency=0.02, jitter=0.01, loss=0.05)


def test_with_five_percent_loss_every_call_completes_through_retransmissions():
    world = SipWorld(resolve_site("small"), SipRunSpec(hours=3, seed=11, quality=LOSSY))
    log = world.run()
    world.drain(3600)  # no new calls after 3 h: let the last ones finish
    assert world.net.lost > 100  # the network really lost datagrams
    offered = {r.call for r in log if isinstance(r, CallOffered)}
    ended = Counter(r.cause for r in log if isinstance(r, CallEnded))
    assert len(offered) > 100
    assert sum(ended.values()) == len(offered)  # nothing left hanging
    # Only what callers and the trunks decide: no call lost to the network.
    assert set(ended) <= {EndCause.CALLER_HANGUP, EndCause.ABANDONED, EndCause.BLOCKED}
    assert ended[EndCause.CALLER_HANGUP] > 0.8 * len(offered)


def test_a_run_replays_exactly_from_its_seed():
    site = resolve_site("small")

    def run(seed: int) -> list[str]:
        return [record_to_json(r) for r in
                simulate_sip(site, SipRunSpec(hours=1, seed=seed, quality=LOSSY))]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_the_command_prints_the_same_report_in_sip_fidelity():
    _register_plugins()
    result = CliRunner().invoke(app, ["sim", "small", "--hours", "2", "--fidelity", "sip",
                                      "--loss", "0.05", "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    report = json.loads(result.stdout)["report"]
    assert report["center"]["offered"] > 0


def test_an_unknown_fidelity_is_refused():
    _register_plugins()
    result = CliRunner().invoke(app, ["sim", "small", "--fidelity", "packet"])
    assert result.exit_code != 0
    assert "--fidelity" in result.output


def test_a_site_with_gateway_ports_is_refused_with_the_reason(tmp_path):
    site = resolve_site("small").model_dump(mode="json", exclude_none=True)
    site["gateways"] = [{"name": "card", "profile": "fxo-4", "address": "127.0.0.1:5070",
                         "ports": [{"ports": "1-4", "trunk_group": "pstn"}]}]
    path = tmp_path / "ported.yaml"
    path.write_text(json.dumps(site))
    _register_plugins()
    result = CliRunner().invoke(app, ["sim", str(path), "--fidelity", "sip", "--hours", "0.1"])
    assert result.exit_code == 2
    assert "gateway ports (card (fxo-4))" in result.output
    assert "--fidelity call" in result.output
    with pytest.raises(ValueError, match="SIP fidelity does not drive ports"):
        SipWorld(resolve_site(str(path)), SipRunSpec(0.1, 1, LinkQuality()))
