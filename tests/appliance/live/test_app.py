"""`Appliance`: the live box's assembly. A reload is checked as the start is."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from appliance.config import ConfigError, parse_site
from appliance.live.app import Appliance
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
