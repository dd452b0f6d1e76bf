"""Campaigns in the site file, their list of numbers, and the errors a user sees for a wrong
entry (file, field, what was expected)."""

from pathlib import Path
from typing import Any

import pytest

from appliance.config import ConfigError, load_site

LIST = "number,name,order\n0301234567,Ada,A-1\n+4930555,Bob,A-2\n"


def with_campaign(site_data: dict[str, Any], folder: Path, text: str = LIST,
                  **campaign: Any) -> dict[str, Any]:
    folder.mkdir(exist_ok=True)
    (folder / "survey.csv").write_text(text, encoding="utf-8")
    site_data["trunk_groups"][1]["outbound"] = {"gateway": "192.0.2.9:5060"}
    queue = site_data["queues"][0]["name"]
    site_data["campaigns"] = [{"name": "survey", "list": "survey.csv", "trunk_group": "carrier",
                               "queue": queue, **campaign}]
    return site_data


def test_a_campaign_and_its_defaults(site_data, write_site, tmp_path) -> None:
    site = load_site(write_site(with_campaign(site_data, tmp_path / "sites")))
    campaign = site.campaigns[0]
    assert Path(campaign.list) == tmp_path / "sites" / "survey.csv"
    assert (campaign.ratio, campaign.max_rate, campaign.attempts, campaign.hours,
            campaign.start, campaign.weight) == (1.0, 0.0, 3, None, False, 1.0)
    assert campaign.retry_seconds() == {"no_answer": 3600.0, "busy": 600.0, "failed": 1800.0,
                                        "abandoned": 3600.0}


@pytest.mark.parametrize(("campaign", "path", "words"), [
    ({"ratio": 0.5}, "campaigns[0] (survey).ratio", [">= 1"]),
    ({"attempts": 0}, "campaigns[0] (survey).attempts", [">= 1"]),
    ({"weight": 0}, "campaigns[0] (survey).weight", ["> 0"]),
    ({"trunk_group": "lines"}, "campaigns[0] (survey).trunk_group", ["outbound", "'lines'"]),
    ({"queue": "nowhere"}, "campaigns[0] (survey).queue", ["'nowhere'"]),
    ({"flow": "menu"}, "campaigns[0] (survey)", ["exactly one of queue and flow"]),
    ({"hours": "office"}, "campaigns[0] (survey).hours", ["no schedule", "'office'"]),
    ({"retry": {"busy": -1}}, "campaigns[0] (survey).retry.busy", [">= 0"]),
    ({"do_not_call": ["12a"]}, "campaigns[0] (survey).do_not_call[0]", ["[0-9]"]),
    ({"model": {"answer_probability": 0.8, "busy_probability": 0.3}},
     "campaigns[0] (survey).model.busy_probability", ["<= 1"]),
])
def test_a_wrong_campaign_is_named(campaign, path, words, site_data, write_site,
                                   tmp_path) -> None:
    file = write_site(with_campaign(site_data, tmp_path / "sites", **campaign))
    _assert_named(file, path, words)


@pytest.mark.parametrize(("text", "words"), [
    ("phone,name\n123,Ada\n", ["survey.csv", "no column 'number'"]),
    ("number,name\n12x,Ada\n", ["survey.csv", "line 2", "'number'", "expected digits",
                                "'12x'"]),
    ("number\n123\n456\n123\n", ["line 4", "not listed before", "line 2"]),
    ("number,name\n123\n", ["line 2", "expected 2 values"]),
])
def test_a_wrong_list_is_named(text, words, site_data, write_site, tmp_path) -> None:
    file = write_site(with_campaign(site_data, tmp_path / "sites", text=text))
    _assert_named(file, "campaigns[0] (survey).list", words)


def _assert_named(file, path: str, words: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_site(file)
    assert str(caught.value).startswith(str(file))
    messages = [message for where, message in caught.value.problems if where == path]
    assert messages, caught.value.problems
    assert all(word in messages[0] for word in words), messages[0]
