"""The gateway section's tables, as plain text."""

from io import StringIO

import yaml
from rich.console import Console

from appliance.config import builtin_site_path, parse_site
from appliance.wiring import wiring_tables


def rendered(gateways: list[dict], **changes: object) -> list[str]:
    data = yaml.safe_load(builtin_site_path("small").read_text())
    data.update(gateways=gateways, **changes)
    out = StringIO()
    console = Console(file=out, width=100)
    for table in wiring_tables(parse_site(yaml.safe_dump(data), "site.yaml")):
        console.print(table)
    return [line.rstrip() for line in out.getvalue().splitlines()]


def test_an_e1_span_and_a_silent_fxo_card_say_what_their_ports_do():
    lines = rendered(
        [{"name": "span", "profile": "e1-30", "address": "127.0.0.1:5070",
          "ports": [{"ports": "1-30", "trunk_group": "carrier"}]},
         {"name": "old", "profile": "fxo-4-silent", "address": "127.0.0.1:5090",
          "port_in": "source", "ports": [{"ports": "1-4", "trunk_group": "pstn"}]}],
        trunk_groups=[{"name": "pstn", "kind": "analog", "channels": 4},
                      {"name": "carrier", "kind": "e1", "channels": 30},
                      {"name": "spare", "kind": "sip", "channels": 2}])
    assert "│ old     │ fxo-4-silent │ 127.0.0.1:5090 │ 4 FXO │ source port 5090-5093        │" \
        in lines
    assert lines[-17:] == [
        "                    What the ports do",
        "┏━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━┓",
        "┃                 ┃ e1-30 E1      ┃ fxo-4-silent FXO    ┃",
        "┡━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━┩",
        "│ caller number   │ with the call │ CLIP, by 2 s        │",
        "│ answerable      │ at once       │ from 5 s            │",
        "│ called number   │ with the call │ none: told by line  │",
        "│ far-end hang-up │ exact         │ silence, after 30 s │",
        "└─────────────────┴───────────────┴─────────────────────┘",
        "           Trunk groups on gateway ports",
        "┏━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━━━━━━┓",
        "┃ trunk group ┃ kind   ┃ channels ┃ gateway ports ┃",
        "┡━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━━━━━━┩",
        "│ pstn        │ analog │        4 │ old 1-4       │",
        "│ carrier     │ e1     │       30 │ span 1-30     │",
        "│ spare       │ sip    │        2 │ none          │",
        "└─────────────┴────────┴──────────┴───────────────┘",
    ]


def test_a_site_without_gateways_has_no_tables():
    assert rendered([]) == []


def test_a_registering_gateway_shows_the_account_it_registers_as():
    lines = rendered(
        [{"name": "card", "profile": "fxo-4", "register": {"user": "card", "password": "s"},
          "ports": [{"ports": "1-4", "trunk_group": "pstn"}]},
         {"name": "desk", "profile": "fxs-8",
          "register": {"user": "desk-", "password": "s", "per": "port"}}])
    assert any("│ card    │ fxo-4   │ registers as card   │ 4 FXO │ Request-URI user" in line
               for line in lines), lines
    assert any("│ desk    │ fxs-8   │ registers as desk-N │ 8 FXS │ account per port (port N "
               "as desk-N)" in line for line in lines), lines
