"""The IVR's prompts on the box: the site's texts built once into the state folder and again
when a text changes, the prompts each flow node plays, and what a site's own folder must hold."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance.config import parse_site
from appliance.config.ivr import Ivr
from appliance.live import prompt_build
from appliance.live.ivr_prompts import (
    PromptTimes,
    ensure_ivr_prompts,
    flow_prompts,
    prompt_sets,
    spoken_languages,
)
from appliance.live.preflight import preflight
from appliance.live.prompt_build import (
    STAMP,
    builder_stamp,
    ensure_default_prompts,
    is_current,
    tools_available,
)
from appliance.media.prompts import NUMBER_WORDS
from appliance.state import StateFolder
from tests.factories import site_dict

needs_tools = pytest.mark.skipif(not tools_available(), reason="espeak-ng and sox not installed")

PROMPTS = {"menu": {"en": "For sales press 1.", "zh": "销售请按一。"},
           "balance": {"en": "Your balance is", "zh": "您的余额是"}}
FLOW = {"name": "main", "start": "lang", "nodes": [
    {"name": "lang", "kind": "select_language", "prompts": "menu",
     "languages": {"1": "en", "2": "zh"}, "default": "menu", "next": "menu"},
    {"name": "menu", "kind": "play_option", "prompts": "menu",
     "options": {"1": "read"}, "default": "bye"},
    {"name": "read", "kind": "play_number", "prompts": "balance", "value": "${ANI}",
     "say_as": "integer", "next": "bye"},
    {"name": "bye", "kind": "hang_up", "prompts": "goodbye"},
]}


def ivr_data() -> dict[str, Any]:
    return {"prompts": PROMPTS, "flows": [FLOW]}


def menu_only(text: str) -> Ivr:
    flow = {"name": "main", "start": "menu",
            "nodes": [{"name": "menu", "kind": "play_only", "prompts": "menu", "next": "bye"},
                      {"name": "bye", "kind": "hang_up"}]}
    return Ivr.model_validate({"prompts": {"menu": {"en": text}}, "flows": [flow]})


def ivr_site(media: dict[str, Any] | None = None) -> Any:
    data = site_dict()
    data["routes"] = [{"trunk_group": "pstn", "flow": "main"}]
    data["ivr"] = ivr_data()
    if media is not None:
        data["media"] = media
    return parse_site(yaml.safe_dump(data), source="site.yaml")


def test_the_languages_spoken_are_the_sites_and_those_a_flow_offers() -> None:
    assert spoken_languages(ivr_site()) == ["en", "zh"]


def test_each_prompt_is_listed_with_the_nodes_that_play_it() -> None:
    needed = flow_prompts(Ivr.model_validate(ivr_data()), "zh")
    assert needed["menu"] == ["flow main, node lang", "flow main, node menu"]
    assert needed["goodbye"] == ["flow main, node bye"]
    # PLAY NUMBER reads the value out with the language's digits and number words.
    assert needed["digit-7"] == needed["num-ten-thousand"] == ["flow main, node read"]
    assert set(NUMBER_WORDS["zh"]) <= set(needed)


def test_a_sites_own_folder_must_hold_what_its_flows_play_in_each_language(
        tmp_path: Path) -> None:
    own = tmp_path / "own"
    shutil.copytree(ensure_default_prompts("en"), own)
    (own / "zh").mkdir()
    site = ivr_site({"prompts": str(own)})
    problems = preflight(site, StateFolder(tmp_path / "state")).problems
    assert [where for where, _ in problems] == ["media.prompts", "media.prompts"]
    english, chinese = (message for _, message in problems)
    assert english == (f"{own} lacks menu.wav (flow main, node lang; flow main, node menu); "
                       "balance.wav (flow main, node read)")  # the rest is the default set's
    assert chinese.startswith(f"{own / 'zh'} lacks menu.wav (flow main, node lang; ")
    assert "digit-9.wav, num-10.wav" in chinese and "goodbye.wav (flow main, node bye)" in chinese


@needs_tools
def test_the_sites_texts_are_built_once_and_again_when_a_text_changes(tmp_path: Path) -> None:
    ivr = menu_only("For sales press 1.")
    [menu] = ensure_ivr_prompts(ivr, tmp_path)
    assert menu == tmp_path / "en" / "menu.wav"
    assert ensure_ivr_prompts(ivr, tmp_path) == []  # nothing changed: nothing built
    changed = menu_only("For support press 2.")
    assert ensure_ivr_prompts(changed, tmp_path) == [menu]
    menu.unlink()
    assert ensure_ivr_prompts(changed, tmp_path) == [menu]


@pytest.mark.slow
@needs_tools
def test_the_sites_prompts_play_over_the_default_set_and_time_the_ivr(tmp_path: Path) -> None:
    sets = prompt_sets(ivr_site(), tmp_path)
    assert sorted(sets) == ["en", "zh"]
    times = PromptTimes(sets)
    menu = times(["menu"], "en")
    assert 0.5 < menu < 5.0
    assert times(["menu", "goodbye"], "en") == pytest.approx(
        menu + sets["en"].duration(["goodbye"]))
    assert (tmp_path / "site" / "zh" / "menu.wav").is_file()


@pytest.mark.slow
@needs_tools
def test_default_prompts_an_older_builder_made_are_built_again_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = ensure_default_prompts("en", tmp_path)
    assert is_current(folder, "en")
    (folder / STAMP).write_text("1 en\n")  # as an older builder left it
    welcome = folder / "welcome.wav"
    welcome.write_bytes(b"old")
    monkeypatch.setattr(prompt_build, "tools_available", lambda: False)
    ensure_default_prompts("en", tmp_path)
    assert welcome.read_bytes() == b"old"  # no tool to build anew: the old set is kept
    monkeypatch.undo()
    ensure_default_prompts("en", tmp_path)
    assert welcome.read_bytes() != b"old"
    assert (folder / STAMP).read_text() == builder_stamp("en")
    built = welcome.stat().st_mtime_ns
    ensure_default_prompts("en", tmp_path)
    assert welcome.stat().st_mtime_ns == built  # once


def test_a_sites_own_folder_needs_the_closed_prompt_only_if_a_route_plays_it(
        tmp_path: Path) -> None:
    own = tmp_path / "own"
    shutil.copytree(ensure_default_prompts("en"), own)
    (own / "closed.wav").unlink()
    data = site_dict()
    data["media"] = {"prompts": str(own)}
    assert preflight(parse_site(yaml.safe_dump(data), source="site.yaml"),
                     StateFolder(tmp_path / "state")).problems == []
    data["routes"] = [{"trunk_group": "pstn", "prompt": "closed"}]
    problems = preflight(parse_site(yaml.safe_dump(data), source="site.yaml"),
                         StateFolder(tmp_path / "state")).problems
    assert problems == [("media.prompts", f"{own} lacks closed.wav (routes[0])")]
