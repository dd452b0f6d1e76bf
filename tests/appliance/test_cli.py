"""`ccbox check`, as a user runs it before a reload."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from appliance.cli import app
from tests.factories import site_dict

runner = CliRunner()


def write(path: Path, data: dict) -> str:
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_check_against_the_running_file_prints_what_a_reload_changes(tmp_path: Path) -> None:
    running = write(tmp_path / "running.yaml", site_dict(agents=2))
    data = site_dict(agents=3)
    data["media"] = {"rtp_port_min": 30000, "rtp_port_max": 40000}
    new = write(tmp_path / "new.yaml", data)
    result = runner.invoke(app, ["check", new, "--against", running])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("test: valid")
    assert lines[1:] == ["reload applies: agents: added a3 (may log in)",
                         "needs a restart: media.rtp_port_min: 10000 -> 30000",
                         "needs a restart: media.rtp_port_max: 20000 -> 40000"]


def test_check_against_an_identical_file_says_nothing_changes(tmp_path: Path) -> None:
    running = write(tmp_path / "running.yaml", site_dict())
    result = runner.invoke(app, ["check", running, "--against", running])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "a reload changes nothing"


def test_an_invalid_new_file_fails_with_status_2_and_names_the_field(tmp_path: Path) -> None:
    running = write(tmp_path / "running.yaml", site_dict())
    data = site_dict(trunks=0)
    new = write(tmp_path / "new.yaml", data)
    result = runner.invoke(app, ["check", new, "--against", running])
    assert result.exit_code == 2
    assert "new.yaml" in result.output and "channels" in result.output


def test_an_invalid_running_file_fails_with_status_2(tmp_path: Path) -> None:
    running = write(tmp_path / "running.yaml", site_dict(trunks=0))
    new = write(tmp_path / "new.yaml", site_dict())
    result = runner.invoke(app, ["check", new, "--against", running])
    assert result.exit_code == 2
    assert "running.yaml" in result.output


SMALL_GATEWAYS = Path(__file__).parents[2] / "appliance" / "sites" / "small-gateways.yaml"


def test_check_prints_the_wiring_of_a_site_with_gateways() -> None:
    result = runner.invoke(app, ["check", str(SMALL_GATEWAYS)], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    # Titles are centred over their tables, padded with spaces: compared without them.
    assert [line.rstrip() for line in result.stdout.splitlines()] == [
        "small-gateways: valid - 4 trunk channels in 1 groups, 1 queues, 16 agents, 1 routes",
        "                                  Gateways",
        "┏━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓",
        "┃ gateway ┃ profile ┃ address        ┃ ports ┃ ports told apart by          ┃",
        "┡━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩",
        "│ card    │ fxo-4   │ 127.0.0.1:5070 │ 4 FXO │ Request-URI user (sip:N@box) │",
        "│ desk-a  │ fxs-8   │ 127.0.0.1:5072 │ 8 FXS │ Request-URI user (sip:N@box) │",
        "│ desk-b  │ fxs-8   │ 127.0.0.1:5080 │ 8 FXS │ source port 5080-5087        │",
        "└─────────┴─────────┴────────────────┴───────┴──────────────────────────────┘",
        "                 Gateway ports",
        "┏━━━━━━━━━┳━━━━━━━┳━━━━━━┳━━━━━━━━━━━━━━━━━━━━┓",
        "┃ gateway ┃ ports ┃ kind ┃ serves             ┃",
        "┡━━━━━━━━━╇━━━━━━━╇━━━━━━╇━━━━━━━━━━━━━━━━━━━━┩",
        "│ card    │ 1     │ FXO  │ pstn, line sales   │",
        "│         │ 2-4   │ FXO  │ pstn, line service │",
        "├─────────┼───────┼──────┼────────────────────┤",
        "│ desk-a  │ 1-8   │ FXS  │ seats 1001-1008    │",
        "├─────────┼───────┼──────┼────────────────────┤",
        "│ desk-b  │ 1-6   │ FXS  │ seats 1009-1014    │",
        "│         │ 7-8   │ FXS  │ unused             │",
        "└─────────┴───────┴──────┴────────────────────┘",
        "                        What the ports do",
        "┏━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━┓",
        "┃                 ┃ fxo-4 FXO             ┃ fxs-8 FXS           ┃",
        "┡━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━┩",
        "│ caller number   │ CLIP, by 2 s          │ with the call       │",
        "│ answerable      │ from 5 s              │ at once             │",
        "│ called number   │ none: told by line    │ dialed, 4 s timeout │",
        "│ far-end hang-up │ busy tone, within 6 s │ exact               │",
        "└─────────────────┴───────────────────────┴─────────────────────┘",
        "                     Trunk groups on gateway ports",
        "┏━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓",
        "┃ trunk group ┃ kind   ┃ channels ┃ gateway ports                      ┃",
        "┡━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩",
        "│ pstn        │ analog │        4 │ card 1 (sales); card 2-4 (service) │",
        "└─────────────┴────────┴──────────┴────────────────────────────────────┘",
    ]


def test_check_prints_no_gateway_section_for_a_site_without_gateways() -> None:
    result = runner.invoke(app, ["check", "small"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "small: valid - 4 trunk channels in 1 groups, 1 queues, 16 agents, 1 routes"]
