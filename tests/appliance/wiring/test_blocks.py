"""A gateway's ports in blocks: mapped entries and the unused runs between them."""

from appliance.config.gateways import SiteGateway, builtin_profiles
from appliance.wiring import PortBlock, group_ports, port_blocks


def gateway(profile: str, *ports: dict, name: str = "gw") -> SiteGateway:
    return SiteGateway(name=name, profile=profile, address="127.0.0.1:5070", ports=list(ports))


def spans(blocks: list[PortBlock]) -> list[tuple[str, str, str]]:
    return [(b.ports, b.caps.kind, b.trunk_group or b.seats or "unused") for b in blocks]


def test_unmapped_ports_are_unused_blocks_between_the_mapped_ones_in_port_order():
    blocks = port_blocks(gateway("fxs-8", {"ports": "7", "seats": "1002"},
                                 {"ports": "3-4", "seats": "1001"}))
    assert spans(blocks) == [("1-2", "fxs", "unused"), ("3-4", "fxs", "1001"),
                             ("5-6", "fxs", "unused"), ("7", "fxs", "1002"),
                             ("8", "fxs", "unused")]
    assert [b.count for b in blocks] == [2, 2, 2, 1, 1]


def test_an_unused_run_splits_where_the_kind_of_port_changes():
    blocks = port_blocks(gateway("pbx-16-192", {"ports": "1-2", "trunk_group": "pstn"}))
    assert spans(blocks) == [("1-2", "fxo", "pstn"), ("3-16", "fxo", "unused"),
                             ("17-208", "fxs", "unused")]


def test_a_block_has_its_ports_capabilities_and_line():
    card = gateway("fxo-4-silent", {"ports": "1-4", "trunk_group": "pstn", "line": "sales"})
    [block] = port_blocks(card)
    assert block.caps == dict(builtin_profiles()["fxo-4-silent"].layout())["1"]
    assert (block.line, block.unused) == ("sales", False)


def test_a_trunk_group_gets_the_blocks_of_every_gateway_that_serves_it_in_file_order():
    first = gateway("fxo-4", {"ports": "1-2", "trunk_group": "pstn"}, name="a")
    second = gateway("fxo-4", {"ports": "4", "trunk_group": "pstn"},
                     {"ports": "1", "trunk_group": "other"}, name="b")
    served = group_ports([first, second])
    assert {group: [(name, b.ports) for name, b in blocks]
            for group, blocks in served.items()} == {"pstn": [("a", "1-2"), ("b", "4")],
                                                     "other": [("b", "1")]}
