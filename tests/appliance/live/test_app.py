"""`Appliance`: the live box's assembly. A reload is checked as the start is."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from appliance.config import ConfigError, parse_site
from appliance.live.app import Appliance
from appliance.live.preflight import preflight
from appliance.live.prompt_build import ensure_default_prompts
from appliance.state import StateFolder
from tests.factories import site_dict


def _site_with_prompts(folder: Path):
    data = site_dict()
    data["media"] = {"prompts": str(folder)}
    return parse_site(yaml.safe_dump(data), source="site.yaml")


def test_a_reload_naming_a_prompts_folder_that_lacks_a_prompt_is_refused_naming_it(
        tmp_path: Path) -> None:
    folder = tmp_path / "prompts"
    shutil.copytree(ensure_default_prompts("en"), folder)
    (folder / "welcome.wav").unlink()
    box = Appliance(StateFolder(tmp_path / "state"))
    with pytest.raises(ConfigError) as refused:
        box.reload(_site_with_prompts(folder))
    assert "media.prompts" in str(refused.value) and "welcome.wav" in str(refused.value)


def test_a_reload_naming_a_prompts_folder_that_is_not_there_is_refused(tmp_path: Path) -> None:
    box = Appliance(StateFolder(tmp_path / "state"))
    with pytest.raises(ConfigError, match="is not a folder"):
        box.reload(_site_with_prompts(tmp_path / "nowhere"))


def _site_with_seeded_lookup(seed: Path):
    data = site_dict()
    data["ivr"] = {
        "lookups": {"crm": {"kind": "sqlite", "database": "crm.db", "table": "customers",
                            "key": "phone", "fields": ["name"], "seed": str(seed)}},
        "flows": [{"name": "main", "start": "find", "nodes": [
            {"name": "find", "kind": "access_db", "lookup": "crm", "key": "${ANI}",
             "found": "bye", "not_found": "bye"},
            {"name": "bye", "kind": "hang_up", "prompts": "goodbye"}]}],
    }
    return parse_site(yaml.safe_dump(data), source="site.yaml")


def test_a_seeded_lookup_is_no_problem_before_and_is_built_by_a_reload(tmp_path: Path) -> None:
    seed = tmp_path / "customers.csv"
    seed.write_text("phone,name\n13800000000,Ada\n", encoding="utf-8")
    site = _site_with_seeded_lookup(seed)
    state = StateFolder(tmp_path / "state")
    state.make()
    assert preflight(site, state).problems == []
    assert not (state.root / "crm.db").exists()  # the check writes nothing
    Appliance(state).reload(site)
    assert (state.root / "crm.db").is_file()


def test_a_reload_whose_seed_repeats_a_key_is_refused_naming_the_line(tmp_path: Path) -> None:
    seed = tmp_path / "customers.csv"
    seed.write_text("phone,name\n1,Ada\n1,Bo\n", encoding="utf-8")
    state = StateFolder(tmp_path / "state")
    with pytest.raises(ConfigError, match=r"ivr\.lookups\.crm: seed: .*line 3: the phone '1'"):
        Appliance(state).reload(_site_with_seeded_lookup(seed))
    assert not (state.root / "crm.db").exists()
