"""The example sites shipped in appliance/sites load and say what the reference sites say."""

from pathlib import Path

import pytest
import yaml

from appliance.config import (
    BUILTIN_SITES,
    ConfigError,
    Site,
    builtin_site_path,
    load_site,
    parse_site,
    resolve_site,
)


@pytest.mark.parametrize("name", BUILTIN_SITES)
def test_example_loads_by_path_and_by_name(name: str) -> None:
    path = builtin_site_path(name)
    assert path.is_file()
    site = load_site(path)
    assert site.site == name
    assert resolve_site(name) == site
    assert resolve_site(str(path)) == site


def test_small_site_has_four_analog_trunks_and_sixteen_agents() -> None:
    site = resolve_site("small")
    assert [(g.kind, g.channels) for g in site.trunk_groups] == [("analog", 4)]
    agents = site.expanded_agents()
    assert [a.id for a in agents] == [str(n) for n in range(1001, 1017)]
    assert {a.name for a in agents[:8]} == {f"Team A {n}" for n in range(1001, 1009)}


def test_medium_site_has_sixteen_trunks_and_three_skill_groups() -> None:
    site = resolve_site("medium")
    assert sum(g.channels for g in site.trunk_groups) == 16
    assert {q.required_skill for q in site.queues} == {"sales", "support", "billing"}
    multi_skilled = [a for a in site.expanded_agents() if len(a.skills) > 1]
    assert multi_skilled


def test_digital_site_has_one_e1_and_forty_five_seats() -> None:
    site = resolve_site("digital")
    assert [(g.kind, g.channels, g.spans) for g in site.trunk_groups] == [("e1", 30, 1)]
    assert len(site.expanded_agents()) == 45
    overflows = [q.on_max_wait for q in site.queues if q.on_max_wait.action == "queue"]
    assert [o.target for o in overflows] == ["hotline"]


@pytest.mark.parametrize("name", BUILTIN_SITES)
def test_example_profile_covers_the_working_day(name: str) -> None:
    # Each example's profile is one value per interval of its opening hours: a run of that
    # length must not wrap round into the morning again.
    site = resolve_site(name)
    assert site.traffic is not None
    latest_shift_end = max(
        a.shift.start + a.shift.duration for a in site.expanded_agents() if a.shift
    )
    traffic = site.traffic
    profile_end = traffic.start + len(traffic.profile) * traffic.interval_minutes * 60
    assert profile_end == latest_shift_end


@pytest.mark.parametrize("name", BUILTIN_SITES)
def test_example_round_trips_through_its_dump(name: str) -> None:
    site = resolve_site(name)
    assert Site.model_validate(site.model_dump()) == site
    text = yaml.safe_dump(site.model_dump(mode="json"), sort_keys=False)
    assert parse_site(text) == site


def test_unknown_builtin_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        builtin_site_path("huge")
    assert "small, small-ivr, medium, digital" in str(caught.value)


def test_resolve_site_rejects_a_name_that_is_neither_file_nor_builtin(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigError) as caught:
        resolve_site(str(missing))
    assert caught.value.source == str(missing)
    assert "built-in sites: small, small-ivr, medium, digital" in str(caught.value)


def test_a_file_path_wins_over_a_builtin_name(tmp_path: Path, monkeypatch) -> None:
    text = builtin_site_path("small").read_text(encoding="utf-8").replace(
        "site: small", "site: local-copy")
    (tmp_path / "small").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert resolve_site("small").site == "local-copy"
